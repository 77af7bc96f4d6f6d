// FusedConcatConv2D (ops/concat_conv_ops.h): bit for bit the FusedConv2Ds and the Concat it
// stands for, on each path a branch can take (the packed GEMM, the implicit GEMM, Winograd,
// and the direct kernel through a branch tensor), 1 and 2 threads, float and double; and bad input. Its
// gradient is checked in grad_cases_conv.cc, NaN and Inf in numerics_rows_conv.cc, the
// ONNX importer building it for SqueezeNet in test_onnx_models.cc.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "ops/concat_conv_ops.h"
#include "ops/conv_attrs.h"
#include "ops/conv_lowering.h"
#include "test_util.h"

namespace sluice {
namespace {

using sluice::testing::contains;
using sluice::testing::error_of;
using sluice::testing::random_tensor;

struct Branch {
  int64_t kh, kw, f;
  Pads pads;
};

struct Case {
  const char* name;
  int64_t n, h, w, c;
  std::vector<Branch> branches;
  FusedActivation act;
};

// A branch's geometry as the op computes it (stride 1).
conv::ConvGeometry geometry(const Case& k, const Branch& b) {
  kernels::ConvArgs a;
  a.pads = b.pads;
  return kernels::conv_geometry({k.n, k.h, k.w, k.c}, {b.kh, b.kw, k.c, b.f}, a, kernels::FilterLayout::grouped);
}

// The fused op and the FusedConv2Ds + Concat on the same constants, fetched in one run.
void expect_same_bits(const Case& k, DType dtype, int threads) {
  SCOPED_TRACE(std::string(k.name) + " " + dtype_name(dtype) + " threads " + std::to_string(threads));
  Graph g;
  const Scope s(g);
  const Output x = ops::constant(s, random_tensor(dtype, {k.n, k.h, k.w, k.c}, 1, -2, 2));
  std::vector<ops::ConcatConvBranch> branches;
  std::vector<Output> parts;
  uint32_t seed = 2;
  for (const Branch& b : k.branches) {
    const Output w = ops::constant(s, random_tensor(dtype, {b.kh, b.kw, k.c, b.f}, seed++, -0.5, 0.5));
    const Output bias = ops::constant(s, random_tensor(dtype, {b.f}, seed++, -0.5, 0.5));
    branches.push_back({w, bias, b.pads});
    parts.push_back(ops::fused_conv2d(s, x, w, bias, k.act, {1, 1}, b.pads, {1, 1}, 1));
  }
  const Output fused = ops::fused_concat_conv2d(s, x, branches, k.act);
  const Output reference = ops::concat(s, parts, 3);
  ASSERT_EQ(fused.shape(), reference.shape());
  Session sess(g, SessionOptions{threads});
  const std::vector<Tensor> r = sess.run({}, {fused, reference});
  ASSERT_EQ(r[0].shape(), r[1].shape());
  const Tensor a = r[0].cast(DType::f64), b = r[1].cast(DType::f64);
  int64_t differ = 0;
  double sum = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    differ += a.data<double>()[i] != b.data<double>()[i];
    sum += std::abs(a.data<double>()[i]);
  }
  EXPECT_EQ(differ, 0) << "of " << a.num_elements() << " outputs";
  EXPECT_GT(sum, 0);  // not all zero (the activation left something through)
}

TEST(ConcatConv, SameBitsAsTheConvolutionsAndTheConcat) {
  const Pads one = Pads::explicit_pads(1, 1, 1, 1), none = Padding::valid;
  const Case cases[] = {
      // A fire module at 28x28: the 3x3 branch takes Winograd, the 1x1 the packed GEMM.
      {"fire_winograd", 2, 28, 28, 32, {{1, 1, 24, none}, {3, 3, 40, one}}, FusedActivation::relu},
      // A small image: both branches on the packed GEMM (im2col for the 3x3), a channel tail.
      {"fire_small", 1, 7, 6, 12, {{1, 1, 13, none}, {3, 3, 11, one}}, FusedActivation::relu6},
      // Three input channels: the 1x1 branch takes the direct kernel and goes through its own
      // tensor; asymmetric padding; three branches; leaky relu.
      {"three_branches_direct",
       2,
       9,
       8,
       3,
       {{1, 1, 5, none}, {2, 2, 6, Pads::explicit_pads(0, 1, 1, 0)}, {3, 3, 4, one}},
       FusedActivation::leaky(0.1)},
      // Wide rows of three channels: the 3x3 branch takes the implicit GEMM (no im2col), the
      // 1x1 the direct kernel.
      {"rgb_wide_implicit", 1, 6, 40, 3, {{1, 1, 5, none}, {3, 3, 16, one}}, FusedActivation::relu},
      // Outputs of 640 KB per image: the kernel runs the batch one image at a time.
      {"image_chunks", 2, 64, 40, 16, {{1, 1, 24, none}, {3, 3, 40, one}}, FusedActivation::relu},
      // Two 3x3 branches and a clip.
      {"two_3x3_clip", 1, 10, 11, 8, {{3, 3, 9, one}, {3, 3, 7, one}}, FusedActivation::clip_to(-0.3, 0.8)},
      {"no_activation", 1, 5, 5, 6, {{1, 1, 4, none}, {3, 3, 4, one}}, FusedActivation::none},
  };
  const Case& fire = cases[0];
  EXPECT_TRUE(conv::winograd_chosen(geometry(fire, fire.branches[1])));  // the cases cover the paths they name
  EXPECT_TRUE(conv::prepacked_applies(geometry(fire, fire.branches[0])));
  const Case& direct = cases[2];
  EXPECT_FALSE(conv::strided_output_applies(geometry(direct, direct.branches[0])));
  const Case& wide = cases[3];
  EXPECT_TRUE(conv::implicit_chosen(geometry(wide, wide.branches[1])));
  // 1.15 MB of output per image (20 branches), but one 15x15 image alone would leave
  // Winograd for im2col: the batch runs whole, so the paths (and bits) stay the unfused
  // convolutions'.
  Case many{"chunk_would_change_path", 2, 15, 15, 32, {}, FusedActivation::relu};
  for (int i = 0; i < 20; ++i) many.branches.push_back({3, 3, 64, one});
  EXPECT_TRUE(conv::winograd_chosen(geometry(many, many.branches[0])));
  Case one_image = many;
  one_image.n = 1;
  EXPECT_FALSE(conv::winograd_chosen(geometry(one_image, one_image.branches[0])));
  for (const Case& k : cases)
    for (DType dtype : {DType::f32, DType::f64})
      for (int threads : {1, 2}) expect_same_bits(k, dtype, threads);
  for (int threads : {1, 2}) expect_same_bits(many, DType::f32, threads);
}

TEST(ConcatConv, BadInputNamesTheBranch) {
  Graph g;
  const Scope s(g);
  const Output x = ops::placeholder(s, DType::f32, {1, 8, 8, 4});
  auto w = [&](Shape shape) { return ops::constant(s, Tensor::zeros(DType::f32, shape)); };
  const Pads one = Pads::explicit_pads(1, 1, 1, 1);
  auto build = [&](const Output& in, std::vector<ops::ConcatConvBranch> b) {
    return error_of<InvalidArgument>([&] { ops::fused_concat_conv2d(s, in, b, FusedActivation::relu); });
  };
  // The 3x3 branch without padding gives 6x6 next to the 1x1's 8x8.
  std::string m = build(x, {{w({1, 1, 4, 3}), w({3}), Padding::valid}, {w({3, 3, 4, 5}), w({5}), Padding::valid}});
  EXPECT_TRUE(contains(m, "branch 1 (filter [3,3,4,5]) gives 6x6 outputs, branch 0 (filter [1,1,4,3]) 8x8")) << m;
  m = build(x, {{w({1, 1, 4, 3}), w({3}), Padding::valid}, {w({3, 3, 4, 5}), w({4}), one}});
  EXPECT_TRUE(contains(m, "bias 1 must be [5], got [4]")) << m;
  m = build(x, {{w({1, 1, 4, 3}), w({3}), Padding::valid}, {w({3, 3, 2, 5}), w({5}), one}});
  EXPECT_TRUE(contains(m, "input depth must equal the filter's in_channels")) << m;
  m = build(x, {{w({1, 1, 4, 3}), w({3}), Padding::same}});
  EXPECT_TRUE(contains(m, "explicit or VALID padding per branch, got SAME")) << m;
  // A float64 input with float32 weights.
  m = build(ops::placeholder(s, DType::f64, {1, 8, 8, 4}), {{w({1, 1, 4, 3}), w({3}), Padding::valid}});
  EXPECT_TRUE(contains(m, "FusedConcatConv2D")) << m;
  // A node whose attrs went wrong (as an imported graph could hold): one padding list short.
  NodeBuilder b(s, "FusedConcatConv2D");
  b.input(x).input(w({1, 1, 4, 3})).input(w({3})).attr("branch_paddings", std::vector<int64_t>{0, 0, 0});
  m = error_of<InvalidArgument>([&] { b.finish(); });
  EXPECT_TRUE(contains(m, "must hold top, bottom, left, right for each of the 1 branches")) << m;
}

}  // namespace
}  // namespace sluice
