// The packed-operand GEMM (ops/gemm_packed.h) against the reference triple loop, over
// shapes that exercise partial row tiles, partial strips, group padding, transposed B and
// both betas; and its promise that splitting a product by rows or columns keeps its bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "ops/gemm.h"
#include "ops/gemm_packed.h"

namespace sluice {
namespace {

template <class T>
std::vector<T> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(dist(rng));
  return v;
}

template <class T>
void check_against_reference(bool trans, int64_t m, int64_t k, int64_t group_cols, int64_t groups,
                             T beta) {
  const int64_t n = group_cols * groups, pad = 3;
  const int64_t ldb = (trans ? k : n) + pad, lda = k + 2, ldc = group_cols + 5;
  const std::vector<T> a = random_values<T>(static_cast<size_t>(m * lda), 1);
  const std::vector<T> b = random_values<T>(static_cast<size_t>((trans ? n : k) * ldb), 2);
  const gemm::PackedMatrix<T> packed(trans, k, n, groups, b.data(), ldb);
  const int64_t L = gemm::PackedMatrix<T>::strip_width();
  const std::string what = std::string(sizeof(T) == 4 ? "f32" : "f64") + (trans ? " trans" : "") +
                           " m" + std::to_string(m) + " k" + std::to_string(k) + " cols" +
                           std::to_string(group_cols) + " groups" + std::to_string(groups) +
                           " beta" + std::to_string(static_cast<int>(beta));
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t c0 = 0; c0 <= group_cols; c0 += L) {
      for (int64_t c1 :
           {c0, std::min(group_cols, c0 + 1), std::min(group_cols, c0 + L + 3), group_cols}) {
        if (c1 < c0) continue;
        // C starts as random values (beta 1) or NaN (beta 0: must not be read), with a
        // sentinel column after the range that must stay untouched.
        std::vector<T> c = random_values<T>(static_cast<size_t>(m * ldc), 3);
        if (beta == T(0)) std::fill(c.begin(), c.end(), std::numeric_limits<T>::quiet_NaN());
        std::vector<T> want = c;
        const T sentinel = T(12345);
        const int64_t width = c1 - c0;
        for (int64_t i = 0; i < m; ++i) c[i * ldc + width] = want[i * ldc + width] = sentinel;
        // Reference on the same sub-block: columns g*group_cols + c0 .. of op(B).
        // (An empty B has no data pointer to offset.)
        const T* bsub = b.empty() ? b.data()
                        : trans   ? b.data() + (g * group_cols + c0) * ldb
                                  : b.data() + g * group_cols + c0;
        if (beta == T(0))
          for (int64_t i = 0; i < m; ++i) std::fill_n(want.data() + i * ldc, width, T(0));
        gemm::gemm_reference<T>(false, trans, m, width, k, T(1), a.data(), lda, bsub, ldb, beta,
                                want.data(), ldc);
        gemm::gemm_packed<T>(m, a.data(), lda, packed, g, c0, c1, beta, c.data(), ldc);
        double worst = 0;
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < width; ++j)
            worst =
                std::max(worst, std::fabs(static_cast<double>(c[i * ldc + j] - want[i * ldc + j])));
          EXPECT_EQ(c[i * ldc + width], sentinel) << what << " row " << i;
        }
        EXPECT_LE(worst, sizeof(T) == 4 ? 1e-5 * (k + 1) : 1e-13 * (k + 1))
            << what << " group " << g << " [" << c0 << "," << c1 << ")";
      }
    }
  }
}

TEST(GemmPacked, MatchesReference) {
  for (bool trans : {false, true}) {
    for (int64_t m : {1, 5, 6, 7, 13, 32}) {
      for (int64_t k : {0, 1, 7, 64}) {
        for (int64_t cols : {1, 5, 16, 17, 40, 70}) {
          for (int64_t groups : {1, 4}) {
            for (double beta : {0.0, 1.0}) {
              check_against_reference<float>(trans, m, k, cols, groups, static_cast<float>(beta));
              check_against_reference<double>(trans, m, k, cols, groups, beta);
            }
          }
        }
      }
    }
  }
}

// Beyond one k block (packed_depth()): the sums continue from C, with beta 0 and 1, a
// partial strip and a partial row tile.
TEST(GemmPacked, MatchesReferenceAcrossKBlocks) {
  const int64_t depth = gemm::packed_depth();
  for (int64_t k : {depth + 37, 2 * depth + 5})
    for (int64_t m : {7, 13})
      for (double beta : {0.0, 1.0}) {
        check_against_reference<float>(false, m, k, 40, 1, static_cast<float>(beta));
        check_against_reference<double>(true, m, k, 17, 1, beta);
      }
}

// A convolution's patches read in place (gemm::Segments): row i of A is pixel i of a range of
// output rows (lines of `line` pixels, `line_stride` apart; pixels lda apart), its k values
// runs of `length` values `stride` apart. The same bits as the product of the gathered rows,
// with tiles that straddle lines and k across blocks.
TEST(GemmPacked, SegmentsAndLinesGiveTheBitsOfTheGatheredRows) {
  const int64_t depth = gemm::packed_depth();
  struct Case {
    int64_t lines, line, lda, length, segments, stride, line_stride, n;
  };
  for (const Case& t : {Case{3, 5, 7, 9, 3, 40, 80, 37}, Case{4, 7, 32, 48, 3, 300, 600, 64},
                        Case{2, 4, 16, (depth + 20) / 2, 3, depth, 4 * depth, 20}}) {
    const int64_t m = t.lines * t.line, k = t.length * t.segments;
    const int64_t span = (t.lines - 1) * t.line_stride + (t.line - 1) * t.lda +
                         (t.segments - 1) * t.stride + t.length;
    const std::vector<float> image = random_values<float>(static_cast<size_t>(span), 6);
    const std::vector<float> b = random_values<float>(static_cast<size_t>(k * t.n), 7);
    const gemm::PackedMatrix<float> packed(false, k, t.n, 1, b.data(), t.n);
    std::vector<float> gathered(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t kk = 0; kk < k; ++kk)
        gathered[i * k + kk] = image[(i / t.line) * t.line_stride + (i % t.line) * t.lda +
                                     (kk / t.length) * t.stride + kk % t.length];
    std::vector<float> want(static_cast<size_t>(m * t.n)), got(want.size(), 7.0f);
    gemm::gemm_packed<float>(m, gathered.data(), k, packed, 0, 0, t.n, 0.0f, want.data(), t.n);
    const gemm::Segments segments{t.length, t.stride, t.line, t.line_stride};
    gemm::gemm_packed<float>(m, image.data(), t.lda, segments, packed, 0, 0, t.n, 0.0f, got.data(),
                             t.n);
    EXPECT_EQ(want, got) << "lines " << t.lines << " of " << t.line << ", k " << k;
    // The lines' last row alone (it starts a tile of its own in no split).
    std::vector<float> last(static_cast<size_t>(t.n));
    gemm::gemm_packed<float>(1, image.data() + (t.lines - 1) * t.line_stride + (t.line - 1) * t.lda,
                             t.lda, gemm::Segments{t.length, t.stride}, packed, 0, 0, t.n, 0.0f,
                             last.data(), t.n);
    EXPECT_TRUE(std::equal(last.begin(), last.end(), got.end() - t.n));
  }
}

TEST(GemmPacked, SplittingByRowsOrColumnsKeepsTheBits) {
  const int64_t m = 32, k = 256, n = 512;
  const std::vector<float> a = random_values<float>(m * k, 4), b = random_values<float>(k * n, 5);
  const gemm::PackedMatrix<float> packed(false, k, n, 1, b.data(), n);
  std::vector<float> whole(m * n), split(m * n);
  gemm::gemm_packed<float>(m, a.data(), k, packed, 0, 0, n, 0.0f, whole.data(), n);
  // Rows 0..13 and 13..32, columns in pieces of 16, 48 and the rest.
  for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, 13}, {13, 32}})
    for (auto [c0, c1] : {std::pair<int64_t, int64_t>{0, 16}, {16, 64}, {64, n}})
      gemm::gemm_packed<float>(r1 - r0, a.data() + r0 * k, k, packed, 0, c0, c1, 0.0f,
                               split.data() + r0 * n + c0, n);
  EXPECT_EQ(whole, split);
}

// Strip counts that do not come in fours take other tile shapes (4 x 6, 5 x 5, 6 x 3 with
// AVX-512): each still matches the reference, and a strip computed alone (a one-strip tile)
// has the bits of the same strip in the whole product, with a bias and a clamp.
TEST(GemmPacked, EveryTileShapeGivesTheSameBits) {
  const int64_t m = 13, k = 24, L = gemm::PackedMatrix<float>::strip_width();
  for (int64_t n : {3 * L, 5 * L, 6 * L, 9 * L, 10 * L - 3}) {
    for (double beta : {0.0, 1.0})
      check_against_reference<float>(false, m, k, n, 1, static_cast<float>(beta));
    const std::vector<float> a = random_values<float>(m * k, 6), b = random_values<float>(k * n, 7);
    const std::vector<float> bias = random_values<float>(n, 8);
    const gemm::PackedMatrix<float> packed(false, k, n, 1, b.data(), n);
    gemm::Finish<float> finish;
    finish.bias = bias.data(), finish.clamp = true, finish.lo = -0.5f, finish.hi = 0.5f;
    std::vector<float> whole(m * n), alone(m * n);
    gemm::gemm_packed<float>(m, a.data(), k, packed, 0, 0, n, 0.0f, whole.data(), n, finish);
    for (int64_t c0 = 0; c0 < n; c0 += L) {
      gemm::Finish<float> part = finish;
      part.bias = bias.data() + c0;
      gemm::gemm_packed<float>(m, a.data(), k, packed, 0, c0, std::min(n, c0 + L), 0.0f,
                               alone.data() + c0, n, part);
    }
    EXPECT_EQ(whole, alone) << n << " columns";
  }
}

TEST(GemmPacked, RejectsMisuse) {
  const std::vector<float> b(16 * 8, 1.0f);
  EXPECT_THROW(gemm::PackedMatrix<float>(false, 16, 8, 3, b.data(), 8), Internal);  // 8 % 3
  const gemm::PackedMatrix<float> packed(false, 16, 8, 2, b.data(), 8);
  std::vector<float> a(16, 1.0f), c(8, 0.0f);
  EXPECT_THROW(gemm::gemm_packed<float>(1, a.data(), 16, packed, 2, 0, 4, 0.0f, c.data(), 8),
               Internal);
  EXPECT_THROW(gemm::gemm_packed<float>(1, a.data(), 16, packed, 0, 0, 5, 0.0f, c.data(), 8),
               Internal);
  EXPECT_THROW(gemm::gemm_packed<float>(1, a.data(), 16, packed, 0, 0, 4, 0.5f, c.data(), 8),
               Internal);
  EXPECT_THROW(gemm::gemm_packed<float>(1, a.data(), 16, gemm::Segments{4, 4, -1, 0}, packed, 0, 0,
                                        4, 0.0f, c.data(), 8),
               Internal);
  if (gemm::PackedMatrix<float>::strip_width() > 1)
    EXPECT_THROW(gemm::gemm_packed<float>(1, a.data(), 16, packed, 0, 1, 4, 0.0f, c.data(), 8),
                 Internal);
}

}  // namespace
}  // namespace sluice
