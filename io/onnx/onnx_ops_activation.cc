// ONNX activations and the rest of the elementwise unary math (rounding, trigonometry,
// Erf, IsNaN / IsInf), on Sluice's activation and math ops. All are layout-agnostic: a
// channels-last input gives a channels-last output.
#include <functional>

#include "../../ops/activation_ops.h"
#include "../../ops/array_ops.h"
#include "../../ops/conv_attrs.h"
#include "../../ops/conv_ops.h"
#include "../../ops/math_binary_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/math_unary_ops.h"
#include "../../ops/nn_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

// Conv -> Relu / Clip with constant bounds (ResNet's and MobileNet's pattern) when the
// convolution's output feeds nothing else: the activation runs inside a second FusedConv2D
// on the same input, filter and bias, while a bias pass over the output is saved. The
// unfused convolution stays in the graph as the ONNX value it names, so fetching it still
// works; a session runs it only then.
bool fused_into_conv(NodeContext& ctx, const FusedActivation& act) {
  if (!ctx.is_cl(0) || ctx.consumers(0) != 1) return false;
  Node* conv = ctx.input_cl(0).node();
  if (conv->op_type() != "FusedConv2D" || kernels::read_activation(*conv).kind != FusedActivation::none) return false;
  const kernels::ConvArgs a = kernels::read_conv_args(*conv);
  ctx.set_output_cl(0, ops::fused_conv2d(ctx.scope(), conv->inputs[0], conv->inputs[1], conv->inputs[2], act, a.strides,
                                         a.pads, a.dilations, a.groups));
  return true;
}

namespace {

using Fn = std::function<Output(const Scope&, const Output&)>;

// f(input 0) in whichever layout the input is held; float and double only unless `any`.
void unary(NodeContext& ctx, const Fn& f, bool any = false) {
  if (!any && !is_floating(ctx.dtype(0)))
    ctx.unimplemented(std::string("input type ") + dtype_name(ctx.dtype(0)) + " (float and double only)");
  if (ctx.is_cl(0)) return ctx.set_output_cl(0, f(ctx.scope(), ctx.input_cl(0)));
  ctx.set_output(0, f(ctx.scope(), ctx.input(0)));
}

double alpha(NodeContext& ctx, float def) { return ctx.attrs().get_float("alpha", def); }

// Clip-6 takes min/max attributes; Clip-11+ optional scalar inputs (known or not at import
// time). NumPy's order: min(max(x, lo), hi), so hi wins where lo > hi.
void build_Clip(NodeContext& ctx) {
  const Scope& s = ctx.scope();
  const bool cl = ctx.is_cl(0);
  const Output x = cl ? ctx.input_cl(0) : ctx.input(0);
  Output lo, hi;
  if (ctx.opset() < 11) {
    if (ctx.attrs().has("min")) lo = ops::scalar_like(s, x, ctx.attrs().get_float("min", 0));
    if (ctx.attrs().has("max")) hi = ops::scalar_like(s, x, ctx.attrs().get_float("max", 0));
  } else {
    auto bound = [&](int i) {
      Output b = ctx.input(i);
      if (b.dtype() != x.dtype()) b = ops::cast(s, b, x.dtype());
      return b.shape().rank() == 0 ? b : ops::reshape(s, b, std::vector<int64_t>{});
    };
    if (ctx.has_input(1)) lo = bound(1);
    if (ctx.has_input(2)) hi = bound(2);
  }
  const Tensor* lo_c = ctx.opset() < 11 || !ctx.has_input(1) ? nullptr : ctx.constant(1);
  const Tensor* hi_c = ctx.opset() < 11 || !ctx.has_input(2) ? nullptr : ctx.constant(2);
  if (ctx.opset() >= 11 && lo_c && hi_c && lo_c->num_elements() == 1 && hi_c->num_elements() == 1 &&
      lo_c->as_double(0) <= hi_c->as_double(0) &&
      fused_into_conv(ctx, FusedActivation::clip_to(lo_c->as_double(0), hi_c->as_double(0))))
    return;
  Output y;
  if (lo.valid() && hi.valid()) y = ops::clip_by_value(s, x, lo, hi, /*numpy_order=*/true);
  else if (lo.valid()) y = ops::maximum(s, x, lo);
  else if (hi.valid()) y = ops::minimum(s, x, hi);
  else y = ops::identity(s, x);
  cl ? ctx.set_output_cl(0, y) : ctx.set_output(0, y);
}

void build_LeakyRelu(NodeContext& ctx) {
  const double a = alpha(ctx, 0.01f);
  unary(ctx, [a](const Scope& s, const Output& x) { return ops::leaky_relu(s, x, a); });
}
void build_Elu(NodeContext& ctx) {
  const double a = alpha(ctx, 1.0f);
  unary(ctx, [a](const Scope& s, const Output& x) { return ops::elu(s, x, a); });
}
void build_Celu(NodeContext& ctx) {
  const double a = alpha(ctx, 1.0f);
  unary(ctx, [a](const Scope& s, const Output& x) { return ops::celu(s, x, a); });
}
void build_Selu(NodeContext& ctx) {
  // ONNX's defaults are the SELU constants rounded to float32.
  const double a = alpha(ctx, 1.67326319217681884765625f), g = ctx.attrs().get_float("gamma", 1.05070102214813232421875f);
  unary(ctx, [a, g](const Scope& s, const Output& x) { return ops::selu(s, x, a, g); });
}
void build_HardSigmoid(NodeContext& ctx) {
  const double a = alpha(ctx, 0.2f), b = ctx.attrs().get_float("beta", 0.5f);
  unary(ctx, [a, b](const Scope& s, const Output& x) { return ops::hard_sigmoid(s, x, a, b); });
}
void build_ThresholdedRelu(NodeContext& ctx) {
  const double a = alpha(ctx, 1.0f);
  unary(ctx, [a](const Scope& s, const Output& x) { return ops::thresholded_relu(s, x, a); });
}
void build_HardSwish(NodeContext& ctx) { unary(ctx, ops::hard_swish); }
void build_Softplus(NodeContext& ctx) { unary(ctx, ops::softplus); }
void build_Softsign(NodeContext& ctx) { unary(ctx, ops::softsign); }
void build_Erf(NodeContext& ctx) { unary(ctx, ops::erf); }
void build_Floor(NodeContext& ctx) { unary(ctx, ops::floor); }
void build_Ceil(NodeContext& ctx) { unary(ctx, ops::ceil); }
void build_Round(NodeContext& ctx) { unary(ctx, ops::round); }
void build_Sin(NodeContext& ctx) { unary(ctx, ops::sin); }
void build_Cos(NodeContext& ctx) { unary(ctx, ops::cos); }
void build_Tan(NodeContext& ctx) { unary(ctx, ops::tan); }
void build_Asin(NodeContext& ctx) { unary(ctx, ops::asin); }
void build_Acos(NodeContext& ctx) { unary(ctx, ops::acos); }
void build_Atan(NodeContext& ctx) { unary(ctx, ops::atan); }
void build_Sinh(NodeContext& ctx) { unary(ctx, ops::sinh); }
void build_Cosh(NodeContext& ctx) { unary(ctx, ops::cosh); }
void build_Asinh(NodeContext& ctx) { unary(ctx, ops::asinh); }
void build_Acosh(NodeContext& ctx) { unary(ctx, ops::acosh); }
void build_Atanh(NodeContext& ctx) { unary(ctx, ops::atanh); }
void build_IsNaN(NodeContext& ctx) { unary(ctx, ops::is_nan); }
void build_IsInf(NodeContext& ctx) {
  const bool pos = ctx.attrs().get_int("detect_positive", 1) != 0, neg = ctx.attrs().get_int("detect_negative", 1) != 0;
  unary(ctx, [pos, neg](const Scope& s, const Output& x) { return ops::is_inf(s, x, pos, neg); });
}

}  // namespace

std::vector<OpEntry> activation_op_entries() {
  return {
      {"Clip", build_Clip, nullptr, "min/max attributes (< 11) or optional scalar inputs, also at run time (11+); NumPy order (max wins)"},
      {"LeakyRelu", build_LeakyRelu, nullptr, "alpha"},
      {"Elu", build_Elu, nullptr, "alpha"},
      {"Celu", build_Celu, nullptr, "alpha"},
      {"Selu", build_Selu, nullptr, "alpha, gamma"},
      {"HardSigmoid", build_HardSigmoid, nullptr, "alpha, beta"},
      {"ThresholdedRelu", build_ThresholdedRelu, nullptr, "alpha"},
      {"HardSwish", build_HardSwish, nullptr, "float, double"},
      {"Softplus", build_Softplus, nullptr, "float, double"},
      {"Softsign", build_Softsign, nullptr, "float, double"},
      {"Erf", build_Erf, nullptr, "float, double"},
      {"Floor", build_Floor, nullptr, "float, double"},
      {"Ceil", build_Ceil, nullptr, "float, double"},
      {"Round", build_Round, nullptr, "halves to even"},
      {"Sin", build_Sin, nullptr, "float, double"},
      {"Cos", build_Cos, nullptr, "float, double"},
      {"Tan", build_Tan, nullptr, "float, double"},
      {"Asin", build_Asin, nullptr, "float, double"},
      {"Acos", build_Acos, nullptr, "float, double"},
      {"Atan", build_Atan, nullptr, "float, double"},
      {"Sinh", build_Sinh, nullptr, "float, double"},
      {"Cosh", build_Cosh, nullptr, "float, double"},
      {"Asinh", build_Asinh, nullptr, "float, double"},
      {"Acosh", build_Acosh, nullptr, "float, double"},
      {"Atanh", build_Atanh, nullptr, "float, double"},
      {"IsNaN", build_IsNaN, nullptr, "float, double"},
      {"IsInf", build_IsInf, nullptr, "detect_positive, detect_negative"},
  };
}

}  // namespace sluice::io::onnx_detail
