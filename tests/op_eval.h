// Helpers for forward tests of ops: build a small graph, run it, compare with
// hand-computed values, and catch typed errors.
#pragma once

#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace sluice::testing {

using Build = std::function<Output(const Scope&)>;

// Runs the graph `f` builds on a session with `threads` threads; fetches its first
// `outputs` outputs.
inline std::vector<Tensor> eval_all(const Build& f, int threads = 1, int outputs = 1) {
  Graph g;
  Scope s(g);
  Output y = f(s);
  Session sess(g, SessionOptions{threads});
  std::vector<TensorRef> fetches;
  for (int i = 0; i < outputs; ++i) fetches.emplace_back(y.op().output(i));
  return sess.run({}, fetches);
}
inline Tensor eval(const Build& f, int threads = 1) { return eval_all(f, threads)[0]; }

// The static shape the graph gives f's output (no run).
inline Shape static_shape(const Build& f) {
  Graph g;
  Scope s(g);
  return f(s).shape();
}

inline Output c(const Scope& s, const Tensor& t) { return ops::constant(s, t); }
inline Tensor f32(std::vector<float> v, const Shape& shape) {
  return Tensor::from_vector(v, shape);
}
inline Tensor i64(std::vector<int64_t> v) {
  return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())});
}
inline Tensor i32(std::vector<int32_t> v) {
  return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())});
}
// 0, 1, 2, .. as float32 in `shape`.
inline Tensor iota(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_vector(v, shape);
}

inline void expect_values(const Tensor& t, const Shape& shape, const std::vector<double>& want) {
  ASSERT_EQ(t.shape(), shape) << t;
  ASSERT_EQ(t.num_elements(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(t.as_double(static_cast<int64_t>(i)), want[i]) << "element " << i << " of " << t;
}

// Runs f's graph, which must fail with an E; returns the message.
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

inline bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace sluice::testing
