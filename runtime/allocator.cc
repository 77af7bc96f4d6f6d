#include "allocator.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "error.h"

namespace sluice {

namespace {

std::atomic<int64_t> g_in_use{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_count{0};
std::atomic<int64_t> g_cached{0};

std::atomic<size_t> g_max_bytes{size_t{1} << 48};  // refuse anything larger up front
constexpr size_t kThreadCacheLimit = size_t{256} << 10;  // blocks up to 256 KiB: per thread
constexpr size_t kPerClassThread = 16;               // blocks kept per class and thread
constexpr size_t kPerClassShared = 32;
constexpr int64_t kSharedCacheCap = int64_t{1} << 30;  // at most 1 GiB kept for reuse
constexpr int kClasses = 16 + 4 * 48;

// Class index and rounded size of a request.
int size_class(size_t bytes, size_t* rounded) {
  if (bytes <= 1024) {
    const size_t c = (bytes + 63) / 64;  // 1..16 (0 bytes -> class of 64)
    *rounded = (c ? c : 1) * 64;
    return static_cast<int>(c ? c - 1 : 0);
  }
  const int log2 = 63 - __builtin_clzll(bytes - 1);  // bytes in (2^log2, 2^(log2+1)]
  const size_t base = size_t{1} << log2, quarter = base / 4;
  const size_t step = (bytes - base + quarter - 1) / quarter;  // 1..4
  *rounded = base + step * quarter;
  return 16 + 4 * (log2 - 10) + static_cast<int>(step - 1);
}

void* system_alloc(size_t rounded) {
  void* p = std::aligned_alloc(kTensorAlignment, rounded);
  SLUICE_REQUIRE(p != nullptr, ResourceExhausted, "out of memory allocating ", rounded, " bytes");
  return p;
}

// Set once this thread's cache has been destroyed (at thread exit; for the main thread during
// static destruction). A Tensor that outlives it (a static Tensor, or a thread_local made
// before the thread's first allocation) then frees straight to the system instead of into
// a destroyed free list.
thread_local bool t_cache_gone = false;

// Free lists have their capacity reserved up front, so returning a block (in a noexcept
// path) never allocates.
struct ThreadCache {
  std::array<std::vector<void*>, kClasses> free;
  ThreadCache() {
    for (auto& list : free) list.reserve(kPerClassThread);
  }
  ~ThreadCache() {
    clear();
    t_cache_gone = true;
  }
  void clear() {
    for (auto& list : free) {
      for (void* p : list) std::free(p);
      list.clear();
    }
  }
};

// This thread's cache, or null once it has been destroyed.
ThreadCache* thread_cache() {
  if (t_cache_gone) return nullptr;
  thread_local ThreadCache cache;
  return &cache;
}

struct SharedCache {
  std::mutex mu;
  std::array<std::vector<void*>, kClasses> free;
  SharedCache() {
    for (auto& list : free) list.reserve(kPerClassShared);
  }
};

SharedCache& shared_cache() {
  static SharedCache* cache = new SharedCache();  // never destroyed: threads may free late
  return *cache;
}

}  // namespace

void* allocate_aligned(size_t bytes) {
  const size_t limit = g_max_bytes.load(std::memory_order_relaxed);
  SLUICE_REQUIRE(bytes <= limit, ResourceExhausted, "allocation of ", bytes,
                 " bytes exceeds the limit of ", limit, " bytes (set_max_allocation_bytes)");
  size_t rounded = 0;
  const int c = size_class(bytes, &rounded);
  void* p = nullptr;
  if (rounded <= kThreadCacheLimit) {
    if (ThreadCache* cache = thread_cache(); cache && !cache->free[c].empty()) {
      p = cache->free[c].back();
      cache->free[c].pop_back();
    }
  } else {
    SharedCache& sc = shared_cache();
    std::lock_guard<std::mutex> lock(sc.mu);
    auto& list = sc.free[c];
    if (!list.empty()) {
      p = list.back();
      list.pop_back();
      g_cached.fetch_sub(static_cast<int64_t>(rounded), std::memory_order_relaxed);
    }
  }
  if (!p) p = system_alloc(rounded);
  const int64_t now = g_in_use.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed) +
                      static_cast<int64_t>(bytes);
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  g_count.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void free_aligned(void* ptr, size_t bytes) noexcept {
  if (!ptr) return;
  g_in_use.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  size_t rounded = 0;
  const int c = size_class(bytes, &rounded);
  if (rounded <= kThreadCacheLimit) {
    if (ThreadCache* cache = thread_cache(); cache && cache->free[c].size() < kPerClassThread) {
      cache->free[c].push_back(ptr);
      return;
    }
  } else {
    SharedCache& sc = shared_cache();
    std::lock_guard<std::mutex> lock(sc.mu);
    auto& list = sc.free[c];
    if (list.size() < kPerClassShared &&
        g_cached.load(std::memory_order_relaxed) + static_cast<int64_t>(rounded) <= kSharedCacheCap) {
      list.push_back(ptr);
      g_cached.fetch_add(static_cast<int64_t>(rounded), std::memory_order_relaxed);
      return;
    }
  }
  std::free(ptr);
}

void set_max_allocation_bytes(size_t bytes) {
  g_max_bytes.store(std::min(bytes, size_t{1} << 48), std::memory_order_relaxed);
}

size_t max_allocation_bytes() { return g_max_bytes.load(std::memory_order_relaxed); }

AllocatorStats allocator_stats() {
  return AllocatorStats{g_in_use.load(), g_peak.load(), g_count.load(), g_cached.load()};
}

void release_cached_memory() {
  if (ThreadCache* cache = thread_cache()) cache->clear();
  SharedCache& sc = shared_cache();
  std::lock_guard<std::mutex> lock(sc.mu);
  for (auto& list : sc.free) {
    for (void* p : list) std::free(p);
    list.clear();
  }
  g_cached.store(0);
}

}  // namespace sluice
