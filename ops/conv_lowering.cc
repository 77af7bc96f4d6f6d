#include "conv_lowering.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#include "depthwise_kernels.h"
#include "gemm.h"
#include "gemm_prepacked.h"
#include "kernel_util.h"

namespace sluice::conv {

using kernels::workspace;

namespace {

// A block's patch matrix holds about this many elements (512 KiB of float32), so it stays
// in the L2 cache between im2col and the GEMM that reads it.
constexpr int64_t kBlockElements = int64_t{1} << 17;
// Inputs with at most this many channels and patches of at most kDirectMaxPatch values take
// the direct path (see forward_direct). Longer patches (an ImageNet stem's 7x7x3 = 147) feed
// the GEMM well enough that im2col + GEMM wins: 2x faster than the direct path on resnet18's
// first layer (AVX2 EPYC, bench/onnx_models.cpp --profile).
constexpr int64_t kDirectMaxChannels = 4;
constexpr int64_t kDirectMaxPatch = 16;
// Winograd transforms the whole filter on every call (16 C x F values written, then read by
// the GEMMs, against 9 C x F read once by im2col + GEMM) and saves 5/9 of the GEMM's
// multiplications per output pixel: with few output pixels (resnet18's last stages at
// batch 1: 14x14 and 7x7) the transform costs more than it saves.
constexpr int64_t kWinogradMinPixels = 256;
// Winograd's 16 products have a depth of C (the input channels) and pay for the transforms
// only when that depth keeps the GEMM's multiply-adds busy: C of at least two vector widths
// (16 channels with AVX2, 32 with AVX-512). With AVX-512 (Zen 5), SqueezeNet's 55x55
// 16-channel fire modules took 0.63 and 0.53 ms per run on Winograd and 0.42-0.49 and 0.39-0.42
// ms on the implicit GEMM (the whole model at batch 1 and 8, 1 and 2 threads, 3-5% faster);
// with AVX2 the two were a toss-up on those layers. The 32-channel ones were even on
// AVX-512, and resnet18 (64 channels and up) was 8-15% slower without Winograd.
constexpr int64_t kWinogradMinVectors = 2;
// forward_implicit (no im2col: the GEMM reads the patches in place from a padded copy of the
// input) replaces forward_im2col_packed in two cases.
// - Rows of at least kImplicitMinWidth pixels and filters of at most kImplicitMaxFilter
//   values: the ImageNet stems (3 channels, 3x3/2 and 7x7/2, batch 1 and 8) took 0.68-0.92x
//   of im2col's time (medians of 8 alternating rounds, AVX2 EPYC, docs/onnx_speed.md; then
//   every output row was a product of its own). Against Winograd (SqueezeNet's 55x55
//   16-channel layers) it was a toss-up, so Winograd keeps those.
// - At least kImplicitMinChannels channels, when one image's product has at least
//   kImplicitMinPixels rows or the batch is one image: the segments are long, and the copy
//   im2col makes (KH x KW times the input, more than L2 holds) costs more than reading in
//   place. resnet18 (its 14x14 layers, 196 x 2304 x 256, and at batch 1 its 7x7 layers, 49 x
//   4608 x 512, split by column strips), Zen 5, medians of 5 alternating rounds: batch 1,
//   9.11 -> 8.89 ms per run on 2 threads, 16.56 -> 15.89 on 1; batch 8 and squeezenet1_1
//   even. At batch 8 the 7x7 layers were about 5% slower (per-node profile): the implicit
//   path streams their 9.4 MB filter through the cores once per image, im2col once per
//   block of 256 pixels.
constexpr int64_t kImplicitMinWidth = 32;
constexpr int64_t kImplicitMaxFilter = 16384;
constexpr int64_t kImplicitMinChannels = 16;
constexpr int64_t kImplicitMinPixels = 128;
// forward_im2col packs the whole filter for every block of pixels it hands to the GEMM.
// With long patches, blocks are short (128K values / patch length: 28 rows for a 3x3x512
// patch) and many filter columns, the packing costs more than the arithmetic: then one
// im2col of every pixel (up to kWholeMaxElements values) and one GEMM win (resnet18's 14x14
// and 7x7 stages, 1x1 convolutions onto many channels).
constexpr int64_t kWholeMaxElements = int64_t{1} << 23;
bool whole_gemm_pays(const ConvGeometry& g) {
  const Blocks blocks(g.out_pixels(), g.patch() + g.f, kBlockElements);  // forward_im2col's
  return g.groups == 1 && blocks.count > 1 && g.f > 2 * blocks.per_block &&
         (g.pointwise() || g.out_pixels() * g.patch() <= kWholeMaxElements);
}

// Short copies (a few channels) are common: a plain loop beats a call to memcpy.
template <class T>
inline void copy_short(const T* src, int64_t n, T* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}
template <class T>
inline void zero_short(int64_t n, T* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = T(0);
}

// Gathers the patches of output pixels [r0, r1) (flattened over n, y, x) into col
// [r1-r0, kh*kw*cg]: row r holds input[n, y*sh-pad_top+i*dh, x*sw-pad_left+j*dw, c0 + (0..cg)]
// for (i, j) in row-major order, zeros outside the image, where c0 is the first input
// channel of the group. That is the order of the filter's [kh*kw*cg, f] view, so col x
// filter (the group's columns) is the convolution.
template <class T>
void im2col(const ConvGeometry& g, const T* x, int64_t r0, int64_t r1, T* col, int64_t c0 = 0) {
  const int64_t cg = g.cg(), k = g.patch(), row_len = g.kw * cg, image_stride = g.h * g.w * g.c;
  int64_t n = r0 / (g.oh * g.ow), y = (r0 / g.ow) % g.oh, xo = r0 % g.ow;
  for (int64_t r = r0; r < r1; ++r) {
    T* dst = col + (r - r0) * k;
    const T* img = x + n * image_stride + c0;
    const int64_t iy0 = y * g.sh - g.pad_top, ix0 = xo * g.sw - g.pad_left;
    // When the whole window row is inside the image, undilated and ungrouped, it is one
    // contiguous run.
    const bool run = g.dw == 1 && cg == g.c && ix0 >= 0 && ix0 + g.kw <= g.w;
    for (int64_t i = 0; i < g.kh; ++i, dst += row_len) {
      const int64_t iy = iy0 + i * g.dh;
      if (iy < 0 || iy >= g.h) {
        zero_short(row_len, dst);
        continue;
      }
      const T* src_row = img + iy * g.w * g.c;
      if (run) {
        copy_short(src_row + ix0 * g.c, row_len, dst);
        continue;
      }
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t ix = ix0 + j * g.dw;
        if (ix >= 0 && ix < g.w) {
          copy_short(src_row + ix * g.c, cg, dst + j * cg);
        } else {
          zero_short(cg, dst + j * cg);
        }
      }
    }
    if (++xo == g.ow) {
      xo = 0;
      if (++y == g.oh) {
        y = 0;
        ++n;
      }
    }
  }
}

// The adjoint of im2col for the pixels [p0, p1) of one image: adds each patch row of col
// back onto the input positions it was gathered from (img is that image, [h,w,c]; the
// patches hold the group's channels c0 + (0..cg)).
template <class T>
void col2im_add(const ConvGeometry& g, const T* col, int64_t p0, int64_t p1, T* img,
                int64_t c0 = 0) {
  const int64_t k = g.patch(), cg = g.cg();
  for (int64_t p = p0; p < p1; ++p) {
    const T* src = col + (p - p0) * k;
    const int64_t iy0 = (p / g.ow) * g.sh - g.pad_top, ix0 = (p % g.ow) * g.sw - g.pad_left;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t iy = iy0 + i * g.dh;
      for (int64_t j = 0; j < g.kw; ++j, src += cg) {
        const int64_t ix = ix0 + j * g.dw;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
        T* dst = img + (iy * g.w + ix) * g.c + c0;
        for (int64_t ch = 0; ch < cg; ++ch) dst[ch] += src[ch];
      }
    }
  }
}

// y rows += bias, then the activation: applied to a block right after its GEMM, while it
// is in cache.
// The activation is a template parameter of the loops (a run-time switch per element kept
// them scalar and made this a third of mobilenet_v2's time).
// The loops are written on explicit 256-bit vectors: the scalar loop compiled to a compare
// and branch per element (the NaN-preserving ternaries are not if-converted), which
// mispredicts on real activations.
// Rows are ld apart.
template <Epilogue::Kind K, bool Bias, class T>
void bias_activate_as(T* y, int64_t rows, int64_t f, int64_t ld, const T* bias, const Epilogue& act) {
  typedef T Vec __attribute__((vector_size(32)));
  constexpr int64_t L = static_cast<int64_t>(sizeof(Vec) / sizeof(T));
  for (int64_t r = 0; r < rows; ++r) {
    T* row = y + r * ld;
    int64_t j = 0;
    for (; j + L <= f; j += L) {
      Vec v, b;
      std::memcpy(&v, row + j, sizeof(Vec));
      if constexpr (Bias) {
        std::memcpy(&b, bias + j, sizeof(Vec));
        v += b;
      }
      activate_as<K, T>(act, v);
      std::memcpy(row + j, &v, sizeof(Vec));
    }
    for (; j < f; ++j) {
      T v = row[j];
      if constexpr (Bias) v += bias[j];
      activate_as<K, T>(act, v);
      row[j] = v;
    }
  }
}

// Rows of y [rows, f] set to the bias, so the GEMM adds the products to them (beta 1):
// that replaces the BLAS's own zeroing of C (beta 0) and a second pass adding the bias.
template <class T>
void fill_bias(T* y, int64_t rows, int64_t f, const T* bias) {
  for (int64_t r = 0; r < rows; ++r) std::memcpy(y + r * f, bias, static_cast<size_t>(f) * sizeof(T));
}

template <class T>
void bias_activate(T* y, int64_t rows, int64_t f, const T* bias, const Epilogue& act) {
  if (!bias && act.kind == Epilogue::none) return;
  with_activation(act, [&](auto kind) {
    constexpr Epilogue::Kind K = decltype(kind)::value;
    if (bias) bias_activate_as<K, true>(y, rows, f, f, bias, act);
    else bias_activate_as<K, false>(y, rows, f, f, bias, act);
  });
}

// The activation of one finished tile of the packed GEMM (gemm::Finish::fn; ctx is the
// Epilogue), while the tile is in L1.
template <Epilogue::Kind K, class T>
void activate_tile(const void* ctx, T* c, int64_t ldc, int64_t rows, int64_t cols) {
  bias_activate_as<K, false>(c, rows, cols, ldc, static_cast<const T*>(nullptr),
                             *static_cast<const Epilogue*>(ctx));
}

// The packed GEMM's finish for a convolution's bias (may be null) and activation: both
// applied as C is written, not in passes of their own (the sums start from the bias, the
// activation comes last: the same bits as C filled with the bias, beta 1, then a pass).
template <class T>
gemm::Finish<T> finish_of(const T* bias, const Epilogue& act) {
  gemm::Finish<T> finish;
  finish.bias = bias;
  finish.ctx = &act;
  // Relu and Clip are clamps (the same comparisons as activate_as), done in registers.
  if (act.kind == Epilogue::relu || act.kind == Epilogue::clip) {
    finish.clamp = true;
    finish.lo = act.kind == Epilogue::relu ? T(0) : T(act.lo);
    finish.hi = act.kind == Epilogue::relu ? std::numeric_limits<T>::infinity() : T(act.hi);
  } else if (act.kind == Epilogue::leaky_relu) {
    finish.fn = &activate_tile<Epilogue::leaky_relu, T>;
  }
  return finish;
}

}  // namespace

Blocks::Blocks(int64_t rows, int64_t row_elements, int64_t elements_per_block) : m(rows) {
  per_block = std::max<int64_t>(16, elements_per_block / std::max<int64_t>(row_elements, 1));
  per_block = std::min(per_block, std::max<int64_t>(64, (m + 15) / 16));
  count = (m + per_block - 1) / per_block;
}

int64_t partial_sum_groups(int64_t blocks, int64_t elements) {
  // At most 16 partial sums, and at most 16M elements of them in all.
  constexpr int64_t kMaxGroups = 16, kMaxElements = int64_t{1} << 24;
  return std::max<int64_t>(
      1, std::min({blocks, kMaxGroups, kMaxElements / std::max<int64_t>(elements, 1)}));
}

template <class T>
void forward_im2col(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                    const Epilogue& act, T* y, ThreadPool& pool) {
  const int64_t k = g.patch(), f = g.f, fg = g.fg(), cg = g.cg();
  // A block's patches and its outputs stay in cache together, so the bias and the
  // activation after the GEMM do not go through memory again.
  const Blocks blocks(g.out_pixels(), k + f, kBlockElements);
  if (f == 0) return;
  const bool pointwise = g.pointwise();
  kernels::parallel_range(pool, blocks.count, 1, [&](int64_t b0, int64_t b1) {
    std::unique_ptr<T[]> col = pointwise ? nullptr : workspace<T>(blocks.max_rows() * k);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = blocks.begin(b), rows = blocks.begin(b + 1) - r0;
      if (bias) fill_bias(y + r0 * f, rows, f, bias);
      // Group grp: patches of its input channels x its filter columns -> its output columns.
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* patches = x + r0 * g.c + grp * cg;  // pointwise: rows of x, stride c
        int64_t ld = g.c;
        if (!pointwise) {
          im2col(g, x, r0, r0 + rows, col.get(), grp * cg);
          patches = col.get();
          ld = k;
        }
        gemm::gemm<T>(false, false, rows, fg, k, T(1), patches, ld, filter + grp * fg, f, bias ? T(1) : T(0),
                      y + r0 * f + grp * fg, f, nullptr);
      }
      bias_activate(y + r0 * f, rows, f, static_cast<const T*>(nullptr), act);
    }
  });
}

template <class T>
void forward_im2col_whole(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                          const Epilogue& act, T* y, ThreadPool& pool) {
  const int64_t k = g.patch(), f = g.f, fg = g.fg(), cg = g.cg(), m = g.out_pixels();
  if (f == 0 || m == 0) return;
  const bool pointwise = g.pointwise();
  std::unique_ptr<T[]> col = (pointwise || g.groups > 1) ? nullptr : workspace<T>(m * k);
  const Blocks blocks(m, k, kBlockElements);
  if (bias)
    kernels::parallel_range(pool, m, std::max<int64_t>(1, kernels::kElementwiseGrain / f),
                            [&](int64_t r0, int64_t r1) { fill_bias(y + r0 * f, r1 - r0, f, bias); });
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    const T* patches = x + grp * cg;  // pointwise: the rows of x, stride c
    int64_t ld = g.c;
    if (!pointwise) {
      if (!col) col = workspace<T>(m * k);
      kernels::parallel_range(pool, blocks.count, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
          im2col(g, x, blocks.begin(b), blocks.begin(b + 1), col.get() + blocks.begin(b) * k, grp * cg);
      });
      patches = col.get();
      ld = k;
    }
    // One product over every pixel: the GEMM splits it across the pool by panels of rows
    // or columns (ops/gemm.cc), so each filter panel is packed once per call.
    gemm::gemm<T>(false, false, m, fg, k, T(1), patches, ld, filter + grp * fg, f, bias ? T(1) : T(0), y + grp * fg,
                  f, &pool);
  }
  if (act.kind != Epilogue::none)
    kernels::parallel_range(pool, m, std::max<int64_t>(1, kernels::kElementwiseGrain / f), [&](int64_t r0, int64_t r1) {
      bias_activate(y + r0 * f, r1 - r0, f, static_cast<const T*>(nullptr), act);
    });
}

namespace {

// The direct path computes outputs [f0, f0 + W) of P adjacent output pixels at a time, with
// the P x W accumulators in registers (P * W = kDirectAccumulators): each filter value
// loaded serves P pixels. W and P are compile-time constants for that reason.
// One register: 512-bit vectors with AVX-512 (32 registers), 256-bit on AVX2 (16 registers:
// 512-bit vectors there are register pairs, and the 8 accumulators alone would fill the
// register file, spilling the filter loads).
#ifdef __AVX512F__
constexpr size_t kDirectVecBytes = 64;
#else
constexpr size_t kDirectVecBytes = 32;
#endif
template <class T>
constexpr int64_t kVector = static_cast<int64_t>(kDirectVecBytes / sizeof(T));  // elements per vector
template <class T>
constexpr int64_t kDirectAccumulators = 8 * kVector<T>;

// Output pixels xo .. xo+P-1 of output row (n, y), outputs [f0, f0 + W): bias plus every
// filter tap inside the image, then relu. `interior`: every tap column of these pixels is
// inside the image, so only rows are checked. W == 0 means the run-time width `width`
// (< kVector, the remainder), with P == 1. The accumulators are explicit vectors (GCC/Clang
// vector extensions) of one register each: left to itself, the compiler picks 256-bit
// vectors on recent Xeons.
template <int64_t W, int64_t P, Epilogue::Kind Act, class T>
inline void direct_pixels(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                          const Epilogue& act, int64_t n, int64_t y, int64_t xo, int64_t f0, int64_t width,
                          bool interior, T* out) {
  typedef T Vec __attribute__((vector_size(kDirectVecBytes)));
  constexpr int64_t V = kVector<T>, K = W > 0 ? W / V : 1;  // vectors per pixel
  // Unaligned vector loads and stores (a memcpy of one vector compiles to one instruction).
  // (Filled through a reference: returning 512-bit vectors by value changes the ABI on AVX2.)
  auto load = [&](Vec& v, const T* p) __attribute__((always_inline)) {
    if (W > 0) {
      std::memcpy(&v, p, sizeof(Vec));
    } else {
      for (int64_t f = 0; f < V; ++f) v[f] = f < width ? p[f] : T(0);
    }
  };
  Vec acc[P][K];
  for (int64_t k = 0; k < K; ++k) {
    Vec b{};
    if (bias) load(b, bias + f0 + k * V);
    for (int64_t p = 0; p < P; ++p) acc[p][k] = b;
  }
  const int64_t pixel_step = g.sw * g.c;
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t iy = y * g.sh - g.pad_top + i * g.dh;
    if (iy < 0 || iy >= g.h) continue;
    const T* row = x + (n * g.h + iy) * g.w * g.c;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t ix = xo * g.sw - g.pad_left + j * g.dw;
      if (!interior && (ix < 0 || ix >= g.w)) continue;  // P == 1 here
      const T* px = row + ix * g.c;
      const T* pw = filter + (i * g.kw + j) * g.c * g.f + f0;
      for (int64_t ch = 0; ch < g.c; ++ch) {
        Vec w[K];
        for (int64_t k = 0; k < K; ++k) load(w[k], pw + ch * g.f + k * V);
        for (int64_t p = 0; p < P; ++p) {
          const T v = px[p * pixel_step + ch];
          for (int64_t k = 0; k < K; ++k) acc[p][k] += v * w[k];
        }
      }
    }
  }
  for (int64_t p = 0; p < P; ++p)
    for (int64_t k = 0; k < K; ++k) {
      Vec r = acc[p][k];
      activate_as<Act, T>(act, r);
      if (W > 0) {
        std::memcpy(out + p * g.f + k * V, &r, sizeof(Vec));
      } else {
        for (int64_t f = 0; f < width; ++f) out[p * g.f + f] = r[f];
      }
    }
}

// All outputs of the P pixels xo .. xo+P-1 (P > 1 only in the interior), in chunks of 4,
// 2 and 1 vectors, each with as many pixels at a time as keep kDirectAccumulators (at most
// P; P is a power of two).
template <int64_t P, Epilogue::Kind Act, class T>
void direct_run(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                const Epilogue& act, int64_t n, int64_t y, int64_t xo, bool interior, T* out) {
  constexpr int64_t V = kVector<T>, A = kDirectAccumulators<T>;
  constexpr int64_t P4 = std::min(P, A / (4 * V)), P2 = std::min(P, A / (2 * V)),
                    P1 = std::min(P, A / V);
  static_assert(P % P4 == 0 && P % P2 == 0 && P % P1 == 0, "pixel counts must divide P");
  int64_t f0 = 0;
  for (; f0 + 4 * V <= g.f; f0 += 4 * V)
    for (int64_t p = 0; p < P; p += P4)
      direct_pixels<4 * V, P4, Act>(g, x, filter, bias, act, n, y, xo + p, f0, 0, interior,
                               out + p * g.f + f0);
  if (f0 + 2 * V <= g.f) {
    for (int64_t p = 0; p < P; p += P2)
      direct_pixels<2 * V, P2, Act>(g, x, filter, bias, act, n, y, xo + p, f0, 0, interior,
                               out + p * g.f + f0);
    f0 += 2 * V;
  }
  if (f0 + V <= g.f) {
    for (int64_t p = 0; p < P; p += P1)
      direct_pixels<V, P1, Act>(g, x, filter, bias, act, n, y, xo + p, f0, 0, interior,
                           out + p * g.f + f0);
    f0 += V;
  }
  if (f0 < g.f)
    for (int64_t p = 0; p < P; ++p)
      direct_pixels<0, 1, Act>(g, x, filter, bias, act, n, y, xo + p, f0, g.f - f0, interior,
                          out + p * g.f + f0);
}

}  // namespace

template <class T>
void forward_direct(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                    const Epilogue& act, T* y, ThreadPool& pool) {
  SLUICE_REQUIRE(g.groups == 1, Internal, "forward_direct needs groups == 1");
  // Interior output columns [x_lo, x_hi): all their filter taps fall inside the image.
  const int64_t x_lo = std::min(g.ow, (g.pad_left + g.sw - 1) / g.sw);
  const int64_t last = g.w - 1 - (g.kw - 1) * g.dw + g.pad_left;  // largest interior xo * sw
  const int64_t x_hi = last < 0 ? x_lo : std::max(x_lo, std::min(g.ow, last / g.sw + 1));
  constexpr int64_t kStep = kDirectAccumulators<T> / kVector<T>;  // interior pixels per step
  static_assert(kStep >= 8, "the interior runs below assume steps of at least 8 pixels");
  const int64_t rows = g.n * g.oh;
  const int64_t grain =
      std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(g.ow * g.f, 1));
  with_activation(act, [&](auto kind) {
    constexpr Epilogue::Kind Act = decltype(kind)::value;
    kernels::parallel_range(pool, rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / g.oh, yo = r % g.oh;
        T* out_row = y + r * g.ow * g.f;
        int64_t xo = 0;
        for (; xo < x_lo; ++xo)
          direct_run<1, Act>(g, x, filter, bias, act, n, yo, xo, false, out_row + xo * g.f);
        for (; xo + kStep <= x_hi; xo += kStep)
          direct_run<kStep, Act>(g, x, filter, bias, act, n, yo, xo, true, out_row + xo * g.f);
        // The rest of the interior in runs of 4 and 2 (only the borders go one by one).
        if (xo + 4 <= x_hi) {
          direct_run<4, Act>(g, x, filter, bias, act, n, yo, xo, true, out_row + xo * g.f);
          xo += 4;
        }
        if (xo + 2 <= x_hi) {
          direct_run<2, Act>(g, x, filter, bias, act, n, yo, xo, true, out_row + xo * g.f);
          xo += 2;
        }
        for (; xo < g.ow; ++xo)
          direct_run<1, Act>(g, x, filter, bias, act, n, yo, xo, xo < x_hi, out_row + xo * g.f);
      }
    });
  });
}

template <class T>
void forward(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
             const Epilogue& act, T* y, ThreadPool& pool) {
  SLUICE_REQUIRE(g.out_stride() == g.f || winograd_chosen(g), Internal, "conv::forward: an output stride of ",
                 g.out_stride(), " for ", g.f, " channels on a path that writes dense outputs");
  if (g.depthwise()) {
    depthwise_forward(g, x, filter, bias, act, y, pool);
  } else if (g.groups > 1) {
    forward_im2col(g, x, filter, bias, act, y, pool);
  } else if (whole_gemm_pays(g)) {
    forward_im2col_whole(g, x, filter, bias, act, y, pool);
  } else if (winograd_chosen(g)) {
    forward_winograd(g, x, filter, bias, act, y, pool);
  } else if (g.c <= kDirectMaxChannels && g.patch() <= kDirectMaxPatch) {
    forward_direct(g, x, filter, bias, act, y, pool);
  } else {
    forward_im2col(g, x, filter, bias, act, y, pool);
  }
}

bool winograd_chosen(const ConvGeometry& g) {
  return !g.depthwise() && g.groups == 1 && !whole_gemm_pays(g) && winograd_applies(g) &&
         g.out_pixels() >= kWinogradMinPixels &&
         g.c >= kWinogradMinVectors * gemm::PackedMatrix<float>::strip_width();
}

bool strided_output_applies(const ConvGeometry& g) { return prepacked_applies(g) || winograd_chosen(g); }

bool prepacked_applies(const ConvGeometry& g) {
  if (g.groups != 1 || g.f == 0 || g.patch() == 0) return false;
  if (whole_gemm_pays(g)) return true;
  if (winograd_chosen(g)) return false;
  return !(g.c <= kDirectMaxChannels && g.patch() <= kDirectMaxPatch);
}

template <class T>
void forward_prepacked(const ConvGeometry& g, const T* x, const T* filter, const gemm::PackedMatrix<T>& packed,
                       const T* bias, const Epilogue& act, T* y, ThreadPool& pool) {
  if (prepacked_applies(g)) {
    if (implicit_chosen(g)) return forward_implicit(g, x, packed, bias, act, y, pool);
    forward_im2col_packed(g, x, packed, bias, act, y, pool);
  } else {
    forward(g, x, filter, bias, act, y, pool);
  }
}

template <class T>
void forward_im2col_packed(const ConvGeometry& g, const T* x, const gemm::PackedMatrix<T>& packed,
                           const T* bias, const Epilogue& act, T* y, ThreadPool& pool) {
  const int64_t k = g.patch(), f = g.f, m = g.out_pixels();
  SLUICE_REQUIRE(g.groups == 1 && packed.groups() == 1 && packed.rows() == k && packed.group_cols() == f, Internal,
                 "forward_im2col_packed: filter packed as [", packed.rows(), ",", packed.group_cols(), "] for a [", k,
                 ",", f, "] product with ", g.groups, " groups");
  if (f == 0 || m == 0) return;
  const int64_t ldy = g.out_stride();
  // Blocks of up to 256 pixels: the GEMM walks k in slices of 256 (ops/gemm_packed.cc), and
  // a block's slice of patches (256 x 256 values) stays in L2 while the filter's slice
  // streams past it once. No per-block filter packing any more, so long patches need no
  // bigger blocks.
  // With at least as many blocks as threads, the count is a multiple of the threads and
  // the blocks near-equal, so every thread gets the same work (7 blocks of 256 on 2 threads
  // left one thread 4 and the other 3; now 8 of 196).
  constexpr int64_t kRowsPerBlock = 256;
  const int64_t threads = pool.num_threads();
  int64_t count = (m + kRowsPerBlock - 1) / kRowsPerBlock;
  if (count >= threads) count = (count + threads - 1) / threads * threads;
  const int64_t per_block = (m + count - 1) / count;
  const bool pointwise = g.pointwise();
  const gemm::Finish<T> finish = finish_of(bias, act);
  auto run_block = [&](int64_t b, T* col, ThreadPool* gemm_pool) {
    const int64_t r0 = std::min(m, b * per_block), rows = std::min(m, r0 + per_block) - r0;
    const T* patches = x + r0 * g.c;  // pointwise: rows of x, stride c
    int64_t ld = g.c;
    if (!pointwise) {
      im2col(g, x, r0, r0 + rows, col, 0);
      patches = col;
      ld = k;
    }
    gemm::gemm_prepacked<T>(rows, patches, ld, packed, T(0), y + r0 * ldy, ldy, gemm_pool, finish);
  };
  if (count >= threads) {
    kernels::parallel_blocks(
        pool, count, [&] { return pointwise ? nullptr : workspace<T>(per_block * k); },
        [&](std::unique_ptr<T[]>& col, int64_t b) { run_block(b, col.get(), nullptr); });
  } else {
    // Fewer blocks than threads (a small image): the threads share each block. When the
    // GEMM would split it by rows, each thread gathers the patches of its own rows and
    // multiplies them (they stay in its cache; the same products as the GEMM's split);
    // otherwise the threads share the gather, then the GEMM's split.
    std::unique_ptr<T[]> col = pointwise ? nullptr : workspace<T>(per_block * k);
    for (int64_t b = 0; b < count; ++b) {
      const int64_t r0 = std::min(m, b * per_block), rows = std::min(m, r0 + per_block) - r0;
      const gemm::PrepackedSplit split =
          gemm::prepacked_split(rows, k, f, packed.strip_width(), pool.num_threads(), sizeof(T));
      if (pointwise || split.kind == gemm::PrepackedSplit::none) {
        run_block(b, col.get(), &pool);
      } else if (split.kind == gemm::PrepackedSplit::rows) {
        kernels::parallel_parts(pool, rows, split.parts, [&](int64_t q0, int64_t q1) {
          im2col(g, x, r0 + q0, r0 + q1, col.get() + q0 * k, 0);
          gemm::gemm_packed<T>(q1 - q0, col.get() + q0 * k, k, packed, 0, 0, f, T(0), y + (r0 + q0) * ldy, ldy,
                               finish);
        });
      } else {
        const int64_t grain = std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(k, 1));
        kernels::parallel_range(pool, rows, grain, [&](int64_t q0, int64_t q1) {
          im2col(g, x, r0 + q0, r0 + q1, col.get() + q0 * k, 0);
        });
        gemm::gemm_prepacked<T>(rows, col.get(), k, packed, T(0), y + r0 * ldy, ldy, &pool, finish);
      }
    }
  }
}

bool implicit_applies(const ConvGeometry& g) {
  return g.groups == 1 && g.dw == 1 && !g.pointwise() && g.f > 0 && g.c > 0 && g.out_pixels() > 0;
}

bool implicit_chosen(const ConvGeometry& g) {
  if (!implicit_applies(g) || !prepacked_applies(g)) return false;
  if (g.c >= kImplicitMinChannels && (g.n == 1 || g.oh * g.ow >= kImplicitMinPixels)) return true;
  return !whole_gemm_pays(g) && g.ow >= kImplicitMinWidth && g.patch() * g.f <= kImplicitMaxFilter;
}

namespace {

// forward_implicit's padded copy of an image: the input rows and columns its outputs read
// (from row -pad_top and column -pad_left), zeros outside the image.
struct ImplicitLayout {
  int64_t hp, wp, lo, hi;  // padded rows and columns; padded columns [lo, hi) are the image's
  explicit ImplicitLayout(const ConvGeometry& g)
      : hp((g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1),
        wp((g.ow - 1) * g.sw + g.kw),
        lo(std::clamp<int64_t>(g.pad_left, 0, wp)),
        hi(std::clamp<int64_t>(g.pad_left + g.w, lo, wp)) {}
  // The padded rows output rows [oy0, oy1) read.
  int64_t first_row(const ConvGeometry& g, int64_t oy0) const { return oy0 * g.sh; }
  int64_t end_row(const ConvGeometry& g, int64_t oy1) const { return (oy1 - 1) * g.sh + (g.kh - 1) * g.dh + 1; }
};

// Padded rows [r0, r1) of image n into p (the whole padded image's buffer).
template <class T>
void implicit_copy_rows(const ConvGeometry& g, const ImplicitLayout& l, const T* x, int64_t n, int64_t r0, int64_t r1,
                        T* p) {
  const int64_t C = g.c;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t iy = r - g.pad_top;
    T* dst = p + r * l.wp * C;
    if (iy < 0 || iy >= g.h || l.hi == l.lo) {
      std::fill_n(dst, l.wp * C, T(0));
      continue;
    }
    // Padded columns [lo, hi) are image columns lo - pad_left ...
    std::fill_n(dst, l.lo * C, T(0));
    std::copy_n(x + ((n * g.h + iy) * g.w + (l.lo - g.pad_left)) * C, (l.hi - l.lo) * C, dst + l.lo * C);
    std::fill_n(dst + l.hi * C, (l.wp - l.hi) * C, T(0));
  }
}

// Output rows [oy0, oy1), columns [c0, c1) (c0 a multiple of the strip width), from the
// padded image p, as one product: its rows are the pixels, each pixel's patch KH segments
// of KW * C values, the first at padded row oy * sh, pixels sw * C values apart within an
// output row (gemm::Segments' lines). Pixel (oy, ox) goes to y + ((oy - oy0) * ow + ox) *
// ldy; finish is the call's (its bias starts at column c0).
template <class T>
void implicit_output_columns(const ConvGeometry& g, const ImplicitLayout& l, const T* p,
                             int64_t oy0, int64_t oy1, const gemm::PackedMatrix<T>& packed,
                             int64_t c0, int64_t c1, const gemm::Finish<T>& finish, T* y) {
  const int64_t C = g.c;
  const gemm::Segments segments{g.kw * C, g.dh * l.wp * C, g.ow, g.sh * l.wp * C};
  gemm::gemm_packed<T>((oy1 - oy0) * g.ow, p + oy0 * g.sh * l.wp * C, g.sw * C, segments, packed, 0,
                       c0, c1, T(0), y, g.out_stride(), finish);
}

// All columns of output rows [oy0, oy1).
template <class T>
void implicit_output_rows(const ConvGeometry& g, const ImplicitLayout& l, const T* p, int64_t oy0, int64_t oy1,
                          const gemm::PackedMatrix<T>& packed, const gemm::Finish<T>& finish, T* y) {
  implicit_output_columns(g, l, p, oy0, oy1, packed, 0, g.f, finish, y);
}

void require_implicit(const ConvGeometry& g, int64_t rows, int64_t cols, const char* what) {
  SLUICE_REQUIRE(implicit_applies(g) && rows == g.patch() && cols == g.f, Internal, what, ": filter packed as [",
                 rows, ",", cols, "] for a [", g.patch(), ",", g.f, "] product");
}

}  // namespace

int64_t implicit_workspace(const ConvGeometry& g) {
  const ImplicitLayout l(g);
  return l.hp * l.wp * g.c;
}

template <class T>
void implicit_rows(const ConvGeometry& g, const T* x, int64_t n, int64_t oy0, int64_t oy1,
                   const gemm::PackedMatrix<T>& packed, const T* bias, const Epilogue& act, T* workspace, T* y) {
  require_implicit(g, packed.rows(), packed.group_cols(), "implicit_rows");
  SLUICE_REQUIRE(packed.groups() == 1 && 0 <= n && n < g.n && 0 <= oy0 && oy0 <= oy1 && oy1 <= g.oh, Internal,
                 "implicit_rows: rows [", oy0, ",", oy1, ") of image ", n, " of ", g.n, "x", g.oh);
  if (oy0 == oy1) return;
  const ImplicitLayout l(g);
  implicit_copy_rows(g, l, x, n, l.first_row(g, oy0), l.end_row(g, oy1), workspace);
  implicit_output_rows(g, l, workspace, oy0, oy1, packed, finish_of(bias, act), y);
}

template <class T>
void forward_implicit(const ConvGeometry& g, const T* x, const gemm::PackedMatrix<T>& packed, const T* bias,
                      const Epilogue& act, T* y, ThreadPool& pool) {
  require_implicit(g, packed.rows(), packed.group_cols(), "forward_implicit");
  SLUICE_REQUIRE(packed.groups() == 1, Internal, "forward_implicit: ", packed.groups(), " groups");
  const ImplicitLayout l(g);
  const int64_t ldy = g.out_stride(), image_out = g.oh * g.ow * ldy;
  const gemm::Finish<T> finish = finish_of(bias, act);
  if (pool.num_threads() > 1 && g.n % pool.num_threads() == 0) {
    // Whole images per thread (a batch that the threads divide): no hand-over between the
    // copy and the products, and each thread's rows stay in its own cache.
    kernels::parallel_blocks(
        pool, g.n, [&] { return workspace<T>(implicit_workspace(g)); },
        [&](std::unique_ptr<T[]>& padded, int64_t n) {
          implicit_copy_rows(g, l, x, n, 0, l.hp, padded.get());
          implicit_output_rows(g, l, padded.get(), 0, g.oh, packed, finish, y + n * image_out);
        });
    return;
  }
  // One image at a time, so the copy stays about the size of an image; its rows, then its
  // output rows, split across the threads.
  auto padded = workspace<T>(implicit_workspace(g));
  T* p = padded.get();
  const int64_t copy_grain = std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(l.wp * g.c, 1));
  const double row_flops = 2.0 * static_cast<double>(g.ow) * static_cast<double>(g.patch()) * static_cast<double>(g.f);
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(2e5 / std::max(row_flops, 1.0)));
  // Few pixels against a big filter (resnet18's 7x7 layers: 49 x 4608 x 512) split by column
  // strips, as gemm_prepacked does, so that each thread streams only its share of the filter.
  const int64_t threads = pool.num_threads();
  const int64_t weight_bytes = g.patch() * g.f * static_cast<int64_t>(sizeof(T));
  const gemm::PrepackedSplit split = gemm::prepacked_split(
      g.oh * g.ow, g.patch(), g.f, packed.strip_width(), static_cast<int>(threads), sizeof(T));
  for (int64_t n = 0; n < g.n; ++n) {
    kernels::parallel_range(pool, l.hp, copy_grain,
                            [&](int64_t r0, int64_t r1) { implicit_copy_rows(g, l, x, n, r0, r1, p); });
    T* out = y + n * image_out;
    if (split.kind == gemm::PrepackedSplit::columns) {
      gemm::for_column_parts(
          pool, g.f, split.parts, finish, [&](int64_t c0, int64_t c1, const gemm::Finish<T>& part) {
            implicit_output_columns(g, l, p, 0, g.oh, packed, c0, c1, part, out + c0);
          });
      continue;
    }
    // Up to 4 blocks of output rows per thread (a thread that is done takes blocks from the
    // end of another's share). A filter beyond L2 streams through the core once per block:
    // then one block per thread.
    int64_t blocks = g.oh <= grain || threads == 1
                         ? 1
                         : std::min<int64_t>((g.oh + grain - 1) / grain, 4 * threads);
    if (weight_bytes > gemm::kL2WeightBytes) blocks = std::min<int64_t>(blocks, threads);
    kernels::parallel_parts(pool, g.oh, blocks, [&](int64_t r0, int64_t r1) {
      implicit_output_rows(g, l, p, r0, r1, packed, finish, out + r0 * g.ow * ldy);
    });
  }
}

// A band's expanded rows and depthwise output together take about this much (L2 holds
// them while the band's three stages pass over them). Each band but the first moves the
// rows it shares with the previous one (extent - stride rows); at 256 KiB the 56x56 blocks
// of MobileNetV2 took bands of 2 to 4 output rows and moved half their rows. 512 KiB:
// mobilenet_v2 batch 1, one thread, the blocks 3.89-4.31 -> 3.79-4.02 ms per run.
constexpr int64_t kBottleneckBandBytes = 512 * 1024;

bool bottleneck_applies(const ConvGeometry& e, const ConvGeometry& d, const ConvGeometry& p) {
  return e.ldy == 0 && d.ldy == 0 && p.ldy == 0 && e.pointwise() && p.pointwise() && prepacked_applies(e) &&
         prepacked_applies(p) && d.depthwise() && d.pad_top >= 0 && d.pad_top < (d.kh - 1) * d.dh + 1 &&
         d.f == d.c && e.n == d.n && e.oh == d.h && e.ow == d.w && e.f == d.c && p.n == d.n && p.h == d.oh &&
         p.w == d.ow && p.c == d.f && d.oh > 0 && d.ow > 0;
}

template <class T>
void forward_bottleneck(const T* x, const ConvGeometry& ge, const gemm::PackedMatrix<T>& pe, const T* be,
                        const Epilogue& ae, const ConvGeometry& gd, const T* wd, const T* bd, const Epilogue& ad,
                        const ConvGeometry& gp, const gemm::PackedMatrix<T>& pp, const T* bp, const Epilogue& ap,
                        T* y, ThreadPool& pool) {
  SLUICE_REQUIRE(bottleneck_applies(ge, gd, gp), Internal, "forward_bottleneck: geometries do not chain");
  const int64_t H = gd.h, W = gd.w, E = gd.c, OH = gd.oh, OW = gd.ow, C = ge.c, F = gp.f;
  // Input rows a band of `rows` output rows reads: (rows - 1) * sh + the filter's extent.
  const int64_t extent = (gd.kh - 1) * gd.dh + 1;
  const int64_t row_bytes = (W + OW) * E * static_cast<int64_t>(sizeof(T));
  int64_t band = std::clamp<int64_t>((kBottleneckBandBytes / row_bytes - extent) / gd.sh + 1, 1, OH);
  int64_t bands = (OH + band - 1) / band;
  // When the threads do not divide the images, each image's band count is a multiple of
  // them and the bands near-equal, so every thread gets the same work.
  const int64_t threads = pool.num_threads();
  if (threads > 1 && gd.n % threads != 0) {
    bands = std::min(OH, (bands + threads - 1) / threads * threads);
    band = (OH + bands - 1) / bands;
    bands = (OH + band - 1) / band;
  }
  const int64_t max_rows = std::min(H, (band - 1) * gd.sh + extent);
  const gemm::Finish<T> fe = finish_of(be, ae), fp = finish_of(bp, ap);
  // Each thread's buffers, and the expanded rows [have_lo, have_hi) of image have_n in ebuf.
  struct Buffers {
    std::unique_ptr<T[]> ebuf, dbuf;
    int64_t have_n = -1, have_lo = 0, have_hi = 0;
  };
  auto buffers = [&] {
    return Buffers{workspace<T>(max_rows * W * E), workspace<T>(band * OW * E)};
  };
  // A thread takes its own bands in order (each reuses the rows the band above expanded), then
  // bands from the end of another thread's share (expanded whole).
  kernels::parallel_blocks(pool, gd.n * bands, buffers, [&](Buffers& buf, int64_t t) {
    T *ebuf = buf.ebuf.get(), *dbuf = buf.dbuf.get();
    int64_t &have_n = buf.have_n, &have_lo = buf.have_lo, &have_hi = buf.have_hi;
    const int64_t n = t / bands, oy0 = (t % bands) * band, oy1 = std::min(OH, oy0 + band);
    const int64_t first = oy0 * gd.sh - gd.pad_top;  // input row of the band's first tap
    const int64_t lo = std::clamp<int64_t>(first, 0, H);
    const int64_t hi = std::clamp<int64_t>((oy1 - 1) * gd.sh - gd.pad_top + extent, lo, H);
    int64_t from = lo;
    if (have_n == n && have_lo <= lo && lo < have_hi) {  // rows the previous band expanded
      std::memmove(ebuf, ebuf + (lo - have_lo) * W * E,
                   static_cast<size_t>((have_hi - lo) * W * E) * sizeof(T));
      from = have_hi;
    }
    if (hi > from)
      gemm::gemm_packed<T>((hi - from) * W, x + (n * H + from) * W * C, C, pe, 0, 0, E, T(0),
                           ebuf + (from - lo) * W * E, E, fe);
    have_n = n, have_lo = lo, have_hi = hi;  // hi >= from: reused rows are only those above
    // The band as an image of its own: rows [lo, hi), the rows above lo (padding or
    // not expanded here) as pad_top, the rows from hi on outside it.
    ConvGeometry gb = gd;
    gb.n = 1, gb.h = hi - lo, gb.oh = oy1 - oy0, gb.pad_top = lo - first;
    depthwise_forward(gb, ebuf, wd, bd, ad, dbuf, pool);
    gemm::gemm_packed<T>((oy1 - oy0) * OW, dbuf, E, pp, 0, 0, F, T(0), y + (n * OH + oy0) * OW * F,
                         F, fp);
  });
}

template <class T>
void backprop_input_col2im(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                           ThreadPool& pool) {
  const int64_t pixels = g.oh * g.ow, k = g.patch(), image = g.h * g.w * g.c;
  const int64_t fg = g.fg(), cg = g.cg();
  const Blocks blocks(pixels, k, kBlockElements);
  // One image per task: the scatter-adds of one image's blocks overlap, those of two
  // images never do.
  kernels::parallel_range(pool, g.n, 1, [&](int64_t n0, int64_t n1) {
    std::unique_ptr<T[]> col = workspace<T>(blocks.max_rows() * k);
    for (int64_t n = n0; n < n1; ++n) {
      T* img = dx + n * image;
      std::fill_n(img, image, T(0));
      for (int64_t b = 0; b < blocks.count; ++b) {
        const int64_t p0 = blocks.begin(b), rows = blocks.begin(b + 1) - p0;
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          // col [rows, k] = the group's dy columns [rows, fg] x its filter columns^T [fg, k]
          gemm::gemm<T>(false, true, rows, k, fg, T(1), dy + (n * pixels + p0) * g.f + grp * fg,
                        g.f, filter + grp * fg, g.f, T(0), col.get(), k, nullptr);
          col2im_add(g, col.get(), p0, p0 + rows, img, grp * cg);
        }
      }
    }
  });
}

namespace {

// The stride-1 input gradient as a forward convolution of dy (see backprop_input_rotated).
ConvGeometry rotated_geometry(const ConvGeometry& g) {
  ConvGeometry t;
  t.n = g.n, t.h = g.oh, t.w = g.ow, t.c = g.f;
  t.kh = g.kh, t.kw = g.kw, t.f = g.c;
  t.dh = g.dh, t.dw = g.dw;
  t.oh = g.h, t.ow = g.w;
  t.pad_top = (g.kh - 1) * g.dh - g.pad_top, t.pad_left = (g.kw - 1) * g.dw - g.pad_left;
  return t;
}

}  // namespace

template <class T>
void backprop_input_rotated(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                            ThreadPool& pool) {
  SLUICE_REQUIRE(g.sh == 1 && g.sw == 1 && g.groups == 1, Internal,
                 "backprop_input_rotated needs stride 1 and groups == 1");
  // dx[n, a, b, c] = sum_{i,j,f} dy[n, a + pad_top - i*dh, b + pad_left - j*dw, f] w[i, j, c, f]:
  // with i' = kh-1-i this is a stride-1 convolution of dy whose top padding is
  // (kh-1)*dh - pad_top, with the filter w'[i', j', f, c] = w[kh-1-i', kw-1-j', c, f].
  auto rotated = workspace<T>(g.kh * g.kw * g.c * g.f);
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      const T* src = filter + ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * g.c * g.f;
      T* dst = rotated.get() + (i * g.kw + j) * g.f * g.c;
      for (int64_t c = 0; c < g.c; ++c)
        for (int64_t f = 0; f < g.f; ++f) dst[f * g.c + c] = src[c * g.f + f];
    }
  forward(rotated_geometry(g), dy, rotated.get(), static_cast<const T*>(nullptr), Epilogue(), dx,
          pool);
}

template <class T>
void backprop_input(const ConvGeometry& g, const T* filter, const T* dy, T* dx, ThreadPool& pool) {
  // The rotated forward convolution reads patches of kh*kw*f values per input pixel, col2im
  // writes patches of kh*kw*c values per output pixel: take it when it is no wider, or
  // when it can use Winograd.
  const bool stride1 = g.sh == 1 && g.sw == 1;
  if (g.depthwise()) {
    depthwise_backprop_input(g, filter, dy, dx, pool);
  } else if (g.groups == 1 && stride1 &&
             (g.f <= g.c || winograd_applies(rotated_geometry(g)))) {
    backprop_input_rotated(g, filter, dy, dx, pool);
  } else {
    backprop_input_col2im(g, filter, dy, dx, pool);
  }
}

template <class T>
void backprop_filter_im2col(const ConvGeometry& g, const T* x, const T* dy, T* dw,
                            ThreadPool& pool) {
  const int64_t k = g.patch(), f = g.f, kf = k * f, fg = g.fg(), cg = g.cg();
  if (kf == 0) return;
  const Blocks blocks(g.out_pixels(), k, kBlockElements);
  if (blocks.count == 0) {
    std::fill_n(dw, kf, T(0));
    return;
  }
  // Consecutive blocks form groups, each summed into its own [k, f] buffer (group 0 into
  // dw); the buffers are then added in group order.
  const int64_t groups = partial_sum_groups(blocks.count, kf);
  auto partials = workspace<T>((groups - 1) * kf);
  const bool pointwise = g.pointwise();
  kernels::parallel_range(pool, groups, 1, [&](int64_t g0, int64_t g1) {
    std::unique_ptr<T[]> col = pointwise ? nullptr : workspace<T>(blocks.max_rows() * k);
    for (int64_t grp = g0; grp < g1; ++grp) {
      T* acc = grp == 0 ? dw : partials.get() + (grp - 1) * kf;
      const int64_t b_begin = blocks.count * grp / groups,
                    b_end = blocks.count * (grp + 1) / groups;
      for (int64_t b = b_begin; b < b_end; ++b) {
        const int64_t r0 = blocks.begin(b), rows = blocks.begin(b + 1) - r0;
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const T* patches = x + r0 * g.c + grp * cg;
          int64_t ld = g.c;
          if (!pointwise) {
            im2col(g, x, r0, r0 + rows, col.get(), grp * cg);
            patches = col.get();
            ld = k;
          }
          // acc's group columns [k, fg] (+)= patches^T [k, rows] x dy's [rows, fg]
          gemm::gemm<T>(true, false, k, fg, rows, T(1), patches, ld, dy + r0 * f + grp * fg, f,
                        b == b_begin ? T(0) : T(1), acc + grp * fg, f, nullptr);
        }
      }
    }
  });
  if (groups == 1) return;
  kernels::parallel_range(pool, kf, kernels::kElementwiseGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t grp = 1; grp < groups; ++grp) {
      const T* p = partials.get() + (grp - 1) * kf;
      for (int64_t i = i0; i < i1; ++i) dw[i] += p[i];
    }
  });
}

template <class T>
void backprop_filter(const ConvGeometry& g, const T* x, const T* dy, T* dw, ThreadPool& pool) {
  if (g.depthwise()) {
    depthwise_backprop_filter(g, x, dy, dw, pool);
  } else if (g.groups == 1 && winograd_applies(g)) {
    backprop_filter_winograd(g, x, dy, dw, pool);
  } else {
    backprop_filter_im2col(g, x, dy, dw, pool);
  }
}

#define SLUICE_INSTANTIATE(T)                                                                  \
  template void forward<T>(const ConvGeometry&, const T*, const T*, const T*, const Epilogue&, \
                           T*, ThreadPool&);                                                   \
  template void forward_im2col<T>(const ConvGeometry&, const T*, const T*, const T*,           \
                                  const Epilogue&, T*, ThreadPool&);                           \
  template void forward_im2col_whole<T>(const ConvGeometry&, const T*, const T*, const T*,     \
                                        const Epilogue&, T*, ThreadPool&);                     \
  template void forward_direct<T>(const ConvGeometry&, const T*, const T*, const T*,           \
                                  const Epilogue&, T*, ThreadPool&);                           \
  template void backprop_input_rotated<T>(const ConvGeometry&, const T*, const T*, T*,         \
                                          ThreadPool&);                                        \
  template void backprop_filter_im2col<T>(const ConvGeometry&, const T*, const T*, T*,         \
                                          ThreadPool&);                                        \
  template void backprop_input<T>(const ConvGeometry&, const T*, const T*, T*, ThreadPool&);   \
  template void backprop_input_col2im<T>(const ConvGeometry&, const T*, const T*, T*,          \
                                         ThreadPool&);                                         \
  template void backprop_filter<T>(const ConvGeometry&, const T*, const T*, T*, ThreadPool&);    \
  template void forward_prepacked<T>(const ConvGeometry&, const T*, const T*,                  \
                                     const gemm::PackedMatrix<T>&, const T*, const Epilogue&, T*, \
                                     ThreadPool&);                                             \
  template void forward_im2col_packed<T>(const ConvGeometry&, const T*, const gemm::PackedMatrix<T>&, \
                                         const T*, const Epilogue&, T*, ThreadPool&);          \
  template void implicit_rows<T>(const ConvGeometry&, const T*, int64_t, int64_t, int64_t,                         \
                                 const gemm::PackedMatrix<T>&, const T*, const Epilogue&, T*, T*);                \
  template void forward_implicit<T>(const ConvGeometry&, const T*, const gemm::PackedMatrix<T>&, const T*,       \
                                    const Epilogue&, T*, ThreadPool&);                                        \
  template void forward_bottleneck<T>(const T*, const ConvGeometry&, const gemm::PackedMatrix<T>&,   \
                                      const T*, const Epilogue&, const ConvGeometry&, const T*, \
                                      const T*, const Epilogue&, const ConvGeometry&,           \
                                      const gemm::PackedMatrix<T>&, const T*, const Epilogue&, T*, \
                                      ThreadPool&);
SLUICE_INSTANTIATE(float)
SLUICE_INSTANTIATE(double)
#undef SLUICE_INSTANTIATE

}  // namespace sluice::conv
