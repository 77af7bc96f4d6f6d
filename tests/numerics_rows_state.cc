// NaN and Inf rows for the normalization, rnn, state, training and random op families.
// Rows that write variables return the variable's value read after the write (an
// AssignAdd of zero ordered after it), so the table sees what was stored.
#include "op_numerics.h"

namespace sluice::testing {
namespace {

Output c(const Scope& s, const Output& like, double v) { return ops::scalar_like(s, like, v); }
Output vec(const Scope& s, const Output& like, std::vector<double> v) {
  const Shape shape{static_cast<int64_t>(v.size())};
  return ops::constant(s, Tensor::from_vector(v, shape).cast(like.dtype()));
}
Output var(const Scope& s, const Output& like, std::vector<double> v) {
  const Shape shape{static_cast<int64_t>(v.size())};
  return ops::variable(s, shape, like.dtype(),
                       Initializer::constant(Tensor::from_vector(v, shape).cast(like.dtype())));
}
// The value of `v` after `write` ran.
Output after(const Scope& s, const Operation& write, const Output& v) {
  return ops::assign_add(s.with_control_dependencies({write}), v, ops::zeros_like(s, v));
}

std::vector<NumericsRow> normalization_rows() {
  // x [2,2]: two rows, two channels; scale 1, offset 0, moving mean 0 and variance 1.
  auto bn = [](const Scope& s, const Output& x, bool training) {
    return ops::fused_batch_norm(s, x, vec(s, x, {1, 1}), vec(s, x, {0, 0}), vec(s, x, {0, 0}),
                                 vec(s, x, {1, 1}), ops::constant(s, Tensor(training)));
  };
  const double k = 0.9995003746877732;  // 1 / sqrt(1 + 0.001)
  return join({
      // Inference: only the NaN element is NaN.
      rows("FusedBatchNorm", {T({kNaN, 1, 2, 3}, {2, 2})}, {kNaN, k, 2 * k, 3 * k},
           {T({kInf, -kInf, 2, 3}, {2, 2})}, {kInf, -kInf, 2 * k, 3 * k},
           [bn](const Scope& s, const X& x) { return bn(s, x[0], false).y; }),
      // Training: a NaN makes its channel's statistics NaN; +-inf makes them NaN too.
      rows("FusedBatchNorm", {T({kNaN, 1, 2, 3}, {2, 2})}, {kNaN, -k, kNaN, k},
           {T({kInf, 1, 2, -kInf}, {2, 2})}, {kNaN, kNaN, kNaN, kNaN},
           [bn](const Scope& s, const X& x) { return bn(s, x[0], true).y; }),
      rows("FusedBatchNorm", {T({kNaN, 1, 2, 3}, {2, 2})}, {kNaN, 2},
           {T({kInf, 1, 2, 3}, {2, 2})}, {kInf, 2},
           [bn](const Scope& s, const X& x) { return bn(s, x[0], true).batch_mean; }),
      // The gradient: a NaN (or Inf) in dy reaches its channel of dx; the other channel's
      // dx is exactly 0 here (dy constant over it).
      rows("FusedBatchNormGrad", {T({0, 1, 2, 3}, {2, 2}), T({kNaN, 1, 1, 1}, {2, 2})}, {kNaN, 0, kNaN, 0},
           {T({0, 1, 2, 3}, {2, 2}), T({kInf, 1, 1, 1}, {2, 2})}, {kNonFinite, 0, kNonFinite, 0},
           [bn](const Scope& s, const X& x) { return gradients(s, {bn(s, x[0], true).y}, {x[0]}, {x[1]})[0]; }),
  });
}

std::vector<NumericsRow> rnn_rows() {
  // B = 2, T = 2, F = 1, U = 1; every weight 1, bias 0, zero initial state. +inf saturates
  // every gate of batch 0 open (c = 1, then 2; h = tanh(2)), -inf every gate of batch 1
  // shut (h = c = 0): the LSTM's own sigmoid/tanh must handle +-inf.
  auto lstm = [](const Scope& s, const Output& x) {
    const Output zeros = ops::zeros_like(s, ops::reshape(s, ops::slice(s, x, {0, 0, 0}, {-1, 1, 1}), {-1, 1}));
    return ops::lstm(s, x, zeros, zeros, ops::reshape(s, vec(s, x, {1, 1, 1, 1}), {1, 4}),
                     ops::reshape(s, vec(s, x, {1, 1, 1, 1}), {1, 4}), vec(s, x, {0, 0, 0, 0}));
  };
  return join({
      rows("LSTM", {T({1, kNaN, 1, 2}, {2, 2, 1})}, {kNaN, kFinite},
           {T({kInf, kInf, -kInf, -kInf}, {2, 2, 1})}, {0.9640275800758169, 0},
           [lstm](const Scope& s, const X& x) { return lstm(s, x[0])[1]; }),
      rows("LSTM", {T({kNaN, 1, 1, 2}, {2, 2, 1})}, {kNaN, kFinite},
           {T({kInf, kInf, -kInf, -kInf}, {2, 2, 1})}, {2, 0},
           [lstm](const Scope& s, const X& x) { return lstm(s, x[0])[2]; }),
      rows("LSTM", {T({kNaN, 1, 1, 2}, {2, 2, 1})}, {kNaN, kNaN, kFinite, kFinite},
           {T({kInf, kInf, -kInf, -kInf}, {2, 2, 1})}, {0.7615941559557649, 0.9640275800758169, 0, 0},
           [lstm](const Scope& s, const X& x) { return lstm(s, x[0])[0]; }),
      rows("LSTMGrad", {T({0.5, -0.3, 0.2, 0.1}, {2, 2, 1}), T({kNaN, 1}, {2, 1})},
           {kNaN, kNaN, kFinite, kFinite}, {T({0.5, -0.3, 0.2, 0.1}, {2, 2, 1}), T({kInf, 1}, {2, 1})},
           {kNonFinite, kNonFinite, kFinite, kFinite},
           [lstm](const Scope& s, const X& x) { return gradients(s, {lstm(s, x[0])[1]}, {x[0]}, {x[1]})[0]; }),
  });
}

std::vector<NumericsRow> state_rows() {
  return join({
      exempt("VariableV2", "no inputs: holds what its initializer or an update wrote"),
      exempt("NoOp", "no data inputs or outputs"),
      exempt("RandomUniform", "no inputs: shape and parameters are attrs"),
      exempt("RandomNormal", "no inputs: shape and parameters are attrs"),
      exempt("TruncatedNormal", "no inputs: shape and parameters are attrs"),
      exempt("RandomOrthogonal", "no inputs: shape and parameters are attrs"),
      rows("Assign", {T({kNaN, 1, 2}, {3})}, {kNaN, 1, 2}, {T({kInf, -kInf, 0}, {3})}, {kInf, -kInf, 0},
           [](const Scope& s, const X& x) { return ops::assign(s, var(s, x[0], {0, 0, 0}), x[0]); }),
      rows("AssignAdd", {T({kNaN, 1, 2}, {3})}, {kNaN, 2, 3}, {T({-kInf, kInf, 1}, {3})}, {kNaN, kInf, 2},
           [](const Scope& s, const X& x) { return ops::assign_add(s, var(s, x[0], {kInf, 1, 1}), x[0]); }),
      rows("AssignSub", {T({kNaN, 1, 2}, {3})}, {kNaN, 0, -1}, {T({kInf, kInf, -kInf}, {3})}, {kNaN, -kInf, kInf},
           [](const Scope& s, const X& x) { return ops::assign_sub(s, var(s, x[0], {kInf, 1, 1}), x[0]); }),
  });
}

// A NaN or Inf gradient must reach the weights (never a silent skip): var = 1, lr = 0.5.
std::vector<NumericsRow> training_rows() {
  const Tensor gn = T({kNaN, 2}, {2}), gi = T({kInf, -kInf}, {2});
  return join({
      rows("ApplyGradientDescent", {gn}, {kNaN, 0}, {gi}, {-kInf, kInf},
           [](const Scope& s, const X& x) {
             const Output w = var(s, x[0], {1, 1});
             return after(s, ops::apply_gradient_descent(s, w, c(s, w, 0.5), x[0]), w);
           }),
      rows("ApplyMomentum", {gn}, {kNaN, 0}, {gi}, {-kInf, kInf},
           [](const Scope& s, const X& x) {
             const Output w = var(s, x[0], {1, 1}), acc = var(s, x[0], {0, 0});
             return after(s, ops::apply_momentum(s, w, acc, c(s, w, 0.5), x[0], c(s, w, 0.9)), w);
           }),
      // Adam and RMSprop divide the first moment by the root of the second: inf / inf = NaN.
      rows("ApplyAdam", {gn}, {kNaN, kFinite}, {gi}, {kNaN, kNaN},
           [](const Scope& s, const X& x) {
             const Output w = var(s, x[0], {1, 1}), m = var(s, x[0], {0, 0}), v = var(s, x[0], {0, 0});
             return after(s, ops::apply_adam(s, w, m, v, c(s, w, 0.9), c(s, w, 0.999), c(s, w, 0.001),
                                             c(s, w, 0.9), c(s, w, 0.999), c(s, w, 1e-7), x[0]), w);
           }),
      rows("ApplyRMSProp", {gn}, {kNaN, kFinite}, {gi}, {kNaN, kNaN},
           [](const Scope& s, const X& x) {
             const Output w = var(s, x[0], {1, 1}), ms = var(s, x[0], {0, 0}), mom = var(s, x[0], {0, 0});
             return after(s, ops::apply_rms_prop(s, w, ms, mom, c(s, w, 0.001), c(s, w, 0.9), c(s, w, 0.0),
                                                 c(s, w, 1e-7), x[0]), w);
           }),
  });
}

std::vector<NumericsRow> state_family_rows() {
  return join({normalization_rows(), rnn_rows(), state_rows(), training_rows()});
}

const bool registered = register_numerics_rows(state_family_rows);

}  // namespace
}  // namespace sluice::testing
