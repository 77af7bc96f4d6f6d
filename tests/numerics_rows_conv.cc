// NaN and Inf rows for the conv and pool op families. Each convolution code path gets its
// rows: direct (C <= 4), im2col + GEMM (other shapes) and Winograd (3x3, stride 1, C and
// F >= 16), with the fused relu (which must keep NaN) on each; the backprop ops and the
// pooling gradients are reached through gradients().
#include "op_numerics.h"
#include "ops/bottleneck_ops.h"
#include "ops/concat_conv_ops.h"
#include "ops/conv_pool_ops.h"

namespace sluice::testing {
namespace {

// A [shape] tensor of v with NaN/Inf put at flat index 0 (for the large Winograd input).
Tensor with_first(double first, double v, const Shape& shape) {
  std::vector<double> d(static_cast<size_t>(shape.num_elements()), v);
  d[0] = first;
  return T(d, shape);
}
Output filled_like(const Scope& s, const Output& x, const Shape& shape, double v) {
  return ops::fill(s, x.dtype(), shape, v);
}

std::vector<NumericsRow> conv_rows() {
  const Padding V = Padding::valid;
  // Winograd: x [1,4,4,16], a special value in pixel (1,1) channel 0, which every output
  // of the 2x2 valid output reads; filter all 0.01. Direct convolution gives NaN for NaN
  // and +inf for +inf; Winograd's transforms subtract inputs, so +inf can come out as
  // NaN (inf - inf): the Inf row accepts any non-finite value.
  std::vector<double> wx(256, 1.0), wn = wx, wi = wx;
  wn[(1 * 4 + 1) * 16] = kNaN;
  wi[(1 * 4 + 1) * 16] = kInf;
  return join({
      // direct path: 1x1 filter 2, one channel
      rows("Conv2D", {T({kNaN, 1, 2, 3}, {1, 2, 2, 1}), T({2}, {1, 1, 1, 1})}, {kNaN, 2, 4, 6},
           {T({kInf, -kInf, 2, 3}, {1, 2, 2, 1}), T({2}, {1, 1, 1, 1})}, {kInf, -kInf, 4, 6},
           [](const Scope& s, const X& x) { return ops::conv2d(s, x[0], x[1]); }),
      // im2col path: 8 channels summed by a 1x1 filter of ones (inf + -inf = NaN)
      rows("Conv2D", {with_first(kNaN, 1, {1, 1, 2, 8})}, {kNaN, 8},
           {T({kInf, -kInf, 1, 1, 1, 1, 1, 1, kInf, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 2, 8})}, {kNaN, kInf},
           [](const Scope& s, const X& x) {
             return ops::conv2d(s, x[0], filled_like(s, x[0], {1, 1, 8, 1}, 1.0));
           }),
      rows("Conv2D", {T(wn, {1, 4, 4, 16})}, std::vector<double>(64, kNaN), {T(wi, {1, 4, 4, 16})},
           std::vector<double>(64, kNonFinite),
           [](const Scope& s, const X& x) {
             return ops::conv2d(s, x[0], filled_like(s, x[0], {3, 3, 16, 16}, 0.01));
           }),
      // fused bias + relu: relu keeps NaN and maps -inf to 0, on every path
      rows("FusedConv2D", {T({kNaN, -1, 2, 3}, {1, 2, 2, 1})}, {kNaN, 0, 2.5, 3.5},
           {T({-kInf, kInf, -3, 3}, {1, 2, 2, 1})}, {0, kInf, 0, 3.5},
           [](const Scope& s, const X& x) {
             return ops::fused_conv2d(s, x[0], filled_like(s, x[0], {1, 1, 1, 1}, 1.0),
                                      filled_like(s, x[0], {1}, 0.5), {1, 1}, V, {1, 1}, true);
           }),
      rows("FusedConv2D", {with_first(kNaN, -1, {1, 1, 2, 8})}, {kNaN, 0},
           {with_first(-kInf, 1, {1, 1, 2, 8})}, {0, 8.5},
           [](const Scope& s, const X& x) {
             return ops::fused_conv2d(s, x[0], filled_like(s, x[0], {1, 1, 8, 1}, 1.0),
                                      filled_like(s, x[0], {1}, 0.5), {1, 1}, V, {1, 1}, true);
           }),
      rows("FusedConv2D", {T(wn, {1, 4, 4, 16})}, std::vector<double>(64, kNaN),
           {T(wi, {1, 4, 4, 16})}, std::vector<double>(64, kNonFinite),
           [](const Scope& s, const X& x) {
             return ops::fused_conv2d(s, x[0], filled_like(s, x[0], {3, 3, 16, 16}, 0.01),
                                      filled_like(s, x[0], {16}, 0.0), {1, 1}, V, {1, 1}, true);
           }),
      // The fused inverted bottleneck (banded path: 8 channels): a 1x1 expansion of ones, a
      // 1x1 depthwise of ones, a 1x1 projection of ones with bias 0.5 and relu
      rows("FusedBottleneckConv2D", {with_first(kNaN, 1, {1, 1, 2, 8})}, {kNaN, 64.5},
           {with_first(-kInf, 1, {1, 1, 2, 8})}, {0, 64.5},
           [](const Scope& s, const X& x) {
             const Output zero = filled_like(s, x[0], {8}, 0.0);
             return ops::fused_bottleneck_conv2d(
                 s, x[0], {filled_like(s, x[0], {1, 1, 8, 8}, 1.0), zero, FusedActivation::none},
                 {filled_like(s, x[0], {1, 1, 1, 8}, 1.0), zero, FusedActivation::none},
                 {filled_like(s, x[0], {1, 1, 8, 1}, 1.0), filled_like(s, x[0], {1}, 0.5), FusedActivation::relu},
                 {1, 1}, V, {1, 1});
           }),
      // Two 1x1 convolutions of ones (8 channels: the packed GEMM, each written into its
      // slice of the output), biases 0.5 and 0, relu
      rows("FusedConcatConv2D", {with_first(kNaN, 1, {1, 1, 2, 8})}, {kNaN, kNaN, 8.5, 8},
           {with_first(-kInf, 1, {1, 1, 2, 8})}, {0, 0, 8.5, 8},
           [](const Scope& s, const X& x) {
             const Output ones = filled_like(s, x[0], {1, 1, 8, 1}, 1.0);
             return ops::fused_concat_conv2d(s, x[0],
                                             {{ones, filled_like(s, x[0], {1}, 0.5), Padding::valid},
                                              {ones, filled_like(s, x[0], {1}, 0.0), Padding::valid}},
                                             FusedActivation::relu);
           }),
      // A 1x1 convolution of ones (8 channels, bias 0.5, relu), then the 2x1 max pool of its
      // two pixels: NaN wins the window, -inf loses it
      rows("FusedConv2DMaxPool", {with_first(kNaN, 1, {1, 2, 1, 8})}, {kNaN},
           {with_first(-kInf, 1, {1, 2, 1, 8})}, {8.5},
           [](const Scope& s, const X& x) {
             ops::PoolWindow pool;
             pool.ksize = {2, 1}, pool.strides = {1, 1};
             return ops::fused_conv2d_max_pool(s, x[0], filled_like(s, x[0], {1, 1, 8, 1}, 1.0),
                                               filled_like(s, x[0], {1}, 0.5), FusedActivation::relu, {1, 1},
                                               Padding::valid, {1, 1}, pool);
           }),
      // FusedMatMul (GEMM + bias + relu): rows of x summed by a [2,1] matrix of ones
      rows("FusedMatMul", {T({kNaN, -1, 2, 3}, {2, 2})}, {kNaN, 5.5},
           {T({-kInf, 1, kInf, 1}, {2, 2})}, {0, kInf},
           [](const Scope& s, const X& x) {
             return ops::fused_matmul(s, x[0], filled_like(s, x[0], {2, 1}, 1.0),
                                      filled_like(s, x[0], {1}, 0.5), FusedActivation::relu);
           }),
      // dx = dy * w (w = 2), dw = sum x * dy
      rows("Conv2DBackpropInput", {T({1, 1, 1, 1}, {1, 2, 2, 1}), T({kNaN, 1, 2, 3}, {1, 2, 2, 1})},
           {kNaN, 2, 4, 6}, {T({1, 1, 1, 1}, {1, 2, 2, 1}), T({kInf, -kInf, 2, 3}, {1, 2, 2, 1})},
           {kInf, -kInf, 4, 6},
           [](const Scope& s, const X& x) {
             const Output w = filled_like(s, x[0], {1, 1, 1, 1}, 2.0);
             return gradients(s, {ops::conv2d(s, x[0], w)}, {x[0]}, {x[1]})[0];
           }),
      rows("Conv2DBackpropFilter", {T({1, kNaN, 1, 1}, {1, 2, 2, 1}), T({1, 1, 1, 1}, {1, 2, 2, 1})},
           {kNaN}, {T({1, kInf, 1, 1}, {1, 2, 2, 1}), T({1, 1, 1, 1}, {1, 2, 2, 1})}, {kInf},
           [](const Scope& s, const X& x) {
             const Output w = filled_like(s, x[0], {1, 1, 1, 1}, 2.0);
             return gradients(s, {ops::conv2d(s, x[0], w)}, {w}, {x[1]})[0];
           }),
  });
}

std::vector<NumericsRow> pool_rows() {
  // [1,2,4,1] pooled 2x2 / 2: window 0 = columns 0-1, window 1 = columns 2-3.
  const Tensor xn = T({1, kNaN, 3, 4, 5, 6, 7, 8}, {1, 2, 4, 1});
  const Tensor xi = T({-kInf, -kInf, kInf, 1, -kInf, -kInf, 2, 3}, {1, 2, 4, 1});
  auto mp = [](const Scope& s, const Output& x) { return ops::max_pool(s, x, {2, 2}, {2, 2}); };
  auto ap = [](const Scope& s, const Output& x) { return ops::avg_pool(s, x, {2, 2}, {2, 2}); };
  return join({
      rows("MaxPool", {xn}, {kNaN, 8}, {xi}, {-kInf, kInf},
           [mp](const Scope& s, const X& x) { return mp(s, x[0]); }),
      rows("MaxPool", {T({kNaN, 1, 2, 3, 4, 5, 6, kNaN}, {1, 2, 4, 1})}, {kNaN, kNaN},
           {T({1, 2, -kInf, -kInf, 3, kInf, -kInf, 4}, {1, 2, 4, 1})}, {kInf, 4},
           [mp](const Scope& s, const X& x) { return mp(s, x[0]); }),
      // The gradient goes to the element the forward picked: the first NaN of a window.
      rows("MaxPoolGrad", {xn, T({1, kNaN}, {1, 1, 2, 1})}, {0, 1, 0, 0, 0, 0, 0, kNaN},
           {xi, T({kInf, -kInf}, {1, 1, 2, 1})}, {kInf, 0, -kInf, 0, 0, 0, 0, 0},
           [mp](const Scope& s, const X& x) { return gradients(s, {mp(s, x[0])}, {x[0]}, {x[1]})[0]; }),
      rows("MaxPoolGradGrad", {xn, T({1, kNaN, 3, 4, 5, 6, 7, 8}, {1, 2, 4, 1})}, {kNaN, 8},
           {xi, T({kInf, 2, -kInf, 4, 5, 6, 7, 8}, {1, 2, 4, 1})}, {kInf, -kInf},
           [mp](const Scope& s, const X& x) {
             const Output dy = ops::ones_like(s, mp(s, x[0]));
             const Output dx = gradients(s, {mp(s, x[0])}, {x[0]}, {dy})[0];
             return gradients(s, {dx}, {dy}, {x[1]})[0];
           }),
      rows("AvgPool", {xn}, {kNaN, 5.5}, {T({kInf, 1, kInf, 1, 1, 1, -kInf, 1}, {1, 2, 4, 1})},
           {kInf, kNaN}, [ap](const Scope& s, const X& x) { return ap(s, x[0]); }),
      rows("AvgPoolGrad", {xn, T({kNaN, 4}, {1, 1, 2, 1})}, {kNaN, kNaN, 1, 1, kNaN, kNaN, 1, 1},
           {xn, T({kInf, -kInf}, {1, 1, 2, 1})}, {kInf, kInf, -kInf, -kInf, kInf, kInf, -kInf, -kInf},
           [ap](const Scope& s, const X& x) { return gradients(s, {ap(s, x[0])}, {x[0]}, {x[1]})[0]; }),
  });
}

std::vector<NumericsRow> conv_family_rows() { return join({conv_rows(), pool_rows()}); }

const bool registered = register_numerics_rows(conv_family_rows);

}  // namespace
}  // namespace sluice::testing
