// Convolution ops: declaration, shape function, CPU kernel and gradient of each.
//
// Conv2D, FusedConv2D (+ bias, + relu), Conv2DBackpropInput and Conv2DBackpropFilter. The
// lowering to GEMMs lives in conv_lowering.h/.cc; this file validates shapes and attrs,
// picks the lowering and builds the gradient graphs.
#include "conv_ops.h"

#include "array_ops.h"
#include "conv_lowering.h"
#include "kernel_util.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

const char* padding_name(Padding padding) { return padding == Padding::same ? "SAME" : "VALID"; }

Padding padding_from_name(const std::string& name) {
  if (name == "SAME") return Padding::same;
  if (name == "VALID") return Padding::valid;
  throw InvalidArgument("padding must be \"SAME\" or \"VALID\", got \"" + name + "\"");
}

WindowDim window_dim(int64_t in, int64_t size, int64_t stride, int64_t dilation, Padding padding,
                     const char* what) {
  SLUICE_REQUIRE(stride > 0, InvalidArgument, what, ": stride must be positive, got ", stride);
  SLUICE_REQUIRE(dilation > 0, InvalidArgument, what, ": dilation must be positive, got ",
                 dilation);
  SLUICE_REQUIRE(size > 0, InvalidArgument, what, ": window size must be positive, got ", size);
  if (in < 0) return {-1, 0};
  const int64_t effective = checked_mul(size - 1, dilation, "dilated window size") + 1;
  WindowDim d;
  if (padding == Padding::valid) {
    SLUICE_REQUIRE(in >= effective, InvalidArgument, what,
                   ": computed output size would be empty (input size ", in,
                   " is smaller than the effective window size ", effective, ", VALID padding)");
    d.out = (in - effective) / stride + 1;  // = ceil((in - (size-1)*dilation) / stride)
  } else {
    d.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((d.out - 1) * stride + effective - in, 0);
    d.pad_before = total / 2;
  }
  return d;
}

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;
using conv::ConvGeometry;

struct ConvAttrs {
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  Padding padding = Padding::valid;
};

// Validates and reads strides, dilations and padding (the same checks at build and run
// time: attrs of imported graphs never went through the builders).
ConvAttrs read_attrs(const Node& node) {
  const Ints& st = node.attr<Ints>("strides");
  const Ints& dl = node.attr<Ints>("dilations");
  SLUICE_REQUIRE(st.size() == 2, InvalidArgument, "strides must have 2 entries {SH,SW}, got ",
                 ints_to_string(st));
  SLUICE_REQUIRE(dl.size() == 2, InvalidArgument, "dilations must have 2 entries {DH,DW}, got ",
                 ints_to_string(dl));
  SLUICE_REQUIRE(st[0] > 0 && st[1] > 0, InvalidArgument, "strides must be positive, got ",
                 ints_to_string(st));
  SLUICE_REQUIRE(dl[0] > 0 && dl[1] > 0, InvalidArgument, "dilations must be positive, got ",
                 ints_to_string(dl));
  return {st[0], st[1], dl[0], dl[1], padding_from_name(node.attr<std::string>("padding"))};
}

// The 4 dims of a rank-4 shape, -1 where unknown (an unknown rank gives four -1s).
std::array<int64_t, 4> dims4(const Shape& s, const char* what, const char* layout) {
  SLUICE_REQUIRE(!s.known_rank() || s.rank() == 4, InvalidArgument, what, " must be 4-D ", layout,
                 ", got ", s.to_string());
  if (!s.known_rank()) return {-1, -1, -1, -1};
  return {s.dim(0), s.dim(1), s.dim(2), s.dim(3)};
}

// The geometry of a convolution of `input` with `filter` (static shapes may hold -1; then
// the output dims that depend on them are -1 too). Every message names both shapes.
ConvGeometry make_geometry(const Shape& input, const Shape& filter, const ConvAttrs& a) {
  const auto in = dims4(input, "input", "[N,H,W,C]");
  const auto fl = dims4(filter, "filter", "[KH,KW,C,F]");
  const std::string shapes = "input " + input.to_string() + ", filter " + filter.to_string();
  SLUICE_REQUIRE(in[3] < 0 || fl[2] < 0 || in[3] == fl[2], InvalidArgument,
                 "input depth must equal the filter's in_channels (dim 2): ", shapes);
  for (int i = 0; i < 2; ++i)
    SLUICE_REQUIRE(fl[i] != 0, InvalidArgument,
                   "filter height and width must be positive: ", shapes);
  ConvGeometry g;
  g.n = in[0], g.h = in[1], g.w = in[2], g.c = in[3] >= 0 ? in[3] : fl[2];
  g.kh = fl[0], g.kw = fl[1], g.f = fl[3];
  g.sh = a.sh, g.sw = a.sw, g.dh = a.dh, g.dw = a.dw;
  try {
    const WindowDim rows = window_dim(g.h, g.kh < 0 ? 1 : g.kh, a.sh, a.dh, a.padding, "rows");
    const WindowDim cols = window_dim(g.w, g.kw < 0 ? 1 : g.kw, a.sw, a.dw, a.padding, "cols");
    g.oh = g.kh < 0 ? -1 : rows.out, g.pad_top = rows.pad_before;
    g.ow = g.kw < 0 ? -1 : cols.out, g.pad_left = cols.pad_before;
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(e.what()) + "; " + shapes);
  }
  return g;
}

Shape output_shape(const ConvGeometry& g) { return Shape{g.n, g.oh, g.ow, g.f}; }

// Requires dy to have the conv output's shape [N,OH,OW,F] (where known).
void check_out_backprop(const ConvGeometry& g, const Shape& dy, const Shape& input,
                        const Shape& filter) {
  const auto d = dims4(dy, "out_backprop", "[N,OH,OW,F]");
  const int64_t want[4] = {g.n, g.oh, g.ow, g.f};
  for (int i = 0; i < 4; ++i)
    SLUICE_REQUIRE(d[i] < 0 || want[i] < 0 || d[i] == want[i], InvalidArgument, "out_backprop ",
                   dy.to_string(), " does not match the convolution of input ", input.to_string(),
                   " and filter ", filter.to_string(), ", which gives ",
                   output_shape(g).to_string());
}

void require_float_inputs(const ShapeContext& ctx, std::initializer_list<int> inputs) {
  for (int i : inputs) {
    require_float(ctx, i);
    require_same_dtype(ctx, *inputs.begin(), i);
  }
}

// ---- shape functions ----

void conv2d_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1});
  const ConvGeometry g =
      make_geometry(ctx.input_shape(0), ctx.input_shape(1), read_attrs(ctx.node()));
  ctx.add_output(ctx.input_dtype(0), output_shape(g));
}

void fused_conv2d_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 1, 2});
  const ConvGeometry g =
      make_geometry(ctx.input_shape(0), ctx.input_shape(1), read_attrs(ctx.node()));
  const Shape& b = ctx.input_shape(2);
  SLUICE_REQUIRE(!b.known_rank() || (b.rank() == 1 && (b.dim(0) < 0 || g.f < 0 || b.dim(0) == g.f)),
                 InvalidArgument, "bias must be [F] = [", g.f, "] for filter ",
                 ctx.input_shape(1).to_string(), ", got ", b.to_string());
  ctx.add_output(ctx.input_dtype(0), output_shape(g));
}

// Conv2DBackpropInput(input_like, filter, out_backprop) -> input_like's shape.
void backprop_input_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {1, 2});
  const Shape &in = ctx.input_shape(0), &filter = ctx.input_shape(1), &dy = ctx.input_shape(2);
  const ConvGeometry g = make_geometry(in, filter, read_attrs(ctx.node()));
  check_out_backprop(g, dy, in, filter);
  const auto d = dims4(dy, "out_backprop", "[N,OH,OW,F]");
  ctx.add_output(ctx.input_dtype(1), Shape{g.n >= 0 ? g.n : d[0], g.h, g.w, g.c});
}

// Conv2DBackpropFilter(input, filter_like, out_backprop) -> filter_like's shape.
void backprop_filter_shape(ShapeContext& ctx) {
  require_float_inputs(ctx, {0, 2});
  const Shape &in = ctx.input_shape(0), &filter = ctx.input_shape(1), &dy = ctx.input_shape(2);
  const ConvGeometry g = make_geometry(in, filter, read_attrs(ctx.node()));
  check_out_backprop(g, dy, in, filter);
  const auto d = dims4(dy, "out_backprop", "[N,OH,OW,F]");
  ctx.add_output(ctx.input_dtype(0), Shape{g.kh, g.kw, g.c, g.f >= 0 ? g.f : d[3]});
}

// ---- kernels ----

// Geometry from the run-time shapes, with the build-time checks repeated (placeholders
// with unknown dims only now have sizes).
ConvGeometry runtime_geometry(const KernelContext& ctx, const Shape& input, const Shape& filter) {
  const ConvGeometry g = make_geometry(input, filter, read_attrs(ctx.node()));
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
  const bool relu = fused && ctx.attr<bool>("relu");
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, output_shape(g));
    conv::forward<T>(g, x.data<T>(), filter.data<T>(), bias ? bias->data<T>() : nullptr, relu,
                     y.data<T>(), ctx.pool());
  });
}

void backprop_input_kernel(KernelContext& ctx) {
  const Tensor& filter = ctx.input(1);
  const Tensor& dy = ctx.input(2);
  const ConvGeometry g = runtime_geometry(ctx, ctx.input(0).shape(), filter.shape());
  SLUICE_REQUIRE(dy.shape() == output_shape(g) && dy.dtype() == filter.dtype(), InvalidArgument,
                 "out_backprop ", dy.summary(), " does not match the convolution of input ",
                 ctx.input(0).shape().to_string(), " and filter ", filter.summary(),
                 ", which gives ", output_shape(g).to_string());
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
  SLUICE_REQUIRE(dy.shape() == output_shape(g) && dy.dtype() == x.dtype(), InvalidArgument,
                 "out_backprop ", dy.summary(), " does not match the convolution of input ",
                 x.summary(), " and filter ", ctx.input(1).shape().to_string(), ", which gives ",
                 output_shape(g).to_string());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "Conv2DBackpropFilter", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dw = ctx.allocate_output(0, Shape{g.kh, g.kw, g.c, g.f});
    conv::backprop_filter<T>(g, x.data<T>(), dy.data<T>(), dw.data<T>(), ctx.pool());
  });
}

// ---- gradients ----

// The convolution attrs of `op`, for the ops its gradient builds.
struct ConvArgs {
  Ints strides, dilations;
  Padding padding;
};
ConvArgs args_of(const Operation& op) {
  const ConvAttrs a = read_attrs(*op.node());
  return {{a.sh, a.sw}, {a.dh, a.dw}, a.padding};
}

Grads conv2d_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx conv(x, w) = conv_backprop_input(w, g); d/dw = conv_backprop_filter(x, g)
  const ConvArgs a = args_of(op);
  const Output x = op.input(0), w = op.input(1);
  return {ops::conv2d_backprop_input(s, x, w, g[0], a.strides, a.padding, a.dilations),
          ops::conv2d_backprop_filter(s, x, w, g[0], a.strides, a.padding, a.dilations)};
}

Grads fused_conv2d_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dz relu(z) = 1 where y > 0; z = conv(x, w) + b: dx, dw as conv2d, db = sum of dz over N, H, W
  const ConvArgs a = args_of(op);
  const Output x = op.input(0), w = op.input(1);
  const Output dz =
      op.node()->attr<bool>("relu")
          ? NodeBuilder(s, "ReluGrad").input(g[0]).input(op.output(0)).finish().output(0)
          : g[0];
  return {ops::conv2d_backprop_input(s, x, w, dz, a.strides, a.padding, a.dilations),
          ops::conv2d_backprop_filter(s, x, w, dz, a.strides, a.padding, a.dilations),
          ops::sum_to_like(s, dz, op.input(2))};  // any rank of dz, as bias_add's gradient
}

Grads backprop_input_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Linear in (w, dy): d/dw = conv_backprop_filter(g, dy); d/d(dy) = conv(g, w)
  const ConvArgs a = args_of(op);
  const Output w = op.input(1), dy = op.input(2);
  return {Output(), ops::conv2d_backprop_filter(s, g[0], w, dy, a.strides, a.padding, a.dilations),
          ops::conv2d(s, g[0], w, a.strides, a.padding, a.dilations)};
}

Grads backprop_filter_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Linear in (x, dy): d/dx = conv_backprop_input(g, dy); d/d(dy) = conv(x, g)
  const ConvArgs a = args_of(op);
  const Output x = op.input(0), dy = op.input(2);
  return {ops::conv2d_backprop_input(s, x, g[0], dy, a.strides, a.padding, a.dilations), Output(),
          ops::conv2d(s, x, g[0], a.strides, a.padding, a.dilations)};
}

NodeBuilder& conv_attrs(NodeBuilder& b, Ints strides, Padding padding, Ints dilations) {
  return b.attr("strides", std::move(strides))
      .attr("padding", padding_name(padding))
      .attr("dilations", std::move(dilations));
}

}  // namespace

void register_conv_ops(OpRegistry& r) {
  const Ints ones{1, 1};
  r.op("Conv2D")
      .input("input")
      .input("filter")
      .output("output")
      .attr("strides", ones)
      .attr("padding", "VALID")
      .attr("dilations", ones)
      .shape_fn(conv2d_shape)
      .kernel(conv2d_kernel)
      .gradient(conv2d_grad);
  r.op("FusedConv2D")
      .input("input")
      .input("filter")
      .input("bias")
      .output("output")
      .attr("strides", ones)
      .attr("padding", "VALID")
      .attr("dilations", ones)
      .attr("relu", false)
      .shape_fn(fused_conv2d_shape)
      .kernel(conv2d_kernel)
      .gradient(fused_conv2d_grad);
  r.op("Conv2DBackpropInput")
      .input("input_like")
      .input("filter")
      .input("out_backprop")
      .output("output")
      .attr("strides", ones)
      .attr("padding", "VALID")
      .attr("dilations", ones)
      .shape_fn(backprop_input_shape)
      .kernel(backprop_input_kernel)
      .gradient(backprop_input_grad);
  r.op("Conv2DBackpropFilter")
      .input("input")
      .input("filter_like")
      .input("out_backprop")
      .output("output")
      .attr("strides", ones)
      .attr("padding", "VALID")
      .attr("dilations", ones)
      .shape_fn(backprop_filter_shape)
      .kernel(backprop_filter_kernel)
      .gradient(backprop_filter_grad);
}

namespace ops {

Output conv2d(const Scope& s, const Output& input, const Output& filter,
              std::vector<int64_t> strides, Padding padding, std::vector<int64_t> dilations) {
  NodeBuilder b(s, "Conv2D");
  b.input(input).input(filter);
  return conv_attrs(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

Output fused_conv2d(const Scope& s, const Output& input, const Output& filter, const Output& bias,
                    std::vector<int64_t> strides, Padding padding, std::vector<int64_t> dilations,
                    bool relu) {
  NodeBuilder b(s, "FusedConv2D");
  b.input(input).input(filter).input(bias).attr("relu", relu);
  return conv_attrs(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

Output conv2d_backprop_input(const Scope& s, const Output& input_like, const Output& filter,
                             const Output& out_backprop, std::vector<int64_t> strides,
                             Padding padding, std::vector<int64_t> dilations) {
  NodeBuilder b(s, "Conv2DBackpropInput");
  b.input(input_like).input(filter).input(out_backprop);
  return conv_attrs(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

Output conv2d_backprop_filter(const Scope& s, const Output& input, const Output& filter_like,
                              const Output& out_backprop, std::vector<int64_t> strides,
                              Padding padding, std::vector<int64_t> dilations) {
  NodeBuilder b(s, "Conv2DBackpropFilter");
  b.input(input).input(filter_like).input(out_backprop);
  return conv_attrs(b, std::move(strides), padding, std::move(dilations)).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
