// Shared helpers for Sluice's benchmarks: reference checks before timing, and a registry
// that lets every benchmark run once as a smoke test (--smoke) under ctest.
#pragma once

#include <benchmark/benchmark.h>
#include <sluice/sluice.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace sluice::bench {

// Set when a benchmark's result disagrees with its reference; main() exits non-zero.
inline bool& verification_failed() {
  static bool failed = false;
  return failed;
}

// Compares `got` with `want` (same length) with a relative tolerance; on mismatch marks the
// run failed and skips the benchmark with a message.
inline bool verify(benchmark::State& state, const std::vector<double>& got, const std::vector<double>& want,
                   double rtol, const std::string& what) {
  bool ok = got.size() == want.size();
  size_t bad = 0;
  for (size_t i = 0; ok && i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= rtol * (1.0 + std::fabs(want[i])))) {
      ok = false;
      bad = i;
    }
  }
  if (!ok) {
    verification_failed() = true;
    const std::string msg = what + ": result differs from the reference at element " + std::to_string(bad) +
                            (bad < got.size() && bad < want.size()
                                 ? " (" + std::to_string(got[bad]) + " vs " + std::to_string(want[bad]) + ")"
                                 : "");
    state.SkipWithError(msg.c_str());
  }
  return ok;
}

inline std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.as_double(i);
  return v;
}

inline Tensor random_tensor(const Shape& shape, uint32_t seed, float scale = 1.0f) {
  Tensor t(DType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// Benchmarks register here (from static initializers) and main() hands them to Google
// Benchmark, each with threads 1 and 2 as its argument.
struct Entry {
  std::string name;
  std::function<void(benchmark::State&)> fn;
  std::vector<std::vector<int64_t>> args;  // each run's arguments (the last is the thread count)
};
inline std::vector<Entry>& registry() {
  static std::vector<Entry> entries;
  return entries;
}
inline bool add(std::string name, std::function<void(benchmark::State&)> fn,
                std::vector<std::vector<int64_t>> args) {
  registry().push_back({std::move(name), std::move(fn), std::move(args)});
  return true;
}

// Work counters: GFLOP/s or GB/s from per-iteration work.
inline void set_rate(benchmark::State& state, const char* name, double work_per_iteration) {
  state.counters[name] = benchmark::Counter(work_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace sluice::bench
