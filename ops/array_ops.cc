// Array ops: constants, placeholders, identity, concat/split, slice, gather, one-hot, cast,
// select. Declaration, shape function, CPU kernel and gradient of each, side by side.
// Shape manipulation (reshape, transpose, fill, broadcasting) lives in shape_ops.cc.
#include "array_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "../runtime/allocator.h"
#include "array_util.h"
#include "math_ops.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

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
  std::vector<const char*> srcs(static_cast<size_t>(n));
  std::vector<size_t> rows(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    srcs[static_cast<size_t>(i)] = static_cast<const char*>(ctx.input(i).raw_data());
    rows[static_cast<size_t>(i)] = static_cast<size_t>(ctx.input(i).dim(axis) * inner) * esize;
  }
  // Output row by output row (each written once, front to back, while in cache), split
  // across the pool: input by input over the whole output wrote every row n times in
  // pieces (concatenating channels-last feature maps along channels, as squeezenet does).
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, out[axis] * inner));
  parallel_range(ctx.pool(), outer, grain, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      size_t col = 0;
      for (size_t i = 0; i < srcs.size(); ++i) {
        copy(dst + o * out_row + col, srcs[i] + o * rows[i], rows[i]);
        col += rows[i];
      }
    }
  });
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
  const bool check = ctx.attr<bool>("check_range");
  dispatch<SLUICE_ALL_TYPES>(y.dtype(), "OneHot", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = y.data<T>();
    std::fill(p, p + y.num_elements(), static_cast<T>(off));
    for (int64_t i = 0; i < idx.num_elements(); ++i) {
      const int64_t v = index_at(idx, i);
      if (v >= 0 && v < depth) {
        p[i * depth + v] = static_cast<T>(on);
      } else {
        // check_range: the sparse losses' labels (TensorFlow's sparse cross-entropy text).
        SLUICE_REQUIRE(!check, InvalidArgument, "Received a label value of ", v,
                       " which is outside the valid range of [0, ", depth, ")");
      }
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
  by_element_storage(a.dtype(), [&](auto e) {
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

// ---------------------------------------------------------------------------------------
// Pack, Unpack (TensorFlow Pack/Unpack: stack and unstack), SplitV

void pack_shape(ShapeContext& ctx) {
  const int n = ctx.num_inputs();
  SLUICE_REQUIRE(n >= 1, InvalidArgument, "Pack needs at least one input");
  Shape s = ctx.input_shape(0);
  for (int i = 1; i < n; ++i) {
    require_same_dtype(ctx, 0, i);
    SLUICE_REQUIRE(s.compatible_with(ctx.input_shape(i)), InvalidArgument, "Pack input ", i,
                   " has shape ", ctx.input_shape(i).to_string(), ", input 0 has shape ",
                   ctx.input_shape(0).to_string());
    s = s.merge(ctx.input_shape(i));
  }
  if (!s.known_rank()) {
    ctx.add_output(ctx.input_dtype(0), s);
    return;
  }
  const int axis = normalize_axis(ctx.attr_int("axis"), s.rank() + 1, "Pack axis");
  Ints d = s.dims();
  d.insert(d.begin() + axis, n);
  ctx.add_output(ctx.input_dtype(0), Shape(d));
}
void pack_kernel(KernelContext& ctx) {
  const int n = ctx.num_inputs();
  const Tensor& x0 = ctx.input(0);
  for (int i = 1; i < n; ++i)
    SLUICE_REQUIRE(ctx.input(i).shape() == x0.shape(), InvalidArgument, "Pack input ", i,
                   " has shape ", ctx.input(i).shape().to_string(), ", input 0 has shape ",
                   x0.shape().to_string());
  const int axis = normalize_axis(ctx.attr_int("axis"), x0.rank() + 1, "Pack axis");
  Ints d = x0.shape().dims();
  d.insert(d.begin() + axis, n);
  Tensor& y = ctx.allocate_output(0, Shape(d));
  // Output [outer, n, inner]: row o holds the o-th [inner] piece of every input in turn.
  const int64_t outer = dims_product(x0.shape(), 0, axis);
  const size_t piece = static_cast<size_t>(dims_product(x0.shape(), axis, x0.rank())) *
                       dtype_storage_size(x0.dtype());
  char* dst = static_cast<char*>(y.raw_data());
  const int64_t grain = std::max<int64_t>(
      1, kElementwiseGrain / std::max<int64_t>(1, static_cast<int64_t>(piece) * n));
  parallel_range(ctx.pool(), outer, grain, [&](int64_t b, int64_t e) {
    ElementCopier copy(x0.dtype());  // one per chunk: a copier counts bytes, not thread-safe
    for (int64_t o = b; o < e; ++o)
      for (int i = 0; i < n; ++i)
        copy(dst + (o * n + i) * piece,
             static_cast<const char*>(ctx.input(i).raw_data()) + o * piece, piece);
  });
}
Grads pack_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx_i stack(x) = the i-th slice of g along axis
  return ops::unstack(s, g[0], op.node()->attr_int("axis"), op.num_inputs());
}

void unpack_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  const int64_t num = ctx.attr_int("num");
  SLUICE_REQUIRE(in.known_rank() && in.rank() >= 1, InvalidArgument,
                 "Unpack input needs a known rank >= 1, got ", in.to_string());
  const int axis = normalize_axis(ctx.attr_int("axis"), in.rank(), "Unpack axis");
  SLUICE_REQUIRE(num >= 0 && num <= (1 << 16) && (in.dim(axis) < 0 || in.dim(axis) == num),
                 InvalidArgument, "Unpack num ", num, " does not match dim ", axis, " of ",
                 in.to_string());
  Ints d = in.dims();
  d.erase(d.begin() + axis);
  for (int64_t i = 0; i < num; ++i) ctx.add_output(ctx.input_dtype(0), Shape(d));
}
void unpack_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "Unpack axis");
  const int64_t num = ctx.attr_int("num");
  SLUICE_REQUIRE(x.dim(axis) == num, InvalidArgument, "Unpack num ", num, " does not match dim ",
                 axis, " of ", x.shape().to_string());
  Ints d = x.shape().dims();
  d.erase(d.begin() + axis);
  const int64_t outer = dims_product(x.shape(), 0, axis);
  ElementCopier copy(x.dtype());
  const size_t piece = static_cast<size_t>(dims_product(x.shape(), axis + 1, x.rank())) *
                       copy.element_size();
  const char* src = static_cast<const char*>(x.raw_data());
  for (int64_t i = 0; i < num; ++i) {
    char* dst = static_cast<char*>(ctx.allocate_output(static_cast<int>(i), Shape(d)).raw_data());
    for (int64_t o = 0; o < outer; ++o) copy(dst + o * piece, src + (o * num + i) * piece, piece);
  }
}
Grads unpack_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx unstack(x) = stack of the pieces' gradients
  return {ops::stack(s, g, op.node()->attr_int("axis"))};
}

// Sizes with the one -1 resolved against dim d (-1 when unknown); checks the total.
Ints split_v_sizes(const Ints& sizes, int64_t d) {
  int infer = -1;
  int64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      SLUICE_REQUIRE(infer < 0, InvalidArgument, "SplitV sizes ", ints_to_string(sizes),
                     " have more than one -1");
      infer = static_cast<int>(i);
      continue;
    }
    SLUICE_REQUIRE(sizes[i] >= 0 && sizes[i] <= (int64_t{1} << 40), InvalidArgument,
                   "SplitV sizes ", ints_to_string(sizes), " must be >= 0 (or one -1)");
    total += sizes[i];
  }
  Ints out = sizes;
  if (d < 0) return out;
  SLUICE_REQUIRE(infer >= 0 ? total <= d : total == d, InvalidArgument, "SplitV sizes ",
                 ints_to_string(sizes), " do not add up to the split dimension's size ", d);
  if (infer >= 0) out[infer] = d - total;
  return out;
}

void split_v_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  const Ints& sizes = ctx.attr<Ints>("sizes");
  SLUICE_REQUIRE(!sizes.empty() && sizes.size() <= (1 << 16), InvalidArgument,
                 "SplitV needs 1 to 65536 sizes");
  SLUICE_REQUIRE(in.known_rank(), InvalidArgument, "SplitV input needs a known rank");
  const int axis = normalize_axis(ctx.attr_int("axis"), in.rank(), "SplitV axis");
  for (int64_t s : split_v_sizes(sizes, in.dim(axis)))
    ctx.add_output(ctx.input_dtype(0), in.with_dim(axis, s));
}
void split_v_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int axis = normalize_axis(ctx.attr_int("axis"), x.rank(), "SplitV axis");
  split_into(ctx, x, axis, split_v_sizes(ctx.attr<Ints>("sizes"), x.dim(axis)));
}
Grads split_v_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx split(x) = concat of the pieces' gradients
  return {ops::concat(s, g, op.node()->attr_int("axis"))};
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
  r.op("OneHot").input("indices").output("output").required_attr("depth")
      .attr("on_value", 1.0).attr("off_value", 0.0).attr("dtype", DType::f32)
      .attr("check_range", false)
      .shape_fn(one_hot_shape).kernel(one_hot_kernel).not_differentiable();
  r.op("Cast").input("x").output("y").required_attr("dtype")
      .shape_fn(cast_shape).kernel(cast_kernel).gradient(cast_grad);
  r.op("Select").input("condition").input("t").input("e").output("output")
      .shape_fn(select_shape).kernel(select_kernel).gradient(select_grad)
      .supports_strings();
  r.op("Pack")
      .variadic_input("values")
      .output("output")
      .attr("axis", 0)
      .shape_fn(pack_shape)
      .kernel(pack_kernel)
      .gradient(pack_grad)
      .supports_strings();
  r.op("Unpack")
      .input("value")
      .output("output")
      .required_attr("num")
      .attr("axis", 0)
      .shape_fn(unpack_shape)
      .kernel(unpack_kernel)
      .gradient(unpack_grad)
      .supports_strings();
  r.op("SplitV")
      .input("value")
      .output("output")
      .required_attr("sizes")
      .required_attr("axis")
      .shape_fn(split_v_shape)
      .kernel(split_v_kernel)
      .gradient(split_v_grad)
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

Output where(const Scope& scope, const Output& cond, const Output& a, const Output& b) {
  return select(scope, cond, a, b);
}

Output stack(const Scope& scope, const std::vector<Output>& values, int64_t axis) {
  return NodeBuilder(scope, "Pack").inputs(values).attr("axis", axis).finish().output(0);
}

std::vector<Output> unstack(const Scope& scope, const Output& x, int64_t axis, int64_t num) {
  if (num < 0) {
    const Shape& s = x.shape();
    SLUICE_REQUIRE(s.known_rank() && s.rank() >= 1, InvalidArgument, "unstack of ", x.name(),
                   " with shape ", s.to_string(), ": num must be given when the rank is unknown");
    num = s.dim(normalize_axis(axis, s.rank(), "unstack axis"));
    SLUICE_REQUIRE(num >= 0, InvalidArgument, "unstack of ", x.name(), " with shape ",
                   s.to_string(), ": num must be given when dim ", axis, " is unknown");
  }
  return all_outputs(
      NodeBuilder(scope, "Unpack").input(x).attr("num", num).attr("axis", axis).finish());
}

std::vector<Output> split_v(const Scope& scope, const Output& x, const std::vector<int64_t>& sizes,
                            int64_t axis) {
  return all_outputs(
      NodeBuilder(scope, "SplitV").input(x).attr("sizes", sizes).attr("axis", axis).finish());
}

}  // namespace ops
}  // namespace sluice
