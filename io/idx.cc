#include "idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace sluice::io {

namespace {

// gzip-or-plain reader (gzread passes uncompressed files through unchanged).
class GzFile {
 public:
  explicit GzFile(const std::string& path) : f_(gzopen(path.c_str(), "rb")) {
    SLUICE_REQUIRE(f_ != nullptr, NotFound, "cannot open '", path, "'");
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  // Reads up to n bytes; returns how many were read; throws DataLoss on a decode error.
  size_t read(void* dst, size_t n, const std::string& path) {
    size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(f_, static_cast<char*>(dst) + done, chunk);
      if (got < 0) {
        int err = 0;
        const char* msg = gzerror(f_, &err);
        throw DataLoss("'" + path + "': corrupt compressed data (" + (msg ? msg : "zlib error") + ")");
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  gzFile f_;
};

uint32_t big_endian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

Tensor read_idx(const std::string& path) {
  GzFile f(path);
  unsigned char magic[4];
  SLUICE_REQUIRE(f.read(magic, 4, path) == 4, DataLoss, "'", path, "': too short for an IDX header");
  SLUICE_REQUIRE(magic[0] == 0 && magic[1] == 0, DataLoss, "'", path,
                 "': not an IDX file (bad magic number)");
  const int type = magic[2], rank = magic[3];
  size_t esize = 0;
  DType dtype = DType::u8;
  switch (type) {
    case 0x08: esize = 1; dtype = DType::u8; break;
    case 0x09: esize = 1; dtype = DType::i32; break;
    case 0x0B: esize = 2; dtype = DType::i32; break;
    case 0x0C: esize = 4; dtype = DType::i32; break;
    case 0x0D: esize = 4; dtype = DType::f32; break;
    case 0x0E: esize = 8; dtype = DType::f64; break;
    default: throw DataLoss(detail::str_cat("'", path, "': unknown IDX element type 0x", std::hex, type));
  }
  SLUICE_REQUIRE(rank >= 1 && rank <= Shape::kMaxRank, DataLoss, "'", path, "': IDX rank ", rank,
                 " is not in [1, ", Shape::kMaxRank, "]");
  std::vector<unsigned char> dims_raw(4 * static_cast<size_t>(rank));
  SLUICE_REQUIRE(f.read(dims_raw.data(), dims_raw.size(), path) == dims_raw.size(), DataLoss, "'",
                 path, "': truncated IDX header");
  std::vector<int64_t> dims(rank);
  int64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    dims[i] = big_endian32(&dims_raw[4 * i]);
    try {
      count = checked_mul(count, dims[i], "IDX element count");
    } catch (const InvalidArgument& e) {
      throw DataLoss("'" + path + "': " + e.what());
    }
  }
  // Read in bounded chunks so a header claiming terabytes costs only what the file holds.
  const uint64_t want = static_cast<uint64_t>(count) * esize;
  std::vector<unsigned char> raw;
  constexpr size_t kChunk = size_t{1} << 24;
  while (raw.size() < want) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, want - raw.size()));
    const size_t old = raw.size();
    raw.resize(old + n);
    const size_t got = f.read(raw.data() + old, n, path);
    raw.resize(old + got);
    SLUICE_REQUIRE(got == n, DataLoss, "'", path, "': truncated: the header promises ", want,
                   " bytes of data, the file holds ", raw.size());
  }
  unsigned char extra;
  SLUICE_REQUIRE(f.read(&extra, 1, path) == 0, DataLoss, "'", path,
                 "': trailing bytes after the data the header describes");

  Tensor t(dtype, Shape(dims));
  const unsigned char* p = raw.data();
  if (type == 0x08) {
    // An empty tensor has no buffer, and memcpy from or to null is undefined even for 0 bytes.
    if (count > 0) std::memcpy(t.raw_data(), p, static_cast<size_t>(count));
  } else if (type == 0x09 || type == 0x0B || type == 0x0C) {
    int32_t* out = t.data<int32_t>();
    for (int64_t i = 0; i < count; ++i, p += esize) {
      out[i] = type == 0x09   ? static_cast<int8_t>(p[0])
               : type == 0x0B ? static_cast<int16_t>((p[0] << 8) | p[1])
                              : static_cast<int32_t>(big_endian32(p));
    }
  } else if (type == 0x0D) {
    float* out = t.data<float>();
    for (int64_t i = 0; i < count; ++i, p += 4) {
      const uint32_t bits = big_endian32(p);
      std::memcpy(&out[i], &bits, 4);
    }
  } else {
    double* out = t.data<double>();
    for (int64_t i = 0; i < count; ++i, p += 8) {
      const uint64_t bits = (uint64_t{big_endian32(p)} << 32) | big_endian32(p + 4);
      std::memcpy(&out[i], &bits, 8);
    }
  }
  return t;
}

MnistData load_mnist(const std::string& dir) {
  auto find = [&](const std::string& stem) {
    // stem like "train-images-idx3-ubyte"; also accept "train-images.idx3-ubyte".
    std::string dotted = stem;
    const auto dash = dotted.find("-idx");
    if (dash != std::string::npos) dotted[dash] = '.';
    for (const std::string& name : {stem + ".gz", stem, dotted + ".gz", dotted}) {
      const std::string p = dir + "/" + name;
      if (exists(p)) return p;
    }
    throw NotFound("no '" + stem + "[.gz]' in '" + dir + "'");
  };
  MnistData d;
  d.train_images = read_idx(find("train-images-idx3-ubyte"));
  d.train_labels = read_idx(find("train-labels-idx1-ubyte"));
  d.test_images = read_idx(find("t10k-images-idx3-ubyte"));
  d.test_labels = read_idx(find("t10k-labels-idx1-ubyte"));
  auto check = [&](const Tensor& images, const Tensor& labels, const char* split) {
    SLUICE_REQUIRE(images.dtype() == DType::u8 && images.rank() == 3 && labels.dtype() == DType::u8 &&
                       labels.rank() == 1 && images.dim(0) == labels.dim(0),
                   DataLoss, "'", dir, "': ", split, " images ", images.summary(), " and labels ",
                   labels.summary(), " do not form an MNIST-style dataset");
    const uint8_t* l = labels.data<uint8_t>();
    for (int64_t i = 0; i < labels.num_elements(); ++i)
      SLUICE_REQUIRE(l[i] < 10, DataLoss, "'", dir, "': ", split, " label ", i, " is ", int(l[i]),
                     ", not in [0, 10)");
  };
  check(d.train_images, d.train_labels, "train");
  check(d.test_images, d.test_labels, "test");
  return d;
}

Tensor scale_images(const Tensor& images, const std::vector<int64_t>& per_example) {
  SLUICE_REQUIRE(images.dtype() == DType::u8 && images.rank() >= 1, InvalidArgument,
                 "scale_images needs uint8 images [N, ...], got ", images.summary());
  Shape shape = images.shape();
  if (!per_example.empty()) {
    std::vector<int64_t> dims = {images.dim(0)};
    dims.insert(dims.end(), per_example.begin(), per_example.end());
    shape = Shape(dims);
    SLUICE_REQUIRE(shape.num_elements() == images.num_elements(), InvalidArgument, "scale_images: ",
                   images.summary(), " cannot be shaped ", shape.to_string());
  }
  Tensor x(DType::f32, shape);
  const uint8_t* src = images.data<uint8_t>();
  float* dst = x.data<float>();
  // x / 255 (not x * (1/255), which rounds differently from an in-graph Div by 255).
  for (int64_t i = 0; i < images.num_elements(); ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  return x;
}

Tensor one_hot_labels(const Tensor& labels, int64_t depth) {
  // Integer labels only, as documented: a float label could be NaN or huge, and
  // converting such a double to int64 is undefined behaviour.
  const DType dt = labels.dtype();
  SLUICE_REQUIRE(labels.rank() == 1 && depth > 0 && (dt == DType::u8 || dt == DType::i32 || dt == DType::i64),
                 InvalidArgument, "one_hot_labels of ", labels.summary(), " with depth ", depth,
                 " (labels must be uint8, int32 or int64 [N])");
  const int64_t n = labels.dim(0);
  Tensor y = Tensor::zeros(DType::f32, {n, depth});
  float* p = y.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = static_cast<int64_t>(labels.as_double(i));
    SLUICE_REQUIRE(v >= 0 && v < depth, OutOfRange, "label ", i, " is ", v, ", not in [0, ", depth, ")");
    p[i * depth + v] = 1.0f;
  }
  return y;
}

Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& order, size_t begin, size_t end) {
  SLUICE_REQUIRE(t.rank() >= 1 && begin <= end && end <= order.size(), InvalidArgument,
                 "gather_rows [", begin, ", ", end, ") of ", order.size(), " from ", t.summary());
  const int64_t n = t.dim(0);
  const size_t row = static_cast<size_t>(n ? t.num_elements() / n : 0) * dtype_size(t.dtype());
  Tensor out(t.dtype(), t.shape().with_dim(0, static_cast<int64_t>(end - begin)));
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (size_t i = begin; i < end; ++i) {
    SLUICE_REQUIRE(order[i] >= 0 && order[i] < n, OutOfRange, "row ", order[i], " of ", t.summary());
    std::memcpy(dst + (i - begin) * row, src + order[i] * row, row);
  }
  return out;
}

Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end) {
  SLUICE_REQUIRE(t.rank() >= 1 && begin >= 0 && begin <= end && end <= t.dim(0), InvalidArgument,
                 "slice_rows [", begin, ", ", end, ") of ", t.summary());
  std::vector<int64_t> order(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) order[i - begin] = i;
  return gather_rows(t, order, 0, order.size());
}

double accuracy(const Tensor& scores, const Tensor& labels) {
  SLUICE_REQUIRE(scores.dtype() == DType::f32 && scores.rank() == 2 && labels.rank() == 1 &&
                     labels.dim(0) == scores.dim(0) && scores.dim(0) > 0,
                 InvalidArgument, "accuracy of scores ", scores.summary(), " and labels ", labels.summary());
  const int64_t n = scores.dim(0), c = scores.dim(1);
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = scores.data<float>() + i * c;
    right += std::max_element(p, p + c) - p == static_cast<int64_t>(labels.as_double(i));
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

}  // namespace sluice::io
