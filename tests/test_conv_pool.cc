// FusedConv2DMaxPool (ops/conv_pool_ops.h): bit for bit the FusedConv2D and the MaxPool it
// stands for, on the banded path (the implicit GEMM: bands of rows, several per image, the
// rows two bands share moved instead of recomputed, images split across the threads when
// they do not divide the batch) and on the whole-output path; 1 and 2 threads, float and
// double; and bad input. Its gradient is checked in grad_cases_conv.cc, NaN and Inf in
// numerics_rows_conv.cc, the ONNX importer building it for ResNet and SqueezeNet in
// test_onnx_models.cc.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include "ops/conv_attrs.h"
#include "ops/conv_lowering.h"
#include "ops/conv_pool_ops.h"
#include "test_util.h"

namespace sluice {
namespace {

using sluice::testing::contains;
using sluice::testing::error_of;
using sluice::testing::random_tensor;
using sluice::testing::same_bits;

struct Case {
  const char* name;
  int64_t n, h, w, c, k, f, stride;
  Pads conv_pads;
  ops::PoolWindow pool;
  FusedActivation act;
};

// The convolution's geometry as the op computes it.
conv::ConvGeometry geometry(const Case& k) {
  kernels::ConvArgs a;
  a.strides = {k.stride, k.stride}, a.pads = k.conv_pads;
  return kernels::conv_geometry({k.n, k.h, k.w, k.c}, {k.k, k.k, k.c, k.f}, a, kernels::FilterLayout::grouped);
}

void expect_same_bits(const Case& k, DType dtype, int threads) {
  SCOPED_TRACE(std::string(k.name) + " " + dtype_name(dtype) + " threads " + std::to_string(threads));
  Graph g;
  const Scope s(g);
  const Output x = ops::constant(s, random_tensor(dtype, {k.n, k.h, k.w, k.c}, 1, -2, 2));
  const Output w = ops::constant(s, random_tensor(dtype, {k.k, k.k, k.c, k.f}, 2, -0.5, 0.5));
  const Output b = ops::constant(s, random_tensor(dtype, {k.f}, 3, -0.5, 0.5));
  const Output fused =
      ops::fused_conv2d_max_pool(s, x, w, b, k.act, {k.stride, k.stride}, k.conv_pads, {1, 1}, k.pool);
  const Output conv = ops::fused_conv2d(s, x, w, b, k.act, {k.stride, k.stride}, k.conv_pads, {1, 1}, 1);
  const Output reference =
      ops::max_pool(s, conv, k.pool.ksize, k.pool.strides, k.pool.padding, k.pool.dilations, k.pool.ceil_mode);
  ASSERT_EQ(fused.shape(), reference.shape());
  Session sess(g, SessionOptions{threads});
  const std::vector<Tensor> r = sess.run({}, {fused, reference});
  ASSERT_EQ(r[0].shape(), r[1].shape());
  EXPECT_TRUE(same_bits(r[0], r[1]));
  const Tensor a = r[0].cast(DType::f64);
  double sum = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) sum += std::abs(a.data<double>()[i]);
  EXPECT_GT(sum, 0);
}

TEST(ConvPool, SameBitsAsTheConvolutionAndTheMaxPool) {
  ops::PoolWindow resnet;  // 3x3/2, pads 1 (ResNet's)
  resnet.ksize = {3, 3}, resnet.strides = {2, 2}, resnet.padding = Pads::explicit_pads(1, 1, 1, 1);
  ops::PoolWindow squeeze;  // 3x3/2 valid, ceil_mode (SqueezeNet's)
  squeeze.ksize = {3, 3}, squeeze.strides = {2, 2}, squeeze.ceil_mode = true;
  ops::PoolWindow odd;  // 2x3/1, asymmetric pads, a dilated column
  odd.ksize = {2, 3}, odd.strides = {1, 2}, odd.padding = Pads::explicit_pads(0, 1, 2, 0), odd.dilations = {1, 2};
  const Pads none = Padding::valid, three = Pads::explicit_pads(3, 3, 3, 3);
  const std::vector<Case> cases = {
      // Rows of 9 KiB (float) and more: two to ten bands per image.
      {"resnet_like", 2, 72, 72, 3, 7, 64, 2, three, resnet, FusedActivation::relu},
      {"squeezenet_like", 3, 71, 69, 3, 3, 64, 2, none, squeeze, FusedActivation::relu},
      {"odd_window", 1, 40, 70, 5, 3, 160, 1, Pads::explicit_pads(1, 0, 1, 1), odd, FusedActivation::relu6},
      {"whole_output", 2, 9, 9, 4, 3, 6, 1, none, resnet, FusedActivation::none},  // too narrow for bands
  };
  EXPECT_TRUE(conv::implicit_chosen(geometry(cases[0])));
  EXPECT_TRUE(conv::implicit_chosen(geometry(cases[1])));
  EXPECT_TRUE(conv::implicit_chosen(geometry(cases[2])));
  EXPECT_FALSE(conv::implicit_chosen(geometry(cases[3])));
  for (const Case& k : cases)
    for (DType dtype : {DType::f32, DType::f64})
      for (int threads : {1, 2}) expect_same_bits(k, dtype, threads);
}

TEST(ConvPool, BadInputNamesTheAttrAndShapes) {
  Graph g;
  const Scope s(g);
  const Output x = ops::placeholder(s, DType::f32, {1, 8, 8, 4});
  const Output w = ops::constant(s, Tensor::zeros(DType::f32, {3, 3, 4, 5}));
  const Output b = ops::constant(s, Tensor::zeros(DType::f32, {5}));
  auto build = [&](const Output& in, const Output& filter, const Output& bias, const ops::PoolWindow& p) {
    return error_of<InvalidArgument>([&] {
      ops::fused_conv2d_max_pool(s, in, filter, bias, FusedActivation::relu, {1, 1}, Padding::valid, {1, 1}, p);
    });
  };
  ops::PoolWindow p;
  p.ksize = {3};
  std::string m = build(x, w, b, p);
  EXPECT_TRUE(contains(m, "pool_ksize must have 2 entries {KH,KW}, got [3]")) << m;
  p.ksize = {7, 7};  // a 6x6 convolution output
  m = build(x, w, b, p);
  EXPECT_TRUE(contains(m, "input [1,6,6,5]")) << m;
  p.ksize = {2, 2}, p.padding = Pads::explicit_pads(2, 0, 0, 0);
  m = build(x, w, b, p);
  EXPECT_TRUE(contains(m, "must be non-negative and smaller than the window")) << m;
  m = build(x, w, ops::constant(s, Tensor::zeros(DType::f32, {4})), ops::PoolWindow());
  EXPECT_TRUE(contains(m, "bias")) << m;
  m = build(ops::placeholder(s, DType::f64, {1, 8, 8, 4}), w, b, ops::PoolWindow());
  EXPECT_TRUE(contains(m, "FusedConv2DMaxPool")) << m;
}

}  // namespace
}  // namespace sluice
