#include "strided_spec.h"

#include <algorithm>

namespace sluice::kernels {

namespace {

using Ints = std::vector<int64_t>;

constexpr int kNewAxis = -1;
constexpr int kShrinkAxis = -2;

bool bit(int64_t mask, int64_t i) { return i < 63 && ((static_cast<uint64_t>(mask) >> i) & 1u); }

// Elements taken by [begin, end) with a step (TensorFlow's rounding: a partial step counts).
int64_t interval_count(int64_t begin, int64_t end, int64_t stride) {
  const int64_t len = end - begin;
  if (len == 0 || (len < 0) != (stride < 0)) return 0;
  return len / stride + (len % stride != 0 ? 1 : 0);
}

}  // namespace

AxisMaps SliceSpec::maps() const {
  AxisMaps m(size.size());
  for (size_t d = 0; d < size.size(); ++d) {
    m[d].resize(static_cast<size_t>(size[d]));
    for (int64_t o = 0; o < size[d]; ++o) m[d][o] = begin[d] + o * stride[d];
  }
  return m;
}

SliceSpec resolve_strided_slice(const Ints& dims, const Ints* begin, const Ints* end,
                                const Ints* strides, int64_t n, const StridedSliceMasks& m) {
  const bool values = begin && end && strides;
  const int rank = static_cast<int>(dims.size());
  SLUICE_REQUIRE(n >= 0 && n <= 32, InvalidArgument, "StridedSlice spec of length ", n,
                 " (at most 32 entries)");
  if (values) {
    SLUICE_REQUIRE(static_cast<int64_t>(begin->size()) == n &&
                       static_cast<int64_t>(end->size()) == n &&
                       static_cast<int64_t>(strides->size()) == n,
                   InvalidArgument,
                   "Expected begin, end, and strides to be 1D equal size tensors, but got begin ",
                   ints_to_string(*begin), ", end ", ints_to_string(*end), ", strides ",
                   ints_to_string(*strides));
  }
  const uint64_t ell = static_cast<uint64_t>(m.ellipsis);
  SLUICE_REQUIRE((ell & (ell - 1)) == 0, InvalidArgument,
                 "Multiple ellipses in slice spec not allowed (ellipsis_mask ", m.ellipsis, ")");

  // Sparse spec: an ellipsis is implied at the end when none is given.
  bool ellipsis_seen = false;
  int64_t new_axes_after_ellipsis = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (ellipsis_seen && bit(m.new_axis, i)) ++new_axes_after_ellipsis;
    if (bit(m.ellipsis, i)) ellipsis_seen = true;
  }
  int64_t ellipsis = m.ellipsis, sparse_n = n;
  if (!ellipsis_seen) {
    ellipsis = static_cast<int64_t>(ell | (uint64_t{1} << n));
    ++sparse_n;
  }

  // Dense spec: one entry per input dim; the ellipsis takes whole dims.
  Ints dbegin(rank, 0), dend(rank, 0), dstride(rank, 1);
  std::vector<bool> dbegin_mask(rank, false), dend_mask(rank, false), dshrink(rank, false);
  std::vector<int> gather;  // output dims: a dense dim, kNewAxis or kShrinkAxis
  int full = 0;
  for (int64_t i = 0; i < sparse_n; ++i) {
    if (bit(ellipsis, i)) {
      const int64_t next =
          std::min<int64_t>(rank - (sparse_n - i) + 1 + new_axes_after_ellipsis, rank);
      for (; full < next; ++full) {
        dbegin_mask[full] = dend_mask[full] = true;
        gather.push_back(full);
      }
    } else if (bit(m.new_axis, i)) {
      gather.push_back(kNewAxis);
    } else {
      SLUICE_REQUIRE(full < rank, InvalidArgument, "Index out of range using input dim ", full,
                     "; input has only ", rank, " dims");
      if (values) {
        dbegin[full] = (*begin)[i];
        dend[full] = (*end)[i];
        dstride[full] = (*strides)[i];
      }
      dbegin_mask[full] = bit(m.begin, i);
      dend_mask[full] = bit(m.end, i);
      if (bit(m.shrink_axis, i)) {
        dshrink[full] = true;
        gather.push_back(kShrinkAxis);
      } else {
        gather.push_back(full);
      }
      ++full;
    }
  }

  SliceSpec spec;
  spec.begin.assign(rank, 0);
  spec.stride.assign(rank, 1);
  spec.size.assign(rank, -1);
  for (int i = 0; i < rank; ++i) {
    const int64_t dim = dims[i];
    const int64_t stride = dstride[i];
    if (!values) {
      spec.size[i] = dshrink[i] ? 1 : -1;
      continue;
    }
    SLUICE_REQUIRE(stride != 0, InvalidArgument, "strides[", i, "] must be non-zero");
    if (dim < 0) {
      spec.size[i] = dshrink[i] ? 1 : -1;
      continue;
    }
    SLUICE_REQUIRE(!dshrink[i] || stride > 0, InvalidArgument,
                   "only stride 1 allowed on non-range indexing (dimension ", i, " has stride ",
                   stride, ")");
    // Valid first/last positions: [0, dim] going forward, [-1, dim - 1] going backward.
    const int64_t lo = stride > 0 ? 0 : -1, hi = stride > 0 ? dim : dim - 1;
    auto canonical = [&](int64_t x, bool masked, bool is_end) {
      if (masked) return (stride > 0) != is_end ? lo : hi;
      const int64_t fwd = x < 0 ? dim + x : x;
      return std::min(std::max(fwd, lo), hi);
    };
    int64_t b, e;
    if (dshrink[i]) {
      b = dbegin[i] < 0 ? dim + dbegin[i] : dbegin[i];
      SLUICE_REQUIRE(b >= 0 && b < dim, InvalidArgument, "slice index ", dbegin[i],
                     " of dimension ", i, " out of bounds (size ", dim, ")");
      e = b + 1;
    } else {
      b = canonical(dbegin[i], dbegin_mask[i], false);
      e = canonical(dend[i], dend_mask[i], true);
    }
    spec.begin[i] = b;
    spec.stride[i] = stride;
    spec.size[i] = interval_count(b, e, stride);
  }
  for (int g : gather) {
    if (g >= 0) spec.final_shape.push_back(spec.size[g]);
    if (g == kNewAxis) spec.final_shape.push_back(1);
  }
  return spec;
}

SliceSpec resolve_onnx_slice(const Ints& dims, const Ints& starts, const Ints& ends,
                             const Ints& axes_in, const Ints& steps_in) {
  const int rank = static_cast<int>(dims.size());
  const size_t k = starts.size();
  Ints axes = axes_in, steps = steps_in;
  if (axes.empty())
    for (size_t j = 0; j < k; ++j) axes.push_back(static_cast<int64_t>(j));
  if (steps.empty()) steps.assign(k, 1);
  SLUICE_REQUIRE(ends.size() == k && axes.size() == k && steps.size() == k, InvalidArgument,
                 "Slice starts ", ints_to_string(starts), ", ends ", ints_to_string(ends),
                 ", axes ", ints_to_string(axes), " and steps ", ints_to_string(steps),
                 " differ in length");
  SliceSpec spec;
  spec.begin.assign(rank, 0);
  spec.stride.assign(rank, 1);
  spec.size = dims;
  std::vector<bool> seen(rank, false);
  for (size_t j = 0; j < k; ++j) {
    int64_t a = axes[j];
    SLUICE_REQUIRE(a >= -rank && a < rank, InvalidArgument, "Slice axes[", j, "] = ", a,
                   " is out of range for an input of rank ", rank);
    if (a < 0) a += rank;
    SLUICE_REQUIRE(!seen[a], InvalidArgument, "Slice axes ", ints_to_string(axes), " name axis ", a,
                   " twice");
    seen[a] = true;
    const int64_t step = steps[j], dim = dims[a];
    SLUICE_REQUIRE(step != 0, InvalidArgument, "Slice steps[", j, "] must be non-zero");
    spec.stride[a] = step;
    if (dim < 0) {
      spec.size[a] = -1;
      continue;
    }
    int64_t s = starts[j] < 0 ? starts[j] + dim : starts[j];
    int64_t e = ends[j] < 0 ? ends[j] + dim : ends[j];
    if (step > 0) {
      s = std::min(std::max<int64_t>(s, 0), dim);
      e = std::min(std::max<int64_t>(e, 0), dim);
    } else {
      s = std::max<int64_t>(std::min(s, dim - 1), 0);
      e = std::max<int64_t>(std::min(e, dim - 1), -1);
    }
    spec.begin[a] = s;
    spec.size[a] = dim == 0 ? 0 : interval_count(s, e, step);
  }
  spec.final_shape = spec.size;
  return spec;
}

}  // namespace sluice::kernels
