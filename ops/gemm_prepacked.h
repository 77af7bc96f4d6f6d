// Right-hand GEMM operands packed once and reused across runs: the weights of a MatMul,
// FusedMatMul or convolution that come from a Const (what the ONNX, Keras and TF importers
// make) or from a variable. A BLAS call repacks B on every product; for inference at small
// batch (a served MLP request, a CNN at batch 1) that copy costs a good part of the
// arithmetic. Part of the GEMM module; internal, not in the umbrella header.
//
// Why caching by buffer is safe: Sluice never writes a buffer that more than one handle holds
// (variable writers copy first, kernels forward an input in place only when it is the last
// handle; ops/state_ops.cc), and the cache keeps a handle of every buffer it packed, so while
// an entry lives its source cannot change or be freed and reused.
//
// Products through the packed path compute every element as one chain of fused
// multiply-adds in k order (ops/gemm_packed.h): row i of an M-row product is bit-identical to
// the 1-row product of row i alone, and no result depends on the number of threads. The
// kernels take this path by shape alone (MatMul and FusedMatMul whenever a is not
// transposed, convolutions where conv::prepacked_applies), never by where b comes from, so
// a frozen graph, a loaded model and the training session give the same bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>

#include "../graph/graph.h"
#include "../runtime/tensor.h"
#include "../runtime/thread_pool.h"
#include "gemm_packed.h"
#include "kernel_util.h"

namespace sluice::gemm {

// Whether input `input` of `node` is produced by a Const or a variable read (directly or
// through Identity nodes): a value that does not change between runs.
bool is_persistent_input(const Node& node, int input);

// op(B) [k, n] of `b` (stored [k, n], or [n, k] when trans; rank 2, contiguous) packed as
// one group: from the cache when this (node, input) already packed the same buffer of a
// persistent input, else packed now (and cached when persistent). A (node, input) whose
// buffer keeps changing (a variable being trained, or one graph run by sessions with
// different variables) stops being cached and is packed on every call: packing and
// keeping each step's weights would only add a copy-on-write clone per step. Never null.
// Whether cached or not, the packing is the same, so results never depend on history.
// Thread-safe; packing happens outside the lock.
template <class T>
std::shared_ptr<const PackedMatrix<T>> packed_weights(const Node& node, int input, const Tensor& b,
                                                      bool trans, int64_t k, int64_t n);

// A value derived from the weights `b` (input `input` of `node`), made by `make` and cached
// as packed_weights caches its packings, by (node, input, kind, k, n, dtype) and the buffer
// of `b`: `make` runs when there is no entry holding that buffer, and on every call when
// the input is not a Const or variable or keeps changing. `kind` tells apart values derived
// from one input (0 and 1 are packed_weights' own); `bytes` is what the value holds (for
// prepacked_cache_stats). Never returns null; thread-safe, `make` runs outside the lock.
std::shared_ptr<const void> cached_weights(const Node& node, int input, const Tensor& b, int kind, int64_t k,
                                           int64_t n, int64_t bytes,
                                           const std::function<std::shared_ptr<const void>()>& make);
// cached_weights' kind for a convolution filter in Winograd's domain (conv::winograd_filter).
constexpr int kWinogradFilterKind = 2;

// C[m, n] = A[m, k] B + beta C for beta 0 or 1 (A row-major, lda >= k), then `finish` (a
// bias row [n] and a function on finished tiles, ops/gemm_packed.h), split across `pool`
// (may be null) by rows, or by column strips when m is small. Results do not depend on
// the split.
template <class T>
void gemm_prepacked(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b, T beta, T* c,
                    int64_t ldc, ThreadPool* pool, const Finish<T>& finish = {});

// Packed weights up to this size stay in a core's L2 while a thread's rows pass over them,
// so a product can be cut into more parts than threads (each part reads the weights once).
constexpr int64_t kL2WeightBytes = 768 * 1024;

// How gemm_prepacked splits an [m, k] x [k, n] product of `element_bytes` values across
// `threads`: not at all, into `parts` near-equal row ranges, or into `parts` near-equal groups
// of whole column strips, each taken by a free thread as kernels::parallel_parts does. A caller
// that prepares A itself (im2col) can prepare each row range in the thread that multiplies it.
struct PrepackedSplit {
  enum Kind { none, rows, columns } kind = none;
  int64_t parts = 1;
};
PrepackedSplit prepacked_split(int64_t m, int64_t k, int64_t n, int64_t strip_width, int threads,
                               int64_t element_bytes);

// A column split's parts across `pool`: product(c0, c1, part) for `parts` near-equal groups of
// whole strips of n columns, [c0, c1) the group's columns and `part` the call's finish with
// its bias moved to column c0 (the product writes C from column c0).
template <class T, class F>
void for_column_parts(ThreadPool& pool, int64_t n, int64_t parts, const Finish<T>& finish,
                      F&& product) {
  const int64_t lanes = PackedMatrix<T>::strip_width();
  kernels::parallel_parts(pool, (n + lanes - 1) / lanes, parts, [&](int64_t s0, int64_t s1) {
    const int64_t c0 = s0 * lanes, c1 = std::min(n, s1 * lanes);
    Finish<T> part = finish;
    if (part.bias) part.bias += c0;
    product(c0, c1, part);
  });
}

// Number of live cache entries and packed bytes (tests check that dead weights go).
struct PrepackedCacheStats {
  int64_t entries = 0;
  int64_t bytes = 0;
};
PrepackedCacheStats prepacked_cache_stats();
// Drops every entry whose source buffer only the cache still holds.
void prepacked_cache_sweep();

}  // namespace sluice::gemm
