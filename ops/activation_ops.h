// Activation functions beyond relu/sigmoid/tanh/softmax (those live in nn_ops.h and
// math_ops.h). Every one maps x [any shape] -> y [same shape], float32/float64 unless noted,
// elementwise, with NaN in -> NaN out. Definitions follow TensorFlow/Keras and ONNX; where
// they differ the attrs select either (noted per function).
//
// Fused kernels with their own gradient ops: relu6, elu, leaky_relu, softplus, gelu (the hot
// ones). The rest are composites of primitive ops and differentiate through them.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {

// min(max(x, 0), 6). Also int32/int64/uint8 (TF Relu6 takes integers).
Output relu6(const Scope& scope, const Output& x);
// x > 0 ? x : alpha * (exp(x) - 1). TF Elu is alpha = 1; Keras ELU and ONNX Elu take alpha.
Output elu(const Scope& scope, const Output& x, double alpha = 1.0);
// gamma * elu(x, alpha) with the SELU constants (TF Selu, Keras selu). ONNX Selu's defaults
// are these constants rounded to float32; pass its attrs to match it bit for bit.
Output selu(const Scope& scope, const Output& x, double alpha = 1.6732632423543772848170429916717,
            double gamma = 1.0507009873554804934193349852946);
// x >= 0 ? x : alpha * x (TF LeakyRelu default alpha 0.2; ONNX LeakyRelu default 0.01, Keras
// LeakyReLU default 0.3: pass theirs).
Output leaky_relu(const Scope& scope, const Output& x, double alpha = 0.2);
// log(1 + exp(x)), computed stably as max(x, 0) + log1p(exp(-|x|)); softplus(+inf) = +inf.
Output softplus(const Scope& scope, const Output& x);
// x / (1 + |x|). At +-inf this is inf/inf = NaN, as in TF, Keras, PyTorch and ONNX's reference.
Output softsign(const Scope& scope, const Output& x);
// clip(alpha * x + beta, 0, 1): Keras 2 and ONNX HardSigmoid (defaults 0.2, 0.5).
// (Keras 3 uses alpha = 1/6.)
Output hard_sigmoid(const Scope& scope, const Output& x, double alpha = 0.2, double beta = 0.5);
// x * hard_sigmoid(x, 1/6, 0.5) (ONNX HardSwish, Keras hard_swish). Like both references,
// hard_swish(-inf) = -inf * 0 = NaN.
Output hard_swish(const Scope& scope, const Output& x);
// Gaussian error linear unit. approximate = false: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2));
// approximate = true: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (TF/Keras
// gelu(approximate=True), PyTorch/ONNX-20 approximate="tanh"). Like those references,
// gelu(-inf) = NaN (the formula's -inf * 0).
Output gelu(const Scope& scope, const Output& x, bool approximate = false);
// x < 0 ? slope * x : x, slope broadcast against x (ONNX PRelu: slope unidirectionally
// broadcastable to x; Keras PReLU: alpha of shape x.shape[1:]). Output shape is
// broadcast(x, slope); any numeric dtype; differentiable in x and slope.
Output prelu(const Scope& scope, const Output& x, const Output& slope);
// x > alpha ? x : 0 (ONNX ThresholdedRelu, Keras ThresholdedReLU(theta)).
Output thresholded_relu(const Scope& scope, const Output& x, double alpha = 1.0);
// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (ONNX Celu); alpha > 0.
Output celu(const Scope& scope, const Output& x, double alpha = 1.0);

}  // namespace sluice::ops
