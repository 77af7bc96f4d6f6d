// Indexing ops: multi-dimensional gathers and scatters (TensorFlow GatherNd/ScatterNd,
// ONNX GatherND/ScatterND/GatherElements/ScatterElements), one-hot with tensor arguments,
// and non-zero coordinates. Indices are int32/int64 and may be negative (counted from the
// end, as ONNX allows; TensorFlow rejects negative indices, so its valid graphs behave
// identically). An index outside [-d, d) is an InvalidArgument naming the node, the index
// position and value, and the shape it indexes; never a crash.
#pragma once

#include <string>

#include "../graph/scope.h"

namespace sluice::ops {

// params [B.., P_0..P_{K-1}, S..], indices [B.., M.., K] -> [B.., M.., S..] (TensorFlow
// GatherNd, ONNX GatherND): each K-tuple of indices picks a slice of params. The first
// batch_dims dims (B..) are batch dims shared by params and indices.
Output gather_nd(const Scope& scope, const Output& params, const Output& indices,
                 int64_t batch_dims = 0);

// indices [M.., K], updates [M.., S..], shape int32/int64 [K + rank(S)] -> zeros of `shape`
// with each update slice added at its K-tuple (TensorFlow ScatterNd; duplicate indices
// sum, in index order, so results are deterministic). Numeric dtypes.
Output scatter_nd(const Scope& scope, const Output& indices, const Output& updates,
                  const Output& shape);

// data [P.., S..], indices [M.., K], updates [M.., S..] -> data with each update slice
// written at its K-tuple (ONNX ScatterND; TensorFlow TensorScatterUpdate/Add/Mul/Min/Max).
// reduction: "none" (later duplicates win, in index order), "add", "mul", "max", "min";
// "none" takes any dtype, the others numeric. Differentiable for "none" and "add".
Output tensor_scatter_nd(const Scope& scope, const Output& data, const Output& indices,
                         const Output& updates, const std::string& reduction = "none");

// data [d_0..d_{r-1}], indices [i_0..i_{r-1}] (same rank; i_k <= d_k off the axis) ->
// [i_0..i_{r-1}]: out[.., j, ..] = data[.., indices[.., j, ..], ..] along axis (ONNX
// GatherElements, torch.gather).
Output gather_elements(const Scope& scope, const Output& data, const Output& indices,
                       int64_t axis = 0);

// data, indices [same rank], updates [indices' shape] -> data with data[.., indices[..j..], ..]
// = updates[..j..] along axis (ONNX ScatterElements); reduction as in tensor_scatter_nd.
Output scatter_elements(const Scope& scope, const Output& data, const Output& indices,
                        const Output& updates, int64_t axis = 0,
                        const std::string& reduction = "none");

// indices [i..] (any numeric dtype; floats truncated), depth: a scalar (or [1]) of any
// numeric dtype, on_value/off_value: scalars of one dtype (the output's) -> rank+1 tensor
// with the new dim of size depth at `axis` (-1: last): on_value where the index matches.
// Indices outside [0, depth) give all off_value (TensorFlow OneHot); with
// wrap_negative (ONNX OneHot) indices in [-depth, 0) count from the end. For ONNX's
// `values` input [off, on], pass gather(values, 1) and gather(values, 0). Not differentiable.
Output one_hot(const Scope& scope, const Output& indices, const Output& depth,
               const Output& on_value, const Output& off_value, int64_t axis = -1,
               bool wrap_negative = false);

// x [d..] (any dtype) -> int64 [rank, n]: the coordinates of its n non-zero elements in
// row-major order (ONNX NonZero; a scalar counts as rank 1). TensorFlow's Where(x) is
// transpose(non_zero(x)). Not differentiable.
Output non_zero(const Scope& scope, const Output& x);

}  // namespace sluice::ops
