// Depthwise convolution ops (TensorFlow's DepthwiseConv2dNative and its two backprop ops),
// NHWC, with the padding, stride and dilation rules of ops/conv_ops.h:
//
//   input [N,H,W,C]    filter [KH,KW,C,M]    output [N,OH,OW,C*M]
//   output[n, y, x, c*M + m] = sum_{i, j} input[n, y*SH - PT + i*DH, x*SW - PL + j*DW, c]
//                                         * filter[i, j, c, m]
//
// It is conv2d with groups == C (same filter memory layout, seen as [KH,KW,1,C*M]): the
// ONNX importer maps Conv with group == C here or to conv2d, the kernels are the same.
// The kernels (ops/depthwise_kernels.h): a register-blocked one for 3x3 filters at stride 1
// or 2 with M == 1 (MobileNet's and the keyword-spotting CNNs' layers), and a general one,
// both vectorized over channels; bias and activation are applied in registers before the
// store. Rows are split across the session's thread pool in blocks that depend only on the
// sizes, so results do not depend on the number of threads.
#pragma once

#include <cstdint>
#include <vector>

#include "conv_ops.h"

namespace sluice::ops {

// input [N,H,W,C], filter [KH,KW,C,M] -> [N,OH,OW,C*M] (float32/float64).
Output depthwise_conv2d(const Scope& scope, const Output& input, const Output& filter,
                        std::vector<int64_t> strides = {1, 1}, Pads padding = Padding::valid,
                        std::vector<int64_t> dilations = {1, 1});

// depthwise_conv2d(input, filter) + bias [C*M], then `activation` (relu, relu6, clip,
// leaky relu), in one pass: the activation is applied in registers (bench/bench_nn.cc
// measures the fused kernel against depthwise_conv2d + bias_add + relu6).
Output fused_depthwise_conv2d(const Scope& scope, const Output& input, const Output& filter,
                              const Output& bias, FusedActivation activation = FusedActivation(),
                              std::vector<int64_t> strides = {1, 1},
                              Pads padding = Padding::valid,
                              std::vector<int64_t> dilations = {1, 1});

// The gradient of depthwise_conv2d with respect to its input: out_backprop
// [N,OH,OW,C*M], filter [KH,KW,C,M] -> [N,H,W,C], the shape of `input_like` (only its
// shape is read; TensorFlow passes input_sizes).
Output depthwise_conv2d_backprop_input(const Scope& scope, const Output& input_like,
                                       const Output& filter, const Output& out_backprop,
                                       std::vector<int64_t> strides = {1, 1},
                                       Pads padding = Padding::valid,
                                       std::vector<int64_t> dilations = {1, 1});

// The gradient with respect to the filter: input [N,H,W,C], out_backprop [N,OH,OW,C*M]
// -> [KH,KW,C,M], the shape of `filter_like` (only its shape is read).
Output depthwise_conv2d_backprop_filter(const Scope& scope, const Output& input,
                                        const Output& filter_like, const Output& out_backprop,
                                        std::vector<int64_t> strides = {1, 1},
                                        Pads padding = Padding::valid,
                                        std::vector<int64_t> dilations = {1, 1});

}  // namespace sluice::ops
