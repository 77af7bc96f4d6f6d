// ONNX shape and indexing ops. Shape-like arguments (Reshape's shape, Slice's starts, ...)
// must be known at import time (initializers, Constant, or folded from static shapes); the
// forms that take them at run time wait on tensor-argument Sluice ops. Concat, Split, Slice,
// Transpose and Identity work on channels-last values directly; the rest read ONNX order.
#include <limits>

#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/random_ops.h"
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
  const std::vector<int64_t> dims = ctx.constant_ints(0, "shape", "fill with a tensor shape, opsarray");
  Tensor value = Tensor::zeros(DType::f32, Shape{1});
  if (ctx.attrs().has("value")) value = ctx.attrs().get_tensor("value");
  if (value.num_elements() != 1) ctx.invalid("value must hold one element, got " + value.summary());
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
    if (unknown > 1)
      ctx.unimplemented("a shape with " + std::to_string(unknown) +
                        " dims known only at run time (waits on reshape with a tensor shape, opsarray)");
  } else {
    dims = ctx.constant_ints(1, "shape", "reshape with a tensor shape, opsarray");
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
  if (inferred > 1)
    ctx.unimplemented("a target shape with several dims unknown until run time (waits on reshape with a tensor shape, opsarray)");
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

void build_Split(NodeContext& ctx) {
  const int r = ctx.rank(0);
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 0), r);
  std::vector<int64_t> sizes;
  if (ctx.opset() >= 13) {
    if (ctx.has_input(1)) sizes = ctx.constant_ints(1, "split", "split with a tensor of sizes, opsarray");
  } else {
    sizes = ctx.attrs().get_ints("split", {});
  }
  const int n = ctx.num_outputs();
  for (size_t i = 1; i < sizes.size(); ++i)
    if (sizes[i] != sizes[0]) ctx.unimplemented("unequal split sizes (waits on split with sizes, opsarray)");
  if (!sizes.empty() && static_cast<int>(sizes.size()) != n) ctx.invalid("split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(n) + " outputs");
  const bool cl = ctx.is_cl(0);
  const std::vector<Output> parts = ops::split(ctx.scope(), cl ? ctx.input_cl(0) : ctx.input(0), n, cl ? cl_axis(axis, r) : axis);
  for (int i = 0; i < n; ++i) cl ? ctx.set_output_cl(i, parts[i]) : ctx.set_output(i, parts[i]);
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
    starts = ctx.constant_ints(1, "starts", "slice with tensor arguments, opsarray");
    ends = ctx.constant_ints(2, "ends", "slice with tensor arguments, opsarray");
    if (ctx.has_input(3)) axes = ctx.constant_ints(3, "axes", "slice with tensor arguments, opsarray");
    if (ctx.has_input(4)) steps = ctx.constant_ints(4, "steps", "strided_slice, opsarray");
  }
  if (starts.size() != ends.size()) ctx.invalid("starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (axes.size() != starts.size() || (!steps.empty() && steps.size() != starts.size())) ctx.invalid("starts, ends, axes and steps differ in length");
  for (int64_t st : steps)
    if (st != 1) ctx.unimplemented("step " + std::to_string(st) + " (waits on strided_slice, opsarray)");
  std::vector<int64_t> begin(static_cast<size_t>(r), 0), size(static_cast<size_t>(r), -1);
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = ctx.axis(axes[i], r, "axes");
    if (seen[a]) ctx.invalid("repeated axis");
    seen[a] = true;
    const int64_t dim = s.dim(static_cast<int>(a));
    int64_t b = starts[i], e = ends[i];
    const bool e_to_end = e >= std::numeric_limits<int32_t>::max() && b >= 0;
    if (dim < 0 && (b < 0 || (e < 0 || !e_to_end)))
      ctx.unimplemented("slicing a dim unknown until run time with start " + std::to_string(b) + ", end " + std::to_string(e));
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

void build_Squeeze(NodeContext& ctx) {
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
  const std::vector<int64_t> depth = ctx.constant_ints(1, "depth");
  if (depth.size() != 1 || depth[0] < 1) ctx.invalid("depth must be one positive value");
  const Tensor* values = ctx.constant(2);
  if (!values) ctx.unimplemented("values known only at run time");
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
      {"ConstantOfShape", build_ConstantOfShape, nullptr, "shape known at import time"},
      {"Shape", build_Shape, nullptr, "start/end (opset 15); folded when the dims are static, else its static dims tracked"},
      {"Size", build_Size, nullptr, "folded when the shape is static"},
      {"Reshape", build_Reshape, nullptr,
       "shape known at import time, or but for one dim (Shape/Gather/Concat/arithmetic on static dims are "
       "tracked, as dynamic-batch exports need); 0 copies a dim, allowzero (opset 14)"},
      {"Flatten", build_Flatten, nullptr, "any axis, negative from opset 11"},
      {"Transpose", build_Transpose, nullptr, "any perm; one transpose from a channels-last input"},
      {"Concat", build_Concat, nullptr, "any axis; channels-last inputs stay channels-last"},
      {"Split", build_Split, nullptr, "equal parts (split attr before 13, input from 13)"},
      {"Slice", build_Slice, nullptr, "attributes (opset < 10) or constant inputs (10+), negative and clamped "
                                      "starts/ends, axes; step 1"},
      {"Gather", build_Gather, nullptr, "any axis, negative indices"},
      {"Squeeze", build_Squeeze, nullptr, "axes attribute (< 13) or constant input (13+)"},
      {"Unsqueeze", build_Unsqueeze, nullptr, "axes attribute (< 13) or constant input (13+)"},
      {"Trilu", build_Trilu, nullptr, "upper/lower, k (also at run time); matrix size known at import time"},
      {"OneHot", build_OneHot, nullptr, "constant depth and values, any axis, negative indices"},
      {"CastLike", build_CastLike, nullptr, "to the types Cast supports"},
      {"EyeLike", build_EyeLike, nullptr, "k, dtype; a shape known at import time (folded to a constant)"},
  };
}

}  // namespace sluice::io::onnx_detail
