// Pooling ops: declaration, shape function, CPU kernel and gradient of each.
//
//   MaxPool(x) -> y                 MaxPoolGrad(x, dy) -> dx       MaxPoolGradGrad(x, g) -> [y]
//   AvgPool(x) -> y                 AvgPoolGrad(x_like, dy) -> dx
//
// The max-pool gradient ops recompute each window's argmax from x (the first largest
// element in row-major window order), so they need no stored indices. Forward kernels run
// over output rows in parallel; the gradient kernels scatter within one image, so they run
// over images in parallel (windows of one image may overlap; those of two images never do).
#include "pool_ops.h"

#include <algorithm>
#include <memory>

#include "kernel_util.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;

struct PoolGeometry {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1;
  int64_t oh = 0, ow = 0, pad_top = 0, pad_left = 0;

  // The window of output (y, x), clipped to the image: rows [y0, y1), cols [x0, x1).
  void window(int64_t y, int64_t x, int64_t& y0, int64_t& y1, int64_t& x0, int64_t& x1) const {
    y0 = y * sh - pad_top, x0 = x * sw - pad_left;
    y1 = std::min(y0 + kh, h), x1 = std::min(x0 + kw, w);
    y0 = std::max<int64_t>(y0, 0), x0 = std::max<int64_t>(x0, 0);
  }
};

// The geometry of pooling x (a static shape may hold -1s; the dims that depend on them are
// -1 too); validates the attrs and names the shape in every message.
PoolGeometry make_geometry(const Node& node, const Shape& x) {
  const Ints& ks = node.attr<Ints>("ksize");
  const Ints& st = node.attr<Ints>("strides");
  SLUICE_REQUIRE(ks.size() == 2, InvalidArgument, "ksize must have 2 entries {KH,KW}, got ",
                 ints_to_string(ks));
  SLUICE_REQUIRE(st.size() == 2, InvalidArgument, "strides must have 2 entries {SH,SW}, got ",
                 ints_to_string(st));
  SLUICE_REQUIRE(ks[0] > 0 && ks[1] > 0, InvalidArgument, "ksize must be positive, got ",
                 ints_to_string(ks));
  SLUICE_REQUIRE(st[0] > 0 && st[1] > 0, InvalidArgument, "strides must be positive, got ",
                 ints_to_string(st));
  const Padding padding = padding_from_name(node.attr<std::string>("padding"));
  SLUICE_REQUIRE(!x.known_rank() || x.rank() == 4, InvalidArgument,
                 "input must be 4-D [N,H,W,C], got ", x.to_string());
  PoolGeometry g;
  if (x.known_rank())
    g.n = x.dim(0), g.h = x.dim(1), g.w = x.dim(2), g.c = x.dim(3);
  else
    g.n = g.h = g.w = g.c = -1;
  g.kh = ks[0], g.kw = ks[1], g.sh = st[0], g.sw = st[1];
  try {
    const WindowDim rows = window_dim(g.h, g.kh, g.sh, 1, padding, "rows");
    const WindowDim cols = window_dim(g.w, g.kw, g.sw, 1, padding, "cols");
    g.oh = rows.out, g.pad_top = rows.pad_before, g.ow = cols.out, g.pad_left = cols.pad_before;
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(e.what()) + "; input " + x.to_string() + ", ksize " +
                          ints_to_string(ks) + ", strides " + ints_to_string(st));
  }
  return g;
}

Shape output_shape(const PoolGeometry& g) { return Shape{g.n, g.oh, g.ow, g.c}; }

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

// Run-time geometry and check of a second input that must have shape `want`.
PoolGeometry runtime_geometry(const KernelContext& ctx, const Shape& x) {
  return make_geometry(ctx.node(), x);
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

// ---- MaxPool and its gradients ----

void max_pool_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PoolGeometry g = runtime_geometry(ctx, x.shape());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "MaxPool", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, output_shape(g));
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    for_each_output_row(ctx.pool(), g, [&](int64_t n, int64_t y) {
      for (int64_t xo = 0; xo < g.ow; ++xo) {
        T* o = yp + ((n * g.oh + y) * g.ow + xo) * g.c;
        int64_t y0, y1, x0, x1;
        g.window(y, xo, y0, y1, x0, x1);
        std::copy_n(xp + ((n * g.h + y0) * g.w + x0) * g.c, g.c, o);
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix) {
            const T* p = xp + ((n * g.h + iy) * g.w + ix) * g.c;
            // A NaN in the window gives NaN (p != p picks it; once o is NaN nothing is larger).
            for (int64_t ch = 0; ch < g.c; ++ch) o[ch] = p[ch] > o[ch] || p[ch] != p[ch] ? p[ch] : o[ch];
          }
      }
    });
  });
}

// Calls f(o, in) for every output element o (flat) of output row (n, y) and the flat index
// `in` of the first largest input element of its window (a later element replaces the
// best only when strictly larger), or of its first NaN, the element MaxPool returns.
// `best`/`arg` are [c] scratch rows.
template <class T, class F>
void for_each_argmax(const PoolGeometry& g, const T* x, int64_t n, int64_t y, T* best, int64_t* arg,
                     F&& f) {
  const int64_t C = g.c;  // a local: stores through arg could alias g.c
  for (int64_t xo = 0; xo < g.ow; ++xo) {
    int64_t y0, y1, x0, x1;
    g.window(y, xo, y0, y1, x0, x1);
    const int64_t first = ((n * g.h + y0) * g.w + x0) * C;
    for (int64_t ch = 0; ch < C; ++ch) best[ch] = x[first + ch], arg[ch] = first + ch;
    for (int64_t iy = y0; iy < y1; ++iy)
      for (int64_t ix = iy == y0 ? x0 + 1 : x0; ix < x1; ++ix) {
        const int64_t base = ((n * g.h + iy) * g.w + ix) * C;
        for (int64_t ch = 0; ch < C; ++ch) {  // branch-free, so it vectorizes
          const T v = x[base + ch], b = best[ch];
          const bool larger = v > b || (v != v && b == b);
          best[ch] = larger ? v : b;
          arg[ch] = larger ? base + ch : arg[ch];
        }
      }
    const int64_t out = ((n * g.oh + y) * g.ow + xo) * C;
    for (int64_t ch = 0; ch < C; ++ch) f(out + ch, arg[ch]);
  }
}

// MaxPoolGrad(x, dy): dx[argmax of each window] += dy.
void max_pool_grad_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& dy = ctx.input(1);
  const PoolGeometry g = runtime_geometry(ctx, x.shape());
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
  const PoolGeometry g = runtime_geometry(ctx, x.shape());
  require_shape(grad, x.shape(), "gradient", x);
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "MaxPoolGradGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, output_shape(g));
    const T* xp = x.data<T>();
    const T* gp = grad.data<T>();
    T* op = out.data<T>();
    for_each_output_row(ctx.pool(), g, [&](int64_t n, int64_t y) {
      std::vector<T> best(static_cast<size_t>(g.c));
      std::vector<int64_t> arg(static_cast<size_t>(g.c));
      for_each_argmax(g, xp, n, y, best.data(), arg.data(),
                      [&](int64_t o, int64_t in) { op[o] = gp[in]; });
    });
  });
}

Ints attr_ints(const Operation& op, const char* name) { return op.node()->attr<Ints>(name); }
Padding attr_padding(const Operation& op) {
  return padding_from_name(op.node()->attr<std::string>("padding"));
}
Output pool_node(const Scope& s, const char* type, const Output& a, const Output& b, Ints ksize,
                 Ints strides, Padding padding) {
  NodeBuilder nb(s, type);
  nb.input(a);
  if (b.valid()) nb.input(b);
  return nb.attr("ksize", std::move(ksize))
      .attr("strides", std::move(strides))
      .attr("padding", padding_name(padding))
      .finish()
      .output(0);
}
Output like_op(const Scope& s, const char* type, const Operation& op, const Output& a,
               const Output& b) {
  return pool_node(s, type, a, b, attr_ints(op, "ksize"), attr_ints(op, "strides"),
                   attr_padding(op));
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
  const PoolGeometry g = runtime_geometry(ctx, x.shape());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "AvgPool", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.allocate_output(0, output_shape(g));
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    for_each_output_row(ctx.pool(), g, [&](int64_t n, int64_t y) {
      for (int64_t xo = 0; xo < g.ow; ++xo) {
        T* o = yp + ((n * g.oh + y) * g.ow + xo) * g.c;
        int64_t y0, y1, x0, x1;
        g.window(y, xo, y0, y1, x0, x1);
        std::fill_n(o, g.c, T(0));
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix) {
            const T* p = xp + ((n * g.h + iy) * g.w + ix) * g.c;
            for (int64_t ch = 0; ch < g.c; ++ch) o[ch] += p[ch];
          }
        const T inv = T(1) / static_cast<T>((y1 - y0) * (x1 - x0));  // real elements only
        for (int64_t ch = 0; ch < g.c; ++ch) o[ch] *= inv;
      }
    });
  });
}

// AvgPoolGrad(x_like, dy): every element of window o gets dy[o] / (its element count).
void avg_pool_grad_kernel(KernelContext& ctx) {
  const Tensor& like = ctx.input(0);
  const Tensor& dy = ctx.input(1);
  const PoolGeometry g = runtime_geometry(ctx, like.shape());
  require_shape(dy, output_shape(g), "gradient", like);
  dispatch<SLUICE_FLOAT_TYPES>(dy.dtype(), "AvgPoolGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dx = ctx.allocate_output(0, like.shape());
    const T* gp = dy.data<T>();
    T* dp = dx.data<T>();
    std::fill_n(dp, dx.num_elements(), T(0));
    parallel_range(ctx.pool(), g.n, 1, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t y = 0; y < g.oh; ++y)
          for (int64_t xo = 0; xo < g.ow; ++xo) {
            int64_t y0, y1, x0, x1;
            g.window(y, xo, y0, y1, x0, x1);
            const T inv = T(1) / static_cast<T>((y1 - y0) * (x1 - x0));
            const T* go = gp + ((n * g.oh + y) * g.ow + xo) * g.c;
            for (int64_t iy = y0; iy < y1; ++iy)
              for (int64_t ix = x0; ix < x1; ++ix) {
                T* d = dp + ((n * g.h + iy) * g.w + ix) * g.c;
                for (int64_t ch = 0; ch < g.c; ++ch) d[ch] += go[ch] * inv;
              }
          }
    });
  });
}

Grads avg_pool_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx avg_pool(x) = g spread evenly over each window's real elements
  return {like_op(s, "AvgPoolGrad", op, op.input(0), g[0])};
}
Grads avg_pool_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // AvgPoolGrad is linear in dy and its adjoint is avg_pool; x_like only gives a shape
  return {Output(), like_op(s, "AvgPool", op, g[0], Output())};
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  const Ints twos{2, 2};
  auto pool_attrs = [&](OpDefBuilder b) {
    b.attr("ksize", twos).attr("strides", twos).attr("padding", "VALID");
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
                std::vector<int64_t> strides, Padding padding) {
  return pool_node(s, "MaxPool", x, Output(), std::move(ksize), std::move(strides), padding);
}

Output avg_pool(const Scope& s, const Output& x, std::vector<int64_t> ksize,
                std::vector<int64_t> strides, Padding padding) {
  return pool_node(s, "AvgPool", x, Output(), std::move(ksize), std::move(strides), padding);
}

Output global_avg_pool(const Scope& s, const Output& x) {
  const Shape& shape = x.shape();
  SLUICE_REQUIRE(x.valid(), InvalidArgument, "global_avg_pool of an empty Output");
  SLUICE_REQUIRE(shape.known_rank() && shape.rank() == 4, InvalidArgument, "global_avg_pool of '",
                 x.name(), "': input must be 4-D [N,H,W,C], got ", shape.to_string());
  SLUICE_REQUIRE(is_floating(x.dtype()), InvalidArgument, "global_avg_pool of '", x.name(),
                 "': input must be float32 or float64, got ", dtype_name(x.dtype()));
  const std::string name = s.explicit_name().empty() ? "global_avg_pool" : s.explicit_name();
  return ops::mean(s.named(name), x, {1, 2});
}

}  // namespace ops
}  // namespace sluice
