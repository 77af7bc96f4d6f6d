// Winograd F(2x2, 3x3) for 3x3 convolutions at stride 1 (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2015). Each 2x2 tile of outputs is
//
//   Y = A^T [ (G g G^T) . (B^T d B) ] A        (. : elementwise, 16 products)
//
// over its 4x4 input tile d, for one (input channel, filter) pair; summed over the input
// channels, the 16 products of all tiles of a block become 16 GEMMs [tiles, C] x [C, F].
// That is 16 multiplications per tile and channel pair instead of 36; the transforms only
// add (B, A) or halve (G):
//
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
//
// The filter gradient reuses them: summed over tiles, <Y, dY> = <G g G^T, V . (A dY A^T)>
// with V = B^T d B, so dW = G^T [ sum over tiles of V . (A dY A^T) ] G: 16 GEMMs
// [C, tiles] x [tiles, F] accumulated over all tiles, then one small transform.
#include "eigen.h"  // <Eigen/Core>
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "conv_lowering.h"
#include "gemm.h"
#include "gemm_packed.h"
#include "kernel_util.h"

namespace sluice::conv {

using kernels::workspace;

namespace {

// A block's transformed tiles (16 x tiles x (C + F) values) take about 512 KiB of float32.
constexpr int64_t kBlockElements = int64_t{1} << 17;
// Thinner GEMMs than this are not worth the transforms.
constexpr int64_t kMinChannels = 16;

// A block's 16 Winograd-domain matrices [tiles, channels] are stored interleaved by tile:
// tile t holds row t of all 16, one after the other, so each transform reads or writes one
// contiguous run per tile, and the GEMMs see the matrices with a leading dimension of
// tile_stride. The 16 extra elements keep that stride off multiples of 4 KiB (rows 4 KiB
// apart share L1 cache sets).
inline int64_t tile_stride(int64_t channels) { return 16 * channels + 16; }

// Tiles of 2x2 outputs over the batch, flattened over (n, tile row, tile col).
struct Tiles {
  int64_t rows, cols, count;
  explicit Tiles(const ConvGeometry& g)
      : rows((g.oh + 1) / 2), cols((g.ow + 1) / 2), count(g.n * rows * cols) {}
  void locate(int64_t t, int64_t& n, int64_t& y, int64_t& x) const {
    n = t / (rows * cols), y = 2 * ((t / cols) % rows), x = 2 * (t % cols);  // top-left output
  }
};

// The transforms work on chunks of L channels, one 512-bit vector held in an Eigen array
// (Lane), so that each line of transform arithmetic is one vector operation.
template <class T>
constexpr int64_t kLanes = 64 / sizeof(T);
template <class T>
using Lane = Eigen::Array<T, kLanes<T>, 1>;

// The cl <= L values at src, zeros after them (all zeros when src is null).
template <class T>
inline Lane<T> load_lane(const T* src, int64_t cl) {
  if (src && cl == kLanes<T>) return Eigen::Map<const Lane<T>>(src);
  Lane<T> v = Lane<T>::Zero();
  for (int64_t i = 0; src && i < cl; ++i) v[i] = src[i];
  return v;
}

// dst[0, cl) = v[0, cl).
template <class T>
inline void store_lane(const Lane<T>& v, int64_t cl, T* dst) {
  if (cl == kLanes<T>) {
    Eigen::Map<Lane<T>> out(dst);
    out = v;
  } else {
    for (int64_t i = 0; i < cl; ++i) dst[i] = v[i];
  }
}

// v[t][xi][c] for tiles [t0, t0 + count): V = B^T d B of each 4x4 input tile (zeros
// outside the image).
template <class T>
void input_transform(const ConvGeometry& g, const Tiles& tiles, const T* x, int64_t t0,
                     int64_t count, T* v) {
  constexpr int64_t L = kLanes<T>;
  const int64_t C = g.c, xi_stride = C;
  for (int64_t t = 0; t < count; ++t) {
    int64_t n, y, xo;
    tiles.locate(t0 + t, n, y, xo);
    const T* src[16];
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b) {
        const int64_t iy = y - g.pad_top + a, ix = xo - g.pad_left + b;
        const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
        src[a * 4 + b] = inside ? x + ((n * g.h + iy) * g.w + ix) * C : nullptr;
      }
    for (int64_t c0 = 0; c0 < C; c0 += L) {
      const int64_t cl = std::min(L, C - c0);
      Lane<T> d[16], r[16];
      for (int k = 0; k < 16; ++k) d[k] = load_lane(src[k] ? src[k] + c0 : nullptr, cl);
      for (int b = 0; b < 4; ++b) {  // r = B^T d
        r[b] = d[b] - d[8 + b];
        r[4 + b] = d[4 + b] + d[8 + b];
        r[8 + b] = d[8 + b] - d[4 + b];
        r[12 + b] = d[4 + b] - d[12 + b];
      }
      T* dst = v + t * tile_stride(C) + c0;
      for (int a = 0; a < 4; ++a) {  // V = r B
        const Lane<T>* ra = r + 4 * a;
        store_lane<T>(ra[0] - ra[2], cl, dst + (4 * a) * xi_stride);
        store_lane<T>(ra[1] + ra[2], cl, dst + (4 * a + 1) * xi_stride);
        store_lane<T>(ra[2] - ra[1], cl, dst + (4 * a + 2) * xi_stride);
        store_lane<T>(ra[1] - ra[3], cl, dst + (4 * a + 3) * xi_stride);
      }
    }
  }
}

// The epilogue's activation on a lane (NaN falls through, as in activate()).
template <class T>
inline Lane<T> activate_lane(const Epilogue& e, const Lane<T>& v) {
  switch (e.kind) {
    case Epilogue::relu:
      return (v < T(0)).select(T(0), v);
    case Epilogue::clip: {
      const Lane<T> low = (v < T(e.lo)).select(T(e.lo), v);
      return (low > T(e.hi)).select(T(e.hi), low);
    }
    case Epilogue::leaky_relu:
      return (v < T(0)).select(v * T(e.alpha), v);
    default:
      return v;
  }
}

// Output tiles [t0, t0 + count) from m[t][xi][f]: Y = A^T m A, plus bias, then the
// activation; only the outputs inside [oh, ow] are written.
template <class T>
void output_transform(const ConvGeometry& g, const Tiles& tiles, const T* m, int64_t t0,
                      int64_t count, const T* bias, const Epilogue& act, T* y) {
  constexpr int64_t L = kLanes<T>;
  const int64_t F = g.f, xi_stride = F;
  for (int64_t t = 0; t < count; ++t) {
    int64_t n, oy, ox;
    tiles.locate(t0 + t, n, oy, ox);
    T* dst[4];
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        dst[2 * a + b] = oy + a < g.oh && ox + b < g.ow
                             ? y + ((n * g.oh + oy + a) * g.ow + ox + b) * g.out_stride()
                             : nullptr;
    for (int64_t f0 = 0; f0 < F; f0 += L) {
      const int64_t fl = std::min(L, F - f0);
      const T* src = m + t * tile_stride(F) + f0;
      Lane<T> s[8];
      for (int b = 0; b < 4; ++b) {  // s = A^T m (2x4)
        const Lane<T> m0 = load_lane(src + b * xi_stride, fl),
                      m1 = load_lane(src + (4 + b) * xi_stride, fl);
        const Lane<T> m2 = load_lane(src + (8 + b) * xi_stride, fl),
                      m3 = load_lane(src + (12 + b) * xi_stride, fl);
        s[b] = m0 + m1 + m2;
        s[4 + b] = m1 - m2 - m3;
      }
      const Lane<T> b0 = load_lane(bias ? bias + f0 : nullptr, fl);
      for (int a = 0; a < 2; ++a) {  // Y = s A (2x2), plus bias, then the activation
        const Lane<T>* sa = s + 4 * a;
        Lane<T> out[2] = {sa[0] + sa[1] + sa[2] + b0, sa[1] - sa[2] - sa[3] + b0};
        for (int b = 0; b < 2; ++b) {
          if (act.kind != Epilogue::none) out[b] = activate_lane<T>(act, out[b]);
          if (dst[2 * a + b]) store_lane(out[b], fl, dst[2 * a + b] + f0);
        }
      }
    }
  }
}

// w[t][xi][f] = A dY A^T of each 2x2 tile of dy (zeros past [oh, ow]).
template <class T>
void gradient_transform(const ConvGeometry& g, const Tiles& tiles, const T* dy, int64_t t0,
                        int64_t count, T* w) {
  constexpr int64_t L = kLanes<T>;
  const int64_t F = g.f, xi_stride = F;
  for (int64_t t = 0; t < count; ++t) {
    int64_t n, oy, ox;
    tiles.locate(t0 + t, n, oy, ox);
    const T* src[4];
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        src[2 * a + b] = oy + a < g.oh && ox + b < g.ow
                             ? dy + ((n * g.oh + oy + a) * g.ow + ox + b) * F
                             : nullptr;
    for (int64_t f0 = 0; f0 < F; f0 += L) {
      const int64_t fl = std::min(L, F - f0);
      Lane<T> d[4];
      for (int k = 0; k < 4; ++k) d[k] = load_lane(src[k] ? src[k] + f0 : nullptr, fl);
      // Rows of A dY (4x2): d0, d0 + d1, d0 - d1, -d1 (d0, d1: the tile's two rows) ...
      const Lane<T> r[8] = {d[0],        d[1],        d[0] + d[2], d[1] + d[3],
                            d[0] - d[2], d[1] - d[3], -d[2],       -d[3]};
      // ... then each row [u0, u1] times A^T gives [u0, u0 + u1, u0 - u1, -u1].
      T* dst = w + t * tile_stride(F) + f0;
      for (int a = 0; a < 4; ++a) {
        const Lane<T>& u0 = r[2 * a];
        const Lane<T>& u1 = r[2 * a + 1];
        store_lane(u0, fl, dst + (4 * a) * xi_stride);
        store_lane<T>(u0 + u1, fl, dst + (4 * a + 1) * xi_stride);
        store_lane<T>(u0 - u1, fl, dst + (4 * a + 2) * xi_stride);
        store_lane<T>(-u1, fl, dst + (4 * a + 3) * xi_stride);
      }
    }
  }
}

// u[xi][c][f] = G g G^T of each 3x3 filter slice g = filter[:, :, c, f].
template <class T>
void filter_transform(const ConvGeometry& g, const T* filter, T* u) {
  constexpr int64_t L = kLanes<T>;
  const int64_t F = g.f, cf = g.c * F;
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t f0 = 0; f0 < F; f0 += L) {
      const int64_t fl = std::min(L, F - f0), at = c * F + f0;
      Lane<T> w[9], r[12];
      for (int k = 0; k < 9; ++k) w[k] = load_lane(filter + k * cf + at, fl);
      for (int j = 0; j < 3; ++j) {  // r = G w (4x3)
        r[j] = w[j];
        r[3 + j] = (w[j] + w[3 + j] + w[6 + j]) * T(0.5);
        r[6 + j] = (w[j] - w[3 + j] + w[6 + j]) * T(0.5);
        r[9 + j] = w[6 + j];
      }
      for (int a = 0; a < 4; ++a) {  // U = r G^T (4x4)
        const Lane<T>* ra = r + 3 * a;
        store_lane(ra[0], fl, u + (4 * a) * cf + at);
        store_lane<T>((ra[0] + ra[1] + ra[2]) * T(0.5), fl, u + (4 * a + 1) * cf + at);
        store_lane<T>((ra[0] - ra[1] + ra[2]) * T(0.5), fl, u + (4 * a + 2) * cf + at);
        store_lane(ra[2], fl, u + (4 * a + 3) * cf + at);
      }
    }
}

// dw[i][j][c][f] = (G^T acc G)[i][j] for acc[xi][c][f], the summed Winograd-domain products.
template <class T>
void filter_gradient_transform(const ConvGeometry& g, const T* acc, T* dw) {
  constexpr int64_t L = kLanes<T>;
  const int64_t cf = g.c * g.f;
  for (int64_t e = 0; e < cf; e += L) {  // (c, f) pairs, L at a time
    const int64_t el = std::min(L, cf - e);
    Lane<T> a[16], q[12];
    for (int k = 0; k < 16; ++k) a[k] = load_lane(acc + k * cf + e, el);
    for (int b = 0; b < 4; ++b) {  // q = G^T a (3x4)
      q[b] = a[b] + (a[4 + b] + a[8 + b]) * T(0.5);
      q[4 + b] = (a[4 + b] - a[8 + b]) * T(0.5);
      q[8 + b] = (a[4 + b] + a[8 + b]) * T(0.5) + a[12 + b];
    }
    for (int i = 0; i < 3; ++i) {  // dW = q G (3x3)
      const Lane<T>* qi = q + 4 * i;
      store_lane<T>(qi[0] + (qi[1] + qi[2]) * T(0.5), el, dw + (3 * i) * cf + e);
      store_lane<T>((qi[1] - qi[2]) * T(0.5), el, dw + (3 * i + 1) * cf + e);
      store_lane<T>((qi[1] + qi[2]) * T(0.5) + qi[3], el, dw + (3 * i + 2) * cf + e);
    }
  }
}

}  // namespace

bool winograd_applies(const ConvGeometry& g) {
  return g.groups == 1 && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 &&
         g.dw == 1 && g.c >= kMinChannels && g.f >= kMinChannels;
}

template <class T>
struct WinogradFilter {
  std::vector<gemm::PackedMatrix<T>> u;  // u[xi]: [C, F], packed
};

template <class T>
std::shared_ptr<const WinogradFilter<T>> winograd_filter(const ConvGeometry& g, const T* filter, ThreadPool* pool) {
  SLUICE_REQUIRE(winograd_applies(g), Internal, "winograd_filter on a geometry it does not apply to");
  const int64_t C = g.c, F = g.f;
  auto u = workspace<T>(16 * C * F);
  filter_transform(g, filter, u.get());
  auto w = std::make_shared<WinogradFilter<T>>();
  w->u.reserve(16);
  for (int xi = 0; xi < 16; ++xi) w->u.emplace_back(false, C, F, 1, u.get() + xi * C * F, F, pool);
  return w;
}

template <class T>
void forward_winograd_prepacked(const ConvGeometry& g, const T* x, const WinogradFilter<T>& u, const T* bias,
                                const Epilogue& act, T* y, ThreadPool& pool) {
  SLUICE_REQUIRE(winograd_applies(g) && u.u.size() == 16 && u.u[0].rows() == g.c && u.u[0].group_cols() == g.f,
                 Internal, "forward_winograd_prepacked: a filter transformed for another geometry");
  const int64_t C = g.c, F = g.f;
  const Tiles tiles(g);
  const Blocks blocks(tiles.count, 16 * (C + F), kBlockElements);
  auto buffers = [&] {
    return std::make_pair(workspace<T>(blocks.max_rows() * tile_stride(C)),
                          workspace<T>(blocks.max_rows() * tile_stride(F)));
  };
  kernels::parallel_blocks(pool, blocks.count, buffers, [&](auto& vm, int64_t b) {
    T *v = vm.first.get(), *m = vm.second.get();
    const int64_t t0 = blocks.begin(b), count = blocks.begin(b + 1) - t0;
    input_transform(g, tiles, x, t0, count, v);
    for (int xi = 0; xi < 16; ++xi)  // m[xi] [count, F] = v[xi] [count, C] x u[xi] [C, F]
      gemm::gemm_packed<T>(count, v + xi * C, tile_stride(C), u.u[static_cast<size_t>(xi)], 0, 0, F,
                           T(0), m + xi * F, tile_stride(F));
    output_transform(g, tiles, m, t0, count, bias, act, y);
  });
}

template <class T>
void forward_winograd(const ConvGeometry& g, const T* x, const T* filter, const T* bias,
                      const Epilogue& act, T* y, ThreadPool& pool) {
  forward_winograd_prepacked(g, x, *winograd_filter(g, filter, &pool), bias, act, y, pool);
}

template <class T>
void backprop_filter_winograd(const ConvGeometry& g, const T* x, const T* dy, T* dw,
                              ThreadPool& pool) {
  SLUICE_REQUIRE(winograd_applies(g), Internal,
                 "backprop_filter_winograd on a geometry it does not apply to");
  const int64_t C = g.c, F = g.f, acc_size = 16 * C * F;
  const Tiles tiles(g);
  const Blocks blocks(tiles.count, 16 * (C + F), kBlockElements);
  if (blocks.count == 0) {
    std::fill_n(dw, 9 * C * F, T(0));
    return;
  }
  // As in backprop_filter_im2col: groups of blocks sum into their own accumulators, which
  // are added in group order.
  const int64_t groups = partial_sum_groups(blocks.count, acc_size);
  auto acc = workspace<T>(groups * acc_size);
  kernels::parallel_range(pool, groups, 1, [&](int64_t g0, int64_t g1) {
    auto v = workspace<T>(blocks.max_rows() * tile_stride(C));
    auto w = workspace<T>(blocks.max_rows() * tile_stride(F));
    for (int64_t grp = g0; grp < g1; ++grp) {
      T* a = acc.get() + grp * acc_size;
      const int64_t b_begin = blocks.count * grp / groups,
                    b_end = blocks.count * (grp + 1) / groups;
      for (int64_t b = b_begin; b < b_end; ++b) {
        const int64_t t0 = blocks.begin(b), count = blocks.begin(b + 1) - t0;
        input_transform(g, tiles, x, t0, count, v.get());
        gradient_transform(g, tiles, dy, t0, count, w.get());
        for (int xi = 0; xi < 16; ++xi)  // a[xi] [C, F] (+)= v[xi]^T [C, count] x w[xi] [count, F]
          gemm::gemm<T>(true, false, C, F, count, T(1), v.get() + xi * C, tile_stride(C),
                        w.get() + xi * F, tile_stride(F), b == b_begin ? T(0) : T(1),
                        a + xi * C * F, F, nullptr);
      }
    }
  });
  T* sum = acc.get();
  kernels::parallel_range(pool, acc_size, kernels::kElementwiseGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t grp = 1; grp < groups; ++grp) {
      const T* p = acc.get() + grp * acc_size;
      for (int64_t i = i0; i < i1; ++i) sum[i] += p[i];
    }
  });
  filter_gradient_transform(g, sum, dw);
}

template void forward_winograd<float>(const ConvGeometry&, const float*, const float*, const float*,
                                      const Epilogue&, float*, ThreadPool&);
template std::shared_ptr<const WinogradFilter<float>> winograd_filter<float>(const ConvGeometry&, const float*,
                                                                             ThreadPool*);
template std::shared_ptr<const WinogradFilter<double>> winograd_filter<double>(const ConvGeometry&, const double*,
                                                                               ThreadPool*);
template void forward_winograd_prepacked<float>(const ConvGeometry&, const float*, const WinogradFilter<float>&,
                                                const float*, const Epilogue&, float*, ThreadPool&);
template void forward_winograd_prepacked<double>(const ConvGeometry&, const double*, const WinogradFilter<double>&,
                                                 const double*, const Epilogue&, double*, ThreadPool&);
template void forward_winograd<double>(const ConvGeometry&, const double*, const double*,
                                       const double*, const Epilogue&, double*, ThreadPool&);
template void backprop_filter_winograd<float>(const ConvGeometry&, const float*, const float*,
                                              float*, ThreadPool&);
template void backprop_filter_winograd<double>(const ConvGeometry&, const double*, const double*,
                                               double*, ThreadPool&);

}  // namespace sluice::conv
