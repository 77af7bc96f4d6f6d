// Reduction ops: declaration, shape function, CPU kernel and gradient of each.
#include "reduction_ops.h"

#include "eigen.h"  // <Eigen/Core>
#include <algorithm>
#include <limits>

#include "array_ops.h"
#include "kernel_util.h"
#include "math_ops.h"
#include "math_unary_ops.h"
#include "scan_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

// Which dims of a rank-r tensor are reduced (empty axes = all).
std::vector<bool> reduced_dims(const Ints& axes, int rank) {
  std::vector<bool> red(rank, axes.empty());
  for (int64_t a : axes) red[normalize_axis(a, rank, "reduction axis")] = true;
  return red;
}

Shape reduced_shape(const Shape& in, const Ints& axes, bool keepdims) {
  if (!in.known_rank()) return in;
  const std::vector<bool> red = reduced_dims(axes, in.rank());
  Ints out;
  for (int i = 0; i < in.rank(); ++i) {
    if (!red[i]) {
      out.push_back(in.dim(i));
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return Shape(out);
}

void reduction_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) != DType::boolean && ctx.input_dtype(0) != DType::string,
                 InvalidArgument, "cannot reduce a ", dtype_name(ctx.input_dtype(0)), " tensor");
  const Shape& in = ctx.input_shape(0);
  const Ints& axes = ctx.attr<Ints>("axes");
  SLUICE_REQUIRE(in.known_rank() || axes.empty(), InvalidArgument,
                 "reduction over listed axes needs an input of known rank");
  ctx.add_output(ctx.input_dtype(0), reduced_shape(in, axes, ctx.attr<bool>("keepdims")));
}

// The reduction as [outer, reduce, inner] when the reduced dims are one contiguous block
// (size-1 dims ignored); false otherwise.
bool as_block(const Shape& s, const std::vector<bool>& red, int64_t& o, int64_t& r, int64_t& in) {
  o = r = in = 1;
  int phase = 0;  // 0: before the block, 1: inside, 2: after
  for (int i = 0; i < s.rank(); ++i) {
    const int64_t d = s.dim(i);
    if (d == 1) continue;
    if (red[i]) {
      if (phase == 2) return false;
      phase = 1;
      r *= d;
    } else {
      if (phase == 1) phase = 2;
      (phase == 0 ? o : in) *= d;
    }
  }
  return true;
}

struct SumR {
  template <class T> static T init() { return T(0); }
  template <class T> static T combine(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    } else {
      return a + b;
    }
  }
  template <class T> static T row(const T* p, int64_t n) {
    if constexpr (std::is_floating_point_v<T>) {
      return Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(p, n).sum();
    } else {
      T acc = 0;
      for (int64_t i = 0; i < n; ++i) acc = combine(acc, p[i]);
      return acc;
    }
  }
};
// Max/Min start from -inf/+inf for floats (the max of [-inf, -inf] is -inf, not the lowest
// finite number) and keep a NaN once one is seen.
template <class T>
constexpr T lowest_value() {
  if constexpr (std::numeric_limits<T>::has_infinity) {
    return -std::numeric_limits<T>::infinity();
  } else {
    return std::numeric_limits<T>::lowest();
  }
}
template <class T>
constexpr T highest_value() {
  if constexpr (std::numeric_limits<T>::has_infinity) {
    return std::numeric_limits<T>::infinity();
  } else {
    return std::numeric_limits<T>::max();
  }
}
struct MaxR {
  template <class T> static T init() { return lowest_value<T>(); }
  template <class T> static T combine(T a, T b) { return b > a || b != b ? b : a; }
  template <class T> static T row(const T* p, int64_t n) {
    T acc = init<T>();
    for (int64_t i = 0; i < n; ++i) acc = combine(acc, p[i]);
    return acc;
  }
};
struct MinR {
  template <class T> static T init() { return highest_value<T>(); }
  template <class T> static T combine(T a, T b) { return b < a || b != b ? b : a; }
  template <class T> static T row(const T* p, int64_t n) {
    T acc = init<T>();
    for (int64_t i = 0; i < n; ++i) acc = combine(acc, p[i]);
    return acc;
  }
};

// y = reduction of x over `red` (y has the kept dims, in order). Deterministic: the
// reduction order of every output element is fixed.
template <class R, class T>
void reduce(ThreadPool& pool, const T* x, const Shape& xs, const std::vector<bool>& red, T* y,
            int64_t y_count) {
  std::fill(y, y + y_count, R::template init<T>());
  if (xs.num_elements() == 0) return;
  int64_t outer, rsize, inner;
  if (as_block(xs, red, outer, rsize, inner)) {
    if (inner == 1) {
      parallel_range(pool, outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(rsize, 1)),
                     [&](int64_t b, int64_t e) {
                       for (int64_t o = b; o < e; ++o) y[o] = R::row(x + o * rsize, rsize);
                     });
      return;
    }
    // Rows of `inner` elements combined elementwise; split across outer, or across inner
    // columns when there is little outer work.
    const bool split_outer = outer >= pool.num_threads();
    const int64_t n = split_outer ? outer : inner;
    const int64_t per = split_outer ? rsize * inner : rsize * outer;
    parallel_range(pool, n, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(per, 1)),
                   [&](int64_t b, int64_t e) {
                     const int64_t o0 = split_outer ? b : 0, o1 = split_outer ? e : outer;
                     const int64_t i0 = split_outer ? 0 : b, i1 = split_outer ? inner : e;
                     for (int64_t o = o0; o < o1; ++o) {
                       T* yr = y + o * inner;
                       for (int64_t r = 0; r < rsize; ++r) {
                         const T* xr = x + (o * rsize + r) * inner;
                         for (int64_t i = i0; i < i1; ++i) yr[i] = R::combine(yr[i], xr[i]);
                       }
                     }
                   });
    return;
  }
  // General case: walk x row by row; each row lands on one run of y (stride 0 or 1).
  Ints keep = xs.dims();
  for (int i = 0; i < xs.rank(); ++i)
    if (red[i]) keep[i] = 1;
  const Shape keep_shape(keep);
  BroadcastLoop<1> loop(xs, {&keep_shape});
  const int64_t in_len = loop.inner(), rows = loop.outer(), st = loop.inner_stride(0);
  for (int64_t row = 0; row < rows; ++row) {
    const T* xr = x + row * in_len;
    T* yr = y + loop.offsets(row)[0];
    if (st == 0) {
      yr[0] = R::combine(yr[0], R::row(xr, in_len));
    } else {
      for (int64_t j = 0; j < in_len; ++j) yr[j] = R::combine(yr[j], xr[j]);
    }
  }
}

template <class T, bool kTwin>
struct SumStorage {
  using type = T;
};
template <class T>
struct SumStorage<T, true> {
  using type = std::make_unsigned_t<T>;
};

template <class R, bool kMean>
void reduction_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Ints& axes = ctx.attr<Ints>("axes");
  const std::vector<bool> red = reduced_dims(axes, x.rank());
  Tensor& y = ctx.allocate_output(0, reduced_shape(x.shape(), axes, ctx.attr<bool>("keepdims")));
  dispatch<SLUICE_REAL_TYPES>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Wrapping sums are sign-agnostic: integers reduce as their unsigned twin (see
    // kernels::unsigned_twin), so Sum and Mean share four integer instantiations.
    using S = typename SumStorage<T, std::is_same_v<R, SumR> && std::is_integral_v<T>>::type;
    reduce<R>(ctx.pool(), static_cast<const S*>(x.raw_data()), x.shape(), red, static_cast<S*>(y.raw_data()),
              y.num_elements());
    if constexpr (kMean) {
      const int64_t count = y.num_elements() ? x.num_elements() / y.num_elements() : 0;
      T* p = y.data<T>();
      for (int64_t i = 0; i < y.num_elements(); ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          p[i] = count ? p[i] / static_cast<T>(count) : std::numeric_limits<T>::quiet_NaN();
        } else {
          // Divide in 64 bits: the count need not fit in T (300 elements of int8).
          using W = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
          p[i] = count ? static_cast<T>(static_cast<W>(p[i]) / static_cast<W>(count)) : T(0);
        }
      }
    }
  });
}

// g reshaped so its dims line up with x (the reduced dims back as size 1).
Output keepdims_grad(const Scope& s, const Operation& op, const Output& g) {
  const Output x = op.input(0);
  SLUICE_REQUIRE(x.shape().known_rank(), InvalidArgument, op.node()->describe(),
                 ": gradient of a reduction needs an input of known rank");
  if (op.node()->attr<bool>("keepdims")) return g;
  const std::vector<bool> red = reduced_dims(op.node()->attr<Ints>("axes"), x.shape().rank());
  Output r = g;
  for (int i = 0; i < x.shape().rank(); ++i)
    if (red[i]) r = ops::expand_dims(s, r, i);
  return r;
}

Grads sum_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx sum(x) = 1 for every element: broadcast g back over the reduced dims
  return {ops::broadcast_like(s, keepdims_grad(s, op, g[0]), op.input(0))};
}

Grads mean_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx mean(x) = 1 / (elements per output)
  const Output x = op.input(0);
  const Output count = ops::div(s, ops::cast(s, ops::size(s, x), x.dtype()),
                                ops::cast(s, ops::size(s, op.output(0)), x.dtype()));
  return {ops::div(s, ops::broadcast_like(s, keepdims_grad(s, op, g[0]), x), count)};
}

Grads extremum_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx max(x) = 1 at the maximum, shared equally between ties (as TensorFlow)
  const Output x = op.input(0);
  const Output y = ops::broadcast_like(s, keepdims_grad(s, op, op.output(0)), x);
  const Output mask = ops::cast(s, ops::equal(s, x, y), x.dtype());
  const Ints& axes = op.node()->attr<Ints>("axes");
  const Output ties = ops::sum(s, mask, axes, true);
  const Output share = ops::div(s, keepdims_grad(s, op, g[0]), ties);
  return {ops::mul(s, mask, ops::broadcast_like(s, share, x))};
}

// ---- ArgMax / ArgMin ----

void arg_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  SLUICE_REQUIRE(ctx.input_dtype(0) != DType::boolean, InvalidArgument, "cannot take argmax of bool");
  if (!in.known_rank()) {
    ctx.add_output(DType::i64, in);
    return;
  }
  SLUICE_REQUIRE(in.rank() >= 1, InvalidArgument, "argmax/argmin of a scalar");
  const int axis = normalize_axis(ctx.attr_int("axis"), in.rank(), "argmax axis");
  ctx.add_output(DType::i64, reduced_shape(in, {axis}, false));
}

template <bool kMax>
void arg_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "argmax/argmin of a scalar");
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "argmax axis");
  SLUICE_REQUIRE(x.dim(axis) > 0, InvalidArgument, "argmax/argmin over an empty dimension of ",
                 x.shape().to_string());
  Tensor& y = ctx.allocate_output(0, reduced_shape(x.shape(), {axis}, false));
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  const int64_t n = x.dim(axis);
  dispatch<SLUICE_REAL_TYPES>(x.dtype(), "ArgMax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = x.data<T>();
    int64_t* out = y.data<int64_t>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T* col = p + o * n * inner + i;
        // NumPy's rule: the first NaN wins (v != v is false for integers).
        int64_t best = 0;
        T b = col[0];
        for (int64_t r = 1; r < n && b == b; ++r) {
          const T v = col[r * inner];
          if (kMax ? v > b || v != v : v < b || v != v) best = r, b = v;
        }
        out[o * inner + i] = best;
      }
  });
}

Output reduction(const Scope& s, const char* op, const Output& x, const Ints& axes, bool keepdims) {
  return NodeBuilder(s, op).input(x).attr("axes", axes).attr("keepdims", keepdims).finish().output(0);
}

// ---------------------------------------------------------------------------------------
// Prod, All, Any (axes as an attr, like Sum), the tensor-axes forms of every reduction
// (ReduceSum, .., ReduceAny: TF's axis input, ONNX's axes input), logsumexp and l2_loss.

struct ProdR {
  template <class T> static T init() { return T(1); }
  template <class T> static T combine(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      // Wraps; at least as wide as unsigned int (uint16 would promote to int and overflow).
      using U = std::make_unsigned_t<T>;
      using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
      return static_cast<T>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<U>(b)));
    } else {
      return a * b;
    }
  }
  template <class T> static T row(const T* p, int64_t n) {
    T acc = T(1);
    for (int64_t i = 0; i < n; ++i) acc = combine(acc, p[i]);
    return acc;
  }
};
struct AllR {
  template <class T> static T init() { return true; }
  template <class T> static T combine(T a, T b) { return a && b; }
  template <class T> static T row(const T* p, int64_t n) { return std::all_of(p, p + n, [](T v) { return v; }); }
};
struct AnyR {
  template <class T> static T init() { return false; }
  template <class T> static T combine(T a, T b) { return a || b; }
  template <class T> static T row(const T* p, int64_t n) { return std::any_of(p, p + n, [](T v) { return v; }); }
};

void bool_reduction_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) == DType::boolean, InvalidArgument, "All/Any reduce bool tensors, got ",
                 dtype_name(ctx.input_dtype(0)));
  const Shape& in = ctx.input_shape(0);
  const Ints& axes = ctx.attr<Ints>("axes");
  SLUICE_REQUIRE(in.known_rank() || axes.empty(), InvalidArgument,
                 "reduction over listed axes needs an input of known rank");
  ctx.add_output(DType::boolean, reduced_shape(in, axes, ctx.attr<bool>("keepdims")));
}

// Mean = sum / count per output element (count 0 gives NaN for floats, 0 for integers).
template <class T>
void divide_by_count(T* p, int64_t n, int64_t count) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      p[i] = count ? p[i] / static_cast<T>(count) : std::numeric_limits<T>::quiet_NaN();
    } else {
      // Divide in 64 bits: the count need not fit in T (300 elements of int8).
      using W = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
      p[i] = count ? static_cast<T>(static_cast<W>(p[i]) / static_cast<W>(count)) : T(0);
    }
  }
}

// Reduces x over `red` into a new output 0 of shape `out`, dispatching on Ts.
template <class R, bool kMean, class... Ts>
void reduce_to_output(KernelContext& ctx, const Tensor& x, const std::vector<bool>& red, const Shape& out) {
  Tensor& y = ctx.allocate_output(0, out);
  dispatch<Ts...>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    reduce<R>(ctx.pool(), x.data<T>(), x.shape(), red, y.data<T>(), y.num_elements());
    if constexpr (kMean) {
      divide_by_count(y.data<T>(), y.num_elements(), y.num_elements() ? x.num_elements() / y.num_elements() : 0);
    }
  });
}

template <class R, class... Ts>
void attr_reduction_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Ints& axes = ctx.attr<Ints>("axes");
  reduce_to_output<R, false, Ts...>(ctx, x, reduced_dims(axes, x.rank()),
                                    reduced_shape(x.shape(), axes, ctx.attr<bool>("keepdims")));
}

// The axes of a tensor-axes reduction: a 0-D or 1-D int32/int64 tensor (repeats allowed).
Ints axes_values(const Tensor& t) {
  SLUICE_REQUIRE((t.dtype() == DType::i32 || t.dtype() == DType::i64) && t.rank() <= 1, InvalidArgument,
                 "reduction axes must be a 0-D or 1-D int32 or int64 tensor, got ", t.summary());
  Ints a(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i)
    a[i] = t.dtype() == DType::i32 ? t.data<int32_t>()[i] : t.data<int64_t>()[i];
  return a;
}

void axes_reduction_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  const bool logical = ctx.node().op_type() == "ReduceAll" || ctx.node().op_type() == "ReduceAny";
  SLUICE_REQUIRE(logical ? t == DType::boolean : is_floating(t) || is_integer(t), InvalidArgument,
                 ctx.node().op_type(), " cannot reduce a ", dtype_name(t), " tensor");
  const DType at = ctx.input_dtype(1);
  SLUICE_REQUIRE(at == DType::i32 || at == DType::i64, InvalidArgument, "reduction axes must be int32 or int64, got ",
                 dtype_name(at));
  SLUICE_REQUIRE(!ctx.input_shape(1).known_rank() || ctx.input_shape(1).rank() <= 1, InvalidArgument,
                 "reduction axes must be 0-D or 1-D, got shape ", ctx.input_shape(1).to_string());
  const Shape& in = ctx.input_shape(0);
  const bool keepdims = ctx.attr<bool>("keepdims"), noop = ctx.attr<bool>("noop_with_empty_axes");
  const Tensor* axes = ctx.input_constant(1);
  if (axes && in.known_rank()) {
    const Ints a = axes_values(*axes);
    ctx.add_output(t, a.empty() && noop ? in : reduced_shape(in, a, keepdims));
  } else if (in.known_rank() && (keepdims || in.rank() == 0)) {
    // Which dims shrink to 1 is known only at run time.
    ctx.add_output(t, in.rank() == 0 ? in : Shape(Ints(in.rank(), -1)));
  } else {
    ctx.add_output(t, Shape::unknown_rank());
  }
}

template <class R, bool kMean, class... Ts>
void axes_reduction_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Ints axes = axes_values(ctx.input(1));
  if (axes.empty() && ctx.attr<bool>("noop_with_empty_axes")) {
    ctx.set_output(0, x);  // TF's empty axis list, ONNX's noop_with_empty_axes
    return;
  }
  reduce_to_output<R, kMean, Ts...>(ctx, x, reduced_dims(axes, x.rank()),
                                    reduced_shape(x.shape(), axes, ctx.attr<bool>("keepdims")));
}

// ---- gradients of the new reductions ----

// The reduced axes of x (sorted, each once) for a reduction over `axes` (empty = all).
std::vector<int> reduced_axis_list(const Ints& axes, int rank) {
  const std::vector<bool> red = reduced_dims(axes, rank);
  std::vector<int> list;
  for (int i = 0; i < rank; ++i)
    if (red[i]) list.push_back(i);
  return list;
}

// d/dx_i prod(x) = the product of the other elements of x_i's group, computed exactly (no
// division, so zeros are handled): along each reduced axis, the product of the elements
// before and after x_i (exclusive cumprods both ways), times the same for the partial
// products over the axes after it. g_keep is the gradient in keepdims shape.
Output prod_grad_static(const Scope& s, const Output& x, const Output& g_keep, const std::vector<int>& axes) {
  if (axes.empty()) return ops::broadcast_like(s, g_keep, x);
  Output others, p = x;
  for (size_t j = axes.size(); j-- > 0;) {
    const int a = axes[j];
    const Output e = ops::mul(s, ops::cumprod(s, p, a, true, false), ops::cumprod(s, p, a, true, true));
    others = others.valid() ? ops::mul(s, others, e) : e;
    if (j > 0) p = ops::prod(s, p, {a}, true);
  }
  return ops::mul(s, others, g_keep);
}

Grads prod_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx_i prod(x) = prod of the other elements of the group
  const Output x = op.input(0);
  const Output g_keep = keepdims_grad(s, op, g[0]);  // checks that x's rank is known
  const std::vector<int> axes = reduced_axis_list(op.node()->attr<Ints>("axes"), x.shape().rank());
  return {prod_grad_static(s, x, g_keep, axes)};
}

// The axes of a tensor-axes reduction when they are a graph constant.
const Tensor* constant_axes(const Operation& op) {
  const Node* src = op.input(1).node();
  return src->op_type() == "Const" ? &src->attr<Tensor>("value") : nullptr;
}

// t (the op's output or its gradient) reshaped to x's rank with the reduced dims as 1.
Output keep_axes(const Scope& s, const Operation& op, const Output& t) {
  const Output x = op.input(0);
  if (op.node()->attr<bool>("keepdims")) return t;
  if (const Tensor* c = constant_axes(op)) {
    const Ints axes = axes_values(*c);
    if (axes.empty() && op.node()->attr<bool>("noop_with_empty_axes")) return t;
    SLUICE_REQUIRE(x.shape().known_rank(), InvalidArgument, op.node()->describe(),
                   ": gradient of a reduction needs an input of known rank");
    Output r = t;
    for (int i : reduced_axis_list(axes, x.shape().rank())) r = ops::expand_dims(s, r, i);
    return r;
  }
  // Axes known only at run time: take the shape from the same reduction with keepdims.
  return ops::reshape_like(s, t, ops::reduce_sum(s, x, op.input(1), true, op.node()->attr<bool>("noop_with_empty_axes")));
}

Grads axes_sum_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx sum(x) = 1: broadcast g back over the reduced dims
  return {ops::broadcast_like(s, keep_axes(s, op, g[0]), op.input(0)), Output()};
}
Grads axes_mean_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx mean(x) = 1 / (elements per output)
  const Output x = op.input(0);
  const Output count = ops::div(s, ops::cast(s, ops::size(s, x), x.dtype()),
                                ops::cast(s, ops::size(s, op.output(0)), x.dtype()));
  return {ops::div(s, ops::broadcast_like(s, keep_axes(s, op, g[0]), x), count), Output()};
}
Grads axes_extremum_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx max(x) = 1 at the maximum, shared equally between ties (as TensorFlow)
  const Output x = op.input(0);
  const Output y = ops::broadcast_like(s, keep_axes(s, op, op.output(0)), x);
  const Output mask = ops::cast(s, ops::equal(s, x, y), x.dtype());
  const Output ties = ops::reduce_sum(s, mask, op.input(1), true, op.node()->attr<bool>("noop_with_empty_axes"));
  const Output share = ops::div(s, keep_axes(s, op, g[0]), ties);
  return {ops::mul(s, mask, ops::broadcast_like(s, share, x)), Output()};
}
Grads axes_prod_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx_i prod(x) = prod of the other elements of the group (needs the axes at build time)
  const Tensor* c = constant_axes(op);
  SLUICE_REQUIRE(c, Unimplemented, op.node()->describe(),
                 ": the gradient of a product needs constant axes (use ops::prod, or a Const axes input)");
  const Output x = op.input(0);
  SLUICE_REQUIRE(x.shape().known_rank(), InvalidArgument, op.node()->describe(),
                 ": gradient of a reduction needs an input of known rank");
  const Ints axes = axes_values(*c);
  const bool noop = axes.empty() && op.node()->attr<bool>("noop_with_empty_axes");
  const std::vector<int> list = noop ? std::vector<int>{} : reduced_axis_list(axes, x.shape().rank());
  return {prod_grad_static(s, x, keep_axes(s, op, g[0]), list), Output()};
}

Output axes_reduction(const Scope& s, const char* op, const Output& x, const Output& axes, bool keepdims,
                      bool noop) {
  return NodeBuilder(s, op).input(x).input(axes).attr("keepdims", keepdims).attr("noop_with_empty_axes", noop)
      .finish().output(0);
}

}  // namespace

void register_reduction_ops(OpRegistry& r) {
  r.op("Sum").input("input").output("output").attr("axes", Ints{}).attr("keepdims", false)
      .shape_fn(reduction_shape).kernel(reduction_kernel<SumR, false>).gradient(sum_grad);
  r.op("Mean").input("input").output("output").attr("axes", Ints{}).attr("keepdims", false)
      .shape_fn(reduction_shape).kernel(reduction_kernel<SumR, true>).gradient(mean_grad);
  r.op("Max").input("input").output("output").attr("axes", Ints{}).attr("keepdims", false)
      .shape_fn(reduction_shape).kernel(reduction_kernel<MaxR, false>).gradient(extremum_grad);
  r.op("Min").input("input").output("output").attr("axes", Ints{}).attr("keepdims", false)
      .shape_fn(reduction_shape).kernel(reduction_kernel<MinR, false>).gradient(extremum_grad);
  r.op("ArgMax").input("input").output("output").required_attr("axis")
      .shape_fn(arg_shape).kernel(arg_kernel<true>).not_differentiable();
  r.op("ArgMin").input("input").output("output").required_attr("axis")
      .shape_fn(arg_shape).kernel(arg_kernel<false>).not_differentiable();

  r.op("Prod").input("input").output("output").attr("axes", Ints{}).attr("keepdims", false)
      .shape_fn(reduction_shape).kernel(attr_reduction_kernel<ProdR, SLUICE_REAL_TYPES>)
      .gradient(prod_grad);
  r.op("All").input("input").output("output").attr("axes", Ints{}).attr("keepdims", false)
      .shape_fn(bool_reduction_shape).kernel(attr_reduction_kernel<AllR, bool>).not_differentiable();
  r.op("Any").input("input").output("output").attr("axes", Ints{}).attr("keepdims", false)
      .shape_fn(bool_reduction_shape).kernel(attr_reduction_kernel<AnyR, bool>).not_differentiable();
  struct AxesOp {
    const char* name;
    KernelFn kernel;
    GradFn grad;
  };
  const AxesOp axes_ops[] = {
      {"ReduceSum", axes_reduction_kernel<SumR, false, SLUICE_REAL_TYPES>, axes_sum_grad},
      {"ReduceMean", axes_reduction_kernel<SumR, true, SLUICE_REAL_TYPES>, axes_mean_grad},
      {"ReduceMax", axes_reduction_kernel<MaxR, false, SLUICE_REAL_TYPES>, axes_extremum_grad},
      {"ReduceMin", axes_reduction_kernel<MinR, false, SLUICE_REAL_TYPES>, axes_extremum_grad},
      {"ReduceProd", axes_reduction_kernel<ProdR, false, SLUICE_REAL_TYPES>, axes_prod_grad},
      {"ReduceAll", axes_reduction_kernel<AllR, false, bool>, nullptr},
      {"ReduceAny", axes_reduction_kernel<AnyR, false, bool>, nullptr},
  };
  for (const AxesOp& o : axes_ops) {
    OpDefBuilder b = r.op(o.name).input("input").input("axes").output("output").attr("keepdims", false)
                         .attr("noop_with_empty_axes", false).shape_fn(axes_reduction_shape).kernel(o.kernel);
    if (o.grad) {
      b.gradient(o.grad);
    } else {
      b.not_differentiable();
    }
  }
}

namespace ops {
Output sum(const Scope& s, const Output& x, const Ints& axes, bool keepdims) {
  return reduction(s, "Sum", x, axes, keepdims);
}
Output mean(const Scope& s, const Output& x, const Ints& axes, bool keepdims) {
  return reduction(s, "Mean", x, axes, keepdims);
}
Output max(const Scope& s, const Output& x, const Ints& axes, bool keepdims) {
  return reduction(s, "Max", x, axes, keepdims);
}
Output min(const Scope& s, const Output& x, const Ints& axes, bool keepdims) {
  return reduction(s, "Min", x, axes, keepdims);
}
Output argmax(const Scope& s, const Output& x, int64_t axis) {
  return NodeBuilder(s, "ArgMax").input(x).attr("axis", axis).finish().output(0);
}
Output argmin(const Scope& s, const Output& x, int64_t axis) {
  return NodeBuilder(s, "ArgMin").input(x).attr("axis", axis).finish().output(0);
}

Output prod(const Scope& s, const Output& x, const Ints& axes, bool keepdims) {
  return reduction(s, "Prod", x, axes, keepdims);
}
Output all(const Scope& s, const Output& x, const Ints& axes, bool keepdims) {
  return reduction(s, "All", x, axes, keepdims);
}
Output any(const Scope& s, const Output& x, const Ints& axes, bool keepdims) {
  return reduction(s, "Any", x, axes, keepdims);
}

Output reduce_sum(const Scope& s, const Output& x, const Output& axes, bool keepdims, bool noop_with_empty_axes) {
  return axes_reduction(s, "ReduceSum", x, axes, keepdims, noop_with_empty_axes);
}
Output reduce_mean(const Scope& s, const Output& x, const Output& axes, bool keepdims, bool noop_with_empty_axes) {
  return axes_reduction(s, "ReduceMean", x, axes, keepdims, noop_with_empty_axes);
}
Output reduce_max(const Scope& s, const Output& x, const Output& axes, bool keepdims, bool noop_with_empty_axes) {
  return axes_reduction(s, "ReduceMax", x, axes, keepdims, noop_with_empty_axes);
}
Output reduce_min(const Scope& s, const Output& x, const Output& axes, bool keepdims, bool noop_with_empty_axes) {
  return axes_reduction(s, "ReduceMin", x, axes, keepdims, noop_with_empty_axes);
}
Output reduce_prod(const Scope& s, const Output& x, const Output& axes, bool keepdims, bool noop_with_empty_axes) {
  return axes_reduction(s, "ReduceProd", x, axes, keepdims, noop_with_empty_axes);
}
Output reduce_all(const Scope& s, const Output& x, const Output& axes, bool keepdims, bool noop_with_empty_axes) {
  return axes_reduction(s, "ReduceAll", x, axes, keepdims, noop_with_empty_axes);
}
Output reduce_any(const Scope& s, const Output& x, const Output& axes, bool keepdims, bool noop_with_empty_axes) {
  return axes_reduction(s, "ReduceAny", x, axes, keepdims, noop_with_empty_axes);
}

Output logsumexp(const Scope& scope, const Output& x, const Ints& axes, bool keepdims) {
  SLUICE_REQUIRE(is_floating(x.dtype()), InvalidArgument, "logsumexp needs a float input, got ",
                 dtype_name(x.dtype()));
  const std::string name = scope.explicit_name().empty() ? "logsumexp" : scope.explicit_name();
  const Scope in = scope.sub(name);
  // Shift by the maximum so exp cannot overflow; an infinite maximum (all -inf, or a +inf)
  // is replaced by 0 so x - m stays defined, as TF does. The shift cancels exactly, so it
  // carries no gradient.
  const Output raw = ops::max(in, x, axes, true);
  const Output m = ops::stop_gradient(in, ops::select(in, ops::is_finite(in, raw), raw, ops::zeros_like(in, raw)));
  const Output total = ops::sum(in, ops::exp(in, ops::sub(in, x, m)), axes, keepdims);
  return ops::add(scope.named(name), ops::log(in, total), keepdims ? m : ops::reshape_like(in, m, total));
}

Output l2_loss(const Scope& scope, const Output& x) {
  const std::string name = scope.explicit_name().empty() ? "l2_loss" : scope.explicit_name();
  const Scope in = scope.sub(name);
  return ops::mul(scope.named(name), ops::sum(in, ops::square(in, x)), ops::scalar_like(in, x, 0.5));
}

}  // namespace ops
}  // namespace sluice
