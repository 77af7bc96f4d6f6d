// Reductions over axes. `axes` may be negative (counted from the end); an empty list
// reduces over every axis. With keepdims the reduced dims stay, with size 1.
#pragma once

#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// x [d0..dn] -> [dims not in axes] (or [.., 1, ..] with keepdims).
Output sum(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
           bool keepdims = false);
Output mean(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
            bool keepdims = false);
Output max(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
           bool keepdims = false);
Output min(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
           bool keepdims = false);
// x [d0..dn] -> int64 [d without axis]: index of the first largest (smallest) element.
Output argmax(const Scope& scope, const Output& x, int64_t axis);
Output argmin(const Scope& scope, const Output& x, int64_t axis);

}  // namespace sluice::ops
