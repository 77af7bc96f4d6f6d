// Fused optimizer updates. Each writes its variables (ref inputs) in place under the
// variables' locks; the hyper-parameters are scalar tensors, so schedules can be fed.
// None is differentiable. Optimizers (graph/optimizers.h) build these; use them directly
// only to write a new optimizer.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {

// var -= lr * grad
Operation apply_gradient_descent(const Scope& scope, const Output& var, const Output& lr,
                                 const Output& grad);
// accum = momentum * accum + grad; var -= lr * accum
// (Nesterov: var -= lr * (grad + momentum * accum), as TensorFlow's ApplyMomentum)
Operation apply_momentum(const Scope& scope, const Output& var, const Output& accum,
                         const Output& lr, const Output& grad, const Output& momentum,
                         bool use_nesterov = false);
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// var -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps), with b1^t, b2^t given.
Operation apply_adam(const Scope& scope, const Output& var, const Output& m, const Output& v,
                     const Output& beta1_power, const Output& beta2_power, const Output& lr,
                     const Output& beta1, const Output& beta2, const Output& epsilon,
                     const Output& grad);
// ms = rho ms + (1-rho) g^2; mom = momentum mom + lr g / sqrt(ms + eps); var -= mom
Operation apply_rms_prop(const Scope& scope, const Output& var, const Output& ms,
                         const Output& mom, const Output& lr, const Output& rho,
                         const Output& momentum, const Output& epsilon, const Output& grad);

}  // namespace sluice::ops
