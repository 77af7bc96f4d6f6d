#include "gemm.h"

#include <dlfcn.h>

#include "eigen.h"  // <Eigen/Core>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "../runtime/error.h"

namespace sluice::gemm {

namespace {

// CBLAS enums (values fixed by the CBLAS standard).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                         int, float, float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int,
                         const double*, int, double, double*, int);
using SetThreadsFn = void (*)(int);
using CharFn = char* (*)();

struct Blas {
  Backend backend = Backend::eigen;
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  std::string info;
};

// The kernel family OpenBLAS should use on this CPU, or null to let it decide.
const char* best_coretype() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

// Kernel families OpenBLAS falls back to when it does not know the CPU.
bool is_generic_core(const std::string& core) {
  return core == "Prescott" || core == "Core2" || core == "Penryn" || core == "Nehalem" ||
         core == "Dunnington" || core == "Atom" || core == "Katmai" || core == "Banias";
}

// Sets (or, with value null, unsets) an environment variable, returning the old value.
struct EnvOverride {
  std::string name;
  bool had = false;
  std::string old;
  EnvOverride(const char* n, const char* value) : name(n) {
    const char* cur = std::getenv(n);
    had = cur != nullptr;
    if (had) old = cur;
    if (value) setenv(n, value, 1);
  }
  ~EnvOverride() {
    if (had) {
      setenv(name.c_str(), old.c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
};

Blas load_blas() {
  Blas blas;
  const char* force = std::getenv("SLUICE_GEMM");
  if (force && std::strcmp(force, "eigen") == 0) {
    blas.info = "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) +
                " (SLUICE_GEMM=eigen)";
    return blas;
  }
  const char* names[] = {"libopenblas.so.0", "libopenblas.so"};
  void* handle = nullptr;
  bool preloaded = false;
  for (const char* name : names) {
    handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (handle) {
      preloaded = true;
      break;
    }
  }
  if (!handle) {
    // Not loaded yet: choose its kernels and keep it from starting its own threads.
    const char* user_core = std::getenv("OPENBLAS_CORETYPE");
    EnvOverride core("OPENBLAS_CORETYPE", user_core ? nullptr : best_coretype());
    EnvOverride threads("OPENBLAS_NUM_THREADS", "1");
    for (const char* name : names) {
      handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle) break;
    }
  }
  const std::string eigen_name = "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                                 std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                 std::to_string(EIGEN_MINOR_VERSION);
  if (!handle) {
    blas.info = eigen_name + " (OpenBLAS could not be loaded)";
    return blas;
  }
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
  auto dgemm = reinterpret_cast<DgemmFn>(dlsym(handle, "cblas_dgemm"));
  auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads"));
  auto corename = reinterpret_cast<CharFn>(dlsym(handle, "openblas_get_corename"));
  auto config = reinterpret_cast<CharFn>(dlsym(handle, "openblas_get_config"));
  if (!sgemm || !dgemm) {
    blas.info = eigen_name + " (the loaded OpenBLAS lacks cblas_sgemm/cblas_dgemm)";
    return blas;
  }
  if (set_threads) set_threads(1);
  const std::string core = corename ? corename() : "unknown";
  std::string cfg = config ? config() : "OpenBLAS";
  const auto space = cfg.find(' ', cfg.find(' ') + 1);
  cfg = cfg.substr(0, space);  // "OpenBLAS 0.3.21"
  const bool forced = force && std::strcmp(force, "openblas") == 0;
  if (!forced && is_generic_core(core) && best_coretype()) {
    blas.info = eigen_name + " (" + cfg + " was loaded by the program with generic '" + core +
                "' kernels" + (preloaded ? "" : " despite OPENBLAS_CORETYPE") + ")";
    return blas;
  }
  blas.backend = Backend::openblas;
  blas.sgemm = sgemm;
  blas.dgemm = dgemm;
  blas.info = cfg + " (core: " + core + (preloaded ? ", loaded by the program" : "") + ")";
  return blas;
}

const Blas& blas() {
  static const Blas b = load_blas();
  return b;
}

// Runs the load before main() where possible: setenv is only safe while the program has
// one thread.
[[maybe_unused]] const bool g_loaded_early = (blas(), true);

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMap = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using MutMap = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;

template <class T>
void eigen_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  MutMap<T> cm(c, m, n, Eigen::OuterStride<>(ldc));
  ConstMap<T> am(a, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
  ConstMap<T> bm(b, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
  if (beta == T(0)) {
    cm.setZero();
  } else if (beta != T(1)) {
    cm *= beta;
  }
  if (!ta && !tb) cm.noalias() += alpha * am * bm;
  if (ta && !tb) cm.noalias() += alpha * am.transpose() * bm;
  if (!ta && tb) cm.noalias() += alpha * am * bm.transpose();
  if (ta && tb) cm.noalias() += alpha * am.transpose() * bm.transpose();
}

template <class T>
void gemm_block(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const Blas& bl = blas();
  if (bl.backend == Backend::openblas) {
    const int at = ta ? kTrans : kNoTrans, bt = tb ? kTrans : kNoTrans;
    const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
    const int LDA = static_cast<int>(lda), LDB = static_cast<int>(ldb), LDC = static_cast<int>(ldc);
    if constexpr (std::is_same_v<T, float>) {
      bl.sgemm(kRowMajor, at, bt, M, N, K, alpha, a, LDA, b, LDB, beta, c, LDC);
    } else {
      bl.dgemm(kRowMajor, at, bt, M, N, K, alpha, a, LDA, b, LDB, beta, c, LDC);
    }
  } else {
    eigen_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace

Backend backend() { return blas().backend; }
std::string backend_info() { return blas().info; }

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc, ThreadPool* pool) {
  constexpr int64_t kIntMax = 2147483647;
  SLUICE_REQUIRE(m >= 0 && n >= 0 && k >= 0 && m <= kIntMax && n <= kIntMax && k <= kIntMax &&
                     lda <= kIntMax && ldb <= kIntMax && ldc <= kIntMax,
                 InvalidArgument, "gemm dimensions [", m, ",", k, "]x[", k, ",", n,
                 "] exceed the 32-bit BLAS interface");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // Nothing to multiply: C = beta * C (BLAS implementations differ on this corner).
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  // Split across threads only when each part keeps a few MFLOP: below that, waking a
  // worker costs more than it saves.
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int threads = pool ? pool->num_threads() : 1;
  if (threads == 1 || flops < 4e6) {
    gemm_block(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Split the larger of m and n into column or row panels; each part is an independent
  // GEMM writing its own block of C. BLAS kernels treat the rows and columns of a panel by
  // their position in register blocks (OpenBLAS' Haswell sgemm works in blocks of 24 rows,
  // SkylakeX in 16; Eigen in 3 packets), and a panel's last partial block takes a different
  // path, so panel boundaries are multiples of kPanelAlign: then every element is computed
  // the same way whatever the thread count, and results do not depend on the split.
  constexpr int64_t kPanelAlign = 48;  // a multiple of every kernel's register block
  const int64_t split = m >= n ? m : n;
  const int64_t units = (split + kPanelAlign - 1) / kPanelAlign;
  const int64_t min_units = m >= n ? 1 : 2;  // at least 48 rows or 96 columns per part
  const int64_t grain = std::max<int64_t>(min_units, (units + threads - 1) / threads);
  pool->parallel_for(units, grain, [&](int64_t u0, int64_t u1) {
    const int64_t b0 = u0 * kPanelAlign, b1 = std::min(split, u1 * kPanelAlign);
    if (m >= n) {
      const T* ap = ta ? a + b0 : a + b0 * lda;
      gemm_block(ta, tb, b1 - b0, n, k, alpha, ap, lda, b, ldb, beta, c + b0 * ldc, ldc);
    } else {
      const T* bp = tb ? b + b0 * ldb : b + b0;
      gemm_block(ta, tb, m, b1 - b0, k, alpha, a, lda, bp, ldb, beta, c + b0, ldc);
    }
  });
}

template <class T>
void gemm_reference(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                    int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        const T av = ta ? a[p * lda + i] : a[i * lda + p];
        const T bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        acc += static_cast<double>(av) * static_cast<double>(bv);
      }
      const T prev = beta == T(0) ? T(0) : beta * c[i * ldc + j];
      c[i * ldc + j] = static_cast<T>(alpha * acc) + prev;
    }
  }
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t, ThreadPool*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                           int64_t, const double*, int64_t, double, double*, int64_t, ThreadPool*);
template void gemm_reference<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(bool, bool, int64_t, int64_t, int64_t, double,
                                     const double*, int64_t, const double*, int64_t, double,
                                     double*, int64_t);

}  // namespace sluice::gemm
