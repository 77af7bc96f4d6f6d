#include "normalization_layers.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/normalization_ops.h"
#include "../ops/reduction_ops.h"
#include "../ops/shape_ops.h"

namespace sluice::layers {

namespace {

// TensorFlow's fused batch norm (tf.nn.fused_batch_norm) raises epsilon to this.
constexpr double kFusedMinEpsilon = 1.001e-5;

std::atomic<CrossReplicaSum> g_cross_replica_sum{nullptr};

}  // namespace

void set_cross_replica_sum(CrossReplicaSum fn) { g_cross_replica_sum.store(fn); }

BatchNormalization::BatchNormalization(int64_t axis, double momentum, double epsilon, bool center,
                                       bool scale, std::string name, bool sync)
    : Layer(std::move(name)),
      axis_(axis),
      momentum_(momentum),
      epsilon_(epsilon),
      center_(center),
      scale_(scale),
      sync_(sync) {
  SLUICE_REQUIRE(std::isfinite(momentum) && momentum >= 0 && momentum <= 1, InvalidArgument,
                 "BatchNormalization momentum must be in [0, 1], got ", momentum);
  SLUICE_REQUIRE(std::isfinite(epsilon) && epsilon >= 0, InvalidArgument,
                 "BatchNormalization epsilon must be finite and >= 0, got ", epsilon);
}

void BatchNormalization::build(const Scope& scope, const Shape& input_shape, DType dtype) {
  SLUICE_REQUIRE(input_shape.known_rank() && input_shape.rank() >= 2, InvalidArgument,
                 "BatchNormalization layer '", name(), "' needs inputs of known rank >= 2, got ",
                 input_shape.to_string());
  SLUICE_REQUIRE(is_floating(dtype), InvalidArgument, "BatchNormalization layer '", name(),
                 "' needs float inputs, got ", dtype_name(dtype));
  const int rank = input_shape.rank();
  SLUICE_REQUIRE(axis_ >= -rank && axis_ < rank, InvalidArgument, "BatchNormalization layer '",
                 name(), "': axis ", axis_, " is out of range for inputs ",
                 input_shape.to_string());
  SLUICE_REQUIRE(axis_ == -1 || axis_ == rank - 1, Unimplemented, "BatchNormalization layer '",
                 name(), "': only the last axis (-1, channels last) is supported, got axis ", axis_,
                 " for inputs ", input_shape.to_string());
  const int64_t c = input_shape.dim(-1);
  SLUICE_REQUIRE(c > 0, InvalidArgument, "BatchNormalization layer '", name(),
                 "' needs inputs whose last (channel) dimension is known, got ",
                 input_shape.to_string());
  const Shape param{c};
  if (scale_) gamma_ = add_weight(scope, "gamma", param, dtype, Initializer::ones());
  if (center_) beta_ = add_weight(scope, "beta", param, dtype, Initializer::zeros());
  moving_mean_ = add_weight(scope, "moving_mean", param, dtype, Initializer::zeros(), false);
  moving_variance_ = add_weight(scope, "moving_variance", param, dtype, Initializer::ones(), false);
}

Output BatchNormalization::call(const Scope& scope, const Output& x) {
  const Shape& s = x.shape();
  const Shape& param = moving_mean_.shape();
  SLUICE_REQUIRE(s.known_rank() && s.rank() >= 2 && s.dim(-1) == param.dim(0) &&
                     x.dtype() == moving_mean_.dtype(),
                 InvalidArgument, "BatchNormalization layer '", name(), "' built for ",
                 dtype_name(moving_mean_.dtype()), " inputs [..,", param.dim(0), "] called on ",
                 dtype_name(x.dtype()), s.to_string());
  const DType dt = x.dtype();
  // Keras 2: a non-trainable BatchNormalization runs in inference mode, in fit too, and
  // leaves its moving statistics alone.
  const Output training = trainable() ? learning_phase(scope.graph())
                                      : ops::constant(scope.named("frozen_training"), Tensor(false));
  const Output gamma =
      scale_ ? gamma_ : ops::constant(scope.named("gamma_const"), Tensor::ones(dt, param));
  const Output beta =
      center_ ? beta_ : ops::constant(scope.named("beta_const"), Tensor::zeros(dt, param));
  // One convention for every dtype and rank: TensorFlow's fused kernel's (Keras takes it
  // only for float32 rank-4/5 inputs and otherwise keeps the biased variance, so its moving
  // variance depends on the dtype): the moving variance averages the Bessel-corrected batch
  // variance n / (n - 1) v, and epsilon is at least 1.001e-5.
  const double eps = std::max(epsilon_, kFusedMinEpsilon);
  ops::FusedBatchNormOutputs bn;
  if (!sync_) {
    bn = ops::fused_batch_norm(scope.named("FusedBatchNorm"), x, gamma, beta, moving_mean_,
                               moving_variance_, training, eps, /*bessel_correction=*/true);
  } else {
    // Global-batch moments in two passes (sum, then squared deviations from the global
    // mean), each summed over the replicas; the count rides along with the first sum.
    const Scope ss = scope.sub("SyncBatchNorm");
    const CrossReplicaSum crs = g_cross_replica_sum.load();
    auto replica_sum = [&](const Output& v) { return crs ? crs(ss, v, training) : v; };
    std::vector<int64_t> axes;
    for (int i = 0; i + 1 < s.rank(); ++i) axes.push_back(i);
    const int64_t c = param.dim(0);
    const Output local_n = ops::reshape(
        ss, ops::cast(ss, ops::div(ss, ops::size(ss, x), ops::constant(ss, Tensor(c))), dt), {1});
    const Output sums = replica_sum(ops::concat(ss, {ops::sum(ss, x, axes), local_n}, 0));
    const Output n = ops::slice(ss, sums, {c}, {1});
    // An empty global batch divides by 1: the statistics are 0 (the fused kernel's choice).
    const Output n_safe = ops::maximum(ss, n, ops::scalar_like(ss, n, 1.0));
    const Output mean = ops::div(ss, ops::slice(ss, sums, {0}, {c}), n_safe);
    const Output centered = ops::sub(ss, x, mean);
    const Output var = ops::div(ss, replica_sum(ops::sum(ss, ops::square(ss, centered), axes)), n_safe);
    const Output use_mean = ops::select(ss, training, mean, moving_mean_);
    const Output use_var = ops::select(ss, training, var, moving_variance_);
    const Output inv = ops::mul(ss, ops::rsqrt(ss, ops::add(ss, use_var, ops::scalar_like(ss, use_var, eps))), gamma);
    bn.y = ops::add(ss, ops::mul(ss, ops::sub(ss, x, use_mean), inv), beta);
    bn.batch_mean = use_mean;
    // Bessel's correction for the moving variance, as the fused kernel: n / (n - 1).
    const Output bessel = ops::div(ss, n, ops::maximum(ss, ops::sub(ss, n, ops::scalar_like(ss, n, 1.0)),
                                                       ops::scalar_like(ss, n, 1.0)));
    bn.batch_variance = ops::select(ss, training, ops::mul(ss, var, bessel), moving_variance_);
  }

  // Keras: decay = 1 - momentum in training, 1 - 1 = 0 in inference, both computed in the
  // variable's dtype (so float32 gets 1 - float(0.99)). In inference the op passes the
  // moving statistics through, so the update subtracts exactly (v - v) * 0 = 0.
  const double decay_value = dt == DType::f32
                                 ? static_cast<double>(1.0f - static_cast<float>(momentum_))
                                 : 1.0 - momentum_;
  const Output decay = ops::select(scope.named("decay"), training,
                                   ops::constant(scope, Tensor::filled(dt, Shape{}, decay_value)),
                                   ops::constant(scope, Tensor::zeros(dt, Shape{})));
  auto moving_average = [&](const Output& var, const Output& value) {
    const Scope us =
        scope.with_prefix(scope.graph().unique_name(scope.prefix() + "AssignMovingAvg"));
    const Output delta = ops::mul(us, ops::sub(us, var, value), decay);
    return ops::assign_sub(us.named("AssignSub"), var, delta).op();
  };
  if (trainable()) {
    add_update(moving_average(moving_mean_, bn.batch_mean));
    add_update(moving_average(moving_variance_, bn.batch_variance));
  }
  return bn.y;
}

}  // namespace sluice::layers
