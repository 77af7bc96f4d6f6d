// Math ops: declaration, shape function, CPU kernel and gradient of each, side by side.
#include "math_ops.h"

#include "eigen.h"  // <Eigen/Core>
#include <cmath>
#include <type_traits>

#include "array_ops.h"
#include "gemm.h"
#include "gemm_prepacked.h"
#include "kernel_util.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Signed integer arithmetic that wraps instead of overflowing (overflow is undefined
// behaviour in C++; TensorFlow's integer kernels wrap too).
template <class T>
T wrap(T a, T b, char op) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // In unsigned arithmetic at least as wide as unsigned int: uint16 operands would
    // otherwise promote to (signed) int, and 65535 * 65535 overflows int.
    using U = std::make_unsigned_t<T>;
    using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
    const W x = static_cast<U>(a), y = static_cast<U>(b);
    return static_cast<T>(static_cast<U>(op == '+' ? x + y : op == '-' ? x - y : x * y));
  } else {
    return op == '+' ? a + b : op == '-' ? a - b : a * b;
  }
}

// ---------------------------------------------------------------------------------------
// Unary elementwise ops. Float ones run on Eigen array expressions (vectorized exp, log,
// tanh, ...); F::eval maps an Eigen array expression to the result expression.

// F::kSignAgnostic: integers run as their unsigned twin (kernel_util.h), so Ts lists the
// twins (SLUICE_TWIN_TYPES). The dispatch matched the element size, so the raw buffers are
// arrays of T.
template <class F>
DType kernel_dtype(DType d) {
  if constexpr (F::kSignAgnostic) return unsigned_twin(d);
  return d;
}
struct SignAware {
  static constexpr bool kSignAgnostic = false;
};
struct SignAgnostic {
  static constexpr bool kSignAgnostic = true;
};

template <class F, class... Ts>
void unary_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch<Ts...>(kernel_dtype<F>(x.dtype()), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
    const T* xp = static_cast<const T*>(x.raw_data());
    T* yp = static_cast<T*>(y.raw_data());
    parallel_aligned(ctx.pool(), x.num_elements(), [&](int64_t b, int64_t e) {
      ArrayMap<T>(yp + b, e - b) = F::eval(ConstArrayMap<T>(xp + b, e - b));
    });
  });
}

struct NegF : SignAgnostic {
  template <class A> static auto eval(const A& x) {
    using T = typename A::Scalar;
    return x.unaryExpr([](T v) { return wrap<T>(T(0), v, '-'); });
  }
};
struct AbsF : SignAware {
  template <class A> static auto eval(const A& x) {
    using T = typename A::Scalar;
    return x.unaryExpr([](T v) {
      if constexpr (std::is_unsigned_v<T>) {
        return v;
      } else {
        return v < T(0) ? wrap<T>(T(0), v, '-') : v;
      }
    });
  }
};
struct SignF : SignAware {
  template <class A> static auto eval(const A& x) {
    using T = typename A::Scalar;
    // sign(NaN) = NaN, as NumPy and TensorFlow (v != v is false for integers).
    return x.unaryExpr([](T v) {
      if constexpr (std::is_unsigned_v<T>) {
        return static_cast<T>(v != T(0));
      } else {
        return v != v ? v : static_cast<T>((T(0) < v) - (v < T(0)));
      }
    });
  }
};
struct SquareF : SignAgnostic {
  template <class A> static auto eval(const A& x) {
    using T = typename A::Scalar;
    return x.unaryExpr([](T v) { return wrap<T>(v, v, '*'); });
  }
};
struct ExpF : SignAware { template <class A> static auto eval(const A& x) { return x.exp(); } };
struct LogF : SignAware { template <class A> static auto eval(const A& x) { return x.log(); } };
// std::sqrt, not Eigen's sqrt(): with EIGEN_FAST_MATH (its default) Eigen's float sqrt is
// x * rsqrt(x), which gives NaN for +inf (inf * 0) and is not correctly rounded. The plain
// loop still vectorizes (vsqrtps; -fno-math-errno).
struct SqrtF : SignAware {
  template <class A> static auto eval(const A& x) {
    using T = typename A::Scalar;
    return x.unaryExpr([](T v) { return std::sqrt(v); });
  }
};
struct RsqrtF : SignAware { template <class A> static auto eval(const A& x) { return x.rsqrt(); } };
struct ReciprocalF : SignAware { template <class A> static auto eval(const A& x) { return x.inverse(); } };
struct SigmoidF : SignAware { template <class A> static auto eval(const A& x) { return x.logistic(); } };
struct TanhF : SignAware { template <class A> static auto eval(const A& x) { return x.tanh(); } };
struct LogicalNotF : SignAware {
  template <class A> static auto eval(const A& x) {
    return x.unaryExpr([](bool v) { return !v; });
  }
};

void float_unary_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  unchanged_shape(ctx);
}

void numeric_unary_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) != DType::boolean && ctx.input_dtype(0) != DType::string,
                 InvalidArgument, "input must be numeric, got ", dtype_name(ctx.input_dtype(0)));
  unchanged_shape(ctx);
}

void bool_unary_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) == DType::boolean, InvalidArgument, "input must be bool, got ",
                 dtype_name(ctx.input_dtype(0)));
  unchanged_shape(ctx);
}

Output scalar(const Scope& s, const Output& like, double v) { return ops::scalar_like(s, like, v); }

Grads neg_grad(const Scope& s, const Operation&, const Grads& g) {
  return {ops::neg(s, g[0])};  // d/dx -x = -1
}
Grads abs_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::mul(s, g[0], ops::sign(s, op.input(0)))};  // d/dx |x| = sign(x)
}
Grads exp_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::mul(s, g[0], op.output(0))};  // d/dx e^x = e^x
}
Grads log_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::div(s, g[0], op.input(0))};  // d/dx ln x = 1/x
}
Grads sqrt_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx sqrt(x) = 0.5 / sqrt(x)
  return {ops::div(s, ops::mul(s, g[0], scalar(s, g[0], 0.5)), op.output(0))};
}
Grads rsqrt_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx x^-1/2 = -0.5 x^-3/2 = -0.5 y^3
  const Output y = op.output(0);
  const Output y3 = ops::mul(s, ops::square(s, y), y);
  return {ops::mul(s, ops::mul(s, g[0], y3), scalar(s, y, -0.5))};
}
Grads square_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx x^2 = 2x
  return {ops::mul(s, g[0], ops::mul(s, op.input(0), scalar(s, op.input(0), 2.0)))};
}
Grads reciprocal_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx 1/x = -1/x^2 = -y^2
  return {ops::neg(s, ops::mul(s, g[0], ops::square(s, op.output(0))))};
}
Grads sigmoid_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx sigmoid(x) = y (1 - y)
  const Output y = op.output(0);
  return {ops::mul(s, g[0], ops::mul(s, y, ops::sub(s, scalar(s, y, 1.0), y)))};
}
Grads tanh_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx tanh(x) = 1 - y^2
  const Output y = op.output(0);
  return {ops::mul(s, g[0], ops::sub(s, scalar(s, y, 1.0), ops::square(s, y)))};
}

// ---------------------------------------------------------------------------------------
// Binary elementwise ops with broadcasting. F::f(a, b) is the scalar function; the output
// dtype is what it returns (T for arithmetic, bool for comparisons).

// Inputs ia and ib are F's a and b: swapped_kernel runs x > y as y < x with Less's code.
template <class F, class... Ts>
void binary_kernel_on(KernelContext& ctx, int ia, int ib) {
  const Tensor& a = ctx.input(ia);
  const Tensor& b = ctx.input(ib);
  SLUICE_REQUIRE(a.dtype() == b.dtype(), InvalidArgument, "inputs have dtypes ",
                 dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  const Shape out = broadcast_shapes(a.shape(), b.shape());
  dispatch<Ts...>(kernel_dtype<F>(a.dtype()), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using R = decltype(F::f(T(), T()));
    F::check(b);
    Tensor& y = a.shape() == out   ? ctx.forward_or_allocate(ia, 0, out)
                : b.shape() == out ? ctx.forward_or_allocate(ib, 0, out)
                                   : ctx.allocate_output(0, out);
    const T* ap = static_cast<const T*>(a.raw_data());
    const T* bp = static_cast<const T*>(b.raw_data());
    R* yp = static_cast<R*>(y.raw_data());
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
      // Separate loops per stride pattern so the common ones vectorize.
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

template <class F, class... Ts>
void binary_kernel(KernelContext& ctx) {
  binary_kernel_on<F, Ts...>(ctx, 0, 1);
}
template <class F, class... Ts>
void swapped_kernel(KernelContext& ctx) {
  binary_kernel_on<F, Ts...>(ctx, 1, 0);
}

struct NoCheck : SignAware {
  static void check(const Tensor&) {}
};
struct AgnosticNoCheck : SignAgnostic {
  static void check(const Tensor&) {}
};
struct AddF : AgnosticNoCheck { template <class T> static T f(T a, T b) { return wrap<T>(a, b, '+'); } };
struct SubF : AgnosticNoCheck { template <class T> static T f(T a, T b) { return wrap<T>(a, b, '-'); } };
struct MulF : AgnosticNoCheck { template <class T> static T f(T a, T b) { return wrap<T>(a, b, '*'); } };
struct DivF : SignAware {
  // Integer division by zero traps on x86: refuse it before computing.
  static void check(const Tensor& b) {
    dispatch<SLUICE_REAL_TYPES>(b.dtype(), "Div", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T>) {
        const T* p = b.data<T>();
        for (int64_t i = 0; i < b.num_elements(); ++i)
          SLUICE_REQUIRE(p[i] != 0, InvalidArgument, "Integer division by zero");
      }
    });
  }
  template <class T> static T f(T a, T b) {
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      return b == T(-1) ? wrap<T>(T(0), a, '-') : static_cast<T>(a / b);  // INT_MIN / -1 traps
    } else {
      return static_cast<T>(a / b);
    }
  }
};
struct PowF : NoCheck { template <class T> static T f(T a, T b) { return std::pow(a, b); } };
// NaN in either operand gives NaN (TensorFlow and PyTorch propagate it; a plain a >= b ? a : b
// would turn max(NaN, 0) into 0).
struct MaxF : NoCheck { template <class T> static T f(T a, T b) { return a >= b || a != a ? a : b; } };
struct MinF : NoCheck { template <class T> static T f(T a, T b) { return a <= b || a != a ? a : b; } };
// By reference: T may be std::string. Sign-agnostic: == on integers compares bits (floats
// keep their own ==, where -0 == 0 and NaN != NaN).
struct EqualF : AgnosticNoCheck { template <class T> static bool f(const T& a, const T& b) { return a == b; } };
struct NotEqualF : AgnosticNoCheck { template <class T> static bool f(const T& a, const T& b) { return a != b; } };
struct LessF : NoCheck { template <class T> static bool f(T a, T b) { return a < b; } };
struct LessEqualF : NoCheck { template <class T> static bool f(T a, T b) { return a <= b; } };
struct AndF : NoCheck { static bool f(bool a, bool b) { return a && b; } };
struct OrF : NoCheck { static bool f(bool a, bool b) { return a || b; } };

void binary_shape(ShapeContext& ctx, DType out_dtype) {
  require_same_dtype(ctx, 0, 1);
  ctx.add_output(out_dtype, broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1)));
}
void numeric_binary_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) != DType::boolean, InvalidArgument,
                 "arithmetic on bool tensors; cast them first");
  binary_shape(ctx, ctx.input_dtype(0));
}
void float_binary_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  binary_shape(ctx, ctx.input_dtype(0));
}
void compare_shape(ShapeContext& ctx) { binary_shape(ctx, DType::boolean); }
void ordered_compare_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) != DType::boolean, InvalidArgument,
                 "ordered comparison of bool tensors; cast them first");
  binary_shape(ctx, DType::boolean);
}
void logical_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) == DType::boolean, InvalidArgument,
                 "logical ops need bool inputs, got ", dtype_name(ctx.input_dtype(0)));
  binary_shape(ctx, DType::boolean);
}

// Gradients of broadcasting binary ops sum back to each input's shape.
Grads reduce_both(const Scope& s, const Operation& op, const Output& ga, const Output& gb) {
  return {ops::sum_to_like(s, ga, op.input(0)), ops::sum_to_like(s, gb, op.input(1))};
}
Grads add_grad(const Scope& s, const Operation& op, const Grads& g) {
  return reduce_both(s, op, g[0], g[0]);  // d/da (a+b) = 1, d/db = 1
}
Grads sub_grad(const Scope& s, const Operation& op, const Grads& g) {
  return reduce_both(s, op, g[0], ops::neg(s, g[0]));  // d/da (a-b) = 1, d/db = -1
}
Grads mul_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/da (ab) = b, d/db (ab) = a
  return reduce_both(s, op, ops::mul(s, g[0], op.input(1)), ops::mul(s, g[0], op.input(0)));
}
Grads div_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/da (a/b) = 1/b, d/db (a/b) = -a/b^2
  const Output a = op.input(0), b = op.input(1);
  const Output gb = ops::neg(s, ops::div(s, ops::mul(s, g[0], a), ops::square(s, b)));
  return reduce_both(s, op, ops::div(s, g[0], b), gb);
}
Grads pow_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/da a^b = b a^(b-1); d/db a^b = a^b ln a (taken as 0 where a <= 0)
  const Output a = op.input(0), b = op.input(1), y = op.output(0);
  const Output ga = ops::mul(s, g[0], ops::mul(s, b, ops::pow(s, a, ops::sub(s, b, scalar(s, b, 1.0)))));
  const Output positive = ops::greater(s, a, scalar(s, a, 0.0));
  const Output safe_a = ops::select(s, positive, a, ops::ones_like(s, a));
  const Output log_a = ops::select(s, positive, ops::log(s, safe_a), ops::zeros_like(s, a));
  const Output gb = ops::mul(s, g[0], ops::mul(s, y, log_a));
  return reduce_both(s, op, ga, gb);
}
// d/da max(a, b) = 1 where a >= b (ties go to a, as TensorFlow), d/db = the rest.
Grads select_both(const Scope& s, const Operation& op, const Output& to_a, const Grads& g) {
  const Output zeros = ops::zeros_like(s, g[0]);
  const Output mask = ops::broadcast_like(s, to_a, g[0]);
  return reduce_both(s, op, ops::select(s, mask, g[0], zeros), ops::select(s, mask, zeros, g[0]));
}
Grads maximum_grad(const Scope& s, const Operation& op, const Grads& g) {
  return select_both(s, op, ops::greater_equal(s, op.input(0), op.input(1)), g);
}
Grads minimum_grad(const Scope& s, const Operation& op, const Grads& g) {
  return select_both(s, op, ops::less_equal(s, op.input(0), op.input(1)), g);
}

// ---------------------------------------------------------------------------------------
// MatMul, AddN

// Static and run-time dims of matmul: returns {M, K, K_b, N}.
std::array<int64_t, 4> matmul_dims(const Shape& a, const Shape& b, bool ta, bool tb) {
  return {ta ? a.dim(1) : a.dim(0), ta ? a.dim(0) : a.dim(1), tb ? b.dim(1) : b.dim(0),
          tb ? b.dim(0) : b.dim(1)};
}

void matmul_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  require_same_dtype(ctx, 0, 1);
  const Shape& a = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  if (!a.known_rank() || !b.known_rank()) {
    ctx.add_output(ctx.input_dtype(0), Shape{-1, -1});
    return;
  }
  SLUICE_REQUIRE(a.rank() == 2 && b.rank() == 2, InvalidArgument,
                 "MatMul needs rank-2 inputs, got shapes ", a.to_string(), " and ", b.to_string());
  const bool ta = ctx.attr<bool>("transpose_a"), tb = ctx.attr<bool>("transpose_b");
  const auto [m, k, kb, n] = matmul_dims(a, b, ta, tb);
  SLUICE_REQUIRE(k < 0 || kb < 0 || k == kb, InvalidArgument,
                 "Matrix size-incompatible: In[0]: ", a.to_string(), ", In[1]: ", b.to_string(),
                 ta || tb ? " (with transposes)" : "");
  ctx.add_output(ctx.input_dtype(0), Shape{m, n});
}

void matmul_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  SLUICE_REQUIRE(a.rank() == 2 && b.rank() == 2, InvalidArgument,
                 "MatMul needs rank-2 inputs, got ", a.summary(), " and ", b.summary());
  const bool ta = ctx.attr<bool>("transpose_a"), tb = ctx.attr<bool>("transpose_b");
  // Plain variables (not a structured binding): lambdas below capture them.
  const auto dims = matmul_dims(a.shape(), b.shape(), ta, tb);
  const int64_t m = dims[0], k = dims[1], kb = dims[2], n = dims[3];
  SLUICE_REQUIRE(k == kb, InvalidArgument, "Matrix size-incompatible: In[0]: ",
                 a.shape().to_string(), ", In[1]: ", b.shape().to_string());
  Tensor& y = ctx.allocate_output(0, Shape{m, n});
  dispatch<SLUICE_FLOAT_TYPES>(a.dtype(), "MatMul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Sluice's packed kernel, with b packed once and reused by every run when it is a
    // Const or variable (ops/gemm_prepacked.h): a batch's row i is bit-identical to row i
    // alone, whatever m.
    if (!ta) {
      const auto packed = gemm::packed_weights<T>(ctx.node(), 1, b, tb, k, n);
      gemm::gemm_prepacked<T>(m, a.data<T>(), a.dim(1), *packed, T(0), y.data<T>(), n, &ctx.pool());
      return;
    }
    gemm::gemm<T>(ta, tb, m, n, k, T(1), a.data<T>(), a.dim(1), b.data<T>(), b.dim(1), T(0),
                  y.data<T>(), n, &ctx.pool());
  });
}

Grads matmul_grad(const Scope& s, const Operation& op, const Grads& g) {
  return ops::matmul_input_grads(s, op.input(0), op.input(1), g[0],
                                 op.node()->attr<bool>("transpose_a"),
                                 op.node()->attr<bool>("transpose_b"));
}

void add_n_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.num_inputs() >= 1, InvalidArgument, "AddN needs at least one input");
  SLUICE_REQUIRE(ctx.input_dtype(0) != DType::boolean, InvalidArgument,
                 "arithmetic on bool tensors; cast them first");
  Shape s = ctx.input_shape(0);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    require_same_dtype(ctx, 0, i);
    SLUICE_REQUIRE(s.compatible_with(ctx.input_shape(i)), InvalidArgument, "AddN inputs of shapes ",
                   s.to_string(), " and ", ctx.input_shape(i).to_string());
    s = s.merge(ctx.input_shape(i));
  }
  ctx.add_output(ctx.input_dtype(0), s);
}
void add_n_kernel(KernelContext& ctx) {
  const Tensor& x0 = ctx.input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i)
    SLUICE_REQUIRE(ctx.input(i).shape() == x0.shape(), InvalidArgument, "AddN inputs of shapes ",
                   x0.shape().to_string(), " and ", ctx.input(i).shape().to_string());
  // Wrapping sums are sign-agnostic: integers add as their unsigned twin (kernel_util.h).
  dispatch<SLUICE_TWIN_TYPES>(unsigned_twin(x0.dtype()), "AddN", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.forward_or_allocate(0, 0, x0.shape());
    T* yp = static_cast<T*>(y.raw_data());
    const int n = ctx.num_inputs();
    parallel_range(ctx.pool(), y.num_elements(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      const T* p0 = static_cast<const T*>(x0.raw_data());
      for (int64_t j = b; j < e; ++j) yp[j] = p0[j];
      for (int i = 1; i < n; ++i) {
        const T* p = static_cast<const T*>(ctx.input(i).raw_data());
        for (int64_t j = b; j < e; ++j) yp[j] = wrap<T>(yp[j], p[j], '+');
      }
    });
  });
}
Grads add_n_grad(const Scope&, const Operation& op, const Grads& g) {
  return Grads(op.num_inputs(), g[0]);  // d/dx_i sum(x) = 1
}

Output binary(const Scope& scope, const char* op, const Output& a, const Output& b) {
  return NodeBuilder(scope, op).input(a).input(b).finish().output(0);
}
Output unary(const Scope& scope, const char* op, const Output& x) {
  return NodeBuilder(scope, op).input(x).finish().output(0);
}

}  // namespace

void register_math_ops(OpRegistry& r) {
  // Unary.
  r.op("Neg").input("x").output("y").shape_fn(numeric_unary_shape)
      .kernel(unary_kernel<NegF, SLUICE_TWIN_TYPES>).gradient(neg_grad);
  r.op("Abs").input("x").output("y").shape_fn(numeric_unary_shape)
      .kernel(unary_kernel<AbsF, SLUICE_REAL_TYPES>).gradient(abs_grad);
  r.op("Sign").input("x").output("y").shape_fn(numeric_unary_shape)
      .kernel(unary_kernel<SignF, SLUICE_REAL_TYPES>).not_differentiable();
  r.op("Square").input("x").output("y").shape_fn(numeric_unary_shape)
      .kernel(unary_kernel<SquareF, SLUICE_TWIN_TYPES>).gradient(square_grad);
  r.op("Exp").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(unary_kernel<ExpF, SLUICE_FLOAT_TYPES>).gradient(exp_grad);
  r.op("Log").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(unary_kernel<LogF, SLUICE_FLOAT_TYPES>).gradient(log_grad);
  r.op("Sqrt").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(unary_kernel<SqrtF, SLUICE_FLOAT_TYPES>).gradient(sqrt_grad);
  r.op("Rsqrt").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(unary_kernel<RsqrtF, SLUICE_FLOAT_TYPES>).gradient(rsqrt_grad);
  r.op("Reciprocal").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(unary_kernel<ReciprocalF, SLUICE_FLOAT_TYPES>).gradient(reciprocal_grad);
  r.op("Sigmoid").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(unary_kernel<SigmoidF, SLUICE_FLOAT_TYPES>).gradient(sigmoid_grad);
  r.op("Tanh").input("x").output("y").shape_fn(float_unary_shape)
      .kernel(unary_kernel<TanhF, SLUICE_FLOAT_TYPES>).gradient(tanh_grad);
  r.op("LogicalNot").input("x").output("y").shape_fn(bool_unary_shape)
      .kernel(unary_kernel<LogicalNotF, bool>).not_differentiable();

  // Binary arithmetic.
  r.op("Add").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(binary_kernel<AddF, SLUICE_TWIN_TYPES>).gradient(add_grad);
  r.op("Sub").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(binary_kernel<SubF, SLUICE_TWIN_TYPES>).gradient(sub_grad);
  r.op("Mul").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(binary_kernel<MulF, SLUICE_TWIN_TYPES>).gradient(mul_grad);
  r.op("Div").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(binary_kernel<DivF, SLUICE_REAL_TYPES>).gradient(div_grad);
  r.op("Pow").input("x").input("y").output("z").shape_fn(float_binary_shape)
      .kernel(binary_kernel<PowF, SLUICE_FLOAT_TYPES>).gradient(pow_grad);
  r.op("Maximum").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(binary_kernel<MaxF, SLUICE_REAL_TYPES>).gradient(maximum_grad);
  r.op("Minimum").input("x").input("y").output("z").shape_fn(numeric_binary_shape)
      .kernel(binary_kernel<MinF, SLUICE_REAL_TYPES>).gradient(minimum_grad);

  // Comparisons and logic.
  r.op("Equal").input("x").input("y").output("z").shape_fn(compare_shape)
      .kernel(binary_kernel<EqualF, SLUICE_TWIN_TYPES, std::string>).not_differentiable()
      .supports_strings();
  r.op("NotEqual").input("x").input("y").output("z").shape_fn(compare_shape)
      .kernel(binary_kernel<NotEqualF, SLUICE_TWIN_TYPES, std::string>).not_differentiable()
      .supports_strings();
  r.op("Less").input("x").input("y").output("z").shape_fn(ordered_compare_shape)
      .kernel(binary_kernel<LessF, SLUICE_REAL_TYPES>).not_differentiable();
  r.op("LessEqual").input("x").input("y").output("z").shape_fn(ordered_compare_shape)
      .kernel(binary_kernel<LessEqualF, SLUICE_REAL_TYPES>).not_differentiable();
  r.op("Greater").input("x").input("y").output("z").shape_fn(ordered_compare_shape)
      .kernel(swapped_kernel<LessF, SLUICE_REAL_TYPES>).not_differentiable();
  r.op("GreaterEqual").input("x").input("y").output("z").shape_fn(ordered_compare_shape)
      .kernel(swapped_kernel<LessEqualF, SLUICE_REAL_TYPES>).not_differentiable();
  r.op("LogicalAnd").input("x").input("y").output("z").shape_fn(logical_shape)
      .kernel(binary_kernel<AndF, bool>).not_differentiable();
  r.op("LogicalOr").input("x").input("y").output("z").shape_fn(logical_shape)
      .kernel(binary_kernel<OrF, bool>).not_differentiable();

  r.op("MatMul").input("a").input("b").output("product")
      .attr("transpose_a", false).attr("transpose_b", false)
      .shape_fn(matmul_shape).kernel(matmul_kernel).gradient(matmul_grad);
  r.op("AddN").variadic_input("inputs").output("sum")
      .shape_fn(add_n_shape).kernel(add_n_kernel).gradient(add_n_grad);
}

namespace ops {

Output neg(const Scope& s, const Output& x) { return unary(s, "Neg", x); }
Output abs(const Scope& s, const Output& x) { return unary(s, "Abs", x); }
Output sign(const Scope& s, const Output& x) { return unary(s, "Sign", x); }
Output exp(const Scope& s, const Output& x) { return unary(s, "Exp", x); }
Output log(const Scope& s, const Output& x) { return unary(s, "Log", x); }
Output sqrt(const Scope& s, const Output& x) { return unary(s, "Sqrt", x); }
Output rsqrt(const Scope& s, const Output& x) { return unary(s, "Rsqrt", x); }
Output square(const Scope& s, const Output& x) { return unary(s, "Square", x); }
Output reciprocal(const Scope& s, const Output& x) { return unary(s, "Reciprocal", x); }
Output sigmoid(const Scope& s, const Output& x) { return unary(s, "Sigmoid", x); }
Output tanh(const Scope& s, const Output& x) { return unary(s, "Tanh", x); }
Output logical_not(const Scope& s, const Output& x) { return unary(s, "LogicalNot", x); }

Output add(const Scope& s, const Output& a, const Output& b) { return binary(s, "Add", a, b); }
Output sub(const Scope& s, const Output& a, const Output& b) { return binary(s, "Sub", a, b); }
Output mul(const Scope& s, const Output& a, const Output& b) { return binary(s, "Mul", a, b); }
Output div(const Scope& s, const Output& a, const Output& b) { return binary(s, "Div", a, b); }
Output pow(const Scope& s, const Output& a, const Output& b) { return binary(s, "Pow", a, b); }
Output maximum(const Scope& s, const Output& a, const Output& b) { return binary(s, "Maximum", a, b); }
Output minimum(const Scope& s, const Output& a, const Output& b) { return binary(s, "Minimum", a, b); }
Output equal(const Scope& s, const Output& a, const Output& b) { return binary(s, "Equal", a, b); }
Output not_equal(const Scope& s, const Output& a, const Output& b) { return binary(s, "NotEqual", a, b); }
Output less(const Scope& s, const Output& a, const Output& b) { return binary(s, "Less", a, b); }
Output less_equal(const Scope& s, const Output& a, const Output& b) { return binary(s, "LessEqual", a, b); }
Output greater(const Scope& s, const Output& a, const Output& b) { return binary(s, "Greater", a, b); }
Output greater_equal(const Scope& s, const Output& a, const Output& b) {
  return binary(s, "GreaterEqual", a, b);
}
Output logical_and(const Scope& s, const Output& a, const Output& b) { return binary(s, "LogicalAnd", a, b); }
Output logical_or(const Scope& s, const Output& a, const Output& b) { return binary(s, "LogicalOr", a, b); }

Output matmul(const Scope& s, const Output& a, const Output& b, bool transpose_a, bool transpose_b) {
  return NodeBuilder(s, "MatMul").input(a).input(b).attr("transpose_a", transpose_a)
      .attr("transpose_b", transpose_b).finish().output(0);
}

std::vector<Output> matmul_input_grads(const Scope& s, const Output& a, const Output& b,
                                       const Output& dy, bool ta, bool tb) {
  // C = A B: dA = dC B^T, dB = A^T dC (and the transposed variants of the same identity)
  if (!ta && !tb) return {ops::matmul(s, dy, b, false, true), ops::matmul(s, a, dy, true, false)};
  if (ta && !tb) return {ops::matmul(s, b, dy, false, true), ops::matmul(s, a, dy, false, false)};
  if (!ta && tb) return {ops::matmul(s, dy, b, false, false), ops::matmul(s, dy, a, true, false)};
  return {ops::matmul(s, b, dy, true, true), ops::matmul(s, dy, a, true, true)};
}

Output add_n(const Scope& s, const std::vector<Output>& xs) {
  if (xs.size() == 1) return xs[0];
  return NodeBuilder(s, "AddN").inputs(xs).finish().output(0);
}

Output scalar_like(const Scope& s, const Output& x, double value) {
  return constant(s, Tensor::filled(x.dtype(), Shape{}, value));
}

}  // namespace ops

Output operator+(const Output& a, const Output& b) { return ops::add(Scope(a.graph()), a, b); }
Output operator-(const Output& a, const Output& b) { return ops::sub(Scope(a.graph()), a, b); }
Output operator*(const Output& a, const Output& b) { return ops::mul(Scope(a.graph()), a, b); }
Output operator/(const Output& a, const Output& b) { return ops::div(Scope(a.graph()), a, b); }
Output operator-(const Output& x) { return ops::neg(Scope(x.graph()), x); }

}  // namespace sluice
