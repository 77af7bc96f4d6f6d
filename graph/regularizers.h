// Keras' weight regularizers and constraints, attached to a layer's weights
// (Layer::set_kernel_regularizer, ..., or layers::with_options for a Sequential brace list):
//
//   layers::Dense d(64, Activation::relu);
//   d.set_kernel_regularizer(regularizers::l2(1e-4)).set_kernel_constraint(constraints::max_norm(3));
//
// A regularizer's penalty is built into the graph when the layer creates the weight (or, for
// activity regularizers, each time the layer is called) and added to the graph collection
// "regularization_losses"; models::Model::compile adds the model's penalties to the training
// loss (so "loss" in fit's logs includes them, as in Keras). A constraint becomes an assign op
// `w = constraint(w)` in the collection "weight_constraints" that the model runs after every
// optimizer update (Keras applies constraints after each variable's update).
#pragma once

#include <cstdint>
#include <vector>

#include "scope.h"

namespace sluice {

namespace regularizers {

// Penalty l1 * sum(|x|) + l2 * sum(x^2) (Keras' L1L2; note: no factor 1/2 on l2).
struct Regularizer {
  double l1 = 0, l2 = 0;
  bool active() const { return l1 != 0 || l2 != 0; }
  // x: any float shape -> scalar of x's dtype. An inactive regularizer is an error
  // (callers check active() first).
  Output operator()(const Scope& scope, const Output& x) const;
};
Regularizer l1(double l1 = 0.01);
Regularizer l2(double l2 = 0.01);
Regularizer l1_l2(double l1 = 0.01, double l2 = 0.01);

}  // namespace regularizers

namespace constraints {

// Keras' constraints, over the norm along `axis` of the weight (Dense kernel [in, units]:
// axis {0} is the norm of each unit's incoming weights; Conv2D kernel [h, w, in, out]: use
// {0, 1, 2}). With n the norm, eps = 1e-7 (Keras' backend epsilon):
//   max_norm:     w * clip(n, 0, max_value) / (eps + n)
//   non_neg:      w * (w >= 0)
//   unit_norm:    w / (eps + n)
//   min_max_norm: w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (eps + n)
struct Constraint {
  enum class Kind { none, max_norm, non_neg, unit_norm, min_max_norm };
  Kind kind = Kind::none;
  double min_value = 0, max_value = 2, rate = 1;
  std::vector<int64_t> axis = {0};
  bool active() const { return kind != Kind::none; }
  // w -> the projected weight, same shape and dtype.
  Output operator()(const Scope& scope, const Output& w) const;
};
Constraint max_norm(double max_value = 2, std::vector<int64_t> axis = {0});
Constraint non_neg();
Constraint unit_norm(std::vector<int64_t> axis = {0});
Constraint min_max_norm(double min_value = 0, double max_value = 1, double rate = 1,
                        std::vector<int64_t> axis = {0});

}  // namespace constraints

namespace layers {
// Graph collections (ops): each regularizer penalty (a scalar), each constraint assign op.
inline constexpr const char* kRegularizationLosses = "regularization_losses";
inline constexpr const char* kWeightConstraints = "weight_constraints";
}  // namespace layers

}  // namespace sluice
