// Slicing ops: DynamicSlice (TensorFlow Slice), StridedSlice, SliceOnnx, Reverse and their
// gradients. Each resolves its arguments into per-dimension index maps (axis_map.h): the
// forward op gathers through them, the gradient scatter-adds through the same maps.
#include "slice_ops.h"

#include <algorithm>

#include "array_ops.h"
#include "axis_map.h"
#include "static_value.h"
#include "strided_spec.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

// The output shape given by a shape-tensor input, as far as it is known statically.
Shape shape_from_input(const ShapeContext& ctx, int i) {
  const auto elems = static_int_vector(ctx.node().inputs[i]);
  if (!elems) {
    const int64_t n = static_length(ctx.node().inputs[i]);
    return n < 0 ? Shape::unknown_rank() : Shape(Ints(n, -1));
  }
  Ints dims;
  for (const StaticElem& e : *elems) {
    SLUICE_REQUIRE(!e.known || e.value >= 0, InvalidArgument, "shape entries must be >= 0, got ",
                   e.value);
    dims.push_back(e.known ? e.value : -1);
  }
  return Shape(dims);
}

// The shape a gradient kernel writes: the values of its int shape input.
Shape shape_from_tensor(const Tensor& t) {
  SLUICE_REQUIRE(t.rank() == 1, InvalidArgument, "shape must be a vector, got shape ",
                 t.shape().to_string());
  const Ints dims = int_values(t, "shape");
  for (int64_t d : dims)
    SLUICE_REQUIRE(d >= 0, InvalidArgument, "shape ", ints_to_string(dims), " has a negative dim");
  return Shape(dims);
}

// y gets x through the spec's maps, shaped as the spec's final shape.
void gather_spec(KernelContext& ctx, const Tensor& x, const SliceSpec& spec) {
  Tensor& y = ctx.allocate_output(0, Shape(spec.final_shape));
  if (y.num_elements() > 0) gather_axis_maps(ctx.pool(), x, spec.maps(), nullptr, y);
}

// Zeros of `shape` with g scatter-added through the spec's maps (slice gradients).
void scatter_spec(KernelContext& ctx, const Tensor& g, const Shape& shape, const SliceSpec& spec) {
  int64_t count = 1;
  for (int64_t s : spec.final_shape) count *= s;
  SLUICE_REQUIRE(g.num_elements() == count, InvalidArgument, "gradient of shape ",
                 g.shape().to_string(), " for a slice of shape ", ints_to_string(spec.final_shape));
  Tensor& dx = ctx.allocate_output(0, shape);
  // An empty slice of a huge (or empty) shape needs no maps, only zeros.
  scatter_add_axis_maps(ctx.pool(), g, count > 0 ? spec.maps() : AxisMaps(shape.rank()), dx);
}

// ---------------------------------------------------------------------------------------
// DynamicSlice, DynamicSliceGrad (TensorFlow Slice with tensor begin and size)

// TensorFlow Slice's rules; dims may hold -1 (unknown) at build time.
SliceSpec resolve_slice(const Ints& dims, const Ints& begin, const Ints& size) {
  SLUICE_REQUIRE(begin.size() == size.size() && begin.size() == dims.size(), InvalidArgument,
                 "Slice begin ", ints_to_string(begin), " and size ", ints_to_string(size),
                 " must both have one entry per dim of the input ", Shape(dims).to_string());
  SliceSpec spec;
  spec.begin = begin;
  spec.stride.assign(dims.size(), 1);
  spec.size.resize(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    SLUICE_REQUIRE(begin[i] >= 0 && size[i] >= -1, InvalidArgument, "Slice begin ",
                   ints_to_string(begin), " / size ", ints_to_string(size),
                   " must be >= 0 (size -1 means to the end)");
    if (dims[i] < 0) {
      spec.size[i] = size[i];
      continue;
    }
    const int64_t sz = size[i] == -1 ? dims[i] - begin[i] : size[i];
    SLUICE_REQUIRE(begin[i] <= dims[i] && sz >= 0 && sz <= dims[i] - begin[i], InvalidArgument,
                   "Slice begin ", ints_to_string(begin), " size ", ints_to_string(size),
                   " is out of bounds for shape ", Shape(dims).to_string());
    spec.size[i] = sz;
  }
  spec.final_shape = spec.size;
  return spec;
}

void dynamic_slice_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 1, "Slice begin");
  require_int_vector_input(ctx, 2, "Slice size");
  const Shape& in = ctx.input_shape(0);
  const auto begin = static_int_values(ctx.node().inputs[1]);
  const auto size = static_int_vector(ctx.node().inputs[2]);
  int64_t rank = in.known_rank() ? in.rank() : static_length(ctx.node().inputs[1]);
  if (rank < 0) rank = static_length(ctx.node().inputs[2]);
  if (rank < 0) {
    ctx.add_output(ctx.input_dtype(0), Shape::unknown_rank());
    return;
  }
  const Ints dims = in.known_rank() ? in.dims() : Ints(rank, -1);
  if (begin && size) {
    Ints sz;
    for (const StaticElem& e : *size) sz.push_back(e.known ? e.value : -2);
    if (std::find(sz.begin(), sz.end(), -2) == sz.end()) {
      ctx.add_output(ctx.input_dtype(0), Shape(resolve_slice(dims, *begin, sz).final_shape));
      return;
    }
  }
  // Partly known: a known size >= 0 is the output dim.
  Ints out(rank, -1);
  if (size && static_cast<int64_t>(size->size()) == rank)
    for (int64_t i = 0; i < rank; ++i)
      if ((*size)[i].known && (*size)[i].value >= 0) out[i] = (*size)[i].value;
  ctx.add_output(ctx.input_dtype(0), Shape(out));
}
void dynamic_slice_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  gather_spec(ctx, x,
              resolve_slice(x.shape().dims(), int_values(ctx.input(1), "Slice begin"),
                            int_values(ctx.input(2), "Slice size")));
}
Grads dynamic_slice_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx slice(x) = g placed at `begin` in zeros of x's shape
  Output dx = NodeBuilder(s, "DynamicSliceGrad")
                  .input(g[0])
                  .input(ops::shape(s, op.input(0)))
                  .input(op.input(1))
                  .input(op.input(2))
                  .finish()
                  .output(0);
  return {dx, Output(), Output()};
}

void dynamic_slice_grad_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 1, "SliceGrad shape");
  ctx.add_output(ctx.input_dtype(0), shape_from_input(ctx, 1));
}
void dynamic_slice_grad_kernel(KernelContext& ctx) {
  const Shape shape = shape_from_tensor(ctx.input(1));
  scatter_spec(ctx, ctx.input(0), shape,
               resolve_slice(shape.dims(), int_values(ctx.input(2), "Slice begin"),
                             int_values(ctx.input(3), "Slice size")));
}
Grads dynamic_slice_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::slice(s, g[0], op.input(2), op.input(3)), Output(), Output(), Output()};
}

// ---------------------------------------------------------------------------------------
// StridedSlice, StridedSliceGrad

StridedSliceMasks masks_of(const Node& n) {
  return {n.attr_int("begin_mask"), n.attr_int("end_mask"), n.attr_int("ellipsis_mask"),
          n.attr_int("new_axis_mask"), n.attr_int("shrink_axis_mask")};
}

// The static output shape of a strided slice of `in` with spec inputs b, e, s.
Shape strided_slice_static(const ShapeContext& ctx, const Shape& in, int b, int e, int s) {
  for (int i : {b, e, s}) require_int_vector_input(ctx, i, "StridedSlice begin/end/strides");
  SLUICE_REQUIRE(
      ctx.input_dtype(b) == ctx.input_dtype(e) && ctx.input_dtype(b) == ctx.input_dtype(s),
      InvalidArgument, "StridedSlice begin, end and strides must have one dtype, got ",
      dtype_name(ctx.input_dtype(b)), ", ", dtype_name(ctx.input_dtype(e)), ", ",
      dtype_name(ctx.input_dtype(s)));
  int64_t n = -1;
  for (int i : {b, e, s}) {
    const int64_t len = static_length(ctx.node().inputs[i]);
    SLUICE_REQUIRE(len < 0 || n < 0 || len == n, InvalidArgument,
                   "Expected begin, end, and strides to be 1D equal size tensors");
    if (len >= 0) n = len;
  }
  if (!in.known_rank() || n < 0) return Shape::unknown_rank();
  const auto bv = static_int_values(ctx.node().inputs[b]);
  const auto ev = static_int_values(ctx.node().inputs[e]);
  const auto sv = static_int_values(ctx.node().inputs[s]);
  const bool known = bv && ev && sv;
  const SliceSpec spec =
      resolve_strided_slice(in.dims(), known ? &*bv : nullptr, known ? &*ev : nullptr,
                            known ? &*sv : nullptr, n, masks_of(ctx.node()));
  return Shape(spec.final_shape);
}

SliceSpec strided_spec_at_run_time(const KernelContext& ctx, const Ints& dims, int b) {
  const Ints bv = int_values(ctx.input(b), "StridedSlice begin");
  const Ints ev = int_values(ctx.input(b + 1), "StridedSlice end");
  const Ints sv = int_values(ctx.input(b + 2), "StridedSlice strides");
  return resolve_strided_slice(dims, &bv, &ev, &sv, static_cast<int64_t>(bv.size()),
                               masks_of(ctx.node()));
}

void strided_slice_shape(ShapeContext& ctx) {
  ctx.add_output(ctx.input_dtype(0), strided_slice_static(ctx, ctx.input_shape(0), 1, 2, 3));
}
void strided_slice_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  gather_spec(ctx, x, strided_spec_at_run_time(ctx, x.shape().dims(), 1));
}
Grads strided_slice_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx strided_slice(x) = g scattered into zeros of x's shape at the sliced positions
  const Node& n = *op.node();
  Output dx = ops::strided_slice_grad(s, ops::shape(s, op.input(0)), op.input(1), op.input(2),
                                      op.input(3), g[0], n.attr_int("begin_mask"),
                                      n.attr_int("end_mask"), n.attr_int("ellipsis_mask"),
                                      n.attr_int("new_axis_mask"), n.attr_int("shrink_axis_mask"));
  return {dx, Output(), Output(), Output()};
}

void strided_slice_grad_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 0, "StridedSliceGrad shape");
  const Shape out = shape_from_input(ctx, 0);
  const Shape sliced = strided_slice_static(ctx, out, 1, 2, 3);
  SLUICE_REQUIRE(sliced.compatible_with(ctx.input_shape(4)), InvalidArgument,
                 "StridedSliceGrad: dy of shape ", ctx.input_shape(4).to_string(),
                 " for a slice of shape ", sliced.to_string());
  ctx.add_output(ctx.input_dtype(4), out);
}
void strided_slice_grad_kernel(KernelContext& ctx) {
  const Shape shape = shape_from_tensor(ctx.input(0));
  const SliceSpec spec = strided_spec_at_run_time(ctx, shape.dims(), 1);
  SLUICE_REQUIRE(Shape(spec.final_shape) == ctx.input(4).shape(), InvalidArgument,
                 "StridedSliceGrad: dy of shape ", ctx.input(4).shape().to_string(),
                 " for a slice of shape ", ints_to_string(spec.final_shape));
  scatter_spec(ctx, ctx.input(4), shape, spec);
}
Grads strided_slice_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  const Node& n = *op.node();
  Output ddy =
      ops::strided_slice(s, g[0], op.input(1), op.input(2), op.input(3), n.attr_int("begin_mask"),
                         n.attr_int("end_mask"), n.attr_int("ellipsis_mask"),
                         n.attr_int("new_axis_mask"), n.attr_int("shrink_axis_mask"));
  return {Output(), Output(), Output(), Output(), ddy};
}

// ---------------------------------------------------------------------------------------
// SliceOnnx, SliceOnnxGrad. Inputs x, starts, ends, axes, steps; an empty axes or steps
// tensor means the default (the builder passes one when the caller gives none).

SliceSpec onnx_spec_at_run_time(const KernelContext& ctx, const Ints& dims, int b) {
  return resolve_onnx_slice(
      dims, int_values(ctx.input(b), "Slice starts"), int_values(ctx.input(b + 1), "Slice ends"),
      int_values(ctx.input(b + 2), "Slice axes"), int_values(ctx.input(b + 3), "Slice steps"));
}

Shape onnx_slice_static(const ShapeContext& ctx, const Shape& in, int b) {
  const char* names[] = {"Slice starts", "Slice ends", "Slice axes", "Slice steps"};
  for (int i = 0; i < 4; ++i) require_int_vector_input(ctx, b + i, names[i]);
  if (!in.known_rank()) return in;
  std::optional<Ints> v[4];
  for (int i = 0; i < 4; ++i) v[i] = static_int_values(ctx.node().inputs[b + i]);
  if (v[0] && v[1] && v[2] && v[3])
    return Shape(resolve_onnx_slice(in.dims(), *v[0], *v[1], *v[2], *v[3]).final_shape);
  // Values unknown: the listed axes (all of them when the axes are unknown) become unknown.
  Ints out = in.dims();
  const int64_t k = static_length(ctx.node().inputs[b]);
  if (v[2] && !(v[2]->empty() && k < 0)) {
    Ints axes = *v[2];
    for (int64_t j = 0; axes.empty() && j < k; ++j) axes.push_back(j);
    for (int64_t a : axes)
      if (a >= -in.rank() && a < in.rank()) out[a < 0 ? a + in.rank() : a] = -1;
  } else {
    std::fill(out.begin(), out.end(), -1);
  }
  return Shape(out);
}

void slice_onnx_shape(ShapeContext& ctx) {
  ctx.add_output(ctx.input_dtype(0), onnx_slice_static(ctx, ctx.input_shape(0), 1));
}
void slice_onnx_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  gather_spec(ctx, x, onnx_spec_at_run_time(ctx, x.shape().dims(), 1));
}
Grads slice_onnx_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx slice(x) = g scattered into zeros of x's shape at the sliced positions
  Output dx = NodeBuilder(s, "SliceOnnxGrad")
                  .input(g[0])
                  .input(ops::shape(s, op.input(0)))
                  .input(op.input(1))
                  .input(op.input(2))
                  .input(op.input(3))
                  .input(op.input(4))
                  .finish()
                  .output(0);
  return {dx, Output(), Output(), Output(), Output()};
}

void slice_onnx_grad_shape(ShapeContext& ctx) {
  require_int_vector_input(ctx, 1, "SliceGrad shape");
  const Shape out = shape_from_input(ctx, 1);
  (void)onnx_slice_static(ctx, out, 2);  // validates the argument inputs
  ctx.add_output(ctx.input_dtype(0), out);
}
void slice_onnx_grad_kernel(KernelContext& ctx) {
  const Shape shape = shape_from_tensor(ctx.input(1));
  scatter_spec(ctx, ctx.input(0), shape, onnx_spec_at_run_time(ctx, shape.dims(), 2));
}
Grads slice_onnx_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {ops::slice_onnx(s, g[0], op.input(2), op.input(3), op.input(4), op.input(5)),
          Output(),
          Output(),
          Output(),
          Output(),
          Output()};
}

// ---------------------------------------------------------------------------------------
// Reverse

// Which dims of a rank-r tensor the axes attr reverses.
std::vector<bool> reversed_dims(const Ints& axes, int rank) {
  std::vector<bool> rev(rank, false);
  for (int64_t a : axes) {
    const int ax = normalize_axis(a, rank, "Reverse axis");
    SLUICE_REQUIRE(!rev[ax], InvalidArgument, "Reverse axes ", ints_to_string(axes), ": axis ", ax,
                   " specified more than once");
    rev[ax] = true;
  }
  return rev;
}

void reverse_shape(ShapeContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  if (in.known_rank()) (void)reversed_dims(ctx.attr<Ints>("axes"), in.rank());
  ctx.add_output(ctx.input_dtype(0), in);
}
void reverse_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::vector<bool> rev = reversed_dims(ctx.attr<Ints>("axes"), x.rank());
  AxisMaps maps(x.rank());
  for (int d = 0; d < x.rank(); ++d) {
    const int64_t n = x.dim(d);
    maps[d].resize(static_cast<size_t>(n));
    for (int64_t o = 0; o < n; ++o) maps[d][o] = rev[d] ? n - 1 - o : o;
  }
  Tensor& y = ctx.allocate_output(0, x.shape());
  gather_axis_maps(ctx.pool(), x, maps, nullptr, y);
}
Grads reverse_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx reverse(x) = reverse(g)
  return {ops::reverse(s, g[0], op.node()->attr<Ints>("axes"))};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Registration

void register_slice_ops(OpRegistry& r) {
  r.op("DynamicSlice")
      .input("input")
      .input("begin")
      .input("size")
      .output("output")
      .shape_fn(dynamic_slice_shape)
      .kernel(dynamic_slice_kernel)
      .gradient(dynamic_slice_grad);
  r.op("DynamicSliceGrad")
      .input("grad")
      .input("shape")
      .input("begin")
      .input("size")
      .output("output")
      .shape_fn(dynamic_slice_grad_shape)
      .kernel(dynamic_slice_grad_kernel)
      .gradient(dynamic_slice_grad_grad);
  auto masks = [](OpDefBuilder b) {
    b.attr("begin_mask", 0)
        .attr("end_mask", 0)
        .attr("ellipsis_mask", 0)
        .attr("new_axis_mask", 0)
        .attr("shrink_axis_mask", 0);
  };
  auto ss = r.op("StridedSlice")
                .input("input")
                .input("begin")
                .input("end")
                .input("strides")
                .output("output");
  masks(ss);
  ss.shape_fn(strided_slice_shape).kernel(strided_slice_kernel).gradient(strided_slice_grad);
  auto ssg = r.op("StridedSliceGrad")
                 .input("shape")
                 .input("begin")
                 .input("end")
                 .input("strides")
                 .input("dy")
                 .output("output");
  masks(ssg);
  ssg.shape_fn(strided_slice_grad_shape)
      .kernel(strided_slice_grad_kernel)
      .gradient(strided_slice_grad_grad);
  r.op("SliceOnnx")
      .input("data")
      .input("starts")
      .input("ends")
      .input("axes")
      .input("steps")
      .output("output")
      .shape_fn(slice_onnx_shape)
      .kernel(slice_onnx_kernel)
      .gradient(slice_onnx_grad);
  r.op("SliceOnnxGrad")
      .input("grad")
      .input("shape")
      .input("starts")
      .input("ends")
      .input("axes")
      .input("steps")
      .output("output")
      .shape_fn(slice_onnx_grad_shape)
      .kernel(slice_onnx_grad_kernel)
      .gradient(slice_onnx_grad_grad);
  r.op("Reverse")
      .input("tensor")
      .output("output")
      .attr("axes", Ints{})
      .shape_fn(reverse_shape)
      .kernel(reverse_kernel)
      .gradient(reverse_grad);
}

// ---------------------------------------------------------------------------------------
// Builders

namespace ops {

Output slice(const Scope& scope, const Output& x, const Output& begin, const Output& size) {
  return NodeBuilder(scope, "DynamicSlice").input(x).input(begin).input(size).finish().output(0);
}

Output slice(const Scope& scope, const Output& x, std::initializer_list<int64_t> begin,
             std::initializer_list<int64_t> size) {
  return slice(scope, x, std::vector<int64_t>(begin), std::vector<int64_t>(size));
}

Output strided_slice(const Scope& scope, const Output& x, const Output& begin, const Output& end,
                     const Output& strides, int64_t begin_mask, int64_t end_mask,
                     int64_t ellipsis_mask, int64_t new_axis_mask, int64_t shrink_axis_mask) {
  return NodeBuilder(scope, "StridedSlice")
      .input(x)
      .input(begin)
      .input(end)
      .input(strides)
      .attr("begin_mask", begin_mask)
      .attr("end_mask", end_mask)
      .attr("ellipsis_mask", ellipsis_mask)
      .attr("new_axis_mask", new_axis_mask)
      .attr("shrink_axis_mask", shrink_axis_mask)
      .finish()
      .output(0);
}

Output strided_slice_grad(const Scope& scope, const Output& shape, const Output& begin,
                          const Output& end, const Output& strides, const Output& dy,
                          int64_t begin_mask, int64_t end_mask, int64_t ellipsis_mask,
                          int64_t new_axis_mask, int64_t shrink_axis_mask) {
  return NodeBuilder(scope, "StridedSliceGrad")
      .input(shape)
      .input(begin)
      .input(end)
      .input(strides)
      .input(dy)
      .attr("begin_mask", begin_mask)
      .attr("end_mask", end_mask)
      .attr("ellipsis_mask", ellipsis_mask)
      .attr("new_axis_mask", new_axis_mask)
      .attr("shrink_axis_mask", shrink_axis_mask)
      .finish()
      .output(0);
}

Output slice_onnx(const Scope& scope, const Output& x, const Output& starts, const Output& ends,
                  const Output& axes, const Output& steps) {
  // Missing optional inputs become empty int64 constants: "use the default".
  const Scope s = scope.without_name();
  auto or_empty = [&](const Output& v) {
    return v.valid() ? v : ops::constant(s, Tensor(DType::i64, Shape{0}));
  };
  return NodeBuilder(scope, "SliceOnnx")
      .input(x)
      .input(starts)
      .input(ends)
      .input(or_empty(axes))
      .input(or_empty(steps))
      .finish()
      .output(0);
}

Output reverse(const Scope& scope, const Output& x, const std::vector<int64_t>& axes) {
  return NodeBuilder(scope, "Reverse").input(x).attr("axes", axes).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
