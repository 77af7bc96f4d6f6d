// Scans: running sums and products along one axis.
#pragma once

#include "../graph/scope.h"

namespace sluice::ops {

// x [d0..dn] -> [d0..dn]: running sum along `axis` (TF Cumsum, ONNX CumSum, NumPy cumsum).
// exclusive: element i sums the elements before it (the first is 0); reverse: the sums run
// from the end of the axis. Any numeric dtype (integers wrap); axis in [-rank, rank).
// d/dx: the reverse scan of the gradient.
Output cumsum(const Scope& scope, const Output& x, int64_t axis, bool exclusive = false,
              bool reverse = false);
// The same with `axis` a 0-D int32/int64 tensor, possibly computed at run time (TF's and
// ONNX's axis input).
Output cumsum(const Scope& scope, const Output& x, const Output& axis, bool exclusive = false,
              bool reverse = false);
// Running product, same conventions (TF Cumprod; the exclusive first element is 1).
// Its gradient divides by x, as TensorFlow's does, so it is not finite where x has zeros.
Output cumprod(const Scope& scope, const Output& x, int64_t axis, bool exclusive = false,
               bool reverse = false);
Output cumprod(const Scope& scope, const Output& x, const Output& axis, bool exclusive = false,
               bool reverse = false);

}  // namespace sluice::ops
