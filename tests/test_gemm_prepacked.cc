// Weights packed once (ops/gemm_prepacked.h): the packed micro-kernel against the BLAS
// wrapper and the reference loop on odd sizes; its promise that row i of an M-row product
// is bit-identical to the 1-row product of row i, whatever the thread count; the MatMul,
// FusedMatMul and convolution kernels with Const / variable weights (the packed path)
// against the same graphs with the weights fed (the BLAS path); the cache following a
// variable that changes and letting dead weights go; and parallel_blocks, which the packed
// convolutions split their blocks with.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "ops/conv_lowering.h"
#include "ops/gemm.h"
#include "ops/gemm_prepacked.h"
#include "ops/kernel_util.h"
#include "test_util.h"

namespace sluice {
namespace {

using sluice::testing::random_tensor;

template <class T>
void expect_close(const T* got, const T* want, int64_t count, double tol, const std::string& what) {
  for (int64_t i = 0; i < count; ++i)
    ASSERT_NEAR(static_cast<double>(got[i]), static_cast<double>(want[i]), tol * (1 + std::fabs(double(want[i]))))
        << what << " element " << i;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.num_bytes()) == 0;
}

// gemm_prepacked (1 and 2 threads) against gemm (the BLAS path) and gemm_reference, and
// each row alone against the batch, bit for bit.
template <class T>
void kernel_case(int64_t m, int64_t n, int64_t k, bool trans, T beta) {
  const std::string what = std::string(sizeof(T) == 4 ? "f32" : "f64") + " m" + std::to_string(m) + " n" +
                           std::to_string(n) + " k" + std::to_string(k) + (trans ? " trans" : "") + " beta" +
                           std::to_string(static_cast<int>(beta));
  const DType dt = dtype_v<T>;
  const Tensor a = random_tensor(dt, {m, k}, 1);
  const Tensor b = random_tensor(dt, trans ? Shape{n, k} : Shape{k, n}, 2);
  const Tensor c0 = random_tensor(dt, {m, n}, 3);
  const gemm::PackedMatrix<T> packed(trans, k, n, 1, b.data<T>(), b.dim(1));
  Tensor want = c0.clone(), blas = c0.clone(), one = c0.clone(), two = c0.clone();
  gemm::gemm_reference<T>(false, trans, m, n, k, T(1), a.data<T>(), k, b.data<T>(), b.dim(1), beta, want.data<T>(), n);
  gemm::gemm<T>(false, trans, m, n, k, T(1), a.data<T>(), k, b.data<T>(), b.dim(1), beta, blas.data<T>(), n, nullptr);
  gemm::gemm_prepacked<T>(m, a.data<T>(), k, packed, beta, one.data<T>(), n, nullptr);
  ThreadPool pool(2);
  gemm::gemm_prepacked<T>(m, a.data<T>(), k, packed, beta, two.data<T>(), n, &pool);
  const double tol = sizeof(T) == 4 ? 1e-5 * std::sqrt(double(k) + 1) : 1e-13 * std::sqrt(double(k) + 1);
  expect_close(one.data<T>(), want.data<T>(), m * n, tol, what + " vs reference");
  expect_close(one.data<T>(), blas.data<T>(), m * n, tol, what + " vs BLAS");
  EXPECT_TRUE(same_bits(one, two)) << what << ": 2 threads changed the bits";
  // Row i alone, bit for bit.
  for (int64_t i = 0; i < m; ++i) {
    std::vector<T> row(static_cast<size_t>(n));
    std::memcpy(row.data(), c0.data<T>() + i * n, sizeof(T) * n);
    gemm::gemm_prepacked<T>(1, a.data<T>() + i * k, k, packed, beta, row.data(), n, nullptr);
    ASSERT_EQ(std::memcmp(row.data(), one.data<T>() + i * n, sizeof(T) * n), 0) << what << " row " << i;
  }
}

TEST(GemmPrepacked, KernelMatchesBlasAndReferenceOnOddSizes) {
  // m around the row tiles (1, 2: wide tiles; 7, 49), n not a multiple of the 8 float / 4
  // double lanes, k = 1 and across the k blocks (gemm::packed_depth()).
  for (int64_t m : {1, 2, 7, 49})
    for (int64_t n : {1, 5, 13, 37})
      for (int64_t k : {int64_t{1}, int64_t{9}, int64_t{300}, gemm::packed_depth() + 9})
        for (bool trans : {false, true}) {
          kernel_case<float>(m, n, k, trans, 0.0f);
          kernel_case<double>(m, n, k, trans, 0.0);
        }
  for (int64_t m : {1, 7, 49}) {
    kernel_case<float>(m, 29, 600, false, 1.0f);
    kernel_case<double>(m, 29, 600, true, 1.0);
  }
  // Big enough for the pool to split (rows, then column strips).
  kernel_case<float>(64, 70, 300, false, 0.0f);
  kernel_case<float>(8, 200, 700, false, 0.0f);
}

// A product's finish (sums that start from a bias row, a function on each finished
// tile, or the same clamp done in registers) against the same product written the old way: C filled
// with the bias, beta 1, then the function over all of C. Bit for bit, at 1 and 2 threads (split by
// rows, and by column strips for few rows or for weights several times A: m 40, n 200), across k
// blocks and with a partial last strip.
void clamp_tile(const void* ctx, float* c, int64_t ldc, int64_t rows, int64_t cols) {
  const float hi = *static_cast<const float*>(ctx);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) c[r * ldc + j] = std::min(std::max(c[r * ldc + j], 0.0f), hi);
}

TEST(GemmPrepacked, FinishAddsBiasAndRunsOnTilesLikeSeparatePasses) {
  ThreadPool pool(2);
  const float hi = 0.5f;
  for (int64_t m : {1, 7, 40, 64})
    for (int64_t n : {5, 37, 200})
      for (int64_t k : {0, 9, 300, 700})
        for (bool with_fn : {false, true}) {
          const std::string what = "m" + std::to_string(m) + " n" + std::to_string(n) + " k" + std::to_string(k) +
                                   (with_fn ? " clamp" : "");
          const Tensor a = random_tensor(DType::f32, {m, k}, 1);
          const Tensor b = random_tensor(DType::f32, {k, n}, 2);
          const Tensor bias = random_tensor(DType::f32, {n}, 3);
          const gemm::PackedMatrix<float> packed(false, k, n, 1, b.data<float>(), n);
          Tensor want(DType::f32, {m, n});
          for (int64_t r = 0; r < m; ++r) std::memcpy(want.data<float>() + r * n, bias.data<float>(), sizeof(float) * n);
          gemm::gemm_prepacked<float>(m, a.data<float>(), k, packed, 1.0f, want.data<float>(), n, nullptr);
          if (with_fn) clamp_tile(&hi, want.data<float>(), n, m, n);
          gemm::Finish<float> finish, in_registers;
          finish.bias = in_registers.bias = bias.data<float>();
          if (with_fn) finish.fn = &clamp_tile, finish.ctx = &hi;
          if (with_fn) in_registers.clamp = true, in_registers.lo = 0.0f, in_registers.hi = hi;
          for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
            Tensor got = Tensor::filled(DType::f32, {m, n}, 9.0);
            gemm::gemm_prepacked<float>(m, a.data<float>(), k, packed, 0.0f, got.data<float>(), n, p, finish);
            EXPECT_TRUE(same_bits(got, want)) << what << (p ? " 2 threads" : " 1 thread");
            Tensor clamped = Tensor::filled(DType::f32, {m, n}, 9.0);
            gemm::gemm_prepacked<float>(m, a.data<float>(), k, packed, 0.0f, clamped.data<float>(), n, p, in_registers);
            EXPECT_TRUE(same_bits(clamped, want)) << what << " in registers" << (p ? " 2 threads" : " 1 thread");
          }
        }
  // The function alone (no bias) on a product that adds to C.
  const Tensor a = random_tensor(DType::f32, {9, 300}, 4), b = random_tensor(DType::f32, {300, 21}, 5);
  const gemm::PackedMatrix<float> packed(false, 300, 21, 1, b.data<float>(), 21);
  const Tensor c0 = random_tensor(DType::f32, {9, 21}, 6);
  Tensor want = c0.clone(), got = c0.clone();
  gemm::gemm_prepacked<float>(9, a.data<float>(), 300, packed, 1.0f, want.data<float>(), 21, nullptr);
  clamp_tile(&hi, want.data<float>(), 21, 9, 21);
  gemm::Finish<float> finish;
  finish.fn = &clamp_tile, finish.ctx = &hi;
  gemm::gemm_prepacked<float>(9, a.data<float>(), 300, packed, 1.0f, got.data<float>(), 21, nullptr, finish);
  EXPECT_TRUE(same_bits(got, want));
}

// The convolution on the packed filter against the im2col path on the raw filter.
TEST(GemmPrepacked, ConvolutionOnPackedFilterMatchesIm2col) {
  struct Case {
    int64_t n, h, w, c, kh, kw, f, s, pad;
  };
  // pointwise; a stem-like 7x7 stride 2; odd filter counts; more than one 256-pixel block;
  // a single block (fewer blocks than threads), too small to split, then split by rows
  // (each thread gathers its own rows: 195 pixels, 98 + 97) and by columns (49 pixels, 7x7).
  const std::vector<Case> cases = {{2, 9, 7, 19, 1, 1, 13, 1, 0},   {1, 23, 21, 3, 7, 7, 17, 2, 3},
                                   {1, 20, 17, 10, 3, 3, 37, 1, 1}, {3, 8, 6, 33, 3, 3, 9, 2, 1},
                                   {1, 3, 3, 300, 3, 3, 70, 1, 1},  {1, 13, 15, 40, 3, 3, 70, 1, 1},
                                   {1, 7, 7, 64, 3, 3, 250, 1, 1}};
  ASSERT_EQ(gemm::prepacked_split(195, 360, 70, 16, 2, 4).kind, gemm::PrepackedSplit::rows);
  ASSERT_EQ(gemm::prepacked_split(49, 576, 250, 16, 2, 4).kind, gemm::PrepackedSplit::columns);
  ThreadPool pool(2), solo(1);
  for (const Case& k : cases) {
    conv::ConvGeometry g;
    g.n = k.n, g.h = k.h, g.w = k.w, g.c = k.c, g.kh = k.kh, g.kw = k.kw, g.f = k.f;
    g.sh = g.sw = k.s;
    g.pad_top = g.pad_left = k.pad;
    g.oh = (k.h + 2 * k.pad - k.kh) / k.s + 1;
    g.ow = (k.w + 2 * k.pad - k.kw) / k.s + 1;
    const Tensor x = random_tensor(DType::f32, {k.n, k.h, k.w, k.c}, 4);
    const Tensor w = random_tensor(DType::f32, {k.kh, k.kw, k.c, k.f}, 5);
    const Tensor bias = random_tensor(DType::f32, {k.f}, 6);
    const gemm::PackedMatrix<float> packed(false, g.patch(), g.f, 1, w.data<float>(), g.f);
    // No activation, relu, a clip that cuts both ends (run on each finished GEMM tile), with
    // and without a bias.
    const std::vector<conv::Epilogue> acts = {conv::Epilogue(), conv::Epilogue(true),
                                              conv::Epilogue(conv::Epilogue::clip, -0.2, 0.3, 0),
                                              conv::Epilogue(conv::Epilogue::leaky_relu, 0, 0, 0.1)};
    for (int variant = 0; variant < 6; ++variant) {
      const conv::Epilogue relu = acts[static_cast<size_t>(variant % 4)];
      const float* bp = variant >= 4 ? nullptr : bias.data<float>();
      const std::string what = "conv c" + std::to_string(k.c) + " k" + std::to_string(k.kh) + " f" +
                               std::to_string(k.f) + " act" + std::to_string(variant % 4) + (bp ? " bias" : "");
      Tensor want(DType::f32, {g.n, g.oh, g.ow, g.f}), got = Tensor::filled(DType::f32, want.shape(), 7.0),
                                                     got1 = Tensor::filled(DType::f32, want.shape(), 3.0);
      conv::forward_im2col<float>(g, x.data<float>(), w.data<float>(), bp, relu, want.data<float>(), pool);
      conv::forward_im2col_packed<float>(g, x.data<float>(), packed, bp, relu, got.data<float>(), pool);
      conv::forward_im2col_packed<float>(g, x.data<float>(), packed, bp, relu, got1.data<float>(), solo);
      expect_close(got.data<float>(), want.data<float>(), want.num_elements(), 1e-5 * std::sqrt(double(g.patch())),
                   what);
      EXPECT_TRUE(same_bits(got, got1)) << what << ": 1 and 2 threads differ";
    }
  }
}

// Each part takes its own share from the front, then other shares from their backs.
TEST(ParallelBlocks, SharesAreTakenFromTheFrontThenStolenFromTheBack) {
  kernels::BlockShares shares(10, 2);  // part 0: blocks 0-4, part 1: 5-9
  EXPECT_EQ(shares.claim(1), 5);
  EXPECT_EQ(shares.claim(0), 0);
  EXPECT_EQ(shares.claim(1), 6);
  for (int64_t want : {1, 2, 3, 4, 9, 8, 7}) EXPECT_EQ(shares.claim(0), want);
  EXPECT_EQ(shares.claim(1), -1);
  EXPECT_EQ(shares.claim(0), -1);
  kernels::BlockShares one(1, 1);
  EXPECT_EQ(one.claim(0), 0);
  EXPECT_EQ(one.claim(0), -1);
}

// Every block runs once, each thread makes its state at most once, and a thread that is
// done takes the blocks a slow one has not started.
TEST(ParallelBlocks, EveryBlockOnceAndAFreeThreadTakesMore) {
  ThreadPool three(3);
  std::vector<std::atomic<int>> hits(50);
  std::atomic<int> states{0};
  kernels::parallel_blocks(
      three, 50, [&] { return ++states; }, [&](int, int64_t b) { hits[static_cast<size_t>(b)]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_LE(states.load(), 3);
  EXPECT_GE(states.load(), 1);

  ThreadPool two(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> by_caller{0}, total{0};
  kernels::parallel_blocks(
      two, 10, [] { return 0; },
      [&](int, int64_t) {
        ++total;
        if (std::this_thread::get_id() == caller) {
          ++by_caller;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      });
  EXPECT_EQ(total.load(), 10);
  EXPECT_GT(by_caller.load(), 5) << "the caller did not take any of the slow thread's blocks";
  // Nested in a parallel call: inline, every block once.
  std::atomic<int> nested{0};
  two.parallel_for(2, 1, [&](int64_t, int64_t) {
    kernels::parallel_blocks(
        two, 7, [] { return 0; }, [&](int, int64_t) { ++nested; });
  });
  EXPECT_EQ(nested.load(), 14);
}

// MatMul / FusedMatMul with a Const or variable right operand (the packed path) against the
// same product with the operand fed (the BLAS path); batch rows against single rows.
TEST(GemmPrepacked, MatMulWithConstantAndVariableWeights) {
  for (int64_t m : {1, 2, 7, 49}) {
    Graph g;
    Scope s(g);
    const int64_t k = 37, n = 29;
    const Tensor wv = random_tensor(DType::f32, {k, n}, 8), bv = random_tensor(DType::f32, {n}, 9);
    const Tensor xv = random_tensor(DType::f32, {m, k}, 10);
    Output x = ops::placeholder(s, DType::f32, {-1, k});
    Output w_fed = ops::placeholder(s, DType::f32, {k, n});
    Output w_const = ops::constant(s, wv);
    Output w_var = ops::variable(s, {k, n}, DType::f32);
    Output bias = ops::constant(s, bv);
    Output init = ops::assign(s, w_var, w_const);
    Output via_const = ops::matmul(s, x, w_const), via_var = ops::matmul(s, x, w_var);
    Output via_fed = ops::matmul(s, x, w_fed);
    Output fused_const = ops::fused_matmul(s, x, w_const, bias, FusedActivation::relu);
    Output fused_fed = ops::fused_matmul(s, x, w_fed, bias, FusedActivation::relu);
    Session sess(g);
    sess.run({}, {init});
    gemm::prepacked_cache_sweep();
    const int64_t before = gemm::prepacked_cache_stats().entries;
    for (int rep = 0; rep < 2; ++rep) {  // the second run reads the cached packing
      const auto r = sess.run({{x, xv}, {w_fed, wv}}, {via_const, via_var, via_fed, fused_const, fused_fed});
      const std::string what = "m" + std::to_string(m);
      expect_close(r[0].data<float>(), r[2].data<float>(), m * n, 1e-5, what + " const vs fed");
      EXPECT_TRUE(same_bits(r[0], r[1])) << what;
      // The Const and variable operands of the two MatMuls and the FusedMatMul were packed.
      EXPECT_EQ(gemm::prepacked_cache_stats().entries, before + 3) << what;
      expect_close(r[3].data<float>(), r[4].data<float>(), m * n, 1e-5, what + " fused const vs fed");
      // Row i of the batch == row i alone.
      for (int64_t i = 0; i < m; ++i) {
        const Tensor row = Tensor::from_vector<float>(
            std::vector<float>(xv.data<float>() + i * k, xv.data<float>() + (i + 1) * k), {1, k});
        const auto one = sess.run({{x, row}}, {via_const, fused_const});
        ASSERT_EQ(std::memcmp(one[0].data<float>(), r[0].data<float>() + i * n, sizeof(float) * n), 0) << what;
        ASSERT_EQ(std::memcmp(one[1].data<float>(), r[3].data<float>() + i * n, sizeof(float) * n), 0) << what;
      }
    }
  }
}

TEST(GemmPrepacked, VariableWeightsThatChangeAreNeverStale) {
  Graph g;
  Scope s(g);
  const int64_t k = 20, n = 11;
  Output x = ops::placeholder(s, DType::f32, {-1, k});
  Output w = ops::variable(s, {k, n}, DType::f32);
  Output w_new = ops::placeholder(s, DType::f32, {k, n});
  Output set = ops::assign(s, w, w_new);
  Output delta = ops::assign_add(s, w, ops::constant(s, Tensor::filled(DType::f32, {k, n}, 0.5)));
  Output y = ops::matmul(s, x, w);
  Session sess(g);
  const Tensor xv = random_tensor(DType::f32, {3, k}, 11);
  Tensor wv = random_tensor(DType::f32, {k, n}, 12);
  // Assign a new value, add in place, assign again: every run sees the current weights.
  for (int step = 0; step < 6; ++step) {
    if (step % 2 == 0) {
      wv = random_tensor(DType::f32, {k, n}, 13 + step);
      sess.run({{w_new, wv}}, {set});
    } else {
      sess.run({}, {delta});
      for (int64_t i = 0; i < wv.num_elements(); ++i) wv.data<float>()[i] += 0.5f;
    }
    const Tensor got = sess.run({{x, xv}}, {y})[0];
    Tensor want(DType::f32, {3, n});
    gemm::gemm_reference<float>(false, false, 3, n, k, 1.0f, xv.data<float>(), k, wv.data<float>(), n, 0.0f,
                                want.data<float>(), n);
    expect_close(got.data<float>(), want.data<float>(), 3 * n, 1e-5, "step " + std::to_string(step));
  }
}

TEST(GemmPrepacked, ConvolutionWithConstantFilterAndDeadWeightsGo) {
  gemm::prepacked_cache_sweep();
  const int64_t before = gemm::prepacked_cache_stats().entries;
  {
    Graph g;
    Scope s(g);
    const Tensor xv = random_tensor(DType::f32, {2, 9, 8, 12}, 14), wv = random_tensor(DType::f32, {3, 3, 12, 19}, 15);
    const Tensor bv = random_tensor(DType::f32, {19}, 16);
    Output x = ops::placeholder(s, DType::f32, {-1, 9, 8, 12});
    Output w_fed = ops::placeholder(s, DType::f32, {3, 3, 12, 19});
    Output b = ops::constant(s, bv);
    // Stride 2: not Winograd, so the packed im2col path runs.
    Output via_const = ops::fused_conv2d(s, x, ops::constant(s, wv), b, FusedActivation::relu6, {2, 2}, Padding::same);
    Output via_fed = ops::fused_conv2d(s, x, w_fed, b, FusedActivation::relu6, {2, 2}, Padding::same);
    Session sess(g);
    const auto r = sess.run({{x, xv}, {w_fed, wv}}, {via_const, via_fed});
    expect_close(r[0].data<float>(), r[1].data<float>(), r[0].num_elements(), 1e-5, "conv const vs fed");
    EXPECT_GT(gemm::prepacked_cache_stats().entries, before);
    // Image 1 of the batch alone gives the batch's bits.
    const int64_t per = 9 * 8 * 12;
    const Tensor one_x = Tensor::from_vector<float>(
        std::vector<float>(xv.data<float>() + per, xv.data<float>() + 2 * per), {1, 9, 8, 12});
    const Tensor one = sess.run({{x, one_x}}, {via_const})[0];
    EXPECT_EQ(std::memcmp(one.data<float>(), r[0].data<float>() + one.num_elements(), one.num_bytes()), 0);
  }
  gemm::prepacked_cache_sweep();  // the graph and session are gone: so are their packings
  EXPECT_EQ(gemm::prepacked_cache_stats().entries, before);
}

}  // namespace
}  // namespace sluice
