// Shape ops: reshape, transpose, expand_dims, squeeze, shape, size, fill, broadcasting.
// Shapes use ? for a dimension unknown until run time.
#pragma once

#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// x [*] -> [shape]; one entry of shape may be -1 (inferred). Element counts must match.
Output reshape(const Scope& scope, const Output& x, const std::vector<int64_t>& shape);
// x [*] -> like's run-time shape (same element count).
Output reshape_like(const Scope& scope, const Output& x, const Output& like);
// x [d0..dn] -> [d_perm0..d_permn]; empty perm reverses the dims.
Output transpose(const Scope& scope, const Output& x, const std::vector<int64_t>& perm = {});
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

}  // namespace sluice::ops
