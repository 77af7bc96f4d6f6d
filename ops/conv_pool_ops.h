// FusedConv2DMaxPool: a FusedConv2D (bias and activation) and the MaxPool of its output in
// one op (the ImageNet stems of ResNet and SqueezeNet: Conv, Relu, MaxPool). The
// convolution runs in bands of output rows and each band is pooled while it is in cache, so
// its output (25 MB for resnet18 at batch 8) is never written to memory and read back; the
// values have the bits of the FusedConv2D and the MaxPool. The ONNX importer builds it
// (io/onnx/onnx_ops_nn.cc) where a MaxPool reads a FusedConv2D that nothing else reads.
// Internal: registered with the convolution ops, not in the umbrella header.
//
//   input [N,H,W,C], filter [KH,KW,C,F], bias [F] -> [N,POH,POW,F]
//   attrs: the convolution's (strides, padding, explicit_paddings, dilations; one group),
//   its activation (FusedConv2D's), and the pool's, named pool_ + MaxPool's (pool_ksize,
//   pool_strides, pool_padding, pool_explicit_paddings, pool_dilations, pool_ceil_mode).
// Gradients flow to input, filter and bias, as through the two ops.
#pragma once

#include <vector>

#include "conv_ops.h"

namespace sluice {

class OpRegistry;
void register_conv_pool_ops(OpRegistry& r);

namespace ops {

// The convolution's and the pool's attrs as conv2d's and max_pool's.
struct PoolWindow {
  std::vector<int64_t> ksize{2, 2}, strides{2, 2};
  Pads padding = Padding::valid;
  std::vector<int64_t> dilations{1, 1};
  bool ceil_mode = false;
};

Output fused_conv2d_max_pool(const Scope& scope, const Output& input, const Output& filter, const Output& bias,
                             FusedActivation activation, std::vector<int64_t> strides, Pads padding,
                             std::vector<int64_t> dilations, const PoolWindow& pool);

}  // namespace ops
}  // namespace sluice
