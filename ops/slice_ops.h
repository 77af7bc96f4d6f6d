// Slicing ops: TensorFlow Slice and StridedSlice, ONNX Slice, and reverse. Shape-like
// arguments are 1-D int32/int64 tensors (see shape_ops.h); their values are read at build
// time when they are constants, so static shapes stay known, and checked at run time.
// Every slicing op here is differentiable in x (the gradient scatters back into zeros).
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// x [d] -> [size] (TensorFlow Slice): elements begin[i] .. begin[i]+size[i]-1 of each dim;
// begin, size int32/int64 [rank]; size -1 means "to the end". Requires 0 <= begin <= d and
// begin + size <= d (InvalidArgument naming the node, values and shape otherwise).
Output slice(const Scope& scope, const Output& x, const Output& begin, const Output& size);
// The attr form (array_ops.h) for braced lists such as {0, 0}.
Output slice(const Scope& scope, const Output& x, std::initializer_list<int64_t> begin,
             std::initializer_list<int64_t> size);

// TensorFlow StridedSlice, exactly: x[begin:end:strides] over a sparse spec of n entries
// (begin, end, strides int32/int64 [n], one dtype), with TensorFlow's five bit masks:
//   begin_mask / end_mask bit i: ignore begin[i] / end[i] (take from the start / to the end,
//     which for a negative stride means from the last element / past the first),
//   ellipsis_mask (at most one bit): entry i stands for as many full dims as needed,
//   new_axis_mask bit i: entry i inserts a dim of size 1 (begin/end/stride ignored),
//   shrink_axis_mask bit i: entry i takes the single element begin[i] and drops the dim.
// Negative begin/end count from the end; out-of-range begin/end are clamped (a shrunk index
// must be in range). Without an ellipsis, unspecified trailing dims are taken whole.
// Examples: x[1:-1, ::-1] -> begin {1,0}, end {-1,0}, strides {1,-1}, end_mask 0b10,
// begin_mask 0b10; x[..., 0] -> begin {0,0}, end {0,1}, strides {1,1}, ellipsis_mask 1,
// shrink_axis_mask 0b10; x[:, None] -> new_axis_mask 0b10, begin_mask 1, end_mask 1.
Output strided_slice(const Scope& scope, const Output& x, const Output& begin, const Output& end,
                     const Output& strides, int64_t begin_mask = 0, int64_t end_mask = 0,
                     int64_t ellipsis_mask = 0, int64_t new_axis_mask = 0,
                     int64_t shrink_axis_mask = 0);
// Its gradient (TensorFlow StridedSliceGrad): dy [slice shape] -> zeros of `shape` (int
// [rank]) with dy at the sliced positions. Exposed for importers of training graphs.
Output strided_slice_grad(const Scope& scope, const Output& shape, const Output& begin,
                          const Output& end, const Output& strides, const Output& dy,
                          int64_t begin_mask = 0, int64_t end_mask = 0, int64_t ellipsis_mask = 0,
                          int64_t new_axis_mask = 0, int64_t shrink_axis_mask = 0);

// ONNX Slice (opset 10-17): starts, ends int32/int64 [k]; axes [k] (default 0..k-1) and
// steps [k] (default 1) are optional (pass Output()). Per listed axis a (negative: from
// the end, each at most once): negative starts/ends count from the end, then starts are
// clamped to [0, d] (step > 0) or [0, d-1] (step < 0) and ends to [0, d] or [-1, d-1], so
// INT_MAX / INT_MIN (or int64 limits) mean "to the end" in either direction; step 0 is an
// error. Unlisted axes are kept whole. Output dims: ceil((end - start) / step), >= 0.
// (ONNX Slice-1's attribute form maps onto this with constants.)
Output slice_onnx(const Scope& scope, const Output& x, const Output& starts, const Output& ends,
                  const Output& axes = Output(), const Output& steps = Output());

// x -> x with the listed axes reversed (TensorFlow ReverseV2 with a constant axis; Keras
// go_backwards). axes may be negative; naming an axis twice is an error.
Output reverse(const Scope& scope, const Output& x, const std::vector<int64_t>& axes);

}  // namespace sluice::ops
