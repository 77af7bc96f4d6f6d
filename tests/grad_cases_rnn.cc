// Gradient cases for the rnn ops: the fused LSTM, GRU (reset_after both ways) and
// SimpleRNN, with gradients arriving through the sequence output, through the last
// states, and through all at once, and every option: reverse and reversed output, Keras
// masks (carrying or zeroing outputs), ONNX sequence lengths, clip, every activation,
// peepholes and coupled input/forget gates.
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;
using ops::RnnActivation;
using ops::RnnOptions;

// Inputs x [B,T,F], h0 [B,U], c0 [B,U], kernel [F,4U], recurrent_kernel [U,4U], bias [4U].
std::vector<Shape> lstm_shapes(int64_t b, int64_t t, int64_t f, int64_t u) {
  return {{b, t, f}, {b, u}, {b, u}, {f, 4 * u}, {u, 4 * u}, {4 * u}};
}

std::vector<Output> run_lstm(const Scope& s, const X& x, const RnnOptions& o = {}) {
  return ops::lstm(s, x[0], x[1], x[2], x[3], x[4], x[5], o);
}

// The sequence [B,T,U] flattened next to the final states: one output carrying all.
Output flat(const Scope& s, const std::vector<Output>& r) {
  const int64_t b = r[0].shape().dim(0), t = r[0].shape().dim(1), u = r[0].shape().dim(2);
  std::vector<Output> parts = {ops::reshape(s, r[0], {b, t * u})};
  parts.insert(parts.end(), r.begin() + 1, r.end());
  return ops::concat(s, parts, 1);
}

Output all_outputs(const Scope& s, const X& x) { return flat(s, run_lstm(s, x)); }

// A [2,4] mask with masked steps at the start, the middle and the end, and a row with
// none masked.
Output mask_2x4(const Scope& s) {
  return ops::constant(s, Tensor::from_vector<bool>({false, true, false, true, true, true, true, false}, {2, 4}));
}

Output lengths_2(const Scope& s) { return ops::constant(s, Tensor::from_vector<int32_t>({2, 4}, {2})); }

// x [B,T,F], h0 [B,U], kernel [F,3U], recurrent_kernel [U,3U], bias [2,3U] or [3U].
std::vector<Shape> gru_shapes(int64_t b, int64_t t, int64_t f, int64_t u, bool reset_after) {
  return {{b, t, f}, {b, u}, {f, 3 * u}, {u, 3 * u}, reset_after ? Shape{2, 3 * u} : Shape{3 * u}};
}

Output gru_all(const Scope& s, const X& x, bool reset_after, const RnnOptions& o = {}) {
  return flat(s, ops::gru(s, x[0], x[1], x[2], x[3], x[4], reset_after, o));
}

std::vector<Shape> rnn_shapes(int64_t b, int64_t t, int64_t f, int64_t u) {
  return {{b, t, f}, {b, u}, {f, u}, {u, u}, {u}};
}

Output rnn_all(const Scope& s, const X& x, const RnnOptions& o = {}) {
  return flat(s, ops::simple_rnn(s, x[0], x[1], x[2], x[3], x[4], o));
}

// One options variant applied to all three ops.
struct Variant {
  std::string name;
  std::function<RnnOptions(const Scope&)> options;
};

std::vector<Variant> variants() {
  return {
      {"reverse", [](const Scope&) { RnnOptions o; o.reverse = true; return o; }},
      {"go_backwards",
       [](const Scope&) { RnnOptions o; o.reverse = o.reverse_sequence_output = true; return o; }},
      {"reversed_output_only",
       [](const Scope&) { RnnOptions o; o.reverse_sequence_output = true; return o; }},
      {"mask", [](const Scope& s) { RnnOptions o; o.mask = mask_2x4(s); return o; }},
      {"mask_go_backwards",
       [](const Scope& s) {
         RnnOptions o;
         o.mask = mask_2x4(s);
         o.reverse = o.reverse_sequence_output = true;
         return o;
       }},
      {"mask_zero_output",
       [](const Scope& s) { RnnOptions o; o.mask = mask_2x4(s); o.zero_output_for_mask = true; return o; }},
      {"lengths",
       [](const Scope& s) {
         RnnOptions o;
         o.sequence_lengths = lengths_2(s);
         o.zero_output_for_mask = true;
         return o;
       }},
      {"lengths_reverse",
       [](const Scope& s) {
         RnnOptions o;
         o.sequence_lengths = lengths_2(s);
         o.zero_output_for_mask = true;
         o.reverse = true;
         return o;
       }},
      {"clip", [](const Scope&) { RnnOptions o; o.clip = 0.7; return o; }},
      {"activations",
       [](const Scope&) {
         RnnOptions o;
         o.activation = RnnActivation::softsign();
         o.recurrent_activation = RnnActivation::hard_sigmoid();
         return o;
       }},
  };
}

// Every activation as SimpleRNN's activation (and, for the first few, as a gate's).
std::vector<RnnActivation> all_activations() {
  return {RnnActivation::sigmoid(),          RnnActivation::tanh(),
          RnnActivation::relu(),             RnnActivation::linear(),
          RnnActivation::hard_sigmoid(),     RnnActivation::affine(0.7, 0.2),
          RnnActivation::leaky_relu(0.1),    RnnActivation::thresholded_relu(0.1),
          RnnActivation::scaled_tanh(1.5, 0.8), RnnActivation::elu(0.9),
          RnnActivation::softsign(),         RnnActivation::softplus(),
          RnnActivation::hard_sigmoid(0.4, 0.45)};
}

std::vector<GradCase> rnn_cases() {
  std::vector<GradCase> cases = {
      {"lstm_all_outputs", lstm_shapes(2, 3, 3, 2), all_outputs},
      {"lstm_sequence_only", lstm_shapes(2, 3, 3, 2),
       [](const Scope& s, const X& x) { return run_lstm(s, x)[0]; }},
      {"lstm_last_h_only", lstm_shapes(2, 3, 3, 2),
       [](const Scope& s, const X& x) { return run_lstm(s, x)[1]; }},
      {"lstm_last_c_only", lstm_shapes(2, 3, 3, 2),
       [](const Scope& s, const X& x) { return run_lstm(s, x)[2]; }},
      // 17 units: a full 16-unit block plus a one-unit tail in the gate arithmetic.
      {"lstm_units_17", lstm_shapes(1, 2, 2, 17), all_outputs},
      // One step, and a sequence fed back through a second LSTM (gradients of the first
      // arrive through its sequence from another LSTM's backward pass).
      {"lstm_one_step", lstm_shapes(3, 1, 2, 3), all_outputs},
      {"lstm_stacked", lstm_shapes(2, 3, 2, 2),
       [](const Scope& s, const X& x) {
         const std::vector<Output> first = run_lstm(s, x);
         // The second layer reuses the recurrent weights as its kernel: [U,4U] fits input U.
         return ops::lstm(s, first[0], first[1], first[2], x[4], x[4], x[5])[0];
       }},
      // Peepholes [3U] are a seventh input; with clip and coupled gates too.
      {"lstm_peepholes", [] { auto v = lstm_shapes(2, 3, 2, 3); v.push_back({9}); return v; }(),
       [](const Scope& s, const X& x) {
         RnnOptions o;
         o.peepholes = x[6];
         return flat(s, run_lstm(s, x, o));
       }},
      {"lstm_peepholes_input_forget_clip_mask",
       [] { auto v = lstm_shapes(2, 4, 2, 3); v.push_back({9}); return v; }(),
       [](const Scope& s, const X& x) {
         RnnOptions o;
         o.peepholes = x[6];
         o.input_forget = true;
         o.clip = 0.8;
         o.mask = mask_2x4(s);
         return flat(s, run_lstm(s, x, o));
       }},
      {"lstm_cell_activation",
       lstm_shapes(2, 3, 2, 2),
       [](const Scope& s, const X& x) {
         RnnOptions o;
         o.cell_activation = RnnActivation::scaled_tanh(1.3, 0.7);
         o.activation = RnnActivation::elu(1.0);
         o.recurrent_activation = RnnActivation::softplus();
         return flat(s, run_lstm(s, x, o));
       }},
      // GRU: both formulations, 17 units, one step, stacked, sequence or state only.
      {"gru_reset_after", gru_shapes(2, 3, 3, 2, true),
       [](const Scope& s, const X& x) { return gru_all(s, x, true); }},
      {"gru_reset_before", gru_shapes(2, 3, 3, 2, false),
       [](const Scope& s, const X& x) { return gru_all(s, x, false); }},
      {"gru_reset_after_units_17", gru_shapes(1, 2, 2, 17, true),
       [](const Scope& s, const X& x) { return gru_all(s, x, true); }},
      {"gru_reset_before_units_17", gru_shapes(1, 2, 2, 17, false),
       [](const Scope& s, const X& x) { return gru_all(s, x, false); }},
      {"gru_one_step", gru_shapes(3, 1, 2, 3, false),
       [](const Scope& s, const X& x) { return gru_all(s, x, false); }},
      {"gru_last_h_only", gru_shapes(2, 3, 2, 2, true),
       [](const Scope& s, const X& x) { return ops::gru(s, x[0], x[1], x[2], x[3], x[4])[1]; }},
      {"gru_stacked", gru_shapes(2, 3, 2, 2, false),
       [](const Scope& s, const X& x) {
         const std::vector<Output> first = ops::gru(s, x[0], x[1], x[2], x[3], x[4], false);
         return ops::gru(s, first[0], first[1], x[3], x[3], x[4], false)[0];
       }},
      {"simple_rnn", rnn_shapes(2, 3, 3, 2), [](const Scope& s, const X& x) { return rnn_all(s, x); }},
      {"simple_rnn_units_17", rnn_shapes(1, 2, 2, 17),
       [](const Scope& s, const X& x) { return rnn_all(s, x); }},
      {"simple_rnn_last_h_only", rnn_shapes(2, 3, 2, 2),
       [](const Scope& s, const X& x) { return ops::simple_rnn(s, x[0], x[1], x[2], x[3], x[4])[1]; }},
  };
  for (const Variant& v : variants()) {
    cases.push_back({"lstm_" + v.name, lstm_shapes(2, 4, 2, 3),
                     [v](const Scope& s, const X& x) { return flat(s, run_lstm(s, x, v.options(s))); }});
    for (bool after : {true, false})
      cases.push_back({std::string("gru_") + (after ? "after_" : "before_") + v.name,
                       gru_shapes(2, 4, 2, 3, after), [v, after](const Scope& s, const X& x) {
                         return gru_all(s, x, after, v.options(s));
                       }});
    cases.push_back({"simple_rnn_" + v.name, rnn_shapes(2, 4, 2, 3),
                     [v](const Scope& s, const X& x) { return rnn_all(s, x, v.options(s)); }});
  }
  const std::vector<RnnActivation> acts = all_activations();
  for (size_t i = 0; i < acts.size(); ++i) {
    const RnnActivation a = acts[i];
    const std::string tag = a.name() + "_" + std::to_string(i);
    cases.push_back({"simple_rnn_activation_" + tag, rnn_shapes(2, 3, 2, 3),
                     [a](const Scope& s, const X& x) {
                       RnnOptions o;
                       o.activation = a;
                       return rnn_all(s, x, o);
                     }});
    cases.push_back({"gru_gate_activation_" + tag, gru_shapes(2, 2, 2, 3, true),
                     [a](const Scope& s, const X& x) {
                       RnnOptions o;
                       o.recurrent_activation = a;
                       o.activation = a;
                       return gru_all(s, x, true, o);
                     }});
    cases.push_back({"lstm_gate_activation_" + tag, lstm_shapes(2, 2, 2, 3),
                     [a](const Scope& s, const X& x) {
                       RnnOptions o;
                       o.recurrent_activation = a;
                       o.activation = a;
                       return flat(s, run_lstm(s, x, o));
                     }});
  }
  for (GradCase& c : cases) c.low = -1.0, c.high = 1.0;
  return cases;
}

const bool registered = testing::register_grad_cases(rnn_cases);

}  // namespace
}  // namespace sluice
