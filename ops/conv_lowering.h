// Lowering of 2-D convolutions (NHWC input, HWIO filter) to GEMMs. Internal to the conv
// ops; the tests call the individual code paths to compare them with each other.
//
// The output pixels (n, y, x) of the whole batch, flattened, are cut into blocks whose
// size depends only on the geometry. For each block, im2col gathers the input patches into
// a [rows, KH*KW*C] matrix that stays in cache, and one GEMM with the filter viewed as
// [KH*KW*C, F] gives the block's [rows, F] outputs. Blocks run in parallel; each is computed
// the same way whichever thread runs it, so results do not depend on the number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "../runtime/thread_pool.h"

namespace sluice::gemm {
template <class T>
class PackedMatrix;  // ops/gemm_packed.h
}  // namespace sluice::gemm

namespace sluice::conv {

// One convolution: input [n,h,w,c], filter [kh,kw,c/groups,f], output [n,oh,ow,f]. Output
// row y reads input rows y*sh - pad_top + i*dh for filter rows i in [0, kh) (likewise
// columns); rows outside [0, h) read zeros, whatever the padding mode that led to pad_top
// and oh (pad_top may be negative: the image is cropped). Output channel o belongs to group
// o / fg() and reads input channels [group*cg(), (group+1)*cg()).
struct ConvGeometry {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 0, kw = 0, f = 0;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t oh = 0, ow = 0;
  int64_t pad_top = 0, pad_left = 0;
  int64_t groups = 1;
  // Elements from one output pixel to the next: f, or more when the output is a channel
  // slice of a wider tensor (FusedConcatConv2D writes each branch into its slice of the
  // concatenation). Only the paths of strided_output_applies write such outputs.
  int64_t ldy = 0;

  int64_t out_stride() const { return ldy > 0 ? ldy : f; }
  int64_t cg() const { return c / groups; }      // input channels per group
  int64_t fg() const { return f / groups; }      // output channels per group
  int64_t patch() const { return kh * kw * cg(); }  // K of the GEMMs
  int64_t out_pixels() const { return n * oh * ow; }
  // groups == c: one input channel per group, the filter is [kh,kw,c,f/c] (depthwise).
  bool depthwise() const { return groups > 1 && groups == c; }
  // A 1x1 filter at stride 1 without padding: the patches are the input rows themselves.
  bool pointwise() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pad_top == 0 && pad_left == 0 && oh == h &&
           ow == w;
  }
};

// What a fused convolution applies to each output after the bias. NaN stays NaN.
struct Epilogue {
  enum Kind { none, relu, clip, leaky_relu };
  Kind kind = none;
  double lo = 0, hi = 0, alpha = 0;  // clip: [lo, hi]; leaky_relu: the slope below 0

  Epilogue() = default;
  // The forward paths' old bool relu flag.
  Epilogue(bool relu_flag) : kind(relu_flag ? relu : none) {}  // NOLINT(google-explicit-constructor)
  Epilogue(Kind k, double lo_, double hi_, double alpha_) : kind(k), lo(lo_), hi(hi_), alpha(alpha_) {}
};

// Applies the activation of kind K (with e's parameters) to a scalar or a GCC vector V of
// T, in place (vectors go by reference: passing 512-bit vectors by value changes the ABI
// on AVX2). The comparisons are written so that NaN falls through every branch unchanged.
template <Epilogue::Kind K, class T, class V>
__attribute__((always_inline)) inline void activate_as(const Epilogue& e, V& v) {
  if constexpr (K == Epilogue::relu) {
    v = v < T(0) ? V{} : v;
  } else if constexpr (K == Epilogue::clip) {
    v = v < T(e.lo) ? V{} + T(e.lo) : v;
    v = v > T(e.hi) ? V{} + T(e.hi) : v;
  } else if constexpr (K == Epilogue::leaky_relu) {
    v = v < T(0) ? v * T(e.alpha) : v;
  }
}

// Calls f(std::integral_constant<Epilogue::Kind, e.kind>{}), so register-blocked kernels
// can take the activation as a template parameter (no branch per store).
template <class F>
inline void with_activation(const Epilogue& e, F&& f) {
  switch (e.kind) {
    case Epilogue::relu:
      f(std::integral_constant<Epilogue::Kind, Epilogue::relu>{});
      break;
    case Epilogue::clip:
      f(std::integral_constant<Epilogue::Kind, Epilogue::clip>{});
      break;
    case Epilogue::leaky_relu:
      f(std::integral_constant<Epilogue::Kind, Epilogue::leaky_relu>{});
      break;
    default:
      f(std::integral_constant<Epilogue::Kind, Epilogue::none>{});
  }
}

// The same with the kind read at run time (for loops that are not register-bound).
template <class T, class V>
inline void activate(const Epilogue& e, V& v) {
  with_activation(e, [&](auto kind) { activate_as<decltype(kind)::value, T>(e, v); });
}

// Each operation has a dispatcher that picks the fastest path for the geometry, and the
// paths themselves (the tests compare them with each other where several apply).

// ---- forward: y [n,oh,ow,f] = conv(x, filter), plus bias [f] when not null, then the
// epilogue's activation ----
template <class T>
void forward(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
             const Epilogue& act, T* y, ThreadPool& pool);
// Any geometry and groups: im2col + one GEMM per group and block (a view of x instead of
// im2col when pointwise).
template <class T>
void forward_im2col(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                    const Epilogue& act, T* y, ThreadPool& pool);
// Any geometry and groups: im2col of every output pixel at once (none when pointwise), then
// one GEMM per group over all of them, split across the pool by the GEMM. For long
// patches onto many filters, where forward_im2col's per-block filter packing dominates.
template <class T>
void forward_im2col_whole(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                          const Epilogue& act, T* y, ThreadPool& pool);
// Any geometry, meant for few input channels (an image's first layer), where im2col would
// copy every input value KH*KW times to feed GEMMs with a tiny K: each output pixel
// accumulates its outputs in registers, straight from the input.
// groups == 1 only.
template <class T>
void forward_direct(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                    const Epilogue& act, T* y, ThreadPool& pool);
// 3x3 filters at stride 1, undilated (winograd_applies): Winograd F(2x2, 3x3), which needs
// 16 multiplications per 2x2 output tile instead of 36 (conv_winograd.cc). groups == 1.
// The filter goes into Winograd's domain (16 matrices [C, F], each packed for the GEMM
// kernel of ops/gemm_packed.h: winograd_filter) and the 16 products of each block of tiles
// run on it; forward_winograd transforms the filter on every call, forward_winograd_prepacked
// takes it transformed (once per weights, cached by the convolution kernels), with the same
// bits. forward() takes this path when winograd_chosen.
bool winograd_applies(const ConvGeometry& g);
bool winograd_chosen(const ConvGeometry& g);
template <class T>
struct WinogradFilter;
template <class T>
std::shared_ptr<const WinogradFilter<T>> winograd_filter(const ConvGeometry& g, const T* filter, ThreadPool* pool);
template <class T>
void forward_winograd(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                      const Epilogue& act, T* y, ThreadPool& pool);
template <class T>
void forward_winograd_prepacked(const ConvGeometry& g, const T* x, const WinogradFilter<T>& u, const T* bias,
                                const Epilogue& act, T* y, ThreadPool& pool);

// ---- forward with the filter packed once (weights that do not change between runs,
// ops/gemm_prepacked.h) ----
// Whether forward_prepacked would run a GEMM for this geometry (groups == 1 and neither
// Winograd nor the direct path): only then is packing the filter worth it.
bool prepacked_applies(const ConvGeometry& g);
// forward(), except that where prepacked_applies the GEMMs read `packed`, the filter's
// [kh*kw*c, f] view packed by gemm::PackedMatrix(false, patch(), f, 1, filter, f).
template <class T>
void forward_prepacked(const ConvGeometry& g, const T* x, const T* filter,
                       const gemm::PackedMatrix<T>& packed, const T* bias, const Epilogue& act, T* y,
                       ThreadPool& pool);
// Any geometry with groups == 1: im2col of blocks of up to 256 output pixels (a view of x
// when pointwise), each block's GEMM on the packed filter adding onto the bias, then the
// activation while the block is in cache. Each output is computed the same way whatever
// the block and the thread count.
template <class T>
void forward_im2col_packed(const ConvGeometry& g, const T* x, const gemm::PackedMatrix<T>& packed,
                           const T* bias, const Epilogue& act, T* y, ThreadPool& pool);

// Whether the GEMM and Winograd paths run this geometry (prepacked_applies or
// winograd_chosen): they write outputs with any out_stride(); every other path needs
// out_stride() == f.
bool strided_output_applies(const ConvGeometry& g);

// Any geometry with groups == 1 and undilated columns, not pointwise: no im2col. The input
// is copied once with its padding (the rows and columns the outputs read, zeros outside
// the image); then a range of output rows is one GEMM on the packed filter whose A is read
// in place: a pixel's patch is KH runs of KW*C contiguous padded values, a padded row apart,
// and output rows are lines of ow pixels (gemm::Segments). One image at a time; on several
// threads, whole images per thread, or one image's rows or column strips split as
// gemm::prepacked_split would. The same arithmetic as forward_im2col_packed, so the same bits.
// forward_prepacked takes this path when implicit_chosen.
bool implicit_applies(const ConvGeometry& g);
bool implicit_chosen(const ConvGeometry& g);
template <class T>
void forward_implicit(const ConvGeometry& g, const T* x, const gemm::PackedMatrix<T>& packed, const T* bias,
                      const Epilogue& act, T* y, ThreadPool& pool);
// forward_implicit's output rows [oy0, oy1) of image n on the calling thread, row oy at
// y + (oy - oy0) * ow * ldy (a fused op's band of rows). workspace holds at least
// implicit_workspace(g) values (the rows' padded input is copied there).
int64_t implicit_workspace(const ConvGeometry& g);
template <class T>
void implicit_rows(const ConvGeometry& g, const T* x, int64_t n, int64_t oy0, int64_t oy1,
                   const gemm::PackedMatrix<T>& packed, const T* bias, const Epilogue& act, T* workspace, T* y);

// ---- an inverted bottleneck in one pass (FusedBottleneckConv2D, ops/bottleneck_ops.h):
// y = project(depthwise(expand(x))), each stage with its bias (may be null) and activation.
// `expand` and `project` are pointwise geometries (1x1, stride 1, unpadded) whose filters
// are packed as forward_prepacked expects; `depthwise` is any depthwise geometry over the
// expanded tensor. The output is cut into bands of rows: a band's expanded input rows
// (rows shared with the previous band are kept, not recomputed) and its depthwise output
// live in per-thread buffers sized for L2, so the expanded and depthwise tensors never go
// through memory whole. Each stage runs the same kernel on the same values as the unfused
// forward_prepacked / forward / forward_prepacked (bottleneck_applies), so y has their bits,
// whatever the bands and the thread count.
bool bottleneck_applies(const ConvGeometry& expand, const ConvGeometry& depthwise,
                        const ConvGeometry& project);
template <class T>
void forward_bottleneck(const T* x, const ConvGeometry& expand, const gemm::PackedMatrix<T>& expand_packed,
                        const T* expand_bias, const Epilogue& expand_act, const ConvGeometry& depthwise,
                        const T* depthwise_filter, const T* depthwise_bias, const Epilogue& depthwise_act,
                        const ConvGeometry& project, const gemm::PackedMatrix<T>& project_packed,
                        const T* project_bias, const Epilogue& project_act, T* y, ThreadPool& pool);

// ---- input gradient: dx [n,h,w,c] of conv(x, filter), given dy [n,oh,ow,f] ----
template <class T>
void backprop_input(const ConvGeometry& g, const T* filter, const T* dy, T* dx, ThreadPool& pool);
// Any geometry and groups: per image, GEMM dy x filter^T to patches (one per group), then
// scatter-add the patches into dx (col2im).
template <class T>
void backprop_input_col2im(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                           ThreadPool& pool);
// Stride 1 and groups == 1 only: dx is the forward convolution of dy with the filter rotated by 180 degrees
// and its channel axes swapped (so it takes forward's fast paths, Winograd included).
template <class T>
void backprop_input_rotated(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                            ThreadPool& pool);

// ---- filter gradient: dw [kh,kw,c,f] of conv(x, filter), given dy [n,oh,ow,f] ----
// Sums over blocks of pixels go into a number of partial sums fixed by the sizes, added in
// order at the end, so the result does not depend on the number of threads.
template <class T>
void backprop_filter(const ConvGeometry& g, const T* x, const T* dy, T* dw, ThreadPool& pool);
// Any geometry and groups: the sum over blocks of patches^T x dy (one GEMM per group).
template <class T>
void backprop_filter_im2col(const ConvGeometry& g, const T* x, const T* dy, T* dw,
                            ThreadPool& pool);
// Where winograd_applies: the same sum in the Winograd domain (conv_winograd.cc).
template <class T>
void backprop_filter_winograd(const ConvGeometry& g, const T* x, const T* dy, T* dw,
                              ThreadPool& pool);

// Blocks of `m` rows for per-block work whose scratch holds about `elements_per_block`
// elements when each row takes `row_elements` (at least 16 rows a block, and at least 16
// blocks when each keeps 64 rows, so every thread gets work). Depends only on the sizes.
struct Blocks {
  int64_t m = 0, per_block = 1, count = 0;
  Blocks(int64_t rows, int64_t row_elements, int64_t elements_per_block);
  int64_t begin(int64_t b) const {
    return std::min(m, b * per_block);
  }  // rows [begin(b), begin(b+1))
  int64_t max_rows() const { return std::min(m, per_block); }
};

// Number of partial sums for reductions over `blocks` blocks into `elements` outputs.
int64_t partial_sum_groups(int64_t blocks, int64_t elements);

}  // namespace sluice::conv
