// More elementwise unary math: x [any shape] -> y [same shape]. float32/float64 unless noted;
// NaN in -> NaN out, and +-inf as the C library (and NumPy/TensorFlow) define each function.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {

Output erf(const Scope& scope, const Output& x);
// Rounding: floor and ceil are float only, as in TF and ONNX; round is half to even (TF
// Round, ONNX Round, NumPy) and also takes integers (identity). None is differentiable:
// their derivative is zero almost everywhere, and TF registers no gradient for them.
Output floor(const Scope& scope, const Output& x);
Output ceil(const Scope& scope, const Output& x);
Output round(const Scope& scope, const Output& x);
// Trigonometric and hyperbolic functions, and their inverses (NaN outside the domain, e.g.
// asin(2), acosh(0.5), and +-inf at atanh(+-1)).
Output sin(const Scope& scope, const Output& x);
Output cos(const Scope& scope, const Output& x);
Output tan(const Scope& scope, const Output& x);
Output asin(const Scope& scope, const Output& x);
Output acos(const Scope& scope, const Output& x);
Output atan(const Scope& scope, const Output& x);
Output sinh(const Scope& scope, const Output& x);
Output cosh(const Scope& scope, const Output& x);
Output asinh(const Scope& scope, const Output& x);
Output acosh(const Scope& scope, const Output& x);
Output atanh(const Scope& scope, const Output& x);
// log(1 + x) and exp(x) - 1, accurate near 0.
Output log1p(const Scope& scope, const Output& x);
Output expm1(const Scope& scope, const Output& x);
// Predicates: x float -> bool [same shape]; not differentiable.
Output is_nan(const Scope& scope, const Output& x);
// ONNX IsInf's attrs: which infinities count (both by default, as TF IsInf).
Output is_inf(const Scope& scope, const Output& x, bool detect_positive = true,
              bool detect_negative = true);
Output is_finite(const Scope& scope, const Output& x);  // neither NaN nor +-inf

}  // namespace sluice::ops
