// Test helper: LSTM, GRU and SimpleRNN unrolled over time from primitive ops (matmul,
// split, slice, select, sigmoid, tanh, ...), written from the Keras and ONNX equations.
// It shares nothing with the fused kernels, so it is their forward reference, and autodiff
// through it is the reference for their gradients.
#pragma once

#include <sluice/sluice.h>

#include <string>
#include <vector>

namespace sluice::testing {

enum class RnnCell { lstm, gru_after, gru_before, simple };

inline const char* cell_name(RnnCell c) {
  switch (c) {
    case RnnCell::lstm: return "lstm";
    case RnnCell::gru_after: return "gru_reset_after";
    case RnnCell::gru_before: return "gru_reset_before";
    case RnnCell::simple: return "simple_rnn";
  }
  return "?";
}

inline int cell_gates(RnnCell c) { return c == RnnCell::lstm ? 4 : c == RnnCell::simple ? 1 : 3; }

// act(x) from primitive ops.
inline Output composite_activation(const Scope& s, const Output& x, const ops::RnnActivation& a) {
  using Kind = ops::RnnActivation::Kind;
  auto c = [&](double v) { return ops::scalar_like(s, x, v); };
  switch (a.kind) {
    case Kind::sigmoid: return ops::sigmoid(s, x);
    case Kind::tanh: return ops::tanh(s, x);
    case Kind::relu: return ops::select(s, ops::greater(s, x, c(0)), x, c(0));
    case Kind::linear: return x;
    case Kind::hard_sigmoid:
      return ops::minimum(s, ops::maximum(s, ops::add(s, ops::mul(s, x, c(a.alpha)), c(a.beta)), c(0)), c(1));
    case Kind::affine: return ops::add(s, ops::mul(s, x, c(a.alpha)), c(a.beta));
    case Kind::leaky_relu:
      return ops::select(s, ops::greater_equal(s, x, c(0)), x, ops::mul(s, x, c(a.alpha)));
    case Kind::thresholded_relu: return ops::select(s, ops::greater(s, x, c(a.alpha)), x, c(0));
    case Kind::scaled_tanh: return ops::mul(s, c(a.alpha), ops::tanh(s, ops::mul(s, x, c(a.beta))));
    case Kind::elu:
      return ops::select(s, ops::greater_equal(s, x, c(0)), x,
                         ops::mul(s, c(a.alpha), ops::sub(s, ops::exp(s, x), c(1))));
    case Kind::softsign: return ops::div(s, x, ops::add(s, c(1), ops::abs(s, x)));
    case Kind::softplus: return ops::log(s, ops::add(s, c(1), ops::exp(s, x)));
  }
  return x;
}

// act(clip(x)) with the op's clip (0: none).
inline Output composite_gate(const Scope& s, const Output& x, const ops::RnnActivation& a, double clip) {
  Output v = x;
  if (clip > 0)
    v = ops::minimum(s, ops::maximum(s, v, ops::scalar_like(s, v, -clip)), ops::scalar_like(s, v, clip));
  return composite_activation(s, v, a);
}

// in: x [B,T,F], h0 [, c0 for LSTM], kernel, recurrent_kernel, bias [, peepholes]; the
// mask in `o` must be bool. Returns {sequence, h [, c]} like the fused op. T static.
inline std::vector<Output> composite_rnn(const Scope& s, RnnCell cell, const std::vector<Output>& in,
                                         const ops::RnnOptions& o) {
  const bool lstm = cell == RnnCell::lstm;
  const Output& x = in[0];
  const int64_t T = x.shape().dim(1), F = x.shape().dim(2);
  Output h = in[1];
  Output c = lstm ? in[2] : Output();
  const int k = lstm ? 3 : 2;
  const Output kernel = in[k], rec = in[k + 1], bias = in[k + 2];
  const int64_t U = rec.shape().dim(0);
  const ops::RnnActivation f = o.recurrent_activation, g = o.activation;
  const ops::RnnActivation hact = o.cell_activation ? *o.cell_activation : g;
  auto gate = [&](const Output& v, const ops::RnnActivation& a) { return composite_gate(s, v, a, o.clip); };
  auto one_minus = [&](const Output& v) { return ops::sub(s, ops::scalar_like(s, v, 1.0), v); };
  std::vector<Output> peep;
  if (o.peepholes.valid()) peep = ops::split(s, o.peepholes, 3, 0);
  Output prev_out = ops::zeros_like(s, h);
  std::vector<Output> outs(static_cast<size_t>(T));
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = o.reverse ? T - 1 - step : step;
    const Output xt = ops::reshape(s, ops::slice(s, x, {0, t, 0}, {-1, 1, -1}), {-1, F});
    Output h_new, c_new;
    if (lstm) {
      const Output z = ops::add(s, ops::add(s, ops::matmul(s, xt, kernel), ops::matmul(s, h, rec)), bias);
      std::vector<Output> q = ops::split(s, z, 4, 1);
      if (!peep.empty()) {
        q[0] = ops::add(s, q[0], ops::mul(s, peep[0], c));
        q[1] = ops::add(s, q[1], ops::mul(s, peep[1], c));
      }
      const Output i = gate(q[0], f);
      const Output fg = o.input_forget ? one_minus(i) : gate(q[1], f);
      const Output cand = gate(q[2], g);
      c_new = ops::add(s, ops::mul(s, fg, c), ops::mul(s, i, cand));
      Output zo = q[3];
      if (!peep.empty()) zo = ops::add(s, zo, ops::mul(s, peep[2], c_new));
      h_new = ops::mul(s, gate(zo, f), composite_activation(s, c_new, hact));
    } else if (cell == RnnCell::gru_after) {
      const Output b_in = ops::reshape(s, ops::slice(s, bias, {0, 0}, {1, -1}), {3 * U});
      const Output b_rec = ops::reshape(s, ops::slice(s, bias, {1, 0}, {1, -1}), {3 * U});
      const std::vector<Output> mx = ops::split(s, ops::add(s, ops::matmul(s, xt, kernel), b_in), 3, 1);
      const std::vector<Output> mi = ops::split(s, ops::add(s, ops::matmul(s, h, rec), b_rec), 3, 1);
      const Output z = gate(ops::add(s, mx[0], mi[0]), f);
      const Output r = gate(ops::add(s, mx[1], mi[1]), f);
      const Output hh = gate(ops::add(s, mx[2], ops::mul(s, r, mi[2])), g);
      h_new = ops::add(s, ops::mul(s, z, h), ops::mul(s, one_minus(z), hh));
    } else if (cell == RnnCell::gru_before) {
      const std::vector<Output> mx = ops::split(s, ops::add(s, ops::matmul(s, xt, kernel), bias), 3, 1);
      const Output r_zr = ops::slice(s, rec, {0, 0}, {-1, 2 * U});
      const Output r_h = ops::slice(s, rec, {0, 2 * U}, {-1, -1});
      const std::vector<Output> mi = ops::split(s, ops::matmul(s, h, r_zr), 2, 1);
      const Output z = gate(ops::add(s, mx[0], mi[0]), f);
      const Output r = gate(ops::add(s, mx[1], mi[1]), f);
      const Output hh = gate(ops::add(s, mx[2], ops::matmul(s, ops::mul(s, r, h), r_h)), g);
      h_new = ops::add(s, ops::mul(s, z, h), ops::mul(s, one_minus(z), hh));
    } else {
      h_new = gate(ops::add(s, ops::add(s, ops::matmul(s, xt, kernel), ops::matmul(s, h, rec)), bias), g);
    }
    Output out = h_new;
    Output valid;
    if (o.mask.valid()) valid = ops::slice(s, o.mask, {0, t}, {-1, 1});
    if (o.sequence_lengths.valid()) {
      const Output len = ops::expand_dims(s, ops::cast(s, o.sequence_lengths, DType::i64), 1);
      valid = ops::less(s, ops::constant(s, Tensor::from_scalar<int64_t>(t)), len);
    }
    if (valid.valid()) {
      h_new = ops::select(s, valid, h_new, h);
      if (lstm) c_new = ops::select(s, valid, c_new, c);
      out = ops::select(s, valid, out, o.zero_output_for_mask ? ops::zeros_like(s, out) : prev_out);
    }
    h = h_new;
    c = c_new;
    prev_out = out;
    const int64_t pos = o.reverse_sequence_output ? T - 1 - t : t;
    outs[static_cast<size_t>(pos)] = ops::expand_dims(s, out, 1);
  }
  Output seq = T == 0 ? ops::fill(s, x.dtype(), Shape{x.shape().dim(0), 0, U}, 0.0) : ops::concat(s, outs, 1);
  std::vector<Output> r = {seq, h};
  if (lstm) r.push_back(c);
  return r;
}

// The fused op for the same inputs and options.
inline std::vector<Output> fused_rnn(const Scope& s, RnnCell cell, const std::vector<Output>& in,
                                     const ops::RnnOptions& o) {
  switch (cell) {
    case RnnCell::lstm: return ops::lstm(s, in[0], in[1], in[2], in[3], in[4], in[5], o);
    case RnnCell::gru_after: return ops::gru(s, in[0], in[1], in[2], in[3], in[4], true, o);
    case RnnCell::gru_before: return ops::gru(s, in[0], in[1], in[2], in[3], in[4], false, o);
    case RnnCell::simple: return ops::simple_rnn(s, in[0], in[1], in[2], in[3], in[4], o);
  }
  return {};
}

// Input shapes for (B, T, F, U): x, h0 [, c0], kernel, recurrent_kernel, bias.
inline std::vector<Shape> rnn_input_shapes(RnnCell cell, int64_t b, int64_t t, int64_t f, int64_t u) {
  const int64_t g = cell_gates(cell) * u;
  std::vector<Shape> r = {{b, t, f}, {b, u}};
  if (cell == RnnCell::lstm) r.push_back({b, u});
  r.push_back({f, g});
  r.push_back({u, g});
  r.push_back(cell == RnnCell::gru_after ? Shape{2, g} : Shape{g});
  return r;
}

}  // namespace sluice::testing
