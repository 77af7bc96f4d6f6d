// State ops: variables, assignment, grouping. Declaration, shape function and kernel of
// each (none is differentiable except reading a variable, which is a graph input).
#include "state_ops.h"

#include <cmath>
#include <cstring>

#include "../graph/graph_data.h"
#include "array_ops.h"
#include "kernel_util.h"
#include "random_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

void variable_shape(ShapeContext& ctx) {
  const Shape& s = ctx.attr<Shape>("shape");
  SLUICE_REQUIRE(s.is_fully_defined(), InvalidArgument, "variable shape must be fully defined, got ",
                 s.to_string());
  (void)s.num_elements();
  ctx.add_output(ctx.attr<DType>("dtype"), s);
}

// Reading a variable hands out its current buffer (no copy). Writers never modify a
// buffer someone else holds (they copy first), so a value once read never changes.
void variable_kernel(KernelContext& ctx) {
  VariableSlot& v = ctx.variable(0);
  std::lock_guard<std::mutex> lock(v.mu);
  SLUICE_REQUIRE(v.initialized, FailedPrecondition, "Attempting to use uninitialized value ",
                 ctx.node().name);
  ctx.set_output(0, v.value);
}

void assign_shape(ShapeContext& ctx) {
  require_same_dtype(ctx, 0, 1);
  SLUICE_REQUIRE(ctx.input_shape(0).compatible_with(ctx.input_shape(1)), InvalidArgument,
                 "Assign requires shapes of both tensors to match. lhs shape= ",
                 ctx.input_shape(0).to_string(), " rhs shape= ", ctx.input_shape(1).to_string());
  unchanged_shape(ctx);
}

void assign_update_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.input_dtype(0) != DType::boolean, InvalidArgument,
                 "arithmetic on bool variables; cast them first");
  assign_shape(ctx);
}

void assign_kernel(KernelContext& ctx) {
  VariableSlot& v = ctx.variable(0);
  const Tensor& value = ctx.input(1);
  const Node& var = *v.node;
  SLUICE_REQUIRE(value.shape() == var.output_shapes[0], InvalidArgument,
                 "Assign requires shapes of both tensors to match. lhs shape= ",
                 var.output_shapes[0].to_string(), " rhs shape= ", value.shape().to_string());
  std::lock_guard<std::mutex> lock(v.mu);
  v.value = value;  // shares the buffer; see variable_kernel for why that is safe
  v.initialized = true;
  ctx.set_output(0, v.value);
}

// Makes v.value safe to modify in place: copies it if anyone else holds the buffer.
// Caller holds v.mu.
Tensor& writable(VariableSlot& v, const Node& node) {
  SLUICE_REQUIRE(v.initialized, FailedPrecondition, "Attempting to use uninitialized value ",
                 node.name);
  if (v.value.use_count() > 1) v.value = v.value.clone();
  return v.value;
}

template <bool kAdd>
void assign_update_kernel(KernelContext& ctx) {
  VariableSlot& v = ctx.variable(0);
  const Tensor& delta = ctx.input(1);
  std::lock_guard<std::mutex> lock(v.mu);
  Tensor& t = writable(v, *v.node);
  SLUICE_REQUIRE(delta.shape() == t.shape(), InvalidArgument, "shapes of variable ",
                 t.shape().to_string(), " and update ", delta.shape().to_string(), " differ");
  dispatch<SLUICE_REAL_TYPES>(t.dtype(), "AssignAdd", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    const T* d = delta.data<T>();
    if constexpr (std::is_integral_v<T>) {
      // Integers wrap (as TensorFlow's); signed overflow would be undefined behaviour.
      using U = std::make_unsigned_t<T>;
      using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        const W a = static_cast<U>(p[i]), b = static_cast<U>(d[i]);
        p[i] = static_cast<T>(static_cast<U>(kAdd ? a + b : a - b));
      }
    } else {
      for (int64_t i = 0; i < t.num_elements(); ++i) p[i] = kAdd ? T(p[i] + d[i]) : T(p[i] - d[i]);
    }
  });
  ctx.set_output(0, t);
}

void no_op_shape(ShapeContext&) {}
void no_op_kernel(KernelContext&) {}

// Fans of a weight shape as Keras computes them (conv kernels: receptive field x channels).
void fans(const Shape& s, double& fan_in, double& fan_out) {
  const int r = s.rank();
  if (r == 0) {
    fan_in = fan_out = 1;
  } else if (r == 1) {
    fan_in = fan_out = static_cast<double>(s.dim(0));
  } else {
    double receptive = 1;
    for (int i = 0; i < r - 2; ++i) receptive *= static_cast<double>(s.dim(i));
    fan_in = static_cast<double>(s.dim(r - 2)) * receptive;
    fan_out = static_cast<double>(s.dim(r - 1)) * receptive;
  }
}

}  // namespace

void register_state_ops(OpRegistry& r) {
  r.op("VariableV2").output("ref").required_attr("shape").required_attr("dtype")
      .attr("trainable", true)
      .shape_fn(variable_shape).kernel(variable_kernel).not_differentiable().stateful()
      .supports_strings();
  r.op("Assign").ref_input("ref").input("value").output("output_ref")
      .shape_fn(assign_shape).kernel(assign_kernel).not_differentiable().supports_strings();
  r.op("AssignAdd").ref_input("ref").input("value").output("output_ref")
      .shape_fn(assign_update_shape).kernel(assign_update_kernel<true>).not_differentiable();
  r.op("AssignSub").ref_input("ref").input("value").output("output_ref")
      .shape_fn(assign_update_shape).kernel(assign_update_kernel<false>).not_differentiable();
  r.op("NoOp").shape_fn(no_op_shape).kernel(no_op_kernel).not_differentiable();
}

// ---- Initializer ----

Initializer Initializer::constant(const Tensor& v) {
  Initializer init = make(Kind::constant);
  init.value = v;
  return init;
}

Output Initializer::build(const Scope& scope, const Shape& shape, DType dtype) const {
  double fan_in = 1, fan_out = 1;
  fans(shape, fan_in, fan_out);
  // Keras draws "normal" fan-scaled weights from a truncated normal, whose stddev is
  // 0.8796 of the untruncated one; dividing by it restores the intended variance.
  constexpr double kTruncCorrection = 0.87962566103423978;
  switch (kind) {
    case Kind::zeros:
      // String variables start as empty strings (Fill takes numbers only).
      if (dtype == DType::string) return ops::constant(scope, Tensor::zeros(dtype, shape));
      return ops::fill(scope, dtype, shape, 0.0);
    case Kind::ones: return ops::fill(scope, dtype, shape, 1.0);
    case Kind::constant:
      if (!value.valid()) return ops::fill(scope, dtype, shape, a);
      SLUICE_REQUIRE(value.shape() == shape, InvalidArgument, "constant initializer of shape ",
                     value.shape().to_string(), " for a variable of shape ", shape.to_string());
      return ops::constant(scope, value.dtype() == dtype ? value : value.cast(dtype));
    case Kind::glorot_uniform: {
      const double limit = std::sqrt(6.0 / (fan_in + fan_out));
      return ops::random_uniform(scope, shape, dtype, -limit, limit, seed);
    }
    case Kind::glorot_normal:
      return ops::truncated_normal(scope, shape, dtype, 0.0,
                                   std::sqrt(2.0 / (fan_in + fan_out)) / kTruncCorrection, seed);
    case Kind::he_normal:
      return ops::truncated_normal(scope, shape, dtype, 0.0, std::sqrt(2.0 / fan_in) / kTruncCorrection,
                                   seed);
    case Kind::he_uniform: {
      const double limit = std::sqrt(6.0 / fan_in);
      return ops::random_uniform(scope, shape, dtype, -limit, limit, seed);
    }
    case Kind::random_normal: return ops::random_normal(scope, shape, dtype, a, b, seed);
    case Kind::random_uniform: return ops::random_uniform(scope, shape, dtype, a, b, seed);
    case Kind::truncated_normal: return ops::truncated_normal(scope, shape, dtype, a, b, seed);
    case Kind::orthogonal: {
      const auto [s1, s2] = random_seeds(scope, seed);
      return NodeBuilder(scope, "RandomOrthogonal").attr("shape", shape).attr("dtype", dtype)
          .attr("gain", a).attr("seed", s1).attr("seed2", s2).finish().output(0);
    }
  }
  throw InvalidArgument("unknown initializer kind");
}

namespace ops {

Output variable(const Scope& scope, const Shape& shape, DType dtype, const Initializer& init,
                bool trainable) {
  Operation var = NodeBuilder(scope.without_control_dependencies(), "VariableV2", "Variable").attr("shape", shape)
                      .attr("dtype", dtype).attr("trainable", trainable).finish();
  // The initializer lives under "<var>/", outside any control dependencies of `scope`
  // (as TensorFlow's init_scope), so it can run on its own.
  Scope init_scope = Scope(scope.graph()).with_device(scope.device()).sub(var.name());
  Output value = init.build(init_scope.sub("Initializer"), shape, dtype);
  Output assign_op = ops::assign(init_scope.named("Assign"), var.output(0), value);
  Graph g = scope.graph();
  g.set_variable_initializer(var, assign_op.op());
  g.add_to_collection(collections::kGlobalVariables, var);
  if (trainable) g.add_to_collection(collections::kTrainableVariables, var);
  return var.output(0);
}

Output assign(const Scope& s, const Output& var, const Output& value) {
  return NodeBuilder(s, "Assign").input(var).input(value).finish().output(0);
}
Output assign_add(const Scope& s, const Output& var, const Output& value) {
  return NodeBuilder(s, "AssignAdd").input(var).input(value).finish().output(0);
}
Output assign_sub(const Scope& s, const Output& var, const Output& value) {
  return NodeBuilder(s, "AssignSub").input(var).input(value).finish().output(0);
}

Operation no_op(const Scope& scope, const std::vector<Operation>& deps) {
  NodeBuilder b(scope, "NoOp");
  for (const Operation& d : deps) b.control_input(d);
  return b.finish();
}

Operation variables_initializer(const Scope& scope, const std::vector<Operation>& variables) {
  const Graph g = scope.graph();
  std::vector<Operation> inits;
  for (const Operation& v : variables) {
    Operation init = g.variable_initializer(v);
    SLUICE_REQUIRE(init.valid(), NotFound, "variable '", v.name(), "' has no initializer");
    inits.push_back(init);
  }
  return no_op(scope.explicit_name().empty() ? scope.named("init") : scope, inits);
}

Operation global_variables_initializer(const Scope& scope) {
  return variables_initializer(scope, scope.graph().global_variables());
}

}  // namespace ops

Output learning_phase(const Graph& graph) {
  detail::GraphData* d = graph.data();
  {
    std::lock_guard<std::mutex> lock(d->mu);
    if (d->learning_phase) return Output(d->learning_phase, 0);
  }
  // Built outside the graph lock (NodeBuilder takes it); a concurrent first call may build
  // a spare node, but every caller gets the one that is recorded.
  Scope root(graph);
  Output flag = ops::placeholder_with_default(root.named("keras_learning_phase"),
                                              ops::constant(root.named("keras_learning_phase/input"), Tensor(false)),
                                              Shape{});
  std::lock_guard<std::mutex> lock(d->mu);
  if (!d->learning_phase) d->learning_phase = flag.node();
  return Output(d->learning_phase, 0);
}

}  // namespace sluice
