// Losses (per example: reduce with ops::mean for a scalar) and metrics, Keras semantics.
#pragma once

#include "scope.h"

namespace sluice::losses {

// y_true [N, C] (probabilities), y_pred [N, C] -> [N]: -sum(y_true * log(y_pred), -1).
// With from_logits, y_pred are logits (log_softmax inside: stable). Without, y_pred are
// probabilities, renormalised and clipped to [1e-7, 1 - 1e-7] as Keras does; when y_pred
// is the output of a Softmax op, its logits are used instead (as TensorFlow's Keras does),
// which is both exact and stable.
Output categorical_crossentropy(const Scope& scope, const Output& y_true, const Output& y_pred,
                                bool from_logits = false);
// labels [N] (int32/int64 class ids), y_pred [N, C] -> [N].
Output sparse_categorical_crossentropy(const Scope& scope, const Output& labels,
                                       const Output& y_pred, bool from_logits = false);
// y_true, y_pred [N, ..] -> [N, ..without last axis]: mean((y_pred - y_true)^2, -1).
Output mean_squared_error(const Scope& scope, const Output& y_true, const Output& y_pred);
// Binary cross-entropy on probabilities (clipped) or logits, averaged over the last axis.
Output binary_crossentropy(const Scope& scope, const Output& y_true, const Output& y_pred,
                           bool from_logits = false);

}  // namespace sluice::losses

namespace sluice::metrics {

// Fraction of rows whose argmax matches: y_true [N, C] one-hot, y_pred [N, C] -> scalar f32.
Output accuracy(const Scope& scope, const Output& y_true, const Output& y_pred);
// labels [N] int class ids, y_pred [N, C] -> scalar f32.
Output sparse_accuracy(const Scope& scope, const Output& labels, const Output& y_pred);

}  // namespace sluice::metrics
