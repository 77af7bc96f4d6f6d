// Depthwise and grouped convolutions, explicit padding and the fused activations: forward
// results and both gradients against the naive references of nn_reference.h, the depthwise
// kernel paths against each other, threaded against single-threaded, and bad input.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <random>

#include "nn_reference.h"
#include "ops/depthwise_kernels.h"
#include "test_util.h"

namespace sluice {
namespace {

// Session::run takes fetches as TensorRefs.
std::vector<TensorRef> refs(const std::vector<Output>& v) { return {v.begin(), v.end()}; }


using Ints = std::vector<int64_t>;
using reference::Vec;

using sluice::testing::random_tensor;

void expect_near_all(const Tensor& got, const Vec& want, double tol, const std::string& what) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size())) << what;
  double worst = 0;
  int64_t worst_i = 0;
  for (int64_t i = 0; i < got.num_elements(); ++i) {
    const double w = want[static_cast<size_t>(i)];
    const double err = std::fabs(got.as_double(i) - w) / std::max(1.0, std::fabs(w));
    if (!(err <= worst)) worst = err, worst_i = i;
  }
  EXPECT_LT(worst, tol) << what << ": element " << worst_i << " is " << got.as_double(worst_i)
                        << ", want " << want[static_cast<size_t>(worst_i)];
}

// A depthwise / grouped case: x [n,h,w,c]; groups == c means depthwise with multiplier m
// (filter [kh,kw,c,m] for the depthwise ops, [kh,kw,1,c*m] for conv2d); otherwise f
// outputs in `groups` groups.
struct Case {
  std::string name;
  int64_t n, h, w, c, kh, kw, f, sh, sw, dh, dw, groups;
  std::string padding;  // VALID, SAME, SAME_LOWER, EXPLICIT
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;
};
std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

Pads pads_of(const Case& k) {
  if (k.padding == "EXPLICIT") return Pads::explicit_pads(k.pt, k.pb, k.pl, k.pr);
  return Pads(padding_from_name(k.padding));
}

reference::Conv ref_conv(const Case& k) {
  const auto r = reference::dim_of(k.padding, k.h, k.kh, k.sh, k.dh, k.pt, k.pb);
  const auto q = reference::dim_of(k.padding, k.w, k.kw, k.sw, k.dw, k.pl, k.pr);
  reference::Conv c{k.n, k.h, k.w, k.c, k.kh, k.kw, k.f, k.sh, k.sw, k.dh, k.dw};
  c.pt = r.before, c.pb = r.after, c.pl = q.before, c.pr = q.after, c.groups = k.groups;
  return c;
}

// conv2d (groups) and, for depthwise cases, depthwise_conv2d and its fused form, with
// both gradients, against the reference.
void check_case(const Case& k, DType dtype, int threads) {
  const double tol = dtype == DType::f32 ? 3e-5 : 1e-12;
  const reference::Conv rc = ref_conv(k);
  const bool depthwise = k.groups == k.c;
  const Tensor xv = random_tensor(dtype, {k.n, k.h, k.w, k.c}, 1);
  const Tensor wv = random_tensor(dtype, {k.kh, k.kw, k.c / k.groups, k.f}, 2);
  const Tensor bv = random_tensor(dtype, {k.f}, 3);
  const Tensor dyv = random_tensor(dtype, {k.n, rc.oh(), rc.ow(), k.f}, 4);
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), dtype, {-1, -1, -1, k.c});
  Output w = ops::constant(s, wv), b = ops::constant(s, bv), dy = ops::constant(s, dyv);
  const Ints st{k.sh, k.sw}, dl{k.dh, k.dw};
  const Pads p = pads_of(k);
  std::vector<Output> fetches = {
      ops::conv2d(s, x, w, st, p, dl, k.groups),
      ops::fused_conv2d(s, x, w, b, FusedActivation::relu6, st, p, dl, k.groups),
      ops::conv2d_backprop_input(s, x, w, dy, st, p, dl, k.groups),
      ops::conv2d_backprop_filter(s, x, w, dy, st, p, dl, k.groups)};
  if (depthwise) {
    Output wd = ops::reshape(s, w, {k.kh, k.kw, k.c, k.f / k.c});
    fetches.push_back(ops::depthwise_conv2d(s, x, wd, st, p, dl));
    fetches.push_back(ops::fused_depthwise_conv2d(s, x, wd, b, FusedActivation::leaky(0.25), st,
                                                  p, dl));
    fetches.push_back(ops::depthwise_conv2d_backprop_input(s, x, wd, dy, st, p, dl));
    fetches.push_back(ops::depthwise_conv2d_backprop_filter(s, x, wd, dy, st, p, dl));
  }
  Session sess(g, SessionOptions{threads});
  auto r = sess.run({{x, xv}}, refs(fetches));

  const std::string what = k.name + " " + dtype_name(dtype) + " threads " + std::to_string(threads);
  ASSERT_EQ(r[0].shape(), (Shape{k.n, rc.oh(), rc.ow(), k.f})) << what;
  const Vec y = reference::conv(rc, xv, wv);
  Vec dx, dw;
  reference::conv_grads(rc, xv, wv, dyv, dx, dw);
  Vec relu6 = y, leaky = y;
  for (size_t i = 0; i < y.size(); ++i) {
    const double z = y[i] + bv.as_double(static_cast<int64_t>(i) % k.f);
    relu6[i] = reference::activate("relu6", z);
    leaky[i] = reference::activate("leaky_relu", z, 0, 0, 0.25);
  }
  expect_near_all(r[0], y, tol, what + " conv2d");
  expect_near_all(r[1], relu6, tol, what + " fused_conv2d relu6");
  expect_near_all(r[2], dx, tol, what + " backprop input");
  expect_near_all(r[3], dw, tol * 10, what + " backprop filter");
  if (depthwise) {
    EXPECT_EQ(r[4].shape(), r[0].shape()) << what;
    expect_near_all(r[4], y, tol, what + " depthwise");
    expect_near_all(r[5], leaky, tol, what + " fused depthwise leaky");
    expect_near_all(r[6], dx, tol, what + " depthwise backprop input");
    EXPECT_EQ(r[7].shape(), (Shape{k.kh, k.kw, k.c, k.f / k.c})) << what;
    expect_near_all(r[7], dw, tol * 10, what + " depthwise backprop filter");
  }
}

class GroupedAgainstNaive : public ::testing::TestWithParam<Case> {};
TEST_P(GroupedAgainstNaive, Float32) { check_case(GetParam(), DType::f32, 1); }
TEST_P(GroupedAgainstNaive, Float64) { check_case(GetParam(), DType::f64, 1); }
TEST_P(GroupedAgainstNaive, Float32ThreeThreads) { check_case(GetParam(), DType::f32, 3); }

// name, n, h, w, c, kh, kw, f, sh, sw, dh, dw, groups, padding[, pt, pb, pl, pr]
INSTANTIATE_TEST_SUITE_P(
    Cases, GroupedAgainstNaive,
    ::testing::Values(
        // Depthwise 3x3 (the fast path: stride 1 and 2, channels a multiple of 8 and not,
        // rows wide enough for runs of 8 pixels and narrow ones).
        Case{"dw3x3_same_s1", 2, 9, 21, 16, 3, 3, 16, 1, 1, 1, 1, 16, "SAME"},
        Case{"dw3x3_same_s2", 2, 11, 23, 24, 3, 3, 24, 2, 2, 1, 1, 24, "SAME"},
        Case{"dw3x3_valid_s1_odd_channels", 2, 7, 13, 13, 3, 3, 13, 1, 1, 1, 1, 13, "VALID"},
        Case{"dw3x3_valid_s2_tail", 1, 12, 20, 11, 3, 3, 11, 2, 2, 1, 1, 11, "VALID"},
        Case{"dw3x3_s2x1", 2, 10, 12, 8, 3, 3, 8, 2, 1, 1, 1, 8, "SAME"},
        Case{"dw3x3_same_lower_s2", 1, 8, 10, 8, 3, 3, 8, 2, 2, 1, 1, 8, "SAME_LOWER"},
        Case{"dw3x3_explicit_asym", 2, 7, 17, 9, 3, 3, 9, 1, 1, 1, 1, 9, "EXPLICIT", 0, 2, 1, 0},
        Case{"dw3x3_narrow", 1, 3, 2, 20, 3, 3, 20, 1, 1, 1, 1, 20, "SAME"},
        // General depthwise: multipliers, other kernels, dilation, strides 3.
        Case{"dw_multiplier2", 2, 7, 8, 3, 3, 3, 6, 1, 1, 1, 1, 3, "SAME"},
        Case{"dw_multiplier3_s2", 1, 9, 7, 4, 3, 3, 12, 2, 2, 1, 1, 4, "VALID"},
        Case{"dw5x5_dilated", 2, 11, 12, 6, 5, 5, 6, 1, 1, 2, 2, 6, "SAME"},
        Case{"dw3x1_s3", 1, 10, 9, 5, 3, 1, 5, 3, 3, 1, 1, 5, "SAME"},
        Case{"dw_even_kernel_explicit", 1, 6, 7, 4, 2, 4, 8, 1, 2, 1, 1, 4, "EXPLICIT", 1, 1, 2, 1},
        Case{"dw_kws_10x4", 2, 25, 10, 16, 10, 4, 16, 2, 1, 1, 1, 16, "SAME"},
        // Grouped convolutions (per-group GEMMs, pointwise views, col2im).
        Case{"grouped2_3x3", 2, 8, 7, 6, 3, 3, 4, 1, 1, 1, 1, 2, "SAME"},
        Case{"grouped3_s2", 2, 9, 9, 9, 3, 3, 6, 2, 2, 1, 1, 3, "VALID"},
        Case{"grouped4_pointwise", 2, 5, 6, 8, 1, 1, 12, 1, 1, 1, 1, 4, "SAME"},
        Case{"grouped2_dilated_explicit", 1, 9, 8, 4, 3, 2, 6, 1, 1, 2, 1, 2, "EXPLICIT", 2, 0, 0, 3},
        Case{"grouped2_wide", 1, 10, 9, 32, 3, 3, 32, 1, 1, 1, 1, 2, "SAME"},
        // Explicit padding on ordinary convolutions (groups 1: Winograd, direct, im2col).
        Case{"explicit_winograd", 2, 9, 10, 16, 3, 3, 16, 1, 1, 1, 1, 1, "EXPLICIT", 0, 2, 2, 1},
        Case{"explicit_direct", 2, 8, 9, 3, 3, 3, 5, 2, 1, 1, 1, 1, "EXPLICIT", 1, 0, 0, 1},
        Case{"explicit_im2col", 1, 9, 9, 6, 5, 5, 4, 2, 2, 1, 1, 1, "EXPLICIT", 2, 1, 1, 2},
        Case{"same_lower_s2", 2, 8, 8, 5, 3, 3, 4, 2, 2, 1, 1, 1, "SAME_LOWER"},
        Case{"negative_pad_crops", 1, 9, 8, 5, 3, 3, 4, 1, 1, 1, 1, 1, "EXPLICIT", 1, -2, 0, -1}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------
// The depthwise kernel paths against each other.

conv::ConvGeometry geometry_of(const Case& k) {
  const reference::Conv rc = ref_conv(k);
  conv::ConvGeometry g;
  g.n = k.n, g.h = k.h, g.w = k.w, g.c = k.c, g.kh = k.kh, g.kw = k.kw, g.f = k.f;
  g.sh = k.sh, g.sw = k.sw, g.dh = k.dh, g.dw = k.dw, g.groups = k.groups;
  g.oh = rc.oh(), g.ow = rc.ow(), g.pad_top = rc.pt, g.pad_left = rc.pl;
  return g;
}

template <class T>
void compare_depthwise_paths(const Case& k) {
  const DType dtype = dtype_v<T>;
  const double tol = dtype == DType::f32 ? 1e-5 : 1e-13;
  ThreadPool pool(2);
  const conv::ConvGeometry g = geometry_of(k);
  const Tensor x = random_tensor(dtype, {k.n, k.h, k.w, k.c}, 5);
  const Tensor w = random_tensor(dtype, {k.kh, k.kw, k.c, k.f / k.c}, 6);
  const Tensor b = random_tensor(dtype, {k.f}, 7);
  const Tensor dy = random_tensor(dtype, {k.n, g.oh, g.ow, k.f}, 8);
  ThreadPool one(1);
  for (const T* bias : {b.data<T>(), static_cast<const T*>(nullptr)})
    for (const conv::Epilogue& act :
         {conv::Epilogue(), conv::Epilogue(conv::Epilogue::relu, 0, 0, 0),
          conv::Epilogue(conv::Epilogue::clip, -0.3, 0.4, 0),
          conv::Epilogue(conv::Epilogue::leaky_relu, 0, 0, 0.1)}) {
      Tensor a(dtype, {k.n, g.oh, g.ow, k.f}), c(dtype, {k.n, g.oh, g.ow, k.f});
      conv::depthwise_forward_general<T>(g, x.data<T>(), w.data<T>(), bias, act, a.data<T>(),
                                         pool);
      if (conv::depthwise_3x3_applies(g)) {
        conv::depthwise_forward_3x3<T>(g, x.data<T>(), w.data<T>(), bias, act, c.data<T>(), pool);
        for (int64_t i = 0; i < a.num_elements(); ++i)
          ASSERT_NEAR(a.as_double(i), c.as_double(i), tol)
              << k.name << (bias ? "" : " (no bias)") << " element " << i;
        // The same bits on one thread as on two.
        Tensor d(dtype, {k.n, g.oh, g.ow, k.f});
        conv::depthwise_forward_3x3<T>(g, x.data<T>(), w.data<T>(), bias, act, d.data<T>(), one);
        ASSERT_TRUE(c.equals(d)) << k.name;
      }
    }
  if (k.sh == 1 && k.sw == 1 && k.f == k.c) {
    Tensor a(dtype, {k.n, k.h, k.w, k.c}), c(dtype, {k.n, k.h, k.w, k.c});
    conv::depthwise_backprop_input_general<T>(g, w.data<T>(), dy.data<T>(), a.data<T>(), pool);
    conv::depthwise_backprop_input_rotated<T>(g, w.data<T>(), dy.data<T>(), c.data<T>(), pool);
    for (int64_t i = 0; i < a.num_elements(); ++i)
      ASSERT_NEAR(a.as_double(i), c.as_double(i), tol) << k.name << " dx element " << i;
  }
}

TEST(DepthwisePaths, FastAndGeneralPathsAgree) {
  const std::vector<Case> cases = {
      {"s1_wide", 2, 6, 37, 16, 3, 3, 16, 1, 1, 1, 1, 16, "SAME"},
      {"s1_tail_channels", 2, 5, 29, 21, 3, 3, 21, 1, 1, 1, 1, 21, "SAME"},
      {"s2", 2, 9, 31, 32, 3, 3, 32, 2, 2, 1, 1, 32, "SAME"},
      {"s2_valid_odd", 1, 10, 19, 8, 3, 3, 8, 2, 2, 1, 1, 8, "VALID"},
      {"s3x1_rows", 1, 10, 19, 8, 3, 3, 8, 3, 1, 1, 1, 8, "SAME"},
      {"explicit", 1, 7, 20, 12, 3, 3, 12, 1, 1, 1, 1, 12, "EXPLICIT", 2, 0, 2, 1},
      {"one_channel", 2, 6, 18, 1, 3, 3, 1, 1, 1, 1, 1, 1, "SAME"},
      // The row-tiled kernel: channel tails (9, 13, 40 = 5 AVX2 vectors, 2.5 AVX-512 ones),
      // rows of several column tiles with remainders, narrow rows, one-row images, and
      // padding that leaves only 1 or 0 filter rows inside the image.
      {"s1_c9_odd", 1, 7, 23, 9, 3, 3, 9, 1, 1, 1, 1, 9, "SAME"},
      {"s1_c40_long_rows", 2, 5, 71, 40, 3, 3, 40, 1, 1, 1, 1, 40, "SAME"},
      {"s2_c24_odd", 2, 11, 33, 24, 3, 3, 24, 2, 2, 1, 1, 24, "SAME"},
      {"s2_c13_explicit", 1, 9, 27, 13, 3, 3, 13, 2, 2, 1, 1, 13, "EXPLICIT", 1, 0, 0, 1},
      {"s2_c64_14x14", 2, 14, 14, 64, 3, 3, 64, 2, 2, 1, 1, 64, "SAME"},
      {"s1_pads_2", 1, 4, 21, 16, 3, 3, 16, 1, 1, 1, 1, 16, "EXPLICIT", 2, 2, 2, 2},
      {"s2_pads_3", 1, 3, 20, 8, 3, 3, 8, 2, 2, 1, 1, 8, "EXPLICIT", 3, 3, 1, 2},
      {"s2_narrow", 1, 6, 5, 16, 3, 3, 16, 2, 2, 1, 1, 16, "SAME"},
      {"s1_width_3_valid", 1, 5, 3, 8, 3, 3, 8, 1, 1, 1, 1, 8, "VALID"},
      {"one_row", 2, 1, 17, 24, 3, 3, 24, 1, 1, 1, 1, 24, "SAME"},
      {"s1_cols_all_padding", 1, 5, 6, 12, 3, 3, 12, 1, 1, 1, 1, 12, "EXPLICIT", 0, 1, 3, 4},
  };
  for (const Case& k : cases) {
    EXPECT_TRUE(conv::depthwise_3x3_applies(geometry_of(k))) << k.name;
    compare_depthwise_paths<float>(k);
    compare_depthwise_paths<double>(k);
  }
}

TEST(DepthwiseThreads, ResultsDoNotDependOnTheNumberOfThreads) {
  for (const Case& k : {Case{"s1", 4, 28, 28, 32, 3, 3, 32, 1, 1, 1, 1, 32, "SAME"},
                        Case{"s2", 4, 28, 28, 24, 3, 3, 24, 2, 2, 1, 1, 24, "SAME"},
                        Case{"m2", 3, 14, 14, 8, 5, 5, 16, 1, 1, 1, 1, 8, "SAME"}}) {
    const Tensor xv = random_tensor(DType::f32, {k.n, k.h, k.w, k.c}, 21);
    const Tensor wv = random_tensor(DType::f32, {k.kh, k.kw, k.c, k.f / k.c}, 22);
    auto run = [&](int threads) {
      Graph g;
      Scope s(g);
      Output x = ops::placeholder(s, DType::f32, {-1, k.h, k.w, k.c});
      Output w = ops::constant(s, wv);
      Output y = ops::depthwise_conv2d(s, x, w, {k.sh, k.sw}, Padding::same);
      auto grads = gradients(s, {ops::sum(s, ops::square(s, y))}, {x, w});
      Session sess(g, SessionOptions{threads});
      return sess.run({{x, xv}}, {y, grads[0], grads[1]});
    };
    auto one = run(1), four = run(4);
    for (size_t i = 0; i < one.size(); ++i)
      EXPECT_TRUE(one[i].equals(four[i])) << k.name << " output " << i;
  }
}

// ---------------------------------------------------------------------------------------
// Hand-computed values, NaN, and the fused activations' edges.

TEST(Depthwise, HandComputedMultiplierTwo) {
  // x: one 2x2 image with 2 channels; filter 1x1 with multiplier 2: output channel c*2+m is
  // x[c] * w[c][m].
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8},
                                                  {1, 2, 2, 2}));
  Output w = ops::constant(s, Tensor::from_vector(std::vector<float>{10, 100, -1, 2}, {1, 1, 2, 2}));
  Output y = ops::depthwise_conv2d(s, x, w);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 2, 4}));
  Session sess(g);
  EXPECT_EQ(sess.run({}, {y})[0].to_vector<float>(),
            (std::vector<float>{10, 100, -2, 4, 30, 300, -4, 8, 50, 500, -6, 12, 70, 700, -8, 16}));
}

TEST(Depthwise, FusedActivationsPropagateNaNAndClip) {
  Graph g;
  Scope s(g);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Output x = ops::constant(s, Tensor::from_vector(std::vector<float>{nan, -3, 0.5f, 9}, {1, 1, 4, 1}));
  Output w = ops::constant(s, Tensor::ones(DType::f32, {1, 1, 1, 1}));
  Output b = ops::constant(s, Tensor::zeros(DType::f32, {1}));
  Output relu = ops::fused_depthwise_conv2d(s, x, w, b, FusedActivation::relu);
  Output relu6 = ops::fused_depthwise_conv2d(s, x, w, b, FusedActivation::relu6);
  Output clip = ops::fused_conv2d(s, x, w, b, FusedActivation::clip_to(-1, 1));
  Output leaky = ops::fused_conv2d(s, x, w, b, FusedActivation::leaky(0.5));
  Output crelu = ops::fused_conv2d(s, x, w, b, {1, 1}, Padding::valid, {1, 1}, true);
  Session sess(g);
  auto r = sess.run({}, {relu, relu6, clip, leaky, crelu});
  for (const Tensor& t : r) EXPECT_TRUE(std::isnan(t.to_vector<float>()[0]));
  EXPECT_EQ(r[0].to_vector<float>()[1], 0);
  EXPECT_EQ(r[1].to_vector<float>()[3], 6);
  EXPECT_EQ(r[2].to_vector<float>()[1], -1);
  EXPECT_EQ(r[2].to_vector<float>()[3], 1);
  EXPECT_EQ(r[3].to_vector<float>()[1], -1.5f);
  EXPECT_EQ(r[4].to_vector<float>()[2], 0.5f);
}

TEST(GroupedConv, DepthwiseAsGroupsEqualsDepthwiseOpExactly) {
  // groups == C runs the same kernels on the same filter memory.
  const Tensor xv = random_tensor(DType::f32, {2, 12, 13, 16}, 31);
  const Tensor wv = random_tensor(DType::f32, {3, 3, 1, 16}, 32);
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, xv), w = ops::constant(s, wv);
  Output a = ops::conv2d(s, x, w, {2, 2}, Padding::same, {1, 1}, 16);
  Output b = ops::depthwise_conv2d(s, x, ops::reshape(s, w, {3, 3, 16, 1}), {2, 2}, Padding::same);
  Session sess(g);
  auto r = sess.run({}, {a, b});
  EXPECT_TRUE(r[0].equals(r[1]));
}

TEST(Conv1D, AgainstConv2DAndCausalPadding) {
  const Tensor xv = random_tensor(DType::f64, {2, 11, 4}, 41);
  const Tensor wv = random_tensor(DType::f64, {3, 2, 6}, 42);
  Graph g;
  Scope s(g);
  Output x = ops::constant(s, xv), w = ops::constant(s, wv);
  // Keras' causal padding: (K-1)*dilation zeros on the left; groups 2.
  Output y = ops::conv1d(s, x, w, 1, Pads::explicit_pads(0, 0, 4, 0), 2, 2);
  EXPECT_EQ(y.shape(), (Shape{2, 11, 6}));
  Output strided = ops::conv1d(s, x, ops::constant(s, random_tensor(DType::f64, {3, 4, 5}, 43)), 2,
                               Padding::same);
  EXPECT_EQ(strided.shape(), (Shape{2, 6, 5}));
  Session sess(g);
  const Tensor r = sess.run({}, {y})[0];
  reference::Conv rc{2, 1, 11, 4, 1, 3, 6, 1, 1, 1, 2};
  rc.pl = 4, rc.groups = 2;
  expect_near_all(r, reference::conv(rc, xv, wv), 1e-12, "causal conv1d");
}

// ---------------------------------------------------------------------------------------
// Bad input.

TEST(DepthwiseErrors, ShapesAttrsAndPads) {
  using testing::contains;
  using testing::error_of;
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::f32, {2, 8, 8, 6});
  Output w = ops::placeholder(s.named("w"), DType::f32, {3, 3, 6, 1});
  std::string m = error_of<InvalidArgument>([&] {
    ops::depthwise_conv2d(s.named("dw"), x, ops::placeholder(s, DType::f32, {3, 3, 5, 1}));
  });
  EXPECT_TRUE(contains(m, "'dw' (DepthwiseConv2dNative)") && contains(m, "in_channels") &&
              contains(m, "[3,3,5,1]"))
      << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d(s.named("gc"), x, ops::placeholder(s, DType::f32, {3, 3, 2, 4}), {1, 1},
                Padding::same, {1, 1}, 4);
  });
  EXPECT_TRUE(contains(m, "'gc' (Conv2D)") && contains(m, "times groups (4)")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d(s.named("gf"), x, ops::placeholder(s, DType::f32, {3, 3, 3, 5}), {1, 1},
                Padding::same, {1, 1}, 2);
  });
  EXPECT_TRUE(contains(m, "groups (2) must divide") && contains(m, "[3,3,3,5]")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::conv2d(s.named("g0"), x, ops::placeholder(s, DType::f32, {3, 3, 6, 5}), {1, 1},
                Padding::same, {1, 1}, 0);
  });
  EXPECT_TRUE(contains(m, "groups must be positive")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::depthwise_conv2d(s.named("ep"), x, w, {1, 1}, Pads::explicit_pads(0, 0, -5, -5));
  });
  EXPECT_TRUE(contains(m, "cols") && contains(m, "empty") && contains(m, "[2,8,8,6]")) << m;
  m = error_of<InvalidArgument>([&] {
    NodeBuilder(s.named("raw"), "Conv2D")
        .input(x)
        .input(ops::placeholder(s, DType::f32, {3, 3, 6, 2}))
        .attr("padding", "EXPLICIT")
        .attr("explicit_paddings", Ints{1, 1, 1})
        .finish();
  });
  EXPECT_TRUE(contains(m, "'raw' (Conv2D)") && contains(m, "explicit_paddings")) << m;
  m = error_of<InvalidArgument>([&] {
    NodeBuilder(s.named("raw2"), "Conv2D")
        .input(x)
        .input(ops::placeholder(s, DType::f32, {3, 3, 6, 2}))
        .attr("padding", "SAME")
        .attr("explicit_paddings", Ints{1, 1, 1, 1})
        .finish();
  });
  EXPECT_TRUE(contains(m, "only EXPLICIT takes them")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::fused_depthwise_conv2d(s.named("fb"), x, w, ops::placeholder(s, DType::f32, {7}));
  });
  EXPECT_TRUE(contains(m, "bias must be [C*M] = [6]")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::fused_conv2d(s.named("lk"), x, ops::placeholder(s, DType::f32, {3, 3, 6, 2}),
                      ops::placeholder(s, DType::f32, {2}), FusedActivation::leaky(-0.5));
  });
  EXPECT_TRUE(contains(m, "alpha >= 0")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::fused_conv2d(s.named("cl"), x, ops::placeholder(s, DType::f32, {3, 3, 6, 2}),
                      ops::placeholder(s, DType::f32, {2}), FusedActivation::clip_to(2, 1));
  });
  EXPECT_TRUE(contains(m, "clip_min 2 must not exceed clip_max 1")) << m;
  // Run time: a fed input whose channels do not match.
  Output xp = ops::placeholder(s.named("xp"), DType::f32, {-1, -1, -1, -1});
  Output y = ops::depthwise_conv2d(s.named("rt"), xp, ops::constant(s, random_tensor(DType::f32, {3, 3, 4, 1}, 1)));
  Session sess(g);
  m = error_of<InvalidArgument>(
      [&] { sess.run({{xp, Tensor::zeros(DType::f32, {1, 5, 5, 3})}}, {y}); });
  EXPECT_TRUE(contains(m, "'rt' (DepthwiseConv2dNative)") && contains(m, "[1,5,5,3]")) << m;
  const Tensor ok = sess.run({{xp, Tensor::zeros(DType::f32, {0, 5, 5, 4})}}, {y})[0];
  EXPECT_EQ(ok.shape(), (Shape{0, 3, 3, 4}));
}

}  // namespace
}  // namespace sluice
