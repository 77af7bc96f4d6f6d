// Aligned host memory for tensor buffers, with process-wide accounting.
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
  int64_t bytes_in_use = 0;     // tensor bytes currently allocated
  int64_t peak_bytes_in_use = 0;
  int64_t num_allocations = 0;  // since process start
};
AllocatorStats allocator_stats();

}  // namespace sluice
