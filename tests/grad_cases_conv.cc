// Gradient cases for the conv and pool op families: every padding/stride combination, a
// dilated convolution, the fused bias+relu convolution, the backprop ops themselves (they
// are differentiable, so second derivatives work) and the pooling gradient ops.
#include "gradient_checker.h"
#include "ops/bottleneck_ops.h"
#include "ops/concat_conv_ops.h"
#include "ops/conv_pool_ops.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;
using Ints = std::vector<int64_t>;

// A case computing conv2d(x0, x1) with the given attrs.
GradCase conv_case(const std::string& name, Shape x, Shape w, Ints strides, Padding padding,
                   Ints dilations = {1, 1}) {
  return {name, {x, w}, [=](const Scope& s, const X& in) {
            return ops::conv2d(s, in[0], in[1], strides, padding, dilations);
          }};
}

// Gathers the pool op's attrs into a builder for its gradient ops.
Output pool_grad_node(const Scope& s, const char* type, const Output& a, const Output& b,
                      Ints ksize, Ints strides, Padding padding) {
  return NodeBuilder(s, type)
      .input(a)
      .input(b)
      .attr("ksize", ksize)
      .attr("strides", strides)
      .attr("padding", padding_name(padding))
      .finish()
      .output(0);
}

std::vector<GradCase> conv_cases() {
  const Padding S = Padding::same, V = Padding::valid;
  std::vector<GradCase> cases = {
      conv_case("conv2d_same_s1", {2, 5, 5, 2}, {3, 3, 2, 3}, {1, 1}, S),
      conv_case("conv2d_valid_s1", {1, 5, 6, 2}, {3, 2, 2, 2}, {1, 1}, V),
      conv_case("conv2d_same_s2", {2, 5, 6, 2}, {3, 3, 2, 2}, {2, 2}, S),
      conv_case("conv2d_valid_s2", {1, 7, 6, 2}, {3, 3, 2, 2}, {2, 2}, V),
      conv_case("conv2d_same_even_kernel_s2x1", {1, 6, 5, 2}, {2, 4, 2, 2}, {2, 1}, S),
      conv_case("conv2d_dilated_same", {1, 7, 7, 2}, {3, 3, 2, 2}, {1, 1}, S, {2, 2}),
      conv_case("conv2d_dilated_valid", {1, 7, 8, 1}, {2, 3, 1, 2}, {1, 1}, V, {3, 2}),
      conv_case("conv2d_pointwise", {2, 3, 4, 3}, {1, 1, 3, 2}, {1, 1}, S),
      {"fused_conv2d_relu",
       {{1, 5, 5, 2}, {3, 3, 2, 3}, {3}},
       [](const Scope& s, const X& x) {
         return ops::fused_conv2d(s, x[0], x[1], x[2], {1, 1}, Padding::same, {1, 1}, true);
       }},
      {"fused_conv2d_linear_s2",
       {{1, 6, 5, 2}, {3, 3, 2, 2}, {2}},
       [](const Scope& s, const X& x) {
         return ops::fused_conv2d(s, x[0], x[1], x[2], {2, 2}, Padding::valid);
       }},
      // The inverted bottleneck: 1x1 expansion (leaky relu), depthwise 3x3 at stride 2 with
      // ONNX-style pads (relu), 1x1 projection (linear).
      {"fused_bottleneck_conv2d",
       {{1, 5, 6, 3}, {1, 1, 3, 6}, {6}, {3, 3, 1, 6}, {6}, {1, 1, 6, 4}, {4}},
       [](const Scope& s, const X& x) {
         return ops::fused_bottleneck_conv2d(s, x[0], {x[1], x[2], FusedActivation::leaky(0.2)},
                                             {x[3], x[4], FusedActivation::relu}, {x[5], x[6], FusedActivation::none},
                                             {2, 2}, Pads::explicit_pads(1, 1, 1, 1), {1, 1});
       }},
      // Two convolutions of one input concatenated along the channels (a fire module): a
      // 1x1 branch and a 3x3 branch with asymmetric pads, relu6.
      {"fused_concat_conv2d",
       {{1, 4, 5, 3}, {1, 1, 3, 2}, {2}, {3, 3, 3, 3}, {3}},
       [](const Scope& s, const X& x) {
         return ops::fused_concat_conv2d(
             s, x[0], {{x[1], x[2], Padding::valid}, {x[3], x[4], Pads::explicit_pads(1, 1, 2, 0)}},
             FusedActivation::relu6);
       }},
      // A convolution and the max pool of its output in one op (an ImageNet stem): pads,
      // relu, a 2x2/2 pool whose last column window (ceil_mode) holds one column.
      {"fused_conv2d_max_pool",
       {{1, 6, 7, 2}, {3, 3, 2, 3}, {3}},
       [](const Scope& s, const X& x) {
         ops::PoolWindow pool;
         pool.ceil_mode = true;
         return ops::fused_conv2d_max_pool(s, x[0], x[1], x[2], FusedActivation::relu, {1, 1},
                                           Pads::explicit_pads(1, 1, 1, 1), {1, 1}, pool);
       }},
      // The backprop ops as functions of their value inputs (the *_like input only gives a shape).
      {"conv2d_backprop_input_same_s1",
       {{3, 3, 2, 3}, {1, 5, 4, 3}},
       [](const Scope& s, const X& x) {
         Output like = ops::fill(s, DType::f64, {1, 5, 4, 2}, 0);
         return ops::conv2d_backprop_input(s, like, x[0], x[1], {1, 1}, Padding::same);
       }},
      {"conv2d_backprop_input_valid_s2",
       {{3, 3, 2, 2}, {1, 3, 2, 2}},
       [](const Scope& s, const X& x) {
         Output like = ops::fill(s, DType::f64, {1, 7, 6, 2}, 0);
         return ops::conv2d_backprop_input(s, like, x[0], x[1], {2, 2}, Padding::valid);
       }},
      {"conv2d_backprop_filter_same_s1",
       {{1, 5, 4, 2}, {1, 5, 4, 3}},
       [](const Scope& s, const X& x) {
         Output like = ops::fill(s, DType::f64, {3, 3, 2, 3}, 0);
         return ops::conv2d_backprop_filter(s, x[0], like, x[1], {1, 1}, Padding::same);
       }},
      {"conv2d_backprop_filter_same_s2_dilated",
       {{1, 6, 5, 2}, {1, 3, 3, 2}},
       [](const Scope& s, const X& x) {
         Output like = ops::fill(s, DType::f64, {2, 2, 2, 2}, 0);
         return ops::conv2d_backprop_filter(s, x[0], like, x[1], {2, 2}, Padding::same, {2, 1});
       }},
      {"max_pool_valid_2x2_s2",
       {{2, 4, 5, 2}},
       [](const Scope& s, const X& x) {
         return ops::max_pool(s, x[0], {2, 2}, {2, 2}, Padding::valid);
       }},
      {"max_pool_same_3x3_s2",
       {{1, 5, 6, 2}},
       [](const Scope& s, const X& x) {
         return ops::max_pool(s, x[0], {3, 3}, {2, 2}, Padding::same);
       }},
      {"max_pool_grad",
       {{1, 4, 5, 2}, {1, 2, 3, 2}},
       [](const Scope& s, const X& x) {
         return pool_grad_node(s, "MaxPoolGrad", x[0], x[1], {2, 2}, {2, 2}, Padding::same);
       }},
      {"max_pool_grad_grad",
       {{1, 5, 4, 2}, {1, 5, 4, 2}},
       [](const Scope& s, const X& x) {
         return pool_grad_node(s, "MaxPoolGradGrad", x[0], x[1], {3, 2}, {1, 2}, Padding::same);
       }},
      {"avg_pool_valid_2x2_s2",
       {{2, 4, 5, 2}},
       [](const Scope& s, const X& x) {
         return ops::avg_pool(s, x[0], {2, 2}, {2, 2}, Padding::valid);
       }},
      {"avg_pool_same_3x3_s2",
       {{1, 5, 6, 2}},
       [](const Scope& s, const X& x) {
         return ops::avg_pool(s, x[0], {3, 3}, {2, 2}, Padding::same);
       }},
      {"avg_pool_grad",
       {{1, 3, 2, 2}},
       [](const Scope& s, const X& x) {
         Output like = ops::fill(s, DType::f64, {1, 5, 4, 2}, 0);
         return pool_grad_node(s, "AvgPoolGrad", like, x[0], {3, 3}, {2, 2}, Padding::same);
       }},
      {"global_avg_pool",
       {{2, 3, 4, 2}},
       [](const Scope& s, const X& x) { return ops::global_avg_pool(s, x[0]); }},
  };
  return cases;
}

const bool registered = testing::register_grad_cases(conv_cases);

}  // namespace
}  // namespace sluice
