// Depthwise convolution ops: declaration, shape function, CPU kernel and gradient of each.
//
//   DepthwiseConv2dNative(x, w) -> y          FusedDepthwiseConv2dNative(x, w, b) -> y
//   DepthwiseConv2dNativeBackpropInput(x_like, w, dy) -> dx
//   DepthwiseConv2dNativeBackpropFilter(x, w_like, dy) -> dw
//
// The geometry is conv2d's with groups == C (conv_attrs.h, FilterLayout::depthwise); the
// kernels are in depthwise_kernels.h.
#include "depthwise_ops.h"

#include "conv_attrs.h"
#include "depthwise_kernels.h"
#include "kernel_util.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using conv::ConvGeometry;

ConvGeometry geometry_of(const Node& node, const Shape& input, const Shape& filter) {
  return conv_geometry(input, filter, read_conv_args(node), FilterLayout::depthwise);
}

// ---- shape functions ----

void depthwise_shape(ShapeContext& ctx) {
  const bool fused = ctx.num_inputs() == 3;
  if (fused) {
    require_float_inputs(ctx, {0, 1, 2});
    read_activation(ctx.node());
  } else {
    require_float_inputs(ctx, {0, 1});
  }
  const ConvGeometry g = geometry_of(ctx.node(), ctx.input_shape(0), ctx.input_shape(1));
  if (fused) {
    const Shape& b = ctx.input_shape(2);
    SLUICE_REQUIRE(
        !b.known_rank() || (b.rank() == 1 && (b.dim(0) < 0 || g.f < 0 || b.dim(0) == g.f)),
        InvalidArgument, "bias must be [C*M] = [", g.f, "] for input ",
        ctx.input_shape(0).to_string(), " and filter ", ctx.input_shape(1).to_string(), ", got ",
        b.to_string());
  }
  ctx.add_output(ctx.input_dtype(0), conv_output_shape(g));
}

void backprop_input_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {1, 2});
  const Shape &in = ctx.input_shape(0), &filter = ctx.input_shape(1), &dy = ctx.input_shape(2);
  const ConvGeometry g = geometry_of(ctx.node(), in, filter);
  check_out_backprop(g, dy, in, filter);
  const auto d = dims4(dy, "out_backprop", "[N,OH,OW,C*M]");
  ctx.add_output(ctx.input_dtype(1), Shape{g.n >= 0 ? g.n : d[0], g.h, g.w, g.c});
}

void backprop_filter_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 2});
  const Shape &in = ctx.input_shape(0), &filter = ctx.input_shape(1), &dy = ctx.input_shape(2);
  const ConvGeometry g = geometry_of(ctx.node(), in, filter);
  check_out_backprop(g, dy, in, filter);
  const auto f = dims4(filter, "filter", "[KH,KW,C,M]");
  ctx.add_output(ctx.input_dtype(0), Shape{g.kh, g.kw, g.c, f[3]});
}

// ---- kernels ----

ConvGeometry runtime_geometry(const KernelContext& ctx, const Shape& input, const Shape& filter) {
  const ConvGeometry g = geometry_of(ctx.node(), input, filter);
  SLUICE_REQUIRE(g.f >= 0 && g.c >= 0, Internal, "unknown sizes at run time");
  return g;
}

void depthwise_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& filter = ctx.input(1);
  const ConvGeometry g = runtime_geometry(ctx, x.shape(), filter.shape());
  const bool fused = ctx.num_inputs() == 3;
  const Tensor* bias = fused ? &ctx.input(2) : nullptr;
  SLUICE_REQUIRE(x.dtype() == filter.dtype() && (!bias || bias->dtype() == x.dtype()),
                 InvalidArgument, "input, filter (and bias) must share a dtype, got ", x.summary(),
                 ", ", filter.summary());
  SLUICE_REQUIRE(!bias || (bias->rank() == 1 && bias->dim(0) == g.f), InvalidArgument,
                 "bias must be [C*M] = [", g.f, "], got ", bias->summary());
  const conv::Epilogue act =
      fused ? epilogue_of(read_activation(ctx.node())) : conv::Epilogue();
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, conv_output_shape(g));
    if (y.num_elements() == 0) return;
    conv::depthwise_forward<T>(g, x.data<T>(), filter.data<T>(),
                               bias ? bias->data<T>() : nullptr, act, y.data<T>(), ctx.pool());
  });
}

void backprop_input_kernel(KernelContext& ctx) {
  const Tensor& filter = ctx.input(1);
  const Tensor& dy = ctx.input(2);
  const ConvGeometry g = runtime_geometry(ctx, ctx.input(0).shape(), filter.shape());
  SLUICE_REQUIRE(dy.shape() == conv_output_shape(g) && dy.dtype() == filter.dtype(),
                 InvalidArgument, "out_backprop ", dy.summary(),
                 " does not match the depthwise convolution of input ",
                 ctx.input(0).shape().to_string(), " and filter ", filter.summary(),
                 ", which gives ", conv_output_shape(g).to_string());
  dispatch<SLUICE_FLOAT_TYPES>(filter.dtype(), "DepthwiseConv2dNativeBackpropInput", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dx = ctx.allocate_output(0, Shape{g.n, g.h, g.w, g.c});
    if (dx.num_elements() == 0) return;
    if (dy.num_elements() == 0) {
      std::fill_n(dx.data<T>(), dx.num_elements(), T(0));
      return;
    }
    conv::depthwise_backprop_input<T>(g, filter.data<T>(), dy.data<T>(), dx.data<T>(), ctx.pool());
  });
}

void backprop_filter_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& dy = ctx.input(2);
  const ConvGeometry g = runtime_geometry(ctx, x.shape(), ctx.input(1).shape());
  SLUICE_REQUIRE(dy.shape() == conv_output_shape(g) && dy.dtype() == x.dtype(), InvalidArgument,
                 "out_backprop ", dy.summary(), " does not match the depthwise convolution of input ",
                 x.summary(), " and filter ", ctx.input(1).shape().to_string(), ", which gives ",
                 conv_output_shape(g).to_string());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "DepthwiseConv2dNativeBackpropFilter", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dw = ctx.allocate_output(0, ctx.input(1).shape());
    if (dw.num_elements() == 0) return;
    conv::depthwise_backprop_filter<T>(g, x.data<T>(), dy.data<T>(), dw.data<T>(), ctx.pool());
  });
}

// ---- gradients ----

Grads depthwise_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx dw(x, w) = dw_backprop_input(w, g); d/dw = dw_backprop_filter(x, g)
  const ConvArgs a = read_conv_args(*op.node());
  const Output x = op.input(0), w = op.input(1);
  return {ops::depthwise_conv2d_backprop_input(s, x, w, g[0], a.strides, a.pads, a.dilations),
          ops::depthwise_conv2d_backprop_filter(s, x, w, g[0], a.strides, a.pads, a.dilations)};
}

Grads fused_depthwise_grad(const Scope& s, const Operation& op, const Grads& g) {
  // z = dw(x, w) + b, y = act(z): dz = g * act'(z); dx, dw as above, db = sum of dz over N, H, W
  const ConvArgs a = read_conv_args(*op.node());
  const Output x = op.input(0), w = op.input(1);
  const Output dz = activation_grad(s, read_activation(*op.node()), g[0], op.output(0));
  return {ops::depthwise_conv2d_backprop_input(s, x, w, dz, a.strides, a.pads, a.dilations),
          ops::depthwise_conv2d_backprop_filter(s, x, w, dz, a.strides, a.pads, a.dilations),
          ops::sum(s, dz, {0, 1, 2})};
}

Grads backprop_input_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Linear in (w, dy): d/dw = dw_backprop_filter(g, dy); d/d(dy) = dw(g, w)
  const ConvArgs a = read_conv_args(*op.node());
  const Output w = op.input(1), dy = op.input(2);
  return {Output(),
          ops::depthwise_conv2d_backprop_filter(s, g[0], w, dy, a.strides, a.pads, a.dilations),
          ops::depthwise_conv2d(s, g[0], w, a.strides, a.pads, a.dilations)};
}

Grads backprop_filter_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Linear in (x, dy): d/dx = dw_backprop_input(g, dy); d/d(dy) = dw(x, g)
  const ConvArgs a = read_conv_args(*op.node());
  const Output x = op.input(0), dy = op.input(2);
  return {ops::depthwise_conv2d_backprop_input(s, x, g[0], dy, a.strides, a.pads, a.dilations),
          Output(), ops::depthwise_conv2d(s, x, g[0], a.strides, a.pads, a.dilations)};
}

NodeBuilder& depthwise_node(NodeBuilder& b, Ints strides, const Pads& padding, Ints dilations) {
  ConvArgs a;
  a.strides = std::move(strides), a.dilations = std::move(dilations), a.pads = padding;
  return set_conv_args(b, a, /*with_groups=*/false);
}

}  // namespace

void register_depthwise_ops(OpRegistry& r) {
  const Ints ones{1, 1};
  auto attrs = [&](OpDefBuilder b) {
    b.attr("strides", ones).attr("padding", "VALID").attr("explicit_paddings", Ints{}).attr(
        "dilations", ones);
    return b;
  };
  attrs(r.op("DepthwiseConv2dNative").input("input").input("filter").output("output"))
      .shape_fn(depthwise_shape)
      .kernel(depthwise_kernel)
      .gradient(depthwise_grad);
  attrs(r.op("FusedDepthwiseConv2dNative")
            .input("input")
            .input("filter")
            .input("bias")
            .output("output"))
      .attr("relu", false)
      .attr("activation", "none")
      .attr("clip_min", 0.0)
      .attr("clip_max", 0.0)
      .attr("alpha", 0.0)
      .shape_fn(depthwise_shape)
      .kernel(depthwise_kernel)
      .gradient(fused_depthwise_grad);
  attrs(r.op("DepthwiseConv2dNativeBackpropInput")
            .input("input_like")
            .input("filter")
            .input("out_backprop")
            .output("output"))
      .shape_fn(backprop_input_shape)
      .kernel(backprop_input_kernel)
      .gradient(backprop_input_grad);
  attrs(r.op("DepthwiseConv2dNativeBackpropFilter")
            .input("input")
            .input("filter_like")
            .input("out_backprop")
            .output("output"))
      .shape_fn(backprop_filter_shape)
      .kernel(backprop_filter_kernel)
      .gradient(backprop_filter_grad);
}

namespace ops {

Output depthwise_conv2d(const Scope& s, const Output& input, const Output& filter,
                        std::vector<int64_t> strides, Pads padding,
                        std::vector<int64_t> dilations) {
  NodeBuilder b(s, "DepthwiseConv2dNative");
  b.input(input).input(filter);
  return depthwise_node(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

Output fused_depthwise_conv2d(const Scope& s, const Output& input, const Output& filter,
                              const Output& bias, FusedActivation activation,
                              std::vector<int64_t> strides, Pads padding,
                              std::vector<int64_t> dilations) {
  NodeBuilder b(s, "FusedDepthwiseConv2dNative");
  b.input(input).input(filter).input(bias);
  set_activation(b, activation);
  return depthwise_node(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

Output depthwise_conv2d_backprop_input(const Scope& s, const Output& input_like,
                                       const Output& filter, const Output& out_backprop,
                                       std::vector<int64_t> strides, Pads padding,
                                       std::vector<int64_t> dilations) {
  NodeBuilder b(s, "DepthwiseConv2dNativeBackpropInput");
  b.input(input_like).input(filter).input(out_backprop);
  return depthwise_node(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

Output depthwise_conv2d_backprop_filter(const Scope& s, const Output& input,
                                        const Output& filter_like, const Output& out_backprop,
                                        std::vector<int64_t> strides, Pads padding,
                                        std::vector<int64_t> dilations) {
  NodeBuilder b(s, "DepthwiseConv2dNativeBackpropFilter");
  b.input(input).input(filter_like).input(out_backprop);
  return depthwise_node(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
