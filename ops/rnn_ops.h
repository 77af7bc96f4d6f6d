// Recurrent ops: fused LSTM, GRU and simple RNN layers run over a whole sequence, with
// Keras semantics by default and the options ONNX's LSTM/GRU/RNN add (activations with
// parameters, reverse processing, sequence lengths, cell clip, peepholes, coupled gates).
//
// Shapes are batch-major: x [B, T, F], states [B, U], sequence outputs [B, T, U]. B and T
// may be unknown until run time. All inputs of one op share a dtype, float32 or float64.
// Every op is differentiable with respect to x, the initial states and all weights (full
// backpropagation through time by a fused gradient op; no second derivatives). Kernels:
// the input projection of all steps is one GEMM; each step multiplies the previous state
// by the recurrent kernel, packed once per run (ops/gemm_packed.h), then applies the gate
// arithmetic in fixed 16-unit blocks, so results do not depend on the number of threads.
// NaN and Inf propagate as in the equations (a masked step does not read its input, as
// Keras' tf.where does not).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../graph/scope.h"

namespace sluice::ops {

// An activation applied inside a fused recurrent kernel (Keras' `activation` /
// `recurrent_activation`, ONNX's `activations` with `activation_alpha` / `activation_beta`).
//   sigmoid 1/(1+e^-x)          tanh                    relu max(x, 0)
//   linear x                    hard_sigmoid clip(alpha x + beta, 0, 1) (Keras 2: 0.2, 0.5)
//   affine alpha x + beta       leaky_relu x >= 0 ? x : alpha x (0.01)
//   thresholded_relu x > alpha ? x : 0 (1.0)            scaled_tanh alpha tanh(beta x) (1, 1)
//   elu x >= 0 ? x : alpha (e^x - 1) (1.0)              softsign x / (1 + |x|)
//   softplus log(1 + e^x)
// (defaults in parentheses). Gradients are computed from the activation's output, which
// needs it to be invertible where its slope is not zero: leaky_relu with alpha < 0 and elu
// with alpha <= 0 run forward but their gradient is Unimplemented.
struct RnnActivation {
  enum class Kind {
    sigmoid, tanh, relu, linear, hard_sigmoid, affine, leaky_relu, thresholded_relu,
    scaled_tanh, elu, softsign, softplus
  };
  Kind kind = Kind::tanh;
  double alpha = 0.0, beta = 0.0;

  RnnActivation() = default;
  RnnActivation(Kind k, double a, double b) : kind(k), alpha(a), beta(b) {}
  // By name with the default parameters, so layers take strings as Keras does:
  // layers::LSTM(..., "hard_sigmoid"). See from_name.
  RnnActivation(const char* name);         // NOLINT(google-explicit-constructor)
  RnnActivation(const std::string& name);  // NOLINT(google-explicit-constructor)

  static RnnActivation sigmoid() { return {Kind::sigmoid, 0, 0}; }
  static RnnActivation tanh() { return {Kind::tanh, 0, 0}; }
  static RnnActivation relu() { return {Kind::relu, 0, 0}; }
  static RnnActivation linear() { return {Kind::linear, 0, 0}; }
  static RnnActivation hard_sigmoid(double alpha = 0.2, double beta = 0.5) {
    return {Kind::hard_sigmoid, alpha, beta};
  }
  static RnnActivation affine(double alpha = 1.0, double beta = 0.0) {
    return {Kind::affine, alpha, beta};
  }
  static RnnActivation leaky_relu(double alpha = 0.01) { return {Kind::leaky_relu, alpha, 0}; }
  static RnnActivation thresholded_relu(double alpha = 1.0) {
    return {Kind::thresholded_relu, alpha, 0};
  }
  static RnnActivation scaled_tanh(double alpha = 1.0, double beta = 1.0) {
    return {Kind::scaled_tanh, alpha, beta};
  }
  static RnnActivation elu(double alpha = 1.0) { return {Kind::elu, alpha, 0}; }
  static RnnActivation softsign() { return {Kind::softsign, 0, 0}; }
  static RnnActivation softplus() { return {Kind::softplus, 0, 0}; }

  // Keras names ("sigmoid", "hard_sigmoid", "linear", ...) and ONNX names ("Sigmoid",
  // "HardSigmoid", "LeakyRelu", "ScaledTanh", ...), compared ignoring case and '_'; an
  // unknown name is InvalidArgument listing the known ones. The first form uses the
  // defaults above; the second sets alpha and beta (ignored by kinds without them).
  static RnnActivation from_name(const std::string& name);
  static RnnActivation from_name(const std::string& name, double alpha, double beta);
  // The canonical (Keras-style, snake_case) name: "hard_sigmoid".
  std::string name() const;
  // "hard_sigmoid(alpha=0.2, beta=0.5)", for messages.
  std::string to_string() const;
  bool operator==(const RnnActivation& o) const {
    return kind == o.kind && alpha == o.alpha && beta == o.beta;
  }
  bool operator!=(const RnnActivation& o) const { return !(*this == o); }
};

// Options shared by lstm, gru and simple_rnn. The defaults are Keras' layer defaults.
struct RnnOptions {
  // The candidate activation (LSTM c~ and the cell output, GRU h~, SimpleRNN h); ONNX "g"
  // (for RNN: "f").
  RnnActivation activation = RnnActivation::tanh();
  // The gates' activation (LSTM i, f, o; GRU z, r); ONNX "f". Unused by simple_rnn.
  RnnActivation recurrent_activation = RnnActivation::sigmoid();
  // LSTM only: h = o * cell_activation(c); ONNX "h". Unset: `activation` (Keras).
  std::optional<RnnActivation> cell_activation;

  // Process the steps T-1 .. 0 (ONNX direction "reverse"; Keras go_backwards). The
  // sequence output stays in input order: sequence[:, t] is the output of the step that
  // read x[:, t] (as ONNX returns it).
  bool reverse = false;
  // Store the sequence output reversed in time: sequence[:, T-1-t] is the output of the
  // step that read x[:, t]. With `reverse` this is Keras' go_backwards, which returns the
  // outputs in processing order.
  bool reverse_sequence_output = false;

  // Keras masking: mask [B, T] (bool, or numbers where nonzero means valid), indexed by
  // input time. A masked step leaves the state unchanged (every state carries over) and
  // its output repeats the previous step's output (zeros before the first valid step), as
  // Keras' RNN layers do; with zero_output_for_mask its output is zeros instead (Keras'
  // Bidirectional with return_sequences).
  Output mask;
  // ONNX sequence_lens: lengths [B] (int32 or int64, each in [0, T]), the same as the mask
  // t < lengths[b]. Pass zero_output_for_mask = true for ONNX's zero outputs past the end.
  // At most one of mask and sequence_lengths.
  Output sequence_lengths;
  bool zero_output_for_mask = false;

  // ONNX clip (> 0): every gate's pre-activation is clamped to [-clip, clip] before its
  // activation. 0: no clipping.
  double clip = 0.0;

  // LSTM only. ONNX peepholes P [3U] in the order i, f, o (ONNX stores them i, o, f):
  // i = f(.. + P_i * c_{t-1}), f = f(.. + P_f * c_{t-1}), o = f(.. + P_o * c_t).
  Output peepholes;
  // LSTM only. ONNX input_forget: couple the gates, forget = 1 - input (the forget gate's
  // weights are then unused and get zero gradients).
  bool input_forget = false;
};

// LSTM over a whole sequence (Keras' LSTM cell, gates i, f, c, o):
//   x [B, T, F], h0, c0 [B, U], kernel [F, 4U], recurrent_kernel [U, 4U], bias [4U]
//   (gate blocks of U columns in the order i, f, c, o).
// At each step, with z = x_t kernel + h_{t-1} recurrent_kernel + bias split into
// z_i, z_f, z_c, z_o and the default activations (sigmoid gates, tanh elsewhere):
//   i = sigmoid(z_i), f = sigmoid(z_f), o = sigmoid(z_o), c~ = tanh(z_c),
//   c_t = f * c_{t-1} + i * c~,  h_t = o * tanh(c_t).
// Returns {sequence [B, T, U], h [B, U], c [B, U]}: the outputs and the final states (with
// T = 0, h0 and c0). The node has more outputs that only the gradient reads (gates
// [B, T, 4U], cells [B, T, U], and with a mask or reverse_sequence_output the states
// [B, T, U]); differentiating through those is Unimplemented.
std::vector<Output> lstm(const Scope& scope, const Output& x, const Output& h0, const Output& c0,
                         const Output& kernel, const Output& recurrent_kernel, const Output& bias,
                         const RnnOptions& options = {});

// GRU over a whole sequence, Keras' GRU cell (gate blocks z, r, h):
//   x [B, T, F], h0 [B, U], kernel [F, 3U], recurrent_kernel [U, 3U],
//   bias [2, 3U] with reset_after (row 0 input bias, row 1 recurrent bias), else [3U].
// With x_q = x_t kernel_q + b_in_q, f the recurrent activation and g the activation:
//   reset_after (Keras default; ONNX linear_before_reset = 1):
//     in_q = h_{t-1} recurrent_kernel_q + b_rec_q,
//     z = f(x_z + in_z), r = f(x_r + in_r), h~ = g(x_h + r * in_h)
//   not reset_after (Keras 2 default; ONNX linear_before_reset = 0 with bias Wb + Rb):
//     z = f(x_z + h_{t-1} rk_z), r = f(x_r + h_{t-1} rk_r), h~ = g(x_h + (r * h_{t-1}) rk_h)
//   h_t = z * h_{t-1} + (1 - z) * h~.
// Returns {sequence [B, T, U], h [B, U]}. Extra outputs for the gradient: gates
// [B, T, 4U] (reset_after) or [B, T, 3U], and states [B, T, U] as for lstm. peepholes and
// input_forget are LSTM options (InvalidArgument here).
std::vector<Output> gru(const Scope& scope, const Output& x, const Output& h0, const Output& kernel,
                        const Output& recurrent_kernel, const Output& bias, bool reset_after = true,
                        const RnnOptions& options = {});

// Fully connected RNN over a whole sequence (Keras' SimpleRNN, ONNX RNN):
//   x [B, T, F], h0 [B, U], kernel [F, U], recurrent_kernel [U, U], bias [U];
//   h_t = activation(x_t kernel + h_{t-1} recurrent_kernel + bias).
// Returns {sequence [B, T, U], h [B, U]}; an extra states output as for lstm.
// recurrent_activation is unused; peepholes and input_forget are InvalidArgument.
std::vector<Output> simple_rnn(const Scope& scope, const Output& x, const Output& h0,
                               const Output& kernel, const Output& recurrent_kernel,
                               const Output& bias, const RnnOptions& options = {});

}  // namespace sluice::ops
