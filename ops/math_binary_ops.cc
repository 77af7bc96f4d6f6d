// More binary math ops (floor division and the two modulos, squared difference, logical
// xor), the three-input clip_by_value, and variadic broadcasting composites: declaration,
// shape function, CPU kernel and gradient of each.
#include "math_binary_ops.h"

#include <cmath>

#include "array_ops.h"
#include "elementwise.h"
#include "math_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

Output scalar(const Scope& s, const Output& like, double v) { return ops::scalar_like(s, like, v); }

// ---- FloorDiv, FloorMod, TruncateMod ----

struct FloorDivF : IntegerDivisorCheck {
  template <class T>
  static T f(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      return std::floor(a / b);  // TF's definition (not Python's fmod-corrected one)
    } else if constexpr (std::is_signed_v<T>) {
      if (b == T(-1)) return wrapping_sub(T(0), a);  // INT_MIN / -1 traps; it wraps in TF
      const T q = static_cast<T>(a / b), r = static_cast<T>(a % b);
      // C++ truncates toward zero; step down when the exact quotient was negative.
      return r != 0 && ((r < 0) != (b < 0)) ? static_cast<T>(q - 1) : q;
    } else {
      return static_cast<T>(a / b);
    }
  }
};
struct FloorModF : IntegerDivisorCheck {
  template <class T>
  static T f(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      const T r = std::fmod(a, b);  // exact; NaN for b = 0 or a = +-inf
      return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
    } else if constexpr (std::is_signed_v<T>) {
      if (b == T(-1)) return T(0);  // INT_MIN % -1 traps
      const T r = static_cast<T>(a % b);
      return r != 0 && ((r < 0) != (b < 0)) ? static_cast<T>(r + b) : r;
    } else {
      return static_cast<T>(a % b);
    }
  }
};
struct TruncateModF : IntegerDivisorCheck {
  template <class T>
  static T f(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      return std::fmod(a, b);
    } else if constexpr (std::is_signed_v<T>) {
      return b == T(-1) ? T(0) : static_cast<T>(a % b);
    } else {
      return static_cast<T>(a % b);
    }
  }
};
struct SquaredDifferenceF : NoDivisorCheck {
  template <class T>
  static T f(T a, T b) {
    const T d = wrapping_sub(a, b);
    return wrapping_mul(d, d);
  }
};
struct LogicalXorF : NoDivisorCheck {
  static bool f(bool a, bool b) { return a != b; }
};

void numeric_binary_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(is_floating(t) || is_integer(t), InvalidArgument, "inputs must be numeric, got ",
                 dtype_name(t));
  broadcast_binary_shape(ctx, t);
}
void logical_binary_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) == DType::boolean, InvalidArgument,
                 "logical ops need bool inputs, got ", dtype_name(ctx.input_dtype(0)));
  broadcast_binary_shape(ctx, DType::boolean);
}

Grads reduce_both(const Scope& s, const Operation& op, const Output& ga, const Output& gb) {
  return {ops::sum_to_like(s, ga, op.input(0)), ops::sum_to_like(s, gb, op.input(1))};
}
Grads floor_mod_grad(const Scope& s, const Operation& op, const Grads& g) {
  // a mod b = a - floor(a/b) b: d/da = 1, d/db = -floor(a/b)
  const Output q = ops::floor_div(s, op.input(0), op.input(1));
  return reduce_both(s, op, g[0], ops::neg(s, ops::mul(s, g[0], q)));
}
Grads truncate_mod_grad(const Scope& s, const Operation& op, const Grads& g) {
  // fmod(a, b) = a - trunc(a/b) b: d/da = 1, d/db = -trunc(a/b) = -(a - fmod(a, b)) / b
  const Output a = op.input(0), b = op.input(1);
  const Output q = ops::div(s, ops::sub(s, a, op.output(0)), b);
  return reduce_both(s, op, g[0], ops::neg(s, ops::mul(s, g[0], q)));
}
Grads squared_difference_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/da (a-b)^2 = 2 (a-b), d/db = -2 (a-b)
  const Output a = op.input(0), b = op.input(1);
  const Output ga = ops::mul(s, g[0], ops::mul(s, scalar(s, a, 2.0), ops::sub(s, a, b)));
  return reduce_both(s, op, ga, ops::neg(s, ga));
}

// ---- ClipByValue ----

// max(min(v, hi), lo), or min(max(v, lo), hi) in NumPy order, with NaN in any operand giving
// NaN (comparisons with NaN are false; a NaN bound is picked explicitly). `|`, not `||`:
// branch-free selects, so the loops vectorize.
template <class T>
T clip(T v, T lo, T hi, bool numpy_order) {
  if (numpy_order) {
    const T t = ((v < lo) | (lo != lo)) ? lo : v;
    return ((t > hi) | (hi != hi)) ? hi : t;
  }
  const T t = ((v > hi) | (hi != hi)) ? hi : v;
  return ((t < lo) | (lo != lo)) ? lo : t;
}

void clip_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(is_floating(t) || is_integer(t), InvalidArgument, "input must be numeric, got ",
                 dtype_name(t));
  require_same_dtype(ctx, 0, 1);
  require_same_dtype(ctx, 0, 2);
  const Shape out = broadcast_shapes(broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1)),
                                     ctx.input_shape(2));
  ctx.add_output(t, out);
}

void clip_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& lo = ctx.input(1);
  const Tensor& hi = ctx.input(2);
  const bool numpy_order = ctx.attr<bool>("numpy_order");
  SLUICE_REQUIRE(lo.dtype() == x.dtype() && hi.dtype() == x.dtype(), InvalidArgument,
                 "ClipByValue of ", x.summary(), " between ", lo.summary(), " and ", hi.summary());
  const Shape out = broadcast_shapes(broadcast_shapes(x.shape(), lo.shape()), hi.shape());
  dispatch<SLUICE_REAL_TYPES>(x.dtype(), "ClipByValue", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = x.shape() == out ? ctx.forward_or_allocate(0, 0, out) : ctx.allocate_output(0, out);
    const T* xp = x.data<T>();
    const T* lp = lo.data<T>();
    const T* hp = hi.data<T>();
    T* yp = y.data<T>();
    if (y.num_elements() == 0) return;
    if (lo.num_elements() == 1 && hi.num_elements() == 1 && x.shape() == out) {
      const T l = lp[0], h = hp[0];  // the common case: scalar bounds
      parallel_range(ctx.pool(), y.num_elements(), kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) yp[i] = clip(xp[i], l, h, numpy_order);
      });
      return;
    }
    BroadcastLoop<3> loop(out, {&x.shape(), &lo.shape(), &hi.shape()});
    for_each_broadcast_row<3>(ctx.pool(), loop, [&](int64_t o, auto off, int64_t n, auto st) {
      for (int64_t j = 0; j < n; ++j)
        yp[o + j] = clip(xp[off[0] + j * st[0]], lp[off[1] + j * st[1]], hp[off[2] + j * st[2]], numpy_order);
    });
  });
}

Grads clip_grad(const Scope& s, const Operation& op, const Grads& g) {
  // dy/dx = 1 where lo <= x <= hi; where lo <= hi, dy/dlo = 1 for x < lo and dy/dhi = 1 for
  // x > hi; where lo > hi, all of it goes to the winning bound (lo for max(min(x, hi), lo),
  // hi for min(max(x, lo), hi)). The three masks partition every element.
  const Output x = op.input(0), lo = op.input(1), hi = op.input(2);
  const Output zeros = ops::zeros_like(s, g[0]);
  const Output to_x = ops::logical_and(s, ops::less_equal(s, x, hi), ops::greater_equal(s, x, lo));
  const Output crossed = ops::less(s, hi, lo);
  Output to_lo, to_hi;
  if (op.node()->attr<bool>("numpy_order")) {
    to_lo = ops::logical_and(s, ops::less(s, x, lo), ops::logical_not(s, crossed));
    to_hi = ops::logical_or(s, ops::greater(s, x, hi), crossed);
  } else {
    to_lo = ops::logical_or(s, ops::less(s, x, lo), crossed);
    to_hi = ops::logical_and(s, ops::greater(s, x, hi), ops::logical_not(s, crossed));
  }
  auto part = [&](const Output& mask, const Output& input) {
    return ops::sum_to_like(s, ops::select(s, mask, g[0], zeros), input);
  };
  return {part(to_x, x), part(to_lo, lo), part(to_hi, hi)};
}

Output binary(const Scope& s, const char* op, const Output& a, const Output& b) {
  return NodeBuilder(s, op).input(a).input(b).finish().output(0);
}

// Left fold of a broadcasting binary op over xs; the last node gets the result scope.
Output fold(const Scope& scope, const char* name, const std::vector<Output>& xs,
            Output (*op)(const Scope&, const Output&, const Output&)) {
  SLUICE_REQUIRE(!xs.empty(), InvalidArgument, name, " needs at least one input");
  const auto [in, out] = composite_scopes(scope, name);
  if (xs.size() == 1) return ops::identity(out, xs[0]);
  Output acc = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) acc = op(i + 1 == xs.size() ? out : in, acc, xs[i]);
  return acc;
}

}  // namespace

void register_math_binary_ops(OpRegistry& r) {
  r.op("FloorDiv").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(broadcast_binary_kernel<FloorDivF, SLUICE_REAL_TYPES>).not_differentiable();
  r.op("FloorMod").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(broadcast_binary_kernel<FloorModF, SLUICE_REAL_TYPES>).gradient(floor_mod_grad);
  r.op("TruncateMod").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(broadcast_binary_kernel<TruncateModF, SLUICE_REAL_TYPES>).gradient(truncate_mod_grad);
  r.op("SquaredDifference").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(broadcast_binary_kernel<SquaredDifferenceF, SLUICE_REAL_TYPES>)
      .gradient(squared_difference_grad);
  r.op("LogicalXor").input("x").input("y").output("z").shape_fn(logical_binary_shape)
      .kernel(broadcast_binary_kernel<LogicalXorF, bool>).not_differentiable();
  r.op("ClipByValue").input("t").input("clip_value_min").input("clip_value_max").output("output")
      .attr("numpy_order", false).shape_fn(clip_shape).kernel(clip_kernel).gradient(clip_grad);
}

namespace ops {

Output floor_div(const Scope& s, const Output& a, const Output& b) { return binary(s, "FloorDiv", a, b); }
Output floor_mod(const Scope& s, const Output& a, const Output& b) { return binary(s, "FloorMod", a, b); }
Output truncate_mod(const Scope& s, const Output& a, const Output& b) {
  return binary(s, "TruncateMod", a, b);
}
Output squared_difference(const Scope& s, const Output& a, const Output& b) {
  return binary(s, "SquaredDifference", a, b);
}
Output logical_xor(const Scope& s, const Output& a, const Output& b) { return binary(s, "LogicalXor", a, b); }

Output clip_by_value(const Scope& s, const Output& x, const Output& lo, const Output& hi, bool numpy_order) {
  return NodeBuilder(s, "ClipByValue").input(x).input(lo).input(hi).attr("numpy_order", numpy_order)
      .finish().output(0);
}

Output maximum_n(const Scope& s, const std::vector<Output>& xs) { return fold(s, "maximum_n", xs, ops::maximum); }
Output minimum_n(const Scope& s, const std::vector<Output>& xs) { return fold(s, "minimum_n", xs, ops::minimum); }
Output sum_n(const Scope& s, const std::vector<Output>& xs) { return fold(s, "sum_n", xs, ops::add); }
Output mean_n(const Scope& scope, const std::vector<Output>& xs) {
  SLUICE_REQUIRE(!xs.empty(), InvalidArgument, "mean_n needs at least one input");
  SLUICE_REQUIRE(is_floating(xs[0].dtype()), InvalidArgument, "mean_n needs float inputs, got ",
                 dtype_name(xs[0].dtype()));
  const auto [in, out] = composite_scopes(scope, "mean_n");
  const Output total = sum_n(in.named("sum"), xs);
  return ops::div(out, total, scalar(in, total, static_cast<double>(xs.size())));
}

}  // namespace ops
}  // namespace sluice
