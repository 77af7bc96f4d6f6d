// Inference-time graph rewriting on the plain-data form of a frozen graph (io::GraphDef), as
// TensorFlow's optimize_for_inference and grappler's remapper do; `sluice convert --optimize`
// is a shell over it:
//   - the learning-phase flag becomes the constant false (inference);
//   - training-only nodes go: Dropout in inference mode, Identity, StopGradient, CheckNumerics
//     (consumers read the node's input directly);
//   - constant folding: every stateless node whose inputs are all constants is computed once
//     and stored as a Const;
//   - batch normalization in inference mode after a Conv2D or MatMul (optionally through a
//     BiasAdd) with constant weights is folded into the weights and a bias:
//       w' = w * scale / sqrt(var + eps) (per output channel),  b' = (b - mean) * that + offset;
//   - Conv2D + BiasAdd (+ Relu / Relu6 / LeakyRelu) become one FusedConv2D, and MatMul +
//     BiasAdd (+ the same activations) one FusedMatMul (ops/dense_ops.h);
//   - nodes the signatures do not need are pruned.
// Signature inputs and outputs keep their names (a rewritten output node keeps its name).
#pragma once

#include "graph_io.h"

namespace sluice::io {

struct OptimizeStats {
  int nodes_before = 0;
  int nodes_after = 0;
  int folded_constants = 0;   // nodes replaced by their computed value
  int removed_training = 0;   // Dropout / Identity / StopGradient / CheckNumerics bypassed
  int folded_batch_norms = 0;
  // FusedConv2D / FusedMatMul nodes made, or that took in a batch norm or an activation.
  int fused_convolutions = 0;
  int fused_matmuls = 0;
};

// The optimized def; `def` must hold no variables (freeze first) and at least one signature.
// Throws InvalidArgument when it has no signature.
GraphDef optimize_for_inference(const GraphDef& def, OptimizeStats* stats = nullptr);

}  // namespace sluice::io
