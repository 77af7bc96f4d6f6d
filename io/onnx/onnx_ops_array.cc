// ONNX shape and indexing ops. Shape-like arguments (Reshape's shape, Slice's starts, ...)
// must be known at import time (initializers, Constant, or folded from static shapes); the
// forms that take them at run time wait on tensor-argument Sluice ops. Concat, Split, Slice,
// Transpose and Identity work on channels-last values directly; the rest read ONNX order.
#include <limits>

#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/index_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/numerics_ops.h"
#include "../../ops/random_ops.h"
#include "../../ops/reduction_ops.h"
#include "../../ops/scan_ops.h"
#include "../../ops/shape_ops.h"
#include "../../ops/slice_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

// An axes list (attribute before `input_from`, input after), normalised and sorted.
std::vector<int64_t> axes_arg(NodeContext& ctx, int input_from, int input, int rank, bool* given) {
  std::vector<int64_t> axes;
  *given = false;
  if (ctx.opset() >= input_from) {
    if (ctx.has_input(input)) {
      axes = ctx.constant_ints(input, "axes", "reshape with a tensor shape, opsarray");
      *given = true;
    }
  } else if (ctx.attrs().has("axes")) {
    axes = ctx.attrs().get_ints("axes");
    *given = true;
  }
  for (int64_t& a : axes) a = ctx.axis(a, rank, "axes");
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) ctx.invalid("repeated axes");
  return axes;
}

void build_Identity(NodeContext& ctx) {
  if (ctx.is_cl(0)) return ctx.set_output_cl(0, ops::identity(ctx.scope(), ctx.input_cl(0)));
  ctx.set_output(0, ops::identity(ctx.scope(), ctx.input(0)));
}

// Dropout in inference is the identity (mask all true). Training mode (opset < 7
// is_test=0, opset 12+ training_mode input) draws a uniform mask with Sluice's seeded random
// ops: keep where u >= ratio, scaled by 1 / (1 - ratio); ratio and training_mode may be
// tensors known only at run time.
void build_Dropout(NodeContext& ctx) {
  const Scope& s = ctx.scope();
  const Output x = ctx.input(0);
  Output training, ratio;
  if (ctx.opset() < 7 && ctx.attrs().get_int("is_test", 0) == 0) training = ctx.constant_output(Tensor(true));
  if (ctx.opset() >= 12 && ctx.has_input(2)) {
    const Tensor* t = ctx.constant(2);
    if (!t || t->as_double(0) != 0) training = ops::cast(s, ctx.input(2), DType::boolean);
  }
  if (ctx.opset() < 12) {
    ratio = ctx.constant_output(Tensor::filled(x.dtype(), Shape{}, ctx.attrs().get_float("ratio", 0.5f)));
  } else {
    ratio = ctx.has_input(1) ? ops::cast(s, ctx.input(1), x.dtype())
                             : ctx.constant_output(Tensor::filled(x.dtype(), Shape{}, 0.5));
  }
  if (!training.valid()) {
    build_Identity(ctx);
    if (ctx.wants_output(1)) ctx.set_output(1, ops::cast(s, ops::ones_like(s, x), DType::boolean));
    return;
  }
  if (!x.shape().is_fully_defined()) ctx.unimplemented("training-mode dropout of a shape known only at run time");
  const Output u = ops::random_uniform(s, x.shape(), x.dtype(), 0.0, 1.0, ctx.attrs().get_int("seed", 0));
  const Output keep = ops::greater_equal(s, u, ratio);
  const Output one = ops::scalar_like(s, x, 1.0);
  const Output dropped = ops::div(s, ops::mul(s, x, ops::cast(s, keep, x.dtype())), ops::sub(s, one, ratio));
  ctx.set_output(0, ops::select(s, training, dropped, x));
  ctx.set_output(1, ops::logical_or(s, keep, ops::logical_not(s, training)));
}

void build_Constant(NodeContext& ctx) {
  const Attrs& a = ctx.attrs();
  if (a.has("value")) return ctx.set_output(0, ctx.constant_output(a.get_tensor("value")));
  if (a.has("value_float")) return ctx.set_output(0, ctx.constant_output(Tensor(a.get_float("value_float", 0))));
  if (a.has("value_int")) return ctx.set_output(0, ctx.constant_output(Tensor(a.get_int("value_int", 0))));
  if (a.has("value_floats")) {
    const std::vector<float> v = a.get_floats("value_floats");
    return ctx.set_output(0, ctx.constant_output(Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())})));
  }
  if (a.has("value_ints")) {
    const std::vector<int64_t> v = a.get_ints("value_ints");
    return ctx.set_output(0, ctx.constant_output(Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())})));
  }
  if (a.has("sparse_value")) ctx.unimplemented("sparse_value");
  if (a.has("value_string") || a.has("value_strings")) ctx.unimplemented("string constants (waits on the string dtype)");
  ctx.invalid("no value attribute");
}

void build_ConstantOfShape(NodeContext& ctx) {
  Tensor value = Tensor::zeros(DType::f32, Shape{1});
  if (ctx.attrs().has("value")) value = ctx.attrs().get_tensor("value");
  if (value.num_elements() != 1) ctx.invalid("value must hold one element, got " + value.summary());
  if (!ctx.constant(0)) {  // a shape known only at run time (a zero state of the batch's size)
    const Output v = ctx.constant_output(Tensor::filled(value.dtype(), Shape{}, value.as_double(0)));
    return ctx.set_output(0, ops::fill(ctx.scope(), ctx.input(0), v));
  }
  const std::vector<int64_t> dims = ctx.constant_ints(0, "shape");
  for (int64_t d : dims)
    if (d < 0) ctx.invalid("negative dim in shape");
  Shape shape(dims);
  ctx.set_output(0, ctx.constant_output(Tensor::filled(value.dtype(), shape, value.as_double(0))));
}

void build_Shape(NodeContext& ctx) {
  const Shape s = ctx.shape(0);
  const int r = ctx.rank(0);
  int64_t start = ctx.attrs().get_int("start", 0), end = ctx.attrs().get_int("end", r);
  start = std::clamp<int64_t>(start < 0 ? start + r : start, 0, r);
  end = std::clamp<int64_t>(end < 0 ? end + r : end, 0, r);
  if (end < start) end = start;
  bool known = true;
  for (int64_t i = start; i < end; ++i) known = known && s.dim(static_cast<int>(i)) >= 0;
  if (known) {
    std::vector<int64_t> d;
    for (int64_t i = start; i < end; ++i) d.push_back(s.dim(static_cast<int>(i)));
    return ctx.set_output(0, ctx.constant_output(Tensor::from_vector(d, Shape{end - start})));
  }
  // The run-time shape; of a channels-last value, its dims picked back into ONNX order.
  Output shp = ctx.is_cl(0) ? ops::gather(ctx.scope(), ops::shape(ctx.scope(), ctx.input_cl(0)),
                                          ctx.constant_output(Tensor::from_vector(perm_from_cl(r), Shape{r})))
                            : ops::shape(ctx.scope(), ctx.input(0));
  if (start != 0 || end != r) shp = ops::slice(ctx.scope(), shp, {start}, {end - start});
  ctx.set_output(0, shp);
  Partial p;
  for (int64_t i = start; i < end; ++i) {
    const int64_t d = s.dim(static_cast<int>(i));
    p.push_back(d >= 0 ? std::optional<int64_t>(d) : std::nullopt);
  }
  ctx.set_partial(0, p, false);
}

void build_Size(NodeContext& ctx) {
  const Shape s = ctx.shape(0);
  if (s.is_fully_defined()) return ctx.set_output(0, ctx.constant_output(Tensor(s.num_elements())));
  ctx.set_output(0, ops::size(ctx.scope(), ctx.is_cl(0) ? ctx.input_cl(0) : ctx.input(0)));
}

// Reshape to a shape tensor only the run time knows (0 copies the input's dim unless
// allowzero).
void reshape_at_run_time(NodeContext& ctx) {
  Output shape = ctx.input(1);
  if (shape.dtype() != DType::i64) shape = ops::cast(ctx.scope(), shape, DType::i64);
  ctx.set_output(0, ops::reshape(ctx.scope(), ctx.input(0), shape, ctx.attrs().get_int("allowzero", 0) == 0));
}

// ONNX Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred. Sluice's
// Reshape takes static dims with at most one -1, so copied dims must be known or be the
// only unknown.
void build_Reshape(NodeContext& ctx) {
  // A shape known but for one dim (the batch, in exports with a dynamic batch) becomes -1.
  std::vector<int64_t> dims;
  if (ctx.opset() < 5) {
    dims = ctx.attrs().get_ints("shape", {});
  } else if (const auto p = ctx.partial(1); p && !ctx.constant(1)) {
    int unknown = 0;
    for (const auto& e : *p) {
      unknown += !e.has_value() || *e == -1;
      dims.push_back(e.value_or(-1));
    }
    if (unknown > 1) return reshape_at_run_time(ctx);
  } else if (!ctx.constant(1)) {
    return reshape_at_run_time(ctx);
  } else {
    dims = ctx.constant_ints(1, "shape");
  }
  const Shape in = ctx.shape(0);
  const bool allowzero = ctx.attrs().get_int("allowzero", 0) != 0;
  int inferred = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0 && !allowzero) {
      if (!in.known_rank() || static_cast<int>(i) >= in.rank()) ctx.invalid("shape copies dim " + std::to_string(i) + " the input lacks");
      dims[i] = in.dim(static_cast<int>(i));
    }
    if (dims[i] < -1) ctx.invalid("negative dim in shape");
    inferred += dims[i] == -1;
  }
  if (inferred > 1) ctx.invalid("shape " + Shape(dims).to_string() + " has more than one -1");
  ctx.set_output(0, ops::reshape(ctx.scope(), ctx.input(0), dims));
}

void build_Flatten(NodeContext& ctx) {
  const Shape s = ctx.shape(0);
  const int r = ctx.rank(0);
  int64_t axis = ctx.attrs().get_int("axis", 1);  // in [-r, r]: axis == r flattens to [N, 1]
  if (axis < 0 && ctx.opset() >= 11) axis += r;
  if (axis < 0 || axis > r) ctx.invalid("axis " + std::to_string(ctx.attrs().get_int("axis", 1)) + " out of range for rank " + std::to_string(r));
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < r; ++i) {
    int64_t& p = i < axis ? outer : inner;
    p = (p < 0 || s.dim(i) < 0) ? -1 : p * s.dim(i);
  }
  if (outer < 0 && inner < 0) ctx.unimplemented("Flatten of " + s.to_string() + " with unknown dims on both sides of axis");
  ctx.set_output(0, ops::reshape(ctx.scope(), ctx.input(0), {outer < 0 ? -1 : outer, outer < 0 ? inner : -1}));
}

void build_Transpose(NodeContext& ctx) {
  const int r = ctx.rank(0);
  std::vector<int64_t> perm = ctx.attrs().get_ints("perm", {});
  if (perm.empty())
    for (int i = r - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int>(perm.size()) != r) ctx.invalid("perm of " + std::to_string(perm.size()) + " for rank " + std::to_string(r));
  for (int64_t& p : perm) p = ctx.axis(p, r, "perm entry");
  if (ctx.is_cl(0)) {
    // One transpose from the channels-last form: output dim i is ONNX dim perm[i], which
    // sits at position from_cl[perm[i]] of the channels-last value.
    const std::vector<int64_t> from = perm_from_cl(r);
    std::vector<int64_t> p;
    for (int64_t q : perm) p.push_back(from[static_cast<size_t>(q)]);
    return ctx.set_output(0, ops::transpose(ctx.scope(), ctx.input_cl(0), p));
  }
  ctx.set_output(0, ops::transpose(ctx.scope(), ctx.input(0), perm));
}

void build_Concat(NodeContext& ctx) {
  std::vector<int> present;
  for (int i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i)) present.push_back(i);
  if (present.empty()) ctx.invalid("no inputs");
  const int r = ctx.rank(present[0]);
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 1), r);
  bool all_cl = r >= 3;
  for (int i : present) all_cl = all_cl && ctx.is_cl(i);
  std::vector<Output> xs;
  for (int i : present) xs.push_back(all_cl ? ctx.input_cl(i) : ctx.input(i));
  if (all_cl && r == 4 && cl_axis(axis, r) == 3) {
    const Output fused = fused_concat_conv(ctx, xs);
    if (fused.valid()) return ctx.set_output_cl(0, fused);
  }
  if (all_cl) return ctx.set_output_cl(0, ops::concat(ctx.scope(), xs, cl_axis(axis, r)));
  ctx.set_output(0, ops::concat(ctx.scope(), xs, axis));
  if (r == 1) {  // concatenated shapes
    Partial all;
    for (int i : present) {
      const auto p = ctx.partial(i);
      if (!p) return;
      all.insert(all.end(), p->begin(), p->end());
    }
    ctx.set_partial(0, all, false);
  }
}

// An int64 scalar 0 that fails the run with InvalidArgument naming the node and `what` when
// `ok` (a bool scalar) is false; adding it to a shape makes the shape wait for the check.
Output run_time_check(NodeContext& ctx, const Output& ok, const std::string& what) {
  const Scope& s = ctx.scope();
  const Output bad = ctx.constant_output(Tensor(std::numeric_limits<float>::quiet_NaN()));
  const Output checked = ops::check_numerics(s, ops::select(s, ok, ctx.constant_output(Tensor(0.0f)), bad),
                                             ctx.where() + ": " + what);
  return ops::cast(s, checked, DType::i64);
}

// Split-13 with sizes fed at run time: output i is the slice of x along `axis` from the
// exclusive running sum of the sizes, sizes[i] long (the slice kernel checks the bounds).
void split_at_run_time(NodeContext& ctx, int64_t axis) {
  const Scope& s = ctx.scope();
  const int r = ctx.rank(0);
  const Output sizes = ops::cast(s, ctx.input(1), DType::i64);
  const Output starts = ops::cumsum(s, sizes, 0, /*exclusive=*/true);
  // Sizes must be non-negative (the slice below would read -1 as "to the end") and add up
  // to the axis.
  const Output axis_dim = ops::gather(s, ops::shape(s, ctx.input(0)), ctx.constant_output(Tensor(axis)));
  const Output ok = ops::logical_and(
      s, ops::equal(s, ops::sum(s, sizes), axis_dim),
      ops::logical_not(s, ops::any(s, ops::less(s, sizes, ops::scalar_like(s, sizes, 0)))));
  const Output guard = run_time_check(ctx, ok, "split sizes fed at run time must be non-negative and add up to dim " +
                                                   std::to_string(axis) + " of the input");
  std::vector<int64_t> unit(static_cast<size_t>(r), 0), rest(static_cast<size_t>(r), -1);
  unit[static_cast<size_t>(axis)] = 1;
  rest[static_cast<size_t>(axis)] = 0;
  const Output e = ctx.constant_output(Tensor::from_vector(unit, Shape{r}));
  const Output whole = ctx.constant_output(Tensor::from_vector(rest, Shape{r}));
  for (int i = 0; i < ctx.num_outputs(); ++i) {
    const Output at = ctx.constant_output(Tensor(int64_t{i}));
    const Output begin = ops::add(s, ops::mul(s, e, ops::gather(s, starts, at)), guard);
    const Output size = ops::add(s, whole, ops::mul(s, e, ops::gather(s, sizes, at)));
    ctx.set_output(i, ops::slice(s, ctx.input(0), begin, size));
  }
}

void build_Split(NodeContext& ctx) {
  const int r = ctx.rank(0);
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 0), r);
  std::vector<int64_t> sizes;
  if (ctx.opset() >= 13 && ctx.has_input(1) && !ctx.constant(1)) return split_at_run_time(ctx, axis);
  if (ctx.opset() >= 13) {
    if (ctx.has_input(1)) sizes = ctx.constant_ints(1, "split", "split_v with a tensor of sizes");
  } else {
    sizes = ctx.attrs().get_ints("split", {});
  }
  const int n = ctx.num_outputs();
  bool equal = true;
  for (size_t i = 1; i < sizes.size(); ++i) equal = equal && sizes[i] == sizes[0];
  if (!sizes.empty() && static_cast<int>(sizes.size()) != n) ctx.invalid("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(n) + " outputs");
  const bool cl = ctx.is_cl(0);
  const Output x = cl ? ctx.input_cl(0) : ctx.input(0);
  const int64_t ax = cl ? cl_axis(axis, r) : axis;
  const std::vector<Output> parts = equal ? ops::split(ctx.scope(), x, n, ax) : ops::split_v(ctx.scope(), x, sizes, ax);
  for (int i = 0; i < n; ++i) cl ? ctx.set_output_cl(i, parts[i]) : ctx.set_output(i, parts[i]);
}

// ONNX Slice on Sluice's slice_onnx: arguments known only at run time, steps, dims only
// the run time knows (Slice-1's attributes become constants).
void slice_at_run_time(NodeContext& ctx) {
  auto arg = [&](int input, const char* attr) {
    if (ctx.opset() >= 10) return ctx.has_input(input) ? ctx.input(input) : Output();
    if (!ctx.attrs().has(attr)) return Output();
    const std::vector<int64_t> v = ctx.attrs().get_ints(attr);
    return ctx.constant_output(Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())}));
  };
  const Output starts = arg(1, "starts");
  Output axes = arg(3, "axes");
  // Spelled out when the number of starts is static: the shape function then knows which
  // dims stay whole.
  if (!axes.valid() && starts.shape().known_rank() && starts.shape().rank() == 1 && starts.shape().dim(0) >= 0) {
    std::vector<int64_t> all;
    for (int64_t i = 0; i < starts.shape().dim(0); ++i) all.push_back(i);
    axes = ctx.constant_output(Tensor::from_vector(all, Shape{starts.shape().dim(0)}));
    if (starts.dtype() != DType::i64) axes = ops::cast(ctx.scope(), axes, starts.dtype());
  }
  ctx.set_output(0, ops::slice_onnx(ctx.scope(), ctx.input(0), starts, arg(2, "ends"), axes, arg(4, "")));
}

// Slice-1 (attributes) and Slice-10+ (inputs starts, ends, axes, steps), constant
// arguments, step 1. Starts and ends are clamped as ONNX does, which needs the dims they
// count from the end of (or past) to be known.
void build_Slice(NodeContext& ctx) {
  const int r = ctx.rank(0);
  const Shape s = ctx.shape(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attrs().get_ints("starts", {});
    ends = ctx.attrs().get_ints("ends", {});
    axes = ctx.attrs().get_ints("axes", {});
  } else {
    bool known = ctx.constant(1) && ctx.constant(2);
    for (int i = 3; i <= 4; ++i) known = known && (!ctx.has_input(i) || ctx.constant(i));
    if (!known) return slice_at_run_time(ctx);
    starts = ctx.constant_ints(1, "starts");
    ends = ctx.constant_ints(2, "ends");
    if (ctx.has_input(3)) axes = ctx.constant_ints(3, "axes");
    if (ctx.has_input(4)) steps = ctx.constant_ints(4, "steps");
  }
  if (starts.size() != ends.size()) ctx.invalid("starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (axes.size() != starts.size() || (!steps.empty() && steps.size() != starts.size())) ctx.invalid("starts, ends, axes and steps differ in length");
  bool unit = true;
  for (int64_t st : steps) unit = unit && st == 1;
  if (!unit) return slice_at_run_time(ctx);
  std::vector<int64_t> begin(static_cast<size_t>(r), 0), size(static_cast<size_t>(r), -1);
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = ctx.axis(axes[i], r, "axes");
    if (seen[a]) ctx.invalid("repeated axis");
    seen[a] = true;
    const int64_t dim = s.dim(static_cast<int>(a));
    int64_t b = starts[i], e = ends[i];
    const bool e_to_end = e >= std::numeric_limits<int32_t>::max() && b >= 0;
    if (dim < 0 && (b < 0 || (e < 0 || !e_to_end))) return slice_at_run_time(ctx);
    if (dim < 0) {
      begin[a] = b;
      continue;
    }
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    b = std::clamp<int64_t>(b, 0, dim);
    e = std::clamp<int64_t>(e, 0, dim);
    begin[a] = b;
    size[a] = std::max<int64_t>(e - b, 0);
  }
  if (ctx.is_cl(0)) {
    const std::vector<int64_t> to = perm_to_cl(r);
    std::vector<int64_t> cb, cs;
    for (int64_t p : to) {
      cb.push_back(begin[static_cast<size_t>(p)]);
      cs.push_back(size[static_cast<size_t>(p)]);
    }
    return ctx.set_output_cl(0, ops::slice(ctx.scope(), ctx.input_cl(0), cb, cs));
  }
  ctx.set_output(0, ops::slice(ctx.scope(), ctx.input(0), begin, size));
}

void build_Gather(NodeContext& ctx) {
  const int r = ctx.rank(0);
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 0), r);
  const int64_t dim = ctx.shape(0).dim(static_cast<int>(axis));
  Output idx;
  // Negative indices count from the end (ONNX), Sluice's gather wants [0, n).
  if (const Tensor* t = ctx.constant(1)) {
    Tensor fixed = t->cast(DType::i64);
    int64_t* p = fixed.data<int64_t>();
    for (int64_t i = 0; i < fixed.num_elements(); ++i) {
      if (p[i] < 0 && dim < 0) ctx.unimplemented("negative indices into a dim unknown until run time");
      if (p[i] < 0) p[i] += dim;
    }
    idx = ctx.constant_output(fixed);
  } else {
    idx = ctx.input(1);
    if (dim < 0) {
      // Left as is: out-of-range (and negative) indices are reported by the kernel.
    } else {
      const Output neg = ops::cast(ctx.scope(), ops::less(ctx.scope(), idx, ops::scalar_like(ctx.scope(), idx, 0)), idx.dtype());
      idx = ops::add(ctx.scope(), idx, ops::mul(ctx.scope(), neg, ops::scalar_like(ctx.scope(), idx, static_cast<double>(dim))));
    }
  }
  ctx.set_output(0, ops::gather(ctx.scope(), ctx.input(0), idx, axis));
  // Picking dims out of a partly known shape.
  const std::optional<Partial> p = ctx.partial(0);
  const Tensor* it = ctx.constant(1);
  if (p && r == 1 && it && it->rank() <= 1) {
    Partial out;
    for (int64_t k : it->cast(DType::i64).to_vector<int64_t>()) {
      const int64_t n = static_cast<int64_t>(p->size());
      if (k < -n || k >= n) return;  // the kernel reports it at run time
      out.push_back((*p)[static_cast<size_t>(k < 0 ? k + n : k)]);
    }
    ctx.set_partial(0, out, it->rank() == 0);
  }
}

// Axes of Squeeze-13 / Unsqueeze-13 fed at run time: a static count k of them is needed
// (the output rank depends on it); the values are made non-negative for a rank-`rank`
// value and compared with every position: is_axis [positions] bool.
struct RuntimeAxes {
  int64_t count = 0;
  Output is_axis;
  Output guard;  // int64 0, computed only after the check that fails the run on bad axes
};

RuntimeAxes runtime_axes(NodeContext& ctx, int input, int64_t rank_of_axes, int64_t positions) {
  const Scope& s = ctx.scope();
  const Shape as = ctx.shape(input);
  if (!as.known_rank() || as.rank() != 1 || as.dim(0) < 0)
    ctx.unimplemented("axes known only at run time whose count is unknown until run time (shape " + as.to_string() + ")");
  RuntimeAxes out;
  out.count = as.dim(0);
  Output a = ops::cast(s, ctx.input(input), DType::i64);
  const Output neg = ops::cast(s, ops::less(s, a, ops::scalar_like(s, a, 0)), DType::i64);
  a = ops::add(s, a, ops::mul(s, neg, ops::scalar_like(s, a, static_cast<double>(rank_of_axes))));
  std::vector<int64_t> pos(static_cast<size_t>(positions));
  for (int64_t i = 0; i < positions; ++i) pos[static_cast<size_t>(i)] = i;
  const Output col = ctx.constant_output(Tensor::from_vector(pos, Shape{positions, 1}));
  out.is_axis = ops::any(s, ops::equal(s, col, ops::reshape(s, a, {1, out.count})), {1});
  // Each axis in range and none repeated: then exactly `count` positions are axes.
  const Output hits = ops::sum(s, ops::cast(s, out.is_axis, DType::i64));
  out.guard = run_time_check(ctx, ops::equal(s, hits, ctx.constant_output(Tensor(out.count))),
                             "axes fed at run time must be distinct and within [-" + std::to_string(rank_of_axes) +
                                 ", " + std::to_string(rank_of_axes) + ")");
  return out;
}

// Squeeze-13 with axes fed at run time: output dim j is input dim idx_j, the j-th position
// that is not an axis, idx_j = #{i : kept(0..i) <= j} with kept(0..i) the inclusive count
// of kept positions.
void squeeze_at_run_time(NodeContext& ctx) {
  const Scope& s = ctx.scope();
  const int r = ctx.rank(0);
  const RuntimeAxes ax = runtime_axes(ctx, 1, r, r);
  const int64_t out_rank = r - ax.count;
  if (out_rank < 0) ctx.invalid(std::to_string(ax.count) + " axes for a rank-" + std::to_string(r) + " input");
  const Output kept = ops::cumsum(s, ops::cast(s, ops::logical_not(s, ax.is_axis), DType::i64), 0);
  std::vector<int64_t> js(static_cast<size_t>(out_rank));
  for (int64_t j = 0; j < out_rank; ++j) js[static_cast<size_t>(j)] = j;
  const Output jcol = ctx.constant_output(Tensor::from_vector(js, Shape{out_rank, 1}));
  const Output idx = ops::sum(s, ops::cast(s, ops::less_equal(s, ops::reshape(s, kept, {1, r}), jcol), DType::i64), {1});
  const Output dims = ops::add(s, ops::gather(s, ops::shape(s, ctx.input(0)), idx), ax.guard);
  ctx.set_output(0, ops::reshape(s, ctx.input(0), dims));
}

// Unsqueeze-13 with axes fed at run time: output dim j is 1 at an axis, else input dim
// (number of non-axis positions before j).
void unsqueeze_at_run_time(NodeContext& ctx) {
  const Scope& s = ctx.scope();
  const int r = ctx.rank(0);
  const int64_t out_rank = r + ctx.shape(1).dim(0);
  const RuntimeAxes ax = runtime_axes(ctx, 1, out_rank, out_rank);
  Output dims = ops::fill(s, DType::i64, Shape{out_rank}, 1.0);
  if (r > 0) {
    Output idx = ops::cumsum(s, ops::cast(s, ops::logical_not(s, ax.is_axis), DType::i64), 0, /*exclusive=*/true);
    idx = ops::minimum(s, idx, ops::scalar_like(s, idx, static_cast<double>(r - 1)));
    dims = ops::select(s, ax.is_axis, dims, ops::gather(s, ops::shape(s, ctx.input(0)), idx));
  }
  ctx.set_output(0, ops::reshape(s, ctx.input(0), ops::add(s, dims, ax.guard)));
}

void build_Squeeze(NodeContext& ctx) {
  if (ctx.opset() >= 13 && ctx.has_input(1) && !ctx.constant(1)) return squeeze_at_run_time(ctx);
  const int r = ctx.rank(0);
  bool given = false;
  std::vector<int64_t> axes = axes_arg(ctx, 13, 1, r, &given);
  if (!given) {
    const Shape s = ctx.shape(0);
    for (int i = 0; i < r; ++i) {
      if (s.dim(i) < 0) ctx.unimplemented("Squeeze without axes of an input with dims unknown until run time");
      if (s.dim(i) == 1) axes.push_back(i);
    }
  }
  ctx.set_output(0, ops::squeeze(ctx.scope(), ctx.input(0), axes));
  if (const auto p = ctx.partial(0); p && r == 1 && p->size() == 1 && axes.size() == 1) ctx.set_partial(0, *p, true);
}

void build_Unsqueeze(NodeContext& ctx) {
  if (ctx.opset() >= 13 && ctx.has_input(1) && !ctx.constant(1)) return unsqueeze_at_run_time(ctx);
  std::vector<int64_t> raw;
  if (ctx.opset() >= 13) raw = ctx.constant_ints(1, "axes", "reshape with a tensor shape, opsarray");
  else raw = ctx.attrs().get_ints("axes", {});
  const int out_rank = ctx.rank(0) + static_cast<int>(raw.size());
  for (int64_t& a : raw) a = ctx.axis(a, out_rank, "axes");
  std::sort(raw.begin(), raw.end());
  if (std::adjacent_find(raw.begin(), raw.end()) != raw.end()) ctx.invalid("repeated axes");
  Output y = ctx.input(0);
  for (int64_t a : raw) y = ops::expand_dims(ctx.scope(), y, a);
  if (raw.empty()) y = ops::identity(ctx.scope(), y);
  ctx.set_output(0, y);
  if (const auto p = ctx.partial(0); p && out_rank == 1) ctx.set_partial(0, *p, false);
}

// Trilu: the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims, as a
// constant mask the rest broadcasts against.
void build_Trilu(NodeContext& ctx) {
  const Shape s = ctx.shape(0);
  const int r = ctx.rank(0);
  if (r < 2) ctx.invalid("expects rank >= 2, got " + s.to_string());
  const int64_t n = s.dim(r - 2), m = s.dim(r - 1);
  if (n < 0 || m < 0) ctx.unimplemented("Trilu of a matrix whose size is known only at run time");
  // j - i for every element, compared with k (folded when k is a constant).
  Tensor diag(DType::i64, Shape{n, m});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) diag.data<int64_t>()[i * m + j] = j - i;
  const Scope& sc = ctx.scope();
  Output k = ctx.constant_output(Tensor(int64_t{0}));
  if (ctx.has_input(1)) k = ops::reshape(sc, ops::cast(sc, ctx.input(1), DType::i64), {});
  const Output d = ctx.constant_output(diag);
  const bool upper = ctx.attrs().get_int("upper", 1) != 0;
  const Output mask = ctx.fold(upper ? ops::greater_equal(sc, d, k) : ops::less_equal(sc, d, k));
  const Output x = ctx.input(0);
  ctx.set_output(0, ops::select(sc, mask, x, ops::zeros_like(sc, x)));
}

// OneHot(indices, depth, values [off, on]) with `axis`: Sluice's one_hot (new last axis)
// moved into place; negative indices count from depth.
void build_OneHot(NodeContext& ctx) {
  const Tensor* values = ctx.constant(2);
  if (!ctx.constant(1) || !values) {  // depth or values known only at run time
    const Scope& s = ctx.scope();
    const int r = ctx.rank(0) + 1;
    const Output v = ctx.input(2);
    const Output on = ops::gather(s, v, ctx.constant_output(Tensor(int64_t{1})));
    const Output off = ops::gather(s, v, ctx.constant_output(Tensor(int64_t{0})));
    return ctx.set_output(0, ops::one_hot(s, ctx.input(0), ctx.input(1), on, off,
                                          ctx.axis(ctx.attrs().get_int("axis", -1), r), /*wrap_negative=*/true));
  }
  const std::vector<int64_t> depth = ctx.constant_ints(1, "depth");
  if (depth.size() != 1 || depth[0] < 1) ctx.invalid("depth must be one positive value");
  if (values->num_elements() != 2) ctx.invalid("values must hold [off, on]");
  const Scope& s = ctx.scope();
  Output idx = ctx.input(0);
  if (idx.dtype() != DType::i64) idx = ops::cast(s, idx, DType::i64);
  const Output neg = ops::cast(s, ops::less(s, idx, ops::scalar_like(s, idx, 0)), DType::i64);
  idx = ops::add(s, idx, ops::mul(s, neg, ops::scalar_like(s, idx, static_cast<double>(depth[0]))));
  Output y = ops::one_hot(s, idx, depth[0], values->as_double(1), values->as_double(0), values->dtype());
  const int r = ctx.rank(0) + 1;
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", -1), r);
  if (axis != r - 1) {
    std::vector<int64_t> perm;
    for (int i = 0; i < r - 1; ++i) {
      if (i == axis) perm.push_back(r - 1);
      perm.push_back(i);
    }
    y = ops::transpose(s, y, perm);
  }
  ctx.set_output(0, y);
}

// EyeLike: ones on the k-th diagonal of a matrix shaped like the input (known at import).
void build_EyeLike(NodeContext& ctx) {
  const Shape s = ctx.shape(0);
  if (!s.known_rank() || s.rank() != 2 || !s.is_fully_defined()) ctx.unimplemented("EyeLike of " + s.to_string() + " (a 2-D shape known at import time)");
  const DType dt = ctx.attrs().has("dtype") ? dtype_from_onnx(static_cast<int>(ctx.attrs().get_int("dtype", 1)), ctx.where() + ": dtype") : ctx.dtype(0);
  const int64_t k = ctx.attrs().get_int("k", 0);
  Tensor eye = Tensor::zeros(DType::f64, s);
  for (int64_t i = 0; i < s.dim(0); ++i)
    if (i + k >= 0 && i + k < s.dim(1)) eye.data<double>()[i * s.dim(1) + i + k] = 1.0;
  ctx.set_output(0, ctx.constant_output(eye.cast(dt)));
}

void build_CastLike(NodeContext& ctx) {
  const DType to = ctx.dtype(1);
  const Output x = ctx.input(0);
  if ((x.dtype() == DType::string) != (to == DType::string))
    ctx.unimplemented(std::string("CastLike from ") + dtype_name(x.dtype()) + " to " + dtype_name(to) +
                      " (numbers to and from text: Sluice has no string conversion op yet)");
  ctx.set_output(0, x.dtype() == to ? ops::identity(ctx.scope(), x) : ops::cast(ctx.scope(), x, to));
}

}  // namespace

std::vector<OpEntry> array_op_entries() {
  return {
      {"Identity", build_Identity, nullptr, "tensors"},
      {"Dropout", build_Dropout, nullptr,
       "inference: identity (mask all true); training mode (opset 6 is_test=0, 12+ training_mode, also fed at "
       "run time) draws Sluice's seeded mask, so it cannot match another runtime's random numbers"},
      {"Constant", build_Constant, nullptr, "value, value_float(s), value_int(s)"},
      {"ConstantOfShape", build_ConstantOfShape, nullptr, "value; a shape known at import time (folded) or at run time (fill)"},
      {"Shape", build_Shape, nullptr, "start/end (opset 15); folded when the dims are static, else its static dims tracked"},
      {"Size", build_Size, nullptr, "folded when the shape is static"},
      {"Reshape", build_Reshape, nullptr,
       "shape known at import time (partly known shapes from Shape/Gather/Concat arithmetic are tracked), or a "
       "shape tensor at run time; 0 copies a dim, allowzero (opset 14)"},
      {"Flatten", build_Flatten, nullptr, "any axis, negative from opset 11"},
      {"Transpose", build_Transpose, nullptr, "any perm; one transpose from a channels-last input"},
      {"Concat", build_Concat, nullptr, "any axis; channels-last inputs stay channels-last"},
      {"Split", build_Split, nullptr, "equal parts or sizes (split attr before 13, input from 13, also fed at run time)"},
      {"Slice", build_Slice, nullptr, "attributes (opset < 10) or inputs (10+, also at run time), negative and "
                                      "clamped starts/ends, axes, steps (slice_onnx when not a plain slice)"},
      {"Gather", build_Gather, nullptr, "any axis, negative indices"},
      {"Squeeze", build_Squeeze, nullptr, "axes attribute (< 13) or input (13+; at run time: a static count of axes)"},
      {"Unsqueeze", build_Unsqueeze, nullptr, "axes attribute (< 13) or input (13+; at run time: a static count of axes)"},
      {"Trilu", build_Trilu, nullptr, "upper/lower, k (also at run time); matrix size known at import time"},
      {"OneHot", build_OneHot, nullptr, "depth and values (also at run time), any axis, negative indices"},
      {"CastLike", build_CastLike, nullptr, "to the types Cast supports"},
      {"EyeLike", build_EyeLike, nullptr, "k, dtype; a shape known at import time (folded to a constant)"},
  };
}

}  // namespace sluice::io::onnx_detail
