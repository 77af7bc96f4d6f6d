// Depthwise convolution kernels (see depthwise_kernels.h).
//
// A depthwise layer does 9 multiply-adds per output for a 3x3 filter and reads each input
// about once per output: it is bound by loads and their cache misses, not by arithmetic.
// The 3x3 path therefore keeps a channel vector's 9 weights, its bias and the accumulators
// of 4 output pixels in registers, loads each input vector of a filter row once for all
// taps that use it (6 loads for 12 multiply-adds at stride 1), with fused multiply-adds
// where the CPU has them, sweeps a row in tiles short enough that a tile's input lines stay
// in L1 from one channel vector to the next (which reads the rest of each line), and
// prefetches the input rows the next output row adds.
#include "depthwise_kernels.h"

#include <algorithm>
#include <cstring>
#include <memory>

#ifdef __FMA__
#include <immintrin.h>
#endif

#include "kernel_util.h"

namespace sluice::conv {

using kernels::workspace;

namespace {

// One register of T: 256-bit vectors on AVX2 (16 registers), 512-bit with AVX-512 (32).
#ifdef __AVX512F__
constexpr size_t kVecBytes = 64;
#else
constexpr size_t kVecBytes = 32;
#endif
template <class T>
struct VecOf {
  typedef T type __attribute__((vector_size(kVecBytes)));
};
template <class T>
constexpr int64_t kLanes = static_cast<int64_t>(kVecBytes / sizeof(T));

template <class V, class T>
inline V vload(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));  // unaligned load
  return v;
}
template <class V, class T>
inline void vstore(T* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}

// acc + a * b, fused where the CPU can (the project builds with ISO C++, so the compiler
// does not contract a * b + c by itself).
template <class V>
inline V fma(const V& a, const V& b, const V& acc) {
#if defined(__FMA__) && !defined(__AVX512F__)
  if constexpr (sizeof(a[0]) == 4) {
    return reinterpret_cast<V>(_mm256_fmadd_ps(reinterpret_cast<__m256>(a),
                                               reinterpret_cast<__m256>(b),
                                               reinterpret_cast<__m256>(acc)));
  } else {
    return reinterpret_cast<V>(_mm256_fmadd_pd(reinterpret_cast<__m256d>(a),
                                               reinterpret_cast<__m256d>(b),
                                               reinterpret_cast<__m256d>(acc)));
  }
#elif defined(__AVX512F__)
  if constexpr (sizeof(a[0]) == 4) {
    return reinterpret_cast<V>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a),
                                               reinterpret_cast<__m512>(b),
                                               reinterpret_cast<__m512>(acc)));
  } else {
    return reinterpret_cast<V>(_mm512_fmadd_pd(reinterpret_cast<__m512d>(a),
                                               reinterpret_cast<__m512d>(b),
                                               reinterpret_cast<__m512d>(acc)));
  }
#else
  return acc + a * b;
#endif
}

// floor(a / b) and ceil(a / b) for b > 0 and any a.
inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

int64_t multiplier(const ConvGeometry& g) { return g.f / g.c; }

// Rows of output per parallel task: about kElementwiseGrain multiply-adds each.
int64_t row_grain(const ConvGeometry& g, int64_t row_elements) {
  return std::max<int64_t>(
      1, kernels::kElementwiseGrain / std::max<int64_t>(row_elements * g.kh * g.kw, 1));
}

// The activation over out [n], a vector at a time with the kind as a template parameter
// (per element, the run-time switch and the NaN-preserving ternaries compile to
// mispredicted branches).
template <class T>
void activate_span(const Epilogue& act, T* out, int64_t n) {
  using V = typename VecOf<T>::type;
  constexpr int64_t L = kLanes<T>;
  with_activation(act, [&](auto kind) {
    constexpr Epilogue::Kind K = decltype(kind)::value;
    int64_t o = 0;
    for (; o + L <= n; o += L) {
      V v = vload<V>(out + o);
      activate_as<K, T>(act, v);
      vstore(out + o, v);
    }
    for (; o < n; ++o) activate_as<K, T>(act, out[o]);
  });
}

// Output pixel (n, oy, ox) of any depthwise geometry into out [f]: bias, every tap inside
// the image in (i, j) order, then the activation.
template <class T>
void general_pixel(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                   const Epilogue& act, int64_t n, int64_t oy, int64_t ox, T* __restrict out) {
  const int64_t C = g.c, F = g.f, M = multiplier(g);
  for (int64_t o = 0; o < F; ++o) out[o] = bias ? bias[o] : T(0);
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t iy = oy * g.sh - g.pad_top + i * g.dh;
    if (iy < 0 || iy >= g.h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t ix = ox * g.sw - g.pad_left + j * g.dw;
      if (ix < 0 || ix >= g.w) continue;
      const T* __restrict px = x + ((n * g.h + iy) * g.w + ix) * C;
      const T* __restrict pw = filter + (i * g.kw + j) * F;
      if (M == 1) {
        for (int64_t c = 0; c < C; ++c) out[c] += px[c] * pw[c];
      } else {
        for (int64_t c = 0; c < C; ++c)
          for (int64_t m = 0; m < M; ++m) out[c * M + m] += px[c] * pw[c * M + m];
      }
    }
  }
  if (act.kind != Epilogue::none) activate_span(act, out, F);
}

// The 3x3 path's register block: NP output pixels of one output row, one vector of
// channels. Filter row i is used when bit i of ROWS is set (the others fall outside the
// image and are skipped, as the general path skips them: no 0 * Inf); rows[i] then points
// at the block's channels in input row oy*sh - pad_top + i, at the column of pixel 0's
// first tap (all taps of the NP pixels are inside the row). w holds the 9 weight vectors,
// b the bias vector.
template <int64_t SW, int64_t NP, int ROWS, Epilogue::Kind K, class T, class V>
__attribute__((always_inline)) inline void pixels_3x3(const T* const rows[3], int64_t C,
                                                      const V (&w)[9], const V& b,
                                                      const Epilogue& act, T* out) {
  V acc[NP];
  // Every loop over the block is unrolled: acc must live in registers, not in an array.
#pragma GCC unroll 8
  for (int64_t p = 0; p < NP; ++p) acc[p] = b;
#pragma GCC unroll 3
  for (int i = 0; i < 3; ++i) {
    if (!((ROWS >> i) & 1)) continue;
    const T* r = rows[i];
    // Input column q feeds tap j of pixel p where q = p*SW + j; the conditions fold away
    // once the loop is unrolled.
#pragma GCC unroll 32
    for (int64_t q = 0; q < (NP - 1) * SW + 3; ++q) {
      const V v = vload<V>(r + q * C);
      if (q % SW == 0 && q / SW < NP) acc[q / SW] = fma(v, w[i * 3], acc[q / SW]);
      if (q >= 1 && (q - 1) % SW == 0 && (q - 1) / SW < NP)
        acc[(q - 1) / SW] = fma(v, w[i * 3 + 1], acc[(q - 1) / SW]);
      if (q >= 2 && (q - 2) % SW == 0 && (q - 2) / SW < NP)
        acc[(q - 2) / SW] = fma(v, w[i * 3 + 2], acc[(q - 2) / SW]);
    }
  }
#pragma GCC unroll 8
  for (int64_t p = 0; p < NP; ++p) {
    activate_as<K, T>(act, acc[p]);
    vstore(out + p * C, acc[p]);
  }
}

// Output columns [0, count) of one output row for the channel vector at c0: the 9 weights
// and the bias stay in registers for the whole row, and the 3 input rows' columns of this
// channel vector (3 * w * one cache line) stay in L1 while the row is swept, 4 pixels at a
// time (9 weights + 4 accumulators + 1 input vector fit AVX2's 16 registers: a wider block
// spills). rows[i] are at channel 0, at the input column of pixel 0's first tap (null for
// filter rows outside the image: ROWS as for pixels_3x3).
template <int64_t SW, int ROWS, Epilogue::Kind K, class T>
void strip_3x3(const T* const rows[3], int64_t C, int64_t c0, int64_t count, const T* filter,
               const T* bias, const Epilogue& act, T* out) {
  using V = typename VecOf<T>::type;
  constexpr int64_t NP = 4;
  // A local copy of the activation: the stores through out (memcpy) could otherwise alias
  // act, and its bounds would be reloaded and converted for every block.
  const Epilogue a = act;
  V w[9];
  for (int t = 0; t < 9; ++t) w[t] = vload<V>(filter + t * C + c0);
  const V b = bias ? vload<V>(bias + c0) : V{};
  const T* at[3] = {};
  out += c0;
  int64_t ox = 0;
  auto place = [&](int64_t o) {
    for (int i = 0; i < 3; ++i)
      if ((ROWS >> i) & 1) at[i] = rows[i] + o * SW * C + c0;
  };
  for (; ox + NP <= count; ox += NP) {
    place(ox);
    pixels_3x3<SW, NP, ROWS, K>(at, C, w, b, a, out + ox * C);
  }
  for (; ox < count; ++ox) {
    place(ox);
    pixels_3x3<SW, 1, ROWS, K>(at, C, w, b, a, out + ox * C);
  }
}

// Channels [c0, C) (fewer than one vector) of output columns [0, count), one by one; rows
// as for strip_3x3 but at channel 0.
template <int64_t SW, class T>
void tail_3x3(const T* const rows[3], int64_t C, int64_t c0, int64_t count, const T* filter,
              const T* bias, const Epilogue& act, T* out) {
  for (int64_t p = 0; p < count; ++p)
    for (int64_t c = c0; c < C; ++c) {
      T acc = bias ? bias[c] : T(0);
      for (int i = 0; i < 3; ++i) {
        if (!rows[i]) continue;
        for (int j = 0; j < 3; ++j)
          acc += rows[i][(p * SW + j) * C + c] * filter[(i * 3 + j) * C + c];
      }
      activate<T>(act, acc);
      out[p * C + c] = acc;
    }
}

// A border output pixel (some filter columns outside the image) of the 3x3 path, a channel
// vector at a time with the accumulator in a register: rows as for forward_3x3_stride
// (null outside the image) but at input column ix0 = ox*SW - pad_left, taps [j_lo, j_hi].
template <Epilogue::Kind K, class T>
void border_pixel_3x3(const T* const rows[3], int64_t C, int64_t ix0, int j_lo, int j_hi,
                      const T* filter, const T* bias, const Epilogue& act, T* out) {
  using V = typename VecOf<T>::type;
  constexpr int64_t L = kLanes<T>;
  const Epilogue a = act;
  int64_t c0 = 0;
  for (; c0 + L <= C; c0 += L) {
    V acc = bias ? vload<V>(bias + c0) : V{};
    for (int i = 0; i < 3; ++i) {
      if (!rows[i]) continue;
      for (int j = j_lo; j <= j_hi; ++j)
        acc = fma(vload<V>(rows[i] + (ix0 + j) * C + c0), vload<V>(filter + (i * 3 + j) * C + c0),
                  acc);
    }
    activate_as<K, T>(a, acc);
    vstore(out + c0, acc);
  }
  for (; c0 < C; ++c0) {
    T acc = bias ? bias[c0] : T(0);
    for (int i = 0; i < 3; ++i) {
      if (!rows[i]) continue;
      for (int j = j_lo; j <= j_hi; ++j)
        acc += rows[i][(ix0 + j) * C + c0] * filter[(i * 3 + j) * C + c0];
    }
    activate<T>(a, acc);
    out[c0] = acc;
  }
}

// Calls f(std::integral_constant<int, mask>{}) for a 3-bit mask of the filter rows inside
// the image (the interior's 7 first).
template <class F>
void with_row_mask(int mask, F&& f) {
  switch (mask) {
    case 7: return f(std::integral_constant<int, 7>{});
    case 6: return f(std::integral_constant<int, 6>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 1: return f(std::integral_constant<int, 1>{});
    case 4: return f(std::integral_constant<int, 4>{});
    default: return f(std::integral_constant<int, 0>{});
  }
}

template <int64_t SW, Epilogue::Kind K, class T>
void forward_3x3_stride(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                        const Epilogue& act, T* y, ThreadPool& pool) {
  constexpr int64_t L = kLanes<T>;
  // Output columns per tile: the tile's input columns of one channel vector are read by
  // that vector's pass and again by the next (the rest of their cache lines), so the tile's
  // 3 input rows and output row must stay in L1 between the passes.
  constexpr int64_t kTile = 8;
  const int64_t C = g.c;
  // Interior output columns [x_lo, x_hi): all three taps inside the image.
  const int64_t x_lo = std::min(g.ow, std::max<int64_t>(0, ceil_div(g.pad_left, SW)));
  const int64_t x_hi =
      std::max(x_lo, std::min(g.ow, floor_div(g.w - 3 + g.pad_left, SW) + 1));
  kernels::parallel_range(pool, g.n * g.oh, row_grain(g, g.ow * C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.oh, oy = r % g.oh;
      const T* rows[3];
      const T* row_starts[3];
      int mask = 0;
      for (int i = 0; i < 3; ++i) {
        const int64_t iy = oy * g.sh - g.pad_top + i;
        const bool inside = iy >= 0 && iy < g.h;
        row_starts[i] = inside ? x + (n * g.h + iy) * g.w * C : nullptr;
        rows[i] = inside ? row_starts[i] + (x_lo * SW - g.pad_left) * C : nullptr;
        mask |= inside ? 1 << i : 0;
      }
      T* out = y + r * g.ow * C;
      // Border columns: the taps inside the image, [j_lo, j_hi] (the input column index
      // stays in range: pad_left and w are bounded by the tensor sizes).
      auto border = [&](int64_t ox) {
        const int64_t ix0 = ox * SW - g.pad_left;
        const int64_t j_lo = std::max<int64_t>(0, -ix0);
        const int64_t j_hi = std::min<int64_t>(2, g.w - 1 - ix0);
        if (j_lo > j_hi) {
          general_pixel(g, x, filter, bias, act, n, oy, ox, out + ox * C);
          return;
        }
        const T* at[3];
        for (int i = 0; i < 3; ++i)
          at[i] = row_starts[i] ? row_starts[i] + (ix0 + j_lo) * C : nullptr;
        border_pixel_3x3<K>(at, C, -j_lo, static_cast<int>(j_lo), static_cast<int>(j_hi), filter,
                            bias, act, out + ox * C);
      };
      for (int64_t ox = 0; ox < x_lo; ++ox) border(ox);
      T* mid = out + x_lo * C;
      // The input rows that the image's next output row adds, to prefetch tile by tile: the
      // layer streams its input from memory and the loads' misses, not the arithmetic, set
      // its speed.
      const T* ahead[3];
      int n_ahead = 0;
      for (int i = 0; i < 3 && oy + 1 < g.oh; ++i) {
        const int64_t iy = (oy + 1) * g.sh - g.pad_top + i;
        if (iy > oy * g.sh - g.pad_top + 2 && iy >= 0 && iy < g.h)
          ahead[n_ahead++] = x + ((n * g.h + iy) * g.w + x_lo * SW - g.pad_left) * C;
      }
      with_row_mask(mask, [&](auto rows_used) {
        constexpr int ROWS = decltype(rows_used)::value;
        for (int64_t t0 = 0; t0 < x_hi - x_lo; t0 += kTile) {
          const int64_t count = std::min(kTile, x_hi - x_lo - t0);
          constexpr int64_t kLine = 64 / static_cast<int64_t>(sizeof(T));
          for (int k = 0; k < n_ahead; ++k)
            for (int64_t e = t0 * SW * C; e < (t0 + count) * SW * C; e += kLine)
              __builtin_prefetch(ahead[k] + e);
          const T* at[3] = {};
          for (int i = 0; i < 3; ++i)
            if ((ROWS >> i) & 1) at[i] = rows[i] + t0 * SW * C;
          int64_t c0 = 0;
          for (; c0 + L <= C; c0 += L)
            strip_3x3<SW, ROWS, K>(at, C, c0, count, filter, bias, act, mid + t0 * C);
          if (c0 < C) tail_3x3<SW>(at, C, c0, count, filter, bias, act, mid + t0 * C);
        }
      });
      for (int64_t ox = x_hi; ox < g.ow; ++ox) border(ox);
    }
  });
}

}  // namespace

bool depthwise_3x3_applies(const ConvGeometry& g) {
  return g.groups == g.c && g.f == g.c && g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1 &&
         (g.sw == 1 || g.sw == 2);
}

template <class T>
void depthwise_forward_general(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                               const Epilogue& act, T* y, ThreadPool& pool) {
  kernels::parallel_range(pool, g.n * g.oh, row_grain(g, g.ow * g.f), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t ox = 0; ox < g.ow; ++ox)
        general_pixel(g, x, filter, bias, act, r / g.oh, r % g.oh, ox,
                      y + (r * g.ow + ox) * g.f);
  });
}

template <class T>
void depthwise_forward_3x3(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                           const Epilogue& act, T* y, ThreadPool& pool) {
  SLUICE_REQUIRE(depthwise_3x3_applies(g), Internal,
                 "depthwise_forward_3x3 on a geometry it does not apply to");
  with_activation(act, [&](auto kind) {
    constexpr Epilogue::Kind K = decltype(kind)::value;
    if (g.sw == 1) {
      forward_3x3_stride<1, K>(g, x, filter, bias, act, y, pool);
    } else {
      forward_3x3_stride<2, K>(g, x, filter, bias, act, y, pool);
    }
  });
}

template <class T>
void depthwise_forward(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                       const Epilogue& act, T* y, ThreadPool& pool) {
  if (depthwise_3x3_applies(g)) {
    depthwise_forward_3x3(g, x, filter, bias, act, y, pool);
  } else {
    depthwise_forward_general(g, x, filter, bias, act, y, pool);
  }
}

template <class T>
void depthwise_backprop_input_general(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                                      ThreadPool& pool) {
  const int64_t C = g.c, F = g.f, M = multiplier(g);
  kernels::parallel_range(pool, g.n * g.h, row_grain(g, g.w * F), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.h, iy = r % g.h;
      for (int64_t ix = 0; ix < g.w; ++ix) {
        T* __restrict d = dx + (r * g.w + ix) * C;
        std::fill_n(d, C, T(0));
        // dx[iy, ix] = sum over taps (i, j) of the outputs (oy, ox) whose tap lands here:
        // oy*sh - pad_top + i*dh = iy.
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t ty = iy + g.pad_top - i * g.dh;
          if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.oh) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t tx = ix + g.pad_left - j * g.dw;
            if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.ow) continue;
            const T* __restrict pdy = dy + ((n * g.oh + ty / g.sh) * g.ow + tx / g.sw) * F;
            const T* __restrict pw = filter + (i * g.kw + j) * F;
            if (M == 1) {
              for (int64_t c = 0; c < C; ++c) d[c] += pdy[c] * pw[c];
            } else {
              for (int64_t c = 0; c < C; ++c) {
                T s = T(0);
                for (int64_t m = 0; m < M; ++m) s += pdy[c * M + m] * pw[c * M + m];
                d[c] += s;
              }
            }
          }
        }
      }
    }
  });
}

template <class T>
void depthwise_backprop_input_rotated(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                                      ThreadPool& pool) {
  SLUICE_REQUIRE(g.groups == g.c && g.f == g.c && g.sh == 1 && g.sw == 1, Internal,
                 "depthwise_backprop_input_rotated needs stride 1 and multiplier 1");
  // dx[a] = sum_i dy[a + pad_top - i*dh] w[i]: with i' = kh-1-i, a stride-1 depthwise
  // convolution of dy whose top padding is (kh-1)*dh - pad_top, filter w'[i'] = w[kh-1-i'].
  const int64_t C = g.c;
  auto rotated = workspace<T>(g.kh * g.kw * C);
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j)
      std::copy_n(filter + ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * C, C,
                  rotated.get() + (i * g.kw + j) * C);
  ConvGeometry t = g;
  t.h = g.oh, t.w = g.ow, t.oh = g.h, t.ow = g.w;
  t.pad_top = (g.kh - 1) * g.dh - g.pad_top, t.pad_left = (g.kw - 1) * g.dw - g.pad_left;
  depthwise_forward(t, dy, rotated.get(), static_cast<const T*>(nullptr), Epilogue(), dx, pool);
}

template <class T>
void depthwise_backprop_input(const ConvGeometry& g, const T* filter, const T* dy, T* dx,
                              ThreadPool& pool) {
  if (g.f == g.c && g.sh == 1 && g.sw == 1) {
    depthwise_backprop_input_rotated(g, filter, dy, dx, pool);
  } else {
    depthwise_backprop_input_general(g, filter, dy, dx, pool);
  }
}

template <class T>
void depthwise_backprop_filter(const ConvGeometry& g, const T* x, const T* dy, T* dw,
                               ThreadPool& pool) {
  using V = typename VecOf<T>::type;
  constexpr int64_t L = kLanes<T>;
  const int64_t C = g.c, F = g.f, M = multiplier(g), taps = g.kh * g.kw * F;
  if (taps == 0) return;
  // Output rows (n, oy) in blocks fixed by the sizes; consecutive blocks form groups, each
  // summed into its own buffer (group 0 into dw), added in group order at the end.
  const Blocks blocks(g.n * g.oh, g.ow * F * g.kh * g.kw, int64_t{1} << 16);
  const int64_t groups = std::max<int64_t>(1, partial_sum_groups(blocks.count, taps));
  auto partials = workspace<T>((groups - 1) * taps);
  kernels::parallel_range(pool, groups, 1, [&](int64_t g0, int64_t g1) {
    for (int64_t grp = g0; grp < g1; ++grp) {
      T* __restrict acc = grp == 0 ? dw : partials.get() + (grp - 1) * taps;
      std::fill_n(acc, taps, T(0));
      const int64_t r_begin = blocks.begin(blocks.count * grp / groups),
                    r_end = blocks.begin(blocks.count * (grp + 1) / groups);
      for (int64_t r = r_begin; r < r_end; ++r) {
        const int64_t n = r / g.oh, oy = r % g.oh;
        const T* dy_row = dy + r * g.ow * F;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t iy = oy * g.sh - g.pad_top + i * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          const T* x_row = x + (n * g.h + iy) * g.w * C;
          for (int64_t j = 0; j < g.kw; ++j) {
            // Output columns whose tap j is inside the image.
            const int64_t off = j * g.dw - g.pad_left;
            const int64_t lo = std::max<int64_t>(0, ceil_div(-off, g.sw));
            const int64_t hi = std::min(g.ow, floor_div(g.w - 1 - off, g.sw) + 1);
            if (lo >= hi) continue;
            T* a = acc + (i * g.kw + j) * F;
            if (M == 1) {
              int64_t c0 = 0;
              for (; c0 + L <= C; c0 += L) {  // the row's sum in a register, then added once
                V s{};
                for (int64_t ox = lo; ox < hi; ++ox)
                  s = fma(vload<V>(x_row + (ox * g.sw + off) * C + c0),
                          vload<V>(dy_row + ox * F + c0), s);
                vstore(a + c0, vload<V>(a + c0) + s);
              }
              for (int64_t c = c0; c < C; ++c) {
                T s = T(0);
                for (int64_t ox = lo; ox < hi; ++ox)
                  s += x_row[(ox * g.sw + off) * C + c] * dy_row[ox * F + c];
                a[c] += s;
              }
            } else {
              for (int64_t ox = lo; ox < hi; ++ox) {
                const T* px = x_row + (ox * g.sw + off) * C;
                const T* pd = dy_row + ox * F;
                for (int64_t c = 0; c < C; ++c)
                  for (int64_t m = 0; m < M; ++m) a[c * M + m] += px[c] * pd[c * M + m];
              }
            }
          }
        }
      }
    }
  });
  if (groups == 1) return;
  kernels::parallel_range(pool, taps, kernels::kElementwiseGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t grp = 1; grp < groups; ++grp) {
      const T* p = partials.get() + (grp - 1) * taps;
      for (int64_t i = i0; i < i1; ++i) dw[i] += p[i];
    }
  });
}

#define SLUICE_INSTANTIATE(T)                                                                   \
  template void depthwise_forward<T>(const ConvGeometry&, const T*, const T*, const T*,         \
                                     const Epilogue&, T*, ThreadPool&);                         \
  template void depthwise_forward_general<T>(const ConvGeometry&, const T*, const T*, const T*, \
                                             const Epilogue&, T*, ThreadPool&);                 \
  template void depthwise_forward_3x3<T>(const ConvGeometry&, const T*, const T*, const T*,     \
                                         const Epilogue&, T*, ThreadPool&);                     \
  template void depthwise_backprop_input<T>(const ConvGeometry&, const T*, const T*, T*,        \
                                            ThreadPool&);                                       \
  template void depthwise_backprop_input_general<T>(const ConvGeometry&, const T*, const T*, T*, \
                                                    ThreadPool&);                               \
  template void depthwise_backprop_input_rotated<T>(const ConvGeometry&, const T*, const T*, T*, \
                                                    ThreadPool&);                               \
  template void depthwise_backprop_filter<T>(const ConvGeometry&, const T*, const T*, T*,       \
                                             ThreadPool&);
SLUICE_INSTANTIATE(float)
SLUICE_INSTANTIATE(double)
#undef SLUICE_INSTANTIATE

}  // namespace sluice::conv
