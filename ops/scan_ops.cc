// Scan ops (Cumsum, Cumprod): declaration, shape function, CPU kernel and gradient of each.
#include "scan_ops.h"

#include "array_ops.h"
#include "elementwise.h"
#include "math_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

// The value of a 0-D (or one-element 1-D) int32/int64 tensor.
int64_t scalar_int(const Tensor& t, const char* what) {
  SLUICE_REQUIRE((t.dtype() == DType::i32 || t.dtype() == DType::i64) && t.rank() <= 1 &&
                     t.num_elements() == 1,
                 InvalidArgument, what, " must be a 0-D int32 or int64 tensor, got ", t.summary());
  return t.dtype() == DType::i32 ? t.data<int32_t>()[0] : t.data<int64_t>()[0];
}

void scan_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(is_floating(t) || is_integer(t), InvalidArgument, "input must be numeric, got ",
                 dtype_name(t));
  const DType at = ctx.input_dtype(1);
  SLUICE_REQUIRE(at == DType::i32 || at == DType::i64, InvalidArgument,
                 "axis must be int32 or int64, got ", dtype_name(at));
  const Shape& x = ctx.input_shape(0);
  if (const Tensor* axis = ctx.input_constant(1); axis && x.known_rank()) {
    SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "cannot scan a scalar");
    normalize_axis(scalar_int(*axis, "axis"), x.rank(), "scan axis");
  }
  unchanged_shape(ctx);
}

struct SumScan {
  template <class T> static T init() { return T(0); }
  template <class T> static T combine(T a, T b) { return wrapping_add(a, b); }
};
struct ProdScan {
  template <class T> static T init() { return T(1); }
  template <class T> static T combine(T a, T b) { return wrapping_mul(a, b); }
};

// Scans x viewed as [outer, len, inner] along the middle dim. Each output element is
// combined in a fixed order (along the axis), so results do not depend on the thread count.
template <class S, class T>
void scan(ThreadPool& pool, const T* x, T* y, int64_t outer, int64_t len, int64_t inner,
          bool exclusive, bool reverse) {
  // Work items: (outer row, block of up to kCols inner columns); a block's columns advance
  // together along the axis, so the inner loop runs over contiguous memory.
  constexpr int64_t kCols = 1024;
  const int64_t col_blocks = (inner + kCols - 1) / kCols;
  const int64_t per_item = len * std::min(inner, kCols);
  parallel_range(pool, outer * col_blocks, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(per_item, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t item = b; item < e; ++item) {
                     const int64_t o = item / col_blocks;
                     const int64_t c0 = item % col_blocks * kCols, c1 = std::min(inner, c0 + kCols);
                     const T* xo = x + o * len * inner;
                     T* yo = y + o * len * inner;
                     for (int64_t step = 0; step < len; ++step) {
                       const int64_t r = reverse ? len - 1 - step : step;
                       const int64_t prev = reverse ? r + 1 : r - 1;  // previous in scan order
                       T* yr = yo + r * inner;
                       const T* xr = xo + r * inner;
                       if (step == 0) {
                         for (int64_t c = c0; c < c1; ++c) yr[c] = exclusive ? S::template init<T>() : xr[c];
                       } else if (exclusive) {
                         const T* xp = xo + prev * inner;
                         const T* yp = yo + prev * inner;
                         for (int64_t c = c0; c < c1; ++c) yr[c] = S::combine(yp[c], xp[c]);
                       } else {
                         const T* yp = yo + prev * inner;
                         for (int64_t c = c0; c < c1; ++c) yr[c] = S::combine(yp[c], xr[c]);
                       }
                     }
                   }
                 });
}

template <class S>
void scan_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "cannot scan a scalar");
  const int axis = normalize_axis(scalar_int(ctx.input(1), "axis"), x.rank(), "scan axis");
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  const bool exclusive = ctx.attr<bool>("exclusive"), reverse = ctx.attr<bool>("reverse");
  // Not forwarded in place: the exclusive scan reads x[r-1] after writing y[r-1].
  Tensor& y = ctx.allocate_output(0, x.shape());
  if (x.num_elements() == 0) return;
  dispatch<SLUICE_REAL_TYPES>(x.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    scan<S>(ctx.pool(), x.data<T>(), y.data<T>(), outer, x.dim(axis), inner, exclusive, reverse);
  });
}

Output scan_op(const Scope& s, const char* op, const Output& x, const Output& axis, bool exclusive,
               bool reverse) {
  return NodeBuilder(s, op).input(x).input(axis).attr("exclusive", exclusive).attr("reverse", reverse)
      .finish().output(0);
}

bool attr_bool(const Operation& op, const char* name) { return op.node()->attr<bool>(name); }

Grads cumsum_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx_i sum_{j in scan(i)} = the gradient summed over the outputs that include x_i: the
  // same scan in the other direction
  return {scan_op(s, "Cumsum", g[0], op.input(1), attr_bool(op, "exclusive"), !attr_bool(op, "reverse")),
          Output()};
}

Grads cumprod_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx_i y_j = y_j / x_i for each y_j that includes x_i: reverse-scan (g * y), divide by x
  // (as TensorFlow; not finite where x = 0)
  const Output x = op.input(0), y = op.output(0);
  const Output summed = scan_op(s, "Cumsum", ops::mul(s, y, g[0]), op.input(1), attr_bool(op, "exclusive"),
                                !attr_bool(op, "reverse"));
  return {ops::div(s, summed, x), Output()};
}

Output axis_constant(const Scope& s, int64_t axis) {
  return ops::constant(s.without_name(), Tensor(axis));
}

}  // namespace

void register_scan_ops(OpRegistry& r) {
  r.op("Cumsum").input("x").input("axis").output("out").attr("exclusive", false).attr("reverse", false)
      .shape_fn(scan_shape).kernel(scan_kernel<SumScan>).gradient(cumsum_grad);
  r.op("Cumprod").input("x").input("axis").output("out").attr("exclusive", false).attr("reverse", false)
      .shape_fn(scan_shape).kernel(scan_kernel<ProdScan>).gradient(cumprod_grad);
}

namespace ops {

Output cumsum(const Scope& s, const Output& x, const Output& axis, bool exclusive, bool reverse) {
  return scan_op(s, "Cumsum", x, axis, exclusive, reverse);
}
Output cumsum(const Scope& s, const Output& x, int64_t axis, bool exclusive, bool reverse) {
  return scan_op(s, "Cumsum", x, axis_constant(s, axis), exclusive, reverse);
}
Output cumprod(const Scope& s, const Output& x, const Output& axis, bool exclusive, bool reverse) {
  return scan_op(s, "Cumprod", x, axis, exclusive, reverse);
}
Output cumprod(const Scope& s, const Output& x, int64_t axis, bool exclusive, bool reverse) {
  return scan_op(s, "Cumprod", x, axis_constant(s, axis), exclusive, reverse);
}

}  // namespace ops
}  // namespace sluice
