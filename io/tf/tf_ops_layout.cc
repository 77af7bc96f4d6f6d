// TF op table, layout and indexing: strided slices (all five masks), pack/unpack, pads,
// tile, broadcast, range, split_v, where, gather_nd/scatter_nd, reverse, top_k, cumulative
// sums, depth/space rearrangement. Index-like inputs may be constants or run-time tensors:
// the Sluice ops read them as tensors either way.
#include "../../ops/array_ops.h"
#include "../../ops/index_ops.h"
#include "../../ops/layout_ops.h"
#include "../../ops/scan_ops.h"
#include "../../ops/shape_ops.h"
#include "../../ops/slice_ops.h"
#include "../../ops/sort_ops.h"
#include "detail/tf_convert.h"

namespace sluice::io::tf {

namespace {

Converted many(const std::vector<Output>& outs) { return Converted{outs, outs.at(0).op()}; }

Converted convert_strided_slice(ConvertContext& ctx) {
  ctx.require_inputs(4);
  return ctx.one(ops::strided_slice(ctx.scope(), ctx.input(0), ctx.input(1), ctx.input(2), ctx.input(3),
                                    ctx.attr_int("begin_mask", 0), ctx.attr_int("end_mask", 0),
                                    ctx.attr_int("ellipsis_mask", 0), ctx.attr_int("new_axis_mask", 0),
                                    ctx.attr_int("shrink_axis_mask", 0)));
}

Converted convert_pack(ConvertContext& ctx) {
  ctx.require_inputs(1, true);
  if (ctx.has_attr("N") && ctx.attr_int("N") != ctx.num_inputs())
    ctx.invalid("attr N is " + std::to_string(ctx.attr_int("N")) + " but the node has " +
                std::to_string(ctx.num_inputs()) + " inputs");
  std::vector<Output> values;
  for (int i = 0; i < ctx.num_inputs(); ++i) values.push_back(ctx.input(i));
  return ctx.one(ops::stack(ctx.scope(), values, ctx.attr_int("axis", 0)));
}

Converted convert_unpack(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const int64_t num = ctx.attr_int("num");
  if (num < 0 || num > 65536) ctx.invalid("num must be in [0, 65536], is " + std::to_string(num));
  if (num == 0) ctx.unsupported("num 0 (no outputs) is not supported");
  return many(ops::unstack(ctx.scope(), ctx.input(0), ctx.attr_int("axis", 0), num));
}

Converted convert_split_v(ConvertContext& ctx) {
  ctx.require_inputs(3);
  const std::vector<int64_t> sizes = ctx.constant_ints(1, "the size_splits input");
  if (sizes.empty() || sizes.size() > 65536) ctx.invalid("size_splits must have 1 to 65536 entries");
  if (ctx.has_attr("num_split") && ctx.attr_int("num_split") != static_cast<int64_t>(sizes.size()))
    ctx.invalid("num_split is " + std::to_string(ctx.attr_int("num_split")) + " but size_splits has " +
                std::to_string(sizes.size()) + " entries");
  return many(ops::split_v(ctx.scope(), ctx.input(0), sizes, ctx.constant_int(2, "the split_dim input")));
}

// Where(x) (one input): the int64 coordinates [n, rank] of x's true (non-zero) elements.
Converted convert_where(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(ops::transpose(ctx.scope(), ops::non_zero(ctx.aux("non_zero"), ctx.input(0)), {1, 0}));
}

// MirrorPad: TF requires REFLECT pads <= d - 1 and SYMMETRIC pads <= d (Sluice's kernel
// would keep mirroring, as NumPy does): checked when the paddings and dims are known.
Converted convert_pad(ConvertContext& ctx) {
  const std::string& op = ctx.op_type();
  ctx.require_inputs(op == "PadV2" ? 3 : 2);
  const Output x = ctx.input(0);
  std::string mode = "constant";
  if (op == "MirrorPad") {
    mode = ctx.attr_string("mode");
    if (mode != "REFLECT" && mode != "SYMMETRIC") ctx.invalid("mode '" + mode + "' (REFLECT or SYMMETRIC)");
    if (std::optional<Tensor> p = ctx.constant_input(1); p && x.shape().known_rank()) {
      const int64_t slack = mode == "REFLECT" ? 1 : 0;
      for (int64_t d = 0; d < x.shape().rank() && 2 * d + 1 < p->num_elements(); ++d) {
        const int64_t n = x.shape().dim(static_cast<int>(d));
        const double lo = p->as_double(2 * d), hi = p->as_double(2 * d + 1);
        if (n >= 0 && (lo > static_cast<double>(n - slack) || hi > static_cast<double>(n - slack)))
          ctx.invalid("paddings of dim " + std::to_string(d) + " must be at most " + std::to_string(n - slack) +
                      " in " + mode + " mode (input " + x.shape().to_string() + ")");
      }
    }
  }
  if (std::optional<Tensor> p = ctx.constant_input(1)) {
    for (int64_t i = 0; i < p->num_elements(); ++i)
      if (p->as_double(i) < 0) ctx.invalid("paddings must be >= 0 (TF does not crop)");
  }
  return ctx.one(ops::pad(ctx.scope(), x, ctx.input(1), mode, op == "PadV2" ? ctx.input(2) : Output()));
}

Converted convert_range(ConvertContext& ctx) {
  ctx.require_inputs(3);
  return ctx.one(ops::range(ctx.scope(), ctx.input(0), ctx.input(1), ctx.input(2)));
}

Converted convert_reverse_v2(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const std::vector<int64_t> axes = ctx.constant_ints(1, "the axis input");
  if (axes.empty()) return ctx.one(ops::identity(ctx.scope(), ctx.input(0)));
  return ctx.one(ops::reverse(ctx.scope(), ctx.input(0), axes));
}

// TopKV2: values and int32 indices of the k largest along the last axis (ties: lower index
// first, as TF).
Converted convert_top_k(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const ops::TopK r = ops::top_k(ctx.scope(), ctx.input(0), ctx.input(1), -1, true, ctx.attr_bool("sorted", true),
                                 DType::i32);
  return Converted{{r.values, r.indices}, r.values.op()};
}

template <Output (*f)(const Scope&, const Output&, const Output&, bool, bool)>
Converted cumulative(ConvertContext& ctx) {
  ctx.require_inputs(2);
  return ctx.one(f(ctx.scope(), ctx.input(0), ctx.input(1), ctx.attr_bool("exclusive", false),
                   ctx.attr_bool("reverse", false)));
}

template <Output (*f)(const Scope&, const Output&, int64_t, const std::string&, const std::string&)>
Converted depth_space(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const std::string format = is_nchw(ctx) ? "NCHW" : "NHWC";
  return ctx.one(f(ctx.scope(), ctx.input(0), ctx.attr_int("block_size"), "DCR", format));
}

}  // namespace

void add_layout_ops(std::vector<OpEntry>& t) {
  t.push_back({"StridedSlice", convert_strided_slice, "StridedSlice",
               "`begin_mask`, `end_mask`, `ellipsis_mask`, `new_axis_mask`, `shrink_axis_mask` exactly as TF; "
               "begin/end/strides int32 or int64, constant or computed (e.g. from a run-time Shape)"});
  t.push_back({"Pack", convert_pack, "Stack", "`axis` (negative allowed), `N` inputs of one shape and dtype"});
  t.push_back({"Unpack", convert_unpack, "Unstack", "`axis`, `num` (1..65536) outputs"});
  t.push_back({"SplitV", convert_split_v, "SplitV", "constant size_splits (one -1 allowed) and split_dim"});
  t.push_back({"Where", convert_where, "NonZero + Transpose", "one input (any dtype): int64 [n, rank] "
               "coordinates of the non-zero elements in row-major order"});
  const char* pad = "paddings int32/int64 [rank, 2] (constant or computed), >= 0";
  t.push_back({"Pad", convert_pad, "Pad (constant 0)", pad});
  t.push_back({"PadV2", convert_pad, "Pad (constant)", "as Pad; constant_values a scalar of the input's dtype"});
  t.push_back({"MirrorPad", convert_pad, "Pad (reflect / symmetric)",
               "`mode` REFLECT (pads <= dim - 1) or SYMMETRIC (pads <= dim), checked when known"});
  t.push_back({"Tile", [](ConvertContext& c) { c.require_inputs(2); return c.one(ops::tile(c.scope(), c.input(0), c.input(1))); },
               "Tile", "multiples int32/int64 [rank], >= 0"});
  t.push_back({"BroadcastTo",
               [](ConvertContext& c) { c.require_inputs(2); return c.one(ops::broadcast_to(c.scope(), c.input(0), c.input(1))); },
               "BroadcastTo", "shape int32/int64 (NumPy broadcasting rules)"});
  t.push_back({"Range", convert_range, "Range", "start, limit, delta scalars (int32/int64/float32/float64); TF's "
               "rules: delta 0 or pointing away from limit is an error; floats accumulate as TF"});
  t.push_back({"GatherNd",
               [](ConvertContext& c) { c.require_inputs(2); return c.one(ops::gather_nd(c.scope(), c.input(0), c.input(1))); },
               "GatherNd", "indices int32/int64; out-of-range indices are an error (as TF on CPU)"});
  t.push_back({"ScatterNd",
               [](ConvertContext& c) { c.require_inputs(3); return c.one(ops::scatter_nd(c.scope(), c.input(0), c.input(1), c.input(2))); },
               "ScatterNd", "duplicate indices add up (in index order: deterministic)"});
  t.push_back({"ReverseV2", convert_reverse_v2, "Reverse", "constant axes"});
  t.push_back({"TopKV2", convert_top_k, "TopK", "k a scalar (constant or computed), along the last axis; `sorted`; "
               "indices int32; ties keep the lower index first"});
  t.push_back({"Cumsum", cumulative<ops::cumsum>, "Cumsum", "axis scalar; `exclusive`, `reverse`"});
  t.push_back({"Cumprod", cumulative<ops::cumprod>, "Cumprod", "axis scalar; `exclusive`, `reverse`"});
  t.push_back({"DepthToSpace", depth_space<ops::depth_to_space>, "DepthToSpace",
               "`block_size`, `data_format` NHWC or NCHW (TF's DCR channel order)"});
  t.push_back({"SpaceToDepth", depth_space<ops::space_to_depth>, "SpaceToDepth",
               "`block_size`, `data_format` NHWC or NCHW"});
}

}  // namespace sluice::io::tf
