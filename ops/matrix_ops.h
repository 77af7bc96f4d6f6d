// Batched matrix products.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {

// a [..A, M, K] (or [..A, K, M] with adj_x), b [..B, K, N] (or [..B, N, K] with adj_y)
//   -> [broadcast(..A, ..B), M, N]
// Both operands have rank >= 2; their leading (batch) dims broadcast as in NumPy, as
// TF BatchMatMulV2 and ONNX MatMul (N-D) do (1-D operands are the importer's business:
// reshape them to [1, K] / [K, 1] first). adj = transpose (the dtypes are real).
// float32/float64 through the GEMM wrapper; int32/int64 with wrapping arithmetic.
// Differentiable (float) in both operands, with the gradient summed over broadcast batch dims.
Output batch_matmul(const Scope& scope, const Output& a, const Output& b, bool adj_x = false,
                    bool adj_y = false);

}  // namespace sluice::ops
