// GEMM with a right-hand operand packed once and reused for many products: the recurrent
// kernel of an RNN multiplies a small [batch, units] state at every time step. A BLAS call
// repacks its operands every time, which for such shapes (batch 32, 256 x 1024 weights)
// costs about as much as the arithmetic; packing once per sequence removes that.
// Part of the GEMM module (ops/gemm.h holds the general entry point); internal, not in
// the umbrella header.
//
// Every element of C is one dot product accumulated in order over k with fused
// multiply-adds, whatever the row and column ranges of the call, so splitting a product
// across threads never changes its bits.
#pragma once

#include <cstdint>

#include "../runtime/tensor.h"
#include "../runtime/thread_pool.h"

namespace sluice::gemm {

// op(B) [k, n] packed into strips of strip_width() columns (one SIMD register of T), each
// strip stored k x strip_width() contiguous. The columns are cut into `groups` equal
// groups (e.g. the four gates of an LSTM) and each group is padded with zero columns to
// whole strips, so a column range inside one group starts on a strip boundary whenever its
// first column is a multiple of strip_width().
template <class T>
class PackedMatrix {
 public:
  PackedMatrix() = default;
  // B is stored [k, n] (ldb >= n), or [n, k] when trans (ldb >= k); n % groups == 0.
  // Packing is split across `pool` (may be null) by strips.
  PackedMatrix(bool trans, int64_t k, int64_t n, int64_t groups, const T* b, int64_t ldb,
               ThreadPool* pool = nullptr);

  static int64_t strip_width();
  int64_t rows() const { return k_; }
  int64_t group_cols() const { return group_cols_; }
  int64_t groups() const { return groups_; }
  // Strip s of group g: [k, strip_width()].
  const T* strip(int64_t g, int64_t s) const {
    return data_.data<T>() + (g * strips_per_group_ + s) * strip_stride_;
  }

 private:
  int64_t k_ = 0, group_cols_ = 0, groups_ = 0, strips_per_group_ = 0;
  // k * strip_width() plus one cache line: with power-of-two k, strips exactly 2^n bytes
  // apart would all fall into the same L1 sets and evict each other.
  int64_t strip_stride_ = 0;
  Tensor data_;  // 64-byte aligned, counted by the allocator like any tensor
};

// What a product does besides A op(B) + beta C, so that C is written once: `bias` (when not
// null; beta must be 0) is a row of the call's c1 - c0 column values added to every row of
// C: each element's sum starts from its bias value (the same bits as C filled with the bias
// and beta 1); with `clamp`, each value v is stored as v < lo ? lo : v, then
// v > hi ? hi : v (Relu, Clip; NaN stays NaN), in registers; `fn` (when not null) is called
// on each finished tile of C (rows x cols from c, row stride ldc) right after its last
// multiply-add, while it is in L1 (any other activation).
template <class T>
struct Finish {
  const T* bias = nullptr;
  bool clamp = false;
  T lo = T(0), hi = T(0);
  void (*fn)(const void* ctx, T* c, int64_t ldc, int64_t rows, int64_t cols) = nullptr;
  const void* ctx = nullptr;
};

// The deepest k block of gemm_packed (256 with AVX2, 1024 with AVX-512): a product with a
// longer k continues its sums from C (tests cross it).
int64_t packed_depth();

// C[m, c1-c0] = A[m, k] op(B)[:, columns c0..c1 of group g] + beta C, for beta 0 or 1
// (with beta 0, C is not read), then `finish`. k runs in near-equal blocks of at most
// packed_depth(): with beta 1, C gets the first block's sum added, then every later
// multiply-add continues from C. Whatever m, and whichever rows or columns a call covers, an
// element's arithmetic is the same. A is row-major (lda >= k); C's row i starts at c + i*ldc.
// c0 must be a multiple of strip_width(), c0 <= c1 <= group_cols(). Single-threaded:
// callers split rows or column ranges across threads.
template <class T>
void gemm_packed(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b, int64_t g,
                 int64_t c0, int64_t c1, T beta, T* c, int64_t ldc, const Finish<T>& finish = {});

// A laid out in segments: row i's column kk is a[row(i) + (kk / length) * stride +
// kk % length] (length 0: the plain layout, a[row(i) + kk]), where row(i) is i * lda, or,
// with lines of `line` rows, (i / line) * line_stride + (i % line) * lda. A convolution's
// patches read in place from a padded input are such an A: KH segments of KW * C values, an
// input row apart; an output row's pixels sw * C values apart, output rows (lines of ow
// pixels) sh input rows apart (conv::forward_implicit). The arithmetic is the plain
// product's, element for element.
struct Segments {
  int64_t length = 0, stride = 0;
  int64_t line = 0, line_stride = 0;
};
template <class T>
void gemm_packed(int64_t m, const T* a, int64_t lda, const Segments& segments, const PackedMatrix<T>& b,
                 int64_t g, int64_t c0, int64_t c1, T beta, T* c, int64_t ldc, const Finish<T>& finish = {});

}  // namespace sluice::gemm
