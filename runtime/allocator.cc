#include "allocator.h"

#include <atomic>
#include <cstdlib>

#include "error.h"

namespace sluice {

namespace {
std::atomic<int64_t> g_in_use{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_count{0};

size_t round_up(size_t bytes) { return (bytes + kTensorAlignment - 1) & ~(kTensorAlignment - 1); }
}  // namespace

void* allocate_aligned(size_t bytes) {
  // Refuse absurd sizes up front: aligned_alloc would fail anyway, and rounding must not wrap.
  SLUICE_REQUIRE(bytes <= (size_t{1} << 48), ResourceExhausted, "allocation of ", bytes,
                 " bytes exceeds the 256 TiB limit");
  void* p = std::aligned_alloc(kTensorAlignment, round_up(bytes == 0 ? 1 : bytes));
  SLUICE_REQUIRE(p != nullptr, ResourceExhausted, "out of memory allocating ", bytes, " bytes");
  const int64_t now = g_in_use.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  g_count.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void free_aligned(void* ptr, size_t bytes) noexcept {
  g_in_use.fetch_sub(static_cast<int64_t>(bytes));
  std::free(ptr);
}

AllocatorStats allocator_stats() {
  return AllocatorStats{g_in_use.load(), g_peak.load(), g_count.load()};
}

}  // namespace sluice
