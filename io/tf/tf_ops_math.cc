// TF op table, math: elementwise arithmetic (NumPy/TF broadcasting), comparisons and
// logic, matmul, bias, reductions with constant axes.
#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/nn_ops.h"
#include "../../ops/reduction_ops.h"
#include "detail/tf_convert.h"

namespace sluice::io::tf {

namespace {

template <Output (*f)(const Scope&, const Output&)>
Converted unary(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(f(ctx.scope(), ctx.input(0)));
}

template <Output (*f)(const Scope&, const Output&, const Output&)>
Converted binary(ConvertContext& ctx) {
  ctx.require_inputs(2);
  return ctx.one(f(ctx.scope(), ctx.input(0), ctx.input(1)));
}

Converted convert_add_n(ConvertContext& ctx) {
  ctx.require_inputs(1, true);
  return ctx.one(ops::add_n(ctx.scope(), ctx.inputs()));
}

Converted convert_matmul(ConvertContext& ctx) {
  ctx.require_inputs(2);
  return ctx.one(ops::matmul(ctx.scope(), ctx.input(0), ctx.input(1), ctx.attr_bool("transpose_a", false),
                             ctx.attr_bool("transpose_b", false)));
}

// bias [C] added along the channel axis: the last (NHWC) or axis 1 (NCHW, bias viewed as
// [C, 1, .., 1]).
Converted convert_bias_add(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const Output x = ctx.input(0), bias = ctx.input(1);
  if (!is_nchw(ctx)) return ctx.one(ops::bias_add(ctx.scope(), x, bias));
  const int rank = x.shape().rank();
  if (rank < 3) ctx.unsupported("NCHW needs an input of known rank >= 3, got " + x.shape().to_string());
  std::vector<int64_t> dims(static_cast<size_t>(rank - 1), 1);
  dims[0] = -1;
  Output b;
  if (std::optional<Tensor> c = constant_value(bias)) {
    dims[0] = c->num_elements();
    b = ops::constant(ctx.aux("bias"), c->reshaped(Shape(dims)));
  } else {
    b = ops::reshape(ctx.aux("bias"), bias, dims);
  }
  if (bias.shape().rank() != 1) ctx.invalid("bias must be 1-d, is " + bias.shape().to_string());
  return ctx.one(ops::add(ctx.scope(), x, b));
}

// Sum/Mean/Max/Min over constant axes (reduction_indices); TF reduces over nothing when
// the axes are empty, where Sluice's empty list means "all axes".
template <Output (*f)(const Scope&, const Output&, const std::vector<int64_t>&, bool)>
Converted reduction(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const std::vector<int64_t> axes = ctx.constant_ints(1, "the reduction axes input");
  const bool keep = ctx.attr_bool("keep_dims", false);
  if (axes.empty()) return ctx.one(ops::identity(ctx.scope(), ctx.input(0)));
  return ctx.one(f(ctx.scope(), ctx.input(0), axes, keep));
}

template <Output (*f)(const Scope&, const Output&, int64_t)>
Converted arg_reduction(ConvertContext& ctx) {
  ctx.require_inputs(2);
  const int64_t axis = ctx.constant_int(1, "the dimension input");
  const DType out = ctx.has_attr("output_type") ? ctx.attr_dtype("output_type") : DType::i64;
  if (out == DType::i64) return ctx.one(f(ctx.scope(), ctx.input(0), axis));
  if (out != DType::i32) ctx.invalid(std::string("output_type ") + dtype_name(out) + " (int32 or int64)");
  return ctx.one(ops::cast(ctx.scope(), f(ctx.aux("arg"), ctx.input(0), axis), DType::i32));
}

// L2Loss = sum(x^2) / 2, a composite until a fused op exists.
Converted convert_l2_loss(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const Output x = ctx.input(0);
  Output s = ops::sum(ctx.aux("sum"), ops::square(ctx.aux("square"), x));
  return ctx.one(ops::mul(ctx.scope(), s, ops::scalar_like(ctx.aux("half"), x, 0.5)));
}

}  // namespace

void add_math_ops(std::vector<OpEntry>& t) {
  const char* bc = "broadcasting as TF (NumPy rules)";
  t.push_back({"Add", binary<ops::add>, "Add", bc});
  t.push_back({"AddV2", binary<ops::add>, "Add", bc});
  t.push_back({"Sub", binary<ops::sub>, "Sub", bc});
  t.push_back({"Mul", binary<ops::mul>, "Mul", bc});
  t.push_back({"RealDiv", binary<ops::div>, "Div", bc});
  t.push_back({"Div", binary<ops::div>, "Div", "integers truncate toward zero (as TF's Div kernel, not Python's //); "
               "integer division by zero is an error"});
  t.push_back({"TruncateDiv", binary<ops::div>, "Div", "integers truncate toward zero"});
  t.push_back({"Maximum", binary<ops::maximum>, "Maximum", bc});
  t.push_back({"Minimum", binary<ops::minimum>, "Minimum", bc});
  t.push_back({"Pow", binary<ops::pow>, "Pow", "float32/float64"});
  t.push_back({"Neg", unary<ops::neg>, "Neg", ""});
  t.push_back({"Abs", unary<ops::abs>, "Abs", ""});
  t.push_back({"Sign", unary<ops::sign>, "Sign", ""});
  t.push_back({"Square", unary<ops::square>, "Square", ""});
  t.push_back({"Sqrt", unary<ops::sqrt>, "Sqrt", "float"});
  t.push_back({"Rsqrt", unary<ops::rsqrt>, "Rsqrt", "float"});
  t.push_back({"Exp", unary<ops::exp>, "Exp", "float"});
  t.push_back({"Log", unary<ops::log>, "Log", "float"});
  t.push_back({"Reciprocal", unary<ops::reciprocal>, "Reciprocal", "float"});
  t.push_back({"Inv", unary<ops::reciprocal>, "Reciprocal", "float"});
  t.push_back({"Sigmoid", unary<ops::sigmoid>, "Sigmoid", "float"});
  t.push_back({"Tanh", unary<ops::tanh>, "Tanh", "float"});
  t.push_back({"Equal", binary<ops::equal>, "Equal", bc});
  t.push_back({"NotEqual", binary<ops::not_equal>, "NotEqual", bc});
  t.push_back({"Less", binary<ops::less>, "Less", bc});
  t.push_back({"LessEqual", binary<ops::less_equal>, "LessEqual", bc});
  t.push_back({"Greater", binary<ops::greater>, "Greater", bc});
  t.push_back({"GreaterEqual", binary<ops::greater_equal>, "GreaterEqual", bc});
  t.push_back({"LogicalAnd", binary<ops::logical_and>, "LogicalAnd", bc});
  t.push_back({"LogicalOr", binary<ops::logical_or>, "LogicalOr", bc});
  t.push_back({"LogicalNot", unary<ops::logical_not>, "LogicalNot", ""});
  t.push_back({"AddN", convert_add_n, "AddN", "N >= 1 inputs of one shape"});
  t.push_back({"MatMul", convert_matmul, "MatMul", "`transpose_a`, `transpose_b`; float32/float64"});
  t.push_back({"BiasAdd", convert_bias_add, "BiasAdd; NCHW: Add of bias as [C,1,..]", "`data_format` NHWC/NCHW"});
  t.push_back({"BiasAddV1", convert_bias_add, "BiasAdd", "NHWC"});
  const char* red = "constant axes (scalar or list, negative allowed; empty reduces nothing, as TF); `keep_dims`";
  t.push_back({"Sum", reduction<ops::sum>, "Sum", red});
  t.push_back({"Mean", reduction<ops::mean>, "Mean", red});
  t.push_back({"Max", reduction<ops::max>, "Max", red});
  t.push_back({"Min", reduction<ops::min>, "Min", red});
  t.push_back({"ArgMax", arg_reduction<ops::argmax>, "ArgMax (+ Cast)", "constant axis; `output_type` int64 or int32"});
  t.push_back({"ArgMin", arg_reduction<ops::argmin>, "ArgMin (+ Cast)", "constant axis; `output_type` int64 or int32"});
  t.push_back({"L2Loss", convert_l2_loss, "Sum(Square(x)) * 0.5", "composite"});
}

}  // namespace sluice::io::tf
