// Optimizers build the training step: gradients of a loss and fused update ops for each
// variable, plus the slot variables they need (momentum, Adam moments), created as
// non-trainable global variables, so run the global initializer after minimize().
//
// Update ops (batch normalization's moving averages): minimize() also runs every op in
// the graph's update-ops collection that exists when minimize() is called, so the obvious
// training loop keeps them current. Call with_update_ops(false) to run them yourself
// (TensorFlow 1.x style: tf.control_dependencies(UPDATE_OPS)).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "scope.h"

namespace sluice {

// A learning rate: a number, or a scalar tensor (e.g. a placeholder fed per step, for
// schedules).
class LearningRate {
 public:
  LearningRate(double value) : value_(value) {}        // NOLINT(google-explicit-constructor)
  LearningRate(const Output& tensor) : tensor_(tensor) {}  // NOLINT(google-explicit-constructor)
  Output tensor(const Scope& scope, DType dtype) const;

 private:
  double value_ = 0.0;
  Output tensor_;
};

namespace optimizers {

using GradsAndVars = std::vector<std::pair<Output, Output>>;  // (gradient, variable)

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // (gradient, variable) for each variable of var_list (default: the trainable variables of
  // loss's graph) that the loss depends on.
  GradsAndVars compute_gradients(const Scope& scope, const Output& loss,
                                 const std::vector<Operation>& var_list = {}) const;
  // The update ops for each pair, grouped in one op (with the update-ops collection, unless
  // disabled).
  Operation apply_gradients(const Scope& scope, const GradsAndVars& grads_and_vars);
  // compute_gradients + apply_gradients.
  Operation minimize(const Scope& scope, const Output& loss,
                     const std::vector<Operation>& var_list = {});
  Optimizer& with_update_ops(bool run_update_ops) {
    run_update_ops_ = run_update_ops;
    return *this;
  }

 protected:
  explicit Optimizer(std::string name) : name_(std::move(name)) {}
  // Called once per apply_gradients, before apply_one, in the optimizer's scope.
  virtual void prepare(const Scope& scope, DType dtype) = 0;
  virtual Operation apply_one(const Scope& scope, const Output& grad, const Output& var) = 0;
  // Called after every apply_one; returns ops to run after them (e.g. a step counter).
  virtual std::vector<Operation> finish(const Scope& scope, const std::vector<Operation>& applies);
  // A zero-initialised slot variable "<var name>/<name>" shaped like var.
  Output add_slot(const Output& var, const std::string& slot_name) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool run_update_ops_ = true;
};

// Gradient descent with optional (Nesterov) momentum.
class SGD : public Optimizer {
 public:
  explicit SGD(LearningRate lr = 0.01, double momentum = 0.0, bool nesterov = false);

 protected:
  void prepare(const Scope& scope, DType dtype) override;
  Operation apply_one(const Scope& scope, const Output& grad, const Output& var) override;

 private:
  LearningRate lr_;
  double momentum_;
  bool nesterov_;
  Output lr_t_, momentum_t_;
};

// Adam (Kingma & Ba), Keras defaults; bias correction from an int64 step counter
// "<Adam scope>/iterations".
class Adam : public Optimizer {
 public:
  explicit Adam(LearningRate lr = 0.001, double beta1 = 0.9, double beta2 = 0.999,
                double epsilon = 1e-7);

 protected:
  void prepare(const Scope& scope, DType dtype) override;
  Operation apply_one(const Scope& scope, const Output& grad, const Output& var) override;
  std::vector<Operation> finish(const Scope& scope, const std::vector<Operation>& applies) override;

 private:
  LearningRate lr_;
  double beta1_, beta2_, epsilon_;
  Output lr_t_, beta1_t_, beta2_t_, eps_t_, beta1_power_, beta2_power_, iterations_;
};

// RMSprop, Keras defaults.
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(LearningRate lr = 0.001, double rho = 0.9, double momentum = 0.0,
                   double epsilon = 1e-7);

 protected:
  void prepare(const Scope& scope, DType dtype) override;
  Operation apply_one(const Scope& scope, const Output& grad, const Output& var) override;

 private:
  LearningRate lr_;
  double rho_, momentum_, epsilon_;
  Output lr_t_, rho_t_, momentum_t_, eps_t_;
};

}  // namespace optimizers
}  // namespace sluice
