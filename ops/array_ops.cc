// Array ops: declaration, shape function, CPU kernel and gradient of each, side by side.
#include "array_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "../runtime/allocator.h"
#include "kernel_util.h"
#include "math_ops.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

// Element-size-generic work: calls f with an unsigned integer type of dtype's size, or
// with std::string for string tensors (whose elements must be assigned, not byte-copied).
template <class F>
void by_element_size(DType dtype, F&& f) {
  if (dtype == DType::string) return f(std::string{});
  switch (dtype_size(dtype)) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    case 8: f(uint64_t{}); break;
    default: throw Internal("unexpected element size");
  }
}

// Product of dims [b, e) of a run-time shape.
int64_t dims_product(const Shape& s, int b, int e) {
  int64_t n = 1;
  for (int i = b; i < e; ++i) n *= s.dim(i);
  return n;
}

// ---------------------------------------------------------------------------------------
// Const, Placeholder, PlaceholderWithDefault, Identity, StopGradient

void const_shape(ShapeContext& ctx) {
  const Tensor& v = ctx.attr<Tensor>("value");
  SLUICE_REQUIRE(v.valid(), InvalidArgument, "Const value is an empty Tensor handle");
  ctx.add_output(v.dtype(), v.shape());
}
void const_kernel(KernelContext& ctx) { ctx.set_output(0, ctx.attr<Tensor>("value")); }

void placeholder_shape(ShapeContext& ctx) {
  ctx.add_output(ctx.attr<DType>("dtype"), ctx.attr<Shape>("shape"));
}
void placeholder_kernel(KernelContext& ctx) {
  throw InvalidArgument("You must feed a value for placeholder tensor '" + ctx.node().name + "'");
}

void placeholder_with_default_shape(ShapeContext& ctx) {
  const Shape& s = ctx.attr<Shape>("shape");
  SLUICE_REQUIRE(s.compatible_with(ctx.input_shape(0)), InvalidArgument, "default value of shape ",
                 ctx.input_shape(0).to_string(), " is not compatible with the declared shape ",
                 s.to_string());
  ctx.add_output(ctx.input_dtype(0), s);
}

void identity_kernel(KernelContext& ctx) { ctx.set_output(0, ctx.input(0)); }
Grads identity_grad(const Scope&, const Operation&, const Grads& g) { return {g[0]}; }

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
// Concat, Split, SplitLike

void concat_shape(ShapeContext& ctx) {
  const int n = ctx.num_inputs();
  SLUICE_REQUIRE(n >= 1, InvalidArgument, "Concat needs at least one input");
  const Shape& first = ctx.input_shape(0);
  SLUICE_REQUIRE(first.known_rank(), InvalidArgument, "Concat inputs need a known rank");
  const int axis = normalize_axis(ctx.attr_int("axis"), first.rank(), "Concat axis");
  Ints out = first.dims();
  for (int i = 1; i < n; ++i) {
    const Shape& s = ctx.input_shape(i);
    require_same_dtype(ctx, 0, i);
    SLUICE_REQUIRE(s.rank() == first.rank(), InvalidArgument, "Concat input ", i, " has shape ",
                   s.to_string(), ", input 0 has shape ", first.to_string(), ": ranks differ");
    for (int d = 0; d < first.rank(); ++d) {
      if (d == axis) {
        out[d] = (out[d] < 0 || s.dim(d) < 0) ? -1 : out[d] + s.dim(d);
      } else {
        SLUICE_REQUIRE(out[d] < 0 || s.dim(d) < 0 || out[d] == s.dim(d), InvalidArgument,
                       "Concat input ", i, " has shape ", s.to_string(), ", input 0 has shape ",
                       first.to_string(), ": dimension ", d, " differs");
        if (out[d] < 0) out[d] = s.dim(d);
      }
    }
  }
  ctx.add_output(ctx.input_dtype(0), Shape(out));
}
void concat_kernel(KernelContext& ctx) {
  const int n = ctx.num_inputs();
  const Tensor& x0 = ctx.input(0);
  const int r = x0.rank();
  const int axis = normalize_axis(ctx.attr_int("axis"), r, "Concat axis");
  Ints out = x0.shape().dims();
  out[axis] = 0;
  for (int i = 0; i < n; ++i) {
    const Tensor& x = ctx.input(i);
    SLUICE_REQUIRE(x.rank() == r, InvalidArgument, "Concat input ", i, " has shape ",
                   x.shape().to_string(), ", input 0 has shape ", x0.shape().to_string());
    for (int d = 0; d < r; ++d) {
      SLUICE_REQUIRE(d == axis || x.dim(d) == x0.dim(d), InvalidArgument, "Concat input ", i,
                     " has shape ", x.shape().to_string(), ", input 0 has shape ",
                     x0.shape().to_string(), ": dimension ", d, " differs");
    }
    out[axis] += x.dim(axis);
  }
  Tensor& y = ctx.allocate_output(0, Shape(out));
  ElementCopier copy(x0.dtype());
  const size_t esize = copy.element_size();
  const int64_t outer = dims_product(x0.shape(), 0, axis);
  const int64_t inner = dims_product(x0.shape(), axis + 1, r);
  const size_t out_row = static_cast<size_t>(out[axis] * inner) * esize;
  char* dst = static_cast<char*>(y.raw_data());
  size_t col = 0;
  for (int i = 0; i < n; ++i) {
    const Tensor& x = ctx.input(i);
    const size_t row = static_cast<size_t>(x.dim(axis) * inner) * esize;
    const char* src = static_cast<const char*>(x.raw_data());
    for (int64_t o = 0; o < outer; ++o) copy(dst + o * out_row + col, src + o * row, row);
    col += row;
  }
}
Grads concat_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx_i concat(x) = the slice of g where x_i went
  std::vector<Output> xs;
  for (int i = 0; i < op.num_inputs(); ++i) xs.push_back(op.input(i));
  return ops::split_like(s, g[0], xs, op.node()->attr_int("axis"));
}

// Copies consecutive pieces of x along `axis` into the outputs (sizes from their shapes).
void split_into(KernelContext& ctx, const Tensor& x, int axis, const Ints& sizes) {
  const int r = x.rank();
  ElementCopier copy(x.dtype());
  const size_t esize = copy.element_size();
  const int64_t outer = dims_product(x.shape(), 0, axis);
  const int64_t inner = dims_product(x.shape(), axis + 1, r);
  const size_t in_row = static_cast<size_t>(x.dim(axis) * inner) * esize;
  const char* src = static_cast<const char*>(x.raw_data());
  size_t col = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Tensor& y = ctx.allocate_output(static_cast<int>(i), x.shape().with_dim(axis, sizes[i]));
    const size_t row = static_cast<size_t>(sizes[i] * inner) * esize;
    char* dst = static_cast<char*>(y.raw_data());
    for (int64_t o = 0; o < outer; ++o) copy(dst + o * row, src + o * in_row + col, row);
    col += row;
  }
}

void split_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  const int64_t num = ctx.attr_int("num_split");
  SLUICE_REQUIRE(num >= 1 && num <= 1 << 16, InvalidArgument, "num_split must be in [1, 65536], got ", num);
  SLUICE_REQUIRE(in.known_rank(), InvalidArgument, "Split input needs a known rank");
  const int axis = normalize_axis(ctx.attr_int("axis"), in.rank(), "Split axis");
  int64_t piece = -1;
  if (in.dim(axis) >= 0) {
    SLUICE_REQUIRE(in.dim(axis) % num == 0, InvalidArgument, "Number of ways to split should evenly divide the split dimension, but got split_dim ",
                   axis, " (size = ", in.dim(axis), ") and num_split ", num);
    piece = in.dim(axis) / num;
  }
  for (int64_t i = 0; i < num; ++i) ctx.add_output(ctx.input_dtype(0), in.with_dim(axis, piece));
}
void split_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t num = ctx.attr_int("num_split");
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "Split axis");
  SLUICE_REQUIRE(x.dim(axis) % num == 0, InvalidArgument, "cannot split dimension ", axis, " of ",
                 x.shape().to_string(), " into ", num, " equal parts");
  split_into(ctx, x, axis, Ints(static_cast<size_t>(num), x.dim(axis) / num));
}
Grads split_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx split(x) = concat of the pieces' gradients
  return {ops::concat(s, g, op.node()->attr_int("axis"))};
}

void split_like_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  SLUICE_REQUIRE(in.known_rank(), InvalidArgument, "SplitLike input needs a known rank");
  const int axis = normalize_axis(ctx.attr_int("axis"), in.rank(), "SplitLike axis");
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const Shape& like = ctx.input_shape(i);
    SLUICE_REQUIRE(like.rank() == in.rank(), InvalidArgument, "SplitLike piece ", i - 1,
                   " has rank ", like.rank(), ", input has rank ", in.rank());
    ctx.add_output(ctx.input_dtype(0), in.with_dim(axis, like.dim(axis)));
  }
}
void split_like_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "SplitLike axis");
  Ints sizes;
  int64_t total = 0;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    sizes.push_back(ctx.input(i).dim(axis));
    total += sizes.back();
  }
  SLUICE_REQUIRE(total == x.dim(axis), InvalidArgument, "SplitLike pieces sum to ", total,
                 " along axis ", axis, " of ", x.shape().to_string());
  split_into(ctx, x, axis, sizes);
}
Grads split_like_grad(const Scope& s, const Operation& op, const Grads& g) {
  Grads r = {ops::concat(s, g, op.node()->attr_int("axis"))};
  r.resize(op.num_inputs());
  return r;
}

// ---------------------------------------------------------------------------------------
// Slice, SliceGrad

// Validates begin/size against a shape; returns the resolved sizes (-1 for unknown).
Ints slice_sizes(const Shape& in, const Ints& begin, const Ints& size, bool runtime) {
  SLUICE_REQUIRE(begin.size() == size.size(), InvalidArgument, "Slice begin ",
                 ints_to_string(begin), " and size ", ints_to_string(size), " differ in length");
  SLUICE_REQUIRE(static_cast<int>(begin.size()) == in.rank(), InvalidArgument, "Slice of ",
                 begin.size(), " dims for input of shape ", in.to_string());
  Ints out(begin.size());
  for (size_t i = 0; i < begin.size(); ++i) {
    const int64_t d = in.dim(static_cast<int>(i));
    SLUICE_REQUIRE(begin[i] >= 0 && size[i] >= -1, InvalidArgument, "Slice begin ",
                   ints_to_string(begin), " / size ", ints_to_string(size),
                   " must be >= 0 (size -1 means to the end)");
    if (d < 0 && !runtime) {
      out[i] = size[i];
      continue;
    }
    const int64_t sz = size[i] == -1 ? d - begin[i] : size[i];
    SLUICE_REQUIRE(begin[i] <= d && sz >= 0 && sz <= d - begin[i], InvalidArgument,
                   "Slice begin ", ints_to_string(begin), " size ", ints_to_string(size),
                   " is out of bounds for shape ", in.to_string());
    out[i] = sz;
  }
  return out;
}

// Copies the box [begin, begin+sizes) of `big` to/from the dense `small` tensor.
template <bool kToSmall>
void copy_box(const Shape& big_shape, char* big, char* small, const Ints& begin, const Ints& sizes,
              ElementCopier& copy) {
  const size_t esize = copy.element_size();
  const int r = big_shape.rank();
  int64_t count = 1;
  for (int64_t s : sizes) count *= s;
  if (count == 0) return;
  if (r == 0) {
    copy(kToSmall ? small : big, kToSmall ? big : small, esize);
    return;
  }
  const Ints strides = row_major_strides(big_shape);
  const int64_t inner = sizes[r - 1];
  const int64_t rows = count / inner;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t rem = row, off = begin[r - 1];
    for (int i = r - 2; i >= 0; --i) {
      off += (rem % sizes[i] + begin[i]) * strides[i];
      rem /= sizes[i];
    }
    char* b = big + off * esize;
    char* s = small + row * inner * esize;
    copy(kToSmall ? s : b, kToSmall ? b : s, inner * esize);
  }
}

void slice_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  const Ints& begin = ctx.attr<Ints>("begin");
  if (!in.known_rank()) {
    ctx.add_output(ctx.input_dtype(0), Shape(Ints(begin.size(), -1)));
    return;
  }
  ctx.add_output(ctx.input_dtype(0), Shape(slice_sizes(in, begin, ctx.attr<Ints>("size"), false)));
}
void slice_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Ints& begin = ctx.attr<Ints>("begin");
  const Ints sizes = slice_sizes(x.shape(), begin, ctx.attr<Ints>("size"), true);
  Tensor& y = ctx.allocate_output(0, Shape(sizes));
  ElementCopier copy(x.dtype());
  copy_box<true>(x.shape(), static_cast<char*>(const_cast<void*>(x.raw_data())),
                 static_cast<char*>(y.raw_data()), begin, sizes, copy);
}
Output slice_grad_op(const Scope& s, const Output& g, const Output& x, const Ints& begin,
                     const Ints& size) {
  return NodeBuilder(s, "SliceGrad").input(g).input(x).attr("begin", begin).attr("size", size)
      .finish().output(0);
}
Grads slice_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx slice(x) = g placed at `begin` in zeros of x's shape
  return {slice_grad_op(s, g[0], op.input(0), op.node()->attr<Ints>("begin"),
                        op.node()->attr<Ints>("size"))};
}

void slice_grad_shape(ShapeContext& ctx) {
  require_same_dtype(ctx, 0, 1);
  ctx.add_output(ctx.input_dtype(1), ctx.input_shape(1));
}
void slice_grad_kernel(KernelContext& ctx) {
  const Tensor& g = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Ints& begin = ctx.attr<Ints>("begin");
  const Ints sizes = slice_sizes(x.shape(), begin, ctx.attr<Ints>("size"), true);
  SLUICE_REQUIRE(Shape(sizes) == g.shape(), InvalidArgument, "SliceGrad: gradient of shape ",
                 g.shape().to_string(), " for a slice of shape ", ints_to_string(sizes));
  Tensor& y = ctx.allocate_output(0, x.shape());
  if (y.num_bytes()) std::memset(y.raw_data(), 0, y.num_bytes());
  ElementCopier copy(x.dtype());
  copy_box<false>(x.shape(), static_cast<char*>(y.raw_data()),
                  static_cast<char*>(const_cast<void*>(g.raw_data())), begin, sizes, copy);
}
Grads slice_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::slice(s, g[0], op.node()->attr<Ints>("begin"), op.node()->attr<Ints>("size")),
          Output()};
}

// ---------------------------------------------------------------------------------------
// Gather, GatherGrad

void require_index_dtype(const ShapeContext& ctx, int i) {
  const DType d = ctx.input_dtype(i);
  SLUICE_REQUIRE(d == DType::i32 || d == DType::i64, InvalidArgument, "indices (input ", i,
                 ") must be int32 or int64, got ", dtype_name(d));
}

Shape gather_shape_of(const Shape& params, const Shape& indices, int axis) {
  if (!params.known_rank() || !indices.known_rank()) return Shape::unknown_rank();
  Ints out;
  for (int i = 0; i < axis; ++i) out.push_back(params.dim(i));
  for (int i = 0; i < indices.rank(); ++i) out.push_back(indices.dim(i));
  for (int i = axis + 1; i < params.rank(); ++i) out.push_back(params.dim(i));
  return Shape(out);
}

void gather_shape(ShapeContext& ctx) {
  require_index_dtype(ctx, 1);
  const Shape& p = ctx.input_shape(0);
  SLUICE_REQUIRE(!p.known_rank() || p.rank() >= 1, InvalidArgument, "Gather params must have rank >= 1, got ",
                 p.to_string());
  const int axis = p.known_rank() ? normalize_axis(ctx.attr_int("axis"), p.rank(), "Gather axis") : 0;
  ctx.add_output(ctx.input_dtype(0), gather_shape_of(p, ctx.input_shape(1), axis));
}

// Reads index i of an int32/int64 tensor as int64.
int64_t index_at(const Tensor& idx, int64_t i) {
  return idx.dtype() == DType::i32 ? idx.data<int32_t>()[i] : idx.data<int64_t>()[i];
}

void check_indices(const Tensor& idx, int64_t limit) {
  for (int64_t i = 0; i < idx.num_elements(); ++i) {
    const int64_t v = index_at(idx, i);
    SLUICE_REQUIRE(v >= 0 && v < limit, OutOfRange, "indices[", i, "] = ", v, " is not in [0, ",
                   limit, ")");
  }
}

void gather_kernel(KernelContext& ctx) {
  const Tensor& p = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  SLUICE_REQUIRE(p.rank() >= 1, InvalidArgument, "Gather params must have rank >= 1");
  const int axis = normalize_axis(ctx.attr_int("axis"), p.rank(), "Gather axis");
  const int64_t n = p.dim(axis);
  check_indices(idx, n);
  Tensor& y = ctx.allocate_output(0, gather_shape_of(p.shape(), idx.shape(), axis));
  ElementCopier copy(p.dtype());
  const size_t esize = copy.element_size();
  const int64_t outer = dims_product(p.shape(), 0, axis);
  const int64_t inner = dims_product(p.shape(), axis + 1, p.rank());
  const int64_t k = idx.num_elements();
  const size_t row = static_cast<size_t>(inner) * esize;
  const char* src = static_cast<const char*>(p.raw_data());
  char* dst = static_cast<char*>(y.raw_data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < k; ++j)
      copy(dst + (o * k + j) * row, src + (o * n + index_at(idx, j)) * row, row);
}
Grads gather_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dparams gather(params, idx) = scatter-add of g into zeros shaped like params
  Output gp = NodeBuilder(s, "GatherGrad").input(g[0]).input(op.input(1)).input(op.input(0))
                  .attr("axis", op.node()->attr_int("axis")).finish().output(0);
  return {gp, Output()};
}

void gather_grad_shape(ShapeContext& ctx) {
  require_index_dtype(ctx, 1);
  require_same_dtype(ctx, 0, 2);
  ctx.add_output(ctx.input_dtype(2), ctx.input_shape(2));
}
void gather_grad_kernel(KernelContext& ctx) {
  const Tensor& g = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Tensor& p = ctx.input(2);
  const int axis = normalize_axis(ctx.attr_int("axis"), p.rank(), "Gather axis");
  const int64_t n = p.dim(axis);
  check_indices(idx, n);
  SLUICE_REQUIRE(g.shape() == gather_shape_of(p.shape(), idx.shape(), axis), InvalidArgument,
                 "GatherGrad: gradient shape ", g.shape().to_string(), " does not match");
  Tensor& y = ctx.allocate_output(0, p.shape());
  const int64_t outer = dims_product(p.shape(), 0, axis);
  const int64_t inner = dims_product(p.shape(), axis + 1, p.rank());
  const int64_t k = idx.num_elements();
  dispatch<SLUICE_NUMERIC_TYPES>(p.dtype(), "GatherGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* dst = y.data<T>();
    std::fill(dst, dst + y.num_elements(), T(0));
    const T* src = g.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < k; ++j) {
        T* d = dst + (o * n + index_at(idx, j)) * inner;
        const T* sp = src + (o * k + j) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += sp[i];
      }
  });
}
Grads gather_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::gather(s, g[0], op.input(1), op.node()->attr_int("axis")), Output(), Output()};
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

// Fill values and OneHot's on/off values are double attrs converted to the output dtype:
// converting a NaN, infinite or out-of-range double to an integer type is undefined
// behaviour, so such values are rejected when the node is built.
void require_representable(ShapeContext& ctx, const char* attr, DType dtype) {
  if (!is_integer(dtype)) return;  // float types take any double (overflow gives inf); bool any
  const double v = ctx.attr<double>(attr);
  dispatch<SLUICE_REAL_TYPES>(dtype, "Fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // [lowest, 2^digits): both bounds are exact doubles.
    const double hi_excl = std::ldexp(1.0, std::numeric_limits<T>::digits);
    const double lo = std::is_signed_v<T> ? -hi_excl : 0.0;
    SLUICE_REQUIRE(v >= lo && v < hi_excl, InvalidArgument, attr, " ", v,
                   " is not representable as ", dtype_name(dtype));
  });
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

// ---------------------------------------------------------------------------------------
// OneHot, Cast, Select

void one_hot_shape(ShapeContext& ctx) {
  require_index_dtype(ctx, 0);
  const int64_t depth = ctx.attr_int("depth");
  SLUICE_REQUIRE(depth >= 0, InvalidArgument, "OneHot depth must be >= 0, got ", depth);
  require_representable(ctx, "on_value", ctx.attr<DType>("dtype"));
  require_representable(ctx, "off_value", ctx.attr<DType>("dtype"));
  const Shape& in = ctx.input_shape(0);
  ctx.add_output(ctx.attr<DType>("dtype"), in.known_rank() ? in.appended(depth) : in);
}
void one_hot_kernel(KernelContext& ctx) {
  const Tensor& idx = ctx.input(0);
  const int64_t depth = ctx.attr_int("depth");
  Tensor& y = ctx.allocate_output(0, idx.shape().appended(depth));
  const double on = ctx.attr<double>("on_value"), off = ctx.attr<double>("off_value");
  dispatch<SLUICE_ALL_TYPES>(y.dtype(), "OneHot", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = y.data<T>();
    std::fill(p, p + y.num_elements(), static_cast<T>(off));
    for (int64_t i = 0; i < idx.num_elements(); ++i) {
      const int64_t v = index_at(idx, i);
      if (v >= 0 && v < depth) p[i * depth + v] = static_cast<T>(on);
    }
  });
}

void cast_shape(ShapeContext& ctx) { ctx.add_output(ctx.attr<DType>("dtype"), ctx.input_shape(0)); }
void cast_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() == ctx.node().output_dtypes[0]) {
    ctx.set_output(0, x);
    return;
  }
  Tensor& y = ctx.allocate_output(0, x.shape());
  // The conversion rules (saturating float -> int, NaN -> 0) live in detail::cast_elements,
  // shared with Tensor::cast.
  parallel_range(ctx.pool(), x.num_elements(), kElementwiseGrain,
                 [&](int64_t b, int64_t e) { detail::cast_elements(x, y, b, e); });
}
Grads cast_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx cast(x) = cast(g) back to x's dtype, for float -> float casts only
  const DType from = op.input(0).dtype(), to = op.output(0).dtype();
  if (!is_floating(from) || !is_floating(to)) return {Output()};
  return {ops::cast(s, g[0], from)};
}

void select_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) == DType::boolean, InvalidArgument,
                 "Select condition must be bool, got ", dtype_name(ctx.input_dtype(0)));
  require_same_dtype(ctx, 1, 2);
  const Shape s = broadcast_shapes(broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1)),
                                   ctx.input_shape(2));
  ctx.add_output(ctx.input_dtype(1), s);
}
// Broadcasting can repeat one string many times: add up the bytes select would copy and
// refuse outputs over max_allocation_bytes() before copying any.
void check_select_strings(const BroadcastLoop<3>& loop, const Tensor& c, const Tensor& a,
                          const Tensor& b, int64_t count) {
  const bool* cp = c.data<bool>();
  const std::string* ap = a.data<std::string>();
  const std::string* bp = b.data<std::string>();
  const int64_t n = loop.inner();
  const uint64_t limit = max_allocation_bytes();
  uint64_t bytes = 0;
  for (int64_t row = 0; row < loop.outer() && bytes <= limit; ++row) {
    const auto off = loop.offsets(row);
    for (int64_t j = 0; j < n; ++j)
      bytes += cp[off[0] + j * loop.inner_stride(0)] ? ap[off[1] + j * loop.inner_stride(1)].size()
                                                     : bp[off[2] + j * loop.inner_stride(2)].size();
  }
  check_string_tensor_size(count, bytes, "Select");
}

void select_kernel(KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& a = ctx.input(1);
  const Tensor& b = ctx.input(2);
  const Shape out = broadcast_shapes(broadcast_shapes(c.shape(), a.shape()), b.shape());
  Tensor& y = ctx.allocate_output(0, out);
  if (y.num_elements() == 0) return;
  BroadcastLoop<3> loop(out, {&c.shape(), &a.shape(), &b.shape()});
  if (a.dtype() == DType::string) check_select_strings(loop, c, a, b, y.num_elements());
  by_element_size(a.dtype(), [&](auto e) {
    using E = decltype(e);
    const bool* cp = c.data<bool>();
    const E* ap = static_cast<const E*>(a.raw_data());
    const E* bp = static_cast<const E*>(b.raw_data());
    E* dst = static_cast<E*>(y.raw_data());
    for_each_broadcast_row<3>(ctx.pool(), loop, [&](int64_t o, auto off, int64_t n, auto st) {
      for (int64_t j = 0; j < n; ++j)
        dst[o + j] = cp[off[0] + j * st[0]] ? ap[off[1] + j * st[1]] : bp[off[2] + j * st[2]];
    });
  });
}
Grads select_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/da select(c, a, b) = g where c, else 0 (and the converse for b)
  Output zeros = ops::zeros_like(s, g[0]);
  Output ga = ops::select(s, op.input(0), g[0], zeros);
  Output gb = ops::select(s, op.input(0), zeros, g[0]);
  return {Output(), ops::sum_to_like(s, ga, op.input(1)), ops::sum_to_like(s, gb, op.input(2))};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Registration

void register_array_ops(OpRegistry& r) {
  r.op("Const").output("output").required_attr("value")
      .shape_fn(const_shape).kernel(const_kernel).not_differentiable()
      .supports_strings();
  r.op("Placeholder").output("output").required_attr("dtype").attr("shape", Shape::unknown_rank())
      .shape_fn(placeholder_shape).kernel(placeholder_kernel).not_differentiable()
      .supports_strings();
  r.op("PlaceholderWithDefault").input("input").output("output").required_attr("shape")
      .shape_fn(placeholder_with_default_shape).kernel(identity_kernel).gradient(identity_grad)
      .supports_strings();
  r.op("Identity").input("input").output("output")
      .shape_fn(unchanged_shape).kernel(identity_kernel).gradient(identity_grad)
      .supports_strings();
  r.op("StopGradient").input("input").output("output")
      .shape_fn(unchanged_shape).kernel(identity_kernel).not_differentiable()
      .supports_strings();
  r.op("Reshape").input("tensor").output("output").required_attr("shape")
      .shape_fn(reshape_shape).kernel(reshape_kernel).gradient(reshape_grad)
      .supports_strings();
  r.op("ReshapeLike").input("tensor").input("like").output("output")
      .shape_fn(reshape_like_shape).kernel(reshape_like_kernel).gradient(reshape_like_grad)
      .supports_strings();
  r.op("ExpandDims").input("input").output("output").required_attr("axis")
      .shape_fn(expand_dims_shape).kernel(expand_dims_kernel).gradient(reshape_back_grad)
      .supports_strings();
  r.op("Squeeze").input("input").output("output").attr("axes", Ints{})
      .shape_fn(squeeze_shape).kernel(squeeze_kernel).gradient(reshape_back_grad)
      .supports_strings();
  r.op("Transpose").input("x").output("y").attr("perm", Ints{})
      .shape_fn(transpose_shape).kernel(transpose_kernel).gradient(transpose_grad)
      .supports_strings();
  r.op("Concat").variadic_input("values").output("output").required_attr("axis")
      .shape_fn(concat_shape).kernel(concat_kernel).gradient(concat_grad)
      .supports_strings();
  r.op("Split").input("value").output("output").required_attr("num_split").required_attr("axis")
      .shape_fn(split_shape).kernel(split_kernel).gradient(split_grad)
      .supports_strings();
  r.op("SplitLike").input("value").variadic_input("likes").output("output").required_attr("axis")
      .shape_fn(split_like_shape).kernel(split_like_kernel).gradient(split_like_grad)
      .supports_strings();
  r.op("Slice").input("input").output("output").required_attr("begin").required_attr("size")
      .shape_fn(slice_shape).kernel(slice_kernel).gradient(slice_grad)
      .supports_strings();
  r.op("SliceGrad").input("grad").input("input").output("output").required_attr("begin")
      .required_attr("size")
      .shape_fn(slice_grad_shape).kernel(slice_grad_kernel).gradient(slice_grad_grad);
  r.op("Gather").input("params").input("indices").output("output").attr("axis", 0)
      .shape_fn(gather_shape).kernel(gather_kernel).gradient(gather_grad)
      .supports_strings();
  r.op("GatherGrad").input("grad").input("indices").input("params").output("output").attr("axis", 0)
      .shape_fn(gather_grad_shape).kernel(gather_grad_kernel).gradient(gather_grad_grad);
  r.op("Shape").input("input").output("shape")
      .shape_fn(shape_shape).kernel(shape_kernel).not_differentiable()
      .supports_strings();
  r.op("Size").input("input").output("size")
      .shape_fn(size_shape).kernel(size_kernel).not_differentiable()
      .supports_strings();
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
  r.op("OneHot").input("indices").output("output").required_attr("depth")
      .attr("on_value", 1.0).attr("off_value", 0.0).attr("dtype", DType::f32)
      .shape_fn(one_hot_shape).kernel(one_hot_kernel).not_differentiable();
  r.op("Cast").input("x").output("y").required_attr("dtype")
      .shape_fn(cast_shape).kernel(cast_kernel).gradient(cast_grad);
  r.op("Select").input("condition").input("t").input("e").output("output")
      .shape_fn(select_shape).kernel(select_kernel).gradient(select_grad)
      .supports_strings();
}

// ---------------------------------------------------------------------------------------
// Builders

namespace ops {

Output constant(const Scope& scope, const Tensor& value) {
  return NodeBuilder(scope, "Const").attr("value", value).finish().output(0);
}

Output placeholder(const Scope& scope, DType dtype, const Shape& shape) {
  return NodeBuilder(scope, "Placeholder").attr("dtype", dtype).attr("shape", shape).finish().output(0);
}

Output placeholder_with_default(const Scope& scope, const Output& input, const Shape& shape) {
  return NodeBuilder(scope, "PlaceholderWithDefault").input(input).attr("shape", shape).finish().output(0);
}

Output identity(const Scope& scope, const Output& x) {
  return NodeBuilder(scope, "Identity").input(x).finish().output(0);
}

Output stop_gradient(const Scope& scope, const Output& x) {
  return NodeBuilder(scope, "StopGradient").input(x).finish().output(0);
}

Output reshape(const Scope& scope, const Output& x, const std::vector<int64_t>& shape) {
  return NodeBuilder(scope, "Reshape").input(x).attr("shape", shape).finish().output(0);
}

Output reshape_like(const Scope& scope, const Output& x, const Output& like) {
  return NodeBuilder(scope, "ReshapeLike").input(x).input(like).finish().output(0);
}

Output transpose(const Scope& scope, const Output& x, const std::vector<int64_t>& perm) {
  return NodeBuilder(scope, "Transpose").input(x).attr("perm", perm).finish().output(0);
}

Output concat(const Scope& scope, const std::vector<Output>& values, int64_t axis) {
  return NodeBuilder(scope, "Concat").inputs(values).attr("axis", axis).finish().output(0);
}

namespace {
std::vector<Output> all_outputs(const Operation& op) {
  std::vector<Output> r;
  for (int i = 0; i < op.num_outputs(); ++i) r.push_back(op.output(i));
  return r;
}
}  // namespace

std::vector<Output> split(const Scope& scope, const Output& x, int64_t num_split, int64_t axis) {
  return all_outputs(NodeBuilder(scope, "Split").input(x).attr("num_split", num_split)
                         .attr("axis", axis).finish());
}

std::vector<Output> split_like(const Scope& scope, const Output& x, const std::vector<Output>& likes,
                               int64_t axis) {
  return all_outputs(NodeBuilder(scope, "SplitLike").input(x).inputs(likes).attr("axis", axis).finish());
}

Output slice(const Scope& scope, const Output& x, const std::vector<int64_t>& begin,
             const std::vector<int64_t>& size) {
  return NodeBuilder(scope, "Slice").input(x).attr("begin", begin).attr("size", size).finish().output(0);
}

Output gather(const Scope& scope, const Output& params, const Output& indices, int64_t axis) {
  return NodeBuilder(scope, "Gather").input(params).input(indices).attr("axis", axis).finish().output(0);
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

Output one_hot(const Scope& scope, const Output& indices, int64_t depth, double on_value,
               double off_value, DType dtype) {
  return NodeBuilder(scope, "OneHot").input(indices).attr("depth", depth).attr("on_value", on_value)
      .attr("off_value", off_value).attr("dtype", dtype).finish().output(0);
}

Output cast(const Scope& scope, const Output& x, DType dtype) {
  return NodeBuilder(scope, "Cast").input(x).attr("dtype", dtype).finish().output(0);
}

Output select(const Scope& scope, const Output& cond, const Output& a, const Output& b) {
  return NodeBuilder(scope, "Select").input(cond).input(a).input(b).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
