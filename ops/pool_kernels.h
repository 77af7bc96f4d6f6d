// Internal pieces of the pooling kernels (ops/pool_ops.cc) that fused ops reuse: the
// geometry of a pooling node and max pooling over a range of output rows. Not part of the
// public API.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "../graph/graph.h"
#include "../runtime/thread_pool.h"

namespace sluice::pool {

// The taps of one window along one axis: positions start + i*d for i in [i0, i1) are inside
// [0, size) (i1 <= i0 when none is).
struct AxisTaps {
  int64_t start, i0, i1;
};

struct PoolGeometry {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t oh = 0, ow = 0, pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;

  static AxisTaps taps(int64_t start, int64_t k, int64_t d, int64_t size) {
    const int64_t i0 = start >= 0 ? 0 : (-start + d - 1) / d;
    const int64_t i1 = start >= size ? 0 : std::min(k, (size - 1 - start) / d + 1);
    return {start, i0, std::max(i0, i1)};
  }
  AxisTaps rows(int64_t y) const { return taps(y * sh - pad_top, kh, dh, h); }
  AxisTaps cols(int64_t x) const { return taps(x * sw - pad_left, kw, dw, w); }
  // The average's divisor for window (y, x): its elements inside the image, or with
  // count_include_pad its positions inside the padded image.
  int64_t divisor(const AxisTaps& r, const AxisTaps& q) const {
    if (!count_include_pad) return (r.i1 - r.i0) * (q.i1 - q.i0);
    const AxisTaps pr = taps(r.start + pad_top, kh, dh, h + pad_top + pad_bottom);
    const AxisTaps pq = taps(q.start + pad_left, kw, dw, w + pad_left + pad_right);
    return (pr.i1 - pr.i0) * (pq.i1 - pq.i0);
  }
};

// The geometry of pooling x (a static shape may hold -1s; the dims that depend on them are
// -1 too) with the node's attrs (ksize, strides, dilations, padding, explicit_paddings,
// ceil_mode, count_include_pad; each named prefix + the name); validates the attrs and
// names the shape in every message.
PoolGeometry make_geometry(const Node& node, const Shape& x, const std::string& prefix = "");
inline Shape output_shape(const PoolGeometry& g) { return Shape{g.n, g.oh, g.ow, g.c}; }

// MaxPool's output rows [y0, y1) of image n: y and x as MaxPool's output and input of
// geometry g (y0 of image n at y + (n * oh + y0) * ow * c). On the calling thread.
template <class T>
void max_pool_rows(const PoolGeometry& g, const T* x, int64_t n, int64_t y0, int64_t y1, T* y);
// MaxPool's whole output (every image and row), the rows split across the pool.
template <class T>
void max_pool(const PoolGeometry& g, const T* x, T* y, ThreadPool& pool);

}  // namespace sluice::pool
