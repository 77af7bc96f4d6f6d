// Index-returning reductions and selection: argmax/argmin with options, top_k.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {

// Options of argmax/argmin beyond the axis (TF ArgMax output_type; ONNX ArgMax keepdims and
// select_last_index).
struct ArgOptions {
  bool keepdims = false;           // keep the reduced axis with size 1 (ONNX's default is true)
  bool select_last_index = false;  // ties go to the last index instead of the first
  DType output_type = DType::i64;  // int32 or int64 (an int32 output needs dim < 2^31)
};
// x [d0..dn] -> [d without axis] (or with a 1 there): the index of the largest (smallest)
// element along axis. NaN counts as the extreme for both, as in NumPy: the first NaN wins
// (the last with select_last_index). Any numeric dtype or bool; not differentiable.
// (The two-argument argmax/argmin in reduction_ops.h are the ArgMax/ArgMin ops: int64,
// first index, no keepdims.)
Output argmax(const Scope& scope, const Output& x, int64_t axis, const ArgOptions& options);
Output argmin(const Scope& scope, const Output& x, int64_t axis, const ArgOptions& options);

// x [.., n, ..] (n along axis) -> values [.., k, ..] (x's dtype), indices [.., k, ..]
// (index_type: int32 as TF, int64 as ONNX). k in [0, n]. largest: the k largest in
// descending order, else the k smallest in ascending order (ONNX largest=0). Equal values
// keep their index order (lower index first, as TF and ONNX). NaN ranks above +inf (as
// PyTorch's topk): first among the largest, last among the smallest. `sorted` is accepted
// for TF/ONNX compatibility; the result is always sorted (which both allow). Any numeric
// dtype. Differentiable in x through values (the gradient goes to the selected elements).
struct TopK {
  Output values;
  Output indices;
};
TopK top_k(const Scope& scope, const Output& x, int64_t k, int64_t axis = -1, bool largest = true,
           bool sorted = true, DType index_type = DType::i64);
// The same with k a 0-D (or one-element 1-D) int32/int64 tensor, possibly computed at run time
// (TF TopKV2's and ONNX TopK-10's k input).
TopK top_k(const Scope& scope, const Output& x, const Output& k, int64_t axis = -1,
           bool largest = true, bool sorted = true, DType index_type = DType::i64);

}  // namespace sluice::ops
