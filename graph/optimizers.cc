#include "optimizers.h"

#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/state_ops.h"
#include "../ops/training_ops.h"
#include "gradients.h"

namespace sluice {

Output LearningRate::tensor(const Scope& scope, DType dtype) const {
  if (!tensor_.valid()) return ops::constant(scope, Tensor::filled(dtype, Shape{}, value_));
  SLUICE_REQUIRE(tensor_.node()->graph == scope.graph().data(), InvalidArgument,
                 "learning-rate tensor '", tensor_.name(), "' is not an element of this graph");
  SLUICE_REQUIRE(!tensor_.shape().known_rank() || tensor_.shape().rank() == 0, InvalidArgument,
                 "learning-rate tensor '", tensor_.name(), "' must be a scalar, got ",
                 tensor_.shape().to_string());
  return tensor_.dtype() == dtype ? tensor_ : ops::cast(scope, tensor_, dtype);
}

namespace optimizers {

GradsAndVars Optimizer::compute_gradients(const Scope& scope, const Output& loss,
                                          const std::vector<Operation>& var_list) const {
  SLUICE_REQUIRE(loss.valid(), InvalidArgument, "minimize: empty loss");
  std::vector<Operation> vars = var_list.empty() ? loss.graph().trainable_variables() : var_list;
  SLUICE_REQUIRE(!vars.empty(), InvalidArgument, "minimize: no variables to optimize");
  std::vector<Output> xs;
  for (const Operation& v : vars) {
    SLUICE_REQUIRE(v.type() == "VariableV2", InvalidArgument, "'", v.name(), "' is a ", v.type(),
                   ", not a variable");
    xs.push_back(v.output(0));
  }
  const std::vector<Output> grads = gradients(scope, {loss}, xs);
  GradsAndVars r;
  for (size_t i = 0; i < xs.size(); ++i)
    if (grads[i].valid()) r.emplace_back(grads[i], xs[i]);
  if (r.empty()) {
    std::string names;
    for (const Output& x : xs) names += (names.empty() ? "" : ", ") + x.node()->name;
    throw InvalidArgument("No gradients provided for any variable: loss '" + loss.name() +
                          "' does not depend on [" + names + "]");
  }
  return r;
}

Operation Optimizer::apply_gradients(const Scope& scope, const GradsAndVars& grads_and_vars) {
  SLUICE_REQUIRE(!grads_and_vars.empty(), InvalidArgument, "apply_gradients: nothing to apply");
  const Graph g = scope.graph();
  const std::string opt_name = g.unique_name(scope.prefix() + name_);
  const Scope os = scope.without_control_dependencies().with_prefix(opt_name);
  prepare(os, grads_and_vars.front().second.dtype());
  std::vector<Operation> applies;
  for (const auto& [grad, var] : grads_and_vars) {
    SLUICE_REQUIRE(grad.dtype() == var.dtype(), InvalidArgument, "gradient '", grad.name(),
                   "' has dtype ", dtype_name(grad.dtype()), ", variable '", var.node()->name,
                   "' has ", dtype_name(var.dtype()));
    applies.push_back(apply_one(os.sub("update_" + var.node()->name), grad, var));
  }
  std::vector<Operation> deps = finish(os, applies);
  if (run_update_ops_) {
    for (const Operation& u : g.update_ops()) deps.push_back(u);
  }
  // The step op takes the optimizer's name itself ("Adam"), its parts live under "Adam/".
  NodeBuilder step(scope.without_control_dependencies(), "NoOp");
  if (scope.explicit_name().empty()) step.exact_name(opt_name);
  for (const Operation& d : deps) step.control_input(d);
  return step.finish();
}

Operation Optimizer::minimize(const Scope& scope, const Output& loss,
                              const std::vector<Operation>& var_list) {
  return apply_gradients(scope, compute_gradients(scope, loss, var_list));
}

std::vector<Operation> Optimizer::finish(const Scope&, const std::vector<Operation>& applies) {
  return applies;
}

Output Optimizer::add_slot(const Output& var, const std::string& slot_name) const {
  const Scope root = Scope(var.graph()).with_prefix(var.node()->name);
  return ops::variable(root.named(slot_name), var.shape(), var.dtype(), Initializer::zeros(), false);
}

// ---- SGD ----

SGD::SGD(LearningRate lr, double momentum, bool nesterov)
    : Optimizer(momentum > 0 ? "Momentum" : "GradientDescent"), lr_(std::move(lr)),
      momentum_(momentum), nesterov_(nesterov) {
  SLUICE_REQUIRE(momentum >= 0 && momentum <= 1, InvalidArgument, "momentum must be in [0, 1], got ",
                 momentum);
}

void SGD::prepare(const Scope& s, DType dtype) {
  lr_t_ = lr_.tensor(s.named("learning_rate"), dtype);
  momentum_t_ = ops::constant(s.named("momentum"), Tensor::filled(dtype, Shape{}, momentum_));
}

Operation SGD::apply_one(const Scope& s, const Output& grad, const Output& var) {
  if (momentum_ == 0) return ops::apply_gradient_descent(s, var, lr_t_, grad);
  return ops::apply_momentum(s, var, add_slot(var, name()), lr_t_, grad, momentum_t_, nesterov_);
}

// ---- Adam ----

Adam::Adam(LearningRate lr, double beta1, double beta2, double epsilon)
    : Optimizer("Adam"), lr_(std::move(lr)), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
  SLUICE_REQUIRE(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && epsilon >= 0,
                 InvalidArgument, "Adam needs 0 <= beta1, beta2 < 1 and epsilon >= 0");
}

void Adam::prepare(const Scope& s, DType dtype) {
  auto scalar = [&](const char* name, double v) {
    return ops::constant(s.named(name), Tensor::filled(dtype, Shape{}, v));
  };
  lr_t_ = lr_.tensor(s.named("learning_rate"), dtype);
  beta1_t_ = scalar("beta1", beta1_);
  beta2_t_ = scalar("beta2", beta2_);
  eps_t_ = scalar("epsilon", epsilon_);
  iterations_ = ops::variable(s.named("iterations"), Shape{}, DType::i64, Initializer::zeros(), false);
  // t = iterations + 1 for this step; beta^t computed in-graph.
  const Output t = ops::cast(s, ops::add(s, iterations_, ops::constant(s, Tensor(int64_t{1}))), dtype);
  beta1_power_ = ops::pow(s.named("beta1_power"), beta1_t_, t);
  beta2_power_ = ops::pow(s.named("beta2_power"), beta2_t_, t);
}

Operation Adam::apply_one(const Scope& s, const Output& grad, const Output& var) {
  const Output m = add_slot(var, "Adam");
  const Output v = add_slot(var, "Adam_1");
  return ops::apply_adam(s, var, m, v, beta1_power_, beta2_power_, lr_t_, beta1_t_, beta2_t_,
                         eps_t_, grad);
}

std::vector<Operation> Adam::finish(const Scope& s, const std::vector<Operation>& applies) {
  const Output inc = ops::assign_add(s.with_control_dependencies(applies).named("increment_iterations"),
                                     iterations_, ops::constant(s, Tensor(int64_t{1})));
  return {inc.op()};
}

// ---- RMSprop ----

RMSprop::RMSprop(LearningRate lr, double rho, double momentum, double epsilon)
    : Optimizer("RMSprop"), lr_(std::move(lr)), rho_(rho), momentum_(momentum), epsilon_(epsilon) {
  SLUICE_REQUIRE(rho >= 0 && rho < 1 && momentum >= 0 && epsilon >= 0, InvalidArgument,
                 "RMSprop needs 0 <= rho < 1, momentum >= 0, epsilon >= 0");
}

void RMSprop::prepare(const Scope& s, DType dtype) {
  auto scalar = [&](const char* name, double v) {
    return ops::constant(s.named(name), Tensor::filled(dtype, Shape{}, v));
  };
  lr_t_ = lr_.tensor(s.named("learning_rate"), dtype);
  rho_t_ = scalar("rho", rho_);
  momentum_t_ = scalar("momentum", momentum_);
  eps_t_ = scalar("epsilon", epsilon_);
}

Operation RMSprop::apply_one(const Scope& s, const Output& grad, const Output& var) {
  return ops::apply_rms_prop(s, var, add_slot(var, "RMSprop"), add_slot(var, "RMSprop_1"), lr_t_,
                             rho_t_, momentum_t_, eps_t_, grad);
}

}  // namespace optimizers
}  // namespace sluice
