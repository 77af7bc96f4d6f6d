// Indexing ops: GatherNd, ScatterNd, TensorScatterNd, GatherElements, ScatterElements,
// DynamicOneHot and NonZero. Indices are validated in one sequential pass before any
// copying (an error names the offending index); the copies are then split over the pool.
// Scatters apply their updates in index order, so duplicates resolve deterministically.
#include "index_ops.h"

#include <algorithm>
#include <cmath>

#include "array_ops.h"
#include "array_util.h"
#include "elementwise.h"
#include "static_value.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

// ---------------------------------------------------------------------------------------
// Shared: reductions of scatters, index tuples of the ND ops

enum class Reduction { none, add, mul, max, min };

// A scatter's reduction; anything but "none" needs a numeric dtype.
void require_reduction_dtype(const ShapeContext& ctx, DType dtype) {
  const std::string& r = ctx.attr<std::string>("reduction");
  SLUICE_REQUIRE(r == "none" || (dtype != DType::boolean && dtype != DType::string),
                 InvalidArgument, "reduction '", r, "' needs a numeric dtype, got ",
                 dtype_name(dtype));
}

Reduction reduction_of(const std::string& name) {
  if (name == "none") return Reduction::none;
  if (name == "add") return Reduction::add;
  if (name == "mul") return Reduction::mul;
  if (name == "max") return Reduction::max;
  if (name == "min") return Reduction::min;
  throw InvalidArgument("reduction must be none, add, mul, max or min, got '" + name + "'");
}

// dst[i] = dst[i] (op) src[i] for n elements.
template <class T>
void apply(Reduction r, T* dst, const T* src, int64_t n) {
  switch (r) {
    case Reduction::none:
      std::copy(src, src + n, dst);
      break;
    case Reduction::add:  // integers wrap, as TensorFlow's (signed overflow is UB in C++)
      for (int64_t i = 0; i < n; ++i) dst[i] = wrapping_add(dst[i], src[i]);
      break;
    case Reduction::mul:
      for (int64_t i = 0; i < n; ++i) dst[i] = wrapping_mul(dst[i], src[i]);
      break;
    // NaN on either side wins (as TF's maximum and NumPy's): std::max(dst, NaN) would keep
    // dst. A NaN dst stays, since every comparison with it is false. (x != x is false for
    // integers.)
    case Reduction::max:
      for (int64_t i = 0; i < n; ++i) {
        if (src[i] > dst[i] || src[i] != src[i]) dst[i] = src[i];
      }
      break;
    case Reduction::min:
      for (int64_t i = 0; i < n; ++i) {
        if (src[i] < dst[i] || src[i] != src[i]) dst[i] = src[i];
      }
      break;
  }
}

// Runs f(T) for the element type: any dtype (by size) for "none", numeric otherwise.
template <class F>
void by_reduction_type(Reduction r, DType dtype, const char* what, F&& f) {
  if (r == Reduction::none) {
    by_element_size(dtype, f);
  } else {
    dispatch<SLUICE_REAL_TYPES>(dtype, what,
                                   [&](auto tag) { f(typename decltype(tag)::type{}); });
  }
}

// The ND ops' view of a target/source tensor of shape `data` (dims [B.., P_0..P_{K-1}, S..])
// addressed by index tuples of `indices` ([B.., M.., K]).
struct NdPlan {
  int64_t slice = 1;         // elements per addressed slice (prod S)
  int64_t count = 0;         // tuples, batches major
  int64_t per_batch = 0;     // tuples per batch
  int64_t batch_stride = 0;  // elements of data per batch
  Ints offsets;              // per tuple: element offset of its slice in data (empty when K = 0)

  int64_t offset(int64_t t) const {
    return offsets.empty() ? t / per_batch * batch_stride : offsets[t];
  }
};

NdPlan nd_plan(const Shape& data, const Tensor& indices, int64_t b) {
  const int q = indices.rank();
  SLUICE_REQUIRE(q >= 1, InvalidArgument, "indices must have rank >= 1, got shape ",
                 indices.shape().to_string());
  const int64_t k = indices.dim(q - 1);
  SLUICE_REQUIRE(b >= 0 && b < q && b + k <= data.rank(), InvalidArgument, "indices of shape ",
                 indices.shape().to_string(), " with batch_dims ", b,
                 " cannot index a tensor of shape ", data.to_string());
  for (int i = 0; i < b; ++i)
    SLUICE_REQUIRE(indices.dim(i) == data.dim(i), InvalidArgument, "batch dim ", i,
                   " differs: indices ", indices.shape().to_string(), ", data ", data.to_string());
  NdPlan p;
  const int bd = static_cast<int>(b), kd = static_cast<int>(k);
  p.slice = dims_product(data, bd + kd, data.rank());
  p.batch_stride = dims_product(data, bd, data.rank());
  p.per_batch = dims_product(indices.shape(), bd, q - 1);
  p.count = dims_product(indices.shape(), 0, q - 1);
  // Tuples of length 0 (K = 0) address whole batches: no per-tuple offsets (their count is
  // not bounded by the indices' size). Otherwise count * K elements of indices exist.
  if (k == 0) return p;
  Ints stride(kd);
  for (int j = 0; j < kd; ++j) stride[j] = dims_product(data, bd + j + 1, data.rank());
  p.offsets.resize(static_cast<size_t>(p.count));
  for (int64_t tuple = 0; tuple < p.count; ++tuple) {
    int64_t off = tuple / p.per_batch * p.batch_stride;
    for (int j = 0; j < kd; ++j) {
      const int64_t n = data.dim(bd + j);
      int64_t v = index_at(indices, tuple * k + j);
      if (v < 0) v += n;
      if (v < 0 || v >= n) {
        Ints tup;
        for (int jj = 0; jj < kd; ++jj) tup.push_back(index_at(indices, tuple * k + jj));
        throw InvalidArgument(detail::str_cat("index tuple ", tuple, " = ", ints_to_string(tup),
                                              " does not index into shape ", data.to_string(),
                                              " (batch_dims ", b, ")"));
      }
      off += v * stride[j];
    }
    p.offsets[tuple] = off;
  }
  return p;
}

// indices.shape[:-1] + data.shape[b + K:] (static; unknown parts stay unknown).
Shape nd_result_shape(const Shape& data, const Shape& indices, int64_t b) {
  if (!indices.known_rank()) return Shape::unknown_rank();
  SLUICE_REQUIRE(indices.rank() >= 1, InvalidArgument, "indices must have rank >= 1, got shape ",
                 indices.to_string());
  SLUICE_REQUIRE(b >= 0 && b < indices.rank(), InvalidArgument, "batch_dims ", b,
                 " must be in [0, ", indices.rank(), ") for indices of shape ",
                 indices.to_string());
  const int64_t k = indices.dim(-1);
  if (!data.known_rank() || k < 0) return Shape::unknown_rank();
  SLUICE_REQUIRE(b + k <= data.rank(), InvalidArgument, "index tuples of length ", k,
                 " (batch_dims ", b, ") cannot index a tensor of shape ", data.to_string());
  Ints out;
  for (int i = 0; i < indices.rank() - 1; ++i) out.push_back(indices.dim(i));
  for (int i = static_cast<int>(b + k); i < data.rank(); ++i) out.push_back(data.dim(i));
  return Shape(out);
}

// Applies updates slice by slice at the plan's offsets, in tuple order. Threads split the
// slice elements, so every element sees its updates in the same order.
void scatter_slices(ThreadPool& pool, Reduction r, const NdPlan& p, const Tensor& updates,
                    Tensor& out) {
  SLUICE_REQUIRE(updates.num_elements() == p.count * p.slice, InvalidArgument, "updates of shape ",
                 updates.shape().to_string(), " for ", p.count, " slices of ", p.slice,
                 " elements");
  if (updates.num_elements() == 0) return;
  by_reduction_type(r, out.dtype(), "scatter", [&](auto e) {
    using T = decltype(e);
    T* dst = static_cast<T*>(out.raw_data());
    const T* src = static_cast<const T*>(updates.raw_data());
    const int64_t n = p.count;
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, n));
    parallel_range(pool, p.slice, grain, [&](int64_t b, int64_t end) {
      for (int64_t t = 0; t < n; ++t)
        apply<T>(r, dst + p.offset(t) + b, src + t * p.slice + b, end - b);
    });
  });
}

// ---------------------------------------------------------------------------------------
// GatherNd

void gather_nd_shape(ShapeContext& ctx) {
  require_index_dtype(ctx, 1);
  ctx.add_output(ctx.input_dtype(0), nd_result_shape(ctx.input_shape(0), ctx.input_shape(1),
                                                     ctx.attr_int("batch_dims")));
}
void gather_nd_kernel(KernelContext& ctx) {
  const Tensor& params = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const int64_t b = ctx.attr_int("batch_dims");
  const NdPlan p = nd_plan(params.shape(), idx, b);
  Tensor& y = ctx.allocate_output(0, nd_result_shape(params.shape(), idx.shape(), b));
  if (y.num_elements() == 0) return;
  const size_t row = static_cast<size_t>(p.slice) * dtype_size(params.dtype());
  const char* src = static_cast<const char*>(params.raw_data());
  char* dst = static_cast<char*>(y.raw_data());
  const int64_t n = p.count;
  const size_t esize = dtype_size(params.dtype());
  parallel_range(ctx.pool(), n,
                 std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, p.slice)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t t = begin; t < end; ++t)
                     copy_bytes(dst + t * row, src + p.offset(t) * esize, row);
                 });
}
Grads gather_nd_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dparams gather_nd(params, idx) = scatter-add of g at idx into zeros shaped like params
  Output dp = NodeBuilder(s, "ScatterNd")
                  .input(op.input(1))
                  .input(g[0])
                  .input(ops::shape(s, op.input(0)))
                  .attr("batch_dims", op.node()->attr_int("batch_dims"))
                  .finish()
                  .output(0);
  return {dp, Output()};
}

// ---------------------------------------------------------------------------------------
// ScatterNd (into zeros, duplicates summed)

void scatter_nd_shape(ShapeContext& ctx) {
  require_index_dtype(ctx, 0);
  require_int_vector_input(ctx, 2, "ScatterNd shape");
  const auto elems = static_int_vector(ctx.node().inputs[2]);
  Shape out = Shape::unknown_rank();
  if (elems) {
    Ints dims;
    for (const StaticElem& e : *elems) {
      SLUICE_REQUIRE(!e.known || e.value >= 0, InvalidArgument,
                     "ScatterNd shape entries must be >= 0, got ", e.value);
      dims.push_back(e.known ? e.value : -1);
    }
    out = Shape(dims);
  }
  const Shape want = nd_result_shape(out, ctx.input_shape(0), ctx.attr_int("batch_dims"));
  SLUICE_REQUIRE(want.compatible_with(ctx.input_shape(1)), InvalidArgument,
                 "ScatterNd updates of shape ", ctx.input_shape(1).to_string(), " for indices ",
                 ctx.input_shape(0).to_string(), " into ", out.to_string(), " (expected ",
                 want.to_string(), ")");
  ctx.add_output(ctx.input_dtype(1), out);
}
void scatter_nd_kernel(KernelContext& ctx) {
  const Tensor& idx = ctx.input(0);
  const Tensor& upd = ctx.input(1);
  SLUICE_REQUIRE(ctx.input(2).rank() == 1, InvalidArgument, "ScatterNd shape must be a vector");
  const Ints dims = int_values(ctx.input(2), "ScatterNd shape");
  for (int64_t d : dims)
    SLUICE_REQUIRE(d >= 0, InvalidArgument, "ScatterNd shape ", ints_to_string(dims),
                   " must be >= 0");
  const Shape shape(dims);
  const int64_t b = ctx.attr_int("batch_dims");
  const Shape want = nd_result_shape(shape, idx.shape(), b);
  SLUICE_REQUIRE(want == upd.shape(), InvalidArgument, "ScatterNd updates of shape ",
                 upd.shape().to_string(), " for indices ", idx.shape().to_string(), " into ",
                 shape.to_string(), " (expected ", want.to_string(), ")");
  const NdPlan p = nd_plan(shape, idx, b);
  Tensor& y = ctx.allocate_output(0, shape);
  if (y.num_bytes()) std::memset(y.raw_data(), 0, y.num_bytes());
  scatter_slices(ctx.pool(), Reduction::add, p, upd, y);
}
Grads scatter_nd_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dupdates scatter_nd(idx, updates) = gather_nd(g, idx)
  return {Output(), ops::gather_nd(s, g[0], op.input(0), op.node()->attr_int("batch_dims")),
          Output()};
}

// ---------------------------------------------------------------------------------------
// TensorScatterNd (ONNX ScatterND)

void tensor_scatter_nd_shape(ShapeContext& ctx) {
  (void)reduction_of(ctx.attr<std::string>("reduction"));
  require_reduction_dtype(ctx, ctx.input_dtype(0));
  require_index_dtype(ctx, 1);
  require_same_dtype(ctx, 0, 2);
  const Shape want = nd_result_shape(ctx.input_shape(0), ctx.input_shape(1), 0);
  SLUICE_REQUIRE(want.compatible_with(ctx.input_shape(2)), InvalidArgument,
                 "ScatterND updates of shape ", ctx.input_shape(2).to_string(), " for indices ",
                 ctx.input_shape(1).to_string(), " into ", ctx.input_shape(0).to_string(),
                 " (expected ", want.to_string(), ")");
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(0));
}
void tensor_scatter_nd_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  const Shape want = nd_result_shape(data.shape(), idx.shape(), 0);
  SLUICE_REQUIRE(want == upd.shape(), InvalidArgument, "ScatterND updates of shape ",
                 upd.shape().to_string(), " for indices ", idx.shape().to_string(), " into ",
                 data.shape().to_string(), " (expected ", want.to_string(), ")");
  const NdPlan p = nd_plan(data.shape(), idx, 0);
  Tensor& y = ctx.forward_or_allocate(0, 0, data.shape());
  if (!y.shares_buffer_with(data)) copy_bytes(y.raw_data(), data.raw_data(), data.num_bytes());
  scatter_slices(ctx.pool(), reduction_of(ctx.attr<std::string>("reduction")), p, upd, y);
}
Grads tensor_scatter_nd_grad(const Scope& s, const Operation& op, const Grads& g) {
  // none: d/ddata = g with the overwritten slices zeroed, d/dupdates = gather_nd(g, idx);
  // add:  d/ddata = g, d/dupdates = gather_nd(g, idx)
  const std::string& r = op.node()->attr<std::string>("reduction");
  SLUICE_REQUIRE(r == "none" || r == "add", Unimplemented,
                 "no gradient for ScatterND with reduction '", r, "'");
  Output dupd = ops::gather_nd(s, g[0], op.input(1));
  Output ddata =
      r == "add" ? g[0]
                 : ops::tensor_scatter_nd(s, g[0], op.input(1), ops::zeros_like(s, op.input(2)));
  return {ddata, Output(), dupd};
}

// ---------------------------------------------------------------------------------------
// GatherElements, ScatterElements

// Offsets into data of each element of indices (same rank) along axis; validates indices.
Ints element_offsets(const Shape& data, const Tensor& idx, int axis) {
  SLUICE_REQUIRE(idx.rank() == data.rank(), InvalidArgument, "indices of shape ",
                 idx.shape().to_string(), " must have the rank of data ", data.to_string());
  for (int d = 0; d < data.rank(); ++d)
    SLUICE_REQUIRE(d == axis || idx.dim(d) <= data.dim(d), InvalidArgument, "indices of shape ",
                   idx.shape().to_string(), " exceed data ", data.to_string(), " in dim ", d);
  const Ints ds = row_major_strides(data);
  const Ints is = row_major_strides(idx.shape());
  const int64_t n = data.dim(axis), count = idx.num_elements();
  Ints off(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    int64_t v = index_at(idx, i);
    SLUICE_REQUIRE(v >= -n && v < n, InvalidArgument, "indices element ", i, " = ", v,
                   " is not in [", -n, ", ", n, ") for axis ", axis, " of data ", data.to_string());
    if (v < 0) v += n;
    int64_t o = 0, rem = i;
    for (int d = 0; d < data.rank(); ++d) {
      const int64_t c = rem / is[d];
      rem %= is[d];
      o += (d == axis ? v : c) * ds[d];
    }
    off[i] = o;
  }
  return off;
}

void gather_elements_shape(ShapeContext& ctx) {
  require_index_dtype(ctx, 1);
  const Shape& d = ctx.input_shape(0);
  const Shape& i = ctx.input_shape(1);
  SLUICE_REQUIRE(!d.known_rank() || d.rank() >= 1, InvalidArgument, "data must have rank >= 1");
  if (d.known_rank()) (void)normalize_axis(ctx.attr_int("axis"), d.rank(), "GatherElements axis");
  SLUICE_REQUIRE(!d.known_rank() || !i.known_rank() || d.rank() == i.rank(), InvalidArgument,
                 "indices of shape ", i.to_string(), " must have the rank of data ", d.to_string());
  ctx.add_output(ctx.input_dtype(0), i);
}
void gather_elements_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  SLUICE_REQUIRE(data.rank() >= 1, InvalidArgument, "data must have rank >= 1");
  const int axis = normalize_axis(ctx.attr_int("axis"), data.rank(), "GatherElements axis");
  const Ints off = element_offsets(data.shape(), idx, axis);
  Tensor& y = ctx.allocate_output(0, idx.shape());
  by_element_size(data.dtype(), [&](auto e) {
    using E = decltype(e);
    const E* src = static_cast<const E*>(data.raw_data());
    E* dst = static_cast<E*>(y.raw_data());
    parallel_range(ctx.pool(), static_cast<int64_t>(off.size()), kElementwiseGrain,
                   [&](int64_t b, int64_t end) {
                     for (int64_t i = b; i < end; ++i) dst[i] = src[off[i]];
                   });
  });
}
Grads gather_elements_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/ddata gather_elements(data, idx) = scatter-add of g at idx into zeros shaped like data
  const int64_t axis = op.node()->attr_int("axis");
  return {ops::scatter_elements(s, ops::zeros_like(s, op.input(0)), op.input(1), g[0], axis, "add"),
          Output()};
}

void scatter_elements_shape(ShapeContext& ctx) {
  (void)reduction_of(ctx.attr<std::string>("reduction"));
  require_reduction_dtype(ctx, ctx.input_dtype(0));
  require_index_dtype(ctx, 1);
  require_same_dtype(ctx, 0, 2);
  const Shape& d = ctx.input_shape(0);
  SLUICE_REQUIRE(!d.known_rank() || d.rank() >= 1, InvalidArgument, "data must have rank >= 1");
  if (d.known_rank()) (void)normalize_axis(ctx.attr_int("axis"), d.rank(), "ScatterElements axis");
  SLUICE_REQUIRE(ctx.input_shape(1).compatible_with(ctx.input_shape(2)), InvalidArgument,
                 "updates of shape ", ctx.input_shape(2).to_string(),
                 " must have the shape of indices ", ctx.input_shape(1).to_string());
  ctx.add_output(ctx.input_dtype(0), d);
}
void scatter_elements_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  SLUICE_REQUIRE(data.rank() >= 1, InvalidArgument, "data must have rank >= 1");
  SLUICE_REQUIRE(idx.shape() == upd.shape(), InvalidArgument, "updates of shape ",
                 upd.shape().to_string(), " must have the shape of indices ",
                 idx.shape().to_string());
  const int axis = normalize_axis(ctx.attr_int("axis"), data.rank(), "ScatterElements axis");
  const Ints off = element_offsets(data.shape(), idx, axis);
  const Reduction r = reduction_of(ctx.attr<std::string>("reduction"));
  Tensor& y = ctx.forward_or_allocate(0, 0, data.shape());
  if (!y.shares_buffer_with(data)) copy_bytes(y.raw_data(), data.raw_data(), data.num_bytes());
  by_reduction_type(r, data.dtype(), "ScatterElements", [&](auto e) {
    using T = decltype(e);
    T* dst = static_cast<T*>(y.raw_data());
    const T* src = static_cast<const T*>(upd.raw_data());
    // Updates may collide: applied sequentially, in order.
    for (size_t i = 0; i < off.size(); ++i) apply<T>(r, dst + off[i], src + i, 1);
  });
}
Grads scatter_elements_grad(const Scope& s, const Operation& op, const Grads& g) {
  // none: d/ddata = g with written positions zeroed, d/dupdates = gather_elements(g, idx);
  // add:  d/ddata = g, d/dupdates = gather_elements(g, idx)
  const std::string& r = op.node()->attr<std::string>("reduction");
  SLUICE_REQUIRE(r == "none" || r == "add", Unimplemented,
                 "no gradient for ScatterElements with reduction '", r, "'");
  const int64_t axis = op.node()->attr_int("axis");
  Output dupd = ops::gather_elements(s, g[0], op.input(1), axis);
  Output ddata = r == "add" ? g[0]
                            : ops::scatter_elements(s, g[0], op.input(1),
                                                    ops::zeros_like(s, op.input(2)), axis);
  return {ddata, Output(), dupd};
}

// ---------------------------------------------------------------------------------------
// DynamicOneHot, NonZero

// Element i of a numeric tensor as an index; non-integral floats truncate, NaN and huge
// values become an index no depth contains.
int64_t numeric_index(const Tensor& t, int64_t i) {
  int64_t v = 0;
  dispatch<SLUICE_REAL_TYPES>(t.dtype(), "OneHot indices", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T x = t.data<T>()[i];
    if constexpr (std::is_floating_point_v<T>) {
      v = std::fabs(x) < 9.0e15 ? static_cast<int64_t>(x) : std::numeric_limits<int64_t>::min();
    } else {
      v = static_cast<int64_t>(x);
    }
  });
  return v;
}

int64_t one_hot_depth(const Tensor& d) {
  SLUICE_REQUIRE(d.num_elements() == 1 && d.rank() <= 1, InvalidArgument,
                 "OneHot depth must be a scalar, got shape ", d.shape().to_string());
  const int64_t depth = numeric_index(d, 0);
  SLUICE_REQUIRE(depth >= 0 && depth <= (int64_t{1} << 40), InvalidArgument,
                 "OneHot depth must be >= 0, got ", d.as_double(0));
  return depth;
}

Shape one_hot_shape_of(const Shape& in, int64_t depth, int64_t axis) {
  if (!in.known_rank()) return in;
  const int a = normalize_axis(axis, in.rank() + 1, "OneHot axis");
  Ints d = in.dims();
  d.insert(d.begin() + a, depth);
  return Shape(d);
}

void dynamic_one_hot_shape(ShapeContext& ctx) {
  const DType it = ctx.input_dtype(0);
  SLUICE_REQUIRE(it != DType::boolean && it != DType::string, InvalidArgument,
                 "OneHot indices must be numeric, got ", dtype_name(it));
  require_same_dtype(ctx, 2, 3);
  int64_t depth = -1;
  if (const Tensor* d = ctx.input_constant(1)) depth = one_hot_depth(*d);
  ctx.add_output(ctx.input_dtype(2),
                 one_hot_shape_of(ctx.input_shape(0), depth, ctx.attr_int("axis")));
}
void dynamic_one_hot_kernel(KernelContext& ctx) {
  const Tensor& idx = ctx.input(0);
  const Tensor& on = ctx.input(2);
  const Tensor& off = ctx.input(3);
  SLUICE_REQUIRE(on.num_elements() == 1 && off.num_elements() == 1, InvalidArgument,
                 "OneHot on_value and off_value must be scalars, got shapes ",
                 on.shape().to_string(), " and ", off.shape().to_string());
  const int64_t depth = one_hot_depth(ctx.input(1));
  const int64_t axis = ctx.attr_int("axis");
  const bool wrap = ctx.attr<bool>("wrap_negative");
  Tensor& y = ctx.allocate_output(0, one_hot_shape_of(idx.shape(), depth, axis));
  const int a = normalize_axis(axis, idx.rank() + 1, "OneHot axis");
  const int64_t inner = dims_product(idx.shape(), a, idx.rank());
  by_element_size(y.dtype(), [&](auto e) {
    using E = decltype(e);
    E* dst = static_cast<E*>(y.raw_data());
    const E onv = *static_cast<const E*>(on.raw_data()),
            offv = *static_cast<const E*>(off.raw_data());
    parallel_range(ctx.pool(), y.num_elements(), kElementwiseGrain,
                   [&](int64_t b, int64_t end) { std::fill(dst + b, dst + end, offv); });
    for (int64_t i = 0; i < idx.num_elements(); ++i) {
      int64_t v = numeric_index(idx, i);
      if (wrap && v < 0 && v >= -depth) v += depth;
      if (v < 0 || v >= depth) continue;
      // Index i = (outer o, inner j) lands at (o, v, j) of [outer, depth, inner].
      const int64_t o = i / inner, j = i % inner;
      dst[(o * depth + v) * inner + j] = onv;
    }
  });
}

void non_zero_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  ctx.add_output(DType::i64, Shape{in.known_rank() ? std::max(in.rank(), 1) : -1, -1});
}
void non_zero_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int r = std::max(x.rank(), 1);
  const Ints strides = x.rank() ? row_major_strides(x.shape()) : Ints{1};
  Ints hits;
  dispatch<SLUICE_ALL_TYPES>(x.dtype(), "NonZero", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = x.data<T>();
    for (int64_t i = 0; i < x.num_elements(); ++i)
      if (p[i] != T(0)) hits.push_back(i);
  });
  const int64_t n = static_cast<int64_t>(hits.size());
  int64_t* y = ctx.allocate_output(0, Shape{r, n}).data<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    int64_t rem = hits[k];
    for (int d = 0; d < r; ++d) {
      y[d * n + k] = rem / strides[d];
      rem %= strides[d];
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Registration

void register_index_ops(OpRegistry& r) {
  r.op("GatherNd")
      .input("params")
      .input("indices")
      .output("output")
      .attr("batch_dims", 0)
      .shape_fn(gather_nd_shape)
      .kernel(gather_nd_kernel)
      .gradient(gather_nd_grad);
  r.op("ScatterNd")
      .input("indices")
      .input("updates")
      .input("shape")
      .output("output")
      .attr("batch_dims", 0)
      .shape_fn(scatter_nd_shape)
      .kernel(scatter_nd_kernel)
      .gradient(scatter_nd_grad);
  r.op("TensorScatterNd")
      .input("data")
      .input("indices")
      .input("updates")
      .output("output")
      .attr("reduction", "none")
      .shape_fn(tensor_scatter_nd_shape)
      .kernel(tensor_scatter_nd_kernel)
      .gradient(tensor_scatter_nd_grad);
  r.op("GatherElements")
      .input("data")
      .input("indices")
      .output("output")
      .attr("axis", 0)
      .shape_fn(gather_elements_shape)
      .kernel(gather_elements_kernel)
      .gradient(gather_elements_grad);
  r.op("ScatterElements")
      .input("data")
      .input("indices")
      .input("updates")
      .output("output")
      .attr("axis", 0)
      .attr("reduction", "none")
      .shape_fn(scatter_elements_shape)
      .kernel(scatter_elements_kernel)
      .gradient(scatter_elements_grad);
  r.op("DynamicOneHot")
      .input("indices")
      .input("depth")
      .input("on_value")
      .input("off_value")
      .output("output")
      .attr("axis", -1)
      .attr("wrap_negative", false)
      .shape_fn(dynamic_one_hot_shape)
      .kernel(dynamic_one_hot_kernel)
      .not_differentiable();
  r.op("NonZero")
      .input("input")
      .output("indices")
      .shape_fn(non_zero_shape)
      .kernel(non_zero_kernel)
      .not_differentiable();
}

// ---------------------------------------------------------------------------------------
// Builders

namespace ops {

Output gather_nd(const Scope& scope, const Output& params, const Output& indices,
                 int64_t batch_dims) {
  return NodeBuilder(scope, "GatherNd")
      .input(params)
      .input(indices)
      .attr("batch_dims", batch_dims)
      .finish()
      .output(0);
}

Output scatter_nd(const Scope& scope, const Output& indices, const Output& updates,
                  const Output& shape) {
  return NodeBuilder(scope, "ScatterNd")
      .input(indices)
      .input(updates)
      .input(shape)
      .finish()
      .output(0);
}

Output tensor_scatter_nd(const Scope& scope, const Output& data, const Output& indices,
                         const Output& updates, const std::string& reduction) {
  return NodeBuilder(scope, "TensorScatterNd")
      .input(data)
      .input(indices)
      .input(updates)
      .attr("reduction", reduction)
      .finish()
      .output(0);
}

Output gather_elements(const Scope& scope, const Output& data, const Output& indices,
                       int64_t axis) {
  return NodeBuilder(scope, "GatherElements")
      .input(data)
      .input(indices)
      .attr("axis", axis)
      .finish()
      .output(0);
}

Output scatter_elements(const Scope& scope, const Output& data, const Output& indices,
                        const Output& updates, int64_t axis, const std::string& reduction) {
  return NodeBuilder(scope, "ScatterElements")
      .input(data)
      .input(indices)
      .input(updates)
      .attr("axis", axis)
      .attr("reduction", reduction)
      .finish()
      .output(0);
}

Output one_hot(const Scope& scope, const Output& indices, const Output& depth,
               const Output& on_value, const Output& off_value, int64_t axis, bool wrap_negative) {
  return NodeBuilder(scope, "DynamicOneHot")
      .input(indices)
      .input(depth)
      .input(on_value)
      .input(off_value)
      .attr("axis", axis)
      .attr("wrap_negative", wrap_negative)
      .finish()
      .output(0);
}

Output non_zero(const Scope& scope, const Output& x) {
  return NodeBuilder(scope, "NonZero").input(x).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
