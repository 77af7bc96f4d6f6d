// Helpers for the forward op tests: build a small graph, run it, compare with hand-computed
// values (NaN expected where the reference is NaN, exact match for +-inf).
#pragma once

#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace sluice::testing {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Build = std::function<Output(const Scope&)>;

// Runs the graph `f` builds (single-threaded unless `threads` says otherwise) and returns its
// output (and, with outputs > 1, the op's other outputs).
inline std::vector<Tensor> eval_outputs(const Build& f, int threads = 1, int outputs = 1) {
  Graph g;
  Scope s(g);
  Output y = f(s);
  Session sess(g, SessionOptions{threads});
  std::vector<TensorRef> fetches;
  for (int i = 0; i < outputs; ++i) fetches.emplace_back(y.op().output(i));
  return sess.run({}, fetches);
}
inline Tensor eval(const Build& f, int threads = 1) { return eval_outputs(f, threads)[0]; }

inline Output c(const Scope& s, const Tensor& t) { return ops::constant(s, t); }
inline Tensor f32(const std::vector<float>& v, const Shape& shape) { return Tensor::from_vector(v, shape); }
inline Tensor f32(const std::vector<float>& v) { return f32(v, {static_cast<int64_t>(v.size())}); }
inline Tensor f64(const std::vector<double>& v, const Shape& shape) { return Tensor::from_vector(v, shape); }
inline Tensor f64(const std::vector<double>& v) { return f64(v, {static_cast<int64_t>(v.size())}); }
inline Tensor i32(const std::vector<int32_t>& v, const Shape& shape) { return Tensor::from_vector(v, shape); }
inline Tensor i32(const std::vector<int32_t>& v) { return i32(v, {static_cast<int64_t>(v.size())}); }
inline Tensor i64(const std::vector<int64_t>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

// Each element within tol (absolute, or relative to |want| when `relative`); NaN and +-inf
// must match exactly.
inline void expect_values(const Tensor& t, const Shape& shape, const std::vector<double>& want,
                          double tol = 1e-6, bool relative = false) {
  ASSERT_EQ(t.shape(), shape) << t;
  ASSERT_EQ(t.num_elements(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    const double got = t.as_double(static_cast<int64_t>(i));
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got)) << "element " << i << " of " << t << ": want NaN";
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got, want[i]) << "element " << i << " of " << t;
    } else {
      const double bound = relative ? tol * std::fabs(want[i]) : tol;
      EXPECT_NEAR(got, want[i], bound) << "element " << i << " of " << t;
    }
  }
}

// The message of the E the graph throws when run (fails the test if it does not).
template <class E>
std::string run_error(const Build& f) {
  try {
    eval(f);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error";
  return "";
}

// The op built by f gives bit-identical results with 1, 2 and 4 threads.
inline void expect_thread_count_independent(const Build& f, const std::string& what) {
  const Tensor one = eval(f, 1), two = eval(f, 2), four = eval(f, 4);
  EXPECT_TRUE(one.equals(two)) << what << ": 1 vs 2 threads";
  EXPECT_TRUE(one.equals(four)) << what << ": 1 vs 4 threads";
}

// A deterministic float vector of n values in about [-scale, scale].
inline std::vector<float> wavy(int64_t n, float scale = 4.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = scale * std::sin(0.001f * static_cast<float>(i) + 0.37f * static_cast<float>(i % 7));
  return v;
}

}  // namespace sluice::testing
