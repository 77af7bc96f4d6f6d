// More unary math ops (erf, rounding, trigonometric and hyperbolic functions, log1p/expm1,
// NaN/Inf predicates): declaration, shape function, CPU kernel and gradient of each.
#include "math_unary_ops.h"

#include "eigen.h"  // <Eigen/Core>, Eigen's special functions
#include <cmath>

#include "array_ops.h"
#include "elementwise.h"
#include "math_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

Output scalar(const Scope& s, const Output& like, double v) { return ops::scalar_like(s, like, v); }

// y = expr(a) over a chunk, with a the chunk as an Eigen array (vectorized where Eigen has a
// packet version of the function: erf, sin, cos, log1p, expm1, floor, ceil, rint, ...).
#define SLUICE_EIGEN_UNARY(Name, expr)                              \
  struct Name : NoAttrs {                                           \
    using NoAttrs::NoAttrs;                                         \
    template <class T>                                              \
    void operator()(const T* x, T* y, int64_t n) const {            \
      const ConstArrayMap<T> a(x, n);                               \
      ArrayMap<T>(y, n) = expr;                                     \
    }                                                               \
  };

SLUICE_EIGEN_UNARY(ErfF, a.erf())
SLUICE_EIGEN_UNARY(FloorF, a.floor())
SLUICE_EIGEN_UNARY(CeilF, a.ceil())
SLUICE_EIGEN_UNARY(SinF, a.sin())
SLUICE_EIGEN_UNARY(CosF, a.cos())
SLUICE_EIGEN_UNARY(TanF, a.tan())
SLUICE_EIGEN_UNARY(AsinF, a.asin())
SLUICE_EIGEN_UNARY(AcosF, a.acos())
SLUICE_EIGEN_UNARY(AtanF, a.atan())
SLUICE_EIGEN_UNARY(SinhF, a.sinh())
SLUICE_EIGEN_UNARY(CoshF, a.cosh())
SLUICE_EIGEN_UNARY(AsinhF, a.asinh())
SLUICE_EIGEN_UNARY(AcoshF, a.acosh())
SLUICE_EIGEN_UNARY(AtanhF, a.atanh())
SLUICE_EIGEN_UNARY(Log1pF, a.log1p())
SLUICE_EIGEN_UNARY(Expm1F, a.expm1())
#undef SLUICE_EIGEN_UNARY

struct RoundF : NoAttrs {
  using NoAttrs::NoAttrs;
  template <class T>
  void operator()(const T* x, T* y, int64_t n) const {
    if constexpr (std::is_floating_point_v<T>) {
      // rint rounds in the current mode, round-to-nearest-even (the only mode Sluice runs
      // in): 0.5 -> 0, 1.5 -> 2, -2.5 -> -2, as TF, ONNX and NumPy. (Eigen's round() and
      // std::round round half away from zero.)
      ArrayMap<T>(y, n) = ConstArrayMap<T>(x, n).rint();
    } else {
      if (y != x) std::copy(x, x + n, y);  // integers are already round
    }
  }
};

struct IsNanF : NoAttrs {
  using NoAttrs::NoAttrs;
  template <class T> bool operator()(T v) const { return std::isnan(v); }
};
struct IsFiniteF : NoAttrs {
  using NoAttrs::NoAttrs;
  template <class T> bool operator()(T v) const { return std::isfinite(v); }
};
struct IsInfF {
  bool positive, negative;
  explicit IsInfF(const KernelContext& ctx)
      : positive(ctx.attr<bool>("detect_positive")), negative(ctx.attr<bool>("detect_negative")) {}
  template <class T> bool operator()(T v) const {
    return std::isinf(v) && (v > T(0) ? positive : negative);
  }
};

void float_predicate_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  ctx.add_output(DType::boolean, ctx.input_shape(0));
}

// ---- gradients: g * f'(x), each from the op's input x or output y ----

Grads erf_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx erf(x) = 2 / sqrt(pi) e^(-x^2)
  const Output x = op.input(0);
  return {ops::mul(s, g[0], ops::mul(s, scalar(s, x, 1.12837916709551257390), ops::exp(s, ops::neg(s, ops::square(s, x)))))};
}
Grads sin_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::mul(s, g[0], ops::cos(s, op.input(0)))};  // d/dx sin x = cos x
}
Grads cos_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::neg(s, ops::mul(s, g[0], ops::sin(s, op.input(0))))};  // d/dx cos x = -sin x
}
Grads tan_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx tan x = 1 / cos^2 x = 1 + tan^2 x
  const Output y = op.output(0);
  return {ops::mul(s, g[0], ops::add(s, scalar(s, y, 1.0), ops::square(s, y)))};
}
// 1 - x^2 and x^2 - 1
Output one_minus_sq(const Scope& s, const Output& x) { return ops::sub(s, scalar(s, x, 1.0), ops::square(s, x)); }
Grads asin_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::mul(s, g[0], ops::rsqrt(s, one_minus_sq(s, op.input(0))))};  // d/dx asin x = 1/sqrt(1-x^2)
}
Grads acos_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx acos x = -1/sqrt(1-x^2)
  return {ops::neg(s, ops::mul(s, g[0], ops::rsqrt(s, one_minus_sq(s, op.input(0)))))};
}
Grads atan_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx atan x = 1 / (1 + x^2)
  const Output x = op.input(0);
  return {ops::div(s, g[0], ops::add(s, scalar(s, x, 1.0), ops::square(s, x)))};
}
Grads sinh_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::mul(s, g[0], ops::cosh(s, op.input(0)))};  // d/dx sinh x = cosh x
}
Grads cosh_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::mul(s, g[0], ops::sinh(s, op.input(0)))};  // d/dx cosh x = sinh x
}
Grads asinh_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx asinh x = 1 / sqrt(x^2 + 1)
  const Output x = op.input(0);
  return {ops::mul(s, g[0], ops::rsqrt(s, ops::add(s, ops::square(s, x), scalar(s, x, 1.0))))};
}
Grads acosh_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx acosh x = 1 / sqrt(x^2 - 1)
  const Output x = op.input(0);
  return {ops::mul(s, g[0], ops::rsqrt(s, ops::sub(s, ops::square(s, x), scalar(s, x, 1.0))))};
}
Grads atanh_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::div(s, g[0], one_minus_sq(s, op.input(0)))};  // d/dx atanh x = 1 / (1 - x^2)
}
Grads log1p_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx log(1 + x) = 1 / (1 + x)
  const Output x = op.input(0);
  return {ops::div(s, g[0], ops::add(s, scalar(s, x, 1.0), x))};
}
Grads expm1_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::mul(s, g[0], ops::exp(s, op.input(0)))};  // d/dx (e^x - 1) = e^x
}

Output unary(const Scope& s, const char* op, const Output& x) {
  return NodeBuilder(s, op).input(x).finish().output(0);
}

}  // namespace

void register_math_unary_ops(OpRegistry& r) {
  struct Entry {
    const char* name;
    KernelFn kernel;
    GradFn grad;
  };
  const Entry float_ops[] = {
      {"Erf", map_kernel<ErfF, SLUICE_FLOAT_TYPES>, erf_grad},
      {"Sin", map_kernel<SinF, SLUICE_FLOAT_TYPES>, sin_grad},
      {"Cos", map_kernel<CosF, SLUICE_FLOAT_TYPES>, cos_grad},
      {"Tan", map_kernel<TanF, SLUICE_FLOAT_TYPES>, tan_grad},
      {"Asin", map_kernel<AsinF, SLUICE_FLOAT_TYPES>, asin_grad},
      {"Acos", map_kernel<AcosF, SLUICE_FLOAT_TYPES>, acos_grad},
      {"Atan", map_kernel<AtanF, SLUICE_FLOAT_TYPES>, atan_grad},
      {"Sinh", map_kernel<SinhF, SLUICE_FLOAT_TYPES>, sinh_grad},
      {"Cosh", map_kernel<CoshF, SLUICE_FLOAT_TYPES>, cosh_grad},
      {"Asinh", map_kernel<AsinhF, SLUICE_FLOAT_TYPES>, asinh_grad},
      {"Acosh", map_kernel<AcoshF, SLUICE_FLOAT_TYPES>, acosh_grad},
      {"Atanh", map_kernel<AtanhF, SLUICE_FLOAT_TYPES>, atanh_grad},
      {"Log1p", map_kernel<Log1pF, SLUICE_FLOAT_TYPES>, log1p_grad},
      {"Expm1", map_kernel<Expm1F, SLUICE_FLOAT_TYPES>, expm1_grad},
  };
  for (const Entry& e : float_ops)
    r.op(e.name).input("x").output("y").shape_fn(float_unary_shape).kernel(e.kernel).gradient(e.grad);

  // Zero derivative almost everywhere: no gradient flows (TF registers None for these).
  r.op("Floor").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(map_kernel<FloorF, SLUICE_FLOAT_TYPES>).not_differentiable();
  r.op("Ceil").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(map_kernel<CeilF, SLUICE_FLOAT_TYPES>).not_differentiable();
  r.op("Round").input("x").output("y").shape_fn(numeric_unary_shape)
      .kernel(map_kernel<RoundF, SLUICE_REAL_TYPES>).not_differentiable();

  r.op("IsNan").input("x").output("y").shape_fn(float_predicate_shape)
      .kernel(scalar_map_kernel<IsNanF, SLUICE_FLOAT_TYPES>).not_differentiable();
  r.op("IsInf").input("x").output("y").attr("detect_positive", true).attr("detect_negative", true)
      .shape_fn(float_predicate_shape).kernel(scalar_map_kernel<IsInfF, SLUICE_FLOAT_TYPES>)
      .not_differentiable();
  r.op("IsFinite").input("x").output("y").shape_fn(float_predicate_shape)
      .kernel(scalar_map_kernel<IsFiniteF, SLUICE_FLOAT_TYPES>).not_differentiable();
}

namespace ops {

Output erf(const Scope& s, const Output& x) { return unary(s, "Erf", x); }
Output floor(const Scope& s, const Output& x) { return unary(s, "Floor", x); }
Output ceil(const Scope& s, const Output& x) { return unary(s, "Ceil", x); }
Output round(const Scope& s, const Output& x) { return unary(s, "Round", x); }
Output sin(const Scope& s, const Output& x) { return unary(s, "Sin", x); }
Output cos(const Scope& s, const Output& x) { return unary(s, "Cos", x); }
Output tan(const Scope& s, const Output& x) { return unary(s, "Tan", x); }
Output asin(const Scope& s, const Output& x) { return unary(s, "Asin", x); }
Output acos(const Scope& s, const Output& x) { return unary(s, "Acos", x); }
Output atan(const Scope& s, const Output& x) { return unary(s, "Atan", x); }
Output sinh(const Scope& s, const Output& x) { return unary(s, "Sinh", x); }
Output cosh(const Scope& s, const Output& x) { return unary(s, "Cosh", x); }
Output asinh(const Scope& s, const Output& x) { return unary(s, "Asinh", x); }
Output acosh(const Scope& s, const Output& x) { return unary(s, "Acosh", x); }
Output atanh(const Scope& s, const Output& x) { return unary(s, "Atanh", x); }
Output log1p(const Scope& s, const Output& x) { return unary(s, "Log1p", x); }
Output expm1(const Scope& s, const Output& x) { return unary(s, "Expm1", x); }
Output is_nan(const Scope& s, const Output& x) { return unary(s, "IsNan", x); }
Output is_inf(const Scope& s, const Output& x, bool detect_positive, bool detect_negative) {
  return NodeBuilder(s, "IsInf").input(x).attr("detect_positive", detect_positive)
      .attr("detect_negative", detect_negative).finish().output(0);
}
Output is_finite(const Scope& s, const Output& x) { return unary(s, "IsFinite", x); }

}  // namespace ops
}  // namespace sluice
