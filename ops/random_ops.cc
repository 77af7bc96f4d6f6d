// Random ops: declaration, shape function, CPU kernel of each (none is differentiable).
#include "random_ops.h"

#include <cmath>

#include "eigen.h"  // <Eigen/Core>
// GCC bug 105593 (see eigen.h) again, through Eigen's QR code: silenced for its headers only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/QR>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "kernel_util.h"
#include "philox.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

std::pair<int64_t, int64_t> random_seeds(const Scope& scope, int64_t op_seed) {
  const Graph g = scope.graph();
  return {g.random_seed(), op_seed != 0 ? op_seed : g.num_operations() + 1};
}

namespace {

void random_shape(ShapeContext& ctx) {
  const Shape& s = ctx.attr<Shape>("shape");
  SLUICE_REQUIRE(s.is_fully_defined(), InvalidArgument, "random op shape must be fully defined, got ",
                 s.to_string());
  (void)s.num_elements();
  const DType d = ctx.attr<DType>("dtype");
  SLUICE_REQUIRE(is_floating(d), InvalidArgument, "random ops produce float32 or float64, not ",
                 dtype_name(d));
  ctx.add_output(d, s);
}

// Fills y from the op's stream: F(stream, block index, out[4]) writes 4 values per block.
template <class T, class F>
void fill_blocks(KernelContext& ctx, Tensor& y, F f) {
  const philox::Stream stream(ctx.attr_int("seed"), ctx.attr_int("seed2"), ctx.next_run_index());
  T* p = y.data<T>();
  const int64_t n = y.num_elements();
  parallel_range(ctx.pool(), (n + 3) / 4, kElementwiseGrain / 4, [&](int64_t b, int64_t e) {
    T vals[4];
    for (int64_t blk = b; blk < e; ++blk) {
      f(stream, static_cast<uint64_t>(blk), vals);
      for (int j = 0; j < 4 && blk * 4 + j < n; ++j) p[blk * 4 + j] = vals[j];
    }
  });
}

// Four uniforms in [0, 1) for block i (doubles use two words each: two blocks).
template <class T>
void uniforms(const philox::Stream& s, uint64_t i, double u[4]) {
  if constexpr (std::is_same_v<T, float>) {
    const philox::Block r = s.block(i);
    for (int j = 0; j < 4; ++j) u[j] = philox::to_float(r[j]);
  } else {
    const philox::Block a = s.block(2 * i), b = s.block(2 * i + 1);
    u[0] = philox::to_double(a[0], a[1]);
    u[1] = philox::to_double(a[2], a[3]);
    u[2] = philox::to_double(b[0], b[1]);
    u[3] = philox::to_double(b[2], b[3]);
  }
}

void random_uniform_kernel(KernelContext& ctx) {
  Tensor& y = ctx.allocate_output(0, ctx.attr<Shape>("shape"));
  const double lo = ctx.attr<double>("minval"), hi = ctx.attr<double>("maxval");
  dispatch<SLUICE_FLOAT_TYPES>(y.dtype(), "RandomUniform", [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_blocks<T>(ctx, y, [&](const philox::Stream& s, uint64_t i, T* out) {
      double u[4];
      uniforms<T>(s, i, u);
      for (int j = 0; j < 4; ++j) {
        // Rounding can land on hi for float; keep the interval half-open.
        const T v = static_cast<T>(lo + (hi - lo) * u[j]);
        out[j] = v < static_cast<T>(hi) || hi <= lo ? v : static_cast<T>(lo);
      }
    });
  });
}

template <bool kTruncated>
void random_normal_kernel(KernelContext& ctx) {
  Tensor& y = ctx.allocate_output(0, ctx.attr<Shape>("shape"));
  const double mean = ctx.attr<double>("mean"), stddev = ctx.attr<double>("stddev");
  dispatch<SLUICE_FLOAT_TYPES>(y.dtype(), "RandomNormal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_blocks<T>(ctx, y, [&](const philox::Stream& s, uint64_t i, T* out) {
      double u[4], z[4];
      uniforms<T>(s, i, u);
      philox::box_muller(u[0], u[1], z[0], z[1]);
      philox::box_muller(u[2], u[3], z[2], z[3]);
      if (kTruncated) {
        // Redraw values beyond 2 stddevs from further blocks of the same stream (offset
        // past every first-draw block, so no two elements share a draw).
        uint64_t extra = (uint64_t{1} << 62) + i * 64;
        for (int j = 0; j < 4; ++j) {
          while (std::fabs(z[j]) > 2.0) {
            double v[4], w[4];
            uniforms<T>(s, extra++, v);
            philox::box_muller(v[0], v[1], w[0], w[1]);
            z[j] = std::fabs(w[0]) <= 2.0 ? w[0] : w[1];
          }
        }
      }
      for (int j = 0; j < 4; ++j) out[j] = static_cast<T>(mean + stddev * z[j]);
    });
  });
}

// A (semi-)orthogonal matrix, as Keras' Orthogonal initializer: QR of a normal matrix
// [rows = prod(shape[:-1]), cols = shape[-1]] (transposed when rows < cols), with Q's
// columns sign-corrected by diag(R) so the distribution is uniform.
void random_orthogonal_kernel(KernelContext& ctx) {
  const Shape& shape = ctx.attr<Shape>("shape");
  SLUICE_REQUIRE(shape.rank() >= 2, InvalidArgument, "orthogonal initializer needs rank >= 2, got ",
                 shape.to_string());
  Tensor& y = ctx.allocate_output(0, shape);
  const int64_t cols = shape.dim(-1);
  const int64_t rows = cols ? shape.num_elements() / cols : 0;
  const double gain = ctx.attr<double>("gain");
  const bool flip = rows < cols;
  const int64_t m = flip ? cols : rows, n = flip ? rows : cols;  // m >= n
  const philox::Stream stream(ctx.attr_int("seed"), ctx.attr_int("seed2"), ctx.next_run_index());
  Eigen::MatrixXd a(m, n);
  for (int64_t i = 0; i < m * n; i += 2) {
    const philox::Block r = stream.block(static_cast<uint64_t>(i / 2));
    double z0, z1;
    philox::box_muller(philox::to_double(r[0], r[1]), philox::to_double(r[2], r[3]), z0, z1);
    a.data()[i] = z0;
    if (i + 1 < m * n) a.data()[i + 1] = z1;
  }
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(m, n);
  const Eigen::MatrixXd r = qr.matrixQR().topRows(n).triangularView<Eigen::Upper>();
  for (int64_t j = 0; j < n; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  dispatch<SLUICE_FLOAT_TYPES>(y.dtype(), "RandomOrthogonal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = y.data<T>();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        p[i * cols + j] = static_cast<T>(gain * (flip ? q(j, i) : q(i, j)));
  });
}

Output random_op(const Scope& scope, const char* op, const Shape& shape, DType dtype, int64_t seed,
                 const char* a_name, double a, const char* b_name, double b) {
  const auto [s1, s2] = random_seeds(scope, seed);
  return NodeBuilder(scope, op).attr("shape", shape).attr("dtype", dtype).attr("seed", s1)
      .attr("seed2", s2).attr(a_name, a).attr(b_name, b).finish().output(0);
}

}  // namespace

void register_random_ops(OpRegistry& r) {
  r.op("RandomUniform").output("output").required_attr("shape").attr("dtype", DType::f32)
      .attr("minval", 0.0).attr("maxval", 1.0).attr("seed", 0).attr("seed2", 0)
      .shape_fn(random_shape).kernel(random_uniform_kernel).not_differentiable().stateful();
  r.op("RandomNormal").output("output").required_attr("shape").attr("dtype", DType::f32)
      .attr("mean", 0.0).attr("stddev", 1.0).attr("seed", 0).attr("seed2", 0)
      .shape_fn(random_shape).kernel(random_normal_kernel<false>).not_differentiable().stateful();
  r.op("TruncatedNormal").output("output").required_attr("shape").attr("dtype", DType::f32)
      .attr("mean", 0.0).attr("stddev", 1.0).attr("seed", 0).attr("seed2", 0)
      .shape_fn(random_shape).kernel(random_normal_kernel<true>).not_differentiable().stateful();
  r.op("RandomOrthogonal").output("output").required_attr("shape").attr("dtype", DType::f32)
      .attr("gain", 1.0).attr("seed", 0).attr("seed2", 0)
      .shape_fn(random_shape).kernel(random_orthogonal_kernel).not_differentiable().stateful();
}

namespace ops {
Output random_uniform(const Scope& s, const Shape& shape, DType dtype, double minval, double maxval,
                      int64_t seed) {
  return random_op(s, "RandomUniform", shape, dtype, seed, "minval", minval, "maxval", maxval);
}
Output random_normal(const Scope& s, const Shape& shape, DType dtype, double mean, double stddev,
                     int64_t seed) {
  return random_op(s, "RandomNormal", shape, dtype, seed, "mean", mean, "stddev", stddev);
}
Output truncated_normal(const Scope& s, const Shape& shape, DType dtype, double mean, double stddev,
                        int64_t seed) {
  return random_op(s, "TruncatedNormal", shape, dtype, seed, "mean", mean, "stddev", stddev);
}
}  // namespace ops
}  // namespace sluice
