// ONNX neural-network ops: convolution, pooling and batch normalization (computed
// channels-last on Sluice's NHWC kernels), Gemm / MatMul, Softmax / LogSoftmax and LSTM.
#include <cmath>

#include "../../ops/array_ops.h"
#include "../../ops/conv_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/normalization_ops.h"
#include "../../ops/pool_ops.h"
#include "../../ops/reduction_ops.h"
#include "../../ops/rnn_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

std::string join_ints(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// A convolution or pooling window over the spatial dims, from the node's attributes and the
// input's static shape, resolved to one of Sluice's two paddings.
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  Padding padding = Padding::valid;
  bool any_padding = false;  // SAME that actually pads some dim
};

Window resolve_window(NodeContext& ctx, const Shape& in, std::vector<int64_t> kernel, bool ceil_mode) {
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
  bool all_same = true, all_valid = true;
  for (int i = 0; i < n; ++i) {
    const int64_t h = in.dim(2 + i), k = kernel[i], s = w.strides[i], eff = (k - 1) * w.dilations[i] + 1;
    if (auto_pad == "VALID" && !ceil_mode) {
      all_same = false;
      continue;
    }
    if (h < 0 && !ceil_mode && pads[i] == 0 && pads[i + n] == 0 && (auto_pad == "NOTSET" || auto_pad.empty())) {
      all_same = false;  // VALID needs no static size
      continue;
    }
    if (h < 0) ctx.unimplemented("padding of a spatial dim unknown until run time (input " + in.to_string() + ")");
    const int64_t same_out = (h + s - 1) / s;
    const int64_t total = std::max<int64_t>((same_out - 1) * s + eff - h, 0);
    const int64_t same_before = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
    int64_t p0 = pads[i], p1 = pads[i + n];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      p0 = same_before;
      p1 = total - same_before;
    } else if (auto_pad == "VALID") {
      p0 = p1 = 0;
    }
    const int64_t span = h + p0 + p1 - eff;
    if (span < 0) ctx.invalid("window " + std::to_string(eff) + " is larger than the padded input " + std::to_string(h + p0 + p1));
    const int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    const int64_t valid_out = h >= eff ? (h - eff) / s + 1 : 0;
    // Padding past the last window is never read, so only the leading pad and the output
    // size have to agree with Sluice's rule.
    all_same = all_same && p0 == total / 2 && out == same_out;
    all_valid = all_valid && p0 == 0 && out == valid_out;
    w.any_padding = w.any_padding || total > 0;
  }
  if (all_valid) {
    w.padding = Padding::valid;
    w.any_padding = false;
  } else if (all_same) {
    w.padding = Padding::same;
  } else {
    ctx.unimplemented("auto_pad " + auto_pad + ", pads " + join_ints(pads) + (ceil_mode ? ", ceil_mode 1" : "") +
                      " on input " + in.to_string() +
                      " (neither VALID nor TensorFlow's SAME: waits on explicit/asymmetric pads and ceil_mode, opsnn)");
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

int spatial_dims(NodeContext& ctx, const char* what) {
  const int r = ctx.rank(0);
  if (r < 3 || r > 4)
    ctx.unimplemented(std::string(what) + " of a rank-" + std::to_string(r) +
                      " input (1-D and 2-D only: 3-D waits on 3-D kernels)");
  return r - 2;
}

void build_Conv(NodeContext& ctx) {
  const int n = spatial_dims(ctx, "convolution");
  if (ctx.attrs().get_int("group", 1) != 1) ctx.unimplemented("group != 1 (waits on grouped/depthwise conv2d, opsnn)");
  const Shape ws = ctx.shape(1);
  if (!ws.known_rank() || ws.rank() != n + 2) ctx.invalid("weights " + ws.to_string() + " do not match the input");
  std::vector<int64_t> kernel = ctx.attrs().get_ints("kernel_shape", {});
  if (kernel.empty())
    for (int i = 0; i < n; ++i) kernel.push_back(ws.dim(2 + i));
  for (int64_t k : kernel)
    if (k < 0) ctx.unimplemented("kernel size unknown at import time");
  const Window w = resolve_window(ctx, ctx.shape(0), kernel, false);
  // OIHW -> HWIO (OIW -> WIO, then a leading 1 for H), folded for constant weights.
  Output filter = ctx.input(1);
  filter = n == 2 ? ops::transpose(ctx.scope(), filter, {2, 3, 1, 0})
                  : ops::expand_dims(ctx.scope(), ops::transpose(ctx.scope(), filter, {2, 1, 0}), 0);
  filter = ctx.fold(filter);
  const Output x = as_2d(ctx, ctx.input_cl(0), n);
  Output y = ctx.has_input(2)
                 ? ops::fused_conv2d(ctx.scope(), x, filter, ctx.input(2), pad_2d(w.strides), w.padding, pad_2d(w.dilations))
                 : ops::conv2d(ctx.scope(), x, filter, pad_2d(w.strides), w.padding, pad_2d(w.dilations));
  ctx.set_output_cl(0, from_2d(ctx, y, n));
}

std::string check_conv(const Attrs& attrs, int) {
  const int64_t group = attrs.get_int("group", 1);
  if (group != 1) return "group=" + std::to_string(group) + " (waits on grouped/depthwise conv2d, opsnn)";
  return "";
}

void build_pool(NodeContext& ctx, bool max) {
  const int n = spatial_dims(ctx, max ? "MaxPool" : "AveragePool");
  const std::vector<int64_t> kernel = ctx.attrs().get_ints("kernel_shape", {});
  if (static_cast<int>(kernel.size()) != n) ctx.invalid("kernel_shape " + join_ints(kernel) + " for " + std::to_string(n) + " spatial dims");
  const Window w = resolve_window(ctx, ctx.shape(0), kernel, ctx.attrs().get_int("ceil_mode", 0) != 0);
  for (int64_t d : w.dilations)
    if (d != 1) ctx.unimplemented("pooling dilations (waits on opsnn)");
  if (max && ctx.wants_output(1)) ctx.unimplemented("MaxPool's Indices output");
  if (!max && w.any_padding && w.padding == Padding::same && ctx.attrs().get_int("count_include_pad", 0) != 0)
    ctx.unimplemented("count_include_pad=1 with padding (waits on opsnn)");
  Output x = as_2d(ctx, ctx.input_cl(0), n);
  // Integer max pooling through a float type that holds every value exactly.
  const DType dt = x.dtype();
  if (max && (dt == DType::u8 || dt == DType::i32)) x = ops::cast(ctx.scope(), x, dt == DType::u8 ? DType::f32 : DType::f64);
  Output y = max ? ops::max_pool(ctx.scope(), x, pad_2d(w.kernel), pad_2d(w.strides), w.padding)
                 : ops::avg_pool(ctx.scope(), x, pad_2d(w.kernel), pad_2d(w.strides), w.padding);
  if (y.dtype() != dt) y = ops::cast(ctx.scope(), y, dt);
  ctx.set_output_cl(0, from_2d(ctx, y, n));
}
void build_MaxPool(NodeContext& ctx) { build_pool(ctx, true); }
void build_AveragePool(NodeContext& ctx) { build_pool(ctx, false); }

std::string check_pool(const Attrs& attrs, int) {
  for (int64_t d : attrs.get_ints("dilations", {}))
    if (d != 1) return "dilations " + join_ints(attrs.get_ints("dilations", {})) + " (waits on pooling dilations, opsnn)";
  if (attrs.get_int("storage_order", 0) != 0) return "storage_order=1";
  return "";
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
  if (sb.rank() > 2 || sa.rank() == 0 || sb.rank() == 0)
    ctx.unimplemented("MatMul of " + sa.to_string() + " and " + sb.to_string() +
                      " (a right-hand side of rank > 2 waits on batch_matmul, opsmath)");
  // NumPy rules: a vector operand gets a 1 dim that is dropped again; leading dims of a
  // are flattened into rows.
  const bool a_vec = sa.rank() == 1, b_vec = sb.rank() == 1;
  if (a_vec) a = ops::expand_dims(ctx.scope(), a, 0);
  if (b_vec) b = ops::expand_dims(ctx.scope(), b, 1);
  const Shape la = a.shape();
  std::vector<int64_t> out_dims;
  int unknown = 0;
  for (int i = 0; i + 1 < la.rank(); ++i) {
    out_dims.push_back(la.dim(i));
    unknown += la.dim(i) < 0;
  }
  const int64_t k = la.dim(la.rank() - 1);
  if (la.rank() > 2) {
    if (unknown > 1 || k < 0)
      ctx.unimplemented("MatMul of " + sa.to_string() + " with several dims unknown until run time (waits on batch_matmul, opsmath)");
    a = ops::reshape(ctx.scope(), a, {-1, k});
  }
  Output y = ops::matmul(ctx.scope(), a, b);
  const int64_t n = b.shape().dim(1);
  if (la.rank() > 2) {
    if (n < 0) ctx.unimplemented("MatMul with an unknown number of columns");
    out_dims.push_back(n);
    y = ops::reshape(ctx.scope(), y, out_dims);
  }
  if (b_vec) y = ops::squeeze(ctx.scope(), y, {-1});
  if (a_vec) y = ops::squeeze(ctx.scope(), y, {b_vec ? -1 : -2});
  ctx.set_output(0, y);
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

std::string check_lstm(const Attrs& attrs, int) {
  const std::string dir = attrs.get_string("direction", "forward");
  if (dir != "forward") return "direction=" + dir + " (waits on ONNX LSTM semantics, opsrnn)";
  const std::vector<std::string> acts = attrs.get_strings("activations");
  if (!acts.empty() && acts != std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"})
    return "non-default activations (waits on ONNX LSTM semantics, opsrnn)";
  if (attrs.has("clip")) return "clip (waits on ONNX LSTM semantics, opsrnn)";
  if (attrs.get_int("input_forget", 0) != 0) return "input_forget=1 (waits on ONNX LSTM semantics, opsrnn)";
  if (attrs.get_int("layout", 0) != 0) return "layout=1 (waits on ONNX LSTM semantics, opsrnn)";
  return "";
}

// ONNX LSTM (forward, default activations) on Sluice's fused Keras-style LSTM: ONNX's gate
// blocks i, o, f, c are reordered to i, f, c, o, weights transposed, the two biases added,
// and the sequence goes batch-major.
void build_LSTM(NodeContext& ctx) {
  if (ctx.has_input(4)) ctx.unimplemented("sequence_lens (waits on ONNX LSTM semantics, opsrnn)");
  if (ctx.has_input(7)) ctx.unimplemented("peepholes (waits on ONNX LSTM semantics, opsrnn)");
  const Shape ws = ctx.shape(1);
  if (ws.rank() != 3 || ws.dim(0) != 1 || ws.dim(1) < 0 || ws.dim(1) % 4 != 0)
    ctx.invalid("W must be [1, 4*hidden, input], got " + ws.to_string());
  const int64_t h = ws.dim(1) / 4;
  const Scope& s = ctx.scope();
  // [1, 4H, K] in ONNX's gate order -> [K, 4H] in Keras' (i, f, c, o).
  auto reorder = [&](const Output& m) {
    std::vector<Output> g = ops::split(s, ops::squeeze(s, m, {0}), 4, 0);
    return ops::concat(s, {g[0], g[2], g[3], g[1]}, 0);
  };
  const Output kernel = ctx.fold(ops::transpose(s, reorder(ctx.input(1)), {1, 0}));
  const Output recurrent = ctx.fold(ops::transpose(s, reorder(ctx.input(2)), {1, 0}));
  const DType dt = ctx.dtype(0);
  Output bias;
  if (ctx.has_input(3)) {
    const std::vector<Output> wb_rb = ops::split(s, ctx.input(3), 2, 1);  // [1, 8H] -> 2 x [1, 4H]
    bias = ctx.fold(ops::squeeze(s, reorder(ops::expand_dims(s, ops::add(s, wb_rb[0], wb_rb[1]), -1)), {1}));
  } else {
    bias = ctx.constant_output(Tensor::zeros(dt, Shape{4 * h}));
  }
  const Output x = ops::transpose(s, ctx.input(0), {1, 0, 2});  // [T, B, K] -> [B, T, K]
  auto initial = [&](int i) {
    if (ctx.has_input(i)) return ops::squeeze(s, ctx.input(i), {0});
    // Zeros [B, H] for a batch known only at run time: a [B, 1] slice of x, zeroed, plus [1, H].
    const Output col = ops::reshape(s, ops::slice(s, x, {0, 0, 0}, {-1, 1, 1}), {-1, 1});
    return ops::add(s, ops::zeros_like(s, col), ctx.constant_output(Tensor::zeros(dt, Shape{1, h})));
  };
  const std::vector<Output> r = ops::lstm(s, x, initial(5), initial(6), kernel, recurrent, bias);
  ctx.set_output(0, ops::expand_dims(s, ops::transpose(s, r[0], {1, 0, 2}), 1));  // [T, 1, B, H]
  ctx.set_output(1, ops::expand_dims(s, r[1], 0));
  ctx.set_output(2, ops::expand_dims(s, r[2], 0));
}

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

std::vector<OpEntry> nn_op_entries() {
  return {
      {"Conv", build_Conv, check_conv,
       "1-D and 2-D, group 1, strides, dilations, bias (fused); pads VALID or TensorFlow-SAME-equivalent "
       "(auto_pad SAME_UPPER, or pads whose leading part and output size match); computed channels-last"},
      {"MaxPool", build_MaxPool, check_pool,
       "1-D and 2-D; pads as Conv; ceil_mode when it does not change the output size; no Indices output; "
       "uint8/int32 through an exact float type"},
      {"AveragePool", build_AveragePool, check_pool,
       "1-D and 2-D; pads as Conv (padding excluded from the mean: count_include_pad 0)"},
      {"GlobalAveragePool", build_GlobalAveragePool, nullptr, "any rank >= 3, channels-last"},
      {"BatchNormalization", build_BatchNormalization, check_batch_norm,
       "inference; training mode (opset 6 is_test=0, 7-13 extra outputs, 14+ training_mode) gives Y and the "
       "running statistics; spatial=1 only"},
      {"Gemm", build_Gemm, nullptr, "alpha, beta, transA, transB, broadcast C (bias add for a [N] C)"},
      {"MatMul", build_MatMul, nullptr,
       "2-D, vectors, and [..., K] x [K, N] with at most one unknown leading dim"},
      {"Softmax", build_Softmax, nullptr, "opset < 13: coerced to 2-D at axis; 13+: along axis"},
      {"LogSoftmax", build_LogSoftmax, nullptr, "as Softmax"},
      {"NegativeLogLikelihoodLoss", build_NegativeLogLikelihoodLoss, nullptr,
       "any rank, weights, ignore_index, reduction none/sum/mean (composite: one_hot, sum, gather)"},
      {"SoftmaxCrossEntropyLoss", build_SoftmaxCrossEntropyLoss, nullptr,
       "as NegativeLogLikelihoodLoss of log_softmax over axis 1; the log_prob output"},
      {"LSTM", build_LSTM, check_lstm,
       "forward direction, default activations, initial_h/initial_c, no sequence_lens, peepholes or clip"},
  };
}

}  // namespace sluice::io::onnx_detail
