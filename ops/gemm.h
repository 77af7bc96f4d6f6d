// The one GEMM entry point. Every matrix product in Sluice (matmul, convolution, LSTM)
// goes through gemm<T>(), which calls OpenBLAS and splits large products across the
// session's thread pool (OpenBLAS itself is kept at one thread, so the two never fight
// over cores).
//
// Getting OpenBLAS's fast kernels: Debian 12's OpenBLAS 0.3.21 does not recognise recent
// Xeons and falls back to generic kernels (~30 GFLOP/s instead of ~150). It reads
// OPENBLAS_CORETYPE only while it loads, so Sluice does not link it: it loads it with
// dlopen on first use, after setting OPENBLAS_CORETYPE (unless the user set it) to the best
// kernel family this CPU supports, then restores the environment. If OpenBLAS was already
// loaded by the host program with generic kernels, or cannot be loaded at all, Sluice uses
// Eigen's GEMM instead. SLUICE_GEMM=openblas|eigen forces a backend.
#pragma once

#include <cstdint>
#include <string>

#include "../runtime/thread_pool.h"

namespace sluice::gemm {

// C[m,n] = alpha * op(A) * op(B) + beta * C, all row-major.
// op(A) is [m,k]: A is stored [m,k] (lda >= k) or, when trans_a, [k,m] (lda >= m).
// op(B) is [k,n]: B is stored [k,n] (ldb >= n) or, when trans_b, [n,k] (ldb >= k).
// `pool` may be null (single-threaded).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, ThreadPool* pool);

// Plain triple loop with the same contract (tests compare gemm against it).
template <class T>
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

enum class Backend { openblas, eigen };
Backend backend();
// Which backend and kernels are in use, e.g. "OpenBLAS 0.3.21 ... (core: SkylakeX)".
std::string backend_info();

}  // namespace sluice::gemm
