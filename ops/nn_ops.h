// Neural-network ops: activations, softmax, bias, dropout, normalisation.
#pragma once

#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

Output relu(const Scope& scope, const Output& x);  // max(x, 0)
// x [.., C] -> [.., C], normalised over the last axis; stable (max subtracted first).
Output softmax(const Scope& scope, const Output& x);
Output log_softmax(const Scope& scope, const Output& x);
// x [.., C] + bias [C].
Output bias_add(const Scope& scope, const Output& x, const Output& bias);
// x / sqrt(max(sum(x^2, axes), epsilon)), as tf.math.l2_normalize (composite op).
Output l2_normalize(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {-1},
                    double epsilon = 1e-12);
// Inverted dropout: when `training` (bool scalar) is true, each element (or each slice of
// noise_shape, which must broadcast to x's shape) is zeroed with probability `rate` and the
// rest scaled by 1/(1-rate); when false, the identity. Reproducible from (graph seed,
// seed): each session run draws the next mask of the sequence.
Output dropout(const Scope& scope, const Output& x, const Output& training, double rate,
               int64_t seed = 0, const std::vector<int64_t>& noise_shape = {});

}  // namespace sluice::ops
