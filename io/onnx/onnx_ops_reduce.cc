// ONNX reductions over constant axes, and ArgMax / ArgMin. ReduceSumSquare, ReduceL1,
// ReduceL2, ReduceLogSum and ReduceLogSumExp are composites of Sluice's sum/max and
// elementwise ops (their gradients come for free). A channels-last input is reduced in that
// layout when the result's order allows it.
#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/reduction_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

enum class Kind { sum, mean, max, min, sum_square, l1, l2, log_sum, log_sum_exp };

Output reduce_with(const Scope& s, Kind kind, const Output& x, const std::vector<int64_t>& axes, bool keep) {
  switch (kind) {
    case Kind::sum: return ops::sum(s, x, axes, keep);
    case Kind::mean: return ops::mean(s, x, axes, keep);
    case Kind::max: return ops::max(s, x, axes, keep);
    case Kind::min: return ops::min(s, x, axes, keep);
    case Kind::sum_square: return ops::sum(s, ops::square(s, x), axes, keep);
    case Kind::l1: return ops::sum(s, ops::abs(s, x), axes, keep);
    case Kind::l2: return ops::sqrt(s, ops::sum(s, ops::square(s, x), axes, keep));
    case Kind::log_sum: return ops::log(s, ops::sum(s, x, axes, keep));
    case Kind::log_sum_exp: {
      // log(sum(exp(x - m))) + m with m the max, so large inputs do not overflow; m is a
      // constant shift for the gradient (it cancels exactly).
      const Output m = ops::stop_gradient(s, ops::max(s, x, axes, true));
      const Output y = ops::add(s, ops::log(s, ops::sum(s, ops::exp(s, ops::sub(s, x, m)), axes, true)), m);
      return keep ? y : ops::squeeze(s, y, axes);
    }
  }
  return x;
}

// Axes from the attribute (all opsets for most reductions here; ReduceSum takes an input
// from 13), with noop_with_empty_axes (13+).
void build_reduce(NodeContext& ctx, Kind kind) {
  const int r = ctx.rank(0);
  const bool keep = ctx.attrs().get_int("keepdims", 1) != 0;
  std::vector<int64_t> axes;
  bool given = false;
  if (kind == Kind::sum && ctx.opset() >= 13) {
    if (ctx.has_input(1)) {
      axes = ctx.constant_ints(1, "axes", "reductions with a tensor axes input, opsmath");
      given = true;
    }
  } else if (ctx.attrs().has("axes")) {
    axes = ctx.attrs().get_ints("axes", {});
    given = true;
  }
  if (given && axes.empty() && ctx.attrs().get_int("noop_with_empty_axes", 0) != 0) {
    if (ctx.is_cl(0)) return ctx.set_output_cl(0, ops::identity(ctx.scope(), ctx.input_cl(0)));
    return ctx.set_output(0, ops::identity(ctx.scope(), ctx.input(0)));
  }
  for (int64_t& a : axes) a = ctx.axis(a, r, "axes");
  if (axes.empty())
    for (int i = 0; i < r; ++i) axes.push_back(i);
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (ctx.is_cl(0)) {
    // In channels-last order the kept dims come out as [N?, spatial.., C?]; that is ONNX's
    // order too when C or every spatial dim is reduced away (or the dims are kept).
    std::vector<int64_t> cl_axes;
    bool c_reduced = false;
    int spatial_reduced = 0;
    for (int64_t a : axes) {
      cl_axes.push_back(cl_axis(a, r));
      if (a == 1) c_reduced = true;
      if (a >= 2) ++spatial_reduced;
    }
    std::sort(cl_axes.begin(), cl_axes.end());
    const Output y = reduce_with(ctx.scope(), kind, ctx.input_cl(0), cl_axes, keep);
    if (keep) return ctx.set_output_cl(0, y);
    if (c_reduced || spatial_reduced == r - 2) return ctx.set_output(0, y);
  }
  ctx.set_output(0, reduce_with(ctx.scope(), kind, ctx.input(0), axes, keep));
}

void build_ReduceSum(NodeContext& ctx) { build_reduce(ctx, Kind::sum); }
void build_ReduceMean(NodeContext& ctx) { build_reduce(ctx, Kind::mean); }
void build_ReduceMax(NodeContext& ctx) { build_reduce(ctx, Kind::max); }
void build_ReduceMin(NodeContext& ctx) { build_reduce(ctx, Kind::min); }
void build_ReduceSumSquare(NodeContext& ctx) { build_reduce(ctx, Kind::sum_square); }
void build_ReduceL1(NodeContext& ctx) { build_reduce(ctx, Kind::l1); }
void build_ReduceL2(NodeContext& ctx) { build_reduce(ctx, Kind::l2); }
void build_ReduceLogSum(NodeContext& ctx) { build_reduce(ctx, Kind::log_sum); }
void build_ReduceLogSumExp(NodeContext& ctx) { build_reduce(ctx, Kind::log_sum_exp); }

void build_arg(NodeContext& ctx, bool max) {
  const int r = ctx.rank(0);
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 0), r);
  Output y = max ? ops::argmax(ctx.scope(), ctx.input(0), axis) : ops::argmin(ctx.scope(), ctx.input(0), axis);
  if (ctx.attrs().get_int("keepdims", 1) != 0) y = ops::expand_dims(ctx.scope(), y, axis);
  ctx.set_output(0, y);
}
void build_ArgMax(NodeContext& ctx) { build_arg(ctx, true); }
void build_ArgMin(NodeContext& ctx) { build_arg(ctx, false); }

// MeanVarianceNormalization: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes`
// (default [0, 2, 3]), as ONNX's function body computes it.
void build_MeanVarianceNormalization(NodeContext& ctx) {
  const Scope& s = ctx.scope();
  const int r = ctx.rank(0);
  std::vector<int64_t> axes = ctx.attrs().get_ints("axes", {0, 2, 3});
  for (int64_t& a : axes) a = ctx.axis(a, r, "axes");
  const Output x = ctx.input(0);
  const Output mean = ops::mean(s, x, axes, true);
  const Output var = ops::sub(s, ops::mean(s, ops::square(s, x), axes, true), ops::square(s, mean));
  ctx.set_output(0, ops::div(s, ops::sub(s, x, mean), ops::add(s, ops::sqrt(s, var), ops::scalar_like(s, x, 1e-9))));
}

std::string check_arg(const Attrs& attrs, int) {
  if (attrs.get_int("select_last_index", 0) != 0) return "select_last_index=1 (waits on opsmath)";
  return "";
}

}  // namespace

std::vector<OpEntry> reduce_op_entries() {
  const char* attr_axes = "axes attribute, keepdims; channels-last inputs reduced in place";
  return {
      {"ReduceSum", build_ReduceSum, nullptr,
       "axes attribute (< 13) or constant input (13+), keepdims, noop_with_empty_axes"},
      {"ReduceMean", build_ReduceMean, nullptr, attr_axes},
      {"ReduceMax", build_ReduceMax, nullptr, attr_axes},
      {"ReduceMin", build_ReduceMin, nullptr, attr_axes},
      {"ReduceSumSquare", build_ReduceSumSquare, nullptr, "composite: sum(square(x)); axes attribute"},
      {"ReduceL1", build_ReduceL1, nullptr, "composite: sum(abs(x)); axes attribute"},
      {"ReduceL2", build_ReduceL2, nullptr, "composite: sqrt(sum(square(x))); axes attribute"},
      {"ReduceLogSum", build_ReduceLogSum, nullptr, "composite: log(sum(x)); axes attribute"},
      {"ReduceLogSumExp", build_ReduceLogSumExp, nullptr, "composite, max-shifted: log(sum(exp(x - m))) + m"},
      {"MeanVarianceNormalization", build_MeanVarianceNormalization, nullptr, "axes (default [0, 2, 3])"},
      {"ArgMax", build_ArgMax, check_arg, "axis, keepdims; first index on ties (select_last_index 0)"},
      {"ArgMin", build_ArgMin, check_arg, "axis, keepdims; first index on ties (select_last_index 0)"},
  };
}

}  // namespace sluice::io::onnx_detail
