// Pooling ops, NHWC, with TensorFlow's and ONNX's semantics. Output sizes and padding follow
// the conv rules (ops/conv_ops.h, window_dim): VALID, SAME (= ONNX SAME_UPPER), SAME_LOWER,
// or explicit (possibly asymmetric) pads, each smaller than the (dilated) window; ONNX's
// ceil_mode rounds the output size up for explicit pads (a last window that would start in
// the bottom/right padding is dropped, as PyTorch and ONNX do).
//
// Padded positions never count for max pooling. Average pooling divides by the number of
// real (non-padding) elements of each window (TensorFlow, ONNX count_include_pad = 0), or,
// with count_include_pad, by the number of window positions inside the padded image
// [-pad_before, size + pad_after) (ONNX count_include_pad = 1; positions that ceil_mode adds
// beyond the padding do not count, as in ONNX's reference and PyTorch).
// NaN: a window holding a NaN gives NaN (max and average alike), and max pooling's gradient
// goes to the first NaN of such a window.
#pragma once

#include <cstdint>
#include <vector>

#include "../graph/scope.h"
#include "conv_ops.h"

namespace sluice::ops {

// x [N,H,W,C] -> [N,OH,OW,C]: the maximum of each ksize {KH,KW} window, windows `strides`
// {SH,SW} apart, taps `dilations` {DH,DW} apart (ONNX MaxPool's dilations). float32/float64.
// The gradient goes to the largest element of each window (the first in row-major window
// order on ties), as MaxPoolGrad. A window without any input element (possible only with
// dilations) gives -inf.
Output max_pool(const Scope& scope, const Output& x, std::vector<int64_t> ksize,
                std::vector<int64_t> strides, Pads padding = Padding::valid,
                std::vector<int64_t> dilations = {1, 1}, bool ceil_mode = false);

// x [N,H,W,C] -> [N,OH,OW,C]: the mean of each window (see above for the divisor).
Output avg_pool(const Scope& scope, const Output& x, std::vector<int64_t> ksize,
                std::vector<int64_t> strides, Pads padding = Padding::valid,
                bool count_include_pad = false, bool ceil_mode = false);

// x [N,H,W,C] -> [N,C] ([N,1,1,C] with keepdims): the mean over H and W (a composite of
// mean).
Output global_avg_pool(const Scope& scope, const Output& x, bool keepdims = false);

// x [N,H,W,C] -> [N,C] ([N,1,1,C] with keepdims, as ONNX's GlobalMaxPool in NHWC): the
// maximum over H and W (a composite of max; Keras' GlobalMaxPooling2D).
Output global_max_pool(const Scope& scope, const Output& x, bool keepdims = false);

}  // namespace sluice::ops
