// Math ops: elementwise arithmetic with NumPy broadcasting, comparisons, matmul.
// Binary ops take inputs of one dtype; the output shape is the broadcast of both.
#pragma once

#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// ---- unary, y[i] = f(x[i]), same shape and dtype (float32/float64 unless noted) ----
Output neg(const Scope& scope, const Output& x);     // any numeric dtype
Output abs(const Scope& scope, const Output& x);     // any numeric dtype
Output sign(const Scope& scope, const Output& x);    // -1, 0, 1; not differentiable
Output exp(const Scope& scope, const Output& x);
Output log(const Scope& scope, const Output& x);
Output sqrt(const Scope& scope, const Output& x);
Output rsqrt(const Scope& scope, const Output& x);   // 1 / sqrt(x)
Output square(const Scope& scope, const Output& x);  // any numeric dtype
Output reciprocal(const Scope& scope, const Output& x);
Output sigmoid(const Scope& scope, const Output& x);
Output tanh(const Scope& scope, const Output& x);

// ---- binary, broadcasting: a [A], b [B] -> [broadcast(A, B)] ----
Output add(const Scope& scope, const Output& a, const Output& b);
Output sub(const Scope& scope, const Output& a, const Output& b);
Output mul(const Scope& scope, const Output& a, const Output& b);
Output div(const Scope& scope, const Output& a, const Output& b);  // integer: C++ truncation; /0 is an error
Output pow(const Scope& scope, const Output& a, const Output& b);  // float only
Output maximum(const Scope& scope, const Output& a, const Output& b);
Output minimum(const Scope& scope, const Output& a, const Output& b);

// ---- comparisons and logic, broadcasting, bool output ----
Output equal(const Scope& scope, const Output& a, const Output& b);
Output not_equal(const Scope& scope, const Output& a, const Output& b);
Output less(const Scope& scope, const Output& a, const Output& b);
Output less_equal(const Scope& scope, const Output& a, const Output& b);
Output greater(const Scope& scope, const Output& a, const Output& b);
Output greater_equal(const Scope& scope, const Output& a, const Output& b);
Output logical_and(const Scope& scope, const Output& a, const Output& b);
Output logical_or(const Scope& scope, const Output& a, const Output& b);
Output logical_not(const Scope& scope, const Output& x);

// a [M,K] (or [K,M] if transpose_a), b [K,N] (or [N,K] if transpose_b) -> [M,N].
// float32/float64, through the OpenBLAS GEMM wrapper.
Output matmul(const Scope& scope, const Output& a, const Output& b, bool transpose_a = false,
              bool transpose_b = false);
// The gradients of matmul(a, b, transpose_a, transpose_b) with respect to a and b, given the
// gradient dy at its output (shared by MatMul and FusedMatMul).
std::vector<Output> matmul_input_grads(const Scope& scope, const Output& a, const Output& b,
                                       const Output& dy, bool transpose_a, bool transpose_b);
// Elementwise sum of n >= 1 tensors of one dtype and shape.
Output add_n(const Scope& scope, const std::vector<Output>& xs);

// Scalar helper: a Const of x's dtype holding `value`, so `ops::mul(s, x, scalar_like(s, x, 2))`.
Output scalar_like(const Scope& scope, const Output& x, double value);

}  // namespace sluice::ops

namespace sluice {
// Operators build ops in the graph's root scope with default names.
Output operator+(const Output& a, const Output& b);
Output operator-(const Output& a, const Output& b);
Output operator*(const Output& a, const Output& b);
Output operator/(const Output& a, const Output& b);
Output operator-(const Output& x);
}  // namespace sluice
