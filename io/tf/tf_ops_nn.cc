// TF op table, neural-network ops: activations, softmax, convolution and pooling (NHWC
// kernels; NCHW by transposing around them), fused batch normalization.
#include "../../ops/array_ops.h"
#include "../../ops/conv_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/normalization_ops.h"
#include "../../ops/pool_ops.h"
#include "detail/tf_convert.h"

namespace sluice::io::tf {

namespace {

template <Output (*f)(const Scope&, const Output&)>
Converted unary(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(f(ctx.scope(), ctx.input(0)));
}

Padding padding_of(const ConvertContext& ctx) {
  const std::string p = ctx.attr_string("padding");
  if (p == "SAME") return Padding::same;
  if (p == "VALID") return Padding::valid;
  ctx.unsupported("padding '" + p + "' is not supported (SAME, VALID)");
}

// The spatial {H, W} entries of a 4-entry strides/ksize/dilations attr, checking that the
// batch and channel entries are 1.
std::vector<int64_t> spatial(const ConvertContext& ctx, const std::string& attr, bool nchw,
                             std::vector<int64_t> def = {}) {
  const std::vector<int64_t> v = def.empty() ? ctx.attr_ints(attr) : ctx.attr_ints(attr, def);
  if (v.size() != 4) ctx.invalid("attr '" + attr + "' must have 4 entries, has " + std::to_string(v.size()));
  const int h = nchw ? 2 : 1, c = nchw ? 1 : 3;
  if (v[0] != 1 || v[c] != 1) ctx.unsupported("attr '" + attr + "' must be 1 in the batch and channel dims");
  return {v[h], v[h + 1]};
}

Converted convert_conv2d(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const bool nchw = is_nchw(ctx);
  const auto strides = spatial(ctx, "strides", nchw);
  const auto dilations = spatial(ctx, "dilations", nchw, {1, 1, 1, 1});
  const Padding padding = padding_of(ctx);
  if (!nchw) return ctx.one(ops::conv2d(ctx.scope(), ctx.input(0), ctx.input(1), strides, padding, dilations));
  Output y = ops::conv2d(ctx.aux("conv"), to_nhwc(ctx, ctx.input(0)), ctx.input(1), strides, padding, dilations);
  return ctx.one(to_nchw(ctx, y, true));
}

// TF's pools with their defaults (no dilation, floor mode; AvgPool divides by the
// non-padding count), in one signature for convert_pool.
using PoolFn = Output (*)(const Scope&, const Output&, std::vector<int64_t>, std::vector<int64_t>, Padding);
Output tf_max_pool(const Scope& s, const Output& x, std::vector<int64_t> k, std::vector<int64_t> st, Padding p) {
  return ops::max_pool(s, x, std::move(k), std::move(st), p);
}
Output tf_avg_pool(const Scope& s, const Output& x, std::vector<int64_t> k, std::vector<int64_t> st, Padding p) {
  return ops::avg_pool(s, x, std::move(k), std::move(st), p);
}

template <PoolFn pool>
Converted convert_pool(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const bool nchw = is_nchw(ctx);
  const auto ksize = spatial(ctx, "ksize", nchw), strides = spatial(ctx, "strides", nchw);
  const Padding padding = padding_of(ctx);
  if (!nchw) return ctx.one(pool(ctx.scope(), ctx.input(0), ksize, strides, padding));
  Output y = pool(ctx.aux("pool"), to_nhwc(ctx, ctx.input(0)), ksize, strides, padding);
  return ctx.one(to_nchw(ctx, y, true));
}

// FusedBatchNorm / V2 / V3: y = scale * (x - m) / sqrt(v + epsilon) + offset with TF's
// epsilon (default 1e-4) as given. is_training (TF's default: true) uses batch statistics
// (batch_variance Bessel-corrected, y with the biased one, as TF); V3's
// exponential_avg_factor blends them with the given mean/variance.
Converted convert_fused_batch_norm(ConvertContext& ctx) {
  ctx.require_inputs(5);
  const bool nchw = is_nchw(ctx);
  const bool training = ctx.attr_bool("is_training", true);
  const double eps = ctx.attr_float("epsilon", 1e-4f);
  const double factor = ctx.attr_float("exponential_avg_factor", 1.0f);
  Output x = ctx.input(0);
  const Output scale = ctx.input(1), offset = ctx.input(2);
  Output mean = ctx.input(3), var = ctx.input(4);
  if (training) {
    // TF passes empty mean/variance in training; Sluice's op wants [C] tensors it ignores.
    if (mean.shape().rank() == 1 && mean.shape().dim(0) == 0) mean = ops::zeros_like(ctx.aux("mean"), scale);
    if (var.shape().rank() == 1 && var.shape().dim(0) == 0) var = ops::zeros_like(ctx.aux("variance"), scale);
  }
  if (nchw) {
    if (x.shape().rank() != 4) ctx.unsupported("NCHW needs a 4-d input, got " + x.shape().to_string());
    x = to_nhwc(ctx, x);
  }
  const Output phase = ops::constant(ctx.aux("is_training"), Tensor(training));
  const Scope s = nchw ? ctx.aux("bn") : ctx.scope();
  ops::FusedBatchNormOutputs bn = ops::fused_batch_norm(s, x, scale, offset, mean, var, phase, eps, true);
  Output y = nchw ? to_nchw(ctx, bn.y, true) : bn.y;
  Output batch_mean = bn.batch_mean, batch_var = bn.batch_variance;
  if (training && factor != 1.0) {
    auto blend = [&](const Output& old_v, const Output& new_v, const std::string& what) {
      return ops::add(ctx.aux(what), ops::mul(ctx.aux(what + "_old"), old_v, ops::scalar_like(ctx.aux(what + "_1mf"), old_v, 1.0 - factor)),
                      ops::mul(ctx.aux(what + "_new"), new_v, ops::scalar_like(ctx.aux(what + "_f"), new_v, factor)));
    };
    batch_mean = blend(ctx.input(3), batch_mean, "avg_mean");
    batch_var = blend(ctx.input(4), batch_var, "avg_var");
  }
  // reserve_space_1 is the mean used; the other reserve spaces are TF-internal (cuDNN) and
  // not produced.
  std::vector<Output> outs = {y, batch_mean, batch_var, bn.reserve_mean, Output()};
  if (ctx.op_type() == "FusedBatchNormV3") outs.push_back(Output());
  return Converted{outs, nchw ? y.op() : bn.op};
}

}  // namespace

void add_nn_ops(std::vector<OpEntry>& t) {
  t.push_back({"Relu", unary<ops::relu>, "Relu", ""});
  t.push_back({"Softmax", unary<ops::softmax>, "Softmax", "over the last axis"});
  t.push_back({"LogSoftmax", unary<ops::log_softmax>, "LogSoftmax", "over the last axis"});
  const char* conv = "`strides`, `dilations` (1 in batch and channel), `padding` SAME (TF's split: the extra row/col "
                     "at the bottom/right, also for even kernels and stride 2) or VALID, `data_format` NHWC or NCHW "
                     "(transposed around the NHWC kernel); filter HWIO";
  t.push_back({"Conv2D", convert_conv2d, "Conv2D (+ Transposes for NCHW)", conv});
  const char* pool = "`ksize`, `strides` (1 in batch and channel), `padding` SAME/VALID (average pooling divides by "
                     "the non-padding count, as TF), `data_format` NHWC or NCHW (transposed)";
  t.push_back({"MaxPool", convert_pool<tf_max_pool>, "MaxPool (+ Transposes for NCHW)", pool});
  t.push_back({"AvgPool", convert_pool<tf_avg_pool>, "AvgPool (+ Transposes for NCHW)", pool});
  const char* bn = "`epsilon` (default 1e-4) used as given, `is_training` (default true: batch statistics, "
                   "batch_variance Bessel-corrected), `data_format` NHWC/NCHW (transposed); outputs y, batch_mean, "
                   "batch_variance, reserve_space_1 (the mean used); the other reserve spaces are not produced";
  t.push_back({"FusedBatchNorm", convert_fused_batch_norm, "FusedBatchNorm", bn});
  t.push_back({"FusedBatchNormV2", convert_fused_batch_norm, "FusedBatchNorm", bn});
  t.push_back({"FusedBatchNormV3", convert_fused_batch_norm, "FusedBatchNorm (+ Add/Mul for the average factor)",
               "as FusedBatchNorm; `exponential_avg_factor` in training"});
}

}  // namespace sluice::io::tf
