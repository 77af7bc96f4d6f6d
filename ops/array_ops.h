// Array ops: constants, placeholders, shape manipulation, indexing.
// Shapes use ? for a dimension unknown until run time.
#pragma once

#include <vector>

#include "../graph/scope.h"

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

// x [*] -> [shape]; one entry of shape may be -1 (inferred). Element counts must match.
Output reshape(const Scope& scope, const Output& x, const std::vector<int64_t>& shape);
// x [*] -> like's run-time shape (same element count).
Output reshape_like(const Scope& scope, const Output& x, const Output& like);
// x [d0..dn] -> [d_perm0..d_permn]; empty perm reverses the dims.
Output transpose(const Scope& scope, const Output& x, const std::vector<int64_t>& perm = {});
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
// x [d] -> [d with a 1 inserted at axis]; axis in [-rank-1, rank].
Output expand_dims(const Scope& scope, const Output& x, int64_t axis);
// Removes the size-1 dims listed in axes (all size-1 dims when empty).
Output squeeze(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {});
// x -> int64 [rank]: its run-time shape.
Output shape(const Scope& scope, const Output& x);
// x -> int64 []: its run-time element count.
Output size(const Scope& scope, const Output& x);
Output zeros_like(const Scope& scope, const Output& x);
Output ones_like(const Scope& scope, const Output& x);
// A tensor of `shape` (fully defined) filled with `value`, of dtype.
Output fill(const Scope& scope, DType dtype, const Shape& shape, double value);
// x broadcast (NumPy rules) to like's run-time shape.
Output broadcast_like(const Scope& scope, const Output& x, const Output& like);
// x summed over the dims that broadcasting added or stretched to reach x from like's shape:
// the inverse of broadcast_like (used by gradients).
Output sum_to_like(const Scope& scope, const Output& x, const Output& like);
// indices [i..] (int) -> [i.., depth] (axis -1): on_value at the index, off_value elsewhere.
// Out-of-range indices give an all-off row (as TensorFlow).
Output one_hot(const Scope& scope, const Output& indices, int64_t depth, double on_value = 1.0,
               double off_value = 0.0, DType dtype = DType::f32);
// Elementwise conversion between any two fixed-size dtypes (not string): float -> integer
// truncates toward zero and saturates at the integer's range, NaN giving 0; integer ->
// integer wraps (two's complement); x -> bool is x != 0; bool -> x is 0 or 1.
Output cast(const Scope& scope, const Output& x, DType dtype);
// where cond then a else b, all three broadcast together; cond is bool.
Output select(const Scope& scope, const Output& cond, const Output& a, const Output& b);

}  // namespace sluice::ops
