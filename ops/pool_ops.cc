// Pooling ops: declaration, shape function, CPU kernel and gradient of each.
//
//   MaxPool(x) -> y                 MaxPoolGrad(x, dy) -> dx       MaxPoolGradGrad(x, g) -> [y]
//   AvgPool(x) -> y                 AvgPoolGrad(x_like, dy) -> dx
//
// Every op carries the same attrs (ksize, strides, padding, explicit_paddings, dilations,
// ceil_mode, count_include_pad), so the gradient ops rebuild the forward geometry. The
// max-pool gradient ops recompute each window's argmax from x (the first largest element in
// row-major window order, or its first NaN), so they need no stored indices. Forward
// kernels run over output rows in parallel; the gradient kernels scatter within one image,
// so they run over images in parallel (windows of one image may overlap; those of two
// images never do).
#include "pool_ops.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "conv_attrs.h"
#include "eigen.h"  // <Eigen/Core>
#include "kernel_util.h"
#include "pool_kernels.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace pool {

PoolGeometry make_geometry(const Node& node, const Shape& x, const std::string& prefix) {
  const Ints& ks = node.attr<Ints>(prefix + "ksize");
  const Ints& st = node.attr<Ints>(prefix + "strides");
  const Ints& dl = node.attr<Ints>(prefix + "dilations");
  SLUICE_REQUIRE(ks.size() == 2, InvalidArgument, prefix, "ksize must have 2 entries {KH,KW}, got ",
                 ints_to_string(ks));
  SLUICE_REQUIRE(st.size() == 2, InvalidArgument, prefix, "strides must have 2 entries {SH,SW}, got ",
                 ints_to_string(st));
  SLUICE_REQUIRE(dl.size() == 2, InvalidArgument, prefix, "dilations must have 2 entries {DH,DW}, got ",
                 ints_to_string(dl));
  SLUICE_REQUIRE(ks[0] > 0 && ks[1] > 0, InvalidArgument, prefix, "ksize must be positive, got ",
                 ints_to_string(ks));
  SLUICE_REQUIRE(st[0] > 0 && st[1] > 0, InvalidArgument, prefix, "strides must be positive, got ",
                 ints_to_string(st));
  SLUICE_REQUIRE(dl[0] > 0 && dl[1] > 0, InvalidArgument, prefix, "dilations must be positive, got ",
                 ints_to_string(dl));
  const Pads pads = read_pads(node, prefix);
  const bool ceil_mode = node.attr<bool>(prefix + "ceil_mode");
  SLUICE_REQUIRE(!x.known_rank() || x.rank() == 4, InvalidArgument,
                 "input must be 4-D [N,H,W,C], got ", x.to_string());
  PoolGeometry g;
  if (x.known_rank())
    g.n = x.dim(0), g.h = x.dim(1), g.w = x.dim(2), g.c = x.dim(3);
  else
    g.n = g.h = g.w = g.c = -1;
  g.kh = ks[0], g.kw = ks[1], g.sh = st[0], g.sw = st[1], g.dh = dl[0], g.dw = dl[1];
  const AttrValue* include_pad = node.find_attr(prefix + "count_include_pad");
  g.count_include_pad = include_pad && include_pad->get<bool>(prefix + "count_include_pad");
  const auto where = [&] {  // for error messages only: the kernels call this on every run
    return "; input " + x.to_string() + ", ksize " + ints_to_string(ks) + ", strides " + ints_to_string(st);
  };
  if (pads.mode == Padding::explicit_pads) {
    const int64_t eff_h = (g.kh - 1) * g.dh + 1, eff_w = (g.kw - 1) * g.dw + 1;
    SLUICE_REQUIRE(pads.top >= 0 && pads.bottom >= 0 && pads.left >= 0 && pads.right >= 0 &&
                       pads.top < eff_h && pads.bottom < eff_h && pads.left < eff_w &&
                       pads.right < eff_w,
                   InvalidArgument, "explicit pads ", ints_to_string(pads.attr_list()),
                   " must be non-negative and smaller than the window", where());
  }
  try {
    const WindowDim rows = window_dim(g.h, g.kh, g.sh, g.dh, pads.mode, pads.top, pads.bottom,
                                      ceil_mode, "rows");
    const WindowDim cols = window_dim(g.w, g.kw, g.sw, g.dw, pads.mode, pads.left, pads.right,
                                      ceil_mode, "cols");
    g.oh = rows.out, g.pad_top = rows.pad_before, g.pad_bottom = rows.pad_after;
    g.ow = cols.out, g.pad_left = cols.pad_before, g.pad_right = cols.pad_after;
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(e.what()) + where());
  }
  return g;
}

}  // namespace pool

namespace {

using pool::AxisTaps;
using pool::make_geometry;
using pool::output_shape;
using pool::PoolGeometry;

using Grads = std::vector<Output>;

void pool_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  ctx.add_output(ctx.input_dtype(0), output_shape(make_geometry(ctx.node(), ctx.input_shape(0))));
}

// (x, dy) -> x's shape; dy must have the pooled shape. MaxPoolGrad and AvgPoolGrad.
void pool_grad_shape(ShapeContext& ctx) {
  require_float(ctx, 1);
  if (ctx.node().op_type() == "MaxPoolGrad")
    require_same_dtype(ctx, 0, 1);  // AvgPoolGrad reads only x's shape
  const PoolGeometry g = make_geometry(ctx.node(), ctx.input_shape(0));
  const Shape& dy = ctx.input_shape(1);
  SLUICE_REQUIRE(dy.compatible_with(output_shape(g)), InvalidArgument, "gradient ", dy.to_string(),
                 " does not match the pooled shape ", output_shape(g).to_string(), " of input ",
                 ctx.input_shape(0).to_string());
  ctx.add_output(ctx.input_dtype(1), ctx.input_shape(0));
}

// (x, g) -> the pooled shape; g has x's shape. MaxPoolGradGrad.
void pool_grad_grad_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  require_same_dtype(ctx, 0, 1);
  SLUICE_REQUIRE(ctx.input_shape(1).compatible_with(ctx.input_shape(0)), InvalidArgument,
                 "gradient ", ctx.input_shape(1).to_string(), " does not match the input ",
                 ctx.input_shape(0).to_string());
  ctx.add_output(ctx.input_dtype(0), output_shape(make_geometry(ctx.node(), ctx.input_shape(0))));
}

void require_shape(const Tensor& t, const Shape& want, const char* what, const Tensor& x) {
  SLUICE_REQUIRE(t.shape() == want, InvalidArgument, what, " ", t.summary(), " must be ",
                 want.to_string(), " for input ", x.summary());
}

// Runs f(n, y) for every output row, rows split across the pool.
template <class F>
void for_each_output_row(ThreadPool& pool, const PoolGeometry& g, F&& f) {
  const int64_t rows = g.n * g.oh;
  // Work per row: every output element reads its window, clipped to the image.
  const int64_t row_cost = g.ow * g.c * std::min(g.kh, g.h) * std::min(g.kw, g.w);
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row_cost, 1));
  parallel_range(pool, rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r / g.oh, r % g.oh);
  });
}

// Calls f(iy, ix) for the taps of window (y, x) inside the image, in row-major order.
template <class F>
inline void for_each_tap(const PoolGeometry& g, const AxisTaps& r, const AxisTaps& q, F&& f) {
  for (int64_t i = r.i0; i < r.i1; ++i)
    for (int64_t j = q.i0; j < q.i1; ++j) f(r.start + i * g.dh, q.start + j * g.dw);
}

// ---- MaxPool and its gradients ----

// NaN wins: a NaN element replaces the maximum, and nothing but a NaN replaces a NaN; among
// equal values the first stays.
template <class T>
inline T max_take(T v, T best) {
  return (v > best || v != v) ? v : best;
}

// One output pixel of MaxPool: o[c] = the max_take fold of p[c] over the window's taps, where
// taps(visit) calls visit(p) for each tap's first channel. Channels go in blocks of four
// vectors held in registers across the taps (the same fold as max_take: v is not NaN ? (v >
// best ? v : best) : v), then the last few one by one.
// best = v > best ? v : best, or v where v is NaN (max_take on packets). Eigen's pselect
// takes its mask as a vector; with AVX-512 the mask stays in a mask register (three
// instructions instead of five: the pool's inner loop).
template <class P>
inline P max_take_packet(const P& best, const P& v) {
  namespace ei = Eigen::internal;
  // pmax(best, v) is v > best ? v : best (Eigen's order, as std::max).
  return ei::pselect(ei::pcmp_eq(v, v), ei::pmax(best, v), v);
}
#ifdef __AVX512F__
// _mm512_max_ps(v, best) is v > best ? v : best (best when either is NaN).
template <>
inline Eigen::internal::Packet16f max_take_packet(const Eigen::internal::Packet16f& best,
                                                  const Eigen::internal::Packet16f& v) {
  return _mm512_mask_mov_ps(_mm512_max_ps(v, best), _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}
template <>
inline Eigen::internal::Packet8d max_take_packet(const Eigen::internal::Packet8d& best,
                                                 const Eigen::internal::Packet8d& v) {
  return _mm512_mask_mov_pd(_mm512_max_pd(v, best), _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q), v);
}
#endif

template <class T, class Taps>
void max_pool_pixel(int64_t C, T* o, Taps&& taps) {
  namespace ei = Eigen::internal;
  using P = typename ei::packet_traits<T>::type;
  constexpr int64_t lanes = ei::packet_traits<T>::size, kVectors = 4, kBlock = kVectors * lanes;
  int64_t c0 = 0;
  for (; c0 + kBlock <= C; c0 += kBlock) {
    P best[kVectors];
    for (int64_t v = 0; v < kVectors; ++v)
      best[v] = ei::pset1<P>(-std::numeric_limits<T>::infinity());
    taps([&](const T* p) {
      for (int64_t v = 0; v < kVectors; ++v) {
        best[v] = max_take_packet(best[v], ei::ploadu<P>(p + c0 + v * lanes));
      }
    });
    for (int64_t v = 0; v < kVectors; ++v) ei::pstoreu(o + c0 + v * lanes, best[v]);
  }
  if (c0 == C) return;
  std::fill(o + c0, o + C, -std::numeric_limits<T>::infinity());
  taps([&](const T* p) {
    for (int64_t c = c0; c < C; ++c) o[c] = max_take(p[c], o[c]);
  });
}

}  // namespace

namespace pool {

template <class T>
void max_pool_rows(const PoolGeometry& g, const T* x, int64_t n, int64_t y0, int64_t y1, T* y) {
  const int64_t C = g.c;
  // While a row is pooled, the input rows the next output row adds are prefetched, a
  // stride's columns per pixel: an image read from memory (squeezenet's first pool at batch
  // 8, 25 MB) took 1.5-1.6 ms instead of 1.9-2.1.
  const int64_t line = 64 / static_cast<int64_t>(sizeof(T));
  const int64_t cols = std::min(g.sw, g.w), run = cols * C;  // a stride of columns, its values
  for (int64_t oy = y0; oy < y1; ++oy) {
    const AxisTaps r = g.rows(oy);
    const AxisTaps next = oy + 1 < g.oh ? g.rows(oy + 1) : AxisTaps{0, 0, 0};
    const int64_t seen = r.i1 > r.i0 ? r.start + (r.i1 - 1) * g.dh : -1;  // the last row read
    for (int64_t xo = 0; xo < g.ow; ++xo) {
      const AxisTaps q = g.cols(xo);
      max_pool_pixel<T>(C, y + ((n * g.oh + oy) * g.ow + xo) * C, [&](auto&& visit) {
        for_each_tap(g, r, q, [&](int64_t iy, int64_t ix) { visit(x + ((n * g.h + iy) * g.w + ix) * C); });
      });
      const int64_t ix = std::clamp<int64_t>(q.start, 0, std::max<int64_t>(g.w - cols, 0));
      for (int64_t i = next.i0; i < next.i1; ++i) {
        const int64_t iy = next.start + i * g.dh;
        if (iy <= seen) continue;
        const T* p = x + ((n * g.h + iy) * g.w + ix) * C;
        for (int64_t v = 0; v < run; v += line) __builtin_prefetch(p + v, 0, 3);
      }
    }
  }
}
template void max_pool_rows<float>(const PoolGeometry&, const float*, int64_t, int64_t, int64_t, float*);
template void max_pool_rows<double>(const PoolGeometry&, const double*, int64_t, int64_t, int64_t, double*);

template <class T>
void max_pool(const PoolGeometry& g, const T* x, T* y, ThreadPool& pool) {
  for_each_output_row(pool, g, [&](int64_t n, int64_t oy) { max_pool_rows<T>(g, x, n, oy, oy + 1, y); });
}
template void max_pool<float>(const PoolGeometry&, const float*, float*, ThreadPool&);
template void max_pool<double>(const PoolGeometry&, const double*, double*, ThreadPool&);

}  // namespace pool

namespace {

void max_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolGeometry g = make_geometry(ctx.node(), x.shape());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "MaxPool", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, output_shape(g));
    pool::max_pool<T>(g, x.data<T>(), out.data<T>(), ctx.pool());
  });
}

// Calls f(o, in) for every output element o (flat) of output row (n, y) and the flat index
// `in` of the first largest input element of its window (a later element replaces the
// best only when strictly larger, or when it is the window's first NaN). Windows without
// input elements are skipped. `best`/`arg` are [c] scratch rows.
template <class T, class F>
void for_each_argmax(const PoolGeometry& g, const T* x, int64_t n, int64_t y, T* best, int64_t* arg,
                     F&& f) {
  const int64_t C = g.c;  // a local: stores through arg could alias g.c
  const AxisTaps r = g.rows(y);
  for (int64_t xo = 0; xo < g.ow; ++xo) {
    const AxisTaps q = g.cols(xo);
    if (r.i1 == r.i0 || q.i1 == q.i0) continue;
    bool first = true;
    for_each_tap(g, r, q, [&](int64_t iy, int64_t ix) {
      const int64_t base = ((n * g.h + iy) * g.w + ix) * C;
      if (first) {
        for (int64_t ch = 0; ch < C; ++ch) best[ch] = x[base + ch], arg[ch] = base + ch;
        first = false;
        return;
      }
      for (int64_t ch = 0; ch < C; ++ch) {  // branch-free, so it vectorizes
        const T v = x[base + ch];
        const bool take = v > best[ch] || (v != v && best[ch] == best[ch]);
        best[ch] = take ? v : best[ch];
        arg[ch] = take ? base + ch : arg[ch];
      }
    });
    const int64_t out = ((n * g.oh + y) * g.ow + xo) * C;
    for (int64_t ch = 0; ch < C; ++ch) f(out + ch, arg[ch]);
  }
}

// MaxPoolGrad(x, dy): dx[argmax of each window] += dy.
void max_pool_grad_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& dy = ctx.input(1);
  const PoolGeometry g = make_geometry(ctx.node(), x.shape());
  require_shape(dy, output_shape(g), "gradient", x);
  SLUICE_REQUIRE(x.dtype() == dy.dtype(), InvalidArgument, "input ", x.summary(), " and gradient ",
                 dy.summary(), " must share a dtype");
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "MaxPoolGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dx = ctx.allocate_output(0, x.shape());
    const T* xp = x.data<T>();
    const T* gp = dy.data<T>();
    T* dp = dx.data<T>();
    std::fill_n(dp, dx.num_elements(), T(0));
    parallel_range(ctx.pool(), g.n, 1, [&](int64_t n0, int64_t n1) {
      std::vector<T> best(static_cast<size_t>(g.c));
      std::vector<int64_t> arg(static_cast<size_t>(g.c));
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t y = 0; y < g.oh; ++y)
          for_each_argmax(g, xp, n, y, best.data(), arg.data(),
                          [&](int64_t o, int64_t in) { dp[in] += gp[o]; });
    });
  });
}

// MaxPoolGradGrad(x, g): out[o] = g[argmax of window o] (the adjoint of MaxPoolGrad in dy).
void max_pool_grad_grad_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& grad = ctx.input(1);
  const PoolGeometry g = make_geometry(ctx.node(), x.shape());
  require_shape(grad, x.shape(), "gradient", x);
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "MaxPoolGradGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, output_shape(g));
    const T* xp = x.data<T>();
    const T* gp = grad.data<T>();
    T* op = out.data<T>();
    std::fill_n(op, out.num_elements(), T(0));  // windows without elements
    for_each_output_row(ctx.pool(), g, [&](int64_t n, int64_t y) {
      std::vector<T> best(static_cast<size_t>(g.c));
      std::vector<int64_t> arg(static_cast<size_t>(g.c));
      for_each_argmax(g, xp, n, y, best.data(), arg.data(),
                      [&](int64_t o, int64_t in) { op[o] = gp[in]; });
    });
  });
}

// A node of `type` with the pooling attrs of `op` (its gradient ops share them).
Output like_op(const Scope& s, const char* type, const Operation& op, const Output& a,
               const Output& b) {
  NodeBuilder nb(s, type);
  nb.input(a);
  if (b.valid()) nb.input(b);
  for (const char* name : {"ksize", "strides", "padding", "explicit_paddings", "dilations",
                           "ceil_mode", "count_include_pad"})
    nb.attr(name, *op.node()->find_attr(name));
  return nb.finish().output(0);
}

Grads max_pool_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx max_pool(x) = g routed to each window's first largest element
  return {like_op(s, "MaxPoolGrad", op, op.input(0), g[0])};
}
Grads max_pool_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // MaxPoolGrad is linear in dy: d/d(dy) = g gathered at the argmaxes; piecewise constant in x
  return {Output(), like_op(s, "MaxPoolGradGrad", op, op.input(0), g[0])};
}
Grads max_pool_grad_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // MaxPoolGradGrad is linear in g: its adjoint scatters back to the argmaxes
  return {Output(), like_op(s, "MaxPoolGrad", op, op.input(0), g[0])};
}

// ---- AvgPool and its gradient ----

void avg_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolGeometry g = make_geometry(ctx.node(), x.shape());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "AvgPool", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, output_shape(g));
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    const int64_t C = g.c;
    for_each_output_row(ctx.pool(), g, [&](int64_t n, int64_t y) {
      const AxisTaps r = g.rows(y);
      for (int64_t xo = 0; xo < g.ow; ++xo) {
        const AxisTaps q = g.cols(xo);
        T* __restrict o = yp + ((n * g.oh + y) * g.ow + xo) * C;
        std::fill_n(o, C, T(0));
        for_each_tap(g, r, q, [&](int64_t iy, int64_t ix) {
          const T* __restrict p = xp + ((n * g.h + iy) * g.w + ix) * C;
          for (int64_t ch = 0; ch < C; ++ch) o[ch] += p[ch];
        });
        const int64_t count = g.divisor(r, q);
        const T inv = count > 0 ? T(1) / static_cast<T>(count) : T(0);
        for (int64_t ch = 0; ch < C; ++ch) o[ch] *= inv;
      }
    });
  });
}

// AvgPoolGrad(x_like, dy): every element of window o gets dy[o] / (its divisor).
void avg_pool_grad_kernel(KernelContext& ctx) {
  const Tensor& like = ctx.input(0);
  const Tensor& dy = ctx.input(1);
  const PoolGeometry g = make_geometry(ctx.node(), like.shape());
  require_shape(dy, output_shape(g), "gradient", like);
  dispatch<SLUICE_FLOAT_TYPES>(dy.dtype(), "AvgPoolGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dx = ctx.allocate_output(0, like.shape());
    const T* gp = dy.data<T>();
    T* dp = dx.data<T>();
    std::fill_n(dp, dx.num_elements(), T(0));
    const int64_t C = g.c;
    parallel_range(ctx.pool(), g.n, 1, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t y = 0; y < g.oh; ++y) {
          const AxisTaps r = g.rows(y);
          for (int64_t xo = 0; xo < g.ow; ++xo) {
            const AxisTaps q = g.cols(xo);
            const int64_t count = g.divisor(r, q);
            if (count == 0) continue;
            const T inv = T(1) / static_cast<T>(count);
            const T* go = gp + ((n * g.oh + y) * g.ow + xo) * C;
            for_each_tap(g, r, q, [&](int64_t iy, int64_t ix) {
              T* d = dp + ((n * g.h + iy) * g.w + ix) * C;
              for (int64_t ch = 0; ch < C; ++ch) d[ch] += go[ch] * inv;
            });
          }
        }
    });
  });
}

Grads avg_pool_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx avg_pool(x) = g spread over each window's elements, divided by its divisor
  return {like_op(s, "AvgPoolGrad", op, op.input(0), g[0])};
}
Grads avg_pool_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // AvgPoolGrad is linear in dy and its adjoint is avg_pool; x_like only gives a shape
  return {Output(), like_op(s, "AvgPool", op, g[0], Output())};
}

Output pool_node(const Scope& s, const char* type, const Output& x, Ints ksize, Ints strides,
                 const Pads& padding, Ints dilations, bool ceil_mode, bool count_include_pad) {
  NodeBuilder nb(s, type);
  nb.input(x).attr("ksize", std::move(ksize)).attr("strides", std::move(strides));
  set_pads(nb, padding);
  return nb.attr("dilations", std::move(dilations))
      .attr("ceil_mode", ceil_mode)
      .attr("count_include_pad", count_include_pad)
      .finish()
      .output(0);
}

// The checks global pooling applies before building its reduction.
void check_global_input(const Output& x, const char* what) {
  SLUICE_REQUIRE(x.valid(), InvalidArgument, what, " of an empty Output");
  const Shape& shape = x.shape();
  SLUICE_REQUIRE(shape.known_rank() && shape.rank() == 4, InvalidArgument, what, " of '",
                 x.name(), "': input must be 4-D [N,H,W,C], got ", shape.to_string());
  SLUICE_REQUIRE(is_floating(x.dtype()), InvalidArgument, what, " of '", x.name(),
                 "': input must be float32 or float64, got ", dtype_name(x.dtype()));
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  const Ints twos{2, 2};
  auto pool_attrs = [&](OpDefBuilder b) {
    b.attr("ksize", twos)
        .attr("strides", twos)
        .attr("padding", "VALID")
        .attr("explicit_paddings", Ints{})
        .attr("dilations", Ints{1, 1})
        .attr("ceil_mode", false)
        .attr("count_include_pad", false);
    return b;
  };
  pool_attrs(r.op("MaxPool").input("input").output("output"))
      .shape_fn(pool_shape)
      .kernel(max_pool_kernel)
      .gradient(max_pool_grad);
  pool_attrs(r.op("MaxPoolGrad").input("orig_input").input("grad").output("output"))
      .shape_fn(pool_grad_shape)
      .kernel(max_pool_grad_kernel)
      .gradient(max_pool_grad_grad);
  pool_attrs(r.op("MaxPoolGradGrad").input("orig_input").input("grad").output("output"))
      .shape_fn(pool_grad_grad_shape)
      .kernel(max_pool_grad_grad_kernel)
      .gradient(max_pool_grad_grad_grad);
  pool_attrs(r.op("AvgPool").input("value").output("output"))
      .shape_fn(pool_shape)
      .kernel(avg_pool_kernel)
      .gradient(avg_pool_grad);
  pool_attrs(r.op("AvgPoolGrad").input("orig_input_like").input("grad").output("output"))
      .shape_fn(pool_grad_shape)
      .kernel(avg_pool_grad_kernel)
      .gradient(avg_pool_grad_grad);
}

namespace ops {

Output max_pool(const Scope& s, const Output& x, std::vector<int64_t> ksize,
                std::vector<int64_t> strides, Pads padding, std::vector<int64_t> dilations,
                bool ceil_mode) {
  return pool_node(s, "MaxPool", x, std::move(ksize), std::move(strides), padding,
                   std::move(dilations), ceil_mode, false);
}

Output avg_pool(const Scope& s, const Output& x, std::vector<int64_t> ksize,
                std::vector<int64_t> strides, Pads padding, bool count_include_pad,
                bool ceil_mode) {
  return pool_node(s, "AvgPool", x, std::move(ksize), std::move(strides), padding, {1, 1},
                   ceil_mode, count_include_pad);
}

Output global_avg_pool(const Scope& s, const Output& x, bool keepdims) {
  check_global_input(x, "global_avg_pool");
  const std::string name = s.explicit_name().empty() ? "global_avg_pool" : s.explicit_name();
  return ops::mean(s.named(name), x, {1, 2}, keepdims);
}

Output global_max_pool(const Scope& s, const Output& x, bool keepdims) {
  check_global_input(x, "global_max_pool");
  const std::string name = s.explicit_name().empty() ? "global_max_pool" : s.explicit_name();
  return ops::max(s.named(name), x, {1, 2}, keepdims);
}

}  // namespace ops
}  // namespace sluice
