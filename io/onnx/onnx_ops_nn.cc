// ONNX neural-network ops: convolution, pooling and batch normalization (computed
// channels-last on Sluice's NHWC kernels), normalizations, Gemm / MatMul, Softmax / LogSoftmax
// and the losses.
#include <cmath>

#include "../../ops/array_ops.h"
#include "../../ops/bottleneck_ops.h"
#include "../../ops/concat_conv_ops.h"
#include "../../ops/conv_attrs.h"
#include "../../ops/conv_ops.h"
#include "../../ops/conv_pool_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/normalization_ops.h"
#include "../../ops/pool_ops.h"
#include "../../ops/reduction_ops.h"
#include "../../ops/slice_ops.h"
#include "../../ops/layout_ops.h"
#include "../../ops/layer_norm_ops.h"
#include "../../ops/matrix_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

std::string join_ints(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// A convolution or pooling window over the spatial dims, from the node's attributes,
// mapped onto Sluice's paddings: auto_pad SAME_UPPER / SAME_LOWER / VALID are Sluice's own
// modes, explicit pads (possibly asymmetric) become explicit Pads.
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  Pads pads;  // of the last two spatial dims (the only one for 1-D)
  bool ceil_mode = false;
  int64_t depth_before = 0, depth_after = 0;  // 3-D explicit pads of the first spatial dim
};

Window resolve_window(NodeContext& ctx, std::vector<int64_t> kernel, bool ceil_mode) {
  const int n = static_cast<int>(kernel.size());
  const Attrs& a = ctx.attrs();
  Window w;
  w.kernel = kernel;
  w.strides = a.get_ints("strides", std::vector<int64_t>(static_cast<size_t>(n), 1));
  w.dilations = a.get_ints("dilations", std::vector<int64_t>(static_cast<size_t>(n), 1));
  std::vector<int64_t> pads = a.get_ints("pads", std::vector<int64_t>(static_cast<size_t>(2 * n), 0));
  if (static_cast<int>(w.strides.size()) != n || static_cast<int>(w.dilations.size()) != n ||
      static_cast<int>(pads.size()) != 2 * n)
    ctx.invalid("strides " + join_ints(w.strides) + ", dilations " + join_ints(w.dilations) + ", pads " +
                join_ints(pads) + " do not match a kernel of " + std::to_string(n) + " dims");
  for (int i = 0; i < n; ++i)
    if (w.strides[i] < 1 || w.dilations[i] < 1 || kernel[i] < 1 || pads[i] < 0 || pads[i + n] < 0)
      ctx.invalid("kernel " + join_ints(kernel) + ", strides " + join_ints(w.strides) + ", dilations " +
                  join_ints(w.dilations) + ", pads " + join_ints(pads) + " must be positive (pads non-negative)");
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER") {
    w.pads = Padding::same;
  } else if (auto_pad == "SAME_LOWER") {
    w.pads = Padding::same_lower;
  } else if (auto_pad == "VALID" || auto_pad == "NOTSET" || auto_pad.empty()) {
    if (auto_pad == "VALID") std::fill(pads.begin(), pads.end(), 0);
    bool zero = true;
    for (int64_t p : pads) zero = zero && p == 0;
    // ceil_mode only applies to explicit pads (zeros are fine); the SAME modes ignore it,
    // as ONNX's output-size formulas do.
    if (zero && !ceil_mode) w.pads = Padding::valid;
    else if (n == 1) w.pads = Pads::explicit_pads(0, 0, pads[0], pads[1]);
    else if (n == 2) w.pads = Pads::explicit_pads(pads[0], pads[2], pads[1], pads[3]);
    else w.pads = Pads::explicit_pads(pads[1], pads[4], pads[2], pads[5]);
    if (n == 3) {
      w.depth_before = pads[0];
      w.depth_after = pads[3];
    }
    w.ceil_mode = ceil_mode;
  } else {
    ctx.invalid("auto_pad '" + auto_pad + "' (NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
  }
  return w;
}

// The spatial part of a channels-last input as 2-D: [N,W,C] -> [N,1,W,C].
Output as_2d(NodeContext& ctx, const Output& x_cl, int spatial) {
  return spatial == 1 ? ops::expand_dims(ctx.scope(), x_cl, 1) : x_cl;
}
std::vector<int64_t> pad_2d(const std::vector<int64_t>& v, int64_t one = 1) {
  return v.size() == 1 ? std::vector<int64_t>{one, v[0]} : v;
}
Output from_2d(NodeContext& ctx, const Output& y, int spatial) {
  return spatial == 1 ? ops::squeeze(ctx.scope(), y, {1}) : y;
}

int spatial_dims(NodeContext& ctx, const char* what, int max_dims = 3) {
  const int r = ctx.rank(0);
  if (r < 3 || r > 2 + max_dims)
    ctx.unimplemented(std::string(what) + " of a rank-" + std::to_string(r) + " input (1-D to " +
                      std::to_string(max_dims) + "-D)");
  return r - 2;
}

// ---- 3-D convolution and pooling on the 2-D kernels, channels-last [N, D, H, W, C] ----

// The padding mode of a window for one dim given as ONNX's (before, after) for explicit pads.
Padding mode_of(const Window& w) { return w.pads.mode; }

// The output size and pads of the depth dim.
WindowDim depth_window(NodeContext& ctx, const Window& w, int64_t d) {
  if (d < 0) ctx.unimplemented("a 3-D window over a depth known only at run time");
  const Padding m = mode_of(w);
  return window_dim(d, w.kernel[0], w.strides[0], w.dilations[0], m, w.depth_before, w.depth_after, w.ceil_mode, "depth");
}

// Conv over [N, D, H, W, C]: the sum over kernel depth kd of a 2-D convolution of the
// (padded) depth slices kd*dd + od*sd, od < OD, folded into the batch.
Output conv3d(NodeContext& ctx, const Window& w, const Output& x_cl, const Output& weights, int64_t groups) {
  const Scope& s = ctx.scope();
  const Shape xs = x_cl.shape();
  for (int i = 1; i < 5; ++i)
    if (xs.dim(i) < 0) ctx.unimplemented("3-D convolution of " + xs.to_string() + " (dims after the batch must be known)");
  const WindowDim wd = depth_window(ctx, w, xs.dim(1));
  Output x = x_cl;
  if (wd.pad_before || wd.pad_after) {
    std::vector<int64_t> p(10, 0);
    p[1] = wd.pad_before;
    p[6] = wd.pad_after;
    x = ops::pad(s, x, ctx.constant_output(Tensor::from_vector(p, Shape{10})));
  }
  // [F, C/g, KD, KH, KW] -> [KD, KH, KW, C/g, F]
  const Output filter = ctx.fold(ops::transpose(s, weights, {2, 3, 4, 1, 0}));
  const int64_t h = xs.dim(2), wi = xs.dim(3), c = xs.dim(4);
  Output sum;
  for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
    const int64_t start = kd * w.dilations[0];
    auto vec = [&](int64_t v) { return ctx.constant_output(Tensor::from_vector(std::vector<int64_t>{v}, Shape{1})); };
    Output slab = ops::slice_onnx(s, x, vec(start), vec(start + (wd.out - 1) * w.strides[0] + 1), vec(1), vec(w.strides[0]));
    slab = ops::reshape(s, slab, {-1, h, wi, c});
    const Output f = ctx.fold(ops::squeeze(s, ops::slice(s, filter, {kd, 0, 0, 0, 0}, {1, -1, -1, -1, -1}), {0}));
    const Output y = ops::conv2d(s, slab, f, {w.strides[1], w.strides[2]}, w.pads, {w.dilations[1], w.dilations[2]}, groups);
    sum = sum.valid() ? ops::add(s, sum, y) : y;
  }
  const Shape ys = sum.shape();
  return ops::reshape(s, sum, {-1, wd.out, ys.dim(1), ys.dim(2), ys.dim(3)});
}

// Max and average pooling are separable: a 2-D pool over (H, W) of each depth slice, then
// a [KD, 1] pool over (D, H*W). Average pooling's divisor (the real or padded positions of
// the window) is the product of the per-dim counts, so the two stages give the same mean.
Output pool3d(NodeContext& ctx, const Window& w, const Output& x_cl, bool max, bool count_include_pad) {
  const Scope& s = ctx.scope();
  const Shape xs = x_cl.shape();
  for (int i = 1; i < 5; ++i)
    if (xs.dim(i) < 0) ctx.unimplemented("3-D pooling of " + xs.to_string() + " (dims after the batch must be known)");
  auto pool = [&](const Output& v, std::vector<int64_t> k, std::vector<int64_t> st, Pads p, std::vector<int64_t> dil) {
    return max ? ops::max_pool(s, v, k, st, p, dil, w.ceil_mode) : ops::avg_pool(s, v, k, st, p, count_include_pad, w.ceil_mode);
  };
  const int64_t d = xs.dim(1), c = xs.dim(4);
  Output y = pool(ops::reshape(s, x_cl, {-1, xs.dim(2), xs.dim(3), c}), {w.kernel[1], w.kernel[2]},
                  {w.strides[1], w.strides[2]}, w.pads, {w.dilations[1], w.dilations[2]});
  const int64_t oh = y.shape().dim(1), ow = y.shape().dim(2);
  const Pads dp = mode_of(w) == Padding::explicit_pads ? Pads::explicit_pads(w.depth_before, w.depth_after, 0, 0) : w.pads;
  y = pool(ops::reshape(s, y, {-1, d, oh * ow, c}), {w.kernel[0], 1}, {w.strides[0], 1}, dp, {w.dilations[0], 1});
  return ops::reshape(s, y, {-1, y.shape().dim(1), oh, ow, c});
}

std::vector<int64_t> kernel_of(NodeContext& ctx, const Shape& ws, int n) {
  std::vector<int64_t> kernel = ctx.attrs().get_ints("kernel_shape", {});
  if (kernel.empty())
    for (int i = 0; i < n; ++i) kernel.push_back(ws.dim(2 + i));
  if (static_cast<int>(kernel.size()) != n) ctx.invalid("kernel_shape " + join_ints(kernel) + " for " + std::to_string(n) + " spatial dims");
  for (int64_t k : kernel)
    if (k < 0) ctx.unimplemented("kernel size unknown at import time");
  return kernel;
}

// The 1x1 Conv being imported (`filter` and `bias` its HWIO weights) as the projection of an
// inverted bottleneck (MobileNetV2): its input a depthwise FusedConv2D that only it reads,
// whose input is a pointwise FusedConv2D that only the depthwise one reads, all weights
// constant. Then one FusedBottleneckConv2D computes the three (ops/bottleneck_ops.h); the
// expanded and depthwise values keep their own nodes, which a session runs only when they
// are fetched. An invalid Output when the pattern does not match.
Output fused_bottleneck(NodeContext& ctx, const Output& x, const Output& filter, const Output& bias, const Window& w,
                        int64_t groups) {
  auto is_const = [](const Output& o) { return o.node()->op_type() == "Const"; };
  auto pointwise = [](const kernels::ConvArgs& a, const Shape& f) {
    const Pads& p = a.pads;
    const bool unpadded = p.mode == Padding::valid ||
                          (p.mode == Padding::explicit_pads && p.top == 0 && p.bottom == 0 && p.left == 0 && p.right == 0);
    return a.groups == 1 && a.strides == kernels::Ints{1, 1} && unpadded && f.known_rank() && f.rank() == 4 &&
           f.dim(0) == 1 && f.dim(1) == 1;
  };
  kernels::ConvArgs pa;
  pa.strides = pad_2d(w.strides), pa.dilations = pad_2d(w.dilations), pa.pads = w.pads, pa.groups = groups;
  if (!ctx.is_cl(0) || ctx.consumers(0) != 1 || !pointwise(pa, filter.shape()) || !is_const(filter) ||
      !is_const(bias))
    return Output();
  Node* dw = ctx.input_cl(0).node();
  if (dw->op_type() != "FusedConv2D" || !is_const(dw->inputs[1]) || !is_const(dw->inputs[2])) return Output();
  const kernels::ConvArgs da = kernels::read_conv_args(*dw);
  const Shape& dwf = dw->inputs[1].shape();
  if (!dwf.known_rank() || dwf.rank() != 4 || dwf.dim(2) != 1 || da.groups != dwf.dim(3) || da.groups < 2)
    return Output();
  const Output e = dw->inputs[0];
  Node* ex = e.node();
  if (ex->op_type() != "FusedConv2D" || ctx.consumers_of_cl(e) != 1 || !is_const(ex->inputs[1]) ||
      !is_const(ex->inputs[2]) || !pointwise(kernels::read_conv_args(*ex), ex->inputs[1].shape()))
    return Output();
  return ops::fused_bottleneck_conv2d(
      ctx.scope(), ex->inputs[0], {ex->inputs[1], ex->inputs[2], kernels::read_activation(*ex)},
      {dw->inputs[1], dw->inputs[2], kernels::read_activation(*dw)}, {filter, bias, FusedActivation::none},
      da.strides, da.pads, da.dilations);
}

void build_Conv(NodeContext& ctx) {
  const int n = spatial_dims(ctx, "convolution");
  const int64_t groups = ctx.attrs().get_int("group", 1);
  if (groups < 1) ctx.invalid("group " + std::to_string(groups));
  const Shape ws = ctx.shape(1);
  if (!ws.known_rank() || ws.rank() != n + 2) ctx.invalid("weights " + ws.to_string() + " do not match the input");
  const Window w = resolve_window(ctx, kernel_of(ctx, ws, n), false);
  if (n == 3) {
    Output y = conv3d(ctx, w, ctx.input_cl(0), ctx.input(1), groups);
    if (ctx.has_input(2)) y = ops::bias_add(ctx.scope(), y, ctx.input(2));
    return ctx.set_output_cl(0, y);
  }
  // OIHW -> HWIO (OIW -> WIO, then a leading 1 for H), folded for constant weights.
  Output filter = ctx.input(1);
  filter = n == 2 ? ops::transpose(ctx.scope(), filter, {2, 3, 1, 0})
                  : ops::expand_dims(ctx.scope(), ops::transpose(ctx.scope(), filter, {2, 1, 0}), 0);
  filter = ctx.fold(filter);
  const Output x = as_2d(ctx, ctx.input_cl(0), n);
  if (n == 2 && ctx.has_input(2)) {
    const Output y = fused_bottleneck(ctx, x, filter, ctx.input(2), w, groups);
    if (y.valid()) return ctx.set_output_cl(0, y);
  }
  Output y = ctx.has_input(2)
                 ? ops::fused_conv2d(ctx.scope(), x, filter, ctx.input(2), FusedActivation::none, pad_2d(w.strides), w.pads,
                                     pad_2d(w.dilations), groups)
                 : ops::conv2d(ctx.scope(), x, filter, pad_2d(w.strides), w.pads, pad_2d(w.dilations), groups);
  ctx.set_output_cl(0, from_2d(ctx, y, n));
}

// ConvTranspose: W [C_in, C_out/group, k..] -> Sluice's [KH, KW, C_out/group, C_in].
void build_ConvTranspose(NodeContext& ctx) {
  const int n = spatial_dims(ctx, "transposed convolution", 2);
  const Attrs& a = ctx.attrs();
  const int64_t groups = a.get_int("group", 1);
  const Shape ws = ctx.shape(1);
  if (!ws.known_rank() || ws.rank() != n + 2) ctx.invalid("weights " + ws.to_string() + " do not match the input");
  const std::vector<int64_t> kernel = kernel_of(ctx, ws, n);
  Window w = resolve_window(ctx, kernel, false);
  std::vector<int64_t> out_shape = a.get_ints("output_shape", {});
  if (static_cast<int>(out_shape.size()) == n + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && static_cast<int>(out_shape.size()) != n) ctx.invalid("output_shape " + join_ints(out_shape));
  std::vector<int64_t> out_pad = a.get_ints("output_padding", std::vector<int64_t>(static_cast<size_t>(n), 0));
  if (static_cast<int>(out_pad.size()) != n) ctx.invalid("output_padding " + join_ints(out_pad));
  // With output_shape the pads come from it: SAME_UPPER splits them as Sluice's same, any
  // other auto_pad puts the extra one at the start (ONNX's rule).
  if (!out_shape.empty())
    w.pads = a.get_string("auto_pad", "NOTSET") == "SAME_UPPER" ? Pads(Padding::same) : Pads(Padding::same_lower);
  Output filter = ctx.input(1);
  filter = n == 2 ? ops::transpose(ctx.scope(), filter, {2, 3, 1, 0})
                  : ops::expand_dims(ctx.scope(), ops::transpose(ctx.scope(), filter, {2, 1, 0}), 0);
  filter = ctx.fold(filter);
  const Output x = as_2d(ctx, ctx.input_cl(0), n);
  std::vector<int64_t> size2 = out_shape.empty() ? std::vector<int64_t>{} : pad_2d(out_shape);
  Output y = ops::conv2d_transpose(ctx.scope(), x, filter, pad_2d(w.strides), w.pads, size2, pad_2d(out_pad, 0),
                                   pad_2d(w.dilations), groups);
  if (ctx.has_input(2)) y = ops::bias_add(ctx.scope(), y, ctx.input(2));
  ctx.set_output_cl(0, from_2d(ctx, y, n));
}

// A 2-D MaxPool of a FusedConv2D (one group) that nothing else reads (the ImageNet stems:
// Conv, Relu, MaxPool) as one FusedConv2DMaxPool, which pools the convolution's rows while
// they are in cache. The FusedConv2D stays in the graph as the ONNX value it names (a
// session runs it only when that value is fetched). An invalid Output when the pattern does
// not match.
Output fused_conv_pool(NodeContext& ctx, const Window& w) {
  if (!ctx.is_cl(0) || ctx.consumers(0) != 1) return Output();
  const Node* conv = ctx.input_cl(0).node();
  if (conv->op_type() != "FusedConv2D") return Output();
  const kernels::ConvArgs a = kernels::read_conv_args(*conv);
  if (a.groups != 1) return Output();
  ops::PoolWindow pool;
  pool.ksize = pad_2d(w.kernel), pool.strides = pad_2d(w.strides), pool.padding = w.pads;
  pool.dilations = pad_2d(w.dilations), pool.ceil_mode = w.ceil_mode;
  return ops::fused_conv2d_max_pool(ctx.scope(), conv->inputs[0], conv->inputs[1], conv->inputs[2],
                                    kernels::read_activation(*conv), a.strides, a.pads, a.dilations, pool);
}

void build_pool(NodeContext& ctx, bool max) {
  const int n = spatial_dims(ctx, max ? "MaxPool" : "AveragePool");
  const std::vector<int64_t> kernel = ctx.attrs().get_ints("kernel_shape", {});
  if (static_cast<int>(kernel.size()) != n) ctx.invalid("kernel_shape " + join_ints(kernel) + " for " + std::to_string(n) + " spatial dims");
  const Window w = resolve_window(ctx, kernel, ctx.attrs().get_int("ceil_mode", 0) != 0);
  if (max && ctx.wants_output(1)) ctx.unimplemented("MaxPool's Indices output (waits on a max_pool_with_argmax op)");
  for (int64_t d : w.dilations)
    if (!max && d != 1) ctx.unimplemented("AveragePool dilations (waits on avg_pool dilations)");
  const bool include_pad = ctx.attrs().get_int("count_include_pad", 0) != 0;
  if (n == 3) {
    if (!is_floating(ctx.dtype(0))) ctx.unimplemented("3-D pooling of an integer input");
    return ctx.set_output_cl(0, pool3d(ctx, w, ctx.input_cl(0), max, include_pad));
  }
  if (max && n == 2) {
    const Output fused = fused_conv_pool(ctx, w);
    if (fused.valid()) return ctx.set_output_cl(0, fused);
  }
  Output x = as_2d(ctx, ctx.input_cl(0), n);
  // Integer max pooling through a float type that holds every value exactly.
  const DType dt = x.dtype();
  if (max && !is_floating(dt)) x = ops::cast(ctx.scope(), x, dt == DType::u8 ? DType::f32 : DType::f64);
  Output y = max ? ops::max_pool(ctx.scope(), x, pad_2d(w.kernel), pad_2d(w.strides), w.pads, pad_2d(w.dilations), w.ceil_mode)
                 : ops::avg_pool(ctx.scope(), x, pad_2d(w.kernel), pad_2d(w.strides), w.pads,
                                 include_pad, w.ceil_mode);
  if (y.dtype() != dt) y = ops::cast(ctx.scope(), y, dt);
  ctx.set_output_cl(0, from_2d(ctx, y, n));
}
void build_MaxPool(NodeContext& ctx) { build_pool(ctx, true); }
void build_AveragePool(NodeContext& ctx) { build_pool(ctx, false); }

void build_GlobalMaxPool(NodeContext& ctx) {
  const int r = ctx.rank(0);
  if (r < 3) ctx.invalid("expects an input of rank >= 3, got " + ctx.shape(0).to_string());
  std::vector<int64_t> axes;
  for (int i = 1; i + 1 < r; ++i) axes.push_back(i);
  ctx.set_output_cl(0, ops::max(ctx.scope(), ctx.input_cl(0), axes, true));
}

void build_GlobalAveragePool(NodeContext& ctx) {
  const int r = ctx.rank(0);
  if (r < 3) ctx.invalid("expects an input of rank >= 3, got " + ctx.shape(0).to_string());
  std::vector<int64_t> axes;
  for (int i = 1; i + 1 < r; ++i) axes.push_back(i);
  ctx.set_output_cl(0, ops::mean(ctx.scope(), ctx.input_cl(0), axes, true));
}

void build_BatchNormalization(NodeContext& ctx) {
  const Attrs& a = ctx.attrs();
  const int r = ctx.rank(0);
  if (r < 2) ctx.invalid("expects an input of rank >= 2, got " + ctx.shape(0).to_string());
  bool training = false;
  if (ctx.opset() < 7) training = a.get_int("is_test", 0) == 0;
  else if (ctx.opset() >= 14) training = a.get_int("training_mode", 0) != 0;
  else training = ctx.wants_output(1) || ctx.wants_output(2);
  const double eps = a.get_float("epsilon", 1e-5f);
  const double momentum = a.get_float("momentum", 0.9f);
  const Output x = ctx.input_cl(0);
  const Output flag = ctx.constant_output(Tensor(training));
  std::vector<Output> p;
  for (int i = 1; i <= 4; ++i) {
    Output v = ctx.input(i);
    if (v.shape().rank() != 1) ctx.unimplemented("per-activation statistics " + v.shape().to_string() + " (spatial=0)");
    p.push_back(v);
  }
  // Training: y from the batch statistics (biased variance, as ONNX), and the running
  // statistics updated as mean * momentum + batch * (1 - momentum).
  auto bn = ops::fused_batch_norm(ctx.scope(), x, p[0], p[1], p[2], p[3], flag, eps, /*bessel_correction=*/false);
  ctx.set_output_cl(0, bn.y);
  if (training) {
    auto blend = [&](const Output& running, const Output& batch) {
      return ops::add(ctx.scope(), ops::mul(ctx.scope(), running, ops::scalar_like(ctx.scope(), running, momentum)),
                      ops::mul(ctx.scope(), batch, ops::scalar_like(ctx.scope(), batch, 1.0 - momentum)));
    };
    ctx.set_output(1, blend(p[2], bn.batch_mean));
    ctx.set_output(2, blend(p[3], bn.batch_variance));
  }
}

std::string check_batch_norm(const Attrs& attrs, int opset) {
  if (opset < 9 && attrs.get_int("spatial", 1) == 0) return "spatial=0 (per-activation statistics)";
  return "";
}

void build_Gemm(NodeContext& ctx) {
  const Attrs& a = ctx.attrs();
  const double alpha = a.get_float("alpha", 1.0f), beta = a.get_float("beta", 1.0f);
  Output y = ops::matmul(ctx.scope(), ctx.input(0), ctx.input(1), a.get_int("transA", 0) != 0, a.get_int("transB", 0) != 0);
  if (alpha != 1.0) y = ops::mul(ctx.scope(), y, ops::scalar_like(ctx.scope(), y, alpha));
  if (ctx.has_input(2) && beta != 0.0) {
    Output c = ctx.input(2);
    if (beta != 1.0) c = ctx.fold(ops::mul(ctx.scope(), c, ops::scalar_like(ctx.scope(), c, beta)));
    const bool bias = c.shape().rank() == 1 && c.shape().dim(0) >= 0 && c.shape().dim(0) == y.shape().dim(1);
    y = bias ? ops::bias_add(ctx.scope(), y, c) : ops::add(ctx.scope(), y, c);
  }
  ctx.set_output(0, y);
}

void build_MatMul(NodeContext& ctx) {
  Output a = ctx.input(0), b = ctx.input(1);
  const Shape sa = a.shape(), sb = b.shape();
  if (!sa.known_rank() || !sb.known_rank()) ctx.unimplemented("MatMul of inputs of unknown rank");
  if (sa.rank() == 0 || sb.rank() == 0) ctx.invalid("MatMul of a scalar: " + sa.to_string() + " and " + sb.to_string());
  // NumPy rules: a vector operand gets a 1 dim that is dropped again.
  const bool a_vec = sa.rank() == 1, b_vec = sb.rank() == 1;
  if (a_vec) a = ops::expand_dims(ctx.scope(), a, 0);
  if (b_vec) b = ops::expand_dims(ctx.scope(), b, 1);
  const Shape la = a.shape();
  int unknown = 0;
  std::vector<int64_t> out_dims;
  for (int i = 0; i + 1 < la.rank(); ++i) {
    out_dims.push_back(la.dim(i));
    unknown += la.dim(i) < 0;
  }
  const int64_t k = la.dim(la.rank() - 1), n = b.shape().dim(1);
  Output y;
  if (b.shape().rank() == 2 && la.rank() > 2 && unknown <= 1 && k >= 0 && n >= 0) {
    // [..., K] x [K, N]: the leading dims of a flattened into rows, one GEMM.
    out_dims.push_back(n);
    y = ops::reshape(ctx.scope(), ops::matmul(ctx.scope(), ops::reshape(ctx.scope(), a, {-1, k}), b), out_dims);
  } else if (la.rank() == 2 && b.shape().rank() == 2) {
    y = ops::matmul(ctx.scope(), a, b);
  } else {
    y = ops::batch_matmul(ctx.scope(), a, b);  // batch dims broadcast
  }
  if (b_vec) y = ops::squeeze(ctx.scope(), y, {-1});
  if (a_vec) y = ops::squeeze(ctx.scope(), y, {b_vec ? -1 : -2});
  ctx.set_output(0, y);
}

void build_LayerNormalization(NodeContext& ctx) {
  const Attrs& at = ctx.attrs();
  const int r = ctx.rank(0);
  const int64_t axis = ctx.axis(at.get_int("axis", -1), r);
  const Output x = ctx.input(0), scale = ctx.input(1);
  const Output bias = ctx.has_input(2) ? ctx.input(2) : ctx.fold(ops::zeros_like(ctx.scope(), scale));
  const ops::LayerNormOutputs o = ops::layer_norm_full(ctx.scope(), x, scale, bias, axis, at.get_float("epsilon", 1e-5f));
  ctx.set_output(0, o.y);
  if (ctx.wants_output(1)) ctx.set_output(1, o.mean);
  if (ctx.wants_output(2)) ctx.set_output(2, o.inv_std);
}

void build_InstanceNormalization(NodeContext& ctx) {
  if (ctx.rank(0) < 3) ctx.invalid("expects an input of rank >= 3, got " + ctx.shape(0).to_string());
  ctx.set_output_cl(0, ops::instance_norm(ctx.scope(), ctx.input_cl(0), ctx.input(1), ctx.input(2),
                                          ctx.attrs().get_float("epsilon", 1e-5f)));
}

// LRN over the channels (the last axis channels-last), ONNX's window and alpha / size.
void build_LRN(NodeContext& ctx) {
  const Attrs& at = ctx.attrs();
  const int64_t size = at.get_int("size", 0);
  if (size < 1) ctx.invalid("size must be positive");
  if (ctx.rank(0) < 3) ctx.invalid("expects an input of rank >= 3, got " + ctx.shape(0).to_string());
  ctx.set_output_cl(0, ops::lrn(ctx.scope(), ctx.input_cl(0), (size - 1) / 2, at.get_float("bias", 1.0f),
                                at.get_float("alpha", 1e-4f) / static_cast<double>(size), at.get_float("beta", 0.75f),
                                size / 2));
}

// Softmax-13 normalises along `axis`; Softmax-1/11 flattens the input to 2-D at `axis`
// (default 1) and normalises each row.
void build_softmax(NodeContext& ctx, bool log) {
  auto f = [&](const Output& x) { return log ? ops::log_softmax(ctx.scope(), x) : ops::softmax(ctx.scope(), x); };
  const int r = ctx.rank(0);
  if (r == 0) ctx.invalid("softmax of a scalar");
  if (ctx.opset() >= 13) {
    const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", -1), r);
    if (ctx.is_cl(0) && cl_axis(axis, r) == r - 1) return ctx.set_output_cl(0, f(ctx.input_cl(0)));
    if (axis == r - 1) return ctx.set_output(0, f(ctx.input(0)));
    std::vector<int64_t> perm;
    for (int i = 0; i < r; ++i)
      if (i != axis) perm.push_back(i);
    perm.push_back(axis);
    std::vector<int64_t> back(static_cast<size_t>(r));
    for (int i = 0; i < r; ++i) back[static_cast<size_t>(perm[i])] = i;
    return ctx.set_output(0, ops::transpose(ctx.scope(), f(ops::transpose(ctx.scope(), ctx.input(0), perm)), back));
  }
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 1), r);
  if (axis == r - 1) return ctx.set_output(0, f(ctx.input(0)));
  const Shape s = ctx.shape(0);
  int64_t inner = 1, outer = 1;
  for (int i = 0; i < r; ++i) {
    int64_t& p = i < axis ? outer : inner;
    p = (p < 0 || s.dim(i) < 0) ? -1 : p * s.dim(i);
  }
  if (inner < 0 && outer < 0) ctx.unimplemented("softmax of " + s.to_string() + " with unknown dims on both sides of axis");
  const Output x = ctx.input(0);
  const Output flat = ops::reshape(ctx.scope(), x, inner >= 0 ? std::vector<int64_t>{-1, inner} : std::vector<int64_t>{outer, -1});
  ctx.set_output(0, ops::reshape_like(ctx.scope(), f(flat), x));
}
void build_Softmax(NodeContext& ctx) { build_softmax(ctx, false); }
void build_LogSoftmax(NodeContext& ctx) { build_softmax(ctx, true); }

// The negative log-likelihood of channels-last log-probabilities lp [N, d.., C] at the
// targets [N, d..], weighted by weight[target] (1 without weights), 0 where the target is
// ignore_index; reduced as ONNX's `reduction`: none, sum, or mean = sum / sum of weights.
Output nll(NodeContext& ctx, const Output& lp, int target_input, int weight_input) {
  const Scope& s = ctx.scope();
  const int64_t classes = lp.shape().dim(lp.shape().rank() - 1);
  if (classes < 0) ctx.unimplemented("a class count known only at run time");
  Output t = ctx.input(target_input);
  if (t.dtype() != DType::i64) t = ops::cast(s, t, DType::i64);
  Output valid;
  if (ctx.attrs().has("ignore_index")) {
    valid = ops::not_equal(s, t, ops::scalar_like(s, t, static_cast<double>(ctx.attrs().get_int("ignore_index", 0))));
    t = ops::select(s, valid, t, ops::zeros_like(s, t));  // any valid index; its loss is masked
  }
  const Output picked = ops::sum(s, ops::mul(s, lp, ops::one_hot(s, t, classes, 1.0, 0.0, lp.dtype())), {-1});
  Output w = ctx.has_input(weight_input) ? ops::gather(s, ctx.input(weight_input), t) : ops::ones_like(s, picked);
  if (valid.valid()) w = ops::mul(s, w, ops::cast(s, valid, w.dtype()));
  const Output loss = ops::neg(s, ops::mul(s, picked, w));
  const std::string reduction = ctx.attrs().get_string("reduction", "mean");
  if (reduction == "none") return loss;
  if (reduction == "sum") return ops::sum(s, loss);
  if (reduction == "mean") return ops::div(s, ops::sum(s, loss), ops::sum(s, w));
  ctx.invalid("reduction '" + reduction + "' (none, sum or mean)");
}

void build_NegativeLogLikelihoodLoss(NodeContext& ctx) { ctx.set_output(0, nll(ctx, ctx.input_cl(0), 1, 2)); }

void build_SoftmaxCrossEntropyLoss(NodeContext& ctx) {
  const Output lp = ops::log_softmax(ctx.scope(), ctx.input_cl(0));  // over the classes, channels-last
  ctx.set_output_cl(1, lp);
  ctx.set_output(0, nll(ctx, lp, 1, 2));
}

}  // namespace

Output fused_concat_conv(NodeContext& ctx, const std::vector<Output>& xs) {
  if (xs.size() < 2) return Output();
  std::vector<ops::ConcatConvBranch> branches;
  FusedActivation act;
  const Node* first = nullptr;
  for (const Output& v : xs) {
    const Node* n = v.node();
    if (n->op_type() != "FusedConv2D" || ctx.consumers_of_cl(v) != 1) return Output();
    for (const Output& o : xs)
      if (&o != &v && o.node() == n) return Output();  // one convolution listed twice
    if (n->inputs[1].node()->op_type() != "Const" || n->inputs[2].node()->op_type() != "Const") return Output();
    const kernels::ConvArgs a = kernels::read_conv_args(*n);
    const FusedActivation na = kernels::read_activation(*n);
    const Shape &in = n->inputs[0].shape(), &out = v.shape();
    if (a.groups != 1 || a.strides != kernels::Ints{1, 1} || a.dilations != kernels::Ints{1, 1} ||
        !in.known_rank() || in.rank() != 4 || in.dim(1) < 0 || in.dim(2) < 0 || !out.known_rank() ||
        out.dim(3) < 0)
      return Output();
    if (!first) {
      first = n, act = na;
    } else if (n->inputs[0] != first->inputs[0] || na.kind != act.kind || na.clip_min != act.clip_min ||
               na.clip_max != act.clip_max || na.alpha != act.alpha || out.dim(1) != xs[0].shape().dim(1) ||
               out.dim(2) != xs[0].shape().dim(2)) {
      return Output();
    }
    // The branch's padding as numbers (SAME resolves against the known input size).
    const conv::ConvGeometry g =
        kernels::conv_geometry(in, n->inputs[1].shape(), a, kernels::FilterLayout::grouped);
    if (g.oh < 0 || g.ow < 0 || g.kh < 1 || g.kw < 1) return Output();
    const Pads pads = kernels::explicit_pads_of(g);
    if (pads.top < 0 || pads.bottom < 0 || pads.left < 0 || pads.right < 0) return Output();
    branches.push_back({n->inputs[1], n->inputs[2], pads});
  }
  return ops::fused_concat_conv2d(ctx.scope(), first->inputs[0], branches, act);
}

std::vector<OpEntry> nn_op_entries() {
  return {
      {"Conv", build_Conv, nullptr,
       "1-D and 2-D, group (grouped and depthwise), strides, dilations, bias (fused); auto_pad SAME_UPPER/"
       "SAME_LOWER/VALID or explicit, asymmetric pads; computed channels-last; 3-D as a sum of 2-D convolutions "
       "over the kernel depth (dims after the batch known)"},
      {"ConvTranspose", build_ConvTranspose, nullptr,
       "1-D and 2-D, group, strides, dilations, pads/auto_pad, output_padding, output_shape, bias"},
      {"MaxPool", build_MaxPool, nullptr,
       "1-D, 2-D and 3-D (separable: 2-D then depth); pads as Conv, ceil_mode, dilations; integer types through an "
       "exact float type (1-D/2-D); no Indices output"},
      {"AveragePool", build_AveragePool, nullptr,
       "1-D, 2-D and 3-D (separable); pads as Conv, ceil_mode, count_include_pad; no dilations"},
      {"GlobalMaxPool", build_GlobalMaxPool, nullptr, "any rank >= 3, channels-last"},
      {"LayerNormalization", build_LayerNormalization, nullptr, "axis, epsilon, optional B; Mean and InvStdDev outputs"},
      {"InstanceNormalization", build_InstanceNormalization, nullptr, "epsilon; channels-last"},
      {"LRN", build_LRN, nullptr, "size, alpha, beta, bias; over the channels, channels-last"},
      {"GlobalAveragePool", build_GlobalAveragePool, nullptr, "any rank >= 3, channels-last"},
      {"BatchNormalization", build_BatchNormalization, check_batch_norm,
       "inference; training mode (opset 6 is_test=0, 7-13 extra outputs, 14+ training_mode) gives Y and the "
       "running statistics; spatial=1 only"},
      {"Gemm", build_Gemm, nullptr, "alpha, beta, transA, transB, broadcast C (bias add for a [N] C)"},
      {"MatMul", build_MatMul, nullptr,
       "NumPy semantics: vectors, 2-D, N-D with broadcast batch dims (batch_matmul); [..., K] x [K, N] as one GEMM"},
      {"Softmax", build_Softmax, nullptr, "opset < 13: coerced to 2-D at axis; 13+: along axis"},
      {"LogSoftmax", build_LogSoftmax, nullptr, "as Softmax"},
      {"NegativeLogLikelihoodLoss", build_NegativeLogLikelihoodLoss, nullptr,
       "any rank, weights, ignore_index, reduction none/sum/mean (composite: one_hot, sum, gather)"},
      {"SoftmaxCrossEntropyLoss", build_SoftmaxCrossEntropyLoss, nullptr,
       "as NegativeLogLikelihoodLoss of log_softmax over axis 1; the log_prob output"},
  };
}

}  // namespace sluice::io::onnx_detail
