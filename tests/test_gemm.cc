// The GEMM wrapper against the naive reference, every transpose combination, odd sizes,
// leading dimensions larger than the matrix, and threaded splits.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <random>

#include "ops/gemm.h"

namespace sluice {
namespace {

template <class T>
void check(bool ta, bool tb, int64_t m, int64_t n, int64_t k, ThreadPool* pool, T alpha, T beta) {
  std::mt19937 rng(static_cast<uint32_t>(m * 131 + n * 17 + k));
  std::uniform_real_distribution<double> d(-1, 1);
  const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
  std::vector<T> a((ta ? k : m) * lda), b((tb ? n : k) * ldb), c(m * ldc), ref;
  for (auto& v : a) v = static_cast<T>(d(rng));
  for (auto& v : b) v = static_cast<T>(d(rng));
  for (auto& v : c) v = static_cast<T>(d(rng));
  ref = c;
  gemm::gemm<T>(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc, pool);
  gemm::gemm_reference<T>(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, ref.data(), ldc);
  const double tol = std::is_same_v<T, float> ? 1e-4 * std::max<int64_t>(k, 1) : 1e-11 * std::max<int64_t>(k, 1);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const double got = c[i * ldc + j], want = ref[i * ldc + j];
      if (j >= n) {
        ASSERT_EQ(got, want) << "wrote outside C at " << i << "," << j;  // padding untouched
      } else {
        ASSERT_NEAR(got, want, tol) << ta << tb << " " << m << "x" << n << "x" << k << " at " << i << "," << j;
      }
    }
  }
}

TEST(Gemm, MatchesReferenceForAllLayouts) {
  ThreadPool pool2(2), pool3(3);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (auto [m, n, k] : {std::array<int64_t, 3>{1, 1, 1}, {7, 5, 3}, {64, 1, 300}, {1, 300, 64},
                               {257, 129, 65}, {300, 200, 0}, {0, 5, 5}}) {
          check<float>(ta, tb, m, n, k, pool, 1.0f, 0.0f);
          check<double>(ta, tb, m, n, k, pool, 0.5, 2.0);
        }
}

TEST(Gemm, BigEnoughToSplitAcrossThreads) {
  ThreadPool pool(2);
  check<float>(false, false, 512, 256, 384, &pool, 1.0f, 0.0f);
  check<float>(true, true, 96, 700, 300, &pool, 1.0f, 1.0f);
}

TEST(Gemm, UsesFastKernelsOutOfTheBox) {
  const std::string info = gemm::backend_info();
  SCOPED_TRACE(info);
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && std::getenv("SLUICE_GEMM") == nullptr &&
      std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    // The trap: Debian's OpenBLAS would pick its generic Prescott kernels on this CPU.
    EXPECT_EQ(gemm::backend(), gemm::Backend::openblas);
    EXPECT_NE(info.find("SkylakeX"), std::string::npos);
  }
#endif
}

}  // namespace
}  // namespace sluice
