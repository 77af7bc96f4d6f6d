// Naive reference implementations of the nn ops (convolutions with groups and explicit
// padding, transposed convolution, pooling with every ONNX option, layer normalization,
// LRN, and TensorFlow's and ONNX's resizes), written from the definitions with plain loops
// in double precision and sharing nothing with the kernels. The tests compare the ops
// against them, and the benchmarks check their results against them once before timing.
#pragma once

#include <sluice/sluice.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace sluice::reference {

using Vec = std::vector<double>;

inline int64_t idx4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t B, int64_t C, int64_t D) {
  return ((a * B + b) * C + c) * D + d;
}

inline Vec values(const Tensor& t) {
  Vec v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[static_cast<size_t>(i)] = t.as_double(i);
  return v;
}

// ---- padding ----

// One spatial dimension: output size and the pads on both sides.
struct Dim {
  int64_t out = 0, before = 0, after = 0;
};

// TF/ONNX rules: mode "VALID", "SAME" (extra padding after), "SAME_LOWER" (extra before),
// or "EXPLICIT" with the given pads (ceil_mode: round up, dropping a last window that
// would start in the trailing padding).
inline Dim dim_of(const std::string& mode, int64_t in, int64_t k, int64_t s, int64_t d,
                  int64_t pb = 0, int64_t pe = 0, bool ceil_mode = false) {
  const int64_t eff = (k - 1) * d + 1;
  Dim r;
  if (mode == "VALID") {
    r.out = (in - eff) / s + 1;
  } else if (mode == "SAME" || mode == "SAME_LOWER") {
    r.out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>(0, (r.out - 1) * s + eff - in);
    r.before = mode == "SAME" ? total / 2 : (total + 1) / 2;
    r.after = total - r.before;
  } else {
    r.before = pb, r.after = pe;
    const int64_t span = in + pb + pe - eff;
    r.out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (r.out - 1) * s >= in + pb) r.out -= 1;
  }
  return r;
}

// ---- convolution ----

// A 2-D convolution: x [n,h,w,c], filter [kh,kw,c/groups,f], pads resolved per side.
struct Conv {
  int64_t n, h, w, c, kh, kw, f, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pb = 0, pl = 0, pr = 0, groups = 1;
  int64_t oh() const { return (h + pt + pb - (kh - 1) * dh - 1) / sh + 1; }
  int64_t ow() const { return (w + pl + pr - (kw - 1) * dw - 1) / sw + 1; }
};

// Calls f(n, oy, ox, o, input index, filter index) for every product of the convolution.
template <class F>
void for_each_product(const Conv& k, F&& f) {
  const int64_t cg = k.c / k.groups, fg = k.f / k.groups;
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t oy = 0; oy < k.oh(); ++oy)
      for (int64_t ox = 0; ox < k.ow(); ++ox)
        for (int64_t o = 0; o < k.f; ++o) {
          const int64_t grp = o / fg;
          for (int64_t i = 0; i < k.kh; ++i)
            for (int64_t j = 0; j < k.kw; ++j) {
              const int64_t iy = oy * k.sh - k.pt + i * k.dh, ix = ox * k.sw - k.pl + j * k.dw;
              if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
              for (int64_t ci = 0; ci < cg; ++ci)
                f(n, oy, ox, o, idx4(n, iy, ix, grp * cg + ci, k.h, k.w, k.c),
                  idx4(i, j, ci, o, k.kw, cg, k.f));
            }
        }
}

inline Vec conv(const Conv& k, const Tensor& x, const Tensor& w) {
  Vec y(static_cast<size_t>(k.n * k.oh() * k.ow() * k.f), 0.0);
  for_each_product(k, [&](int64_t n, int64_t oy, int64_t ox, int64_t o, int64_t xi, int64_t wi) {
    y[static_cast<size_t>(idx4(n, oy, ox, o, k.oh(), k.ow(), k.f))] +=
        x.as_double(xi) * w.as_double(wi);
  });
  return y;
}

// Gradients of sum(conv(x, w) * dy) with respect to x and w.
inline void conv_grads(const Conv& k, const Tensor& x, const Tensor& w, const Tensor& dy, Vec& dx,
                       Vec& dw) {
  dx.assign(static_cast<size_t>(x.num_elements()), 0.0);
  dw.assign(static_cast<size_t>(w.num_elements()), 0.0);
  for_each_product(k, [&](int64_t n, int64_t oy, int64_t ox, int64_t o, int64_t xi, int64_t wi) {
    const double g = dy.as_double(idx4(n, oy, ox, o, k.oh(), k.ow(), k.f));
    dx[static_cast<size_t>(xi)] += g * w.as_double(wi);
    dw[static_cast<size_t>(wi)] += g * x.as_double(xi);
  });
}

// The activations of the fused convolutions.
inline double activate(const std::string& act, double v, double lo = 0, double hi = 6,
                       double alpha = 0.2) {
  if (std::isnan(v)) return v;
  if (act == "relu") return std::max(v, 0.0);
  if (act == "relu6") return std::min(std::max(v, 0.0), 6.0);
  if (act == "clip") return std::min(std::max(v, lo), hi);
  if (act == "leaky_relu") return v < 0 ? alpha * v : v;
  return v;
}

// The transposed convolution by its definition: every input pixel (y, x) of xt [n,h,w,cin]
// adds xt * filter[i, j] at output (y*sh - pt + i*dh, x*sw - pl + j*dw) of an
// [n, oh, ow, cout] output; filter [kh, kw, cout/groups, cin].
inline Vec conv_transpose(const Tensor& xt, const Tensor& filter, int64_t oh, int64_t ow,
                          int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw,
                          int64_t groups) {
  const int64_t n = xt.shape().dim(0), h = xt.shape().dim(1), w = xt.shape().dim(2),
                cin = xt.shape().dim(3);
  const int64_t kh = filter.shape().dim(0), kw = filter.shape().dim(1),
                cog = filter.shape().dim(2), cout = cog * groups, cig = cin / groups;
  Vec y(static_cast<size_t>(n * oh * ow * cout), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t iy = 0; iy < h; ++iy)
      for (int64_t ix = 0; ix < w; ++ix)
        for (int64_t ci = 0; ci < cin; ++ci) {
          const int64_t grp = ci / cig;
          const double v = xt.as_double(idx4(b, iy, ix, ci, h, w, cin));
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t oy = iy * sh - pt + i * dh, ox = ix * sw - pl + j * dw;
              if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
              for (int64_t co = 0; co < cog; ++co)
                y[static_cast<size_t>(idx4(b, oy, ox, grp * cog + co, oh, ow, cout))] +=
                    v * filter.as_double(idx4(i, j, co, ci, kw, cog, cin));
            }
        }
  return y;
}

// ---- pooling ----

struct Pool {
  int64_t n, h, w, c, kh, kw, sh, sw, dh = 1, dw = 1;
  Dim rows, cols;
};

// max and average (divisor per count_include_pad) with ONNX's semantics; NaN propagates
// through max. Windows without elements give -inf (max) and 0 (average).
inline void pool(const Pool& p, const Tensor& x, bool count_include_pad, Vec& ymax, Vec& yavg) {
  const int64_t oh = p.rows.out, ow = p.cols.out;
  ymax.assign(static_cast<size_t>(p.n * oh * ow * p.c), 0.0);
  yavg = ymax;
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ch = 0; ch < p.c; ++ch) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t count = 0, positions = 0;
          for (int64_t i = 0; i < p.kh; ++i)
            for (int64_t j = 0; j < p.kw; ++j) {
              const int64_t iy = oy * p.sh - p.rows.before + i * p.dh,
                            ix = ox * p.sw - p.cols.before + j * p.dw;
              const bool in_padded = iy >= -p.rows.before && iy < p.h + p.rows.after &&
                                     ix >= -p.cols.before && ix < p.w + p.cols.after;
              positions += in_padded;
              if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
              const double v = x.as_double(idx4(b, iy, ix, ch, p.h, p.w, p.c));
              if (std::isnan(v) || std::isnan(best)) {
                best = std::numeric_limits<double>::quiet_NaN();
              } else {
                best = std::max(best, v);
              }
              sum += v;
              ++count;
            }
          const size_t o = static_cast<size_t>(idx4(b, oy, ox, ch, oh, ow, p.c));
          ymax[o] = best;
          const int64_t div = count_include_pad ? positions : count;
          yavg[o] = div > 0 ? sum / static_cast<double>(div) : 0.0;
        }
}

// ---- normalization ----

// Layer norm over the last `d` elements of each row.
inline Vec layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int64_t d,
                      double eps) {
  const int64_t rows = x.num_elements() / d;
  Vec y(static_cast<size_t>(x.num_elements()));
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < d; ++j) m += x.as_double(r * d + j);
    m /= static_cast<double>(d);
    for (int64_t j = 0; j < d; ++j) v += std::pow(x.as_double(r * d + j) - m, 2);
    v /= static_cast<double>(d);
    for (int64_t j = 0; j < d; ++j)
      y[static_cast<size_t>(r * d + j)] =
          (x.as_double(r * d + j) - m) / std::sqrt(v + eps) * gamma.as_double(j) +
          beta.as_double(j);
  }
  return y;
}

// The gradients of sum(layer_norm(x) * dy) with respect to x, gamma and beta, from the
// textbook formula dx = inv * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
inline void layer_norm_grads(const Tensor& x, const Tensor& gamma, const Tensor& dy, int64_t d,
                             double eps, Vec& dx, Vec& dgamma, Vec& dbeta) {
  const int64_t rows = x.num_elements() / d;
  dx.assign(static_cast<size_t>(x.num_elements()), 0.0);
  dgamma.assign(static_cast<size_t>(d), 0.0);
  dbeta.assign(static_cast<size_t>(d), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < d; ++j) m += x.as_double(r * d + j) / static_cast<double>(d);
    for (int64_t j = 0; j < d; ++j) v += std::pow(x.as_double(r * d + j) - m, 2) / static_cast<double>(d);
    const double inv = 1 / std::sqrt(v + eps);
    double mg = 0, mgx = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double xhat = (x.as_double(r * d + j) - m) * inv, g = dy.as_double(r * d + j);
      mg += g * gamma.as_double(j) / static_cast<double>(d);
      mgx += g * gamma.as_double(j) * xhat / static_cast<double>(d);
      dgamma[static_cast<size_t>(j)] += g * xhat;
      dbeta[static_cast<size_t>(j)] += g;
    }
    for (int64_t j = 0; j < d; ++j) {
      const double xhat = (x.as_double(r * d + j) - m) * inv;
      dx[static_cast<size_t>(r * d + j)] = inv * (dy.as_double(r * d + j) * gamma.as_double(j) - mg - xhat * mgx);
    }
  }
}

// TF's LRN over the last axis with the window [c - lo, c + hi].
inline Vec lrn(const Tensor& x, int64_t lo, int64_t hi, double bias, double alpha, double beta) {
  const int64_t c = x.shape().dim(x.shape().rank() - 1), rows = x.num_elements() / c;
  Vec y(static_cast<size_t>(x.num_elements()));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < c; ++d) {
      double s = 0;
      for (int64_t k = d - lo; k <= d + hi; ++k)
        if (k >= 0 && k < c) s += std::pow(x.as_double(r * c + k), 2);
      y[static_cast<size_t>(r * c + d)] =
          x.as_double(r * c + d) / std::pow(bias + alpha * s, beta);
    }
  return y;
}

// ---- resize ----

// TF 1.x ResizeBilinear / ResizeNearestNeighbor as TensorFlow's kernels compute them
// (coordinates in float32).
inline Vec tf_resize(const Tensor& x, int64_t oh, int64_t ow, bool bilinear, bool align,
                     bool half) {
  const int64_t n = x.shape().dim(0), h = x.shape().dim(1), w = x.shape().dim(2),
                c = x.shape().dim(3);
  auto scale = [&](int64_t in, int64_t out) {
    return align && out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                            : static_cast<float>(in) / static_cast<float>(out);
  };
  const float sy = scale(h, oh), sx = scale(w, ow);
  Vec y(static_cast<size_t>(n * oh * ow * c));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ch = 0; ch < c; ++ch) {
          double v;
          if (bilinear) {
            const float py = half ? (static_cast<float>(oy) + 0.5f) * sy - 0.5f
                                  : static_cast<float>(oy) * sy;
            const float px = half ? (static_cast<float>(ox) + 0.5f) * sx - 0.5f
                                  : static_cast<float>(ox) * sx;
            const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(py)));
            const int64_t y1 = std::min<int64_t>(h - 1, static_cast<int64_t>(std::ceil(py)));
            const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(px)));
            const int64_t x1 = std::min<int64_t>(w - 1, static_cast<int64_t>(std::ceil(px)));
            const double ty = py - std::floor(py), tx = px - std::floor(px);
            auto at = [&](int64_t yy, int64_t xx) { return x.as_double(idx4(b, yy, xx, ch, h, w, c)); };
            v = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x1)) +
                ty * ((1 - tx) * at(y1, x0) + tx * at(y1, x1));
          } else {
            auto src = [&](int64_t o, float s, int64_t in) {
              const float pos = half ? (static_cast<float>(o) + 0.5f) * s : static_cast<float>(o) * s;
              int64_t i = static_cast<int64_t>(align ? std::round(pos) : std::floor(pos));
              i = std::min(i, in - 1);
              return half ? std::max<int64_t>(i, 0) : i;
            };
            v = x.as_double(idx4(b, src(oy, sy, h), src(ox, sx, w), ch, h, w, c));
          }
          y[static_cast<size_t>(idx4(b, oy, ox, ch, oh, ow, c))] = v;
        }
  return y;
}

// ONNX Resize along one axis as ONNX's reference implementation defines it: the source
// coordinate, then the n neighbours nearest to it in the edge-padded data with the
// coefficients of the mode (ratio in (0, 1], so an exact hit uses the left neighbour's
// slot). Returns (index, weight) pairs.
inline std::vector<std::pair<int64_t, double>> onnx_axis(const std::string& mode,
                                                         const std::string& ctm,
                                                         const std::string& nearest, double a,
                                                         bool exclude, int64_t in, int64_t out,
                                                         double scale, int64_t o) {
  const float s = static_cast<float>(scale), of = static_cast<float>(o);
  float xf;
  if (ctm == "half_pixel") xf = (of + 0.5f) / s - 0.5f;
  else if (ctm == "pytorch_half_pixel") xf = out > 1 ? (of + 0.5f) / s - 0.5f : 0.0f;
  else if (ctm == "align_corners") xf = out > 1 ? of * static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  else if (ctm == "asymmetric") xf = of / s;
  else xf = (of + 0.5f) / s;  // tf_half_pixel_for_nn
  const double x = xf;
  const double fl = std::floor(x);
  const double ratio = x == fl ? 1.0 : x - fl;
  std::vector<double> coeffs;
  if (mode == "nearest") {
    if (x == fl) {
      coeffs = {0, 1};
    } else if (nearest == "round_prefer_floor") {
      coeffs = {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};
    } else if (nearest == "round_prefer_ceil") {
      coeffs = {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
    } else if (nearest == "floor") {
      coeffs = {1, 0};
    } else {
      coeffs = {0, 1};
    }
  } else if (mode == "linear") {
    coeffs = {1 - ratio, ratio};
  } else {
    const double r = ratio;
    coeffs = {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
              ((a + 2) * r - (a + 3)) * r * r + 1,
              ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
              ((a * ((1 - r) + 1) - 5 * a) * ((1 - r) + 1) + 8 * a) * ((1 - r) + 1) - 4 * a};
  }
  // The len(coeffs) integer positions nearest to x (ties to the smaller), sorted: for a
  // ratio in (0, 1] they start at ceil(x) - len/2.
  const int64_t count = static_cast<int64_t>(coeffs.size());
  const int64_t first = static_cast<int64_t>(std::ceil(x)) - count / 2;
  std::vector<std::pair<int64_t, double>> taps;
  double total = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = first + k;
    double wgt = coeffs[static_cast<size_t>(k)];
    if (exclude && (i < 0 || i >= in)) wgt = 0;
    total += wgt;
    taps.push_back({std::min(std::max<int64_t>(i, 0), in - 1), wgt});
  }
  if (exclude)
    for (auto& t : taps) t.second /= total;
  return taps;
}

inline Vec onnx_resize(const Tensor& x, int64_t oh, int64_t ow, const ops::ResizeOptions& o) {
  const int64_t n = x.shape().dim(0), h = x.shape().dim(1), w = x.shape().dim(2),
                c = x.shape().dim(3);
  const double sy = o.scales.empty() ? static_cast<double>(static_cast<float>(oh) / static_cast<float>(h)) : o.scales[0];
  const double sx = o.scales.empty() ? static_cast<double>(static_cast<float>(ow) / static_cast<float>(w)) : o.scales[1];
  Vec y(static_cast<size_t>(n * oh * ow * c));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy) {
      const auto ty = onnx_axis(o.mode, o.coordinate_transformation_mode, o.nearest_mode,
                                o.cubic_coeff_a, o.exclude_outside, h, oh, sy, oy);
      for (int64_t ox = 0; ox < ow; ++ox) {
        const auto tx = onnx_axis(o.mode, o.coordinate_transformation_mode, o.nearest_mode,
                                  o.cubic_coeff_a, o.exclude_outside, w, ow, sx, ox);
        for (int64_t ch = 0; ch < c; ++ch) {
          double v = 0;
          for (const auto& a : ty)
            for (const auto& bb : tx)
              v += a.second * bb.second * x.as_double(idx4(b, a.first, bb.first, ch, h, w, c));
          y[static_cast<size_t>(idx4(b, oy, ox, ch, oh, ow, c))] = v;
        }
      }
    }
  return y;
}

}  // namespace sluice::reference
