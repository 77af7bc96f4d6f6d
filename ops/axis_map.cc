#include "axis_map.h"

#include <algorithm>

namespace sluice::kernels {

namespace {

using Ints = std::vector<int64_t>;

// Element offsets into a tensor of `strides` for each map entry (-1 stays -1).
std::vector<Ints> element_offsets(const AxisMaps& maps, const Ints& strides) {
  std::vector<Ints> off(maps.size());
  for (size_t d = 0; d < maps.size(); ++d) {
    off[d].resize(maps[d].size());
    for (size_t o = 0; o < maps[d].size(); ++o)
      off[d][o] = maps[d][o] < 0 ? -1 : maps[d][o] * strides[d];
  }
  return off;
}

}  // namespace

Shape axis_maps_shape(const AxisMaps& maps) {
  Ints dims;
  for (const Ints& m : maps) dims.push_back(static_cast<int64_t>(m.size()));
  return Shape(dims);
}

void gather_axis_maps(ThreadPool& pool, const Tensor& x, const AxisMaps& maps, const void* fill,
                      Tensor& y) {
  const int r = static_cast<int>(maps.size());
  SLUICE_REQUIRE(r == x.rank() && y.dtype() == x.dtype(), Internal, "axis maps of rank ", r,
                 " for input ", x.shape().to_string());
  const int64_t total = y.num_elements();
  SLUICE_REQUIRE(total == axis_maps_shape(maps).num_elements(), Internal,
                 "axis maps do not match output ", y.shape().to_string());
  if (total == 0) return;
  const size_t esize = dtype_size(x.dtype());
  if (r == 0) {
    copy_bytes(y.raw_data(), x.raw_data(), esize);
    return;
  }
  const std::vector<Ints> off = element_offsets(maps, row_major_strides(x.shape()));
  const Ints& last = off[r - 1];
  const int64_t inner = static_cast<int64_t>(last.size());
  bool contiguous = last[0] >= 0;
  for (int64_t j = 1; j < inner && contiguous; ++j) contiguous = last[j] == last[0] + j;
  const int64_t rows = total / inner;
  by_element_size(x.dtype(), [&](auto e) {
    using E = decltype(e);
    const E* src = static_cast<const E*>(x.raw_data());
    E* dst = static_cast<E*>(y.raw_data());
    E fv{};
    if (fill) std::memcpy(&fv, fill, sizeof(E));
    parallel_range(
        pool, rows, std::max<int64_t>(1, kElementwiseGrain / inner), [&](int64_t b, int64_t end) {
          for (int64_t row = b; row < end; ++row) {
            // Decompose the row into output indices of dims 0..r-2 (the last dim is `inner`).
            int64_t rem = row, base = 0;
            bool filled = false;
            for (int d = r - 2; d >= 0; --d) {
              const int64_t n = static_cast<int64_t>(off[d].size());
              const int64_t v = off[d][rem % n];
              rem /= n;
              if (v < 0) filled = true;
              base += v;
            }
            E* out = dst + row * inner;
            if (filled) {
              std::fill(out, out + inner, fv);
            } else if (contiguous) {
              copy_bytes(out, src + base + last[0], static_cast<size_t>(inner) * sizeof(E));
            } else {
              for (int64_t j = 0; j < inner; ++j) out[j] = last[j] < 0 ? fv : src[base + last[j]];
            }
          }
        });
  });
}

void scatter_add_axis_maps(ThreadPool& pool, const Tensor& g, const AxisMaps& maps, Tensor& dx) {
  const int r = static_cast<int>(maps.size());
  SLUICE_REQUIRE(r == dx.rank() && g.dtype() == dx.dtype(), Internal, "axis maps of rank ", r,
                 " for gradient ", dx.shape().to_string());
  const Shape out_shape = axis_maps_shape(maps);
  SLUICE_REQUIRE(g.num_elements() == out_shape.num_elements(), Internal,
                 "axis maps do not match gradient ", g.shape().to_string());
  dispatch<SLUICE_NUMERIC_TYPES>(g.dtype(), "scatter-add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = dx.data<T>();
    std::fill(d, d + dx.num_elements(), T(0));
    if (g.num_elements() == 0 || dx.num_elements() == 0) return;
    const T* src = g.data<T>();
    if (r == 0) {
      d[0] += src[0];
      return;
    }
    const Ints in_strides = row_major_strides(dx.shape());
    const std::vector<Ints> off = element_offsets(maps, in_strides);
    // Output indices along dim 0 grouped by the input index they read (CSR, ascending).
    const int64_t n0 = dx.dim(0);
    Ints start(static_cast<size_t>(n0) + 1, 0), order;
    for (int64_t m : maps[0])
      if (m >= 0) ++start[m + 1];
    for (int64_t i = 0; i < n0; ++i) start[i + 1] += start[i];
    order.resize(static_cast<size_t>(start[n0]));
    Ints fill_at(start.begin(), start.end() - 1);
    for (size_t o = 0; o < maps[0].size(); ++o)
      if (maps[0][o] >= 0) order[fill_at[maps[0][o]]++] = static_cast<int64_t>(o);
    const int64_t rest = out_shape.num_elements() / out_shape.dim(0);  // output elements per o_0
    const int64_t inner = r > 1 ? out_shape.dim(r - 1) : 1;
    const int64_t rows = rest / inner;
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, rest));
    parallel_range(pool, n0, grain, [&](int64_t b, int64_t e) {
      for (int64_t i0 = b; i0 < e; ++i0) {
        T* drow = d + i0 * in_strides[0];
        for (int64_t k = start[i0]; k < start[i0 + 1]; ++k) {
          const T* srow = src + order[k] * rest;
          if (r == 1) {
            drow[0] += srow[0];
            continue;
          }
          for (int64_t row = 0; row < rows; ++row) {
            int64_t rem = row, base = 0;
            bool skip = false;
            for (int dd = r - 2; dd >= 1; --dd) {
              const int64_t n = static_cast<int64_t>(off[dd].size());
              const int64_t v = off[dd][rem % n];
              rem /= n;
              skip |= v < 0;
              base += v;
            }
            if (skip) continue;
            const int64_t* last = off[r - 1].data();
            const T* s = srow + row * inner;
            for (int64_t j = 0; j < inner; ++j)
              if (last[j] >= 0) drow[base + last[j]] += s[j];
          }
        }
      }
    });
  });
}

}  // namespace sluice::kernels
