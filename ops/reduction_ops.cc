// Reduction ops: declaration, shape function, CPU kernel and gradient of each.
#include "reduction_ops.h"

#include <Eigen/Core>
#include <algorithm>
#include <limits>

#include "array_ops.h"
#include "kernel_util.h"
#include "math_ops.h"

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
struct MaxR {
  template <class T> static T init() { return std::numeric_limits<T>::lowest(); }
  template <class T> static T combine(T a, T b) { return b > a || b != b ? b : a; }
  template <class T> static T row(const T* p, int64_t n) {
    T acc = init<T>();
    for (int64_t i = 0; i < n; ++i) acc = combine(acc, p[i]);
    return acc;
  }
};
struct MinR {
  template <class T> static T init() { return std::numeric_limits<T>::max(); }
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
        int64_t best = 0;
        for (int64_t r = 1; r < n; ++r) {
          const T v = col[r * inner], b = col[best * inner];
          if (kMax ? v > b : v < b) best = r;
        }
        out[o * inner + i] = best;
      }
  });
}

Output reduction(const Scope& s, const char* op, const Output& x, const Ints& axes, bool keepdims) {
  return NodeBuilder(s, op).input(x).attr("axes", axes).attr("keepdims", keepdims).finish().output(0);
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
}  // namespace ops
}  // namespace sluice
