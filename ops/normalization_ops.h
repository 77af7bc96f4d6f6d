// Normalization ops: fused batch normalization over the last axis, its mode (batch
// statistics or given statistics) switched at run time by a bool scalar, in one graph.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {

// The outputs of one FusedBatchNorm node (all but y are [C]).
struct FusedBatchNormOutputs {
  Output y;                // [.., C], like x
  Output batch_mean;       // training: the batch mean; inference: `mean` passed through
  Output batch_variance;   // training: the batch variance for the moving average (see below);
                           // inference: `variance` passed through
  Output reserve_mean;     // the mean used to normalise (for the gradient)
  Output reserve_inv_std;  // 1 / sqrt(variance used + epsilon) (for the gradient)
  Operation op;
};

// Batch normalization over every axis but the last, as TensorFlow's FusedBatchNorm with
// data_format NHWC (x [N,H,W,C], [N,C], or any rank >= 2 with channels last):
//
//   y = scale * (x - m) / sqrt(v + epsilon) + offset
//
// `training` is a bool scalar read at run time (usually learning_phase(graph)):
//   true:  m, v are the batch mean and the biased batch variance over all axes but the
//          last, computed in one pass (shifted sums, accumulated in double); batch_mean = m and
//          batch_variance = v * n / (n - 1) when bessel_correction (n = elements per channel,
//          n / max(n - 1, 1) as TensorFlow's fused kernel), else v.
//   false: m = mean, v = variance (the moving statistics); batch_mean = mean and
//          batch_variance = variance, unchanged.
// An empty x (no rows) has no batch statistics and is handled as in inference even when
// training: batch_mean = mean and batch_variance = variance pass through (so a moving-average
// update built on them moves nothing), y is empty, and the gradients for scale and offset
// are zero. A training step on an empty batch therefore leaves every variable unchanged.
// scale, offset, mean, variance: [C], x's dtype (float32 or float64). mean and variance are
// read only in inference mode but must always be valid [C] tensors.
// Differentiable w.r.t. x, scale, offset (and mean, variance in inference mode) through the
// FusedBatchNormGrad op: the full batch-statistics backward in training mode, the affine
// one in inference mode. Gradients flowing into the statistics outputs are handled too.
FusedBatchNormOutputs fused_batch_norm(const Scope& scope, const Output& x, const Output& scale,
                                       const Output& offset, const Output& mean,
                                       const Output& variance, const Output& training,
                                       double epsilon = 1e-3, bool bessel_correction = true);

}  // namespace sluice::ops
