// Neural-network ops: declaration, shape function, CPU kernel and gradient of each.
#include "nn_ops.h"

#include "eigen.h"  // <Eigen/Core>
#include <cmath>

#include "array_ops.h"
#include "kernel_util.h"
#include "math_ops.h"
#include "philox.h"
#include "random_ops.h"
#include "reduction_ops.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

using Grads = std::vector<Output>;
using Ints = std::vector<int64_t>;
template <class T>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

void float_unchanged(ShapeContext& ctx) {
  require_float(ctx, 0);
  unchanged_shape(ctx);
}

// ---- Relu, ReluGrad ----

void relu_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "Relu", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_range(ctx.pool(), x.num_elements(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      // x < 0 ? 0 : x keeps NaN (x > 0 ? x : 0 would turn it into 0).
      for (int64_t i = b; i < e; ++i) yp[i] = xp[i] < T(0) ? T(0) : xp[i];
    });
  });
}
Output relu_grad_op(const Scope& s, const Output& g, const Output& y) {
  return NodeBuilder(s, "ReluGrad").input(g).input(y).finish().output(0);
}
Grads relu_grad(const Scope& s, const Operation& op, const Grads& g) {
  return {relu_grad_op(s, g[0], op.output(0))};  // d/dx relu(x) = 1 where x > 0, NaN at NaN
}

void relu_grad_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  require_same_dtype(ctx, 0, 1);
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(0).merge(ctx.input_shape(1)));
}
void relu_grad_kernel(KernelContext& ctx) {
  const Tensor& g = ctx.input(0);
  const Tensor& y = ctx.input(1);
  SLUICE_REQUIRE(g.shape() == y.shape(), InvalidArgument, "ReluGrad shapes ", g.shape().to_string(),
                 " and ", y.shape().to_string());
  dispatch<SLUICE_FLOAT_TYPES>(g.dtype(), "ReluGrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& out = ctx.forward_or_allocate(0, 0, g.shape());
    const T* gp = g.data<T>();
    const T* yp = y.data<T>();
    T* op = out.data<T>();
    parallel_range(ctx.pool(), g.num_elements(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      // g where y > 0, else 0; a NaN in y (a NaN input) or in g stays NaN.
      for (int64_t i = b; i < e; ++i) {
        const T yv = yp[i], gv = gp[i];
        op[i] = yv > T(0) ? gv : yv != yv ? yv : gv != gv ? gv : T(0);
      }
    });
  });
}
Grads relu_grad_grad(const Scope& s, const Operation& op, const Grads& g) {
  // ReluGrad is linear in g with the same mask; y only selects.
  return {relu_grad_op(s, g[0], op.input(1)), Output()};
}

// ---- Softmax, LogSoftmax (over the last axis) ----

void softmax_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  const Shape& s = ctx.input_shape(0);
  SLUICE_REQUIRE(!s.known_rank() || s.rank() >= 1, InvalidArgument,
                 "softmax needs rank >= 1, got a scalar");
  unchanged_shape(ctx);
}

template <bool kLog>
void softmax_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  SLUICE_REQUIRE(x.rank() >= 1, InvalidArgument, "softmax needs rank >= 1, got a scalar");
  const int64_t c = x.dim(-1);
  const int64_t rows = c ? x.num_elements() / c : 0;
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "Softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    parallel_range(ctx.pool(), rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(c, 1)),
                   [&](int64_t b, int64_t e) {
                     for (int64_t r = b; r < e; ++r) {
                       ConstRow<T> xr(xp + r * c, c);
                       Row<T> yr(yp + r * c, c);
                       const T m = xr.maxCoeff();
                       if (kLog) {
                         const T lse = std::log((xr - m).exp().sum());
                         yr = xr - m - lse;
                       } else {
                         yr = (xr - m).exp();
                         yr /= yr.sum();
                       }
                     }
                   });
  });
}
Grads softmax_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx softmax: dx = (g - sum(g * y, -1)) * y
  const Output y = op.output(0);
  const Output dot = ops::sum(s, ops::mul(s, g[0], y), {-1}, true);
  return {ops::mul(s, ops::sub(s, g[0], dot), y)};
}
Grads log_softmax_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx log_softmax: dx = g - sum(g, -1) * exp(y)
  const Output y = op.output(0);
  return {ops::sub(s, g[0], ops::mul(s, ops::sum(s, g[0], {-1}, true), ops::exp(s, y)))};
}

// ---- BiasAdd ----

void bias_add_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  require_same_dtype(ctx, 0, 1);
  const Shape& x = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  SLUICE_REQUIRE(!b.known_rank() || b.rank() == 1, InvalidArgument, "bias must be 1-D, got ",
                 b.to_string());
  SLUICE_REQUIRE(!x.known_rank() || x.rank() >= 1, InvalidArgument, "BiasAdd input must have rank >= 1");
  if (x.known_rank() && b.known_rank()) {
    SLUICE_REQUIRE(x.dim(-1) < 0 || b.dim(0) < 0 || x.dim(-1) == b.dim(0), InvalidArgument,
                   "Must provide as many biases as the last dimension of the input: input ",
                   x.to_string(), ", bias ", b.to_string());
  }
  unchanged_shape(ctx);
}
void bias_add_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& bias = ctx.input(1);
  SLUICE_REQUIRE(x.rank() >= 1 && bias.rank() == 1 && bias.dim(0) == x.dim(-1), InvalidArgument,
                 "BiasAdd of ", x.summary(), " and bias ", bias.summary());
  const int64_t c = bias.dim(0);
  const int64_t rows = c ? x.num_elements() / c : 0;
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "BiasAdd", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
    const T* xp = x.data<T>();
    const T* bp = bias.data<T>();
    T* yp = y.data<T>();
    parallel_range(ctx.pool(), rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(c, 1)),
                   [&](int64_t b, int64_t e) {
                     for (int64_t r = b; r < e; ++r)
                       for (int64_t j = 0; j < c; ++j) yp[r * c + j] = xp[r * c + j] + bp[j];
                   });
  });
}
Grads bias_add_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx = g; d/dbias = g summed over all but the last axis
  return {g[0], ops::sum_to_like(s, g[0], op.input(1))};
}

// ---- Dropout ----

void dropout_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  SLUICE_REQUIRE(ctx.input_dtype(1) == DType::boolean, InvalidArgument,
                 "dropout's training flag must be bool, got ", dtype_name(ctx.input_dtype(1)));
  SLUICE_REQUIRE(!ctx.input_shape(1).known_rank() || ctx.input_shape(1).rank() == 0,
                 InvalidArgument, "dropout's training flag must be a scalar, got ",
                 ctx.input_shape(1).to_string());
  const double rate = ctx.attr<double>("rate");
  SLUICE_REQUIRE(rate >= 0.0 && rate < 1.0, InvalidArgument, "dropout rate must be in [0, 1), got ", rate);
  const Shape& x = ctx.input_shape(0);
  const Ints& ns = ctx.attr<Ints>("noise_shape");
  Shape mask = x;
  if (!ns.empty()) {
    mask = Shape(ns);
    SLUICE_REQUIRE(x.known_rank() && mask.rank() == x.rank(), InvalidArgument, "noise_shape ",
                   mask.to_string(), " must have the rank of the input ", x.to_string());
    for (int i = 0; i < x.rank(); ++i) {
      SLUICE_REQUIRE(ns[i] == 1 || ns[i] == -1 || x.dim(i) < 0 || ns[i] == x.dim(i), InvalidArgument,
                     "noise_shape ", mask.to_string(), " does not broadcast to the input ", x.to_string());
      if (ns[i] == -1) mask = mask.with_dim(i, x.dim(i));
    }
  }
  ctx.add_output(ctx.input_dtype(0), x);
  ctx.add_output(ctx.input_dtype(0), mask);
}

void dropout_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool training = ctx.input(1).scalar<bool>();
  const double rate = ctx.attr<double>("rate");
  const Ints& ns = ctx.attr<Ints>("noise_shape");
  Ints mask_dims = x.shape().dims();
  for (size_t i = 0; i < ns.size() && i < mask_dims.size(); ++i)
    if (ns[i] != -1) mask_dims[i] = ns[i];
  const Shape mask_shape(mask_dims);
  SLUICE_REQUIRE(broadcast_shapes(mask_shape, x.shape()) == x.shape(), InvalidArgument,
                 "noise_shape ", mask_shape.to_string(), " does not broadcast to ", x.shape().to_string());
  dispatch<SLUICE_FLOAT_TYPES>(x.dtype(), "Dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor& mask = ctx.allocate_output(1, mask_shape);
    T* mp = mask.data<T>();
    const int64_t n = mask.num_elements();
    if (!training || rate == 0.0) {
      std::fill(mp, mp + n, T(1));
      ctx.set_output(0, x);  // identity at inference
      return;
    }
    const philox::Stream stream(ctx.attr_int("seed"), ctx.attr_int("seed2"), ctx.next_run_index());
    const T scale = static_cast<T>(1.0 / (1.0 - rate));
    const float keep_from = static_cast<float>(rate);
    // Elements take Philox words in generate_words' vector order, 256 per group of 64
    // blocks; chunks start on group boundaries, so the mask does not depend on threads.
    constexpr int64_t kBlocks = 64;
    const int64_t groups = (n + 4 * kBlocks - 1) / (4 * kBlocks);
    parallel_range(ctx.pool(), groups, std::max<int64_t>(1, kElementwiseGrain / (4 * kBlocks)),
                   [&](int64_t b, int64_t e) {
                     uint32_t words[4 * kBlocks];
                     for (int64_t grp = b; grp < e; ++grp) {
                       const int64_t first = grp * 4 * kBlocks;
                       const int64_t count = std::min<int64_t>(4 * kBlocks, n - first);
                       const int64_t blocks = ((count + 3) / 4 + 7) / 8 * 8;
                       philox::generate_words(stream, static_cast<uint64_t>(grp * kBlocks), blocks, words);
                       for (int64_t j = 0; j < count; ++j)
                         mp[first + j] = philox::to_float(words[j]) >= keep_from ? scale : T(0);
                     }
                   });
    Tensor& y = ctx.forward_or_allocate(0, 0, x.shape());
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (mask_shape == x.shape()) {
      parallel_range(ctx.pool(), n, kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) yp[i] = xp[i] * mp[i];
      });
    } else {
      BroadcastLoop<2> loop(x.shape(), {&x.shape(), &mask_shape});
      for_each_broadcast_row<2>(ctx.pool(), loop, [&](int64_t o, auto off, int64_t len, auto st) {
        for (int64_t j = 0; j < len; ++j) yp[o + j] = xp[off[0] + j * st[0]] * mp[off[1] + j * st[1]];
      });
    }
  });
}
Grads dropout_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx dropout(x) = mask (0 or 1/(1-rate), all ones at inference)
  return {ops::mul(s, g[0], op.output(1)), Output()};
}

}  // namespace

void register_nn_ops(OpRegistry& r) {
  r.op("Relu").input("features").output("activations")
      .shape_fn(float_unchanged).kernel(relu_kernel).gradient(relu_grad);
  r.op("ReluGrad").input("gradients").input("outputs").output("backprops")
      .shape_fn(relu_grad_shape).kernel(relu_grad_kernel).gradient(relu_grad_grad);
  r.op("Softmax").input("logits").output("softmax")
      .shape_fn(softmax_shape).kernel(softmax_kernel<false>).gradient(softmax_grad);
  r.op("LogSoftmax").input("logits").output("logsoftmax")
      .shape_fn(softmax_shape).kernel(softmax_kernel<true>).gradient(log_softmax_grad);
  r.op("BiasAdd").input("value").input("bias").output("output")
      .shape_fn(bias_add_shape).kernel(bias_add_kernel).gradient(bias_add_grad);
  r.op("Dropout").input("x").input("training").output("y").output("mask")
      .required_attr("rate").attr("seed", 0).attr("seed2", 0).attr("noise_shape", Ints{})
      .shape_fn(dropout_shape).kernel(dropout_kernel).gradient(dropout_grad).stateful();
}

namespace ops {

Output relu(const Scope& s, const Output& x) {
  return NodeBuilder(s, "Relu").input(x).finish().output(0);
}
Output softmax(const Scope& s, const Output& x) {
  return NodeBuilder(s, "Softmax").input(x).finish().output(0);
}
Output log_softmax(const Scope& s, const Output& x) {
  return NodeBuilder(s, "LogSoftmax").input(x).finish().output(0);
}
Output bias_add(const Scope& s, const Output& x, const Output& bias) {
  return NodeBuilder(s, "BiasAdd").input(x).input(bias).finish().output(0);
}

Output l2_normalize(const Scope& scope, const Output& x, const std::vector<int64_t>& axes,
                    double epsilon) {
  const Scope s = scope.sub(scope.explicit_name().empty() ? "l2_normalize" : scope.explicit_name());
  const Output sq = ops::sum(s, ops::square(s, x), axes, true);
  const Output inv = ops::rsqrt(s, ops::maximum(s, sq, ops::scalar_like(s, x, epsilon)));
  return ops::mul(scope.named(scope.explicit_name().empty() ? "l2_normalize" : scope.explicit_name()),
                  x, inv);
}

Output dropout(const Scope& s, const Output& x, const Output& training, double rate, int64_t seed,
               const std::vector<int64_t>& noise_shape) {
  const auto [seed1, seed2] = random_seeds(s, seed);
  return NodeBuilder(s, "Dropout").input(x).input(training).attr("rate", rate).attr("seed", seed1)
      .attr("seed2", seed2).attr("noise_shape", noise_shape).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
