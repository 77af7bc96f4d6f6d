// Gradient cases for the rnn ops: the fused LSTM, with gradients arriving through the
// sequence output, through the last states, and through all three at once.
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;

// Inputs x [B,T,F], h0 [B,U], c0 [B,U], kernel [F,4U], recurrent_kernel [U,4U], bias [4U].
std::vector<Shape> lstm_shapes(int64_t b, int64_t t, int64_t f, int64_t u) {
  return {{b, t, f}, {b, u}, {b, u}, {f, 4 * u}, {u, 4 * u}, {4 * u}};
}

std::vector<Output> run_lstm(const Scope& s, const X& x) {
  return ops::lstm(s, x[0], x[1], x[2], x[3], x[4], x[5]);
}

// The sequence [B,T,U] flattened next to h and c: one output carrying all three.
Output all_outputs(const Scope& s, const X& x) {
  const std::vector<Output> r = run_lstm(s, x);
  const int64_t b = x[0].shape().dim(0), t = x[0].shape().dim(1), u = x[1].shape().dim(1);
  return ops::concat(s, {ops::reshape(s, r[0], {b, t * u}), r[1], r[2]}, 1);
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
  };
  for (GradCase& c : cases) c.low = -1.0, c.high = 1.0;
  return cases;
}

const bool registered = testing::register_grad_cases(rnn_cases);

}  // namespace
}  // namespace sluice
