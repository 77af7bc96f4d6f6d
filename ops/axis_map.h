// Per-axis index maps: the one kernel behind the data-movement ops whose output element at
// (o_0, .., o_{r-1}) is the input element at (m_0[o_0], .., m_{r-1}[o_{r-1}]): slices and
// strided slices (m_d[o] = begin + o * stride), reverse (d - 1 - o), tile (o mod d),
// broadcasting (0 or o), and every pad mode (constant: -1 outside the input; edge, reflect,
// symmetric: folded indices). Their gradients are the adjoint, a scatter-add through the
// same maps. Internal to the op families; not public API.
#pragma once

#include <vector>

#include "array_util.h"

namespace sluice::kernels {

// maps[d][o] is the input index along dim d of output index o along dim d, or -1 for
// "no input element here" (the fill value). maps.size() is the rank of input and output.
using AxisMaps = std::vector<std::vector<int64_t>>;

// Output dims of a set of maps: maps[d].size() each.
Shape axis_maps_shape(const AxisMaps& maps);

// y (already allocated, any shape with the maps' element count, x's dtype) gets
// x[maps[0][o_0], .., maps[r-1][o_{r-1}]] at each output index, or the element at `fill`
// (one element of x's dtype) where any map is -1; fill may be null when no map holds -1.
// Output rows are split over the pool; each element is written once, so results do not
// depend on the number of threads. Contiguous runs of the innermost map become memcpy.
void gather_axis_maps(ThreadPool& pool, const Tensor& x, const AxisMaps& maps, const void* fill,
                      Tensor& y);

// The adjoint of gather_axis_maps: dx (already allocated with the input shape, numeric
// dtype of g) is set to zero, then dx[maps(o)] += g[o] for every output index o whose maps
// are all >= 0. g may have any shape with the maps' element count. Work is split by the
// input index along dim 0 and every input element sums its contributions in output order,
// so results are identical for any number of threads.
void scatter_add_axis_maps(ThreadPool& pool, const Tensor& g, const AxisMaps& maps, Tensor& dx);

}  // namespace sluice::kernels
