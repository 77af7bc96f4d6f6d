// FusedBottleneckConv2D (ops/bottleneck_ops.h): bit for bit the three FusedConv2Ds it
// stands for, on the banded path (several bands, rows carried from band to band, 1 and 2
// threads, float and double) and on the unfused fallback; bad input; and the ONNX importer
// building it for MobileNetV2's blocks. Its gradient is checked in grad_cases_conv.cc.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "ops/bottleneck_ops.h"
#include "ops/conv_lowering.h"
#include "test_util.h"

namespace sluice {
namespace {

using sluice::testing::contains;
using sluice::testing::error_of;
using sluice::testing::random_tensor;

struct Case {
  const char* name;
  int64_t n, h, w, c, e, f;
  int64_t stride;
  Pads pads;
  FusedActivation act[3];
  bool banded;  // conv::bottleneck_applies: the fused path, not the fallback
};

// The fused op and the three FusedConv2Ds on the same constants, fetched in one run.
void expect_same_bits(const Case& k, DType dtype, int threads) {
  SCOPED_TRACE(std::string(k.name) + " " + dtype_name(dtype) + " threads " + std::to_string(threads));
  Graph g;
  const Scope s(g);
  const Output x = ops::constant(s, random_tensor(dtype, {k.n, k.h, k.w, k.c}, 1, -2, 2));
  auto weights = [&](Shape shape, uint32_t seed) { return ops::constant(s, random_tensor(dtype, shape, seed, -0.6, 0.6)); };
  const ops::BottleneckStage e{weights({1, 1, k.c, k.e}, 2), weights({k.e}, 3), k.act[0]};
  const ops::BottleneckStage d{weights({3, 3, 1, k.e}, 4), weights({k.e}, 5), k.act[1]};
  const ops::BottleneckStage p{weights({1, 1, k.e, k.f}, 6), weights({k.f}, 7), k.act[2]};
  const std::vector<int64_t> strides{k.stride, k.stride};
  const Output fused = ops::fused_bottleneck_conv2d(s, x, e, d, p, strides, k.pads, {1, 1});
  const Output y1 = ops::fused_conv2d(s, x, e.filter, e.bias, e.activation);
  const Output y2 = ops::fused_conv2d(s, y1, d.filter, d.bias, d.activation, strides, k.pads, {1, 1}, k.e);
  const Output y3 = ops::fused_conv2d(s, y2, p.filter, p.bias, p.activation);
  ASSERT_EQ(fused.shape(), y3.shape());
  Session sess(g, SessionOptions{threads});
  const std::vector<Tensor> r = sess.run({}, {fused, y3});
  ASSERT_EQ(r[0].shape(), r[1].shape());
  const Tensor a = r[0].cast(DType::f64), b = r[1].cast(DType::f64);
  int64_t differ = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) differ += a.data<double>()[i] != b.data<double>()[i];
  EXPECT_EQ(differ, 0) << "of " << a.num_elements() << " outputs";
  double sum = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) sum += std::abs(a.data<double>()[i]);
  EXPECT_GT(sum, 0);  // not all zero (the activations left something through)
}

conv::ConvGeometry pointwise(int64_t n, int64_t h, int64_t w, int64_t c, int64_t f) {
  conv::ConvGeometry g;
  g.n = n, g.h = h, g.w = w, g.c = c, g.kh = g.kw = 1, g.f = f, g.oh = h, g.ow = w;
  return g;
}

TEST(Bottleneck, SameBitsAsTheThreeConvolutions) {
  const FusedActivation relu6 = FusedActivation::relu6, none = FusedActivation::none;
  const FusedActivation leaky = FusedActivation::leaky(0.1), clip = FusedActivation::clip_to(-0.5, 1.5);
  const Case cases[] = {
      // 40 rows of 40 x 96 expanded values: bands of 6 output rows, two rows carried over.
      {"stride1_bands", 2, 40, 40, 16, 96, 24, 1, Pads::explicit_pads(1, 1, 1, 1), {relu6, relu6, none}, true},
      // Stride 2 from an odd size: bands of 5 rows, one row carried over, the last band short.
      {"stride2_bands", 1, 41, 40, 16, 96, 32, 2, Pads::explicit_pads(1, 1, 1, 1), {relu6, relu6, none}, true},
      // SAME padding with the extra row at the bottom, every activation kind, a channel tail.
      {"same_upper_s2", 2, 12, 13, 6, 20, 9, 2, Padding::same, {leaky, clip, FusedActivation::relu}, true},
      // VALID: the band's first rows start inside the image.
      {"valid_s1", 1, 9, 7, 8, 24, 8, 1, Padding::valid, {none, FusedActivation::relu, leaky}, true},
      // Three input channels: the expansion takes the direct path, so the op runs the stages
      // one after the other (the fallback).
      {"fallback_three_channels", 2, 9, 9, 3, 12, 5, 1, Padding::same, {relu6, relu6, none}, false},
  };
  for (const Case& k : cases) {
    const conv::ConvGeometry ge = pointwise(k.n, k.h, k.w, k.c, k.e);
    EXPECT_EQ(conv::prepacked_applies(ge), k.banded) << k.name;  // the case covers the path it names
    for (DType dtype : {DType::f32, DType::f64})
      for (int threads : {1, 2}) expect_same_bits(k, dtype, threads);
  }
}

TEST(Bottleneck, BadInputNamesTheStage) {
  Graph g;
  const Scope s(g);
  const Output x = ops::placeholder(s, DType::f32, {1, 8, 8, 4});
  auto w = [&](Shape shape) { return ops::constant(s, Tensor::zeros(DType::f32, shape)); };
  const FusedActivation none = FusedActivation::none;
  const ops::BottleneckStage e{w({1, 1, 4, 12}), w({12}), none};
  const ops::BottleneckStage d{w({3, 3, 1, 12}), w({12}), none};
  const ops::BottleneckStage p{w({1, 1, 12, 5}), w({5}), none};
  auto build = [&](const Output& in, const ops::BottleneckStage& a, const ops::BottleneckStage& b,
                   const ops::BottleneckStage& c) {
    return error_of<InvalidArgument>([&] { ops::fused_bottleneck_conv2d(s, in, a, b, c, {1, 1}, Padding::same, {1, 1}); });
  };
  EXPECT_TRUE(contains(build(x, e, d, {w({1, 1, 12, 5}), w({4}), none}), "project_bias must be [5], got [4]"));
  const std::string m = build(x, {w({3, 3, 4, 12}), w({12}), none}, d, p);
  EXPECT_TRUE(contains(m, "expand_filter must be [1,1,C,E], got [3,3,4,12]")) << m;
  // A depthwise filter with a depth multiplier (24 outputs from 12 channels).
  EXPECT_TRUE(contains(build(x, e, {w({3, 3, 1, 24}), w({24}), none}, {w({1, 1, 24, 5}), w({5}), none}),
                       "groups (24) must equal the expanded channels E = 12"));
  // A float64 input with float32 weights.
  EXPECT_TRUE(contains(build(ops::placeholder(s, DType::f64, {1, 8, 8, 4}), e, d, p), "FusedBottleneckConv2D"));
}

}  // namespace
}  // namespace sluice
