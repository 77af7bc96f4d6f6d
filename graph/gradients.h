// Symbolic reverse-mode differentiation, as tf.gradients: builds the gradient subgraph of
// sum_i(sum(ys[i] * grad_ys[i])) with respect to each of xs. Gradients from several uses
// of a tensor are summed; StopGradient and integer-valued tensors stop them; an op on the
// path with no registered gradient is an error naming it.
#pragma once

#include <vector>

#include "scope.h"

namespace sluice {

// Returns one gradient per x (same dtype and shape), or an invalid Output for an x the ys
// do not depend on. grad_ys defaults to ones. Ops go under "<scope prefix>gradients/".
std::vector<Output> gradients(const Scope& scope, const std::vector<Output>& ys,
                              const std::vector<Output>& xs,
                              const std::vector<Output>& grad_ys = {});

}  // namespace sluice
