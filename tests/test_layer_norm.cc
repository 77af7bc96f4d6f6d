// Layer normalization, instance normalization and LRN: forward values against
// nn_reference.h and hand-computed numbers, the fused layer-norm gradient against the
// composite formula's gradient, thread independence and bad input. (Numeric gradient
// checks are in grad_cases_nn.cc.)
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <limits>
#include <random>

#include "nn_reference.h"
#include "test_util.h"

namespace sluice {
namespace {

using sluice::testing::random_tensor;

void expect_near_all(const Tensor& got, const reference::Vec& want, double tol, const std::string& what) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size())) << what;
  for (int64_t i = 0; i < got.num_elements(); ++i)
    ASSERT_NEAR(got.as_double(i), want[static_cast<size_t>(i)], tol * std::max(1.0, std::fabs(want[static_cast<size_t>(i)])))
        << what << " element " << i;
}

TEST(LayerNorm, AgainstNaiveOverOneAndTwoAxes) {
  for (DType dtype : {DType::f32, DType::f64}) {
    const double tol = dtype == DType::f32 ? 2e-5 : 1e-12;
    // Rows of 512 (a transformer's model width) with a large mean: the two-pass variance
    // keeps float32 accurate.
    const Tensor xv = random_tensor(dtype, {3, 5, 512}, 1, 99, 101);
    const Tensor gv = random_tensor(dtype, {512}, 2), bv = random_tensor(dtype, {512}, 3);
    const Tensor x2 = random_tensor(dtype, {4, 3, 7}, 4);
    const Tensor g2 = random_tensor(dtype, {3, 7}, 5), b2 = random_tensor(dtype, {3, 7}, 6);
    Graph g;
    Scope s(g);
    auto full = ops::layer_norm_full(s, ops::constant(s, xv), ops::constant(s, gv),
                                     ops::constant(s, bv), -1, 1e-3);
    Output two = ops::layer_norm(s, ops::constant(s, x2), ops::constant(s, g2), ops::constant(s, b2), 1);
    EXPECT_EQ(full.mean.shape(), (Shape{3, 5, 1}));
    EXPECT_EQ(full.inv_std.shape(), (Shape{3, 5, 1}));
    Session sess(g, SessionOptions{2});
    auto r = sess.run({}, {full.y, full.mean, full.inv_std, two});
    expect_near_all(r[0], reference::layer_norm(xv, gv, bv, 512, 1e-3), tol, "last axis");
    expect_near_all(r[3], reference::layer_norm(x2, g2, b2, 21, 1e-5), tol, "two axes");
    for (int64_t row = 0; row < 15; ++row) {
      double m = 0, v = 0;
      for (int j = 0; j < 512; ++j) m += xv.as_double(row * 512 + j) / 512;
      for (int j = 0; j < 512; ++j) v += std::pow(xv.as_double(row * 512 + j) - m, 2) / 512;
      EXPECT_NEAR(r[1].as_double(row), m, tol * 100);
      EXPECT_NEAR(r[2].as_double(row), 1 / std::sqrt(v + 1e-3), tol * 10);
    }
  }
}

TEST(LayerNorm, FusedGradientEqualsTheCompositeFormulasGradient) {
  // The same function from primitives (mean, sub, square, rsqrt, ...): both gradients,
  // including gradient flowing into the mean and inv_std outputs.
  const Tensor xv = random_tensor(DType::f64, {6, 9}, 7);
  const Tensor gv = random_tensor(DType::f64, {9}, 8), bv = random_tensor(DType::f64, {9}, 9);
  const Tensor wv = random_tensor(DType::f64, {6, 9}, 10);
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f64, {6, 9});
  Output gamma = ops::placeholder(s, DType::f64, {9}), beta = ops::placeholder(s, DType::f64, {9});
  Output w = ops::constant(s, wv);
  auto fused = ops::layer_norm_full(s, x, gamma, beta, -1, 1e-5);
  Output m = ops::mean(s, x, {-1}, true);
  Output c = ops::sub(s, x, m);
  Output inv = ops::rsqrt(s, ops::add(s, ops::mean(s, ops::square(s, c), {-1}, true),
                                      ops::scalar_like(s, x, 1e-5)));
  Output comp = ops::add(s, ops::mul(s, ops::mul(s, c, inv), gamma), beta);
  auto loss = [&](Output y, Output mean, Output istd) {
    return ops::add(s, ops::sum(s, ops::mul(s, y, w)),
                    ops::add(s, ops::sum(s, ops::square(s, mean)), ops::sum(s, istd)));
  };
  auto gf = gradients(s, {loss(fused.y, fused.mean, fused.inv_std)}, {x, gamma, beta});
  auto gc = gradients(s, {loss(comp, m, inv)}, {x, gamma, beta});
  Session sess(g);
  auto r = sess.run({{x, xv}, {gamma, gv}, {beta, bv}}, {gf[0], gf[1], gf[2], gc[0], gc[1], gc[2]});
  for (int i = 0; i < 3; ++i)
    for (int64_t j = 0; j < r[i].num_elements(); ++j)
      EXPECT_NEAR(r[i].as_double(j), r[i + 3].as_double(j), 1e-10) << i << " " << j;
}

TEST(LayerNorm, ResultsDoNotDependOnTheNumberOfThreads) {
  const Tensor xv = random_tensor(DType::f32, {64, 50, 256}, 11);
  const Tensor gv = random_tensor(DType::f32, {256}, 12), bv = random_tensor(DType::f32, {256}, 13);
  auto run = [&](int threads) {
    Graph g;
    Scope s(g);
    Output x = ops::placeholder(s, DType::f32, {-1, 50, 256});
    Output gamma = ops::constant(s, gv), beta = ops::constant(s, bv);
    Output y = ops::layer_norm(s, x, gamma, beta);
    auto grads = gradients(s, {ops::sum(s, ops::square(s, y))}, {x, gamma, beta});
    Session sess(g, SessionOptions{threads});
    return sess.run({{x, xv}}, {y, grads[0], grads[1], grads[2]});
  };
  auto one = run(1), four = run(4);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(one[i].equals(four[i])) << i;
}

TEST(InstanceNorm, AgainstNaive) {
  const Tensor xv = random_tensor(DType::f64, {2, 4, 5, 3}, 21);
  const Tensor sv = random_tensor(DType::f64, {3}, 22), bv = random_tensor(DType::f64, {3}, 23);
  Graph g;
  Scope s(g);
  Output y = ops::instance_norm(s, ops::constant(s, xv), ops::constant(s, sv), ops::constant(s, bv), 1e-5);
  EXPECT_EQ(y.shape(), xv.shape());
  Session sess(g);
  const Tensor r = sess.run({}, {y})[0];
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < 20; ++i) m += xv.as_double(reference::idx4(n, i / 5, i % 5, c, 4, 5, 3)) / 20;
      for (int64_t i = 0; i < 20; ++i) v += std::pow(xv.as_double(reference::idx4(n, i / 5, i % 5, c, 4, 5, 3)) - m, 2) / 20;
      for (int64_t i = 0; i < 20; ++i) {
        const int64_t at = reference::idx4(n, i / 5, i % 5, c, 4, 5, 3);
        EXPECT_NEAR(r.as_double(at), (xv.as_double(at) - m) / std::sqrt(v + 1e-5) * sv.as_double(c) + bv.as_double(c), 1e-12);
      }
    }
}

TEST(LRN, HandComputedAndAgainstNaive) {
  Graph g;
  Scope s(g);
  // One pixel, depth 4 [1, 2, 3, 4], radius 1, bias 1, alpha 0.5, beta 1:
  // sqr_sum = [1+4, 1+4+9, 4+9+16, 9+16] -> y = x / (1 + 0.5 * sqr_sum).
  Output x = ops::constant(s, Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 1, 4}));
  Output y = ops::lrn(s, x, 1, 1.0, 0.5, 1.0);
  // ONNX LRN(size=2, alpha=0.5 -> 0.25 per element, beta=0.75, bias=2): window [c, c+1].
  Output onnx = ops::lrn(s, x, (2 - 1) / 2, 2.0, 0.5 / 2, 0.75, 2 / 2);
  const Tensor xr = random_tensor(DType::f32, {2, 3, 4, 11}, 31);
  Output big = ops::lrn(s, ops::constant(s, xr), 2, 1.5, 0.3, 0.75);
  Output asym = ops::lrn(s, ops::constant(s, xr), 0, 1.0, 1e-1, 0.6, 3);
  Session sess(g, SessionOptions{2});
  auto r = sess.run({}, {y, onnx, big, asym});
  const std::vector<double> want = {1 / 3.5, 2 / 8.0, 3 / 15.5, 4 / 13.5};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(r[0].to_vector<double>()[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 1e-15);
  const std::vector<double> sq = {1 + 4, 4 + 9, 9 + 16, 16};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(r[1].to_vector<double>()[static_cast<size_t>(i)], (i + 1) / std::pow(2 + 0.25 * sq[static_cast<size_t>(i)], 0.75), 1e-15);
  expect_near_all(r[2], reference::lrn(xr, 2, 2, 1.5, 0.3, 0.75), 1e-6, "lrn");
  expect_near_all(r[3], reference::lrn(xr, 0, 3, 1.0, 0.1, 0.6), 1e-6, "asymmetric lrn");
}

// A radius past the depth (INT64_MAX came from the fuzzer) is the whole row, forward and
// backward, instead of overflowing the window arithmetic.
TEST(LRN, HugeRadiusIsTheWholeRow) {
  Graph g;
  Scope s(g);
  const Tensor xr = random_tensor(DType::f64, {2, 5}, 41);
  Output x = ops::constant(s, xr);
  const int64_t huge = std::numeric_limits<int64_t>::max();
  Output wide = ops::lrn(s, x, 4, 1.0, 0.2, 0.75), huge_y = ops::lrn(s, x, huge, 1.0, 0.2, 0.75, huge);
  auto gw = gradients(s, {ops::sum(s, ops::square(s, wide))}, {x});
  auto gh = gradients(s, {ops::sum(s, ops::square(s, huge_y))}, {x});
  Session sess(g);
  auto r = sess.run({}, {wide, huge_y, gw[0], gh[0]});
  EXPECT_TRUE(r[0].equals(r[1]));
  EXPECT_TRUE(r[2].equals(r[3]));
}

TEST(NormErrors, Shapes) {
  using testing::contains;
  using testing::error_of;
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2, 3, 8});
  Output gm = ops::placeholder(s, DType::f32, {8}), bt = ops::placeholder(s, DType::f32, {8});
  std::string m = error_of<InvalidArgument>(
      [&] { ops::layer_norm(s.named("ln"), x, ops::placeholder(s, DType::f32, {7}), bt); });
  EXPECT_TRUE(contains(m, "'ln' (LayerNorm)") && contains(m, "gamma [7]") && contains(m, "[2,3,8]")) << m;
  m = error_of<InvalidArgument>([&] { ops::layer_norm(s.named("ln2"), x, gm, bt, 3); });
  EXPECT_TRUE(contains(m, "begin_axis 3 is out of range")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::layer_norm(s.named("ln3"), ops::placeholder(s, DType::f32, Shape::unknown_rank()), gm, bt);
  });
  EXPECT_TRUE(contains(m, "known rank")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::layer_norm(s.named("ln4"), x, ops::placeholder(s, DType::f64, {8}), bt); });
  EXPECT_TRUE(contains(m, "same dtype")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::instance_norm(s, ops::placeholder(s.named("flat"), DType::f32, {2, 8}), gm, bt); });
  EXPECT_TRUE(contains(m, "'flat:0'") && contains(m, "rank >= 3")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::instance_norm(s, x, ops::placeholder(s, DType::f32, {7}), bt); });
  EXPECT_TRUE(contains(m, "[C] = [8]")) << m;
  m = error_of<InvalidArgument>([&] { ops::lrn(s.named("l"), x, -1); });
  EXPECT_TRUE(contains(m, "'l' (LRN)") && contains(m, "depth_radius must be non-negative")) << m;
  // Run time: gamma fed with the wrong size.
  Output xp = ops::placeholder(s, DType::f32, {-1, -1});
  Output gp = ops::placeholder(s, DType::f32, {-1});
  Output y = ops::layer_norm(s.named("rt"), xp, gp, gp);
  Session sess(g);
  m = error_of<InvalidArgument>([&] {
    sess.run({{xp, Tensor::zeros(DType::f32, {2, 5})}, {gp, Tensor::zeros(DType::f32, {4})}}, {y});
  });
  EXPECT_TRUE(contains(m, "'rt' (LayerNorm)") && contains(m, "normalized dims")) << m;
}

}  // namespace
}  // namespace sluice
