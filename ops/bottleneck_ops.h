// FusedBottleneckConv2D: MobileNetV2's inverted bottleneck (a 1x1 expansion, a depthwise
// convolution, a 1x1 projection, each with its bias and fused activation) as one op. The
// ONNX importer builds it (io/onnx/onnx_ops_nn.cc) where a model's three convolutions have
// constant weights and the intermediate values feed nothing else; the expanded tensor (6x
// the block's input in MobileNetV2) and the depthwise output then never go through memory
// whole (conv::forward_bottleneck), and the result has the bits of the three FusedConv2Ds.
// Internal: registered with the convolution ops, not in the umbrella header.
//
//   input [N,H,W,C], expand_filter [1,1,C,E], expand_bias [E],
//   depthwise_filter [KH,KW,1,E], depthwise_bias [E], project_filter [1,1,E,F],
//   project_bias [F] -> [N,OH,OW,F]
//   attrs: the depthwise stage's strides, padding, explicit_paddings, dilations, groups (= E);
//   expand_ / depthwise_ / project_ + activation, clip_min, clip_max, alpha (as FusedConv2D's).
#pragma once

#include "conv_ops.h"

namespace sluice {

class OpRegistry;
void register_bottleneck_ops(OpRegistry& r);

namespace ops {

struct BottleneckStage {
  Output filter, bias;
  FusedActivation activation;
};

Output fused_bottleneck_conv2d(const Scope& scope, const Output& input, const BottleneckStage& expand,
                               const BottleneckStage& depthwise, const BottleneckStage& project,
                               std::vector<int64_t> strides, Pads padding, std::vector<int64_t> dilations);

}  // namespace ops
}  // namespace sluice
