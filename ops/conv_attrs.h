// Internal helpers shared by the convolution, depthwise and pooling op families: reading
// and validating their attrs (strides, dilations, padding, explicit_paddings, groups, the
// fused activation), building their geometry from static or run-time shapes, and writing
// the same attrs onto the nodes their gradients build. Not part of the public API.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conv_lowering.h"
#include "conv_ops.h"
#include "registry.h"

namespace sluice::kernels {

using Ints = std::vector<int64_t>;

// The padding of a node: its "padding" attr and, for "EXPLICIT", its "explicit_paddings"
// ({top, bottom, left, right}, or TF's 8-entry NHWC form [0,0,top,bottom,left,right,0,0]).
// With a prefix (FusedConv2DMaxPool's pool: "pool_"), the attrs named prefix + "padding" and
// prefix + "explicit_paddings".
Pads read_pads(const Node& node, const std::string& prefix = "");
// The attrs a node stores for `pads` (padding name and explicit_paddings).
void set_pads(NodeBuilder& b, const Pads& pads, const std::string& prefix = "");

// The attrs of a convolution-like node. Validated the same way at build and run time
// (attrs of imported graphs never went through the builders).
struct ConvArgs {
  Ints strides{1, 1}, dilations{1, 1};
  Pads pads;
  int64_t groups = 1;
};
ConvArgs read_conv_args(const Node& node);  // "groups" defaults to 1 when the op has none
// Writes strides, padding, explicit_paddings, dilations (and groups when with_groups).
NodeBuilder& set_conv_args(NodeBuilder& b, const ConvArgs& a, bool with_groups = true);

// How the filter's dims map onto the geometry.
enum class FilterLayout {
  grouped,    // [KH, KW, C/groups, F]
  depthwise,  // [KH, KW, C, M]: groups = C, F = C*M
};
// The 4 dims of a rank-4 shape, -1 where unknown (an unknown rank gives four -1s).
std::array<int64_t, 4> dims4(const Shape& s, const char* what, const char* layout);
// The geometry of convolving `input` with `filter` (static shapes may hold -1; the output
// dims that depend on them are -1 too). Every message names both shapes.
conv::ConvGeometry conv_geometry(const Shape& input, const Shape& filter, const ConvArgs& a,
                                 FilterLayout layout);
// The geometry's output shape [N,OH,OW,F].
Shape conv_output_shape(const conv::ConvGeometry& g);
// Requires dy to have the convolution's output shape (where known).
void check_out_backprop(const conv::ConvGeometry& g, const Shape& dy, const Shape& input,
                        const Shape& filter);

// The fused activation of a FusedConv2D / FusedDepthwiseConv2dNative node: "activation"
// (none, relu, relu6, clip, leaky_relu) with clip_min, clip_max, alpha, and the older bool
// "relu" (true means activation relu). With a prefix (a FusedBottleneckConv2D's stages:
// "expand_", ...), the attrs named prefix + "activation" and so on, without the bool.
FusedActivation read_activation(const Node& node, const std::string& prefix = "");
void set_activation(NodeBuilder& b, const FusedActivation& act, const std::string& prefix = "");
conv::Epilogue epilogue_of(const FusedActivation& act);
// The gradient at the activation's input, given its output y and the gradient g at y
// (y = act(z): dz = g * act'(z), read from y).
Output activation_grad(const Scope& s, const FusedActivation& act, const Output& g, const Output& y);

// Input `fi` of the node being run, a convolution filter of geometry g, as its [patch, F]
// view packed for the GEMM kernel (what conv::forward_prepacked takes), once per weights
// (gemm::packed_weights).
template <class T>
std::shared_ptr<const gemm::PackedMatrix<T>> packed_filter(const KernelContext& ctx, int fi, const conv::ConvGeometry& g);
// A convolution's forward as the Conv2D / FusedConv2D kernels run it: the GEMM paths on the
// filter packed once, Winograd on the filter transformed once (both cached for input `fi` of
// the node when it is a Const or variable), every other path through conv::forward. The
// path depends on the geometry alone. bias may be null.
template <class T>
void conv_forward(const KernelContext& ctx, int fi, const conv::ConvGeometry& g, const T* x, const T* bias,
                  const conv::Epilogue& act, T* y);

// A bias of `n` values (static shapes may hold -1): InvalidArgument naming `what` otherwise.
void check_bias(const Shape& b, int64_t n, const char* what);
// The explicit pads that give g's output size (bottom and right from the rows and columns the
// outputs read; negative where g crops the image).
Pads explicit_pads_of(const conv::ConvGeometry& g);
// Every input of the node being run of input 0's dtype: InvalidArgument naming the first
// that is not.
void require_inputs_dtype_of_first(const KernelContext& ctx);

// Input i (and all of `inputs`) float32/float64 and of one dtype.
void require_float_inputs(const ShapeContext& ctx, std::initializer_list<int> inputs);

}  // namespace sluice::kernels
