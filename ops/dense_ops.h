// FusedMatMul: act(matmul(a, b) + bias) in one kernel. `sluice convert --optimize`
// (io::optimize_for_inference) makes it of MatMul + BiasAdd (+ Relu / Relu6 / LeakyRelu),
// the dense layer's pattern, as TensorFlow's remapper makes _FusedMatMul.
#pragma once

#include "../graph/graph.h"
#include "../graph/scope.h"
#include "conv_ops.h"  // FusedActivation

namespace sluice::ops {

// a [M,K] (or [K,M] if transpose_a), b [K,N] (or [N,K] if transpose_b), bias [N] -> [M,N],
// float32/float64: the GEMM, then bias and activation in one pass over the output while
// each row block is still in cache. Gradients flow to a, b and bias (the activation's
// derivative is read from the output, as for FusedConv2D).
Output fused_matmul(const Scope& scope, const Output& a, const Output& b, const Output& bias,
                    FusedActivation activation = FusedActivation::none,
                    bool transpose_a = false, bool transpose_b = false);

}  // namespace sluice::ops
