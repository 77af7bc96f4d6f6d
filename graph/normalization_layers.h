// Normalization layers.
//
// BatchNormalization follows tf.keras: it reads the graph's learning phase
// (learning_phase(graph), false unless fed true) at run time, so one graph serves both:
//   learning phase true:  normalise with the batch statistics;
//   learning phase false: normalise with the moving statistics (the default).
// The moving statistics change only through the layer's update ops (updates(), also in
// the graph's update-ops collection), and only in runs where the learning phase is true:
//   moving = moving - (moving - batch_stat) * (1 - momentum)
//          (= moving * momentum + batch_stat * (1 - momentum)), with the batch statistics of
// the same run; in inference runs the update ops leave them unchanged.
//
// Who runs the update ops:
//   * optimizer.minimize(...) (and apply_gradients) runs every op in the update-ops
//     collection that exists when it is called, so the obvious loop keeps them current:
//       Operation train = optimizers::Adam(1e-3).minimize(root, loss);   // after the model
//       sess.run({{x, batch}, {y, labels}, {learning_phase(g), Tensor(true)}}, {}, {train});
//   * optimizer.with_update_ops(false).minimize(...) gives TensorFlow 1.x behaviour: the
//     train op does not run them; group them yourself, e.g.
//       std::vector<Operation> deps = g.update_ops();
//       deps.push_back(optimizer.with_update_ops(false).minimize(root, loss));
//       Operation step = ops::no_op(root, deps);
//     or pass bn.updates() as extra targets of the training run.
// Build the model before minimize(): update ops created later are not in its train op.
#pragma once

#include <string>

#include "layers.h"

namespace sluice::layers {

// x [N, .., C] -> y [N, .., C], normalised per channel (the last axis):
//   y = gamma * (x - mean) / sqrt(var + epsilon) + beta.
// Weights "<scope>/<name>/gamma" [C] (ones, trainable, if scale), "beta" [C] (zeros,
// trainable, if center), "moving_mean" [C] (zeros) and "moving_variance" [C] (ones), both
// non-trainable. Default name "batch_normalization".
//
// One convention for every dtype and rank, TensorFlow's fused kernel's (tf.keras takes it
// for float32 inputs of rank 4 or 5): the batch variance fed to moving_variance carries
// Bessel's correction (n / (n - 1), n = elements per channel; n / 1 for n = 1), and epsilon
// is at least 1.001e-5. The normalisation itself always uses the biased batch variance.
// (tf.keras' non-fused path, for float64 or other ranks, averages the biased variance
// instead, so its moving variance depends on the dtype; Sluice's does not.)
// An empty batch in training leaves gamma, beta and the moving statistics unchanged (see
// ops::fused_batch_norm): the step has nothing to learn from.
// Only axis -1 (channels last) is supported; any other axis raises Unimplemented when the
// layer is first called. Each call adds two update ops (mean and variance).
// With set_trainable(false) (before the first call) the layer is Keras 2's frozen batch
// normalization: inference mode whatever the learning phase, gamma and beta non-trainable,
// no update ops.
//
// sync (data-parallel training, distributed/): the batch statistics of training runs are
// those of the global batch over all replicas (the per-channel sums, then the squared
// deviations from the global mean, summed across replicas through the cross-replica sum
// the distributed library installs), so N replicas with batch b normalise as one process
// with batch N*b. Off (the default), each replica uses its own batch, as Keras and Horovod.
// Without the distributed library, or with one process, sync changes nothing but the
// kernels (composite ops instead of the fused one).
class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(int64_t axis = -1, double momentum = 0.99, double epsilon = 1e-3,
                              bool center = true, bool scale = true, std::string name = "",
                              bool sync = false);
  bool sync() const { return sync_; }

  // The weights (invalid Outputs before the first call, and for gamma/beta when disabled).
  Output gamma() const { return gamma_; }
  Output beta() const { return beta_; }
  Output moving_mean() const { return moving_mean_; }
  Output moving_variance() const { return moving_variance_; }

 protected:
  const char* default_name() const override { return "batch_normalization"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t axis_;
  double momentum_, epsilon_;
  bool center_, scale_, sync_;
  Output gamma_, beta_, moving_mean_, moving_variance_;
};

// x -> the elementwise sum of x over the data-parallel replicas when `enabled` (a bool
// scalar, the learning phase) is true at run time, else x. Installed by the distributed
// library (distributed/); null means one replica.
using CrossReplicaSum = Output (*)(const Scope& scope, const Output& x, const Output& enabled);
void set_cross_replica_sum(CrossReplicaSum fn);

}  // namespace sluice::layers
