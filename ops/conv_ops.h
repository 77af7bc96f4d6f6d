// Convolution ops, NHWC images and HWIO filters, with TensorFlow's semantics:
//
//   input  [N, H, W, C]    filter [KH, KW, C/G, F]    output [N, OH, OW, F]
//   output[n, y, x, f] = sum_{i, j, c in group(f)} input[n, y*SH - PT + i*DH, x*SW - PL + j*DW, c]
//                                                  * filter[i, j, c mod C/G, f]
//   (zero outside the image; G = groups, output channel f belongs to group f / (F/G), which
//   reads input channels [g*C/G, (g+1)*C/G): TF's feature_group_count, ONNX's group)
//
// Padding (per spatial dimension; the same rules for the pooling ops):
//   valid:       no padding, OH = floor((H - (KH-1)*DH - 1) / SH) + 1, which must be > 0.
//   same:        OH = ceil(H / SH); the total padding max((OH-1)*SH + (KH-1)*DH + 1 - H, 0)
//                is split with the smaller half on top (PT = total / 2), the extra row at the
//                bottom (TensorFlow's SAME = ONNX's auto_pad SAME_UPPER); likewise columns.
//   same_lower:  as same, with the extra row on top (ONNX's auto_pad SAME_LOWER).
//   explicit_pads: Pads::explicit_pads(top, bottom, left, right) rows/columns of zeros
//                (TF's "EXPLICIT" + explicit_paddings, ONNX's pads, which may be asymmetric);
//                OH = floor((H + top + bottom - (KH-1)*DH - 1) / SH) + 1. A negative pad
//                crops the image on that side (Sluice builds such convolutions for the
//                transposed convolution's gradient; TF and ONNX files never hold them).
//
// The kernels (ops/conv_lowering.h) lower convolutions to GEMMs (ops/gemm.h) over blocks of
// output pixels: im2col in general (a plain view for 1x1 stride-1 filters), Winograd
// F(2x2, 3x3) for 3x3 stride-1 filters with >= 16 channels in and out, a direct
// register-blocked loop for inputs with <= 4 channels, one GEMM per group for grouped
// convolutions, and the depthwise kernels (ops/depthwise_kernels.h) when G == C. Blocks are
// split across the session's thread pool; they depend only on the sizes, so results do
// not depend on the number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../graph/scope.h"

namespace sluice {

enum class Padding { same, valid, explicit_pads, same_lower };

// "SAME", "VALID", "EXPLICIT", "SAME_LOWER" (the attr value the ops store), and back
// (InvalidArgument otherwise).
const char* padding_name(Padding padding);
Padding padding_from_name(const std::string& name);

// A padding mode, with the pads themselves when the mode is explicit_pads. Converts
// implicitly from Padding, so `Padding::same` works wherever a Pads is taken.
struct Pads {
  Padding mode = Padding::valid;
  int64_t top = 0, bottom = 0, left = 0, right = 0;  // explicit_pads only

  Pads(Padding m = Padding::valid) : mode(m) {}  // NOLINT(google-explicit-constructor)
  static Pads explicit_pads(int64_t top, int64_t bottom, int64_t left, int64_t right);
  // ONNX's pads attribute for 2-D: [top, left, bottom, right] (x1_begin, x2_begin, x1_end,
  // x2_end); InvalidArgument unless it has 4 entries.
  static Pads onnx(const std::vector<int64_t>& pads);
  // TF's explicit_paddings for NHWC: [0, 0, top, bottom, left, right, 0, 0].
  static Pads tf_explicit(const std::vector<int64_t>& explicit_paddings);
  // The node attr: {top, bottom, left, right} for explicit_pads, else {}.
  std::vector<int64_t> attr_list() const;
};

// Size and padding of one spatial dimension of a convolution or pooling window (see above).
// `in` may be -1 (unknown): then out is -1 too.
struct WindowDim {
  int64_t out = 0;         // output size
  int64_t pad_before = 0;  // padding on top / on the left
  int64_t pad_after = 0;   // padding at the bottom / on the right (SAME: as computed)
};
// Throws InvalidArgument when size, stride or dilation is not positive, or the output
// would be empty; `what` names the dimension in the message ("rows", "cols").
WindowDim window_dim(int64_t in, int64_t size, int64_t stride, int64_t dilation, Padding padding,
                     const char* what = "dim");
// The general form: explicit pads (used when padding is explicit_pads) and ONNX's ceil_mode
// (explicit_pads only; the auto_pad modes ignore it, as ONNX does): OH = ceil(...) + 1
// instead of floor, without a last window that would start in the bottom padding (PyTorch's
// rule, which ONNX adopted).
WindowDim window_dim(int64_t in, int64_t size, int64_t stride, int64_t dilation, Padding padding,
                     int64_t explicit_before, int64_t explicit_after, bool ceil_mode,
                     const char* what);

// The activation a fused convolution applies after its bias. NaN stays NaN through each.
struct FusedActivation {
  enum Kind { none, relu, relu6, clip, leaky_relu };
  Kind kind = none;
  double clip_min = 0, clip_max = 0;  // clip: min(max(x, clip_min), clip_max)
  double alpha = 0;                   // leaky_relu: x < 0 ? alpha * x : x (alpha >= 0)

  FusedActivation(Kind k = none) : kind(k) {}  // NOLINT(google-explicit-constructor)
  static FusedActivation clip_to(double lo, double hi);
  static FusedActivation leaky(double alpha);
  // "none", "relu", "relu6", "clip", "leaky_relu" (the node's activation attr).
  const char* name() const;
};

namespace ops {

// input [N,H,W,C], filter [KH,KW,C/groups,F] -> [N,OH,OW,F] (float32/float64).
// strides {SH,SW} and dilations {DH,DW} must have two positive entries each. Strides and
// dilations > 1 may be combined (the formula above; Keras' Conv2D layer refuses that).
// groups must divide C and F; groups == C (filter [KH,KW,1,C*M]) is a depthwise
// convolution and runs the depthwise kernels (the filter layout is depthwise_conv2d's).
Output conv2d(const Scope& scope, const Output& input, const Output& filter,
              std::vector<int64_t> strides = {1, 1}, Pads padding = Padding::valid,
              std::vector<int64_t> dilations = {1, 1}, int64_t groups = 1);

// conv2d(input, filter) + bias [F], then relu when `relu`, in one kernel: the bias and
// activation are applied while each block of the output is still in cache.
Output fused_conv2d(const Scope& scope, const Output& input, const Output& filter,
                    const Output& bias, std::vector<int64_t> strides = {1, 1},
                    Pads padding = Padding::valid, std::vector<int64_t> dilations = {1, 1},
                    bool relu = false);
// The same with any FusedActivation (relu6 / clip for MobileNet's Conv+Clip(0,6), leaky
// relu) and groups. Gradients flow to input, filter and bias (the activation's derivative
// is taken from the output: 1 strictly inside the clip range, alpha where y < 0 for leaky).
Output fused_conv2d(const Scope& scope, const Output& input, const Output& filter,
                    const Output& bias, FusedActivation activation,
                    std::vector<int64_t> strides = {1, 1}, Pads padding = Padding::valid,
                    std::vector<int64_t> dilations = {1, 1}, int64_t groups = 1);

// The gradient of conv2d with respect to its input: out_backprop [N,OH,OW,F], filter
// [KH,KW,C/groups,F] -> [N,H,W,C], the shape of `input_like` (only its shape is read;
// TensorFlow passes input_sizes instead). See conv2d_transpose for the transposed
// convolution with its own output-size rules.
Output conv2d_backprop_input(const Scope& scope, const Output& input_like, const Output& filter,
                             const Output& out_backprop, std::vector<int64_t> strides = {1, 1},
                             Pads padding = Padding::valid,
                             std::vector<int64_t> dilations = {1, 1}, int64_t groups = 1);

// The gradient of conv2d with respect to its filter: input [N,H,W,C], out_backprop
// [N,OH,OW,F] -> [KH,KW,C/groups,F], the shape of `filter_like` (only its shape is read).
Output conv2d_backprop_filter(const Scope& scope, const Output& input, const Output& filter_like,
                              const Output& out_backprop, std::vector<int64_t> strides = {1, 1},
                              Pads padding = Padding::valid,
                              std::vector<int64_t> dilations = {1, 1}, int64_t groups = 1);

// 1-D convolution (Keras' Conv1D, ONNX Conv on [N,C,W]), a composite of conv2d:
// input [N,W,C], filter [K,C/groups,F] -> [N,OW,F]. Only padding.left/right of an explicit
// Pads are used (top/bottom must be 0); Keras' "causal" padding is
// Pads::explicit_pads(0, 0, (K-1)*dilation, 0).
Output conv1d(const Scope& scope, const Output& input, const Output& filter, int64_t stride = 1,
              Pads padding = Padding::valid, int64_t dilation = 1, int64_t groups = 1);

// The transposed convolution (TF's conv2d_transpose = Conv2DBackpropInput, Keras'
// Conv2DTranspose, ONNX's ConvTranspose): the adjoint of conv2d(y, filter) for y of the
// output's shape. input [N,H,W,C_in], filter [KH,KW,C_out/groups,C_in] (TF's layout; ONNX's
// W [C_in, C_out/groups, KH, KW] is transposed to it by the importer) -> [N,OH,OW,C_out].
// Each input pixel (y, x) adds input[y, x] * filter[i, j] at output (y*SH - PT + i*DH,
// x*SW - PL + j*DW), dropping what falls outside.
// Output size per dimension (rows shown; columns likewise, index 1 of the pairs):
//   output_size {OH, OW} given (TF's output_shape, ONNX's output_shape): that size; the
//     pads come from `padding` as for a forward convolution of the output (same /
//     same_lower: total = max(SH*(H-1) + output_padding + (KH-1)*DH + 1 - OH, 0), split as
//     described at the top; explicit/valid: as given), and conv2d of the output must give H
//     rows back (InvalidArgument otherwise).
//   output_size empty: same / same_lower: OH = H * SH (ONNX), pads as above; explicit /
//     valid: OH = SH*(H-1) + output_padding + (KH-1)*DH + 1 - top - bottom.
// output_padding {0,0} by default; each entry must be smaller than the stride.
// ONNX ConvTranspose with output_shape derives its pads from output_shape: use
// Padding::same for auto_pad SAME_UPPER and Padding::same_lower otherwise (ONNX's rule).
// Gradients: to input (a conv2d) and filter (a conv2d_backprop_filter).
Output conv2d_transpose(const Scope& scope, const Output& input, const Output& filter,
                        std::vector<int64_t> strides = {1, 1}, Pads padding = Padding::valid,
                        std::vector<int64_t> output_size = {},
                        std::vector<int64_t> output_padding = {0, 0},
                        std::vector<int64_t> dilations = {1, 1}, int64_t groups = 1);

}  // namespace ops
}  // namespace sluice
