// ONNX elementwise ops: unary math and activations, broadcasting binary arithmetic,
// comparisons, logic, Cast and Where. All are layout-agnostic: a channels-last input gives a
// channels-last output, and lower-rank operands are broadcast in that layout.
#include <functional>

#include "../../ops/array_ops.h"
#include "../../ops/activation_ops.h"
#include "../../ops/math_binary_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/reduction_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

using Unary = Output (*)(const Scope&, const Output&);
using Binary = Output (*)(const Scope&, const Output&, const Output&);

// f(input 0), in whichever layout the input is held.
void unary(NodeContext& ctx, const std::function<Output(const Scope&, const Output&)>& f) {
  if (ctx.is_cl(0)) return ctx.set_output_cl(0, f(ctx.scope(), ctx.input_cl(0)));
  ctx.set_output(0, f(ctx.scope(), ctx.input(0)));
}

// The present inputs, broadcast together (NumPy rules, as ONNX's multidirectional
// broadcasting). When one of them is held channels-last at the highest rank, all are read
// channels-last: lower-rank operands (a bias [C,1,1], a scalar) are first given leading 1s,
// which is where ONNX aligns them, then permuted like the rest.
struct Operands {
  std::vector<Output> xs;
  bool cl = false;
};
Operands operands(NodeContext& ctx) {
  // Opset 6's Add/Sub/Mul/Div/Pow with broadcast=1 align B with A at `axis` (default: the
  // trailing dims); trailing 1s turn that into NumPy alignment.
  const int n = ctx.num_inputs();
  std::vector<int> trailing(static_cast<size_t>(n), 0);
  // PRelu-6 (and before) applies a slope [C] per channel: aligned with axis 1.
  if (ctx.opset() < 7 && n == 2 && ctx.node().op_type() == "PRelu") {
    const Shape a = ctx.shape(0), b = ctx.shape(1);
    if (a.known_rank() && b.known_rank() && b.rank() == 1 && a.rank() >= 2 && b.dim(0) != 1)
      trailing[1] = a.rank() - 2;
  } else if (ctx.opset() < 7 && n == 2 && ctx.attrs().get_int("broadcast", 0) == 1 && ctx.attrs().has("axis")) {
    const Shape a = ctx.shape(0), b = ctx.shape(1);
    if (!a.known_rank() || !b.known_rank()) ctx.unimplemented("legacy broadcast with unknown ranks");
    const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 0), a.rank());
    if (axis + b.rank() > a.rank()) ctx.invalid("broadcast axis " + std::to_string(axis) + " does not fit B " + b.to_string() + " into A " + a.to_string());
    trailing[1] = static_cast<int>(a.rank() - axis - b.rank());
  }
  auto onnx_input = [&](int i) {
    Output x = ctx.input(i);
    for (int j = 0; j < trailing[i]; ++j) x = ops::expand_dims(ctx.scope(), x, -1);
    return trailing[i] ? ctx.fold(x) : x;
  };
  Operands out;
  int r = 0;
  bool ranks_known = true, any_cl = false;
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) continue;
    const Shape s = ctx.shape(i);
    if (!s.known_rank()) ranks_known = false;
    else r = std::max(r, s.rank() + trailing[i]);
  }
  for (int i = 0; i < n; ++i)
    if (ctx.has_input(i) && ctx.is_cl(i) && ctx.shape(i).rank() == r) any_cl = true;
  out.cl = ranks_known && any_cl && r >= 3;
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) continue;
    if (!out.cl) {
      out.xs.push_back(onnx_input(i));
      continue;
    }
    const int k = ctx.shape(i).rank() + trailing[i];
    if (k == r && trailing[i] == 0) {
      out.xs.push_back(ctx.input_cl(i));
      continue;
    }
    Output x = onnx_input(i);
    for (int j = k; j < r; ++j) x = ops::expand_dims(ctx.scope(), x, 0);
    out.xs.push_back(ctx.fold(ops::transpose(ctx.scope(), x, perm_to_cl(r))));
  }
  return out;
}

void set_result(NodeContext& ctx, const Operands& o, const Output& y) {
  if (o.cl) ctx.set_output_cl(0, y);
  else ctx.set_output(0, y);
}

// Integer arithmetic on partly known shapes (the element is known where both are).
std::optional<int64_t> combine(char op, std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a || !b) return std::nullopt;
  switch (op) {
    case '+': return *a + *b;
    case '-': return *a - *b;
    case '*': return *a * *b;
    case '/': return *b == 0 ? std::nullopt : std::optional<int64_t>(*a / *b);
    default: return std::nullopt;
  }
}

void binary(NodeContext& ctx, Binary f, char op = 0) {
  Operands o = operands(ctx);
  if (o.xs.size() != 2) ctx.invalid("expects 2 inputs, got " + std::to_string(o.xs.size()));
  set_result(ctx, o, f(ctx.scope(), o.xs[0], o.xs[1]));
  const auto a = ctx.partial(0), b = ctx.partial(1);
  if (!op || !a || !b || o.cl || a->empty() || b->empty()) return;
  if (a->size() != b->size() && a->size() != 1 && b->size() != 1) return;
  Partial out;
  for (size_t i = 0; i < std::max(a->size(), b->size()); ++i)
    out.push_back(combine(op, (*a)[a->size() == 1 ? 0 : i], (*b)[b->size() == 1 ? 0 : i]));
  ctx.set_partial(0, out, ctx.rank(0) == 0 && ctx.rank(1) == 0);
}

// Sum / Max / Min / Mean of one or more inputs, broadcasting.
void variadic(NodeContext& ctx, Binary f, bool mean) {
  Operands o = operands(ctx);
  if (o.xs.empty()) ctx.invalid("expects at least one input");
  Output y = o.xs[0];
  for (size_t i = 1; i < o.xs.size(); ++i) y = f(ctx.scope(), y, o.xs[i]);
  if (o.xs.size() == 1) y = ops::identity(ctx.scope(), y);
  if (mean && o.xs.size() > 1) y = ops::div(ctx.scope(), y, ops::scalar_like(ctx.scope(), y, static_cast<double>(o.xs.size())));
  set_result(ctx, o, y);
}

void build_float_unary(NodeContext& ctx, Unary f) {
  if (!is_floating(ctx.dtype(0))) ctx.unimplemented(std::string("input type ") + dtype_name(ctx.dtype(0)) + " (float and double only)");
  unary(ctx, f);
}

void build_Abs(NodeContext& ctx) { unary(ctx, ops::abs); }
void build_Neg(NodeContext& ctx) { unary(ctx, ops::neg); }
void build_Sign(NodeContext& ctx) { unary(ctx, ops::sign); }
void build_Exp(NodeContext& ctx) { build_float_unary(ctx, ops::exp); }
void build_Log(NodeContext& ctx) { build_float_unary(ctx, ops::log); }
void build_Sqrt(NodeContext& ctx) { build_float_unary(ctx, ops::sqrt); }
void build_Reciprocal(NodeContext& ctx) { build_float_unary(ctx, ops::reciprocal); }
void build_Relu(NodeContext& ctx) {
  if (!fused_into_conv(ctx, FusedActivation::relu)) build_float_unary(ctx, ops::relu);
}
void build_Sigmoid(NodeContext& ctx) { build_float_unary(ctx, ops::sigmoid); }
void build_Tanh(NodeContext& ctx) { build_float_unary(ctx, ops::tanh); }
void build_Not(NodeContext& ctx) { unary(ctx, ops::logical_not); }

void build_Add(NodeContext& ctx) { binary(ctx, ops::add, '+'); }
void build_Sub(NodeContext& ctx) { binary(ctx, ops::sub, '-'); }
void build_Mul(NodeContext& ctx) { binary(ctx, ops::mul, '*'); }
void build_Div(NodeContext& ctx) { binary(ctx, ops::div, '/'); }
void build_Equal(NodeContext& ctx) { binary(ctx, ops::equal); }
void build_Less(NodeContext& ctx) { binary(ctx, ops::less); }
void build_LessOrEqual(NodeContext& ctx) { binary(ctx, ops::less_equal); }
void build_Greater(NodeContext& ctx) { binary(ctx, ops::greater); }
void build_GreaterOrEqual(NodeContext& ctx) { binary(ctx, ops::greater_equal); }
void build_And(NodeContext& ctx) { binary(ctx, ops::logical_and); }
void build_Or(NodeContext& ctx) { binary(ctx, ops::logical_or); }
void build_Sum(NodeContext& ctx) { variadic(ctx, ops::add, false); }
void build_Mean(NodeContext& ctx) { variadic(ctx, ops::add, true); }
void build_Max(NodeContext& ctx) { variadic(ctx, ops::maximum, false); }
void build_Min(NodeContext& ctx) { variadic(ctx, ops::minimum, false); }

// Mod: fmod=1 is C's fmod (the sign of the dividend: truncate_mod), fmod=0 Python's %
// (the sign of the divisor: floor_mod; integers only in ONNX).
void build_Mod(NodeContext& ctx) {
  binary(ctx, ctx.attrs().get_int("fmod", 0) != 0 ? Binary(ops::truncate_mod) : Binary(ops::floor_mod));
}
void build_Xor(NodeContext& ctx) { binary(ctx, ops::logical_xor); }
// PRelu: slope broadcast (unidirectionally) against x, in x's layout.
void build_PRelu(NodeContext& ctx) { binary(ctx, ops::prelu); }

void build_Pow(NodeContext& ctx) {
  // Pow-12+ allows an exponent of another type than the base: it is converted to the
  // base's type (exact for the integer exponents ONNX's tests use).
  // An integer base is raised in double and truncated back (exact while results fit 2^53).
  Operands o = operands(ctx);
  if (o.xs.size() != 2) ctx.invalid("expects 2 inputs");
  const DType dt = o.xs[0].dtype();
  if (dt == DType::boolean) ctx.invalid("Pow of a bool base");
  const DType work = is_floating(dt) ? dt : DType::f64;
  auto as = [&](const Output& x) { return x.dtype() == work ? x : ctx.fold(ops::cast(ctx.scope(), x, work)); };
  Output y = ops::pow(ctx.scope(), as(o.xs[0]), as(o.xs[1]));
  set_result(ctx, o, y.dtype() == dt ? y : ops::cast(ctx.scope(), y, dt));
}

void build_Where(NodeContext& ctx) {
  Operands o = operands(ctx);
  if (o.xs.size() != 3) ctx.invalid("expects 3 inputs");
  set_result(ctx, o, ops::select(ctx.scope(), o.xs[0], o.xs[1], o.xs[2]));
}

void build_Cast(NodeContext& ctx) {
  const DType to = dtype_from_onnx(static_cast<int>(ctx.attrs().get_int("to", 0)), ctx.where() + ": attribute 'to'");
  if ((ctx.dtype(0) == DType::string) != (to == DType::string))
    ctx.unimplemented(std::string("Cast from ") + dtype_name(ctx.dtype(0)) + " to " + dtype_name(to) +
                      " (numbers to and from text: Sluice has no string conversion op yet)");
  unary(ctx, [&](const Scope& s, const Output& x) {
    return x.dtype() == to ? ops::identity(s, x) : ops::cast(s, x, to);
  });
  if (const auto p = ctx.partial(0); p && is_integer(to)) ctx.set_partial(0, *p, ctx.rank(0) == 0);
}

// Shrink: x + bias below -lambd, x - bias above lambd, 0 between.
void build_Shrink(NodeContext& ctx) {
  const double bias = ctx.attrs().get_float("bias", 0.0f), lambd = ctx.attrs().get_float("lambd", 0.5f);
  unary(ctx, [&](const Scope& s, const Output& x) {
    const Output low = ops::less(s, x, ops::scalar_like(s, x, -lambd));
    const Output high = ops::greater(s, x, ops::scalar_like(s, x, lambd));
    return ops::select(s, low, ops::add(s, x, ops::scalar_like(s, x, bias)),
                       ops::select(s, high, ops::sub(s, x, ops::scalar_like(s, x, bias)), ops::zeros_like(s, x)));
  });
}

// Hardmax: 1 at the first maximum along the axis (13+; before 13 of the input coerced to 2-D
// at the axis), 0 elsewhere: one_hot(argmax).
void build_Hardmax(NodeContext& ctx) {
  const Scope& s = ctx.scope();
  const int r = ctx.rank(0);
  const Shape shape = ctx.shape(0);
  const Output x = ctx.input(0);
  auto hard = [&](const Output& v) {  // along the last axis
    const int64_t depth = v.shape().dim(v.shape().rank() - 1);
    if (depth < 0) ctx.unimplemented("Hardmax over an axis whose size is known only at run time");
    return ops::one_hot(s, ops::argmax(s, v, -1), depth, 1.0, 0.0, v.dtype());
  };
  if (ctx.opset() >= 13) {
    const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", -1), r);
    if (axis == r - 1) return ctx.set_output(0, hard(x));
    std::vector<int64_t> perm;
    for (int i = 0; i < r; ++i)
      if (i != axis) perm.push_back(i);
    perm.push_back(axis);
    std::vector<int64_t> back(static_cast<size_t>(r));
    for (int i = 0; i < r; ++i) back[static_cast<size_t>(perm[i])] = i;
    return ctx.set_output(0, ops::transpose(s, hard(ops::transpose(s, x, perm)), back));
  }
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 1), r);
  int64_t inner = 1;
  for (int i = static_cast<int>(axis); i < r; ++i) inner = (inner < 0 || shape.dim(i) < 0) ? -1 : inner * shape.dim(i);
  if (inner < 0) ctx.unimplemented("Hardmax with dims after axis known only at run time");
  ctx.set_output(0, ops::reshape_like(s, hard(ops::reshape(s, x, {-1, inner})), x));
}

std::string check_cast(const Attrs& attrs, int) {
  const int to = static_cast<int>(attrs.get_int("to", 0));
  try {
    dtype_from_onnx(to, "Cast");
  } catch (const Unimplemented&) {
    return "Cast to " + onnx_type_name(to) + " (Sluice has no such dtype)";
  } catch (const Error&) {
  }
  if (to == ::onnx::TensorProto::STRING) return "Cast to STRING (Sluice has no number-to-text op yet)";
  return "";
}

}  // namespace

std::vector<OpEntry> math_op_entries() {
  return {
      {"Abs", build_Abs, nullptr, "all numeric types"},
      {"Neg", build_Neg, nullptr, "all numeric types"},
      {"Sign", build_Sign, nullptr, "all numeric types"},
      {"Exp", build_Exp, nullptr, "float, double"},
      {"Log", build_Log, nullptr, "float, double"},
      {"Sqrt", build_Sqrt, nullptr, "float, double"},
      {"Reciprocal", build_Reciprocal, nullptr, "float, double"},
      {"Relu", build_Relu, nullptr, "float, double; fused into a preceding Conv it alone reads"},
      {"Sigmoid", build_Sigmoid, nullptr, "float, double"},
      {"Tanh", build_Tanh, nullptr, "float, double"},
      {"Not", build_Not, nullptr, "bool"},
      {"Add", build_Add, nullptr, "multidirectional broadcasting; opset 6's `broadcast`/`axis`"},
      {"Sub", build_Sub, nullptr, "broadcasting (also opset 6's `broadcast`/`axis`, as for Add)"},
      {"Mul", build_Mul, nullptr, "broadcasting"},
      {"Div", build_Div, nullptr, "broadcasting; integer division truncates"},
      {"Pow", build_Pow, nullptr, "float/double base (integer bases through double); the exponent is converted to the base's type"},
      {"Equal", build_Equal, nullptr, "broadcasting"},
      {"Less", build_Less, nullptr, "broadcasting"},
      {"LessOrEqual", build_LessOrEqual, nullptr, "broadcasting"},
      {"Greater", build_Greater, nullptr, "broadcasting"},
      {"GreaterOrEqual", build_GreaterOrEqual, nullptr, "broadcasting"},
      {"And", build_And, nullptr, "bool, broadcasting"},
      {"Or", build_Or, nullptr, "bool, broadcasting"},
      {"Xor", build_Xor, nullptr, "bool, broadcasting"},
      {"Mod", build_Mod, nullptr, "fmod 0 (floor_mod) and 1 (truncate_mod), broadcasting"},
      {"PRelu", build_PRelu, nullptr, "slope broadcast against x (channels-last too); PRelu-6's per-channel slope [C]"},
      {"Sum", build_Sum, nullptr, "any number of inputs, broadcasting"},
      {"Mean", build_Mean, nullptr, "any number of inputs, broadcasting"},
      {"Max", build_Max, nullptr, "any number of inputs, broadcasting"},
      {"Min", build_Min, nullptr, "any number of inputs, broadcasting"},
      {"Where", build_Where, nullptr, "broadcasting"},
      {"Cast", build_Cast, check_cast, "between FLOAT, DOUBLE, INT8/16/32/64, UINT8/16/32/64 and BOOL; STRING to STRING only (no number-text conversion)"},
      {"Shrink", build_Shrink, nullptr, "bias, lambd"},
      {"Hardmax", build_Hardmax, nullptr, "opset < 13: coerced to 2-D at axis; 13+: along axis"},
  };
}

}  // namespace sluice::io::onnx_detail
