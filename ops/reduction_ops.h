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


// Product over axes (TF Prod, ONNX ReduceProd); any numeric dtype (integers wrap). The
// gradient is exact where x has zeros (products of the other elements, no division).
Output prod(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
            bool keepdims = false);
// Logical and / or over axes of a bool tensor (TF All, Any); not differentiable.
Output all(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
           bool keepdims = false);
Output any(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
           bool keepdims = false);

// The same reductions with the axes as a tensor: `axes` is a 0-D or 1-D int32/int64 tensor,
// possibly computed at run time (TF Sum/Mean/Max/Min/Prod/All/Any's axis input; ONNX
// ReduceSum-13's axes input). Repeated axes count once. An empty axes tensor reduces every
// axis, or, with noop_with_empty_axes, none (x is returned unchanged: TF's rule for an empty
// axis list, ONNX's noop_with_empty_axes=1). When `axes` is a Const the output shape is
// known when the node is built; otherwise only its rank with keepdims. Gradients: sum, mean,
// max, min for any axes; prod needs constant axes (Unimplemented otherwise).
// reduce_all/reduce_any take bool; the others any numeric dtype.
Output reduce_sum(const Scope& scope, const Output& x, const Output& axes, bool keepdims = false,
                  bool noop_with_empty_axes = false);
Output reduce_mean(const Scope& scope, const Output& x, const Output& axes, bool keepdims = false,
                   bool noop_with_empty_axes = false);
Output reduce_max(const Scope& scope, const Output& x, const Output& axes, bool keepdims = false,
                  bool noop_with_empty_axes = false);
Output reduce_min(const Scope& scope, const Output& x, const Output& axes, bool keepdims = false,
                  bool noop_with_empty_axes = false);
Output reduce_prod(const Scope& scope, const Output& x, const Output& axes, bool keepdims = false,
                   bool noop_with_empty_axes = false);
Output reduce_all(const Scope& scope, const Output& x, const Output& axes, bool keepdims = false,
                  bool noop_with_empty_axes = false);
Output reduce_any(const Scope& scope, const Output& x, const Output& axes, bool keepdims = false,
                  bool noop_with_empty_axes = false);

// log(sum(exp(x), axes)), stable: x [d] -> [d without axes] (or keepdims). float only.
// (TF reduce_logsumexp, ONNX ReduceLogSumExp.) All -inf gives -inf; any +inf gives +inf.
Output logsumexp(const Scope& scope, const Output& x, const std::vector<int64_t>& axes = {},
                 bool keepdims = false);
// sum(x^2) / 2 over all elements: x [any] -> [] (TF L2Loss). float only.
Output l2_loss(const Scope& scope, const Output& x);

}  // namespace sluice::ops
