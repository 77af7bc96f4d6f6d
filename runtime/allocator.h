// Aligned host memory for tensor buffers: a size-class caching allocator with accounting.
//
// Training and serving allocate the same sizes over and over (activations, gradients,
// workspaces). Freed blocks are kept per size class and handed out again, so a steady-state
// step makes no malloc/free calls and, for large blocks, no page faults (glibc would mmap and
// munmap them on every step). Small blocks are cached per thread without locks; large ones
// in a shared, size-capped cache. Requests are rounded up to a class: 64-byte multiples up
// to 1 KiB, then four classes per power of two (at most 25% slack).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

constexpr size_t kTensorAlignment = 64;

// 64-byte aligned memory of at least `bytes`; throws ResourceExhausted on failure.
void* allocate_aligned(size_t bytes);
// Frees memory from allocate_aligned; `bytes` must be the size that was requested.
void free_aligned(void* ptr, size_t bytes) noexcept;

struct AllocatorStats {
  int64_t bytes_in_use = 0;       // bytes requested by live allocations
  int64_t peak_bytes_in_use = 0;  // high-water mark of bytes_in_use
  int64_t num_allocations = 0;    // since process start
  int64_t cached_bytes = 0;       // free blocks kept in the shared (large-block) cache
};
AllocatorStats allocator_stats();

// The largest single buffer Sluice will allocate (default 2^48 bytes). A server (or a
// fuzzer) sets it lower so that a request for an absurd shape fails with ResourceExhausted
// instead of exhausting the machine's memory.
void set_max_allocation_bytes(size_t bytes);
size_t max_allocation_bytes();

// Frees every cached block of the shared cache and of the calling thread's cache.
void release_cached_memory();

}  // namespace sluice
