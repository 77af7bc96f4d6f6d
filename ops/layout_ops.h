// Layout ops: tensors built by padding, repeating, broadcasting or regrouping the elements
// of another. Shape-like arguments are int32/int64 tensors (see shape_ops.h). Every op is
// differentiable in x; all dtypes are accepted.
#pragma once

#include <string>

#include "../graph/scope.h"

namespace sluice::ops {

// x [d0..] -> [d0 + before0 + after0, ..] (TensorFlow Pad/PadV2/MirrorPad, ONNX Pad,
// Keras ZeroPadding). paddings int32/int64 is either [rank, 2] (TensorFlow: row i is
// {before_i, after_i}) or [2*rank] (ONNX: all befores, then all afters). mode:
//   "constant":  constant_value (a scalar of x's dtype; Output() means 0) outside x,
//   "reflect":   mirrored without repeating the edge ([a b c] -> b | a b c | b),
//   "symmetric": mirrored repeating the edge ([a b c] -> a | a b c | c),
//   "edge":      the edge element repeated.
// Mode names are case-insensitive (TensorFlow's "REFLECT", ONNX's "reflect"). Negative
// paddings crop (as ONNX allows). Pads wider than the input keep mirroring (NumPy's
// np.pad; TensorFlow requires reflect pads <= d-1 and symmetric pads <= d); a non-empty
// pad of an empty dim in a mirror/edge mode is an error. Differentiable in x, and in
// constant_value for mode "constant".
Output pad(const Scope& scope, const Output& x, const Output& paddings,
           const std::string& mode = "constant", const Output& constant_value = Output());

// x [d0..dn] -> [d0*m0, .., dn*mn] (TensorFlow Tile, ONNX Tile): x repeated m_i times
// along dim i; multiples int32/int64 [rank], each >= 0.
Output tile(const Scope& scope, const Output& x, const Output& multiples);

// x -> [shape] (TensorFlow BroadcastTo): x broadcast (NumPy rules) to exactly `shape`
// (int32/int64 [n], n >= rank(x)); a dim of x must be 1 or equal to the target's.
Output broadcast_to(const Scope& scope, const Output& x, const Output& shape);
// x -> broadcast(x.shape, shape) (ONNX Expand): bidirectional, so a 1 in `shape` keeps
// x's dim; the output rank is max(rank(x), n).
Output expand(const Scope& scope, const Output& x, const Output& shape);

// Moves depth into space blocks: NHWC [N, H, W, C*b*b] -> [N, H*b, W*b, C] (TensorFlow
// DepthToSpace), or NCHW [N, C*b*b, H, W] -> [N, C, H*b, W*b] (ONNX DepthToSpace). mode
// "DCR" (TensorFlow's order, ONNX's default): input channel (by*b + bx)*C + c goes to
// (h*b + by, w*b + bx, c); "CRD" (ONNX): input channel c*b*b + by*b + bx does.
Output depth_to_space(const Scope& scope, const Output& x, int64_t block_size,
                      const std::string& mode = "DCR", const std::string& data_format = "NHWC");
// The inverse: NHWC [N, H*b, W*b, C] -> [N, H, W, C*b*b] (TensorFlow SpaceToDepth) or NCHW
// (ONNX SpaceToDepth, whose order is "DCR"). H and W must be multiples of b.
Output space_to_depth(const Scope& scope, const Output& x, int64_t block_size,
                      const std::string& mode = "DCR", const std::string& data_format = "NHWC");

}  // namespace sluice::ops
