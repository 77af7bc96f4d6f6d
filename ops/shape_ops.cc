// Shape ops: reshape, expand_dims, squeeze, transpose, shape, size, fill, zeros/ones_like,
// broadcast_like, sum_to_like. Declaration, shape function, CPU kernel and gradient of each,
// side by side.
#include "shape_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "array_ops.h"
#include "array_util.h"
#include "reduction_ops.h"
#include "static_value.h"

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
// A transpose that, once dims of size 1 are dropped and input dims that stay neighbours are
// merged, swaps the last two of three dims: [batch, rows, cols] -> [batch, cols, rows] (batch
// 1 for a plain matrix). NCHW <-> NHWC are of this kind ([N, C, HW] <-> [N, HW, C]).
struct Batched2D {
  int64_t batch = 1, rows = 1, cols = 1;
};
bool as_batched_2d(const Shape& in, const Ints& perm, Batched2D& t) {
  Ints kept;  // perm without the dims of size 1
  for (int64_t p : perm)
    if (in.dim(static_cast<int>(p)) != 1) kept.push_back(p);
  // Runs of output dims whose input dims are consecutive, as [first input dim, size].
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (size_t i = 0; i < kept.size(); ++i) {
    const int64_t d = in.dim(static_cast<int>(kept[i]));
    if (i > 0 && kept[i] > kept[i - 1]) {
      bool adjacent = true;  // only dims of size 1 between them in the input
      for (int64_t q = kept[i - 1] + 1; q < kept[i]; ++q)
        adjacent = adjacent && in.dim(static_cast<int>(q)) == 1;
      if (adjacent) {
        runs.back().second *= d;
        continue;
      }
    }
    runs.push_back({kept[i], d});
  }
  if (runs.size() == 3 && runs[0].first < runs[2].first && runs[2].first < runs[1].first) {
    t = {runs[0].second, runs[2].second, runs[1].second};
    return true;
  }
  if (runs.size() == 2 && runs[1].first < runs[0].first) {
    t = {1, runs[1].second, runs[0].second};
    return true;
  }
  return false;
}
// One tile: d[j][i] = s[i][j] for i in [i0, i1), j in [j0, j1) of a rows x cols matrix. R
// (rows, when that is small and known) lets the compiler unroll a pixel's few channels.
template <int R, class E>
void transpose_tile(const E* s, E* d, int64_t rows, int64_t cols, int64_t i0, int64_t i1,
                    int64_t j0, int64_t j1) {
  if constexpr (R > 0) {
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t i = 0; i < R; ++i) d[j * R + i] = s[i * cols + j];
  } else {
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t i = i0; i < i1; ++i) d[j * rows + i] = s[i * cols + j];
  }
}
// dst[b][j][i] = src[b][i][j] in tiles of about 1024 values, so that both sides move whole
// cache lines: a tile's rows are read contiguously, its columns written contiguously, and
// the tile stays in L1 between the two. A matrix of 2-4 rows (an image's channels going
// last) takes one tile row with the channel loop unrolled.
template <class E>
void transpose_tiles(const E* src, E* dst, const Batched2D& t, ThreadPool& pool) {
  const int64_t tile_rows = std::min<int64_t>(t.rows, 32),
                tile_cols = std::max<int64_t>(32, 1024 / tile_rows);
  const int64_t col_tiles = (t.cols + tile_cols - 1) / tile_cols,
                row_tiles = (t.rows + tile_rows - 1) / tile_rows;
  const int64_t tiles_per_matrix = row_tiles * col_tiles;
  auto run = [&](auto small) {
    constexpr int R = decltype(small)::value;
    parallel_range(pool, t.batch * tiles_per_matrix, std::max<int64_t>(1, kElementwiseGrain / 1024),
                   [&](int64_t b, int64_t end) {
                     for (int64_t u = b; u < end; ++u) {
                       const int64_t m = u / tiles_per_matrix, within = u % tiles_per_matrix;
                       const int64_t i0 = within / col_tiles * tile_rows,
                                     j0 = within % col_tiles * tile_cols;
                       transpose_tile<R>(src + m * t.rows * t.cols, dst + m * t.rows * t.cols,
                                         t.rows, t.cols, i0, std::min(t.rows, i0 + tile_rows), j0,
                                         std::min(t.cols, j0 + tile_cols));
                     }
                   });
  };
  switch (t.rows) {
    case 2:
      return run(std::integral_constant<int, 2>());
    case 3:
      return run(std::integral_constant<int, 3>());
    case 4:
      return run(std::integral_constant<int, 4>());
    default:
      return run(std::integral_constant<int, 0>());
  }
}
// y = x with its dims permuted by perm (already checked).
void transpose_with(KernelContext& ctx, const Tensor& x, const Ints& perm) {
  const int r = x.rank();
  Ints od;
  for (int64_t p : perm) od.push_back(x.dim(static_cast<int>(p)));
  Tensor& y = ctx.allocate_output(0, Shape(od));
  if (y.num_elements() == 0) return;
  Batched2D tiles;
  if (as_batched_2d(x.shape(), perm, tiles)) {
    by_element_storage(x.dtype(), [&](auto e) {
      using E = decltype(e);
      transpose_tiles(static_cast<const E*>(x.raw_data()), static_cast<E*>(y.raw_data()), tiles,
                      ctx.pool());
    });
    return;
  }
  const Ints in_strides = row_major_strides(x.shape());
  Ints src_stride(r);  // input stride of each output dim
  for (int i = 0; i < r; ++i) src_stride[i] = in_strides[perm[i]];
  const int64_t inner = r ? od[r - 1] : 1;
  const int64_t inner_stride = r ? src_stride[r - 1] : 0;
  const int64_t rows = y.num_elements() / inner;
  by_element_storage(x.dtype(), [&](auto e) {
    using E = decltype(e);
    const E* src = static_cast<const E*>(x.raw_data());
    E* dst = static_cast<E*>(y.raw_data());
    parallel_range(ctx.pool(), rows, std::max<int64_t>(1, kElementwiseGrain / inner),
                   [&](int64_t b, int64_t end) {
                     // The first row's index by division, the next ones by counting
                     // (an odometer over the outer dims): a division per dim and row
                     // dominated short rows, e.g. NCHW -> NHWC with 3 channels.
                     Ints idx(static_cast<size_t>(std::max(r - 1, 0)));
                     int64_t rem = b, off = 0;
                     for (int i = r - 2; i >= 0; --i) {
                       idx[i] = rem % od[i];
                       off += idx[i] * src_stride[i];
                       rem /= od[i];
                     }
                     for (int64_t row = b; row < end; ++row) {
                       E* d = dst + row * inner;
                       for (int64_t j = 0; j < inner; ++j) d[j] = src[off + j * inner_stride];
                       for (int i = r - 2; i >= 0; --i) {
                         off += src_stride[i];
                         if (++idx[i] < od[i]) break;
                         off -= idx[i] * src_stride[i];
                         idx[i] = 0;
                       }
                     }
                   });
  });
}
void transpose_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  transpose_with(ctx, x, checked_perm(ctx.attr<Ints>("perm"), x.rank()));
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
  dispatch<SLUICE_REAL_TYPES>(x.dtype(), "SumToLike", [&](auto tag) {
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
// DynamicReshape: the target shape is a tensor (TensorFlow Reshape, ONNX Reshape)

// The requested dims with ONNX's "0 copies the input dim" applied.
Ints reshape_request(const Tensor& shape, const Shape& in, bool copy_zero) {
  Ints req = int_values(shape, "Reshape shape");
  SLUICE_REQUIRE(shape.rank() == 1, InvalidArgument, "Reshape shape must be a vector, got shape ",
                 shape.shape().to_string());
  if (copy_zero) {
    for (size_t i = 0; i < req.size(); ++i) {
      if (req[i] != 0) continue;
      SLUICE_REQUIRE(static_cast<int>(i) < in.rank(), InvalidArgument, "Reshape shape ",
                     ints_to_string(req), ": entry ", i,
                     " is 0 (copy the input dim) but the input ", in.to_string(), " has rank ",
                     in.rank());
      req[i] = in.dim(static_cast<int>(i));
    }
  }
  return req;
}

void dynamic_reshape_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 1, "Reshape shape");
  const Shape& in = ctx.input_shape(0);
  const Output& x = ctx.node().inputs[0];
  const bool copy_zero = ctx.attr<bool>("copy_zero_dims");
  const auto elems = static_int_vector(ctx.node().inputs[1]);
  if (!elems) {
    const int64_t n = static_length(ctx.node().inputs[1]);
    ctx.add_output(ctx.input_dtype(0), n < 0 ? Shape::unknown_rank() : Shape(Ints(n, -1)));
    return;
  }
  const int n = static_cast<int>(elems->size());
  Ints out(n, -1);
  int infer = -1;
  int64_t known_product = 1;
  bool other_unknown = false;  // an output dim nothing is known about
  std::vector<int> symbolic;   // output dims that are unknown dims of x itself
  for (int i = 0; i < n; ++i) {
    StaticElem e = (*elems)[i];
    if (e.known && e.value == 0 && copy_zero) {
      SLUICE_REQUIRE(!in.known_rank() || i < in.rank(), InvalidArgument, "Reshape shape entry ", i,
                     " is 0 (copy the input dim) but the input ", in.to_string(), " has rank ",
                     in.rank());
      e = StaticElem{};
      if (in.known_rank() && in.dim(i) >= 0) {
        e.known = true;
        e.value = in.dim(i);
      } else {
        e.of = x;
        e.dim = i;
      }
    }
    if (!e.known) {
      const bool of_x = e.of == x && in.known_rank() && in.dim(e.dim) < 0;
      if (of_x) {
        symbolic.push_back(e.dim);
      } else {
        other_unknown = true;
      }
      continue;
    }
    if (e.value == -1) {
      SLUICE_REQUIRE(infer < 0, InvalidArgument, "Reshape shape has more than one -1 (entries ",
                     infer, " and ", i, ")");
      infer = i;
      continue;
    }
    SLUICE_REQUIRE(e.value >= 0, InvalidArgument, "Reshape shape entry ", i, " is ", e.value,
                   " (only -1 may be negative)");
    out[i] = e.value;
    known_product = checked_mul(known_product, e.value, "reshape element count");
  }
  const bool all_known = symbolic.empty() && !other_unknown;
  if (all_known && in.is_fully_defined()) {
    ctx.add_output(ctx.input_dtype(0), resolve_reshape(out, in.num_elements(), in));
    return;
  }
  if (infer >= 0 && !other_unknown && in.known_rank() && known_product > 0) {
    // The unknown output dims are exactly x's unknown dims (Flatten's
    // reshape(x, [shape(x)[0], -1])): the -1 takes the product of x's known dims.
    Ints unknown_in;
    int64_t in_known = 1;
    for (int i = 0; i < in.rank(); ++i) {
      if (in.dim(i) < 0) {
        unknown_in.push_back(i);
      } else {
        in_known = checked_mul(in_known, in.dim(i), "reshape element count");
      }
    }
    Ints sym(symbolic.begin(), symbolic.end());
    std::sort(sym.begin(), sym.end());
    if (sym == unknown_in && in_known % known_product == 0) out[infer] = in_known / known_product;
  }
  ctx.add_output(ctx.input_dtype(0), Shape(out));
}
void dynamic_reshape_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Ints req = reshape_request(ctx.input(1), x.shape(), ctx.attr<bool>("copy_zero_dims"));
  ctx.set_output(0, x.reshaped(resolve_reshape(req, x.num_elements(), x.shape())));
}
Grads dynamic_reshape_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx reshape(x, shape) = g reshaped back to x's shape
  return {ops::reshape_like(s, g[0], op.input(0)), Output()};
}

// ---------------------------------------------------------------------------------------
// DynamicTranspose, InvertPermutation

void dynamic_transpose_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 1, "Transpose perm");
  const Shape& in = ctx.input_shape(0);
  const int64_t n = static_length(ctx.node().inputs[1]);
  SLUICE_REQUIRE(!in.known_rank() || n < 0 || n == in.rank(), InvalidArgument,
                 "Transpose perm of size ", n, " for a tensor of shape ", in.to_string());
  const auto perm = static_int_values(ctx.node().inputs[1]);
  if (!in.known_rank()) {
    ctx.add_output(ctx.input_dtype(0), n < 0 ? Shape::unknown_rank() : Shape(Ints(n, -1)));
    return;
  }
  if (!perm) {
    ctx.add_output(ctx.input_dtype(0), Shape(Ints(in.rank(), -1)));
    return;
  }
  Ints out;
  for (int64_t p : checked_perm(*perm, in.rank())) out.push_back(in.dim(static_cast<int>(p)));
  ctx.add_output(ctx.input_dtype(0), Shape(out));
}
void dynamic_transpose_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Ints perm = int_values(ctx.input(1), "Transpose perm");
  SLUICE_REQUIRE(static_cast<int>(perm.size()) == x.rank(), InvalidArgument, "Transpose perm ",
                 ints_to_string(perm), " for a tensor of shape ", x.shape().to_string());
  transpose_with(ctx, x, checked_perm(perm, x.rank()));
}
Grads dynamic_transpose_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx transpose(x, p) = transpose(g, inverse(p))
  return {ops::transpose(s, g[0], ops::invert_permutation(s, op.input(1))), Output()};
}

void invert_permutation_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 0, "InvertPermutation input");
  const Shape& in = ctx.input_shape(0);
  SLUICE_REQUIRE(!in.known_rank() || in.rank() == 1, InvalidArgument,
                 "InvertPermutation input must be a vector, got shape ", in.to_string());
  ctx.add_output(ctx.input_dtype(0), in.known_rank() ? in : Shape{-1});
}
void invert_permutation_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SLUICE_REQUIRE(x.rank() == 1, InvalidArgument,
                 "InvertPermutation input must be a vector, got shape ", x.shape().to_string());
  const Ints p = int_values(x, "InvertPermutation input");
  const int64_t n = static_cast<int64_t>(p.size());
  Ints inv(p.size(), -1);
  for (int64_t i = 0; i < n; ++i) {
    SLUICE_REQUIRE(p[i] >= 0 && p[i] < n && inv[p[i]] < 0, InvalidArgument,
                   "InvertPermutation input ", ints_to_string(p), " is not a permutation of 0..",
                   n - 1);
    inv[p[i]] = i;
  }
  Tensor& y = ctx.allocate_output(0, x.shape());
  for (int64_t i = 0; i < n; ++i) {
    if (y.dtype() == DType::i32) {
      y.data<int32_t>()[i] = static_cast<int32_t>(inv[i]);
    } else {
      y.data<int64_t>()[i] = inv[i];
    }
  }
}

// ---------------------------------------------------------------------------------------
// DynamicFill: dims and value are tensors (TensorFlow Fill, ONNX ConstantOfShape)

void dynamic_fill_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 0, "Fill dims");
  const Shape& v = ctx.input_shape(1);
  SLUICE_REQUIRE(!v.known_rank() || v.rank() == 0, InvalidArgument,
                 "Fill value must be a scalar, got shape ", v.to_string());
  const auto elems = static_int_vector(ctx.node().inputs[0]);
  if (!elems) {
    const int64_t n = static_length(ctx.node().inputs[0]);
    ctx.add_output(ctx.input_dtype(1), n < 0 ? Shape::unknown_rank() : Shape(Ints(n, -1)));
    return;
  }
  Ints dims;
  for (const StaticElem& e : *elems) {
    SLUICE_REQUIRE(!e.known || e.value >= 0, InvalidArgument, "Fill dims must be >= 0, got ",
                   e.value);
    dims.push_back(e.known ? e.value : -1);
  }
  const Shape out(dims);
  if (out.is_fully_defined()) (void)out.num_elements();  // overflow check at build time
  ctx.add_output(ctx.input_dtype(1), out);
}
void dynamic_fill_kernel(KernelContext& ctx) {
  const Tensor& dims_t = ctx.input(0);
  const Tensor& v = ctx.input(1);
  SLUICE_REQUIRE(dims_t.rank() == 1, InvalidArgument, "Fill dims must be a vector, got shape ",
                 dims_t.shape().to_string());
  SLUICE_REQUIRE(v.rank() == 0, InvalidArgument, "Fill value must be a scalar, got shape ",
                 v.shape().to_string());
  const Ints dims = int_values(dims_t, "Fill dims");
  for (int64_t d : dims)
    SLUICE_REQUIRE(d >= 0, InvalidArgument, "Fill dims ", ints_to_string(dims), " must be >= 0");
  Tensor& y = ctx.allocate_output(0, Shape(dims));
  by_element_size(v.dtype(), [&](auto e) {
    using E = decltype(e);
    E* dst = static_cast<E*>(y.raw_data());
    const E value = *static_cast<const E*>(v.raw_data());
    parallel_range(ctx.pool(), y.num_elements(), kElementwiseGrain,
                   [&](int64_t b, int64_t end) { std::fill(dst + b, dst + end, value); });
  });
}
Grads dynamic_fill_grad(const Scope& s, const Operation&, const Grads& g) {
  // d/dvalue fill(dims, value) = sum of g
  return {Output(), ops::sum(s, g[0])};
}

// ---------------------------------------------------------------------------------------
// Range

// Number of elements of range(start, limit, delta) under TensorFlow's rules (an error when
// delta points away from limit) or ONNX's (then empty).
template <class T>
int64_t range_size(T start, T limit, T delta, bool onnx) {
  SLUICE_REQUIRE(delta != T(0), InvalidArgument, "Requires delta != 0");
  if (!onnx) {
    SLUICE_REQUIRE(!(delta > 0 && start > limit), InvalidArgument,
                   "Requires start <= limit when delta > 0: ", +start, "/", +limit);
    SLUICE_REQUIRE(!(delta < 0 && start < limit), InvalidArgument,
                   "Requires start >= limit when delta < 0: ", +start, "/", +limit);
  }
  if ((delta > 0 && start >= limit) || (delta < 0 && start <= limit)) return 0;
  if constexpr (std::is_integral_v<T>) {
    // |limit - start| and |delta| in unsigned arithmetic: exact for any int64 values.
    const uint64_t span = delta > 0 ? static_cast<uint64_t>(limit) - static_cast<uint64_t>(start)
                                    : static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
    const uint64_t step =
        delta > 0 ? static_cast<uint64_t>(delta) : 0 - static_cast<uint64_t>(delta);
    const uint64_t n = span / step + (span % step != 0 ? 1 : 0);
    SLUICE_REQUIRE(n <= (uint64_t{1} << 62), InvalidArgument, "Range of ", n,
                   " elements is too large");
    return static_cast<int64_t>(n);
  } else {
    const double n = std::ceil(std::abs((static_cast<double>(limit) - static_cast<double>(start)) /
                                        static_cast<double>(delta)));
    SLUICE_REQUIRE(n == n && n <= static_cast<double>(int64_t{1} << 62), InvalidArgument,
                   "Requires ((limit - start) / delta) to be a finite size, got ", +start, ", ",
                   +limit, ", ", +delta);
    return static_cast<int64_t>(n);
  }
}

void range_shape(ShapeContext& ctx) {
  for (int i = 0; i < 3; ++i) {
    const Shape& s = ctx.input_shape(i);
    SLUICE_REQUIRE(!s.is_fully_defined() || (s.rank() <= 1 && s.num_elements() == 1),
                   InvalidArgument, "Range ",
                   i == 0   ? "start"
                   : i == 1 ? "limit"
                            : "delta",
                   " must be a scalar, got shape ", s.to_string());
  }
  require_same_dtype(ctx, 0, 1);
  require_same_dtype(ctx, 0, 2);
  int64_t n = -1;
  const Tensor* a = ctx.input_constant(0);
  const Tensor* b = ctx.input_constant(1);
  const Tensor* c = ctx.input_constant(2);
  dispatch<float, double, int32_t, int64_t>(ctx.input_dtype(0), "Range", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (a && b && c && a->num_elements() == 1 && b->num_elements() == 1 && c->num_elements() == 1)
      n = range_size<T>(a->data<T>()[0], b->data<T>()[0], c->data<T>()[0], ctx.attr<bool>("onnx"));
  });
  ctx.add_output(ctx.input_dtype(0), Shape{n});
}
void range_kernel(KernelContext& ctx) {
  for (int i = 0; i < 3; ++i)
    SLUICE_REQUIRE(ctx.input(i).num_elements() == 1 && ctx.input(i).rank() <= 1, InvalidArgument,
                   "Range ",
                   i == 0   ? "start"
                   : i == 1 ? "limit"
                            : "delta",
                   " must be a scalar, got shape ", ctx.input(i).shape().to_string());
  const bool onnx = ctx.attr<bool>("onnx");
  dispatch<float, double, int32_t, int64_t>(ctx.input(0).dtype(), "Range", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T start = ctx.input(0).data<T>()[0], delta = ctx.input(2).data<T>()[0];
    const int64_t n = range_size<T>(start, ctx.input(1).data<T>()[0], delta, onnx);
    T* y = ctx.allocate_output(0, Shape{n}).template data<T>();
    if constexpr (std::is_integral_v<T>) {
      // start + i * delta in wrapping unsigned arithmetic: every result lies in [start, limit).
      using U = std::make_unsigned_t<T>;
      for (int64_t i = 0; i < n; ++i)
        y[i] = static_cast<T>(static_cast<U>(start) + static_cast<U>(i) * static_cast<U>(delta));
    } else if (onnx) {
      for (int64_t i = 0; i < n; ++i) y[i] = start + static_cast<T>(i) * delta;  // ONNX's formula
    } else {
      T v = start;  // TensorFlow accumulates, and rounds accordingly
      for (int64_t i = 0; i < n; ++i, v += delta) y[i] = v;
    }
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Registration

void register_shape_ops(OpRegistry& r) {
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
  r.op("DynamicReshape")
      .input("tensor")
      .input("shape")
      .output("output")
      .attr("copy_zero_dims", false)
      .shape_fn(dynamic_reshape_shape)
      .kernel(dynamic_reshape_kernel)
      .gradient(dynamic_reshape_grad)
      .supports_strings();
  r.op("DynamicTranspose")
      .input("x")
      .input("perm")
      .output("y")
      .shape_fn(dynamic_transpose_shape)
      .kernel(dynamic_transpose_kernel)
      .gradient(dynamic_transpose_grad)
      .supports_strings();
  r.op("InvertPermutation")
      .input("x")
      .output("y")
      .shape_fn(invert_permutation_shape)
      .kernel(invert_permutation_kernel)
      .not_differentiable();
  r.op("DynamicFill")
      .input("dims")
      .input("value")
      .output("output")
      .shape_fn(dynamic_fill_shape)
      .kernel(dynamic_fill_kernel)
      .gradient(dynamic_fill_grad);
  r.op("Range")
      .input("start")
      .input("limit")
      .input("delta")
      .output("output")
      .attr("onnx", false)
      .shape_fn(range_shape)
      .kernel(range_kernel)
      .not_differentiable();
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

Output reshape(const Scope& scope, const Output& x, std::initializer_list<int64_t> shape) {
  return reshape(scope, x, std::vector<int64_t>(shape));
}

Output reshape(const Scope& scope, const Output& x, const Output& shape, bool copy_zero_dims) {
  return NodeBuilder(scope, "DynamicReshape")
      .input(x)
      .input(shape)
      .attr("copy_zero_dims", copy_zero_dims)
      .finish()
      .output(0);
}

Output transpose(const Scope& scope, const Output& x, std::initializer_list<int64_t> perm) {
  return transpose(scope, x, std::vector<int64_t>(perm));
}

Output transpose(const Scope& scope, const Output& x, const Output& perm) {
  return NodeBuilder(scope, "DynamicTranspose").input(x).input(perm).finish().output(0);
}

Output invert_permutation(const Scope& scope, const Output& perm) {
  return NodeBuilder(scope, "InvertPermutation").input(perm).finish().output(0);
}

Output fill(const Scope& scope, const Output& dims, const Output& value) {
  return NodeBuilder(scope, "DynamicFill").input(dims).input(value).finish().output(0);
}

Output range(const Scope& scope, const Output& start, const Output& limit, const Output& delta,
             bool onnx) {
  return NodeBuilder(scope, "Range")
      .input(start)
      .input(limit)
      .input(delta)
      .attr("onnx", onnx)
      .finish()
      .output(0);
}

}  // namespace ops
}  // namespace sluice
