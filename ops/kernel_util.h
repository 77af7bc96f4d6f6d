// Internal helpers shared by kernels: parallel loops, NumPy broadcasting iteration, and
// shape-function helpers. Not part of the public API.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry.h"

namespace sluice::kernels {

// Elementwise work below this many elements runs on the calling thread: waking workers
// costs more than it saves.
constexpr int64_t kElementwiseGrain = 32768;

// Memory-bound streaming loops (optimizer updates) split only when each part streams
// about a megabyte: smaller vectors already sit in one core's cache, and splitting them
// made the batch-50 MLP's updates twice as slow on two threads.
constexpr int64_t kStreamingGrain = 1 << 18;

// Runs f(begin, end) over [0, n), in parallel when n is large enough.
template <class F>
void parallel_range(ThreadPool& pool, int64_t n, int64_t grain, F&& f) {
  if (n <= grain || pool.num_threads() == 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  pool.parallel_for(n, grain, f);
}

// An uninitialised scratch buffer of `elements` values (at least one, so it is never null):
// a kernel's per-thread workspace.
template <class T>
std::unique_ptr<T[]> workspace(int64_t elements) {
  return std::unique_ptr<T[]>(new T[static_cast<size_t>(std::max<int64_t>(elements, 1))]);
}

// Blocks [0, count) in one contiguous share per part, each share taken from its front by its
// own part and, once that part has finished its own, from its back by the others
// (parallel_blocks below).
class BlockShares {
 public:
  BlockShares(int64_t count, int parts);
  // The next block for part `home` (its own share first, then the end of another's), or -1.
  int64_t claim(int home);

 private:
  int parts_;
  std::unique_ptr<std::atomic<uint64_t>[]> shares_;  // per part: front << 32 | back
};

// Runs f(state, b) for every block b in [0, count) of independent work whose results do not
// depend on the thread that runs them (a convolution's pixel blocks). Each thread starts on
// its own contiguous share, as parallel_range would give it (consecutive kernels still find
// their rows in the same core's cache); a thread that finishes early takes blocks from the
// end of another's share: on a shared VM one core is often briefly slower than the other,
// and an even split waits for it. make_state() runs once in each thread that takes a block
// (its workspace).
template <class MakeState, class F>
void parallel_blocks(ThreadPool& pool, int64_t count, MakeState&& make_state, F&& f) {
  if (count <= 0) return;
  const int parts = static_cast<int>(std::min<int64_t>(count, pool.num_threads()));
  if (parts == 1) {
    auto state = make_state();
    for (int64_t b = 0; b < count; ++b) f(state, b);
    return;
  }
  BlockShares shares(count, parts);
  pool.parallel_chunks(parts, 1, [&](int home, int64_t, int64_t) {
    std::optional<decltype(make_state())> state;
    for (int64_t b = shares.claim(home); b >= 0; b = shares.claim(home)) {
      if (!state) state.emplace(make_state());
      f(*state, b);
    }
  });
}

// parallel_blocks over [0, n) cut into `parts` near-equal ranges, with no per-thread state:
// f(begin, end) for each range.
template <class F>
void parallel_parts(ThreadPool& pool, int64_t n, int64_t parts, F&& f) {
  parallel_blocks(
      pool, parts, [] { return 0; },
      [&](int, int64_t p) { f(n * p / parts, n * (p + 1) / parts); });
}

// "[1,2,3]".
std::string ints_to_string(const std::vector<int64_t>& v);

// Like parallel_range for elementwise work on 64-byte aligned buffers: chunk boundaries
// fall on multiples of 16 elements, so every chunk starts aligned and each element takes
// the same (vector or scalar) code path whatever the number of threads. Vectorized
// transcendental functions (exp, tanh) round differently on the two paths.
template <class F>
void parallel_aligned(ThreadPool& pool, int64_t n, F&& f) {
  constexpr int64_t kBlock = 16;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_range(pool, blocks, kElementwiseGrain / kBlock, [&](int64_t b, int64_t e) {
    f(b * kBlock, std::min(n, e * kBlock));
  });
}

// Strides of a row-major shape (in elements).
std::vector<int64_t> row_major_strides(const Shape& shape);

// Broadcasting of K inputs against an output shape, collapsed to as few dimensions as
// possible. The innermost collapsed dimension runs contiguously through the output; each
// input either walks it (stride 1) or stays put (stride 0).
template <int K>
struct BroadcastLoop {
  int rank = 0;
  std::array<int64_t, Shape::kMaxRank> dims{};
  std::array<std::array<int64_t, Shape::kMaxRank>, K> strides{};

  BroadcastLoop(const Shape& out, const std::array<const Shape*, K>& in);
  int64_t inner() const { return rank ? dims[rank - 1] : 1; }
  int64_t outer() const;
  // Offsets of each input at the start of outer row `row`.
  std::array<int64_t, K> offsets(int64_t row) const;
  int64_t inner_stride(int k) const { return rank ? strides[k][rank - 1] : 0; }
};

// Runs f(out_offset, in_offsets, inner_len, inner_strides) over every contiguous output
// run, rows split across the pool.
template <int K, class F>
void for_each_broadcast_row(ThreadPool& pool, const BroadcastLoop<K>& loop, F&& f) {
  const int64_t inner = loop.inner(), rows = loop.outer();
  std::array<int64_t, K> st;
  for (int k = 0; k < K; ++k) st[k] = loop.inner_stride(k);
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1));
  parallel_range(pool, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) f(r * inner, loop.offsets(r), inner, st);
  });
}

// Copies runs of elements between buffers of one dtype, addressed in bytes of the buffer
// layout (element_size() bytes per element), so byte-offset kernels (concat, split, slice,
// gather) serve every dtype: memcpy for fixed-size dtypes; for string tensors, whose
// buffers hold std::string objects, element-wise assignment. It also counts the string
// bytes it copies and throws ResourceExhausted past max_allocation_bytes(), so a kernel
// that replicates strings (gather with repeated indices) stops at the limit instead of
// exhausting memory. One copier per kernel call.
class ElementCopier {
 public:
  explicit ElementCopier(DType dtype)
      : esize_(dtype_storage_size(dtype)), strings_(dtype == DType::string) {}
  size_t element_size() const { return esize_; }
  void operator()(void* dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
    if (!strings_) {
      std::memcpy(dst, src, bytes);
    } else {
      copy_strings(static_cast<std::string*>(dst), static_cast<const std::string*>(src),
                   bytes / sizeof(std::string));
    }
  }

 private:
  void copy_strings(std::string* dst, const std::string* src, size_t n);
  size_t esize_;
  bool strings_;
  uint64_t copied_ = 0;  // string bytes copied so far
};

// Sign-agnostic integer work. Wrapping +, -, * and negation, and ==, give the same bits for
// a signed integer type and the unsigned type of its width (two's complement), so kernels of
// such ops dispatch on the "unsigned twin" of the input dtype and run int8 as uint8, int32 as
// uint32, ... (bool as uint8, for ==): four integer instantiations instead of nine, which
// keeps the library's size and build time in check. Kernels doing so read and write through
// raw_data(), since the twin is not the tensor's own dtype.
inline DType unsigned_twin(DType d) {
  switch (d) {
    case DType::i8:
    case DType::boolean: return DType::u8;
    case DType::i16: return DType::u16;
    case DType::i32: return DType::u32;
    case DType::i64: return DType::u64;
    default: return d;
  }
}
// The dispatch list of a sign-agnostic kernel: the float types and the unsigned twins.
#define SLUICE_TWIN_TYPES float, double, uint8_t, uint16_t, uint32_t, uint64_t

// ---- shape-function helpers ----

// Output 0 has input 0's dtype and shape.
void unchanged_shape(ShapeContext& ctx);
// Requires input i to be one of the float dtypes.
void require_float(const ShapeContext& ctx, int i);
// Requires inputs a and b to share a dtype.
void require_same_dtype(const ShapeContext& ctx, int a, int b);

}  // namespace sluice::kernels
