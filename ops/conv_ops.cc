// Convolution ops: declaration, shape function, CPU kernel and gradient of each.
//
// Conv2D, FusedConv2D (+ bias, + activation), Conv2DBackpropInput, Conv2DBackpropFilter
// (all with explicit padding and groups) and Conv2DTranspose; conv1d is a composite. The
// lowering to GEMMs lives in conv_lowering.h/.cc (depthwise_kernels.h when groups equal the
// channels); attr reading and geometry in conv_attrs.h; this file validates shapes, picks
// the kernel and builds the gradient graphs.
#include "conv_ops.h"

#include <cstdlib>

#include "array_ops.h"
#include "bottleneck_ops.h"
#include "concat_conv_ops.h"
#include "conv_pool_ops.h"
#include "conv_attrs.h"
#include "conv_lowering.h"
#include "gemm_prepacked.h"
#include "kernel_util.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using conv::ConvGeometry;

ConvGeometry geometry_of(const Node& node, const Shape& input, const Shape& filter) {
  return conv_geometry(input, filter, read_conv_args(node), FilterLayout::grouped);
}

// ---- shape functions ----

void conv2d_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1});
  const ConvGeometry g = geometry_of(ctx.node(), ctx.input_shape(0), ctx.input_shape(1));
  ctx.add_output(ctx.input_dtype(0), conv_output_shape(g));
}

void fused_conv2d_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1, 2});
  read_activation(ctx.node());
  const ConvGeometry g = geometry_of(ctx.node(), ctx.input_shape(0), ctx.input_shape(1));
  const Shape& b = ctx.input_shape(2);
  SLUICE_REQUIRE(!b.known_rank() || (b.rank() == 1 && (b.dim(0) < 0 || g.f < 0 || b.dim(0) == g.f)),
                 InvalidArgument, "bias must be [F] = [", g.f, "] for filter ",
                 ctx.input_shape(1).to_string(), ", got ", b.to_string());
  ctx.add_output(ctx.input_dtype(0), conv_output_shape(g));
}

// Conv2DBackpropInput(input_like, filter, out_backprop) -> input_like's shape.
void backprop_input_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {1, 2});
  const Shape &in = ctx.input_shape(0), &filter = ctx.input_shape(1), &dy = ctx.input_shape(2);
  const ConvGeometry g = geometry_of(ctx.node(), in, filter);
  check_out_backprop(g, dy, in, filter);
  const auto d = dims4(dy, "out_backprop", "[N,OH,OW,F]");
  ctx.add_output(ctx.input_dtype(1), Shape{g.n >= 0 ? g.n : d[0], g.h, g.w, g.c});
}

// Conv2DBackpropFilter(input, filter_like, out_backprop) -> filter_like's shape.
void backprop_filter_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 2});
  const Shape &in = ctx.input_shape(0), &filter = ctx.input_shape(1), &dy = ctx.input_shape(2);
  const ConvGeometry g = geometry_of(ctx.node(), in, filter);
  check_out_backprop(g, dy, in, filter);
  const auto d = dims4(dy, "out_backprop", "[N,OH,OW,F]");
  ctx.add_output(ctx.input_dtype(0), Shape{g.kh, g.kw, g.c >= 0 ? g.cg() : -1,
                                           g.f >= 0 ? g.f : d[3]});
}

// ---- kernels ----

// Geometry from the run-time shapes, with the build-time checks repeated (placeholders
// with unknown dims only now have sizes).
ConvGeometry runtime_geometry(const KernelContext& ctx, const Shape& input, const Shape& filter) {
  const ConvGeometry g = geometry_of(ctx.node(), input, filter);
  SLUICE_REQUIRE(g.f >= 0, Internal, "unknown filter size at run time");
  return g;
}

void conv2d_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& filter = ctx.input(1);
  const ConvGeometry g = runtime_geometry(ctx, x.shape(), filter.shape());
  const bool fused = ctx.num_inputs() == 3;
  const Tensor* bias = fused ? &ctx.input(2) : nullptr;
  SLUICE_REQUIRE(x.dtype() == filter.dtype() && (!bias || bias->dtype() == x.dtype()),
                 InvalidArgument, "input, filter (and bias) must share a dtype, got ", x.summary(),
                 ", ", filter.summary());
  SLUICE_REQUIRE(!bias || (bias->rank() == 1 && bias->dim(0) == g.f), InvalidArgument,
                 "bias must be [F] = [", g.f, "], got ", bias->summary());
  const conv::Epilogue act =
      fused ? epilogue_of(read_activation(ctx.node())) : conv::Epilogue();
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, conv_output_shape(g));
    conv_forward<T>(ctx, 1, g, x.data<T>(), bias ? bias->data<T>() : nullptr, act, y.data<T>());
  });
}

void backprop_input_kernel(KernelContext& ctx) {
  const Tensor& filter = ctx.input(1);
  const Tensor& dy = ctx.input(2);
  const ConvGeometry g = runtime_geometry(ctx, ctx.input(0).shape(), filter.shape());
  SLUICE_REQUIRE(dy.shape() == conv_output_shape(g) && dy.dtype() == filter.dtype(),
                 InvalidArgument, "out_backprop ", dy.summary(),
                 " does not match the convolution of input ", ctx.input(0).shape().to_string(),
                 " and filter ", filter.summary(), ", which gives ",
                 conv_output_shape(g).to_string());
  dispatch<SLUICE_FLOAT_TYPES>(filter.dtype(), "Conv2DBackpropInput", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dx = ctx.allocate_output(0, Shape{g.n, g.h, g.w, g.c});
    conv::backprop_input<T>(g, filter.data<T>(), dy.data<T>(), dx.data<T>(), ctx.pool());
  });
}

void backprop_filter_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& dy = ctx.input(2);
  const ConvGeometry g = runtime_geometry(ctx, x.shape(), ctx.input(1).shape());
  SLUICE_REQUIRE(dy.shape() == conv_output_shape(g) && dy.dtype() == x.dtype(), InvalidArgument,
                 "out_backprop ", dy.summary(), " does not match the convolution of input ",
                 x.summary(), " and filter ", ctx.input(1).shape().to_string(), ", which gives ",
                 conv_output_shape(g).to_string());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "Conv2DBackpropFilter", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dw = ctx.allocate_output(0, Shape{g.kh, g.kw, g.cg(), g.f});
    conv::backprop_filter<T>(g, x.data<T>(), dy.data<T>(), dw.data<T>(), ctx.pool());
  });
}

// ---- Conv2DTranspose ----

// The transposed convolution of input [N,H,W,C_in] is the input gradient of the forward
// convolution of an [N,OH,OW,C_out] image: this is that forward convolution's geometry
// (h, w = OH, OW; oh, ow = H, W; f = C_in; c = C_out), built from the transpose's attrs.
ConvGeometry transpose_geometry(const Node& node, const Shape& input, const Shape& filter) {
  const ConvArgs a = read_conv_args(node);
  const Ints& out_size = node.attr<Ints>("output_size");
  const Ints& out_pad = node.attr<Ints>("output_padding");
  const auto in = dims4(input, "input", "[N,H,W,C_in]");
  const auto fl = dims4(filter, "filter", "[KH,KW,C_out/groups,C_in]");
  const auto shapes = [&] { return "input " + input.to_string() + ", filter " + filter.to_string(); };  // errors only
  SLUICE_REQUIRE(out_size.empty() || out_size.size() == 2, InvalidArgument,
                 "output_size must be empty or {OH,OW}, got ", ints_to_string(out_size));
  SLUICE_REQUIRE(out_pad.size() == 2, InvalidArgument, "output_padding must have 2 entries, got ",
                 ints_to_string(out_pad));
  SLUICE_REQUIRE(in[3] < 0 || fl[3] < 0 || in[3] == fl[3], InvalidArgument,
                 "input depth must equal the filter's in_channels (dim 3): ", shapes());
  SLUICE_REQUIRE(fl[3] < 0 || fl[3] % a.groups == 0, InvalidArgument, "groups (", a.groups,
                 ") must divide the input channels: ", shapes());
  for (int i = 0; i < 2; ++i)
    SLUICE_REQUIRE(fl[i] != 0, InvalidArgument, "filter height and width must be positive: ",
                   shapes());
  ConvGeometry g;
  g.n = in[0], g.oh = in[1], g.ow = in[2], g.f = in[3] >= 0 ? in[3] : fl[3];
  g.kh = fl[0], g.kw = fl[1], g.c = fl[2] >= 0 ? fl[2] * a.groups : -1, g.groups = a.groups;
  g.sh = a.strides[0], g.sw = a.strides[1], g.dh = a.dilations[0], g.dw = a.dilations[1];
  const int64_t sizes[2] = {g.oh, g.ow}, k[2] = {g.kh, g.kw}, s[2] = {g.sh, g.sw},
                d[2] = {g.dh, g.dw};
  const int64_t before[2] = {a.pads.top, a.pads.left}, after[2] = {a.pads.bottom, a.pads.right};
  for (int64_t p : {a.pads.top, a.pads.bottom, a.pads.left, a.pads.right})
    SLUICE_REQUIRE(std::abs(p) <= (int64_t{1} << 40), InvalidArgument, "explicit pad ", p,
                   " is out of range; ", shapes());
  int64_t out[2], pad[2];
  for (int i = 0; i < 2; ++i) {
    const char* what = i == 0 ? "rows" : "cols";
    SLUICE_REQUIRE(out_pad[i] >= 0 && out_pad[i] < s[i], InvalidArgument, what,
                   ": output_padding ", out_pad[i], " must be in [0, stride ", s[i], "); ", shapes());
    if (sizes[i] < 0 || k[i] < 0) {
      out[i] = out_size.empty() ? -1 : out_size[i], pad[i] = 0;
      continue;
    }
    const int64_t eff = checked_mul(k[i] - 1, d[i], "dilated window size") + 1;
    const Padding mode = a.pads.mode;
    const bool same = mode == Padding::same || mode == Padding::same_lower;
    if (!out_size.empty()) {
      out[i] = out_size[i];
      SLUICE_REQUIRE(out[i] > 0 && out[i] <= (int64_t{1} << 40), InvalidArgument, what,
                     ": output_size ", out[i], " is out of range; ", shapes());
    } else if (same) {
      out[i] = checked_mul(sizes[i], s[i], "output size");
    } else {
      const int64_t b = mode == Padding::valid ? 0 : before[i], e = mode == Padding::valid ? 0 : after[i];
      out[i] = checked_mul(s[i], sizes[i] - 1, "output size") + out_pad[i] + eff - b - e;
    }
    SLUICE_REQUIRE(out[i] > 0, InvalidArgument, what, ": the output size ", out[i],
                   " must be positive; ", shapes());
    int64_t pb = 0, pe = 0;
    if (same) {
      const int64_t total = std::max<int64_t>(
          checked_mul(s[i], sizes[i] - 1, "output size") + out_pad[i] + eff - out[i], 0);
      pb = mode == Padding::same ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (mode == Padding::explicit_pads) {
      pb = before[i], pe = after[i];
    }
    // conv2d of the output must give the input's size back.
    const int64_t back = out[i] + pb + pe >= eff ? (out[i] + pb + pe - eff) / s[i] + 1 : 0;
    SLUICE_REQUIRE(back == sizes[i], InvalidArgument, what, ": an output of size ", out[i],
                   " (pads ", pb, ", ", pe, ") convolves back to size ", back,
                   ", not the input's ", sizes[i], "; ", shapes());
    pad[i] = pb;
  }
  g.h = out[0], g.w = out[1], g.pad_top = pad[0], g.pad_left = pad[1];
  return g;
}

void conv2d_transpose_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1});
  const ConvGeometry g = transpose_geometry(ctx.node(), ctx.input_shape(0), ctx.input_shape(1));
  ctx.add_output(ctx.input_dtype(0), Shape{g.n, g.h, g.w, g.c});
}

void conv2d_transpose_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& filter = ctx.input(1);
  const ConvGeometry g = transpose_geometry(ctx.node(), x.shape(), filter.shape());
  SLUICE_REQUIRE(x.dtype() == filter.dtype(), InvalidArgument,
                 "input and filter must share a dtype, got ", x.summary(), ", ", filter.summary());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "Conv2DTranspose", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, Shape{g.n, g.h, g.w, g.c});
    conv::backprop_input<T>(g, filter.data<T>(), x.data<T>(), y.data<T>(), ctx.pool());
  });
}

// ---- gradients ----

Grads conv2d_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx conv(x, w) = conv_backprop_input(w, g); d/dw = conv_backprop_filter(x, g)
  const ConvArgs a = read_conv_args(*op.node());
  const Output x = op.input(0), w = op.input(1);
  return {ops::conv2d_backprop_input(s, x, w, g[0], a.strides, a.pads, a.dilations, a.groups),
          ops::conv2d_backprop_filter(s, x, w, g[0], a.strides, a.pads, a.dilations, a.groups)};
}

Grads fused_conv2d_grad(const Scope& s, const Operation& op, const Grads& g) {
  // z = conv(x, w) + b, y = act(z): dz = g * act'(z); dx, dw as conv2d, db = sum of dz over N, H, W
  const ConvArgs a = read_conv_args(*op.node());
  const Output x = op.input(0), w = op.input(1);
  const Output dz = activation_grad(s, read_activation(*op.node()), g[0], op.output(0));
  return {ops::conv2d_backprop_input(s, x, w, dz, a.strides, a.pads, a.dilations, a.groups),
          ops::conv2d_backprop_filter(s, x, w, dz, a.strides, a.pads, a.dilations, a.groups),
          ops::sum_to_like(s, dz, op.input(2))};  // any rank of dz, as bias_add's gradient
}

Grads backprop_input_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Linear in (w, dy): d/dw = conv_backprop_filter(g, dy); d/d(dy) = conv(g, w)
  const ConvArgs a = read_conv_args(*op.node());
  const Output w = op.input(1), dy = op.input(2);
  return {Output(),
          ops::conv2d_backprop_filter(s, g[0], w, dy, a.strides, a.pads, a.dilations, a.groups),
          ops::conv2d(s, g[0], w, a.strides, a.pads, a.dilations, a.groups)};
}

Grads backprop_filter_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Linear in (x, dy): d/dx = conv_backprop_input(g, dy); d/d(dy) = conv(x, g)
  const ConvArgs a = read_conv_args(*op.node());
  const Output x = op.input(0), dy = op.input(2);
  return {ops::conv2d_backprop_input(s, x, g[0], dy, a.strides, a.pads, a.dilations, a.groups),
          Output(), ops::conv2d(s, x, g[0], a.strides, a.pads, a.dilations, a.groups)};
}

Grads conv2d_transpose_grad(const Scope& s, const Operation& op, const Grads& g) {
  // y = conv_backprop_input(w, x) is linear in x and w: d/dx = conv(g, w), d/dw =
  // conv_backprop_filter(g, x), with the forward convolution that maps y's shape onto x's
  const ConvArgs a = read_conv_args(*op.node());
  const ConvGeometry geo =
      transpose_geometry(*op.node(), op.input(0).shape(), op.input(1).shape());
  SLUICE_REQUIRE(geo.h >= 0 && geo.w >= 0 && geo.oh >= 0 && geo.ow >= 0 && geo.kh >= 0 &&
                     geo.kw >= 0,
                 InvalidArgument, "the gradient of Conv2DTranspose '", op.name(),
                 "' needs known spatial sizes, got input ", op.input(0).shape().to_string());
  // The explicit pads with which conv2d maps the transpose's output back onto its input (the
  // bottom/right pad may be negative: the last rows are then cropped).
  const Pads fwd = explicit_pads_of(geo);
  const Output x = op.input(0), w = op.input(1);
  return {ops::conv2d(s, g[0], w, a.strides, fwd, a.dilations, a.groups),
          ops::conv2d_backprop_filter(s, g[0], w, x, a.strides, fwd, a.dilations, a.groups)};
}

NodeBuilder& conv_node(NodeBuilder& b, Ints strides, const Pads& padding, Ints dilations,
                       int64_t groups) {
  ConvArgs a;
  a.strides = std::move(strides), a.dilations = std::move(dilations), a.pads = padding;
  a.groups = groups;
  return set_conv_args(b, a);
}

}  // namespace

namespace kernels {

template <class T>
std::shared_ptr<const gemm::PackedMatrix<T>> packed_filter(const KernelContext& ctx, int fi, const ConvGeometry& g) {
  return gemm::packed_weights<T>(ctx.node(), fi, ctx.input(fi).reshaped(Shape{g.patch(), g.f}), false, g.patch(), g.f);
}

template <class T>
void conv_forward(const KernelContext& ctx, int fi, const ConvGeometry& g, const T* x, const T* bias,
                  const conv::Epilogue& act, T* y) {
  const Tensor& filter = ctx.input(fi);
  // The GEMM paths run Sluice's packed kernel (ops/gemm_prepacked.h).
  if (conv::prepacked_applies(g)) {
    conv::forward_prepacked<T>(g, x, filter.data<T>(), *packed_filter<T>(ctx, fi, g), bias, act, y, ctx.pool());
    return;
  }
  if (conv::winograd_chosen(g)) {
    // The filter in Winograd's domain (16 C F values, 16/9 of the filter's size).
    const int64_t bytes = 16 * g.c * g.f * static_cast<int64_t>(sizeof(T));
    const auto u = std::static_pointer_cast<const conv::WinogradFilter<T>>(gemm::cached_weights(
        ctx.node(), fi, filter, gemm::kWinogradFilterKind, g.c, g.f, bytes,
        [&]() -> std::shared_ptr<const void> { return conv::winograd_filter<T>(g, filter.data<T>(), &ctx.pool()); }));
    conv::forward_winograd_prepacked<T>(g, x, *u, bias, act, y, ctx.pool());
    return;
  }
  conv::forward<T>(g, x, filter.data<T>(), bias, act, y, ctx.pool());
}

#define SLUICE_INSTANTIATE(T)                                                                                    \
  template std::shared_ptr<const gemm::PackedMatrix<T>> packed_filter<T>(const KernelContext&, int,              \
                                                                         const ConvGeometry&);                   \
  template void conv_forward<T>(const KernelContext&, int, const ConvGeometry&, const T*, const T*,              \
                                const conv::Epilogue&, T*);
SLUICE_INSTANTIATE(float)
SLUICE_INSTANTIATE(double)
#undef SLUICE_INSTANTIATE

}  // namespace kernels

void register_conv_ops(OpRegistry& r) {
  const Ints ones{1, 1};
  auto conv_attrs = [&](OpDefBuilder b) {
    b.attr("strides", ones)
        .attr("padding", "VALID")
        .attr("explicit_paddings", Ints{})
        .attr("dilations", ones)
        .attr("groups", 1);
    return b;
  };
  conv_attrs(r.op("Conv2D").input("input").input("filter").output("output"))
      .shape_fn(conv2d_shape)
      .kernel(conv2d_kernel)
      .gradient(conv2d_grad);
  conv_attrs(r.op("FusedConv2D").input("input").input("filter").input("bias").output("output"))
      .attr("relu", false)
      .attr("activation", "none")
      .attr("clip_min", 0.0)
      .attr("clip_max", 0.0)
      .attr("alpha", 0.0)
      .shape_fn(fused_conv2d_shape)
      .kernel(conv2d_kernel)
      .gradient(fused_conv2d_grad);
  conv_attrs(r.op("Conv2DBackpropInput")
                 .input("input_like")
                 .input("filter")
                 .input("out_backprop")
                 .output("output"))
      .shape_fn(backprop_input_shape)
      .kernel(backprop_input_kernel)
      .gradient(backprop_input_grad);
  conv_attrs(r.op("Conv2DBackpropFilter")
                 .input("input")
                 .input("filter_like")
                 .input("out_backprop")
                 .output("output"))
      .shape_fn(backprop_filter_shape)
      .kernel(backprop_filter_kernel)
      .gradient(backprop_filter_grad);
  conv_attrs(r.op("Conv2DTranspose").input("input").input("filter").output("output"))
      .attr("output_size", Ints{})
      .attr("output_padding", Ints{0, 0})
      .shape_fn(conv2d_transpose_shape)
      .kernel(conv2d_transpose_kernel)
      .gradient(conv2d_transpose_grad);
  register_bottleneck_ops(r);
  register_concat_conv_ops(r);
  register_conv_pool_ops(r);
}

namespace ops {

Output conv2d(const Scope& s, const Output& input, const Output& filter,
              std::vector<int64_t> strides, Pads padding, std::vector<int64_t> dilations,
              int64_t groups) {
  NodeBuilder b(s, "Conv2D");
  b.input(input).input(filter);
  return conv_node(b, std::move(strides), padding, std::move(dilations), groups)
      .finish()
      .output(0);
}

Output fused_conv2d(const Scope& s, const Output& input, const Output& filter, const Output& bias,
                    std::vector<int64_t> strides, Pads padding, std::vector<int64_t> dilations,
                    bool relu) {
  return fused_conv2d(s, input, filter, bias,
                      relu ? FusedActivation::relu : FusedActivation::none, std::move(strides),
                      padding, std::move(dilations), 1);
}

Output fused_conv2d(const Scope& s, const Output& input, const Output& filter, const Output& bias,
                    FusedActivation activation, std::vector<int64_t> strides, Pads padding,
                    std::vector<int64_t> dilations, int64_t groups) {
  NodeBuilder b(s, "FusedConv2D");
  b.input(input).input(filter).input(bias);
  set_activation(b, activation);
  return conv_node(b, std::move(strides), padding, std::move(dilations), groups)
      .finish()
      .output(0);
}

Output conv2d_backprop_input(const Scope& s, const Output& input_like, const Output& filter,
                             const Output& out_backprop, std::vector<int64_t> strides,
                             Pads padding, std::vector<int64_t> dilations, int64_t groups) {
  NodeBuilder b(s, "Conv2DBackpropInput");
  b.input(input_like).input(filter).input(out_backprop);
  return conv_node(b, std::move(strides), padding, std::move(dilations), groups)
      .finish()
      .output(0);
}

Output conv2d_backprop_filter(const Scope& s, const Output& input, const Output& filter_like,
                              const Output& out_backprop, std::vector<int64_t> strides,
                              Pads padding, std::vector<int64_t> dilations, int64_t groups) {
  NodeBuilder b(s, "Conv2DBackpropFilter");
  b.input(input).input(filter_like).input(out_backprop);
  return conv_node(b, std::move(strides), padding, std::move(dilations), groups)
      .finish()
      .output(0);
}

Output conv1d(const Scope& s, const Output& input, const Output& filter, int64_t stride,
              Pads padding, int64_t dilation, int64_t groups) {
  SLUICE_REQUIRE(input.valid() && filter.valid(), InvalidArgument, "conv1d of an empty Output");
  const Shape &xs = input.shape(), &fs = filter.shape();
  SLUICE_REQUIRE(!xs.known_rank() || xs.rank() == 3, InvalidArgument, "conv1d of '", input.name(),
                 "': input must be 3-D [N,W,C], got ", xs.to_string());
  SLUICE_REQUIRE(!fs.known_rank() || fs.rank() == 3, InvalidArgument, "conv1d of '", input.name(),
                 "': filter '", filter.name(), "' must be 3-D [K,C/groups,F], got ", fs.to_string());
  SLUICE_REQUIRE(padding.top == 0 && padding.bottom == 0, InvalidArgument,
                 "conv1d pads only the width (left/right), got top ", padding.top, ", bottom ",
                 padding.bottom);
  const Scope inner = s.sub(s.explicit_name().empty() ? "conv1d" : s.explicit_name());
  // [N,W,C] -> [N,1,W,C] and [K,C,F] -> [1,K,C,F]: a 2-D convolution over one row.
  const Output x4 = ops::expand_dims(inner, input, 1);
  const Output f4 = ops::expand_dims(inner, filter, 0);
  const Output y4 = ops::conv2d(inner, x4, f4, {1, stride}, padding, {1, dilation}, groups);
  return ops::squeeze(inner, y4, {1});
}

Output conv2d_transpose(const Scope& s, const Output& input, const Output& filter,
                        std::vector<int64_t> strides, Pads padding,
                        std::vector<int64_t> output_size, std::vector<int64_t> output_padding,
                        std::vector<int64_t> dilations, int64_t groups) {
  NodeBuilder b(s, "Conv2DTranspose");
  b.input(input).input(filter).attr("output_size", std::move(output_size));
  b.attr("output_padding", std::move(output_padding));
  return conv_node(b, std::move(strides), padding, std::move(dilations), groups)
      .finish()
      .output(0);
}

}  // namespace ops
}  // namespace sluice
