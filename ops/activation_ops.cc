// Activation ops: declaration, shape function, CPU kernel and gradient of each, side by side.
// Fused kernels (Relu6, Elu, LeakyRelu, Softplus, Gelu) have gradient ops of their own, each
// differentiable again; the other activations are composites of primitive ops.
#include "activation_ops.h"

#include "eigen.h"  // <Eigen/Core>, Eigen's special functions
#include <cmath>

#include "array_ops.h"
#include "elementwise.h"
#include "math_binary_ops.h"
#include "math_ops.h"
#include "math_unary_ops.h"
#include "nn_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

Output scalar(const Scope& s, const Output& like, double v) { return ops::scalar_like(s, like, v); }

// Reads a float attr once per run; kernels cast it to the element type.
struct AlphaAttr {
  double alpha;
  explicit AlphaAttr(const KernelContext& ctx) : alpha(ctx.attr<double>("alpha")) {}
};

// ---- Relu6 (also integers), Relu6Grad ----

struct Relu6F : NoAttrs {
  using NoAttrs::NoAttrs;
  template <class T>
  T operator()(T v) const {
    // Comparisons are false for NaN, so NaN passes through.
    if constexpr (std::is_unsigned_v<T>) {
      return v > T(6) ? T(6) : v;
    } else {
      return v < T(0) ? T(0) : v > T(6) ? T(6) : v;
    }
  }
};
struct Relu6GradF : NoAttrs {
  using NoAttrs::NoAttrs;
  template <class T>
  void operator()(const std::array<const T*, 2>& in, T* y, int64_t n) const {
    const T* g = in[0];
    const T* x = in[1];
    for (int64_t i = 0; i < n; ++i) {
      const T v = x[i], gv = g[i];
      // Outside (0, 6) the gradient is 0, but a NaN in x (a NaN input) or in g stays NaN, as
      // ReluGrad: a NaN must not come back as a zero gradient.
      const T outside = v != v ? v : gv != gv ? gv : T(0);
      y[i] = ((v > T(0)) & (v < T(6))) ? gv : outside;  // `&`: a branch-free select
    }
  }
};
Output relu6_grad_op(const Scope& s, const Output& g, const Output& x) {
  return NodeBuilder(s, "Relu6Grad").input(g).input(x).finish().output(0);
}
Grads relu6_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {relu6_grad_op(s, g[0], op.input(0))};  // d/dx relu6(x) = 1 where 0 < x < 6
}
Grads relu6_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // Relu6Grad is linear in g with a mask fixed by x.
  return {relu6_grad_op(s, g[0], op.input(1)), Output()};
}

// ---- LeakyRelu, LeakyReluGrad ----

// y = x > 0 ? pos : neg, blockwise, where neg is computed for the whole block first. GCC does
// not vectorize `x > 0 ? v : a * v` (without -fno-trapping-math it may not evaluate a * v
// where the branch would not), but it does vectorize a select between two loaded values.
// y = x > 0 ? pos : other, blockwise: fill(b, len, other) first writes the other branch for
// elements [b, b + len) (all of them, vectorized), then a select picks per element. GCC does
// not vectorize `x > 0 ? v : a * v` (without -fno-trapping-math it may not evaluate a * v
// where the branch would not), but it does vectorize a select between two loaded values.
// y may be x's or pos's buffer: other is filled before y[b..] is written. Plain loops over
// plain pointers: through a closure, every store to y could change the pointers, and the
// select loop would stay scalar.
template <class T, class Fill>
void select_positive(const T* x, const T* pos, T* y, int64_t n, Fill&& fill) {
  alignas(64) T other[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t len = std::min(kBlock, n - b);
    fill(b, len, other);
    const T* xb = x + b;
    const T* pb = pos + b;
    T* yb = y + b;
    for (int64_t i = 0; i < len; ++i) yb[i] = xb[i] > T(0) ? pb[i] : other[i];
  }
}

struct LeakyReluF : AlphaAttr {
  using AlphaAttr::AlphaAttr;
  template <class T>
  void operator()(const T* x, T* y, int64_t n) const {
    const T a = static_cast<T>(alpha);
    select_positive(x, x, y, n, [x, a](int64_t b, int64_t len, T* o) {
      for (int64_t i = 0; i < len; ++i) o[i] = a * x[b + i];
    });
  }
};
struct LeakyReluGradF : AlphaAttr {
  using AlphaAttr::AlphaAttr;
  template <class T>
  void operator()(const std::array<const T*, 2>& in, T* y, int64_t n) const {
    const T a = static_cast<T>(alpha);
    const T* g = in[0];
    const T* x = in[1];
    // alpha g where x <= 0; a NaN x (a NaN input) gives NaN, not alpha g.
    select_positive(x, g, y, n, [g, x, a](int64_t b, int64_t len, T* o) {
      for (int64_t i = 0; i < len; ++i) o[i] = x[b + i] != x[b + i] ? x[b + i] : a * g[b + i];
    });
  }
};
Output leaky_relu_grad_op(const Scope& s, const Output& g, const Output& x, double alpha) {
  return NodeBuilder(s, "LeakyReluGrad").input(g).input(x).attr("alpha", alpha).finish().output(0);
}
double alpha_of(const Operation& op) { return op.node()->attr<double>("alpha"); }
Grads leaky_relu_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx leaky_relu(x) = 1 where x > 0, else alpha
  return {leaky_relu_grad_op(s, g[0], op.input(0), alpha_of(op))};
}
Grads leaky_relu_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {leaky_relu_grad_op(s, g[0], op.input(1), alpha_of(op)), Output()};  // linear in g
}

// ---- Elu, EluGrad ----

struct EluF : AlphaAttr {
  using AlphaAttr::AlphaAttr;
  template <class T>
  void operator()(const T* x, T* y, int64_t n) const {
    const T a = static_cast<T>(alpha);
    // alpha expm1(x) for every element (vectorized); the select keeps x where x > 0 and lets
    // NaN through the expm1 side.
    select_positive(x, x, y, n, [x, a](int64_t b, int64_t len, T* o) {
      ArrayMap<T>(o, len) = ConstArrayMap<T>(x + b, len).expm1() * a;
    });
  }
};
struct EluGradF : AlphaAttr {
  using AlphaAttr::AlphaAttr;
  template <class T>
  void operator()(const std::array<const T*, 3>& in, T* dx, int64_t n) const {
    const T a = static_cast<T>(alpha);
    const T* g = in[0];
    const T* x = in[1];
    const T* y = in[2];
    // d/dx alpha (e^x - 1) = alpha e^x = y + alpha: no exp needed.
    select_positive(x, g, dx, n, [g, y, a](int64_t b, int64_t len, T* o) {
      for (int64_t i = 0; i < len; ++i) o[i] = g[b + i] * (y[b + i] + a);
    });
  }
};
Output elu_grad_op(const Scope& s, const Output& g, const Output& x, const Output& y, double alpha) {
  return NodeBuilder(s, "EluGrad").input(g).input(x).input(y).attr("alpha", alpha).finish().output(0);
}
Grads elu_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx elu(x) = 1 where x > 0, else alpha e^x = y + alpha
  return {elu_grad_op(s, g[0], op.input(0), op.output(0), alpha_of(op))};
}
Grads elu_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // EluGrad(g, x, y) = g where x > 0, else g (y + alpha): linear in g; d/dy = g where x <= 0;
  // x only selects.
  const Output gin = op.input(0), x = op.input(1), y = op.input(2);
  const Output positive = ops::greater(s, x, scalar(s, x, 0.0));
  const Output gy = ops::select(s, positive, ops::zeros_like(s, g[0]), ops::mul(s, g[0], gin));
  return {elu_grad_op(s, g[0], x, y, alpha_of(op)), Output(), gy};
}

// ---- Softplus, SoftplusGrad ----

struct SoftplusF : NoAttrs {
  using NoAttrs::NoAttrs;
  template <class T>
  void operator()(const T* x, T* y, int64_t n) const {
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|; NaN stays NaN
    // through the log1p term. Plain loops, as in select_positive.
    alignas(64) T tail[kBlock];
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t len = std::min(kBlock, n - b);
      const T* xb = x + b;
      T* yb = y + b;
      ArrayMap<T>(tail, len) = (-ConstArrayMap<T>(xb, len).abs()).exp().log1p();
      for (int64_t i = 0; i < len; ++i) yb[i] = (xb[i] > T(0) ? xb[i] : T(0)) + tail[i];
    }
  }
};
struct SoftplusGradF : NoAttrs {
  using NoAttrs::NoAttrs;
  template <class T>
  void operator()(const std::array<const T*, 2>& in, T* y, int64_t n) const {
    // g * sigmoid(x), with sigmoid written out so NaN propagates (Eigen's logistic clamps).
    ArrayMap<T>(y, n) =
        ConstArrayMap<T>(in[0], n) * (T(1) + (-ConstArrayMap<T>(in[1], n)).exp()).inverse();
  }
};
Output softplus_grad_op(const Scope& s, const Output& g, const Output& x) {
  return NodeBuilder(s, "SoftplusGrad").input(g).input(x).finish().output(0);
}
Grads softplus_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {softplus_grad_op(s, g[0], op.input(0))};  // d/dx softplus(x) = sigmoid(x)
}
Grads softplus_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // SoftplusGrad(g, x) = g sigmoid(x): d/dg = sigmoid(x), d/dx = g sigmoid(x) (1 - sigmoid(x))
  const Output gin = op.input(0), x = op.input(1);
  const Output sig = ops::sigmoid(s, x);
  const Output dsig = ops::mul(s, sig, ops::sub(s, scalar(s, x, 1.0), sig));
  return {softplus_grad_op(s, g[0], x), ops::mul(s, ops::mul(s, g[0], gin), dsig)};
}

// ---- Gelu, GeluGrad ----

constexpr double kSqrtHalf = 0.70710678118654752440;     // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

struct GeluAttr {
  bool approximate;
  explicit GeluAttr(const KernelContext& ctx) : approximate(ctx.attr<bool>("approximate")) {}
};
struct GeluF : GeluAttr {
  using GeluAttr::GeluAttr;
  template <class T>
  void operator()(const T* xp, T* yp, int64_t n) const {
    // One Eigen expression each (vectorized erf/tanh); the factor x carries NaN through.
    const ConstArrayMap<T> x(xp, n);
    if (approximate) {
      const T c = T(kSqrt2OverPi), k = T(kGeluCubic);
      ArrayMap<T>(yp, n) = T(0.5) * x * (T(1) + (c * (x + k * x * x * x)).tanh());
    } else {
      ArrayMap<T>(yp, n) = T(0.5) * x * (T(1) + (x * T(kSqrtHalf)).erf());
    }
  }
};
struct GeluGradF : GeluAttr {
  using GeluAttr::GeluAttr;
  template <class T>
  void operator()(const std::array<const T*, 2>& in, T* yp, int64_t n) const {
    const ConstArrayMap<T> g(in[0], n), x(in[1], n);
    if (approximate) {
      // d/dx 0.5 x (1 + tanh u) = 0.5 (1 + t) + 0.5 x (1 - t^2) u', u = c (x + k x^3)
      const T c = T(kSqrt2OverPi), k = T(kGeluCubic);
      for_each_block(0, n, [&](int64_t b, int64_t len) {
        alignas(64) T t[kBlock];
        const auto xb = x.segment(b, len);
        ArrayMap<T>(t, len) = (c * (xb + k * xb * xb * xb)).tanh();
        const ConstArrayMap<T> tb(t, len);
        ArrayMap<T>(yp + b, len) =
            g.segment(b, len) * (T(0.5) * (T(1) + tb) + T(0.5) * xb * (T(1) - tb * tb) *
                                                             (c * (T(1) + T(3) * k * xb * xb)));
      });
    } else {
      // d/dx x Phi(x) = Phi(x) + x phi(x)
      ArrayMap<T>(yp, n) = g * (T(0.5) * (T(1) + (x * T(kSqrtHalf)).erf()) +
                                x * (x * x * T(-0.5)).exp() * T(kInvSqrt2Pi));
    }
  }
};
bool approximate_of(const Operation& op) { return op.node()->attr<bool>("approximate"); }
Output gelu_grad_op(const Scope& s, const Output& g, const Output& x, bool approximate) {
  return NodeBuilder(s, "GeluGrad").input(g).input(x).attr("approximate", approximate)
      .finish().output(0);
}
Grads gelu_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx gelu(x), computed by the fused GeluGrad kernel
  return {gelu_grad_op(s, g[0], op.input(0), approximate_of(op))};
}
Grads gelu_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // GeluGrad(g, x) = g gelu'(x): d/dg = gelu'(x); d/dx = g gelu''(x), where
  //   exact:  gelu''(x) = phi(x) (2 - x^2)
  //   tanh:   gelu''(x) = (1 - t^2) (u' - x t u'^2 + 0.5 x u''), t = tanh u, u = c (x + k x^3)
  const Output gin = op.input(0), x = op.input(1);
  auto k = [&](double v) { return scalar(s, x, v); };
  Output second;
  if (approximate_of(op)) {
    const Output x2 = ops::square(s, x);
    const Output u = ops::mul(s, k(kSqrt2OverPi), ops::add(s, x, ops::mul(s, k(kGeluCubic), ops::mul(s, x2, x))));
    const Output t = ops::tanh(s, u);
    const Output du = ops::mul(s, k(kSqrt2OverPi), ops::add(s, k(1.0), ops::mul(s, k(3 * kGeluCubic), x2)));
    const Output ddu = ops::mul(s, k(6 * kSqrt2OverPi * kGeluCubic), x);
    const Output inner = ops::add(s, ops::sub(s, du, ops::mul(s, ops::mul(s, x, t), ops::square(s, du))),
                                  ops::mul(s, k(0.5), ops::mul(s, x, ddu)));
    second = ops::mul(s, ops::sub(s, k(1.0), ops::square(s, t)), inner);
  } else {
    const Output x2 = ops::square(s, x);
    const Output phi = ops::mul(s, k(kInvSqrt2Pi), ops::exp(s, ops::mul(s, k(-0.5), x2)));
    second = ops::mul(s, phi, ops::sub(s, k(2.0), x2));
  }
  return {gelu_grad_op(s, g[0], x, approximate_of(op)), ops::mul(s, ops::mul(s, g[0], gin), second)};
}

void grad_op_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  same_shape_inputs(ctx);
}

Output unary_with_alpha(const Scope& s, const char* op, const Output& x, double alpha) {
  return NodeBuilder(s, op).input(x).attr("alpha", alpha).finish().output(0);
}

}  // namespace

void register_activation_ops(OpRegistry& r) {
  r.op("Relu6").input("features").output("activations").shape_fn(numeric_unary_shape)
      .kernel(scalar_map_kernel<Relu6F, SLUICE_REAL_TYPES>).gradient(relu6_grad);
  r.op("Relu6Grad").input("gradients").input("features").output("backprops")
      .shape_fn(grad_op_shape).kernel(zip_kernel<Relu6GradF, 2, SLUICE_FLOAT_TYPES>)
      .gradient(relu6_grad_grad);
  r.op("LeakyRelu").input("features").output("activations").attr("alpha", 0.2)
      .shape_fn(float_unary_shape).kernel(map_kernel<LeakyReluF, SLUICE_FLOAT_TYPES>)
      .gradient(leaky_relu_grad);
  r.op("LeakyReluGrad").input("gradients").input("features").output("backprops").attr("alpha", 0.2)
      .shape_fn(grad_op_shape).kernel(zip_kernel<LeakyReluGradF, 2, SLUICE_FLOAT_TYPES>)
      .gradient(leaky_relu_grad_grad);
  r.op("Elu").input("features").output("activations").attr("alpha", 1.0)
      .shape_fn(float_unary_shape).kernel(map_kernel<EluF, SLUICE_FLOAT_TYPES>).gradient(elu_grad);
  r.op("EluGrad").input("gradients").input("features").input("outputs").output("backprops")
      .attr("alpha", 1.0).shape_fn(grad_op_shape)
      .kernel(zip_kernel<EluGradF, 3, SLUICE_FLOAT_TYPES>).gradient(elu_grad_grad);
  r.op("Softplus").input("features").output("activations").shape_fn(float_unary_shape)
      .kernel(map_kernel<SoftplusF, SLUICE_FLOAT_TYPES>).gradient(softplus_grad);
  r.op("SoftplusGrad").input("gradients").input("features").output("backprops")
      .shape_fn(grad_op_shape).kernel(zip_kernel<SoftplusGradF, 2, SLUICE_FLOAT_TYPES>)
      .gradient(softplus_grad_grad);
  r.op("Gelu").input("features").output("activations").attr("approximate", false)
      .shape_fn(float_unary_shape).kernel(map_kernel<GeluF, SLUICE_FLOAT_TYPES>).gradient(gelu_grad);
  r.op("GeluGrad").input("gradients").input("features").output("backprops")
      .attr("approximate", false).shape_fn(grad_op_shape)
      .kernel(zip_kernel<GeluGradF, 2, SLUICE_FLOAT_TYPES>).gradient(gelu_grad_grad);
}

namespace ops {

Output relu6(const Scope& s, const Output& x) {
  return NodeBuilder(s, "Relu6").input(x).finish().output(0);
}
Output elu(const Scope& s, const Output& x, double alpha) { return unary_with_alpha(s, "Elu", x, alpha); }
Output leaky_relu(const Scope& s, const Output& x, double alpha) {
  return unary_with_alpha(s, "LeakyRelu", x, alpha);
}
Output softplus(const Scope& s, const Output& x) {
  return NodeBuilder(s, "Softplus").input(x).finish().output(0);
}
Output gelu(const Scope& s, const Output& x, bool approximate) {
  return NodeBuilder(s, "Gelu").input(x).attr("approximate", approximate).finish().output(0);
}

Output selu(const Scope& scope, const Output& x, double alpha, double gamma) {
  const auto [in, out] = composite_scopes(scope, "selu");
  return ops::mul(out, scalar(in, x, gamma), ops::elu(in, x, alpha));
}

Output softsign(const Scope& scope, const Output& x) {
  const auto [in, out] = composite_scopes(scope, "softsign");
  return ops::div(out, x, ops::add(in, scalar(in, x, 1.0), ops::abs(in, x)));
}

Output hard_sigmoid(const Scope& scope, const Output& x, double alpha, double beta) {
  const auto [in, out] = composite_scopes(scope, "hard_sigmoid");
  const Output lin = ops::add(in, ops::mul(in, x, scalar(in, x, alpha)), scalar(in, x, beta));
  return ops::clip_by_value(out, lin, scalar(in, x, 0.0), scalar(in, x, 1.0));
}

Output hard_swish(const Scope& scope, const Output& x) {
  const auto [in, out] = composite_scopes(scope, "hard_swish");
  return ops::mul(out, x, ops::hard_sigmoid(in, x, 1.0 / 6.0, 0.5));
}

Output prelu(const Scope& scope, const Output& x, const Output& slope) {
  const auto [in, out] = composite_scopes(scope, "prelu");
  // select keeps NaN (NaN < 0 is false) and broadcasts x against slope.
  const Output negative = ops::less(in, x, scalar(in, x, 0.0));
  return ops::select(out, negative, ops::mul(in, x, slope), x);
}

Output thresholded_relu(const Scope& scope, const Output& x, double alpha) {
  const auto [in, out] = composite_scopes(scope, "thresholded_relu");
  // x <= alpha selects 0; NaN compares false and passes through.
  const Output below = ops::less_equal(in, x, scalar(in, x, alpha));
  return ops::select(out, below, ops::zeros_like(in, x), x);
}

Output celu(const Scope& scope, const Output& x, double alpha) {
  SLUICE_REQUIRE(alpha > 0.0, InvalidArgument, "celu: alpha must be positive, got ", alpha);
  const auto [in, out] = composite_scopes(scope, "celu");
  // alpha * elu(x / alpha): x where x > 0, alpha (e^(x/alpha) - 1) elsewhere.
  return ops::mul(out, scalar(in, x, alpha), ops::elu(in, ops::div(in, x, scalar(in, x, alpha))));
}

}  // namespace ops
}  // namespace sluice
