// NumPy .npy / .npz (io/npz.h): files written by real NumPy (tests/data, made by
// tests/data/make_npz_fixtures.py), byte-identical output, round trips of every dtype and
// shape (stored, deflated, ZIP64), header parsing, and corruption: every flipped byte and
// every truncation of an archive is a clean sluice::Error or the exact original values.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "test_util.h"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

namespace fs = std::filesystem;
using Named = std::vector<std::pair<std::string, Tensor>>;

// The fixtures live next to this source file. __FILE__ is absolute, or (with ccache's
// base_dir) relative to the folder the compiler ran in: the executable's folder, or the
// build root above it.
std::string data_path(const std::string& name) {
  const fs::path rel = fs::path(__FILE__).parent_path() / "data" / name;
  const fs::path exe_dir = fs::canonical("/proc/self/exe").parent_path();
  for (const fs::path& p : {rel, exe_dir / rel, exe_dir.parent_path() / rel})
    if (fs::exists(p)) return p.string();
  return rel.string();
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void spit(const std::string& p, const std::string& bytes) {
  // A new file each time: ext4 flushes a file truncated and rewritten in place on close
  // (auto_da_alloc), which made these loops wait on the disk.
  std::remove(p.c_str());
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class NpzTest : public testing::TempDirTest {
 protected:
};

// The arrays of make_npz_fixtures.py, written out by hand.
Named numpy_arrays() {
  return {
      {"f4", Tensor{{-1.0f, -0.5f, 0.0f}, {0.5f, 1.0f, 1.5f}}},
      {"f8", Tensor{1.5, -2.25, 1e300}},
      {"i4", Tensor{{int32_t{-1}, int32_t{2}}, {int32_t{2147483647}, int32_t{-2147483647 - 1}}}},
      {"i8", Tensor{-(int64_t{1} << 40), int64_t{1} << 62}},
      {"u1", Tensor{uint8_t{0}, uint8_t{1}, uint8_t{128}, uint8_t{255}}},
      {"b1", Tensor{{true, false}, {false, true}}},
      {"scalar", Tensor(3.25)},
      {"empty", Tensor(DType::f32, Shape{0, 3})},
      {"dense/kernel", Tensor::from_vector<float>({1, 2, 3}, Shape{1, 3, 1})},
  };
}

void expect_same(const Named& got, const Named& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_TRUE(got[i].second.equals(want[i].second))
        << want[i].first << ": " << got[i].second.to_string() << " vs " << want[i].second.to_string();
  }
}

TEST_F(NpzTest, ReadsEveryDtypeNumpySaveWrote) {
  for (const auto& [name, want] : numpy_arrays()) {
    if (name == "dense/kernel") continue;
    const Tensor t = io::read_npy(data_path("np_" + name + ".npy"));
    EXPECT_TRUE(t.equals(want)) << name << ": " << t.to_string();
  }
  // Element values, not only equals().
  EXPECT_EQ(io::read_npy(data_path("np_i8.npy")).to_vector<int64_t>()[1], int64_t{1} << 62);
  EXPECT_EQ(io::read_npy(data_path("np_f8.npy")).to_vector<double>()[2], 1e300);
  EXPECT_EQ(io::read_npy(data_path("np_scalar.npy")).shape(), Shape{});
  EXPECT_EQ(io::read_npy(data_path("np_empty.npy")).shape(), (Shape{0, 3}));
  // Header versions 2.0 and 3.0 of the float32 array.
  for (const char* v : {"np_f4_v2.npy", "np_f4_v3.npy"})
    EXPECT_TRUE(io::read_npy(data_path(v)).equals(numpy_arrays()[0].second)) << v;
}

TEST_F(NpzTest, ReadsSavezAndSavezCompressed) {
  expect_same(io::read_npz(data_path("np_savez.npz")), numpy_arrays());
  expect_same(io::read_npz(data_path("np_savez_compressed.npz")), numpy_arrays());
  // Written to a stream that cannot seek: entries carry data descriptors (flag bit 3).
  const Named streamed = io::read_npz(data_path("np_streamed.npz"));
  ASSERT_EQ(streamed.size(), 2u);
  EXPECT_TRUE(streamed[0].second.equals(numpy_arrays()[0].second));
  EXPECT_TRUE(streamed[1].second.equals(numpy_arrays()[5].second));
}

TEST_F(NpzTest, WritesExactlyWhatNumpySaveWrites) {
  for (const auto& [name, t] : numpy_arrays()) {
    if (name == "dense/kernel") continue;
    io::write_npy(path("x.npy"), t);
    EXPECT_EQ(slurp(path("x.npy")), slurp(data_path("np_" + name + ".npy"))) << name;
    EXPECT_EQ(io::encode_npy(t), slurp(data_path("np_" + name + ".npy"))) << name;
  }
  // The entries of numpy.savez hold the same bytes as our stored entries.
  const std::string numpy_zip = slurp(data_path("np_savez.npz"));
  EXPECT_NE(numpy_zip.find(io::encode_npy(numpy_arrays()[8].second)), std::string::npos);
}

TEST_F(NpzTest, UnsupportedLayoutsAreClearErrors) {
  std::string m = error_of<Unimplemented>([&] { io::read_npy(data_path("np_fortran.npy")); });
  EXPECT_TRUE(contains(m, "Fortran-order")) << m;
  EXPECT_TRUE(contains(m, "np_fortran.npy")) << m;
  m = error_of<Unimplemented>([&] { io::read_npy(data_path("np_big_endian.npy")); });
  EXPECT_TRUE(contains(m, "big-endian data ('>f4')")) << m;
  m = error_of<Unimplemented>([&] { io::read_npy(data_path("np_float16.npy")); });
  EXPECT_TRUE(contains(m, "NumPy dtype '<f2' is not supported")) << m;
  EXPECT_THROW(io::write_npz(path("s.npz"), {{"", Tensor(1.0f)}}), InvalidArgument);
  EXPECT_THROW(io::write_npz(path("s.npz"), {{"a", Tensor(1.0f)}, {"a", Tensor(2.0f)}}), InvalidArgument);
  EXPECT_FALSE(fs::exists(path("s.npz")));
}

Tensor make_tensor(DType dtype, const Shape& shape, int seed) {
  Tensor t(dtype, shape);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    switch (dtype) {
      case DType::f32: t.data<float>()[i] = std::uniform_real_distribution<float>(-3, 3)(rng); break;
      case DType::f64: t.data<double>()[i] = std::normal_distribution<double>(0, 1e10)(rng); break;
      case DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(rng()); break;
      case DType::i64: t.data<int64_t>()[i] = (static_cast<int64_t>(rng()) << 31) ^ rng(); break;
      case DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(rng()); break;
      case DType::boolean: t.data<bool>()[i] = rng() & 1; break;
      default: break;
    }
  }
  return t;
}

Named every_dtype_and_rank() {
  Named r;
  int seed = 1;
  for (DType d : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::boolean}) {
    for (int rank = 0; rank <= Shape::kMaxRank; ++rank) {
      std::vector<int64_t> dims;
      for (int i = 0; i < rank; ++i) dims.push_back(i % 2 == 0 ? 2 : 3);
      r.emplace_back(std::string(dtype_name(d)) + "_r" + std::to_string(rank), make_tensor(d, Shape(dims), seed++));
    }
    r.emplace_back(std::string(dtype_name(d)) + "_empty", make_tensor(d, Shape{3, 0}, seed++));
  }
  r.emplace_back("scope/with/slashes", make_tensor(DType::f32, Shape{4}, seed++));
  r.emplace_back("ünïcödé", make_tensor(DType::f64, Shape{2}, seed++));
  // Compressible data, so that deflate has something to do.
  r.emplace_back("zeros", Tensor::zeros(DType::f32, Shape{100, 100}));
  return r;
}

TEST_F(NpzTest, RoundTripsEveryDtypeAndRankStoredCompressedAndZip64) {
  const Named tensors = every_dtype_and_rank();
  io::write_npz(path("stored.npz"), tensors);
  io::write_npz(path("deflated.npz"), tensors, /*compress=*/true);
  io::detail::write_npz_zip64(path("zip64.npz"), tensors, false);
  io::detail::write_npz_zip64(path("zip64c.npz"), tensors, true);
  for (const char* f : {"stored.npz", "deflated.npz", "zip64.npz", "zip64c.npz"})
    expect_same(io::read_npz(path(f)), tensors);
  // The 40 000 bytes of zeros shrink to almost nothing.
  EXPECT_LT(fs::file_size(path("deflated.npz")) + 35000, fs::file_size(path("stored.npz")));
  for (const auto& [name, t] : tensors) {
    io::write_npy(path("one.npy"), t);
    EXPECT_TRUE(io::read_npy(path("one.npy")).equals(t)) << name;
    EXPECT_TRUE(io::decode_npy(io::encode_npy(t), name).equals(t)) << name;
  }
  // An empty archive.
  io::write_npz(path("none.npz"), {});
  EXPECT_TRUE(io::read_npz(path("none.npz")).empty());
  // Rewriting is atomic: no temporary files remain.
  io::write_npz(path("stored.npz"), {{"a", Tensor(1.0f)}});
  EXPECT_EQ(io::read_npz(path("stored.npz")).size(), 1u);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.path().filename().string()[0] == '.';
  EXPECT_EQ(files, 0);
}

TEST_F(NpzTest, HeaderParserAcceptsPythonSpellingsAndRejectsTheRest) {
  auto npy = [](const std::string& dict, const std::string& data) {
    std::string h = dict + "\n";
    std::string out = "\x93NUMPY";
    out.push_back(1);
    out.push_back(0);
    out.push_back(static_cast<char>(h.size() & 0xFF));
    out.push_back(static_cast<char>(h.size() >> 8));
    return out + h + data;
  };
  const std::string four(16, '\0');  // 4 float32 zeros
  // Double quotes, any key order, no trailing comma, Python-2 longs, 1-D Fortran order.
  EXPECT_EQ(io::decode_npy(npy("{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<f4\"}", four), "t").shape(), (Shape{4}));
  EXPECT_EQ(io::decode_npy(npy("{'descr':'<f4','fortran_order':True,'shape':(4L,),}", four), "t").shape(), (Shape{4}));
  EXPECT_EQ(io::decode_npy(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", four), "t").shape(), (Shape{2, 2}));
  EXPECT_EQ(io::decode_npy(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (16,), }", four), "t").dtype(), DType::u8);
  // Bool bytes other than 0/1 are True, as in NumPy.
  EXPECT_EQ(io::decode_npy(npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", std::string("\0\7", 2)), "t")
                .to_vector<bool>(), (std::vector<bool>{false, true}));
  struct Bad { std::string dict; std::string message; };
  const std::vector<Bad> bad = {
      {"{'descr': '<f4', 'fortran_order': False}", "lacks one of"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1}", "unexpected key 'extra'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", "'descr' appears twice"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (4,)}", "expected ',' or '}'"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (4,)}", "expected ':'"},
      {"{'descr': '<f4', 'fortran_order': false, 'shape': (4,)}", "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}", "non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,) junk", "expected ',' or '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} junk", "unexpected text after the dict"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "dimension too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}", "overflows"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}", "but 16 data bytes follow"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", "but 16 data bytes follow"},
      {"{'descr': '<f\\4', 'fortran_order': False, 'shape': (4,)}", "unsupported character"},
      {"['descr', '<f4']", "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,", "expected"},
  };
  for (const Bad& b : bad) {
    const std::string m = error_of<DataLoss>([&] { io::decode_npy(npy(b.dict, four), "test.npy"); });
    EXPECT_TRUE(contains(m, b.message)) << b.dict << " -> " << m;
    EXPECT_TRUE(contains(m, "test.npy")) << m;
  }
  auto unimplemented = [&](const std::string& dict) {
    return error_of<Unimplemented>([&] { io::decode_npy(npy(dict, four), "t"); });
  };
  EXPECT_TRUE(contains(unimplemented("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,)}"), "structured"));
  EXPECT_TRUE(contains(unimplemented("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4)}"), "rank 9"));
  EXPECT_TRUE(contains(unimplemented("{'descr': '<f4', 'fortran_order': True, 'shape': (2,2)}"), "Fortran"));
  std::string v9 = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", four);
  v9[6] = 9;
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::decode_npy(v9, "t"); }), "version 9.0"));
}

// An archive with a stored and a deflated flavour of the same small arrays.
Named small_arrays() {
  return {{"w", Tensor{{1.5f, -2.0f, 3.0f}, {4.0f, 5.0f, -6.25f}}},
          {"flags", Tensor::from_vector<bool>({true, false, true}, Shape{3})},
          {"n", Tensor(int64_t{123456789})},
          {"none", Tensor(DType::u8, Shape{0})}};
}

// Every single flipped byte: a sluice::Error (DataLoss, or Unimplemented where the flip
// turns a field into a valid but unsupported value), or, where the byte is one the reader
// does not need (timestamps, attributes), exactly the original arrays.
void flip_every_byte(const std::string& p, const std::string& good, const Named& want, int* errors, int* benign) {
  for (size_t i = 0; i < good.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xFF}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      spit(p, bad);
      try {
        const Named got = io::read_npz(p);
        ASSERT_EQ(got.size(), want.size()) << "byte " << i;
        for (size_t k = 0; k < want.size(); ++k) {
          EXPECT_EQ(got[k].first, want[k].first) << "byte " << i;
          EXPECT_TRUE(got[k].second.equals(want[k].second)) << "byte " << i << " mask " << int{mask};
        }
        ++*benign;
      } catch (const DataLoss& e) {
        EXPECT_TRUE(contains(e.what(), p)) << e.what();
        ++*errors;
      } catch (const Unimplemented& e) {
        EXPECT_TRUE(contains(e.what(), p)) << e.what();
        ++*errors;
      }
    }
  }
}

TEST_F(NpzTest, EveryFlippedByteIsAnErrorOrHarmless) {
  for (bool compress : {false, true}) {
    const std::string p = path(compress ? "c.npz" : "s.npz");
    io::write_npz(p, small_arrays(), compress);
    const std::string good = slurp(p);
    int errors = 0, benign = 0;
    flip_every_byte(p, good, small_arrays(), &errors, &benign);
    std::printf("%s: %zu bytes x 3 flips: %d errors, %d harmless\n", compress ? "deflated" : "stored",
                good.size(), errors, benign);
    EXPECT_GT(errors, static_cast<int>(good.size()) * 2);  // almost every flip is caught
  }
  // A NumPy-written archive too (its local headers carry ZIP64 extra fields).
  const std::string p = path("np.npz");
  const std::string good = slurp(data_path("np_savez_compressed.npz"));
  int errors = 0, benign = 0;
  flip_every_byte(p, good, numpy_arrays(), &errors, &benign);
  EXPECT_GT(errors, 0);
}

TEST_F(NpzTest, EveryTruncationIsDataLoss) {
  for (bool compress : {false, true}) {
    const std::string p = path("t.npz");
    io::write_npz(p, small_arrays(), compress);
    const std::string good = slurp(p);
    for (size_t n = 0; n < good.size(); ++n) {
      spit(p, good.substr(0, n));
      const std::string m = error_of<DataLoss>([&] { io::read_npz(p); });
      EXPECT_TRUE(contains(m, p)) << n << ": " << m;
    }
  }
  io::write_npy(path("t.npy"), small_arrays()[0].second);
  const std::string good = slurp(path("t.npy"));
  for (size_t n = 0; n < good.size(); ++n) {
    spit(path("t.npy"), good.substr(0, n));
    EXPECT_THROW(io::read_npy(path("t.npy")), DataLoss) << n;
  }
}

TEST_F(NpzTest, NpyHeaderFlipsNeverCrash) {
  // A .npy has no checksum: a flipped data byte is a different value, as in NumPy. Flips in
  // the header are caught or give an array of the same byte size; never a crash.
  const Tensor t = small_arrays()[0].second;
  const std::string good = io::encode_npy(t);
  const size_t header = good.size() - t.num_bytes();
  int errors = 0;
  for (size_t i = 0; i < header; ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x55);
    try {
      const Tensor u = io::decode_npy(bad, "flip");
      EXPECT_EQ(u.num_bytes(), t.num_bytes()) << i;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, static_cast<int>(header) / 2);
}

// Crafted archives: sizes that lie, bombs, wrong kinds of file.
TEST_F(NpzTest, CraftedArchivesAreDataLossWithoutHugeAllocations) {
  const std::string p = path("x.npz");
  io::write_npz(p, {{"a", Tensor{1.0f, 2.0f}}});
  const std::string good = slurp(p);
  // Layout: local header (30) + "a.npy" (5) + data; central directory; end record (22).
  const size_t eocd = good.size() - 22;
  const size_t cd = eocd - 46 - 5;
  ASSERT_EQ(good.substr(cd, 4), std::string("PK\x01\x02", 4));
  auto with = [&](size_t at, uint64_t v, int bytes) {
    std::string b = good;
    for (int i = 0; i < bytes; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    spit(p, b);
    return p;
  };
  auto loss = [&](const std::string& part) {
    const std::string m = error_of<DataLoss>([&] { io::read_npz(p); });
    EXPECT_TRUE(contains(m, part)) << "want '" << part << "' in: " << m;
  };
  // Central directory: a 4 GB uncompressed size for a stored entry, then for a deflated one.
  with(cd + 24, 0xFFFFFFF0u, 4);
  loss("stored entry with");
  {
    std::string b = good;
    b[cd + 10] = 8;  // method deflate
    b[8] = 8;
    for (int i = 0; i < 4; ++i) b[cd + 24 + i] = static_cast<char>(0xF0);
    spit(p, b);
    loss("is impossible for");
  }
  with(cd + 42, 1000000, 4);
  loss("lies outside the archive's entries");
  with(eocd + 16, 1000000, 4);
  loss("central directory");
  {
    std::string b = good;
    b[eocd + 9] = b[eocd + 11] = 0x13;  // 4865 entries, on this disk and in all
    spit(p, b);
  }
  loss("cannot fit in a central directory");
  with(eocd + 20, 7, 2);  // comment length that does not match the file end
  loss("no end of central directory record");
  with(cd + 28, 6, 2);  // name length
  loss("");
  with(0, 0, 4);
  loss("bad local header signature");
  // Unsupported but valid: other methods and encryption.
  with(cd + 10, 12, 2);
  EXPECT_TRUE(contains(error_of<Unimplemented>([&] { io::read_npz(p); }), "compression method 12"));
  with(cd + 8, 1, 2);
  EXPECT_TRUE(contains(error_of<Unimplemented>([&] { io::read_npz(p); }), "encrypted"));
  // Other kinds of file.
  io::write_checkpoint(path("c.ckpt"), {{"a", Tensor(1.0f)}});
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_npz(path("c.ckpt")); }), "use read_checkpoint"));
  io::write_npy(path("a.npy"), Tensor(1.0f));
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_npz(path("a.npy")); }), "use read_npy"));
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_npy(path("c.ckpt")); }), "bad magic"));
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_npy(data_path("np_savez.npz")); }), "bad magic"));
  EXPECT_THROW(io::read_npz(path("missing.npz")), NotFound);
}

TEST_F(NpzTest, DeflateBombIsRefusedBeforeAllocating) {
  // A genuine deflate stream of a 16 MB array: 1032:1 is the best deflate can do, so the
  // archive is ~16 KB; we then claim it inflates to 1000 times more than it can.
  const std::string p = path("bomb.npz");
  io::write_npz(p, {{"z", Tensor::zeros(DType::u8, Shape{16 << 20})}}, /*compress=*/true);
  ASSERT_EQ(io::read_npz(p)[0].second.num_elements(), 16 << 20);
  std::string b = slurp(p);
  const size_t eocd = b.size() - 22;
  const size_t cd = eocd - 46 - 5;
  const uint64_t csize = static_cast<unsigned char>(b[cd + 20]) | (static_cast<unsigned char>(b[cd + 21]) << 8) |
                         (static_cast<unsigned char>(b[cd + 22]) << 16);
  EXPECT_LT(csize, (16u << 20) / 500);
  for (int i = 0; i < 4; ++i) b[cd + 24 + i] = static_cast<char>(0xFE);  // ~4 GB
  spit(p, b);
  EXPECT_TRUE(contains(error_of<DataLoss>([&] { io::read_npz(p); }), "is impossible for"));
}

}  // namespace
}  // namespace sluice
