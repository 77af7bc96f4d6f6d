// ONNX layout, indexing and ordering ops with tensor arguments: Pad, Range, Expand, Tile,
// the gathers and scatters, DepthToSpace / SpaceToDepth, NonZero, CumSum, TopK, and Resize /
// Upsample (computed channels-last on Sluice's NHWC resize). Their shape-like inputs may be
// known only at run time.
#include "../../ops/array_ops.h"
#include "../../ops/image_ops.h"
#include "../../ops/index_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/scan_ops.h"
#include "../../ops/sort_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

Output as_i64(NodeContext& ctx, const Output& x) { return x.dtype() == DType::i64 ? x : ops::cast(ctx.scope(), x, DType::i64); }

// Pad-2 (pads / value attributes) and Pad-11+ (pads and constant_value inputs).
void build_Pad(NodeContext& ctx) {
  const Scope& s = ctx.scope();
  const std::string mode = ctx.attrs().get_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") ctx.invalid("mode '" + mode + "' (constant, reflect or edge)");
  const Output x = ctx.input(0);
  Output pads, value;
  if (ctx.opset() < 11) {
    const std::vector<int64_t> p = ctx.attrs().get_ints("pads", {});
    pads = ctx.constant_output(Tensor::from_vector(p, Shape{static_cast<int64_t>(p.size())}));
    value = ops::scalar_like(s, x, ctx.attrs().get_float("value", 0.0f));
  } else {
    pads = as_i64(ctx, ctx.input(1));
    if (ctx.has_input(2)) value = ops::reshape(s, ctx.input(2), std::vector<int64_t>{});
  }
  ctx.set_output(0, ops::pad(s, x, pads, mode, mode == "constant" ? value : Output()));
}

void build_Range(NodeContext& ctx) {
  auto scalar = [&](int i) { return ops::reshape(ctx.scope(), ctx.input(i), std::vector<int64_t>{}); };
  ctx.set_output(0, ops::range(ctx.scope(), scalar(0), scalar(1), scalar(2), /*onnx=*/true));
}

void build_Expand(NodeContext& ctx) { ctx.set_output(0, ops::expand(ctx.scope(), ctx.input(0), as_i64(ctx, ctx.input(1)))); }

void build_Tile(NodeContext& ctx) {
  if (ctx.opset() < 6) ctx.unimplemented("Tile-1 (tiles/axis inputs)");
  ctx.set_output(0, ops::tile(ctx.scope(), ctx.input(0), as_i64(ctx, ctx.input(1))));
}

void build_GatherElements(NodeContext& ctx) {
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 0), ctx.rank(0));
  ctx.set_output(0, ops::gather_elements(ctx.scope(), ctx.input(0), ctx.input(1), axis));
}

// ScatterElements and its deprecated alias Scatter (opsets 9-10).
void build_ScatterElements(NodeContext& ctx) {
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", 0), ctx.rank(0));
  ctx.set_output(0, ops::scatter_elements(ctx.scope(), ctx.input(0), ctx.input(1), ctx.input(2), axis,
                                          ctx.attrs().get_string("reduction", "none")));
}

void build_GatherND(NodeContext& ctx) {
  ctx.set_output(0, ops::gather_nd(ctx.scope(), ctx.input(0), ctx.input(1), ctx.attrs().get_int("batch_dims", 0)));
}

void build_ScatterND(NodeContext& ctx) {
  ctx.set_output(0, ops::tensor_scatter_nd(ctx.scope(), ctx.input(0), ctx.input(1), ctx.input(2),
                                           ctx.attrs().get_string("reduction", "none")));
}

// DepthToSpace / SpaceToDepth: NHWC on a channels-last input, else NCHW.
void build_space(NodeContext& ctx, bool to_space) {
  if (ctx.rank(0) != 4) ctx.invalid("expects a 4-D input, got " + ctx.shape(0).to_string());
  const int64_t b = ctx.attrs().get_int("blocksize", 0);
  if (b < 1) ctx.invalid("blocksize must be positive");
  const std::string mode = to_space ? ctx.attrs().get_string("mode", "DCR") : "DCR";
  const bool cl = ctx.is_cl(0);
  const Output x = cl ? ctx.input_cl(0) : ctx.input(0);
  const char* fmt = cl ? "NHWC" : "NCHW";
  const Output y = to_space ? ops::depth_to_space(ctx.scope(), x, b, mode, fmt) : ops::space_to_depth(ctx.scope(), x, b, mode, fmt);
  cl ? ctx.set_output_cl(0, y) : ctx.set_output(0, y);
}
void build_DepthToSpace(NodeContext& ctx) { build_space(ctx, true); }
void build_SpaceToDepth(NodeContext& ctx) { build_space(ctx, false); }

void build_NonZero(NodeContext& ctx) { ctx.set_output(0, ops::non_zero(ctx.scope(), ctx.input(0))); }

void build_CumSum(NodeContext& ctx) {
  const Output axis = ops::reshape(ctx.scope(), ctx.input(1), std::vector<int64_t>{});
  ctx.set_output(0, ops::cumsum(ctx.scope(), ctx.input(0), axis, ctx.attrs().get_int("exclusive", 0) != 0,
                                ctx.attrs().get_int("reverse", 0) != 0));
}

// TopK-1 (k attribute), 10+ (K input [1]), 11+ (largest, sorted).
void build_TopK(NodeContext& ctx) {
  const int64_t axis = ctx.axis(ctx.attrs().get_int("axis", -1), ctx.rank(0));
  const bool largest = ctx.attrs().get_int("largest", 1) != 0, sorted = ctx.attrs().get_int("sorted", 1) != 0;
  const ops::TopK t = ctx.opset() < 10
                          ? ops::top_k(ctx.scope(), ctx.input(0), ctx.attrs().get_int("k", 0), axis, largest, sorted)
                          : ops::top_k(ctx.scope(), ctx.input(0), as_i64(ctx, ctx.input(1)), axis, largest, sorted);
  ctx.set_output(0, t.values);
  ctx.set_output(1, t.indices);
}

// Resize-10/11/13 and Upsample-7/9 of a 4-D NCHW input over H and W (N and C unscaled), run
// channels-last. Scales (constant) or sizes (constant or at run time).
void build_resize(NodeContext& ctx, bool upsample) {
  const Scope& s = ctx.scope();
  const Attrs& a = ctx.attrs();
  if (ctx.rank(0) != 4) ctx.unimplemented("resizing a rank-" + std::to_string(ctx.rank(0)) + " input (4-D NCHW only)");
  ops::ResizeOptions opt;
  std::string mode = a.get_string("mode", "nearest");
  if (mode == "bilinear") mode = "linear";  // Upsample-7's name
  opt.mode = mode;
  const bool legacy = upsample || ctx.opset() < 11;
  int scales_input = upsample ? 1 : ctx.opset() < 11 ? 1 : 2;
  if (legacy) {
    opt.coordinate_transformation_mode = "asymmetric";
    opt.nearest_mode = "floor";
  } else {
    opt.coordinate_transformation_mode = a.get_string("coordinate_transformation_mode", "half_pixel");
    opt.nearest_mode = a.get_string("nearest_mode", "round_prefer_floor");
    opt.cubic_coeff_a = a.get_float("cubic_coeff_a", -0.75f);
    opt.exclude_outside = a.get_int("exclude_outside", 0) != 0;
  }
  std::vector<double> scales;
  if (upsample && ctx.opset() < 9) {
    for (float f : a.get_floats("scales")) scales.push_back(f);
  } else if (ctx.has_input(scales_input) && (ctx.constant(scales_input) == nullptr ||
                                              ctx.constant(scales_input)->num_elements() > 0)) {
    const Tensor* t = ctx.constant(scales_input);
    if (!t) ctx.unimplemented("scales known only at run time");
    for (int64_t i = 0; i < t->num_elements(); ++i) scales.push_back(t->as_double(i));
  }
  const Output x = ctx.input_cl(0);
  Output y;
  if (!scales.empty()) {
    if (scales.size() != 4) ctx.invalid("scales has " + std::to_string(scales.size()) + " entries for a 4-D input");
    if (scales[0] != 1.0 || scales[1] != 1.0) ctx.unimplemented("scaling the batch or channel axis");
    if (legacy && mode == "nearest" && (scales[2] < 1.0 || scales[3] < 1.0)) opt.nearest_mode = "ceil";
    opt.scales = {scales[2], scales[3]};
    y = ops::resize(s, x, ctx.constant_output(Tensor::zeros(DType::i64, Shape{0})), opt);
  } else {
    if (legacy || !ctx.has_input(3)) ctx.invalid("neither scales nor sizes given");
    Output sizes = as_i64(ctx, ctx.input(3));
    if (const Tensor* t = ctx.constant(3)) {
      const std::vector<int64_t> v = t->cast(DType::i64).to_vector<int64_t>();
      if (v.size() != 4) ctx.invalid("sizes has " + std::to_string(v.size()) + " entries for a 4-D input");
      const Shape in = ctx.shape(0);
      if ((in.dim(0) >= 0 && v[0] != in.dim(0)) || (in.dim(1) >= 0 && v[1] != in.dim(1)))
        ctx.unimplemented("resizing the batch or channel axis");
      y = ops::resize(s, x, std::vector<int64_t>{v[2], v[3]}, opt);
    } else {
      y = ops::resize(s, x, ops::slice(s, sizes, {2}, {2}), opt);
    }
  }
  ctx.set_output_cl(0, y);
}
void build_Resize(NodeContext& ctx) { build_resize(ctx, false); }
void build_Upsample(NodeContext& ctx) { build_resize(ctx, true); }

std::string check_resize(const Attrs& attrs, int) {
  const std::string ctm = attrs.get_string("coordinate_transformation_mode", "half_pixel");
  if (ctm == "tf_crop_and_resize") return "coordinate_transformation_mode tf_crop_and_resize (roi)";
  return "";
}

}  // namespace

std::vector<OpEntry> index_op_entries() {
  return {
      {"Pad", build_Pad, nullptr, "constant, reflect, edge; pads/value attributes (< 11) or inputs, also at run time"},
      {"Range", build_Range, nullptr, "start, limit, delta scalars, also at run time"},
      {"Expand", build_Expand, nullptr, "bidirectional broadcast to a shape tensor, also at run time"},
      {"Tile", build_Tile, nullptr, "repeats input, also at run time (opset 6+)"},
      {"GatherElements", build_GatherElements, nullptr, "any axis, negative indices"},
      {"ScatterElements", build_ScatterElements, nullptr, "any axis, negative indices, reduction none/add/mul"},
      {"Scatter", build_ScatterElements, nullptr, "as ScatterElements (opsets 9-10)"},
      {"GatherND", build_GatherND, nullptr, "batch_dims, negative indices"},
      {"ScatterND", build_ScatterND, nullptr, "reduction none/add/mul"},
      {"DepthToSpace", build_DepthToSpace, nullptr, "DCR and CRD; channels-last inputs stay channels-last"},
      {"SpaceToDepth", build_SpaceToDepth, nullptr, "blocksize; channels-last inputs stay channels-last"},
      {"NonZero", build_NonZero, nullptr, "any numeric or bool input"},
      {"CumSum", build_CumSum, nullptr, "axis input (also at run time), exclusive, reverse"},
      {"TopK", build_TopK, nullptr, "k attribute (< 10) or input (also at run time), axis, largest, sorted"},
      {"Resize", build_Resize, check_resize,
       "4-D NCHW over H and W: nearest/linear/cubic, every coordinate_transformation_mode but "
       "tf_crop_and_resize, nearest_mode, cubic_coeff_a, exclude_outside; constant scales, or sizes (also at run "
       "time); Resize-10 as Upsample; computed channels-last"},
      {"Upsample", build_Upsample, nullptr, "nearest/linear (bilinear) over H and W, scales attribute (7) or constant input (9)"},
  };
}

}  // namespace sluice::io::onnx_detail
