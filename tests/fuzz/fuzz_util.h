// Helpers for Sluice's fuzz targets (tests/fuzz/fuzz_<name>.cc) and for the replay of their
// corpora and regressions in ordinary ctest (tests/test_fuzz_regressions.cc).
//
// The reader targets keep their logic in a function sluice::fuzz::<name>::run(data, size)
// and define LLVMFuzzerTestOneInput only when SLUICE_FUZZ_REPLAY is not defined, so the
// regression test can #include every target and replay files through the very same code.
// They use Bytes below rather than libFuzzer's FuzzedDataProvider so they also compile with
// GCC in the normal build.
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include <sluice/sluice.h>

namespace sluice::fuzz {

// A property the target checks on top of "no crash" (a round trip, an error's type) does
// not hold: print what and abort, so libFuzzer saves the input as a crash.
[[noreturn]] inline void check_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
  std::fflush(stderr);
  std::abort();
}
#define SLUICE_FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::sluice::fuzz::check_failed(#cond, __FILE__, __LINE__))

// Allocations past this are ResourceExhausted (a legitimately huge request in a fuzz input
// must not be an out-of-memory kill). Called at the start of every input.
inline void limit_allocations() {
  static const bool done = [] {
    set_max_allocation_bytes(size_t{64} << 20);
    return true;
  }();
  (void)done;
}

// The fuzz input as a file (an in-memory memfd) for readers that take paths.
class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) : fd_(memfd_create("fuzz", MFD_CLOEXEC)) {
    size_t done = 0;
    while (fd_ >= 0 && done < size) {
      const ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  explicit MemFile(const std::string& bytes)
      : MemFile(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) {}
  ~MemFile() {
    if (fd_ >= 0) close(fd_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// A folder of this process (under /dev/shm when it exists, else /tmp) for targets whose
// readers need real folders; removed when the process exits normally. libFuzzer's own
// runs end through exit(), so the atexit handler runs; a crash leaves the folder behind
// with the pid in its name.
inline const std::string& scratch_dir() {
  // Never destroyed: the atexit handler below runs after static destructors registered
  // later (this one's included), so it must not read a destroyed string.
  static const std::string& dir = *new std::string([] {
    namespace fs = std::filesystem;
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path d = base / ("sluice-fuzz-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove_all(d, ec);
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec2;
      fs::remove_all(fs::path(scratch_dir()), ec2);
    });
    return d.string();
  }());
  return dir;
}

// Writes bytes to a file (replacing it); false on failure.
inline bool write_file(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

// Decisions taken from fuzz bytes (a small FuzzedDataProvider): reads from the front and
// gives zeros once the bytes run out, so every input decodes to something.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  explicit Bytes(const std::string& s) : Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}
  uint8_t byte() { return pos_ < n_ ? p_[pos_++] : 0; }
  bool flag() { return byte() & 1; }
  // Uniform enough in [lo, hi] (hi - lo < 2^16).
  int64_t range(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    uint64_t v = byte();
    if (span > 256) v = v << 8 | byte();
    return lo + static_cast<int64_t>(v % span);
  }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | byte();
    return v;
  }
  size_t remaining() const { return n_ - pos_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

// The checkpoint in `bytes` with every checksum and the file-length field recomputed from
// the (possibly mutated) contents, so that mutations reach the index and data validation
// instead of stopping at the checksums. Lenient: walks the index as far as it parses and
// leaves anything it cannot make sense of alone. Layout: docs/formats.md#checkpoint.
inline std::string fix_checkpoint_checksums(std::string b) {
  constexpr size_t kHeader = 64;
  if (b.size() < kHeader || std::memcmp(b.data(), "SLUICECK", 8) != 0) return b;
  auto get = [&](size_t at, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
    return v;
  };
  auto put = [&](size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  };
  put(40, b.size(), 8);  // file length
  const uint64_t count = get(12, 4);
  const uint64_t index_len = std::min<uint64_t>(get(24, 8), b.size() - kHeader);
  const size_t end = kHeader + static_cast<size_t>(index_len);
  size_t p = kHeader;
  for (uint64_t i = 0; i < count && i < 4096; ++i) {
    if (end - p < 4) break;
    const uint64_t name_len = get(p, 4);
    p += 4;
    if (name_len > end - p) break;
    p += static_cast<size_t>(name_len);
    if (end - p < 4) break;
    const uint64_t rank = static_cast<unsigned char>(b[p + 1]);
    p += 4;
    if ((end - p) / 8 < rank) break;
    p += static_cast<size_t>(8 * rank);
    if (end - p < 20) break;
    const uint64_t offset = get(p, 8), length = get(p + 8, 8);
    if (offset <= b.size() && length <= b.size() - offset)
      put(p + 16, io::crc32_update(0, b.data() + offset, static_cast<size_t>(length)), 4);
    p += 20;
  }
  put(52, 0, 4);
  uint32_t crc = io::crc32_update(0, b.data(), kHeader);
  crc = io::crc32_update(crc, b.data() + kHeader, static_cast<size_t>(index_len));
  put(52, crc, 4);
  return b;
}

// Dims for a feed of static shape `shape`: unknown dims become 1..3, an unknown rank a
// vector of 2. Returns false when the shape holds too many elements to feed.
inline bool concrete_shape(const Shape& shape, Bytes& in, Shape* out) {
  if (!shape.known_rank()) {
    *out = Shape{2};
    return true;
  }
  std::vector<int64_t> dims;
  int64_t n = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    const int64_t d = shape.dim(i) >= 0 ? shape.dim(i) : in.range(1, 3);
    if (d > 4096) return false;
    n *= d;
    if (n > 4096) return false;
    dims.push_back(d);
  }
  *out = Shape(dims);
  return true;
}

// A tensor of dtype and shape with small values (floats in [-2, 2], integers in [0, 3] so
// that indices and labels are often valid, booleans either way), from a seeded generator.
inline Tensor random_tensor(DType dtype, const Shape& shape, uint64_t seed) {
  Tensor t(dtype, shape);
  std::mt19937_64 rng(seed);
  if (dtype == DType::string) {  // short strings of any bytes
    for (int64_t i = 0; i < t.num_elements(); ++i)
      for (uint64_t k = rng() % 5; k > 0; --k) t.data<std::string>()[i].push_back(static_cast<char>(rng()));
    return t;
  }
  dispatch<SLUICE_ALL_TYPES>(dtype, "fuzz feed", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      if constexpr (std::is_same_v<T, bool>) {
        p[i] = rng() & 1;
      } else if constexpr (std::is_floating_point_v<T>) {
        p[i] = static_cast<T>(static_cast<double>(rng() % 4001) / 1000.0 - 2.0);
      } else {
        p[i] = static_cast<T>(rng() % 4);
      }
    }
  });
  return t;
}

}  // namespace sluice::fuzz
