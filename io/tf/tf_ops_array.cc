// TF op table, arrays: shapes (folded to constants when static), reshape/transpose/slice
// with constant shape-like inputs, concat/split, gather, cast, select, one-hot, fill.
#include <cmath>

#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "detail/tf_convert.h"

namespace sluice::io::tf {

namespace {

// A Const of int32 or int64 values (TF's out_type attrs).
Output int_constant(const Scope& s, const std::vector<int64_t>& v, DType dtype, bool scalar) {
  const Shape shape = scalar ? Shape{} : Shape{static_cast<int64_t>(v.size())};
  if (dtype == DType::i64) return ops::constant(s, Tensor::from_vector(v, shape));
  std::vector<int32_t> w;
  for (int64_t x : v) {
    if (x > INT32_MAX) throw InvalidArgument("value " + std::to_string(x) + " does not fit out_type int32");
    w.push_back(static_cast<int32_t>(x));
  }
  return ops::constant(s, Tensor::from_vector(w, shape));
}

DType out_type(const ConvertContext& ctx) {
  const DType t = ctx.has_attr("out_type") ? ctx.attr_dtype("out_type") : DType::i32;
  if (t != DType::i32 && t != DType::i64) ctx.invalid(std::string("out_type ") + dtype_name(t) + " (int32 or int64)");
  return t;
}

// Shape and Size become constants when the static shape is fully known (TF's constant
// folding does the same), so Reshape & co. downstream see constant inputs.
Converted convert_shape(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const Output x = ctx.input(0);
  const DType t = out_type(ctx);
  if (x.shape().is_fully_defined()) return ctx.one(int_constant(ctx.scope(), x.shape().dims(), t, false));
  if (t == DType::i64) return ctx.one(ops::shape(ctx.scope(), x));
  return ctx.one(ops::cast(ctx.scope(), ops::shape(ctx.aux("shape"), x), t));
}

Converted convert_size(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const Output x = ctx.input(0);
  const DType t = out_type(ctx);
  if (x.shape().is_fully_defined()) return ctx.one(int_constant(ctx.scope(), {x.shape().num_elements()}, t, true));
  if (t == DType::i64) return ctx.one(ops::size(ctx.scope(), x));
  return ctx.one(ops::cast(ctx.scope(), ops::size(ctx.aux("size"), x), t));
}

Converted convert_rank(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const Shape& s = ctx.input(0).shape();
  if (!s.known_rank()) ctx.unsupported("the input's rank is unknown until run time");
  return ctx.one(int_constant(ctx.scope(), {s.rank()}, DType::i32, true));
}

Converted convert_reshape(ConvertContext& ctx) {
  ctx.require_inputs(2);
  return ctx.one(ops::reshape(ctx.scope(), ctx.input(0), ctx.constant_ints(1, "the shape input")));
}

Converted convert_squeeze(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(ops::squeeze(ctx.scope(), ctx.input(0), ctx.attr_ints("squeeze_dims", std::vector<int64_t>{})));
}

Converted convert_expand_dims(ConvertContext& ctx) {
  ctx.require_inputs(2);
  return ctx.one(ops::expand_dims(ctx.scope(), ctx.input(0), ctx.constant_int(1, "the dim input")));
}

Converted convert_slice(ConvertContext& ctx) {
  ctx.require_inputs(3);
  return ctx.one(ops::slice(ctx.scope(), ctx.input(0), ctx.constant_ints(1, "the begin input"),
                            ctx.constant_ints(2, "the size input")));
}

Converted concat(ConvertContext& ctx, std::vector<Output> values, int64_t axis) {
  if (values.empty()) ctx.invalid("needs at least one value");
  if (values.size() == 1) return ctx.one(ops::identity(ctx.scope(), values[0]));
  return ctx.one(ops::concat(ctx.scope(), values, axis));
}

Converted convert_concat_v2(ConvertContext& ctx) {
  ctx.require_inputs(2, true);
  std::vector<Output> values(ctx.inputs().begin(), ctx.inputs().end() - 1);
  for (int i = 0; i + 1 < ctx.num_inputs(); ++i) values[i] = ctx.input(i);
  return concat(ctx, values, ctx.constant_int(ctx.num_inputs() - 1, "the axis input"));
}

Converted convert_concat(ConvertContext& ctx) {
  ctx.require_inputs(2, true);
  std::vector<Output> values;
  for (int i = 1; i < ctx.num_inputs(); ++i) values.push_back(ctx.input(i));
  return concat(ctx, values, ctx.constant_int(0, "the concat_dim input"));
}

Converted convert_split(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const int64_t n = ctx.attr_int("num_split");
  if (n < 1 || n > 65536) ctx.invalid("num_split must be in [1, 65536], is " + std::to_string(n));
  std::vector<Output> parts = ops::split(ctx.scope(), ctx.input(1), n, ctx.constant_int(0, "the split_dim input"));
  return Converted{parts, parts[0].op()};
}

Converted convert_fill(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const Shape shape(ctx.constant_ints(0, "the dims input"));
  if (!shape.is_fully_defined()) ctx.invalid("dims " + shape.to_string() + " has negative entries");
  const Tensor v = ctx.require_constant(1, "the value input");
  if (v.num_elements() != 1) ctx.invalid("value must be a scalar, is " + v.shape().to_string());
  if (v.dtype() == DType::i64) {
    const int64_t i = v.scalar<int64_t>();
    if (i > (int64_t{1} << 53) || i < -(int64_t{1} << 53)) ctx.unsupported("an int64 fill value beyond 2^53 is not supported");
  }
  const double d = v.as_double(0);
  return ctx.one(ops::fill(ctx.scope(), v.dtype(), shape, d));
}

Converted convert_transpose(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const std::vector<int64_t> perm = ctx.constant_ints(1, "the perm input");
  if (perm.empty() && ctx.input(0).shape().rank() != 0) ctx.invalid("an empty perm for a non-scalar input");
  if (perm.empty()) return ctx.one(ops::identity(ctx.scope(), ctx.input(0)));
  return ctx.one(ops::transpose(ctx.scope(), ctx.input(0), perm));
}

Converted convert_gather_v2(ConvertContext& ctx) {
  ctx.require_inputs(3);
  if (ctx.attr_int("batch_dims", 0) != 0) ctx.unsupported("batch_dims != 0 is not supported");
  return ctx.one(ops::gather(ctx.scope(), ctx.input(0), ctx.input(1), ctx.constant_int(2, "the axis input")));
}

Converted convert_gather(ConvertContext& ctx) {
  ctx.require_inputs(2);
  return ctx.one(ops::gather(ctx.scope(), ctx.input(0), ctx.input(1), 0));
}

Converted convert_cast(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const DType to = ctx.attr_dtype("DstT");
  if (to == ctx.input(0).dtype()) return ctx.one(ops::identity(ctx.scope(), ctx.input(0)));
  return ctx.one(ops::cast(ctx.scope(), ctx.input(0), to));
}

// TF's Select (v1): a condition of the same shape as the values, a scalar, or a vector
// picking whole rows of higher-rank values.
Converted convert_select(ConvertContext& ctx) {
  ctx.require_inputs(3);
  Output cond = ctx.input(0);
  const Output a = ctx.input(1), b = ctx.input(2);
  const int rank = a.shape().rank();
  if (cond.shape().rank() == 1 && rank > 1) {
    std::vector<int64_t> dims(static_cast<size_t>(rank), 1);
    dims[0] = -1;
    cond = ops::reshape(ctx.aux("cond"), cond, dims);
  } else if (cond.shape().rank() > 0 && rank >= 0 && cond.shape().rank() != rank) {
    ctx.invalid("condition " + cond.shape().to_string() + " must be a scalar, a vector or of the values' shape " +
                a.shape().to_string());
  }
  return ctx.one(ops::select(ctx.scope(), cond, a, b));
}

Converted convert_select_v2(ConvertContext& ctx) {
  ctx.require_inputs(3);
  return ctx.one(ops::select(ctx.scope(), ctx.input(0), ctx.input(1), ctx.input(2)));
}

Converted convert_one_hot(ConvertContext& ctx) {
  ctx.require_inputs(4);
  if (ctx.attr_int("axis", -1) != -1) ctx.unsupported("only axis -1 is supported");
  const int64_t depth = ctx.constant_int(1, "the depth input");
  if (depth < 0) ctx.invalid("depth must be >= 0, is " + std::to_string(depth));
  const Tensor on = ctx.require_constant(2, "on_value"), off = ctx.require_constant(3, "off_value");
  if (on.num_elements() != 1 || off.num_elements() != 1 || on.dtype() != off.dtype())
    ctx.invalid("on_value and off_value must be scalars of one dtype");
  return ctx.one(ops::one_hot(ctx.scope(), ctx.input(0), depth, on.as_double(0), off.as_double(0), on.dtype()));
}

}  // namespace

void add_array_ops(std::vector<OpEntry>& t) {
  t.push_back({"Shape", convert_shape, "Const (static shape) / Shape (+ Cast)", "`out_type` int32 (default) or int64"});
  t.push_back({"Size", convert_size, "Const (static shape) / Size (+ Cast)", "`out_type` int32 or int64"});
  t.push_back({"Rank", convert_rank, "Const", "the input's rank must be known statically"});
  t.push_back({"Reshape", convert_reshape, "Reshape", "constant shape (one -1 allowed)"});
  t.push_back({"Squeeze", convert_squeeze, "Squeeze", "`squeeze_dims` (empty: every size-1 dim)"});
  t.push_back({"ExpandDims", convert_expand_dims, "ExpandDims", "constant dim, negative allowed"});
  t.push_back({"Slice", convert_slice, "Slice", "constant begin and size (-1: to the end)"});
  t.push_back({"ConcatV2", convert_concat_v2, "Concat", "constant axis (last input), negative allowed"});
  t.push_back({"Concat", convert_concat, "Concat", "constant concat_dim (first input)"});
  t.push_back({"Split", convert_split, "Split", "constant split_dim; `num_split` must divide the dim"});
  t.push_back({"Fill", convert_fill, "Fill", "constant dims and value"});
  t.push_back({"ZerosLike", [](ConvertContext& c) { c.require_inputs(1); return c.one(ops::zeros_like(c.scope(), c.input(0))); },
               "ZerosLike", ""});
  t.push_back({"OnesLike", [](ConvertContext& c) { c.require_inputs(1); return c.one(ops::ones_like(c.scope(), c.input(0))); },
               "OnesLike", ""});
  t.push_back({"Transpose", convert_transpose, "Transpose", "constant perm"});
  t.push_back({"GatherV2", convert_gather_v2, "Gather", "constant axis; `batch_dims` 0; out-of-range indices are "
               "an error (as TF on CPU)"});
  t.push_back({"Gather", convert_gather, "Gather", "axis 0"});
  t.push_back({"Cast", convert_cast, "Cast (Identity when the dtype is unchanged)", "`DstT`; float -> int truncates; "
               "`Truncate` ignored"});
  t.push_back({"Select", convert_select, "Select (+ Reshape of a vector condition)", "TF v1 rules: condition of the "
               "values' shape, a scalar, or a vector selecting rows"});
  t.push_back({"SelectV2", convert_select_v2, "Select", "broadcasting"});
  t.push_back({"OneHot", convert_one_hot, "OneHot", "constant depth, on_value, off_value; `axis` -1; out-of-range "
               "indices give an all-off row"});
}

}  // namespace sluice::io::tf
