// Pooling ops, NHWC, with TensorFlow's semantics. Output sizes and padding follow the conv
// rules (ops/conv_ops.h, window_dim): VALID OH = ceil((H - KH + 1) / SH), SAME OH =
// ceil(H / SH) with the smaller half of the padding on top. Padded positions never count:
// max pooling ignores them and SAME average pooling divides by the number of real
// (non-padding) elements in each window.
#pragma once

#include <cstdint>
#include <vector>

#include "../graph/scope.h"
#include "conv_ops.h"

namespace sluice::ops {

// x [N,H,W,C] -> [N,OH,OW,C]: the maximum of each ksize {KH,KW} window, windows `strides`
// {SH,SW} apart. float32/float64. The gradient goes to the largest element of each window
// (the first in row-major window order on ties), as MaxPoolGrad.
Output max_pool(const Scope& scope, const Output& x, std::vector<int64_t> ksize,
                std::vector<int64_t> strides, Padding padding = Padding::valid);

// x [N,H,W,C] -> [N,OH,OW,C]: the mean of each window's non-padding elements.
Output avg_pool(const Scope& scope, const Output& x, std::vector<int64_t> ksize,
                std::vector<int64_t> strides, Padding padding = Padding::valid);

// x [N,H,W,C] -> [N,C]: the mean over H and W (a composite of mean).
Output global_avg_pool(const Scope& scope, const Output& x);

}  // namespace sluice::ops
