// Per-sample normalizations: layer normalization (fused, with a fused gradient), instance
// normalization (a composite) and TensorFlow's local response normalization.
#pragma once

#include <cstdint>

#include "../graph/scope.h"

namespace sluice::ops {

// The outputs of one LayerNorm node.
struct LayerNormOutputs {
  Output y;        // x's shape
  Output mean;     // [d0 .. d(a-1), 1, .., 1]: the mean of each normalized slice
  Output inv_std;  // the same shape: 1 / sqrt(variance + epsilon)
  Operation op;
};

// Layer normalization over the axes [a, rank) of x, a = begin_axis (negative counts from
// the end), as Keras' LayerNormalization (axis -1, or the trailing axes), ONNX's
// LayerNormalization (axis, outputs Y, Mean, InvStdDev) and PyTorch's LayerNorm:
//
//   y = (x - mean) / sqrt(var + epsilon) * gamma + beta     (var biased, per slice)
//
// x [d0, .., dn] (rank known), gamma and beta [d_a, .., d_n]: float32/float64, one dtype.
// Keras' epsilon is 1e-3, ONNX's and PyTorch's 1e-5. Without scale/center pass ones/zeros.
// One fused kernel per direction (a slice's statistics stay in cache); gradients flow to x,
// gamma and beta (and from the mean / inv_std outputs), through the LayerNormGrad op, which
// itself is not differentiable (no second derivatives).
LayerNormOutputs layer_norm_full(const Scope& scope, const Output& x, const Output& gamma,
                                 const Output& beta, int64_t begin_axis = -1,
                                 double epsilon = 1e-5);
// Just y of layer_norm_full.
Output layer_norm(const Scope& scope, const Output& x, const Output& gamma, const Output& beta,
                  int64_t begin_axis = -1, double epsilon = 1e-5);

// Instance normalization (ONNX InstanceNormalization in NHWC, Keras/TF-Addons'
// InstanceNormalization): each (sample, channel) normalized over the spatial axes.
// x [N, spatial.., C] (rank >= 3, known), scale and bias [C]:
//   y = (x - mean) / sqrt(var + epsilon) * scale + bias, mean/var over axes 1..rank-2.
// A composite of mean, sub, square, rsqrt, mul and add (gradients for free).
Output instance_norm(const Scope& scope, const Output& x, const Output& scale, const Output& bias,
                     double epsilon = 1e-5);

// Local response normalization over the last axis, TensorFlow's LRN (x usually [N,H,W,C]):
//
//   sqr_sum[.., d] = sum_{k = d - depth_radius}^{d + depth_radius_upper} x[.., k]^2  (clipped
//                    to [0, C))
//   y = x / (bias + alpha * sqr_sum) ^ beta
//
// depth_radius_upper < 0 means depth_radius (TensorFlow's symmetric window). float32/64.
// ONNX's LRN(size, alpha, beta, bias) sums over [c - floor((size-1)/2), c + ceil((size-1)/2)]
// and scales alpha by 1/size; it is
//   lrn(x, (size-1)/2, bias, alpha/size, beta, size/2)        (integer division)
// (the same window for odd sizes; for even sizes the extra channel is above, as ONNX says).
// Gradient through the LRNGrad op (TensorFlow's, not itself differentiable).
Output lrn(const Scope& scope, const Output& x, int64_t depth_radius = 5, double bias = 1.0,
           double alpha = 1.0, double beta = 0.5, int64_t depth_radius_upper = -1);

}  // namespace sluice::ops
