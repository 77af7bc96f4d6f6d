// Layer normalization and local response normalization: declaration, shape function, CPU
// kernel and gradient of each; instance normalization as a composite.
//
//   LayerNorm(x, gamma, beta) -> y, mean, inv_std
//   LayerNormGrad(dy, x, gamma, mean, inv_std) -> dx, dgamma, dbeta
//   LRN(x) -> y                        LRNGrad(dy, x, y) -> dx
//
// LayerNorm views x as [rows, D] (D = the normalized slice). Each row is normalized on one
// thread, so its statistics never depend on the thread count; the per-column sums of the
// gradient (dgamma, dbeta) go into a number of partial sums fixed by the sizes, added in
// order.
#include "layer_norm_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "array_ops.h"
#include "kernel_util.h"
#include "math_ops.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

// ---- LayerNorm ----

// The normalized axis range of x: rows = prod(dims[0, a)), d = prod(dims[a, rank)).
struct LnLayout {
  int axis = 0;
  int64_t rows = 0, d = 0;
};

int normalized_axis(const Node& node, const Shape& x) {
  SLUICE_REQUIRE(x.known_rank() && x.rank() >= 1, InvalidArgument,
                 "x must have a known rank >= 1, got ", x.to_string());
  const int64_t a = node.attr<int64_t>("begin_axis");
  const int64_t axis = a < 0 ? a + x.rank() : a;
  SLUICE_REQUIRE(axis >= 0 && axis < x.rank(), InvalidArgument, "begin_axis ", a,
                 " is out of range for x ", x.to_string());
  return static_cast<int>(axis);
}

// mean / inv_std's shape: x's leading dims, then ones.
Shape stats_shape(const Shape& x, int axis) {
  std::vector<int64_t> dims;
  for (int i = 0; i < x.rank(); ++i) dims.push_back(i < axis ? x.dim(i) : 1);
  return Shape(dims);
}

// Requires `p` (gamma or beta) to be x's normalized dims (where known).
void check_param(const Shape& p, const Shape& x, int axis, const char* what) {
  bool ok = !p.known_rank() || p.rank() == x.rank() - axis;
  for (int i = 0; ok && p.known_rank() && i < p.rank(); ++i) {
    const int64_t a = p.dim(i), b = x.dim(axis + i);
    ok = a < 0 || b < 0 || a == b;
  }
  SLUICE_REQUIRE(ok, InvalidArgument, what, " ", p.to_string(),
                 " must have the normalized dims of x ", x.to_string(), " from axis ", axis);
}

void layer_norm_shape(ShapeContext& ctx) {
  for (int i : {0, 1, 2}) {
    require_float(ctx, i);
    require_same_dtype(ctx, 0, i);
  }
  const Shape& x = ctx.input_shape(0);
  const int axis = normalized_axis(ctx.node(), x);
  SLUICE_REQUIRE(ctx.node().attr<double>("epsilon") >= 0, InvalidArgument,
                 "epsilon must be non-negative, got ", ctx.node().attr<double>("epsilon"));
  check_param(ctx.input_shape(1), x, axis, "gamma");
  check_param(ctx.input_shape(2), x, axis, "beta");
  const DType t = ctx.input_dtype(0);
  ctx.add_output(t, x);
  ctx.add_output(t, stats_shape(x, axis));
  ctx.add_output(t, stats_shape(x, axis));
}

LnLayout runtime_layout(const KernelContext& ctx, const Tensor& x, const Tensor& gamma,
                        const Tensor& beta) {
  LnLayout l;
  l.axis = normalized_axis(ctx.node(), x.shape());
  l.rows = 1, l.d = 1;
  for (int i = 0; i < x.rank(); ++i) (i < l.axis ? l.rows : l.d) *= x.dim(i);
  for (const Tensor* p : {&gamma, &beta}) {
    bool ok = p->rank() == x.rank() - l.axis && p->dtype() == x.dtype();
    for (int i = 0; ok && i < p->rank(); ++i) ok = p->dim(i) == x.dim(l.axis + i);
    SLUICE_REQUIRE(ok, InvalidArgument, p == &gamma ? "gamma " : "beta ", p->summary(),
                   " must have the normalized dims of x ", x.summary(), " from axis ", l.axis);
  }
  return l;
}

// Sum of f(i) over [0, d) in two levels: in T over 8 lanes for up to 256 elements (so it
// vectorizes; the order depends only on d), then in double, so long rows lose nothing to
// float32 rounding.
template <class T, class F>
double lane_sum(int64_t d, F&& f) {
  constexpr int64_t kChunk = 256;
  double total = 0;
  for (int64_t c0 = 0; c0 < d; c0 += kChunk) {
    const int64_t c1 = std::min(d, c0 + kChunk);
    T lane[8] = {};
    int64_t i = c0;
    for (; i + 8 <= c1; i += 8)
      for (int l = 0; l < 8; ++l) lane[l] += f(i + l);
    T rest = 0;
    for (; i < c1; ++i) rest += f(i);
    total += static_cast<double>(((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                                 ((lane[4] + lane[5]) + (lane[6] + lane[7])) + rest);
  }
  return total;
}

// Sums of x[0, d), or of (x - shift)^2.
template <class T>
double row_sum(const T* __restrict x, int64_t d, double shift, bool squares) {
  const T sh = static_cast<T>(shift);
  if (!squares) return lane_sum<T>(d, [&](int64_t i) { return x[i]; });
  return lane_sum<T>(d, [&](int64_t i) { return (x[i] - sh) * (x[i] - sh); });
}

template <class T>
void layer_norm_typed(KernelContext& ctx) {
  const Tensor &x = ctx.input(0), &gamma = ctx.input(1), &beta = ctx.input(2);
  const LnLayout l = runtime_layout(ctx, x, gamma, beta);
  const double eps = ctx.attr<double>("epsilon");
  Tensor& y = ctx.allocate_output(0, x.shape());
  Tensor& mean = ctx.allocate_output(1, stats_shape(x.shape(), l.axis));
  Tensor& inv = ctx.allocate_output(2, stats_shape(x.shape(), l.axis));
  const T* xp = x.data<T>();
  const T* gp = gamma.data<T>();
  const T* bp = beta.data<T>();
  T* yp = y.data<T>();
  T* mp = mean.data<T>();
  T* ip = inv.data<T>();
  const int64_t d = l.d;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(d, 1));
  parallel_range(ctx.pool(), l.rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict xr = xp + r * d;
      T* __restrict yr = yp + r * d;
      // Two passes over a row in cache: the mean, then the variance around it.
      const double m = d > 0 ? row_sum(xr, d, 0.0, false) / static_cast<double>(d)
                             : std::numeric_limits<double>::quiet_NaN();
      const double var = d > 0 ? row_sum(xr, d, m, true) / static_cast<double>(d) : m;
      const T mt = static_cast<T>(m), it = static_cast<T>(1.0 / std::sqrt(var + eps));
      mp[r] = mt, ip[r] = it;
      for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - mt) * (it * gp[j]) + bp[j];
    }
  });
}

void layer_norm_kernel(KernelContext& ctx) {
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "LayerNorm",
                               [&](auto tag) { layer_norm_typed<typename decltype(tag)::type>(ctx); });
}

// (dy, x, gamma, mean, inv_std) -> dx (x's shape), dgamma, dbeta (gamma's shape).
void layer_norm_grad_shape(ShapeContext& ctx) {
  for (int i : {0, 1, 2, 3, 4}) {
    require_float(ctx, i);
    require_same_dtype(ctx, 0, i);
  }
  const Shape& x = ctx.input_shape(1);
  const int axis = normalized_axis(ctx.node(), x);
  SLUICE_REQUIRE(ctx.input_shape(0).compatible_with(x), InvalidArgument, "dy ",
                 ctx.input_shape(0).to_string(), " must have x's shape ", x.to_string());
  check_param(ctx.input_shape(2), x, axis, "gamma");
  for (int i : {3, 4})
    SLUICE_REQUIRE(ctx.input_shape(i).compatible_with(stats_shape(x, axis)), InvalidArgument,
                   i == 3 ? "mean " : "inv_std ", ctx.input_shape(i).to_string(), " must be ",
                   stats_shape(x, axis).to_string());
  ctx.add_output(ctx.input_dtype(0), x);
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(2));
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(2));
}

template <class T>
void layer_norm_grad_typed(KernelContext& ctx) {
  const Tensor &dy = ctx.input(0), &x = ctx.input(1), &gamma = ctx.input(2);
  const Tensor &mean = ctx.input(3), &inv = ctx.input(4);
  const LnLayout l = runtime_layout(ctx, x, gamma, gamma);
  SLUICE_REQUIRE(dy.shape() == x.shape(), InvalidArgument, "dy ", dy.summary(),
                 " must have x's shape ", x.summary());
  for (const Tensor* s : {&mean, &inv})
    SLUICE_REQUIRE(s->num_elements() == l.rows, InvalidArgument, "statistics ", s->summary(),
                   " must have one entry per normalized slice (", l.rows, ")");
  Tensor& dx = ctx.allocate_output(0, x.shape());
  Tensor& dgamma = ctx.allocate_output(1, gamma.shape());
  Tensor& dbeta = ctx.allocate_output(2, gamma.shape());
  const int64_t rows = l.rows, d = l.d;
  const T *dyp = dy.data<T>(), *xp = x.data<T>(), *gp = gamma.data<T>();
  const T *mp = mean.data<T>(), *ip = inv.data<T>();
  T* dxp = dx.data<T>();
  // Rows in fixed blocks; consecutive blocks form at most 16 groups, each with its own
  // double partial sums [2, d] of dy * xhat and dy, added in group order.
  const int64_t block = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(d, 1));
  const int64_t blocks = (rows + block - 1) / block;
  const int64_t groups = std::max<int64_t>(1, std::min<int64_t>(blocks, 16));
  std::vector<double> partial(static_cast<size_t>(checked_mul(groups, 2 * d)), 0.0);
  parallel_range(ctx.pool(), groups, 1, [&](int64_t g0, int64_t g1) {
    std::vector<T> buf(static_cast<size_t>(2 * d));
    T* __restrict xhat = buf.data();
    T* __restrict gg = xhat + d;
    for (int64_t grp = g0; grp < g1; ++grp) {
      double* __restrict pg = partial.data() + grp * 2 * d;
      double* __restrict pb = pg + d;
      const int64_t r_end = std::min(rows, blocks * (grp + 1) / groups * block);
      for (int64_t r = std::min(rows, blocks * grp / groups * block); r < r_end; ++r) {
        const T* __restrict g = dyp + r * d;
        const T* __restrict xr = xp + r * d;
        T* __restrict out = dxp + r * d;
        const T m = mp[r], iv = ip[r];
        // dx = inv * (g*gamma - mean(g*gamma) - xhat * mean(g*gamma*xhat))
        for (int64_t j = 0; j < d; ++j) {
          xhat[j] = (xr[j] - m) * iv;
          gg[j] = g[j] * gp[j];
          pg[j] += static_cast<double>(g[j] * xhat[j]);
          pb[j] += static_cast<double>(g[j]);
        }
        const double a = lane_sum<T>(d, [&](int64_t j) { return gg[j]; });
        const double b = lane_sum<T>(d, [&](int64_t j) { return gg[j] * xhat[j]; });
        const T ma = static_cast<T>(a / static_cast<double>(d)),
                mb = static_cast<T>(b / static_cast<double>(d));
        for (int64_t j = 0; j < d; ++j) out[j] = iv * (gg[j] - ma - xhat[j] * mb);
      }
    }
  });
  T* dg = dgamma.data<T>();
  T* db = dbeta.data<T>();
  for (int64_t j = 0; j < d; ++j) {
    double sg = 0, sb = 0;
    for (int64_t grp = 0; grp < groups; ++grp) {
      sg += partial[static_cast<size_t>(grp * 2 * d + j)];
      sb += partial[static_cast<size_t>(grp * 2 * d + d + j)];
    }
    dg[j] = static_cast<T>(sg), db[j] = static_cast<T>(sb);
  }
}

void layer_norm_grad_kernel(KernelContext& ctx) {
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "LayerNormGrad", [&](auto tag) {
    layer_norm_grad_typed<typename decltype(tag)::type>(ctx);
  });
}

bool is_zero_filler(const Output& g, const Operation& op, int j) {
  return g.op().type() == "ZerosLike" && g.op().num_inputs() == 1 &&
         g.op().input(0) == op.output(j);
}

Grads layer_norm_grad(const Scope& s, const Operation& op, const Grads& g) {
  // y = xhat * gamma + beta, xhat = (x - mean) * inv: LayerNormGrad gives dx, dgamma, dbeta
  const Output x = op.input(0), gamma = op.input(1);
  const Output mean = op.output(1), inv = op.output(2);
  const Operation grad = NodeBuilder(s, "LayerNormGrad")
                             .input(g[0])
                             .input(x)
                             .input(gamma)
                             .input(mean)
                             .input(inv)
                             .attr("begin_axis", op.node()->attr<int64_t>("begin_axis"))
                             .finish();
  Output dx = grad.output(0);
  if (!is_zero_filler(g[1], op, 1) || !is_zero_filler(g[2], op, 2)) {
    // d mean/dx = 1/D; d inv/dx = -inv^3 (x - mean) / D (the variance's mean term cancels)
    const Output d = ops::div(s, ops::cast(s, ops::size(s, x), x.dtype()),
                              ops::cast(s, ops::size(s, mean), x.dtype()));
    const Output inv3 = ops::mul(s, inv, ops::square(s, inv));
    const Output extra = ops::sub(s, g[1], ops::mul(s, ops::mul(s, g[2], inv3), ops::sub(s, x, mean)));
    dx = ops::add(s, dx, ops::div(s, extra, d));
  }
  return {dx, grad.output(1), grad.output(2)};
}

// ---- LRN ----

struct LrnAttrs {
  int64_t lo = 5, hi = 5;
  double bias = 1, alpha = 1, beta = 0.5;
};

LrnAttrs read_lrn(const Node& node) {
  LrnAttrs a;
  a.lo = node.attr<int64_t>("depth_radius");
  const int64_t upper = node.attr<int64_t>("depth_radius_upper");
  a.hi = upper < 0 ? a.lo : upper;
  a.bias = node.attr<double>("bias"), a.alpha = node.attr<double>("alpha");
  a.beta = node.attr<double>("beta");
  SLUICE_REQUIRE(a.lo >= 0, InvalidArgument, "depth_radius must be non-negative, got ", a.lo);
  return a;
}

// A radius past the row's width sums the same elements as one reaching its edge; clamping
// it to C keeps c - lo, c + hi and the window size from overflowing for huge attributes.
LrnAttrs read_lrn(const Node& node, int64_t C) {
  LrnAttrs a = read_lrn(node);
  a.lo = std::min(a.lo, C);
  a.hi = std::min(a.hi, C);
  return a;
}

void lrn_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  read_lrn(ctx.node());
  const Shape& x = ctx.input_shape(0);
  SLUICE_REQUIRE(!x.known_rank() || x.rank() >= 1, InvalidArgument,
                 "x must have rank >= 1 (depth last), got ", x.to_string());
  ctx.add_output(ctx.input_dtype(0), x);
}

// b ^ -beta, with the common exponents (0.5, 0.75, 1) through square roots.
template <class T>
inline T pow_neg(T b, double beta) {
  if (beta == 0.5) return T(1) / std::sqrt(b);
  if (beta == 0.75) {
    const T r = T(1) / std::sqrt(b);
    return r * std::sqrt(r);
  }
  if (beta == 1) return T(1) / b;
  return std::pow(b, static_cast<T>(-beta));
}

// The window sums bias + alpha * sum of squares over [c - lo, c + hi] of one depth row.
template <class T>
void lrn_scales(const T* x, int64_t C, const LrnAttrs& a, T* s) {
  for (int64_t c = 0; c < C; ++c) {
    T sum = 0;
    for (int64_t k = std::max<int64_t>(0, c - a.lo); k <= std::min(C - 1, c + a.hi); ++k)
      sum += x[k] * x[k];
    s[c] = static_cast<T>(a.bias) + static_cast<T>(a.alpha) * sum;
  }
}

// Runs f(row) over the depth rows of x, split across the pool.
template <class F>
void for_each_depth_row(ThreadPool& pool, int64_t rows, int64_t C, int64_t window, F&& f) {
  const int64_t grain =
      std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(C * (window + 2), 1));
  parallel_range(pool, rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r);
  });
}

void lrn_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "x must have rank >= 1, got ", x.summary());
  const int64_t C = x.dim(x.rank() - 1), rows = C > 0 ? x.num_elements() / C : 0;
  const LrnAttrs a = read_lrn(ctx.node(), C);
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "LRN", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.allocate_output(0, x.shape());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    for_each_depth_row(ctx.pool(), rows, C, a.lo + a.hi + 1, [&](int64_t r) {
      std::vector<T> s(static_cast<size_t>(C));
      lrn_scales(xp + r * C, C, a, s.data());
      for (int64_t c = 0; c < C; ++c) yp[r * C + c] = xp[r * C + c] * pow_neg(s[c], a.beta);
    });
  });
}

// LRNGrad(dy, x, y) -> dx:
//   dx_j = dy_j * s_j^-beta - 2 alpha beta x_j * sum_{i : j in window(i)} dy_i y_i / s_i
// where window(i) = [i - lo, i + hi], so i runs over [j - hi, j + lo].
void lrn_grad_shape(ShapeContext& ctx) {
  for (int i : {0, 1, 2}) {
    require_float(ctx, i);
    require_same_dtype(ctx, 0, i);
  }
  read_lrn(ctx.node());
  for (int i : {0, 2})
    SLUICE_REQUIRE(ctx.input_shape(i).compatible_with(ctx.input_shape(1)), InvalidArgument,
                   i == 0 ? "dy " : "y ", ctx.input_shape(i).to_string(), " must have x's shape ",
                   ctx.input_shape(1).to_string());
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(1));
}

void lrn_grad_kernel(KernelContext& ctx) {
  const Tensor &dy = ctx.input(0), &x = ctx.input(1), &y = ctx.input(2);
  SLUICE_REQUIRE(dy.shape() == x.shape() && y.shape() == x.shape() && x.rank() >= 1,
                 InvalidArgument, "dy ", dy.summary(), " and y ", y.summary(),
                 " must have x's shape ", x.summary());
  const int64_t C = x.dim(x.rank() - 1), rows = C > 0 ? x.num_elements() / C : 0;
  const LrnAttrs a = read_lrn(ctx.node(), C);
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "LRNGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& dx = ctx.allocate_output(0, x.shape());
    const T *gp = dy.data<T>(), *xp = x.data<T>(), *yp = y.data<T>();
    T* dp = dx.data<T>();
    const T k = static_cast<T>(-2 * a.alpha * a.beta);
    for_each_depth_row(ctx.pool(), rows, C, 2 * (a.lo + a.hi + 1), [&](int64_t r) {
      std::vector<T> s(static_cast<size_t>(C)), t(static_cast<size_t>(C));
      const T *g = gp + r * C, *xr = xp + r * C, *yr = yp + r * C;
      lrn_scales(xr, C, a, s.data());
      for (int64_t i = 0; i < C; ++i) t[i] = g[i] * yr[i] / s[i];
      for (int64_t j = 0; j < C; ++j) {
        T sum = 0;
        for (int64_t i = std::max<int64_t>(0, j - a.hi); i <= std::min(C - 1, j + a.lo); ++i)
          sum += t[i];
        dp[r * C + j] = g[j] * pow_neg(s[j], a.beta) + k * xr[j] * sum;
      }
    });
  });
}

Grads lrn_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx x * s(x)^-beta: LRNGrad (see lrn_grad_kernel)
  NodeBuilder b(s, "LRNGrad");
  b.input(g[0]).input(op.input(0)).input(op.output(0));
  for (const char* name : {"depth_radius", "depth_radius_upper", "bias", "alpha", "beta"})
    b.attr(name, *op.node()->find_attr(name));
  return {b.finish().output(0)};
}

}  // namespace

void register_layer_norm_ops(OpRegistry& r) {
  r.op("LayerNorm")
      .input("x")
      .input("gamma")
      .input("beta")
      .output("y")
      .output("mean")
      .output("inv_std")
      .attr("begin_axis", -1)
      .attr("epsilon", 1e-5)
      .shape_fn(layer_norm_shape)
      .kernel(layer_norm_kernel)
      .gradient(layer_norm_grad);
  r.op("LayerNormGrad")
      .input("dy")
      .input("x")
      .input("gamma")
      .input("mean")
      .input("inv_std")
      .output("dx")
      .output("dgamma")
      .output("dbeta")
      .attr("begin_axis", -1)
      .shape_fn(layer_norm_grad_shape)
      .kernel(layer_norm_grad_kernel)
      .not_differentiable();
  auto lrn_attrs = [](OpDefBuilder b) {
    b.attr("depth_radius", 5)
        .attr("depth_radius_upper", -1)
        .attr("bias", 1.0)
        .attr("alpha", 1.0)
        .attr("beta", 0.5);
    return b;
  };
  lrn_attrs(r.op("LRN").input("input").output("output"))
      .shape_fn(lrn_shape)
      .kernel(lrn_kernel)
      .gradient(lrn_grad);
  lrn_attrs(r.op("LRNGrad").input("input_grads").input("input_image").input("output_image").output(
                "output"))
      .shape_fn(lrn_grad_shape)
      .kernel(lrn_grad_kernel)
      .not_differentiable();
}

namespace ops {

LayerNormOutputs layer_norm_full(const Scope& s, const Output& x, const Output& gamma,
                                 const Output& beta, int64_t begin_axis, double epsilon) {
  const Operation op = NodeBuilder(s, "LayerNorm")
                           .input(x)
                           .input(gamma)
                           .input(beta)
                           .attr("begin_axis", begin_axis)
                           .attr("epsilon", epsilon)
                           .finish();
  return {op.output(0), op.output(1), op.output(2), op};
}

Output layer_norm(const Scope& s, const Output& x, const Output& gamma, const Output& beta,
                  int64_t begin_axis, double epsilon) {
  return layer_norm_full(s, x, gamma, beta, begin_axis, epsilon).y;
}

Output instance_norm(const Scope& s, const Output& x, const Output& scale, const Output& bias,
                     double epsilon) {
  SLUICE_REQUIRE(x.valid() && scale.valid() && bias.valid(), InvalidArgument,
                 "instance_norm of an empty Output");
  const Shape& xs = x.shape();
  SLUICE_REQUIRE(xs.known_rank() && xs.rank() >= 3, InvalidArgument, "instance_norm of '",
                 x.name(), "': x must be [N, spatial.., C] with a known rank >= 3, got ",
                 xs.to_string());
  SLUICE_REQUIRE(is_floating(x.dtype()), InvalidArgument, "instance_norm of '", x.name(),
                 "': x must be float32 or float64, got ", dtype_name(x.dtype()));
  const int64_t c = xs.dim(xs.rank() - 1);
  for (const Output* p : {&scale, &bias})
    SLUICE_REQUIRE(p->shape().compatible_with(Shape{c}) && p->dtype() == x.dtype(),
                   InvalidArgument, "instance_norm of '", x.name(), "': '", p->name(),
                   "' must be [C] = [", c, "] of x's dtype, got ", p->shape().to_string(), " ",
                   dtype_name(p->dtype()));
  const Scope in = s.sub(s.explicit_name().empty() ? "instance_norm" : s.explicit_name());
  std::vector<int64_t> axes;
  for (int i = 1; i + 1 < xs.rank(); ++i) axes.push_back(i);
  const Output mean = ops::mean(in, x, axes, true);
  const Output centered = ops::sub(in, x, mean);
  const Output var = ops::mean(in, ops::square(in, centered), axes, true);
  const Output inv = ops::rsqrt(in, ops::add(in, var, ops::scalar_like(in, x, epsilon)));
  return ops::add(in, ops::mul(in, ops::mul(in, centered, inv), scale), bias);
}

Output lrn(const Scope& s, const Output& x, int64_t depth_radius, double bias, double alpha,
           double beta, int64_t depth_radius_upper) {
  return NodeBuilder(s, "LRN")
      .input(x)
      .attr("depth_radius", depth_radius)
      .attr("depth_radius_upper", depth_radius_upper)
      .attr("bias", bias)
      .attr("alpha", alpha)
      .attr("beta", beta)
      .finish()
      .output(0);
}

}  // namespace ops
}  // namespace sluice
