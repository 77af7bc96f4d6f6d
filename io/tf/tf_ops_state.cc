// TF op table, graph plumbing and state: constants, placeholders, identities, variables
// (reference and resource), assignment, random numbers.
#include "../../ops/array_ops.h"
#include "../../ops/random_ops.h"
#include "../../ops/state_ops.h"
#include "detail/tf_convert.h"

namespace sluice::io::tf {

namespace {

Converted convert_const(ConvertContext& ctx) {
  ctx.require_inputs(0);
  Tensor value = ctx.attr_tensor("value");
  if (ctx.has_attr("dtype")) {
    const DType want = ctx.attr_dtype("dtype");
    if (want != value.dtype())
      ctx.invalid(std::string("attr 'dtype' is ") + dtype_name(want) + " but the value is " + dtype_name(value.dtype()));
  }
  return ctx.one(ops::constant(ctx.scope(), value));
}

Converted convert_placeholder(ConvertContext& ctx) {
  ctx.require_inputs(0);
  return ctx.one(ops::placeholder(ctx.scope(), ctx.attr_dtype("dtype"), ctx.attr_shape("shape", Shape::unknown_rank())));
}

Converted convert_placeholder_with_default(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(ops::placeholder_with_default(ctx.scope(), ctx.input(0), ctx.attr_shape("shape", Shape::unknown_rank())));
}

// Identity keeps its name (so "output:0" can be fetched) but, without control inputs, its
// consumers read its input directly: no extra op in the hot path.
Converted convert_identity(ConvertContext& ctx) {
  ctx.require_inputs(1);
  Output y = ops::identity(ctx.scope(), ctx.input(0));
  return Converted{{ctx.has_control_inputs() ? y : ctx.input(0)}, y.op()};
}

Converted convert_identity_n(ConvertContext& ctx) {
  std::vector<Output> outs;
  for (int i = 0; i < ctx.num_inputs(); ++i) outs.push_back(ctx.input(i));
  std::vector<Operation> deps;
  for (const Output& x : outs) deps.push_back(x.op());
  if (outs.size() == 1 && !ctx.has_control_inputs()) return convert_identity(ctx);
  // A NoOp carries the name and orders after the inputs; its values are the inputs.
  Operation op = ops::no_op(ctx.scope(), deps);
  if (ctx.has_control_inputs()) {
    for (size_t i = 0; i < outs.size(); ++i) outs[i] = ops::identity(ctx.aux("out" + std::to_string(i)), outs[i]);
  }
  return Converted{outs, op};
}

Converted convert_stop_gradient(ConvertContext& ctx) {
  ctx.require_inputs(1);
  return ctx.one(ops::stop_gradient(ctx.scope(), ctx.input(0)));
}

Converted convert_no_op(ConvertContext& ctx) {
  std::vector<Operation> deps;
  for (const Output& x : ctx.inputs()) deps.push_back(x.op());
  return Converted{{}, ops::no_op(ctx.scope(), deps)};
}

Converted make_variable(ConvertContext& ctx) {
  const Shape shape = ctx.attr_shape("shape");
  if (!shape.is_fully_defined())
    ctx.unsupported("variables of a not fully defined shape " + shape.to_string() + " are not supported");
  Operation v = NodeBuilder(ctx.scope(), "VariableV2").attr("shape", shape).attr("dtype", ctx.attr_dtype("dtype"))
                    .attr("trainable", true).finish();
  return Converted{{v.output(0)}, v};
}

Converted convert_variable(ConvertContext& ctx) {
  ctx.require_inputs(0);
  return make_variable(ctx);
}

// The handle of a resource variable is the variable itself: ReadVariableOp reads it,
// AssignVariableOp assigns it.
Output variable_of(const ConvertContext& ctx) {
  const Output h = ctx.input(0);
  if (h.node()->op_type() != "VariableV2")
    ctx.unsupported("the resource input must come straight from a VarHandleOp (here '" + h.name() + "')");
  return h;
}

Converted convert_read_variable(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const Output v = variable_of(ctx);
  const DType want = ctx.attr_dtype("dtype");
  if (want != v.dtype()) ctx.invalid(std::string("reads ") + dtype_name(want) + " from a " + dtype_name(v.dtype()) + " variable");
  Output y = ops::identity(ctx.scope(), v);
  return Converted{{ctx.has_control_inputs() ? y : v}, y.op()};
}

template <Output (*assign)(const Scope&, const Output&, const Output&)>
Converted convert_assign_variable(ConvertContext& ctx) {
  ctx.require_inputs(2);
  Output y = assign(ctx.scope(), variable_of(ctx), ctx.input(1));
  return Converted{{}, y.op()};
}

template <Output (*assign)(const Scope&, const Output&, const Output&)>
Converted convert_assign(ConvertContext& ctx) {
  ctx.require_inputs(2);
  if (ctx.input(0).node()->op_type() != "VariableV2")
    ctx.unsupported("the ref input must be a variable (here '" + ctx.input(0).name() + "')");
  if (!ctx.attr_bool("validate_shape", true) && ctx.input(0).shape() != ctx.input(1).shape())
    ctx.unsupported("validate_shape=false with a value of another shape is not supported");
  return ctx.one(assign(ctx.scope(), ctx.input(0), ctx.input(1)));
}

// TF's Philox streams are not reproduced: the distributions are TF's, the numbers Sluice's
// (seeded from seed2, else seed, else the graph seed).
template <Output (*random)(const Scope&, const Shape&, DType, double, double, int64_t)>
Converted convert_random(ConvertContext& ctx) {
  ctx.require_inputs(1);
  const Shape shape(ctx.constant_ints(0, "the shape input"));
  if (!shape.is_fully_defined()) ctx.invalid("shape " + shape.to_string() + " has negative dims");
  const int64_t seed2 = ctx.attr_int("seed2", 0), seed = ctx.attr_int("seed", 0);
  return ctx.one(random(ctx.scope(), shape, ctx.attr_dtype("dtype"), 0.0, 1.0, seed2 != 0 ? seed2 : seed));
}

}  // namespace

void add_state_ops(std::vector<OpEntry>& t) {
  t.push_back({"Const", convert_const, "Const", "attr `value` (tensor_content or typed values; a short value list "
               "repeats its last value), `dtype`"});
  t.push_back({"Placeholder", convert_placeholder, "Placeholder", "`dtype`, `shape` (unknown dims and rank kept)"});
  t.push_back({"PlaceholderWithDefault", convert_placeholder_with_default, "PlaceholderWithDefault", "`shape`"});
  t.push_back({"Identity", convert_identity, "Identity", "keeps the name; consumers read the input directly unless "
               "the node has control inputs"});
  t.push_back({"Snapshot", convert_identity, "Identity", "as Identity"});
  t.push_back({"IdentityN", convert_identity_n, "NoOp (+ Identity)", "the NoOp carries the name; values pass through"});
  t.push_back({"StopGradient", convert_stop_gradient, "StopGradient", ""});
  t.push_back({"NoOp", convert_no_op, "NoOp", "control inputs kept"});
  t.push_back({"VariableV2", convert_variable, "VariableV2", "`shape` (fully defined), `dtype`; `container`, "
               "`shared_name` ignored; joins the global-variables collection"});
  t.push_back({"VarHandleOp", convert_variable, "VariableV2", "resource variable: the handle is the variable; "
               "`shape`, `dtype`"});
  t.push_back({"ReadVariableOp", convert_read_variable, "Identity", "reads the VarHandleOp's variable; consumers read "
               "the variable directly unless the node has control inputs"});
  t.push_back({"AssignVariableOp", convert_assign_variable<ops::assign>, "Assign", "handle from a VarHandleOp"});
  t.push_back({"AssignAddVariableOp", convert_assign_variable<ops::assign_add>, "AssignAdd", "handle from a VarHandleOp"});
  t.push_back({"AssignSubVariableOp", convert_assign_variable<ops::assign_sub>, "AssignSub", "handle from a VarHandleOp"});
  t.push_back({"Assign", convert_assign<ops::assign>, "Assign", "`validate_shape` (false only with equal shapes), "
               "`use_locking` ignored (Sluice's writes are always locked)"});
  t.push_back({"AssignAdd", convert_assign<ops::assign_add>, "AssignAdd", "`use_locking` ignored"});
  t.push_back({"AssignSub", convert_assign<ops::assign_sub>, "AssignSub", "`use_locking` ignored"});
  t.push_back({"RandomUniform", convert_random<ops::random_uniform>, "RandomUniform", "constant shape; `dtype` float; "
               "`seed`/`seed2` seed Sluice's generator (same distribution, not TF's numbers)"});
  t.push_back({"RandomStandardNormal", convert_random<ops::random_normal>, "RandomNormal", "as RandomUniform"});
  t.push_back({"TruncatedNormal", convert_random<ops::truncated_normal>, "TruncatedNormal", "as RandomUniform "
               "(redrawn beyond 2 stddev, as TF)"});
}

}  // namespace sluice::io::tf
