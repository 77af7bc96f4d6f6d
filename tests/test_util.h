// Small helpers shared by the test suites.
#pragma once

#include <gtest/gtest.h>
#include <sluice/sluice.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <filesystem>
#include <random>
#include <string>

namespace sluice::testing {

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs `f`, which must throw an E; returns its message. Any other outcome fails the test
// (and returns "").
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

// A tensor of `dtype` with values uniform in [lo, hi), reproducible from `seed`: drawn in
// double precision from mt19937, then rounded to the dtype (the kernels' tests compare f32
// and f64 runs of the same values).
inline Tensor random_tensor(DType dtype, const Shape& shape, uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  Tensor t(DType::f64, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<double>()[i] = dist(rng);
  return dtype == DType::f64 ? t : t.cast(dtype);
}

// An f32 tensor with values uniform in [lo, hi), drawn in float precision from mt19937_64
// (the model-API tests' inputs and targets).
inline Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1, float hi = 1) {
  Tensor t(DType::f32, shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// Same dtype, shape and bytes.
inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.num_bytes()) == 0;
}

// A fresh folder under the system temp dir, removed (with its contents) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("sluice_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A fixture whose tests each get a fresh temp folder: dir_, and path(name) inside it.
class TempDirTest : public ::testing::Test {
 protected:
  TempDirTest() : dir_(tmp_.path()) {}
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  TempDir tmp_{"test"};
  const std::filesystem::path dir_;
};

}  // namespace sluice::testing
