// FusedConcatConv2D: several convolutions of one input, concatenated along the channels
// (SqueezeNet's fire module: a 1x1 and a 3x3 expansion of the squeeze output). Each branch
// writes its FusedConv2D result straight into its channel slice of the output, so the
// branch results are never stored on their own and no Concat copies them; the values have
// the bits of the FusedConv2Ds and the Concat. The ONNX importer builds it
// (io/onnx/onnx_ops_nn.cc) where a channel Concat reads only such convolutions with
// constant weights. Internal: registered with the convolution ops, not in the umbrella
// header.
//
//   input [N,H,W,C], then per branch i: filter_i [KH_i,KW_i,C,F_i], bias_i [F_i]
//     -> [N,OH,OW,F_0 + F_1 + ...]
//   attrs: branch_paddings (top, bottom, left, right of each branch, in order), and the one
//   activation every branch applies (activation, clip_min, clip_max, alpha, as FusedConv2D's).
//   Stride 1, undilated, one group; every branch must give the same OH x OW.
#pragma once

#include <vector>

#include "conv_ops.h"

namespace sluice {

class OpRegistry;
void register_concat_conv_ops(OpRegistry& r);

namespace ops {

struct ConcatConvBranch {
  Output filter, bias;
  Pads padding;  // explicit or VALID
};

Output fused_concat_conv2d(const Scope& scope, const Output& input, const std::vector<ConcatConvBranch>& branches,
                           FusedActivation activation);

}  // namespace ops
}  // namespace sluice
