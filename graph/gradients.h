// Symbolic reverse-mode differentiation, as tf.gradients: builds the gradient subgraph of
// sum_i(sum(ys[i] * grad_ys[i])) with respect to each of xs. Gradients from several uses
// of a tensor are summed; StopGradient and integer-valued tensors stop them; an op on the
// path with no registered gradient is an error naming it.
#pragma once

#include <vector>

#include "scope.h"

namespace sluice {

// Returns one gradient per x (same dtype and shape), or an invalid Output for an x the ys
// do not depend on. grad_ys defaults to ones; given, each grad_ys[i] must have ys[i]'s dtype
// and shape: a mismatch is InvalidArgument naming both, when building for what the static
// shapes show, and at run time (a node "gradients/grad_ys_<i>_must_have_the_shape_of_<y>")
// for dims known only then, so a [1,3] grad_ys is never broadcast against a [2,3] y.
// Ops go under "<scope prefix>gradients/".
std::vector<Output> gradients(const Scope& scope, const std::vector<Output>& ys,
                              const std::vector<Output>& xs,
                              const std::vector<Output>& grad_ys = {});

}  // namespace sluice
