// Internal kernel helpers of the normalization ops, declared here so tests can compare
// their code paths. Not part of the public API.
#pragma once

#include <cstdint>

namespace sluice::kernels {

// y[r, j] = (x[r, j] - m[j]) * a[j] + o[j] for rows [r0, r1) of [rows, c] arrays.
// With `streaming`, uses non-temporal (cache-bypassing) stores where the CPU and layout
// allow it (AVX-512, c a multiple of one 64-byte vector, y 64-byte aligned), else plain
// stores; both give the same values.
template <class T>
void batch_norm_rows(const T* x, T* y, int64_t r0, int64_t r1, int64_t c, const T* m, const T* a,
                     const T* o, bool streaming);

// Outputs at least this large are written with streaming stores: 3/4 of the last-level
// cache share of one hardware thread (glibc's threshold for non-temporal memcpy). Writing
// such an output through the cache would evict the input it is computed from and costs a
// read of every destination line first; 0 when the cache size is unknown (never stream).
int64_t streaming_store_threshold_bytes();

}  // namespace sluice::kernels
