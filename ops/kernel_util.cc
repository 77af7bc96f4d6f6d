#include "kernel_util.h"

#include "../runtime/allocator.h"

namespace sluice::kernels {

BlockShares::BlockShares(int64_t count, int parts)
    : parts_(parts), shares_(new std::atomic<uint64_t>[static_cast<size_t>(parts)]) {
  for (int p = 0; p < parts; ++p) {
    const auto front = static_cast<uint64_t>(count * p / parts),
               back = static_cast<uint64_t>(count * (p + 1) / parts);
    shares_[p].store(front << 32 | back, std::memory_order_relaxed);
  }
}

int64_t BlockShares::claim(int home) {
  for (int i = 0; i < parts_; ++i) {
    const int p = (home + i) % parts_;
    std::atomic<uint64_t>& share = shares_[p];
    uint64_t v = share.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t front = v >> 32, back = v & 0xffffffffu;
      if (front >= back) break;
      // The owner takes from the front, the others from the back.
      const uint64_t next = i == 0 ? (front + 1) << 32 | back : front << 32 | (back - 1);
      if (share.compare_exchange_weak(v, next, std::memory_order_relaxed)) {
        return static_cast<int64_t>(i == 0 ? front : back - 1);
      }
    }
  }
  return -1;
}

std::string ints_to_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

void ElementCopier::copy_strings(std::string* dst, const std::string* src, size_t n) {
  const uint64_t limit = max_allocation_bytes();
  for (size_t i = 0; i < n; ++i) {
    copied_ += src[i].size();
    SLUICE_REQUIRE(copied_ <= limit, ResourceExhausted, "the strings this op would copy exceed ",
                   "the limit of ", limit, " bytes (set_max_allocation_bytes)");
    dst[i] = src[i];
  }
}

std::vector<int64_t> row_major_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.rank());
  int64_t acc = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape.dim(i);
  }
  return s;
}

template <int K>
BroadcastLoop<K>::BroadcastLoop(const Shape& out, const std::array<const Shape*, K>& in) {
  const int r = out.rank();
  // Full-rank strides per input (0 where the input is broadcast or missing).
  std::array<std::array<int64_t, Shape::kMaxRank>, K> full{};
  for (int k = 0; k < K; ++k) {
    const Shape& s = *in[k];
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; --i) {
      const int j = s.rank() - r + i;
      const int64_t d = j >= 0 ? s.dim(j) : 1;
      full[k][i] = (d == 1 && out.dim(i) != 1) ? 0 : acc;
      acc *= d;
    }
  }
  // Collapse: drop size-1 output dims; merge dim i into the previous one when every input
  // is contiguous across the pair (stride_prev == stride_i * dim_i) or broadcast in both.
  rank = 0;
  for (int i = 0; i < r; ++i) {
    if (out.dim(i) == 1) continue;
    bool merge = rank > 0;
    for (int k = 0; k < K && merge; ++k) {
      const int64_t prev = strides[k][rank - 1];
      merge = (prev == 0 && full[k][i] == 0) ||
              (full[k][i] != 0 && prev == full[k][i] * out.dim(i));
    }
    if (merge) {
      dims[rank - 1] *= out.dim(i);
      for (int k = 0; k < K; ++k) strides[k][rank - 1] = full[k][i];
    } else {
      dims[rank] = out.dim(i);
      for (int k = 0; k < K; ++k) strides[k][rank] = full[k][i];
      ++rank;
    }
  }
}

template <int K>
int64_t BroadcastLoop<K>::outer() const {
  int64_t n = 1;
  for (int i = 0; i + 1 < rank; ++i) n *= dims[i];
  return n;
}

template <int K>
std::array<int64_t, K> BroadcastLoop<K>::offsets(int64_t row) const {
  std::array<int64_t, K> off{};
  for (int i = rank - 2; i >= 0; --i) {
    const int64_t c = row % dims[i];
    row /= dims[i];
    for (int k = 0; k < K; ++k) off[k] += c * strides[k][i];
  }
  return off;
}

template struct BroadcastLoop<1>;
template struct BroadcastLoop<2>;
template struct BroadcastLoop<3>;

void unchanged_shape(ShapeContext& ctx) { ctx.add_output(ctx.input_dtype(0), ctx.input_shape(0)); }

void require_float(const ShapeContext& ctx, int i) {
  SLUICE_REQUIRE(is_floating(ctx.input_dtype(i)), InvalidArgument, "input ", i,
                 " must be float32 or float64, got ", dtype_name(ctx.input_dtype(i)));
}

void require_same_dtype(const ShapeContext& ctx, int a, int b) {
  SLUICE_REQUIRE(ctx.input_dtype(a) == ctx.input_dtype(b), InvalidArgument, "inputs ", a,
                 " and ", b, " must have the same dtype, got ", dtype_name(ctx.input_dtype(a)),
                 " and ", dtype_name(ctx.input_dtype(b)));
}

}  // namespace sluice::kernels
