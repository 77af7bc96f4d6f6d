// Normalization ops: declaration, shape function, CPU kernel and gradient of each.
//
// FusedBatchNorm views x as [rows, C] (channels last). Both kernels are memory-bound: a
// reduction pass over x (per-channel sums, shifted, in two levels ending in double) and an
// elementwise pass. The rows are cut into blocks whose size depends only on C; each block's
// partial sums go to their own slot and are added up in block order, so results do not
// depend on the thread count.
#include "normalization_ops.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "array_ops.h"
#include "kernel_util.h"
#include "math_ops.h"
#include "normalization_kernels.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;

// ---- blocked per-channel reductions ----

// Elements per block of rows (128 KB of float32): enough work per block to amortise its
// partial sums, small enough to split a batch across threads.
constexpr int64_t kBlockElements = 32768;

int64_t block_rows_for(int64_t c) {
  // At least 16 rows, so the partial sums stay small next to the data for large C.
  return std::max<int64_t>(16, kBlockElements / std::max<int64_t>(c, 1));
}

// Runs acc(row_begin, row_end, partial) for each block of rows (in parallel), where partial
// points to k * c zeroed doubles of that block, then adds the partials in block order into
// out [k * c].
template <class Acc>
void blocked_channel_sums(ThreadPool& pool, int64_t rows, int64_t c, int k, double* out,
                          Acc&& acc) {
  const int64_t width = k * c;
  std::fill(out, out + width, 0.0);
  if (rows == 0 || c == 0) return;
  const int64_t block_rows = block_rows_for(c);
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  std::vector<double> partial(static_cast<size_t>(checked_mul(blocks, width)), 0.0);
  parallel_range(pool, blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk)
      acc(blk * block_rows, std::min(rows, (blk + 1) * block_rows), partial.data() + blk * width);
  });
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const double* p = partial.data() + blk * width;
    for (int64_t i = 0; i < width; ++i) out[i] += p[i];
  }
}

// Runs f(row_begin, row_end) over the rows in the same blocks, in parallel.
template <class F>
void blocked_rows(ThreadPool& pool, int64_t rows, int64_t c, F&& f) {
  if (rows == 0 || c == 0) return;
  const int64_t block_rows = block_rows_for(c);
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  parallel_range(pool, blocks, 1,
                 [&](int64_t b, int64_t e) { f(b * block_rows, std::min(rows, e * block_rows)); });
}

// Per-channel sums run in two levels: over up to kInnerRows rows in the element type (for
// float32 this halves the vector work against double and keeps the pass at the speed of
// reading memory), then added into double. A float32 partial sum of 64 terms is good to
// ~1e-7 relative; the double level makes the row count irrelevant.
constexpr int64_t kInnerRows = 64;

// Sums over rows [r0, r1) of d = x - shift and d * d, per channel, into s [c] and q [c].
// Subtracting a per-channel shift (the first row) keeps the one-pass variance accurate when
// |mean| >> std: the sums are of values of the size of the spread, not of the mean.
// The inner loops run along a row (contiguous channels) and vectorize.
template <class T>
void moments_block(const T* __restrict x, int64_t r0, int64_t r1, int64_t c,
                   const T* __restrict shift, double* __restrict s, double* __restrict q) {
  std::vector<T> level1(2 * c);
  T* __restrict ts = level1.data();
  T* __restrict tq = ts + c;
  for (int64_t r = r0; r < r1; r += kInnerRows) {
    std::fill(level1.begin(), level1.end(), T(0));
    for (int64_t i = r; i < std::min(r1, r + kInnerRows); ++i) {
      const T* xr = x + i * c;
      for (int64_t j = 0; j < c; ++j) {
        const T d = xr[j] - shift[j];
        ts[j] += d;
        tq[j] += d * d;
      }
    }
    for (int64_t j = 0; j < c; ++j) {
      s[j] += ts[j];
      q[j] += tq[j];
    }
  }
}

// Sums over rows [r0, r1) of dy and dy * (x - mean), per channel, into s [c] and q [c].
template <class T>
void grad_sums_block(const T* __restrict dy, const T* __restrict x, int64_t r0, int64_t r1,
                     int64_t c, const T* __restrict mean, double* __restrict s,
                     double* __restrict q) {
  std::vector<T> level1(2 * c);
  T* __restrict ts = level1.data();
  T* __restrict tq = ts + c;
  for (int64_t r = r0; r < r1; r += kInnerRows) {
    std::fill(level1.begin(), level1.end(), T(0));
    for (int64_t i = r; i < std::min(r1, r + kInnerRows); ++i) {
      const T* gr = dy + i * c;
      const T* xr = x + i * c;
      for (int64_t j = 0; j < c; ++j) {
        ts[j] += gr[j];
        tq[j] += gr[j] * (xr[j] - mean[j]);
      }
    }
    for (int64_t j = 0; j < c; ++j) {
      s[j] += ts[j];
      q[j] += tq[j];
    }
  }
}

// ---- the normalisation pass ----

template <class T>
void batch_norm_rows_plain(const T* __restrict x, T* __restrict y, int64_t r0, int64_t r1,
                           int64_t c, const T* __restrict m, const T* __restrict a,
                           const T* __restrict o) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* xr = x + r * c;
    T* yr = y + r * c;
    for (int64_t j = 0; j < c; ++j) yr[j] = (xr[j] - m[j]) * a[j] + o[j];
  }
}

#ifdef __AVX512F__
// One 64-byte vector per step, stored with a non-temporal store; the same fused
// multiply-add as the plain loop, so the values agree.
inline __m512 bn_vector(const float* x, const float* m, const float* a, const float* o) {
  return _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(m)), _mm512_loadu_ps(a),
                         _mm512_loadu_ps(o));
}
inline __m512d bn_vector(const double* x, const double* m, const double* a, const double* o) {
  return _mm512_fmadd_pd(_mm512_sub_pd(_mm512_loadu_pd(x), _mm512_loadu_pd(m)), _mm512_loadu_pd(a),
                         _mm512_loadu_pd(o));
}
inline void stream(float* y, __m512 v) { _mm512_stream_ps(y, v); }
inline void stream(double* y, __m512d v) { _mm512_stream_pd(y, v); }
#endif

}  // namespace

namespace kernels {

template <class T>
void batch_norm_rows(const T* x, T* y, int64_t r0, int64_t r1, int64_t c, const T* m, const T* a,
                     const T* o, bool streaming) {
#ifdef __AVX512F__
  constexpr int64_t kLanes = 64 / sizeof(T);
  if (streaming && c % kLanes == 0 && reinterpret_cast<uintptr_t>(y) % 64 == 0) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < c; j += kLanes)
        stream(y + r * c + j, bn_vector(x + r * c + j, m + j, a + j, o + j));
    _mm_sfence();  // order the streaming stores before the results are used
    return;
  }
#endif
  batch_norm_rows_plain(x, y, r0, r1, c, m, a, o);
}

template void batch_norm_rows<float>(const float*, float*, int64_t, int64_t, int64_t, const float*,
                                     const float*, const float*, bool);
template void batch_norm_rows<double>(const double*, double*, int64_t, int64_t, int64_t,
                                      const double*, const double*, const double*, bool);

int64_t streaming_store_threshold_bytes() {
  static const int64_t threshold = [] {
#ifdef _SC_LEVEL3_CACHE_SIZE  // glibc
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (l3 > 0) return static_cast<int64_t>(l3) / 4 * 3 / ThreadPool::hardware_threads();
#endif
    return int64_t{0};
  }();
  return threshold;
}

}  // namespace kernels

namespace {

// ---- FusedBatchNorm ----

const char* const kParamNames[] = {"x", "scale", "offset", "mean", "variance"};

void require_training_flag(const ShapeContext& ctx, int i) {
  SLUICE_REQUIRE(ctx.input_dtype(i) == DType::boolean, InvalidArgument,
                 "the training flag must be bool, got ", dtype_name(ctx.input_dtype(i)));
  SLUICE_REQUIRE(!ctx.input_shape(i).known_rank() || ctx.input_shape(i).rank() == 0,
                 InvalidArgument, "the training flag must be a scalar, got ",
                 ctx.input_shape(i).to_string());
}

// Checks inputs [first, first + count) are [C] vectors of input 0's dtype, C being the last
// dimension of input x_index; returns C (or -1 when unknown).
int64_t check_channel_params(const ShapeContext& ctx, int x_index, int first, int count,
                             const char* const* names) {
  const Shape& x = ctx.input_shape(x_index);
  int64_t c = x.known_rank() ? x.dim(-1) : -1;
  for (int i = first; i < first + count; ++i) {
    SLUICE_REQUIRE(ctx.input_dtype(i) == ctx.input_dtype(0), InvalidArgument, names[i - first],
                   " must have the dtype of x (", dtype_name(ctx.input_dtype(0)), "), got ",
                   dtype_name(ctx.input_dtype(i)));
    const Shape& p = ctx.input_shape(i);
    SLUICE_REQUIRE(!p.known_rank() || p.rank() == 1, InvalidArgument, names[i - first],
                   " must be a vector [C], got ", p.to_string(), " for x ", x.to_string());
    if (p.known_rank() && p.dim(0) >= 0) {
      SLUICE_REQUIRE(c < 0 || p.dim(0) == c, InvalidArgument, names[i - first], " ", p.to_string(),
                     " must have one element per channel (the last dimension of x ", x.to_string(),
                     ")");
      c = p.dim(0);
    }
  }
  return c;
}

void fused_batch_norm_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  const Shape& x = ctx.input_shape(0);
  SLUICE_REQUIRE(!x.known_rank() || x.rank() >= 2, InvalidArgument,
                 "FusedBatchNorm needs x of rank >= 2 with channels last ([N,C], [N,H,W,C]), got ",
                 x.to_string());
  const int64_t c = check_channel_params(ctx, 0, 1, 4, kParamNames + 1);
  require_training_flag(ctx, 5);
  const double eps = ctx.attr<double>("epsilon");
  SLUICE_REQUIRE(eps >= 0 && std::isfinite(eps), InvalidArgument,
                 "epsilon must be finite and >= 0, got ", eps);
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, x.known_rank() ? x.with_dim(-1, c) : x);
  for (int i = 0; i < 4; ++i) ctx.add_output(dt, Shape{c});
}

// Run-time checks shared by both kernels: x (input 0) has rank >= 2 and inputs `params` are
// [C] vectors; the training flag (input `flag`) is a bool scalar. Returns C.
int64_t check_kernel_inputs(const KernelContext& ctx, int x_index,
                            std::initializer_list<int> params, int flag) {
  const Tensor& x = ctx.input(x_index);
  SLUICE_REQUIRE(x.rank() >= 2, InvalidArgument, "x must have rank >= 2 with channels last, got ",
                 x.summary());
  const int64_t c = x.dim(-1);
  for (int i : params) {
    const Tensor& p = ctx.input(i);
    SLUICE_REQUIRE(p.dtype() == x.dtype() && p.rank() == 1 && p.dim(0) == c, InvalidArgument,
                   "input ", i, " (", p.summary(), ") must be a [", c, "] vector of ",
                   dtype_name(x.dtype()), " for x ", x.summary());
  }
  const Tensor& t = ctx.input(flag);
  SLUICE_REQUIRE(t.dtype() == DType::boolean && t.rank() == 0, InvalidArgument,
                 "the training flag must be a bool scalar, got ", t.summary());
  return c;
}

template <class T>
void fused_batch_norm_typed(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t c = x.dim(-1);
  const int64_t rows = c ? x.num_elements() / c : 0;
  const bool training = ctx.input(5).scalar<bool>();
  const double eps = ctx.attr<double>("epsilon");
  const T* scale = ctx.input(1).data<T>();
  const T* offset = ctx.input(2).data<T>();

  std::vector<double> mean(c), var(c);
  // An empty batch has no statistics: it is treated as inference (the given statistics pass
  // through), so a training step on it moves no moving average and gives zero gradients
  // for scale and offset instead of NaN.
  if (training && rows > 0) {
    Tensor& bm = ctx.allocate_output(1, Shape{c});
    Tensor& bv = ctx.allocate_output(2, Shape{c});
    Tensor& rm = ctx.allocate_output(3, Shape{c});
    {
      const T* xp = x.data<T>();
      // Shift by the first row, or 0 where it is not finite: an Inf there would make every
      // shifted value inf - x or NaN, and the mean NaN where it is +-inf.
      std::vector<T> shift(xp, xp + c);
      for (T& v : shift) v = std::isfinite(v) ? v : T(0);
      std::vector<double> sums(2 * c);
      blocked_channel_sums(ctx.pool(), rows, c, 2, sums.data(),
                           [&](int64_t r0, int64_t r1, double* p) {
                             moments_block(xp, r0, r1, c, shift.data(), p, p + c);
                           });
      const double inv_n = 1.0 / static_cast<double>(rows);
      for (int64_t j = 0; j < c; ++j) {
        const double m = sums[j] * inv_n;  // mean of the shifted values
        mean[j] = static_cast<double>(shift[j]) + m;
        const double v = sums[c + j] * inv_n - m * m;
        var[j] = v < 0.0 ? 0.0 : v;  // rounding can go below 0; NaN (from inf - inf) stays NaN
      }
    }
    const bool bessel = ctx.attr<bool>("bessel_correction");
    const double adjust =
        bessel ? static_cast<double>(rows) / static_cast<double>(std::max<int64_t>(rows - 1, 1))
               : 1.0;
    for (int64_t j = 0; j < c; ++j) {
      bm.data<T>()[j] = static_cast<T>(mean[j]);
      bv.data<T>()[j] = static_cast<T>(var[j] * adjust);
      rm.data<T>()[j] = static_cast<T>(mean[j]);
    }
  } else {
    const T* m = ctx.input(3).data<T>();
    const T* v = ctx.input(4).data<T>();
    for (int64_t j = 0; j < c; ++j) {
      mean[j] = m[j];
      var[j] = v[j];
    }
    // The given statistics pass through unchanged (the moving-average update then moves
    // nothing), as TensorFlow's inference branch returns the moving mean and variance.
    ctx.set_output(1, ctx.input(3));
    ctx.set_output(2, ctx.input(4));
    ctx.set_output(3, ctx.input(3));
  }
  // y = (x - m) * a + offset with a = scale / sqrt(v + eps). Centering first (rather than
  // x * a + (offset - m * a)) avoids cancellation when |m| >> std.
  Tensor& inv = ctx.allocate_output(4, Shape{c});
  std::vector<T> mt(c), at(c);
  for (int64_t j = 0; j < c; ++j) {
    const double is = 1.0 / std::sqrt(var[j] + eps);
    inv.data<T>()[j] = static_cast<T>(is);
    mt[j] = static_cast<T>(mean[j]);
    at[j] = static_cast<T>(static_cast<double>(scale[j]) * is);
  }
  const T* xp = x.data<T>();
  Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
  T* yp = y.data<T>();
  // Streaming stores only into a buffer of its own: in place, x's lines are in cache anyway.
  const int64_t threshold = streaming_store_threshold_bytes();
  const bool streaming = threshold > 0 && static_cast<int64_t>(y.num_bytes()) >= threshold &&
                         yp != static_cast<const void*>(xp);
  blocked_rows(ctx.pool(), rows, c, [&](int64_t r0, int64_t r1) {
    batch_norm_rows(xp, yp, r0, r1, c, mt.data(), at.data(), offset, streaming);
  });
}

void fused_batch_norm_kernel(KernelContext& ctx) {
  check_kernel_inputs(ctx, 0, {1, 2, 3, 4}, 5);
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "FusedBatchNorm", [&](auto tag) {
    fused_batch_norm_typed<typename decltype(tag)::type>(ctx);
  });
}

// ---- FusedBatchNormGrad ----
// Inputs: dy [.., C], x [.., C], scale [C], reserve_mean [C], reserve_inv_std [C], training.
// Outputs: dx [.., C], dscale [C], doffset [C]. With m, s = reserve_mean, reserve_inv_std and
// xhat = (x - m) s:
//   dscale = sum(dy xhat), doffset = sum(dy) (sums over all but the last axis);
//   inference: dx = scale s dy;
//   training:  dx = scale s (dy - doffset / n - xhat dscale / n) (m and s depend on x).

void fused_batch_norm_grad_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  require_same_dtype(ctx, 0, 1);
  const Shape shape = ctx.input_shape(0).merge(ctx.input_shape(1));
  SLUICE_REQUIRE(!shape.known_rank() || shape.rank() >= 2, InvalidArgument,
                 "FusedBatchNormGrad needs dy and x of rank >= 2, got ", shape.to_string());
  static const char* const names[] = {"scale", "reserve_mean", "reserve_inv_std"};
  const int64_t c = check_channel_params(ctx, 1, 2, 3, names);
  require_training_flag(ctx, 5);
  const DType dt = ctx.input_dtype(0);
  ctx.add_output(dt, shape.known_rank() ? shape.with_dim(-1, c) : shape);
  ctx.add_output(dt, Shape{c});
  ctx.add_output(dt, Shape{c});
}

template <class T>
void fused_batch_norm_grad_typed(KernelContext& ctx) {
  const Tensor& dy = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const int64_t c = x.dim(-1);
  const int64_t rows = c ? x.num_elements() / c : 0;
  const bool training = ctx.input(5).scalar<bool>();
  const T* scale = ctx.input(2).data<T>();
  const T* rm = ctx.input(3).data<T>();
  const T* ri = ctx.input(4).data<T>();
  const T* dyp = dy.data<T>();
  const T* xp = x.data<T>();

  std::vector<double> sums(2 * c);
  blocked_channel_sums(ctx.pool(), rows, c, 2, sums.data(), [&](int64_t r0, int64_t r1, double* p) {
    grad_sums_block(dyp, xp, r0, r1, c, rm, p, p + c);
  });
  T* dscale = ctx.allocate_output(1, Shape{c}).data<T>();
  T* doffset = ctx.allocate_output(2, Shape{c}).data<T>();
  // dx = k1 dy + k2 (x - m) + k3, per channel.
  std::vector<T> k1(c), k2(c), k3(c), mt(c);
  const double inv_n = rows ? 1.0 / static_cast<double>(rows) : 0.0;
  for (int64_t j = 0; j < c; ++j) {
    const double s = ri[j], g = static_cast<double>(scale[j]) * s;
    dscale[j] = static_cast<T>(sums[c + j] * s);
    doffset[j] = static_cast<T>(sums[j]);
    k1[j] = static_cast<T>(g);
    k2[j] = training ? static_cast<T>(-g * s * s * sums[c + j] * inv_n) : T(0);
    k3[j] = training ? static_cast<T>(-g * sums[j] * inv_n) : T(0);
    mt[j] = rm[j];
  }
  Tensor& dx = ctx.forward_or_allocate(0, 0, x.shape());
  T* dxp = dx.data<T>();
  const T *k1p = k1.data(), *k2p = k2.data(), *k3p = k3.data(), *mp = mt.data();
  blocked_rows(ctx.pool(), rows, c, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* gr = dyp + r * c;
      const T* xr = xp + r * c;
      T* o = dxp + r * c;
      if (training) {
        for (int64_t j = 0; j < c; ++j) o[j] = gr[j] * k1p[j] + ((xr[j] - mp[j]) * k2p[j] + k3p[j]);
      } else {
        for (int64_t j = 0; j < c; ++j) o[j] = gr[j] * k1p[j];
      }
    }
  });
}

void fused_batch_norm_grad_kernel(KernelContext& ctx) {
  check_kernel_inputs(ctx, 1, {2, 3, 4}, 5);
  SLUICE_REQUIRE(
      ctx.input(0).shape() == ctx.input(1).shape() && ctx.input(0).dtype() == ctx.input(1).dtype(),
      InvalidArgument, "dy ", ctx.input(0).summary(), " and x ", ctx.input(1).summary(),
      " must have the same dtype and shape");
  dispatch<SLUICE_FLOAT_TYPES>(ctx.input(0).dtype(), "FusedBatchNormGrad", [&](auto tag) {
    fused_batch_norm_grad_typed<typename decltype(tag)::type>(ctx);
  });
}

// True when g is the zeros autodiff put in for output j of op (no gradient flows there).
bool is_zero_filler(const Output& g, const Operation& op, int j) {
  return g.op().type() == "ZerosLike" && g.op().num_inputs() == 1 &&
         g.op().input(0) == op.output(j);
}

Grads fused_batch_norm_grad(const Scope& s, const Operation& op, const Grads& g) {
  const Output x = op.input(0), scale = op.input(1), training = op.input(5);
  const Output m = op.output(3), inv = op.output(4);
  Operation gr = NodeBuilder(s, "FusedBatchNormGrad")
                     .input(g[0])
                     .input(x)
                     .input(scale)
                     .input(m)
                     .input(inv)
                     .input(training)
                     .finish();
  Output dx = gr.output(0);
  const Output dscale = gr.output(1), doffset = gr.output(2);
  const Output zeros = ops::zeros_like(s, scale);
  // Inference: y depends on the given mean and variance.
  // d/dmean = -scale inv sum(dy); d/dvariance = -scale inv^2 dscale / 2
  Output dmean = ops::neg(s, ops::mul(s, ops::mul(s, scale, inv), doffset));
  Output dvar = ops::mul(s, ops::mul(s, ops::mul(s, scale, ops::square(s, inv)), dscale),
                         ops::scalar_like(s, x, -0.5));
  // Gradients flowing into the statistics outputs (none in a Keras model, where they only
  // feed the moving averages). batch_mean and reserve_mean are the mean used (m),
  // reserve_inv_std = (v + eps)^-1/2 with d/dv = -inv^3 / 2, batch_variance = v (inference)
  // or v * bessel (training, v the biased batch variance).
  const bool any_stats = !is_zero_filler(g[1], op, 1) || !is_zero_filler(g[2], op, 2) ||
                         !is_zero_filler(g[3], op, 3) || !is_zero_filler(g[4], op, 4);
  if (any_stats) {
    const Output g_mean = ops::add(s, g[1], g[3]);
    const Output g_inv = ops::mul(
        s, g[4], ops::mul(s, ops::mul(s, inv, ops::square(s, inv)), ops::scalar_like(s, x, -0.5)));
    // Elements per channel, and the Bessel factor n / max(n - 1, 1) of batch_variance.
    const Output n = ops::div(s, ops::cast(s, ops::size(s, x), x.dtype()),
                              ops::cast(s, ops::size(s, scale), x.dtype()));
    Output bessel = ops::scalar_like(s, x, 1.0);
    if (op.node()->attr<bool>("bessel_correction"))
      bessel = ops::div(s, n, ops::maximum(s, ops::sub(s, n, bessel), bessel));
    // Training: mean = sum(x) / n, v = sum((x - mean)^2) / n; dx += g_m / n + 2 g_v (x - m) / n.
    const Output g_var_train = ops::add(s, ops::mul(s, g[2], bessel), g_inv);
    const Output gm_t = ops::select(s, training, ops::div(s, g_mean, n), zeros);
    const Output gv_t = ops::select(
        s, training, ops::div(s, ops::mul(s, g_var_train, ops::scalar_like(s, x, 2.0)), n), zeros);
    dx = ops::add(s, dx, ops::add(s, ops::mul(s, ops::sub(s, x, m), gv_t), gm_t));
    dmean = ops::add(s, dmean, g_mean);
    dvar = ops::add(s, dvar, ops::add(s, g[2], g_inv));
  }
  return {dx,
          dscale,
          doffset,
          ops::select(s, training, zeros, dmean),
          ops::select(s, training, zeros, dvar),
          Output()};
}

}  // namespace

// clang-format off
void register_normalization_ops(OpRegistry& r) {
  r.op("FusedBatchNorm")
      .input("x").input("scale").input("offset").input("mean").input("variance").input("training")
      .output("y").output("batch_mean").output("batch_variance").output("reserve_mean")
      .output("reserve_inv_std")
      .attr("epsilon", 1e-3).attr("bessel_correction", true)
      .shape_fn(fused_batch_norm_shape).kernel(fused_batch_norm_kernel)
      .gradient(fused_batch_norm_grad);
  // As TensorFlow's FusedBatchNormGrad is here: second derivatives of batch normalization
  // are not supported (autodiff stops at this op).
  r.op("FusedBatchNormGrad")
      .input("y_backprop").input("x").input("scale").input("reserve_mean")
      .input("reserve_inv_std").input("training")
      .output("x_backprop").output("scale_backprop").output("offset_backprop")
      .shape_fn(fused_batch_norm_grad_shape).kernel(fused_batch_norm_grad_kernel)
      .not_differentiable();
}
// clang-format on

namespace ops {

FusedBatchNormOutputs fused_batch_norm(const Scope& scope, const Output& x, const Output& scale,
                                       const Output& offset, const Output& mean,
                                       const Output& variance, const Output& training,
                                       double epsilon, bool bessel_correction) {
  Operation op = NodeBuilder(scope, "FusedBatchNorm")
                     .input(x)
                     .input(scale)
                     .input(offset)
                     .input(mean)
                     .input(variance)
                     .input(training)
                     .attr("epsilon", epsilon)
                     .attr("bessel_correction", bessel_correction)
                     .finish();
  return {op.output(0), op.output(1), op.output(2), op.output(3), op.output(4), op};
}

}  // namespace ops
}  // namespace sluice
