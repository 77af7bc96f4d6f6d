// Resolution of TensorFlow's StridedSlice and ONNX's Slice arguments into one per-dimension
// description (first index, step, count), shared by the kernels, the gradients and static
// shape inference. Internal to the op families; not public API.
#pragma once

#include <cstdint>
#include <vector>

#include "axis_map.h"

namespace sluice::kernels {

struct StridedSliceMasks {
  int64_t begin = 0, end = 0, ellipsis = 0, new_axis = 0, shrink_axis = 0;
};

// Per input dim: the first index, the step and the number of elements taken (size -1 when
// not known statically), plus the output shape after shrinking and new axes.
struct SliceSpec {
  std::vector<int64_t> begin, stride, size;
  std::vector<int64_t> final_shape;

  // The per-axis maps that read this slice (sizes must be known).
  AxisMaps maps() const;
};

// TensorFlow StridedSlice. dims: the input's dims (-1 unknown). begin/end/strides: the
// sparse spec of length n, or null when their values are unknown (only the output rank
// and shrunk/new dims are then known). Throws InvalidArgument with TensorFlow's messages.
SliceSpec resolve_strided_slice(const std::vector<int64_t>& dims, const std::vector<int64_t>* begin,
                                const std::vector<int64_t>* end,
                                const std::vector<int64_t>* strides, int64_t n,
                                const StridedSliceMasks& masks);

// ONNX Slice (opset 10+): starts/ends per listed axis (axes empty: 0..k-1; steps empty: all
// 1), negative values count from the end, then clamped as ONNX specifies ([0, d] forward,
// [0, d-1] for starts and [-1, d-1] for ends backward), so INT_MAX/INT_MIN mean "to the
// end". Unlisted axes are taken whole.
SliceSpec resolve_onnx_slice(const std::vector<int64_t>& dims, const std::vector<int64_t>& starts,
                             const std::vector<int64_t>& ends, const std::vector<int64_t>& axes,
                             const std::vector<int64_t>& steps);

}  // namespace sluice::kernels
