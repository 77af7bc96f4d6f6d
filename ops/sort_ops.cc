// Index-returning ops (ArgMaxV2/ArgMinV2 with options, TopKV2) and the scatter/gather pair
// that carries top_k's gradient: declaration, shape function, CPU kernel and gradient.
#include "sort_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "array_ops.h"
#include "elementwise.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// x viewed as [outer, len, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
  AxisView(const Shape& s, int axis) {
    for (int i = 0; i < axis; ++i) outer *= s.dim(i);
    for (int i = axis + 1; i < s.rank(); ++i) inner *= s.dim(i);
    len = s.dim(axis);
  }
  int64_t lines() const { return outer * inner; }
  // Offset of element 0 of line l (elements are `inner` apart).
  int64_t start(int64_t l) const { return l / inner * len * inner + l % inner; }
};

Shape with_axis(const Shape& s, int axis, int64_t size, bool keep) {
  Ints d;
  for (int i = 0; i < s.rank(); ++i) {
    if (i != axis) {
      d.push_back(s.dim(i));
    } else if (keep) {
      d.push_back(size);
    }
  }
  return Shape(d);
}

void require_index_type(DType t) {
  SLUICE_REQUIRE(t == DType::i32 || t == DType::i64, InvalidArgument,
                 "index type must be int32 or int64, got ", dtype_name(t));
}

// ---- ArgMaxV2 / ArgMinV2 ----

void arg_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(is_floating(t) || is_integer(t) || t == DType::boolean, InvalidArgument,
                 "cannot take argmax/argmin of ", dtype_name(t));
  const DType out = ctx.attr<DType>("output_type");
  require_index_type(out);
  const Shape& in = ctx.input_shape(0);
  if (!in.known_rank()) {
    ctx.add_output(out, in);
    return;
  }
  SLUICE_REQUIRE(in.rank() >= 1, InvalidArgument, "argmax/argmin of a scalar");
  const int axis = normalize_axis(ctx.attr_int("axis"), in.rank(), "argmax axis");
  ctx.add_output(out, with_axis(in, axis, 1, ctx.attr<bool>("keepdims")));
}

template <bool kMax>
void arg_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "argmax/argmin of a scalar");
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "argmax axis");
  const AxisView v(x.shape(), axis);
  SLUICE_REQUIRE(v.len > 0, InvalidArgument, "argmax/argmin over an empty dimension of ",
                 x.shape().to_string());
  const DType out_type = ctx.attr<DType>("output_type");
  SLUICE_REQUIRE(out_type == DType::i64 || v.len <= std::numeric_limits<int32_t>::max(),
                 InvalidArgument, "argmax/argmin over ", v.len, " elements needs output_type int64");
  const bool last = ctx.attr<bool>("select_last_index");
  Tensor& y = ctx.allocate_output(0, with_axis(x.shape(), axis, 1, ctx.attr<bool>("keepdims")));
  dispatch<SLUICE_ALL_TYPES>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = x.data<T>();
    dispatch<int32_t, int64_t>(out_type, "argmax output", [&](auto otag) {
      using I = typename decltype(otag)::type;
      I* out = y.data<I>();
      parallel_range(ctx.pool(), v.lines(), std::max<int64_t>(1, kElementwiseGrain / v.len), [&](int64_t b, int64_t e) {
        for (int64_t l = b; l < e; ++l) {
          const T* col = p + v.start(l);
          int64_t best = 0;
          T bv = col[0];
          bool best_nan = is_nan(bv);
          for (int64_t r = 1; r < v.len && !(best_nan && !last); ++r) {
            const T c = col[r * v.inner];
            if (is_nan(c)) {  // NaN beats any number; among NaNs the first (or last) wins
              if (!best_nan || last) best = r, bv = c, best_nan = true;
            } else if (!best_nan && ((kMax ? c > bv : c < bv) || (last && c == bv))) {
              best = r, bv = c;
            }
          }
          out[l] = static_cast<I>(best);
        }
      });
    });
  });
}

// ---- TopKV2 ----

int64_t scalar_int(const Tensor& t, const char* what) {
  SLUICE_REQUIRE((t.dtype() == DType::i32 || t.dtype() == DType::i64) && t.rank() <= 1 &&
                     t.num_elements() == 1,
                 InvalidArgument, what, " must be a 0-D int32 or int64 tensor, got ", t.summary());
  return t.dtype() == DType::i32 ? t.data<int32_t>()[0] : t.data<int64_t>()[0];
}

void top_k_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(is_floating(t) || is_integer(t), InvalidArgument, "top_k needs a numeric input, got ",
                 dtype_name(t));
  SLUICE_REQUIRE(ctx.input_dtype(1) == DType::i32 || ctx.input_dtype(1) == DType::i64, InvalidArgument,
                 "k must be int32 or int64, got ", dtype_name(ctx.input_dtype(1)));
  const DType it = ctx.attr<DType>("index_type");
  require_index_type(it);
  const Shape& x = ctx.input_shape(0);
  if (!x.known_rank()) {
    ctx.add_output(t, x);
    ctx.add_output(it, x);
    return;
  }
  SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "top_k of a scalar");
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "top_k axis");
  int64_t k = -1;
  if (const Tensor* kt = ctx.input_constant(1)) {
    k = scalar_int(*kt, "k");
    SLUICE_REQUIRE(k >= 0 && (x.dim(axis) < 0 || k <= x.dim(axis)), InvalidArgument, "k = ", k,
                   " is not in [0, ", x.dim(axis), "] for input shape ", x.to_string());
  }
  const Shape out = x.with_dim(axis, k);
  ctx.add_output(t, out);
  ctx.add_output(it, out);
}

// NaN ranks above +inf; equal values keep index order.
template <class T>
bool ranks_above(T a, T b) {
  return is_nan(a) ? !is_nan(b) : !is_nan(b) && a > b;
}

void top_k_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "top_k of a scalar");
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "top_k axis");
  const int64_t k = scalar_int(ctx.input(1), "k");
  SLUICE_REQUIRE(k >= 0 && k <= x.dim(axis), InvalidArgument, "k = ", k, " is not in [0, ",
                 x.dim(axis), "] for input shape ", x.shape().to_string());
  const bool largest = ctx.attr<bool>("largest");
  const AxisView v(x.shape(), axis);
  const Shape out = x.shape().with_dim(axis, k);
  Tensor& values = ctx.allocate_output(0, out);
  Tensor& indices = ctx.allocate_output(1, out);
  if (values.num_elements() == 0) return;
  dispatch<SLUICE_REAL_TYPES>(x.dtype(), "TopKV2", [&](auto tag) {
    using T = typename decltype(tag)::type;
    dispatch<int32_t, int64_t>(indices.dtype(), "TopKV2 indices", [&](auto itag) {
      using I = typename decltype(itag)::type;
      const T* xp = x.data<T>();
      T* vp = values.data<T>();
      I* ip = indices.data<I>();
      parallel_range(ctx.pool(), v.lines(), std::max<int64_t>(1, kElementwiseGrain / v.len), [&](int64_t b, int64_t e) {
        std::vector<int64_t> order(v.len);
        for (int64_t l = b; l < e; ++l) {
          const T* line = xp + v.start(l);
          for (int64_t i = 0; i < v.len; ++i) order[i] = i;
          // A strict weak order: rank first, then the index.
          auto before = [&](int64_t i, int64_t j) {
            const T a = line[i * v.inner], c = line[j * v.inner];
            if (largest ? ranks_above(a, c) : ranks_above(c, a)) return true;
            if (largest ? ranks_above(c, a) : ranks_above(a, c)) return false;
            return i < j;
          };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
          const int64_t o = l / v.inner * k * v.inner + l % v.inner;
          for (int64_t j = 0; j < k; ++j) {
            vp[o + j * v.inner] = line[order[j] * v.inner];
            ip[o + j * v.inner] = static_cast<I>(order[j]);
          }
        }
      });
    });
  });
}

// ---- TopKGrad (scatter along an axis) and TopKGather (gather along an axis) ----
// TopKGrad(g [.., k, ..], indices [.., k, ..], like [.., n, ..]) puts g at the indices of each
// line of a zero tensor shaped like `like`; TopKGather(v [.., n, ..], indices) reads v at them.
// Each is the other's gradient.

void top_k_grad_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  require_same_dtype(ctx, 0, 2);
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(2));
}
void top_k_gather_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(1));
}

// Checks indices [.., k, ..] against x [.., n, ..] around axis; returns the axis.
int check_along_axis(const KernelContext& ctx, const Shape& x, const Tensor& idx) {
  SLUICE_REQUIRE(x.rank() >= 1 && idx.rank() == x.rank(), InvalidArgument, "indices ", idx.summary(),
                 " do not match the rank of ", x.to_string());
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "axis");
  for (int i = 0; i < x.rank(); ++i)
    SLUICE_REQUIRE(i == axis || idx.dim(i) == x.dim(i), InvalidArgument, "indices ", idx.summary(),
                   " do not match ", x.to_string(), " outside axis ", axis);
  return axis;
}

template <class I, class F>
void for_each_index(ThreadPool& pool, const Tensor& idx, const Shape& x, int axis, F&& f) {
  const AxisView vi(idx.shape(), axis), vx(x, axis);
  const I* ip = idx.data<I>();
  // Lines of x are disjoint, so splitting over lines never races on the scatter's writes.
  parallel_range(pool, vi.lines(), std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(vi.len, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t l = b; l < e; ++l)
                     for (int64_t j = 0; j < vi.len; ++j) {
                       const int64_t at = vi.start(l) + j * vi.inner;
                       const int64_t i = ip[at];
                       SLUICE_REQUIRE(i >= 0 && i < vx.len, OutOfRange, "index ", i, " is not in [0, ",
                                      vx.len, ")");
                       f(at, vx.start(l) + i * vx.inner);
                     }
                 });
}

void top_k_grad_kernel(KernelContext& ctx) {
  const Tensor& g = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Shape& xs = ctx.input(2).shape();
  SLUICE_REQUIRE(g.shape() == idx.shape(), InvalidArgument, "TopKGrad of ", g.summary(), " at ",
                 idx.summary());
  const int axis = check_along_axis(ctx, xs, idx);
  Tensor& dx = ctx.allocate_output(0, xs);
  dispatch<SLUICE_FLOAT_TYPES>(g.dtype(), "TopKGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* dp = dx.data<T>();
    const T* gp = g.data<T>();
    std::fill(dp, dp + dx.num_elements(), T(0));
    dispatch<int32_t, int64_t>(idx.dtype(), "TopKGrad indices", [&](auto itag) {
      using I = typename decltype(itag)::type;
      for_each_index<I>(ctx.pool(), idx, xs, axis, [&](int64_t from, int64_t to) { dp[to] += gp[from]; });
    });
  });
}

void top_k_gather_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const int axis = check_along_axis(ctx, x.shape(), idx);
  Tensor& y = ctx.allocate_output(0, idx.shape());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "TopKGather", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* yp = y.data<T>();
    const T* xp = x.data<T>();
    dispatch<int32_t, int64_t>(idx.dtype(), "TopKGather indices", [&](auto itag) {
      using I = typename decltype(itag)::type;
      for_each_index<I>(ctx.pool(), idx, x.shape(), axis, [&](int64_t to, int64_t from) { yp[to] = xp[from]; });
    });
  });
}

int64_t axis_of(const Operation& op) { return op.node()->attr_int("axis"); }
Output top_k_grad_op(const Scope& s, const Output& g, const Output& idx, const Output& like, int64_t axis) {
  return NodeBuilder(s, "TopKGrad").input(g).input(idx).input(like).attr("axis", axis).finish().output(0);
}
Output top_k_gather_op(const Scope& s, const Output& x, const Output& idx, int64_t axis) {
  return NodeBuilder(s, "TopKGather").input(x).input(idx).attr("axis", axis).finish().output(0);
}

Grads top_k_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d values_j / dx_i = 1 where indices_j = i: scatter the values' gradient to the indices
  return {top_k_grad_op(s, g[0], op.output(1), op.input(0), axis_of(op)), Output()};
}
Grads top_k_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // TopKGrad is linear in g: its adjoint gathers at the same indices
  return {top_k_gather_op(s, g[0], op.input(1), axis_of(op)), Output(), Output()};
}
Grads top_k_gather_grad(const Scope& s, const Operation& op, const Grads& g) {
  // TopKGather is linear in x: its adjoint scatters to the same indices
  return {top_k_grad_op(s, g[0], op.input(1), op.input(0), axis_of(op)), Output()};
}

Output arg_op(const Scope& s, const char* op, const Output& x, int64_t axis, const ops::ArgOptions& o) {
  return NodeBuilder(s, op).input(x).attr("axis", axis).attr("keepdims", o.keepdims)
      .attr("select_last_index", o.select_last_index).attr("output_type", o.output_type).finish().output(0);
}

}  // namespace

void register_sort_ops(OpRegistry& r) {
  r.op("ArgMaxV2").input("input").output("output").required_attr("axis").attr("keepdims", false)
      .attr("select_last_index", false).attr("output_type", DType::i64)
      .shape_fn(arg_shape).kernel(arg_kernel<true>).not_differentiable();
  r.op("ArgMinV2").input("input").output("output").required_attr("axis").attr("keepdims", false)
      .attr("select_last_index", false).attr("output_type", DType::i64)
      .shape_fn(arg_shape).kernel(arg_kernel<false>).not_differentiable();
  r.op("TopKV2").input("input").input("k").output("values").output("indices").attr("axis", -1)
      .attr("largest", true).attr("sorted", true).attr("index_type", DType::i64)
      .shape_fn(top_k_shape).kernel(top_k_kernel).gradient(top_k_grad);
  r.op("TopKGrad").input("gradients").input("indices").input("like").output("backprops").attr("axis", -1)
      .shape_fn(top_k_grad_shape).kernel(top_k_grad_kernel).gradient(top_k_grad_grad);
  r.op("TopKGather").input("x").input("indices").output("y").attr("axis", -1)
      .shape_fn(top_k_gather_shape).kernel(top_k_gather_kernel).gradient(top_k_gather_grad);
}

namespace ops {

Output argmax(const Scope& s, const Output& x, int64_t axis, const ArgOptions& options) {
  return arg_op(s, "ArgMaxV2", x, axis, options);
}
Output argmin(const Scope& s, const Output& x, int64_t axis, const ArgOptions& options) {
  return arg_op(s, "ArgMinV2", x, axis, options);
}

TopK top_k(const Scope& s, const Output& x, const Output& k, int64_t axis, bool largest, bool sorted,
           DType index_type) {
  const Operation op = NodeBuilder(s, "TopKV2").input(x).input(k).attr("axis", axis).attr("largest", largest)
                           .attr("sorted", sorted).attr("index_type", index_type).finish();
  return {op.output(0), op.output(1)};
}
TopK top_k(const Scope& s, const Output& x, int64_t k, int64_t axis, bool largest, bool sorted,
           DType index_type) {
  return top_k(s, x, ops::constant(s.without_name(), Tensor(k)), axis, largest, sorted, index_type);
}

}  // namespace ops
}  // namespace sluice
