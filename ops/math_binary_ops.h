// More elementwise binary math with NumPy broadcasting: a [A], b [B] -> [broadcast(A, B)],
// one dtype for both inputs. Integer division or modulo by zero is an InvalidArgument error
// (it would trap); float division by zero follows IEEE (inf, or NaN for the modulos).
#pragma once

#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// floor(a / b), TF FloorDiv / Python //. Integers: rounds toward -inf (-7 // 2 = -4);
// INT_MIN // -1 wraps to INT_MIN. Floats: floor(a / b) computed as TF does (so 1 // 0.1 is 10,
// where Python's divmod-based // gives 9). Any numeric dtype; not differentiable (as TF).
Output floor_div(const Scope& scope, const Output& a, const Output& b);
// a - floor_div(a, b) * b: the result has the divisor's sign (TF FloorMod, Python %, NumPy
// mod, ONNX Mod with fmod=0). Floats: fmod corrected toward b's sign; x mod 0 = NaN.
// d/da = 1, d/db = -floor(a / b).
Output floor_mod(const Scope& scope, const Output& a, const Output& b);
// C fmod: the result has the dividend's sign (TF TruncateMod, ONNX Mod with fmod=1, NumPy
// fmod). d/da = 1, d/db = -trunc(a / b) (TF has no gradient; this is PyTorch fmod's).
Output truncate_mod(const Scope& scope, const Output& a, const Output& b);
// (a - b)^2 (TF SquaredDifference). Any numeric dtype.
Output squared_difference(const Scope& scope, const Output& a, const Output& b);
// a != b on bools (TF LogicalXor is a composite; ONNX Xor). bool -> bool.
Output logical_xor(const Scope& scope, const Output& a, const Output& b);

// x clipped to [lo, hi] elementwise, x, lo and hi broadcast together (output shape =
// broadcast of all three). NaN in x, lo or hi gives NaN. Any numeric dtype. The two orders
// differ only where lo > hi:
//   default:     max(min(x, hi), lo), so lo wins (TF clip_by_value);
//   numpy_order: min(max(x, lo), hi), so hi wins (NumPy clip, ONNX Clip).
// Gradient: to x where lo <= x <= hi, to lo below, to hi above, and where lo > hi to the
// bound that wins (as TF's minimum/maximum composite).
Output clip_by_value(const Scope& scope, const Output& x, const Output& lo, const Output& hi,
                     bool numpy_order = false);

// Variadic elementwise ops with NumPy broadcasting across all inputs (ONNX Max, Min, Sum,
// Mean): xs [S_0], .., [S_n-1] -> [broadcast(S_0, .., S_n-1)], n >= 1, one dtype.
// Composites of maximum/minimum/add/div, so they differentiate through those.
Output maximum_n(const Scope& scope, const std::vector<Output>& xs);
Output minimum_n(const Scope& scope, const std::vector<Output>& xs);
Output sum_n(const Scope& scope, const std::vector<Output>& xs);
Output mean_n(const Scope& scope, const std::vector<Output>& xs);  // float only

}  // namespace sluice::ops
