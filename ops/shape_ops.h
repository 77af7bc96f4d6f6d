// Shape ops: reshape, transpose, expand_dims, squeeze, shape, size, fill, range,
// broadcasting. Shapes use ? for a dimension unknown until run time.
//
// Shape-like arguments come in two forms: std::vector<int64_t> (an attr, fixed when the
// graph is built) and Output (a 1-D int32/int64 tensor, as TensorFlow and ONNX pass them;
// it may be computed at run time, e.g. from ops::shape). Shape functions read an Output
// argument's value when it is a constant (or built from Shape/Pack/StridedSlice of static
// shapes), so static shapes stay known; kernels validate the run-time values.
// The std::initializer_list overloads make braced lists such as {0, -1} pick the vector
// form (an Output can also be brace-initialized from two values).
#pragma once

#include <initializer_list>
#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// x [*] -> [shape]; one entry of shape may be -1 (inferred). Element counts must match.
Output reshape(const Scope& scope, const Output& x, const std::vector<int64_t>& shape);
Output reshape(const Scope& scope, const Output& x, std::initializer_list<int64_t> shape);
// x [*] -> [shape's values] (TensorFlow Reshape): shape int32/int64 [n]; one entry may be
// -1 (inferred), 0 is a zero-sized dim. With copy_zero_dims (ONNX Reshape without
// allowzero), a 0 entry copies x's dim at that position instead.
Output reshape(const Scope& scope, const Output& x, const Output& shape,
               bool copy_zero_dims = false);
// x [*] -> like's run-time shape (same element count).
Output reshape_like(const Scope& scope, const Output& x, const Output& like);
// x [d0..dn] -> [d_perm0..d_permn]; empty perm reverses the dims.
Output transpose(const Scope& scope, const Output& x, const std::vector<int64_t>& perm = {});
Output transpose(const Scope& scope, const Output& x, std::initializer_list<int64_t> perm);
// x [d0..dn] -> [d_perm0..d_permn], perm an int32/int64 [rank] tensor (TensorFlow Transpose).
Output transpose(const Scope& scope, const Output& x, const Output& perm);
// perm int32/int64 [n], a permutation of 0..n-1 -> its inverse (y[perm[i]] = i), same dtype.
Output invert_permutation(const Scope& scope, const Output& perm);
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
// dims int32/int64 [n] (each >= 0), value [] of any dtype -> [dims] filled with value
// (TensorFlow Fill; ONNX ConstantOfShape with its value as a constant). Differentiable in value.
Output fill(const Scope& scope, const Output& dims, const Output& value);
// start, limit, delta: scalars of one dtype (float32/64, int32/64) -> [ceil((limit-start)/delta)]
// holding start, start+delta, ... (excluding limit). delta 0 is an error. TensorFlow's
// rules by default: delta pointing away from limit is an error, and float values are
// accumulated (v += delta) as TensorFlow does. onnx = true gives ONNX Range: an empty
// result in that case, and values start + i*delta. Not differentiable.
Output range(const Scope& scope, const Output& start, const Output& limit, const Output& delta,
             bool onnx = false);
// x broadcast (NumPy rules) to like's run-time shape.
Output broadcast_like(const Scope& scope, const Output& x, const Output& like);
// x summed over the dims that broadcasting added or stretched to reach x from like's shape:
// the inverse of broadcast_like (used by gradients).
Output sum_to_like(const Scope& scope, const Output& x, const Output& like);

}  // namespace sluice::ops
