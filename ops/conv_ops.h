// Convolution ops, NHWC images and HWIO filters, with TensorFlow's semantics:
//
//   input  [N, H, W, C]    filter [KH, KW, C, F]    output [N, OH, OW, F]
//   output[n, y, x, f] = sum_{i, j, c} input[n, y*SH - PT + i*DH, x*SW - PL + j*DW, c]
//                                      * filter[i, j, c, f]     (zero outside the image)
//
// Padding::valid: no padding, OH = ceil((H - (KH-1)*DH) / SH), which must be > 0.
// Padding::same:  OH = ceil(H / SH); the total padding max((OH-1)*SH + (KH-1)*DH + 1 - H, 0)
//                 is split with the smaller half on top (PT = total / 2), the extra row at
//                 the bottom; likewise for columns.
//
// The kernels (ops/conv_lowering.h) lower convolutions to GEMMs (ops/gemm.h) over blocks of
// output pixels: im2col in general (a plain view for 1x1 stride-1 filters), Winograd
// F(2x2, 3x3) for 3x3 stride-1 filters with >= 16 channels in and out, and a direct
// register-blocked loop for inputs with <= 4 channels. Blocks are split across the
// session's thread pool; they depend only on the sizes, so results do not depend on the
// number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../graph/scope.h"

namespace sluice {

enum class Padding { same, valid };

// "SAME" / "VALID" (the attr value the ops store), and back (InvalidArgument otherwise).
const char* padding_name(Padding padding);
Padding padding_from_name(const std::string& name);

// Size and leading padding of one spatial dimension of a convolution or pooling window
// under TensorFlow's rules (see above). `in` may be -1 (unknown): then out is -1 too.
struct WindowDim {
  int64_t out = 0;         // output size
  int64_t pad_before = 0;  // padding on top / on the left
};
// Throws InvalidArgument when size, stride or dilation is not positive, or the VALID
// output would be empty; `what` names the dimension in the message ("rows", "cols").
WindowDim window_dim(int64_t in, int64_t size, int64_t stride, int64_t dilation, Padding padding,
                     const char* what = "dim");

namespace ops {

// input [N,H,W,C], filter [KH,KW,C,F] -> [N,OH,OW,F] (float32/float64).
// strides {SH,SW} and dilations {DH,DW} must have two positive entries each. Strides and
// dilations > 1 may be combined (the formula above; Keras' Conv2D layer refuses that).
Output conv2d(const Scope& scope, const Output& input, const Output& filter,
              std::vector<int64_t> strides = {1, 1}, Padding padding = Padding::valid,
              std::vector<int64_t> dilations = {1, 1});

// conv2d(input, filter) + bias [F], then relu when `relu`, in one kernel: the bias and
// activation are applied while each block of the output is still in cache.
Output fused_conv2d(const Scope& scope, const Output& input, const Output& filter,
                    const Output& bias, std::vector<int64_t> strides = {1, 1},
                    Padding padding = Padding::valid, std::vector<int64_t> dilations = {1, 1},
                    bool relu = false);

// The gradient of conv2d with respect to its input: out_backprop [N,OH,OW,F], filter
// [KH,KW,C,F] -> [N,H,W,C], the shape of `input_like` (only its shape is read; TensorFlow
// passes input_sizes instead). Also the transposed convolution.
Output conv2d_backprop_input(const Scope& scope, const Output& input_like, const Output& filter,
                             const Output& out_backprop, std::vector<int64_t> strides = {1, 1},
                             Padding padding = Padding::valid,
                             std::vector<int64_t> dilations = {1, 1});

// The gradient of conv2d with respect to its filter: input [N,H,W,C], out_backprop
// [N,OH,OW,F] -> [KH,KW,C,F], the shape of `filter_like` (only its shape is read).
Output conv2d_backprop_filter(const Scope& scope, const Output& input, const Output& filter_like,
                              const Output& out_backprop, std::vector<int64_t> strides = {1, 1},
                              Padding padding = Padding::valid,
                              std::vector<int64_t> dilations = {1, 1});

}  // namespace ops
}  // namespace sluice
