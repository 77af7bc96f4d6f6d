// Array ops: constants, placeholders, identity, concat/split/stack, slicing, indexing, casts.
// Includes the other array-family headers (shape_ops.h: reshape, transpose, fill, range;
// slice_ops.h: slice, strided_slice, slice_onnx, reverse; layout_ops.h: pad, tile,
// broadcast_to, expand, depth_to_space; index_ops.h: gather_nd, scatter_nd,
// gather_elements, one_hot with tensor depth, non_zero), so this header gives them all.
// Shapes use ? for a dimension unknown until run time.
#pragma once

#include <vector>

#include "../graph/scope.h"
#include "index_ops.h"
#include "layout_ops.h"
#include "shape_ops.h"
#include "slice_ops.h"

namespace sluice::ops {

// A constant holding `value` (any dtype and shape).
Output constant(const Scope& scope, const Tensor& value);
// A value fed at run time; -1 dims (and Shape::unknown_rank()) accept any size.
Output placeholder(const Scope& scope, DType dtype, const Shape& shape);
// `input` unless a value is fed for it; shape may be less specific than input's.
Output placeholder_with_default(const Scope& scope, const Output& input, const Shape& shape);

Output identity(const Scope& scope, const Output& x);
// Identity whose gradient is zero: the gradient stops here.
Output stop_gradient(const Scope& scope, const Output& x);
// values [.., a_i, ..] along axis -> [.., sum a_i, ..]; other dims equal.
Output concat(const Scope& scope, const std::vector<Output>& values, int64_t axis);
// x [.., n*k, ..] -> num_split outputs [.., k, ..] along axis.
std::vector<Output> split(const Scope& scope, const Output& x, int64_t num_split, int64_t axis);
// x -> pieces along axis whose sizes match each of `likes` along that axis.
std::vector<Output> split_like(const Scope& scope, const Output& x, const std::vector<Output>& likes,
                               int64_t axis);
// x [d] -> [size]: elements begin[i] .. begin[i]+size[i]; size -1 means "to the end".
Output slice(const Scope& scope, const Output& x, const std::vector<int64_t>& begin,
             const std::vector<int64_t>& size);
// params [a.., n, b..], indices [i..] (int32/int64, each in [0, n)) -> [a.., i.., b..].
Output gather(const Scope& scope, const Output& params, const Output& indices, int64_t axis = 0);
// indices [i..] (int) -> [i.., depth] (axis -1): on_value at the index, off_value elsewhere.
// Out-of-range indices give an all-off row (as TensorFlow); the node's attr check_range = true
// (set by the sparse losses and metrics) makes them InvalidArgument instead.
Output one_hot(const Scope& scope, const Output& indices, int64_t depth, double on_value = 1.0,
               double off_value = 0.0, DType dtype = DType::f32);
// Elementwise conversion between any two fixed-size dtypes (not string): float -> integer
// truncates toward zero and saturates at the integer's range, NaN giving 0; integer ->
// integer wraps (two's complement); x -> bool is x != 0; bool -> x is 0 or 1.
Output cast(const Scope& scope, const Output& x, DType dtype);
// where cond then a else b, all three broadcast together; cond is bool.
Output select(const Scope& scope, const Output& cond, const Output& a, const Output& b);
// cond [bool], a, b (one dtype, any) -> broadcast(cond, a, b): a where cond, else b, with
// full NumPy broadcasting of all three (TensorFlow SelectV2, ONNX Where; the same op as
// select). TensorFlow 1.x Select with a vector cond and matrices a, b picks whole rows:
// reshape cond to [n, 1, ..] first. Differentiable in a and b.
Output where(const Scope& scope, const Output& cond, const Output& a, const Output& b);

// values: n tensors of one shape [d..] -> [.., n, ..] with the new dim at axis (in
// [-rank-1, rank]) (TensorFlow Pack, tf.stack).
Output stack(const Scope& scope, const std::vector<Output>& values, int64_t axis = 0);
// x [.., n, ..] -> n tensors [.., ..] along axis (TensorFlow Unpack, tf.unstack); num
// defaults to x's static dim (-1: read it from the static shape, which must know it).
std::vector<Output> unstack(const Scope& scope, const Output& x, int64_t axis = 0,
                            int64_t num = -1);
// x [.., d, ..] -> pieces [.., sizes_i, ..] along axis (TensorFlow SplitV, ONNX Split with
// sizes); one size may be -1 (the rest of d); sizes must add up to d.
std::vector<Output> split_v(const Scope& scope, const Output& x, const std::vector<int64_t>& sizes,
                            int64_t axis);

}  // namespace sluice::ops
