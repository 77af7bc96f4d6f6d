// Shape ops: reshape, expand_dims, squeeze, transpose, shape, size, fill, zeros/ones_like,
// broadcast_like, sum_to_like. Declaration, shape function, CPU kernel and gradient of each,
// side by side.
#include "shape_ops.h"

#include <algorithm>
#include <cstring>

#include "array_ops.h"
#include "array_util.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

// ---------------------------------------------------------------------------------------
// Reshape, ReshapeLike, ExpandDims, Squeeze

// Resolves a requested shape with at most one -1 against an element count (or -1 if
// unknown). Static use keeps -1 where the count is unknown.
Shape resolve_reshape(const Ints& req, int64_t count, const Shape& from) {
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < req.size(); ++i) {
    if (req[i] == -1) {
      SLUICE_REQUIRE(unknown < 0, InvalidArgument, "reshape to ", Shape(req).to_string(),
                     ": only one dimension may be -1");
      unknown = static_cast<int>(i);
    } else {
      SLUICE_REQUIRE(req[i] >= 0, InvalidArgument, "reshape: dimension ", req[i], " is negative");
      known = checked_mul(known, req[i], "reshape element count");
    }
  }
  Ints out = req;
  if (count >= 0) {
    if (unknown >= 0) {
      SLUICE_REQUIRE(known > 0 ? count % known == 0 : count == 0, InvalidArgument,
                     "Cannot reshape a tensor of shape ", from.to_string(), " (", count,
                     " elements) to shape ", Shape(req).to_string());
      out[unknown] = known > 0 ? count / known : 0;
    } else {
      SLUICE_REQUIRE(known == count, InvalidArgument, "Cannot reshape a tensor of shape ",
                     from.to_string(), " (", count, " elements) to shape ",
                     Shape(req).to_string(), " (", known, " elements)");
    }
  }
  return Shape(out);
}

void reshape_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  const int64_t count = in.is_fully_defined() ? in.num_elements() : -1;
  ctx.add_output(ctx.input_dtype(0), resolve_reshape(ctx.attr<Ints>("shape"), count, in));
}
void reshape_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.set_output(0, x.reshaped(resolve_reshape(ctx.attr<Ints>("shape"), x.num_elements(), x.shape())));
}
Grads reshape_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx reshape(x) = reshape g back to x's shape
  return {ops::reshape_like(s, g[0], op.input(0))};
}

void reshape_like_shape(ShapeContext& ctx) {
  const Shape& a = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  if (a.is_fully_defined() && b.is_fully_defined()) {
    SLUICE_REQUIRE(a.num_elements() == b.num_elements(), InvalidArgument, "Cannot reshape ",
                   a.to_string(), " like ", b.to_string(), ": element counts differ");
  }
  ctx.add_output(ctx.input_dtype(0), b);
}
void reshape_like_kernel(KernelContext& ctx) {
  ctx.set_output(0, ctx.input(0).reshaped(ctx.input(1).shape()));
}
Grads reshape_like_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::reshape_like(s, g[0], op.input(0)), Output()};
}

Shape expand_dims_of(const Shape& in, int64_t axis) {
  if (!in.known_rank()) return in;
  const int a = normalize_axis(axis, in.rank() + 1, "ExpandDims axis");
  Ints d = in.dims();
  d.insert(d.begin() + a, 1);
  return Shape(d);
}
void expand_dims_shape(ShapeContext& ctx) {
  ctx.add_output(ctx.input_dtype(0), expand_dims_of(ctx.input_shape(0), ctx.attr_int("axis")));
}
void expand_dims_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.set_output(0, x.reshaped(expand_dims_of(x.shape(), ctx.attr_int("axis"))));
}

Shape squeeze_of(const Shape& in, const Ints& axes, bool runtime) {
  if (!in.known_rank()) return in;
  std::vector<bool> drop(in.rank(), false);
  for (int64_t a : axes) {
    const int ax = normalize_axis(a, in.rank(), "Squeeze axis");
    SLUICE_REQUIRE(in.dim(ax) == 1 || (!runtime && in.dim(ax) == -1), InvalidArgument,
                   "Can not squeeze dim[", ax, "], expected a dimension of 1, got ", in.dim(ax),
                   " (shape ", in.to_string(), ")");
    drop[ax] = true;
  }
  Ints out;
  for (int i = 0; i < in.rank(); ++i) {
    const bool squeeze_all = axes.empty() && in.dim(i) == 1;
    if (!drop[i] && !squeeze_all) out.push_back(in.dim(i));
  }
  return Shape(out);
}
void squeeze_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  const Ints& axes = ctx.attr<Ints>("axes");
  SLUICE_REQUIRE(!axes.empty() || in.is_fully_defined(), InvalidArgument,
                 "Squeeze without axes needs a fully defined input shape, got ", in.to_string());
  ctx.add_output(ctx.input_dtype(0), squeeze_of(in, axes, false));
}
void squeeze_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.set_output(0, x.reshaped(squeeze_of(x.shape(), ctx.attr<Ints>("axes"), true)));
}
Grads reshape_back_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::reshape_like(s, g[0], op.input(0))};
}

// ---------------------------------------------------------------------------------------
// Transpose

Ints checked_perm(const Ints& perm_attr, int rank) {
  Ints perm = perm_attr;
  if (perm.empty()) {
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  SLUICE_REQUIRE(static_cast<int>(perm.size()) == rank, InvalidArgument, "transpose perm of size ",
                 perm.size(), " for a tensor of rank ", rank);
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    SLUICE_REQUIRE(p >= 0 && p < rank && !seen[p], InvalidArgument, "transpose perm ",
                   ints_to_string(perm), " is not a permutation of 0..", rank - 1);
    seen[p] = true;
  }
  return perm;
}
void transpose_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  if (!in.known_rank()) {
    ctx.add_output(ctx.input_dtype(0), in);
    return;
  }
  const Ints perm = checked_perm(ctx.attr<Ints>("perm"), in.rank());
  Ints out;
  for (int64_t p : perm) out.push_back(in.dim(static_cast<int>(p)));
  ctx.add_output(ctx.input_dtype(0), Shape(out));
}
void transpose_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int r = x.rank();
  const Ints perm = checked_perm(ctx.attr<Ints>("perm"), r);
  Ints od;
  for (int64_t p : perm) od.push_back(x.dim(static_cast<int>(p)));
  Tensor& y = ctx.allocate_output(0, Shape(od));
  if (y.num_elements() == 0) return;
  const Ints in_strides = row_major_strides(x.shape());
  Ints src_stride(r);  // input stride of each output dim
  for (int i = 0; i < r; ++i) src_stride[i] = in_strides[perm[i]];
  const int64_t inner = r ? od[r - 1] : 1;
  const int64_t inner_stride = r ? src_stride[r - 1] : 0;
  const int64_t rows = y.num_elements() / inner;
  by_element_size(x.dtype(), [&](auto e) {
    using E = decltype(e);
    const E* src = static_cast<const E*>(x.raw_data());
    E* dst = static_cast<E*>(y.raw_data());
    parallel_range(ctx.pool(), rows, std::max<int64_t>(1, kElementwiseGrain / inner),
                   [&](int64_t b, int64_t end) {
                     for (int64_t row = b; row < end; ++row) {
                       int64_t rem = row, off = 0;
                       for (int i = r - 2; i >= 0; --i) {
                         off += (rem % od[i]) * src_stride[i];
                         rem /= od[i];
                       }
                       E* d = dst + row * inner;
                       for (int64_t j = 0; j < inner; ++j) d[j] = src[off + j * inner_stride];
                     }
                   });
  });
}
Grads transpose_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx transpose(x, p) = transpose(g, inverse(p))
  const Ints perm = checked_perm(op.node()->attr<Ints>("perm"), op.input(0).shape().rank());
  Ints inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
  return {ops::transpose(s, g[0], inv)};
}

// ---------------------------------------------------------------------------------------
// Shape, Size, ZerosLike, OnesLike, Fill

void shape_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  ctx.add_output(DType::i64, in.known_rank() ? Shape{in.rank()} : Shape{-1});
}
void shape_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.allocate_output(0, Shape{x.rank()});
  for (int i = 0; i < x.rank(); ++i) y.data<int64_t>()[i] = x.dim(i);
}
void size_shape(ShapeContext& ctx) { ctx.add_output(DType::i64, Shape{}); }
void size_kernel(KernelContext& ctx) {
  ctx.allocate_output(0, Shape{}).data<int64_t>()[0] = ctx.input(0).num_elements();
}

void fill_value(Tensor& t, double v) {
  dispatch<SLUICE_ALL_TYPES>(t.dtype(), "Fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::fill(t.data<T>(), t.data<T>() + t.num_elements(), static_cast<T>(v));
  });
}
void zeros_like_kernel(KernelContext& ctx) {
  fill_value(ctx.allocate_output(0, ctx.input(0).shape()), 0.0);
}
void ones_like_kernel(KernelContext& ctx) {
  fill_value(ctx.allocate_output(0, ctx.input(0).shape()), 1.0);
}
void fill_shape(ShapeContext& ctx) {
  const Shape& s = ctx.attr<Shape>("shape");
  SLUICE_REQUIRE(s.is_fully_defined(), InvalidArgument, "Fill shape must be fully defined, got ",
                 s.to_string());
  (void)s.num_elements();  // overflow check at build time
  require_representable(ctx, "value", ctx.attr<DType>("dtype"));
  ctx.add_output(ctx.attr<DType>("dtype"), s);
}
void fill_kernel(KernelContext& ctx) {
  fill_value(ctx.allocate_output(0, ctx.attr<Shape>("shape")), ctx.attr<double>("value"));
}

// ---------------------------------------------------------------------------------------
// BroadcastLike, SumToLike

void broadcast_like_shape(ShapeContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  const Shape& like = ctx.input_shape(1);
  const Shape b = broadcast_shapes(x, like);
  SLUICE_REQUIRE(b.compatible_with(like), InvalidArgument, "cannot broadcast ", x.to_string(),
                 " to ", like.to_string());
  ctx.add_output(ctx.input_dtype(0), like.merge(b));
}
void broadcast_like_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Shape& target = ctx.input(1).shape();
  SLUICE_REQUIRE(broadcast_shapes(x.shape(), target) == target, InvalidArgument,
                 "cannot broadcast ", x.shape().to_string(), " to ", target.to_string());
  Tensor& y = ctx.allocate_output(0, target);
  if (y.num_elements() == 0) return;
  BroadcastLoop<1> loop(target, {&x.shape()});
  by_element_size(x.dtype(), [&](auto e) {
    using E = decltype(e);
    const E* src = static_cast<const E*>(x.raw_data());
    E* dst = static_cast<E*>(y.raw_data());
    for_each_broadcast_row<1>(ctx.pool(), loop, [&](int64_t o, auto off, int64_t n, auto st) {
      for (int64_t j = 0; j < n; ++j) dst[o + j] = src[off[0] + j * st[0]];
    });
  });
}
Grads broadcast_like_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx broadcast(x) = g summed back over the broadcast dims
  return {ops::sum_to_like(s, g[0], op.input(0)), Output()};
}

void sum_to_like_shape(ShapeContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  const Shape& like = ctx.input_shape(1);
  const Shape b = broadcast_shapes(x, like);
  SLUICE_REQUIRE(b.compatible_with(x), InvalidArgument, "cannot sum ", x.to_string(),
                 " down to ", like.to_string());
  ctx.add_output(ctx.input_dtype(0), like);
}
void sum_to_like_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Shape& target = ctx.input(1).shape();
  SLUICE_REQUIRE(broadcast_shapes(x.shape(), target) == x.shape(), InvalidArgument, "cannot sum ",
                 x.shape().to_string(), " down to ", target.to_string());
  if (x.shape() == target) {
    ctx.set_output(0, x);
    return;
  }
  Tensor& y = ctx.allocate_output(0, target);
  BroadcastLoop<1> loop(x.shape(), {&target});
  dispatch<SLUICE_NUMERIC_TYPES>(x.dtype(), "SumToLike", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* dst = y.data<T>();
    std::fill(dst, dst + y.num_elements(), T(0));
    const T* src = x.data<T>();
    if (x.num_elements() == 0) return;
    const int64_t inner = loop.inner(), rows = loop.outer(), st = loop.inner_stride(0);
    // Rows accumulate into shared outputs: sequential, in a fixed order (deterministic).
    for (int64_t r = 0; r < rows; ++r) {
      const T* sp = src + r * inner;
      T* dp = dst + loop.offsets(r)[0];
      if (st == 0) {
        T acc = 0;
        for (int64_t j = 0; j < inner; ++j) acc += sp[j];
        dp[0] += acc;
      } else {
        for (int64_t j = 0; j < inner; ++j) dp[j] += sp[j];
      }
    }
  });
}
Grads sum_to_like_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::broadcast_like(s, g[0], op.input(0)), Output()};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Registration

void register_shape_ops(OpRegistry& r) {
  r.op("Reshape").input("tensor").output("output").required_attr("shape")
      .shape_fn(reshape_shape).kernel(reshape_kernel).gradient(reshape_grad);
  r.op("ReshapeLike").input("tensor").input("like").output("output")
      .shape_fn(reshape_like_shape).kernel(reshape_like_kernel).gradient(reshape_like_grad);
  r.op("ExpandDims").input("input").output("output").required_attr("axis")
      .shape_fn(expand_dims_shape).kernel(expand_dims_kernel).gradient(reshape_back_grad);
  r.op("Squeeze").input("input").output("output").attr("axes", Ints{})
      .shape_fn(squeeze_shape).kernel(squeeze_kernel).gradient(reshape_back_grad);
  r.op("Transpose").input("x").output("y").attr("perm", Ints{})
      .shape_fn(transpose_shape).kernel(transpose_kernel).gradient(transpose_grad);
  r.op("Shape").input("input").output("shape")
      .shape_fn(shape_shape).kernel(shape_kernel).not_differentiable();
  r.op("Size").input("input").output("size")
      .shape_fn(size_shape).kernel(size_kernel).not_differentiable();
  r.op("ZerosLike").input("x").output("y")
      .shape_fn(unchanged_shape).kernel(zeros_like_kernel).not_differentiable();
  r.op("OnesLike").input("x").output("y")
      .shape_fn(unchanged_shape).kernel(ones_like_kernel).not_differentiable();
  r.op("Fill").output("output").required_attr("dtype").required_attr("shape").attr("value", 0.0)
      .shape_fn(fill_shape).kernel(fill_kernel).not_differentiable();
  r.op("BroadcastLike").input("x").input("like").output("y")
      .shape_fn(broadcast_like_shape).kernel(broadcast_like_kernel).gradient(broadcast_like_grad);
  r.op("SumToLike").input("x").input("like").output("y")
      .shape_fn(sum_to_like_shape).kernel(sum_to_like_kernel).gradient(sum_to_like_grad);
}

// ---------------------------------------------------------------------------------------
// Builders

namespace ops {

Output reshape(const Scope& scope, const Output& x, const std::vector<int64_t>& shape) {
  return NodeBuilder(scope, "Reshape").input(x).attr("shape", shape).finish().output(0);
}

Output reshape_like(const Scope& scope, const Output& x, const Output& like) {
  return NodeBuilder(scope, "ReshapeLike").input(x).input(like).finish().output(0);
}

Output transpose(const Scope& scope, const Output& x, const std::vector<int64_t>& perm) {
  return NodeBuilder(scope, "Transpose").input(x).attr("perm", perm).finish().output(0);
}

Output expand_dims(const Scope& scope, const Output& x, int64_t axis) {
  return NodeBuilder(scope, "ExpandDims").input(x).attr("axis", axis).finish().output(0);
}

Output squeeze(const Scope& scope, const Output& x, const std::vector<int64_t>& axes) {
  return NodeBuilder(scope, "Squeeze").input(x).attr("axes", axes).finish().output(0);
}

Output shape(const Scope& scope, const Output& x) {
  return NodeBuilder(scope, "Shape").input(x).finish().output(0);
}

Output size(const Scope& scope, const Output& x) {
  return NodeBuilder(scope, "Size").input(x).finish().output(0);
}

Output zeros_like(const Scope& scope, const Output& x) {
  return NodeBuilder(scope, "ZerosLike").input(x).finish().output(0);
}

Output ones_like(const Scope& scope, const Output& x) {
  return NodeBuilder(scope, "OnesLike").input(x).finish().output(0);
}

Output fill(const Scope& scope, DType dtype, const Shape& shape, double value) {
  return NodeBuilder(scope, "Fill").attr("dtype", dtype).attr("shape", shape).attr("value", value)
      .finish().output(0);
}

Output broadcast_like(const Scope& scope, const Output& x, const Output& like) {
  return NodeBuilder(scope, "BroadcastLike").input(x).input(like).finish().output(0);
}

Output sum_to_like(const Scope& scope, const Output& x, const Output& like) {
  return NodeBuilder(scope, "SumToLike").input(x).input(like).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
