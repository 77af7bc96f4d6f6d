// Internal kernel templates for elementwise op families (activations, unary and binary
// math): a unary map on Eigen arrays, an N-input zip of same-shape tensors (fused gradient
// kernels), a scalar map whose output dtype may differ (is_nan -> bool), and a broadcasting
// binary kernel. Not part of the public API.
//
// Every kernel here splits work so that each element takes the same code path whatever the
// thread count: the Eigen-based ones through parallel_aligned (vectorized transcendental
// functions round differently from their scalar tails), the scalar ones trivially.
#pragma once

#include "eigen.h"  // <Eigen/Core>
#include <array>
#include <type_traits>

#include "kernel_util.h"

namespace sluice::kernels {

template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Integer arithmetic that wraps instead of overflowing (signed overflow is undefined in
// C++; TensorFlow's integer kernels wrap).
template <class T>
T wrapping_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}
template <class T>
T wrapping_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return a - b;
  }
}
template <class T>
T wrapping_mul(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // At least as wide as unsigned int: uint16 operands would otherwise promote to (signed)
    // int, and 65535 * 65535 overflows it.
    using U = std::make_unsigned_t<T>;
    using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
    return static_cast<T>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<U>(b)));
  } else {
    return a * b;
  }
}

// Work on blocks of up to kBlock elements that start kBlock-aligned within a chunk of
// parallel_aligned: kernels that evaluate a transcendental part with Eigen into a stack
// buffer and then combine it with a branchy scalar loop use this (Eigen's vectorized max/min
// may drop NaN, so the NaN-sensitive selection stays in plain C++). Block starts and lengths
// are multiples of 16 elements except at the very end, so every element takes the same
// (vector or scalar) path whatever the thread count.
constexpr int64_t kBlock = 256;
template <class F>
void for_each_block(int64_t begin, int64_t end, F&& f) {
  for (int64_t b = begin; b < end; b += kBlock) f(b, std::min(end, b + kBlock) - b);
}

// y = F(x), same shape and dtype. F is constructed once per run from the kernel context (to
// read attrs) and maps a chunk: template <class T> void operator()(const T* x, T* y,
// int64_t n) const. y may be x's buffer (forwarded in place): F must read x[i] before it
// writes y[i], and never read x[j] after writing y[j].
template <class F, class... Ts>
void map_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch<Ts...>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const F f(ctx);
    Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_aligned(ctx.pool(), x.num_elements(),
                     [&](int64_t b, int64_t e) { f(xp + b, yp + b, e - b); });
  });
}

// y = F(x_0, .., x_{N-1}) for N inputs of one shape and dtype (fused gradient kernels such
// as EluGrad(g, x, y)). F maps a chunk: template <class T> void operator()(const
// std::array<const T*, N>& in, T* y, int64_t n) const; y may alias in[0] (as for map_kernel).
template <class F, int N, class... Ts>
void zip_kernel(KernelContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  for (int i = 1; i < N; ++i) {
    SLUICE_REQUIRE(ctx.input(i).shape() == x0.shape() && ctx.input(i).dtype() == x0.dtype(),
                   InvalidArgument, "inputs must match: input 0 is ", x0.summary(), ", input ", i,
                   " is ", ctx.input(i).summary());
  }
  dispatch<Ts...>(x0.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const F f(ctx);
    std::array<const T*, N> in;
    for (int i = 0; i < N; ++i) in[i] = ctx.input(i).template data<T>();
    Tensor& y = ctx.forward_or_allocate(0, 0, x0.shape());
    T* yp = y.data<T>();
    parallel_aligned(ctx.pool(), x0.num_elements(), [&](int64_t b, int64_t e) {
      std::array<const T*, N> at;
      for (int i = 0; i < N; ++i) at[i] = in[i] + b;
      f(at, yp + b, e - b);
    });
  });
}

// y[i] = f(x[i]) with a scalar function; the output dtype is what f returns (bool for
// predicates such as is_nan). F is constructed from the kernel context as above.
template <class F, class... Ts>
void scalar_map_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch<Ts...>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using R = decltype(std::declval<const F&>()(T()));
    const F f(ctx);
    Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
    const T* xp = x.data<T>();
    R* yp = y.data<R>();
    parallel_range(ctx.pool(), x.num_elements(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) yp[i] = f(xp[i]);
    });
  });
}

// A functor for scalar_map_kernel / map_kernel that ignores the kernel context.
struct NoAttrs {
  explicit NoAttrs(const KernelContext&) {}
};

// z = F(a, b) with NumPy broadcasting. F::f(a, b) is the scalar function (its return type is
// the output's element type); F::check(b) validates the divisor-like input first (integer
// division by zero traps on x86, so it is refused before anything is computed).
template <class F, class... Ts>
void broadcast_binary_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  SLUICE_REQUIRE(a.dtype() == b.dtype(), InvalidArgument, "inputs have dtypes ",
                 dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  const Shape out = broadcast_shapes(a.shape(), b.shape());
  dispatch<Ts...>(a.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using R = decltype(F::f(T(), T()));
    F::check(b.data<T>(), b.num_elements());
    Tensor& y = a.shape() == out   ? ctx.forward_or_allocate(0, 0, out)
                : b.shape() == out ? ctx.forward_or_allocate(1, 0, out)
                                   : ctx.allocate_output(0, out);
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    R* yp = y.data<R>();
    if (a.shape() == b.shape()) {
      parallel_range(ctx.pool(), y.num_elements(), kElementwiseGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) yp[i] = F::f(ap[i], bp[i]);
      });
      return;
    }
    if (y.num_elements() == 0) return;
    BroadcastLoop<2> loop(out, {&a.shape(), &b.shape()});
    for_each_broadcast_row<2>(ctx.pool(), loop, [&](int64_t o, auto off, int64_t n, auto st) {
      const T* pa = ap + off[0];
      const T* pb = bp + off[1];
      R* py = yp + o;
      // One loop per stride pattern so the common ones vectorize.
      if (st[0] == 1 && st[1] == 1) {
        for (int64_t j = 0; j < n; ++j) py[j] = F::f(pa[j], pb[j]);
      } else if (st[0] == 1) {
        const T vb = pb[0];
        for (int64_t j = 0; j < n; ++j) py[j] = F::f(pa[j], vb);
      } else if (st[1] == 1) {
        const T va = pa[0];
        for (int64_t j = 0; j < n; ++j) py[j] = F::f(va, pb[j]);
      } else {
        const R v = F::f(pa[0], pb[0]);
        for (int64_t j = 0; j < n; ++j) py[j] = v;
      }
    });
  });
}

// Base for binary functors without an input check.
struct NoDivisorCheck {
  template <class T>
  static void check(const T*, int64_t) {}
};

// Refuses integer division by zero (named after the op by the caller's error prefix).
struct IntegerDivisorCheck {
  template <class T>
  static void check(const T* b, int64_t n) {
    if constexpr (std::is_integral_v<T>) {
      for (int64_t i = 0; i < n; ++i)
        SLUICE_REQUIRE(b[i] != 0, InvalidArgument, "Integer division by zero");
    }
  }
};

// Shape-function helpers shared by these families.
void float_unary_shape(ShapeContext& ctx);    // float input, unchanged shape
void numeric_unary_shape(ShapeContext& ctx);  // any numeric input, unchanged shape
// Output 0 is the broadcast of inputs 0 and 1 (same dtype), with dtype `out`.
void broadcast_binary_shape(ShapeContext& ctx, DType out);
// Inputs 0..n-1 share a dtype and (merged) shape; output 0 has it.
void same_shape_inputs(ShapeContext& ctx);

}  // namespace sluice::kernels

namespace sluice::kernels {

// Scopes for a composite op built from several nodes: the intermediate nodes go under
// "<name>/" and the result node is named <name> (the scope's explicit name, else
// `default_name`), as TensorFlow's Python composites do.
struct CompositeScopes {
  Scope inner;
  Scope result;
};
inline CompositeScopes composite_scopes(const Scope& scope, const char* default_name) {
  const std::string name = scope.explicit_name().empty() ? default_name : scope.explicit_name();
  return {scope.sub(name), scope.named(name)};
}

}  // namespace sluice::kernels
