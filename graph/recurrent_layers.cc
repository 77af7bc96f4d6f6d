#include "recurrent_layers.h"

#include <algorithm>

#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/reduction_ops.h"
#include "../ops/rnn_ops.h"

namespace sluice::layers {

LSTM::LSTM(int64_t units, bool return_sequences, bool return_state, std::string name,
           bool unit_forget_bias, Initializer kernel_initializer, Initializer recurrent_initializer,
           Initializer bias_initializer)
    : Layer(std::move(name)),
      units_(units),
      return_sequences_(return_sequences),
      return_state_(return_state),
      unit_forget_bias_(unit_forget_bias),
      kernel_init_(std::move(kernel_initializer)),
      recurrent_init_(std::move(recurrent_initializer)),
      bias_init_(std::move(bias_initializer)) {
  SLUICE_REQUIRE(units > 0, InvalidArgument, "LSTM units must be positive, got ", units);
  (void)checked_mul(4, units, "LSTM gate width");
}

void LSTM::build(const Scope& scope, const Shape& input_shape, DType dtype) {
  SLUICE_REQUIRE(input_shape.known_rank() && input_shape.rank() == 3 && input_shape.dim(2) > 0,
                 InvalidArgument, "LSTM layer '", name(),
                 "' needs inputs [batch, time, features] with features known, got ",
                 input_shape.to_string());
  SLUICE_REQUIRE(is_floating(dtype), InvalidArgument, "LSTM layer '", name(),
                 "' needs float inputs, got ", dtype_name(dtype));
  const int64_t gates = 4 * units_;
  kernel_ = add_weight(scope, "kernel", Shape{input_shape.dim(2), gates}, dtype, kernel_init_);
  recurrent_kernel_ =
      add_weight(scope, "recurrent_kernel", Shape{units_, gates}, dtype, recurrent_init_);
  bias_ = unit_forget_bias_ ? add_unit_forget_bias(scope, dtype)
                            : add_weight(scope, "bias", Shape{gates}, dtype, bias_init_);
}

// Keras builds this bias as concat(bias_init([units]), ones([units]), bias_init([2 units])).
// Constant initializers become one constant; random ones are drawn in the graph, and that
// value replaces the variable's plain initializer.
Output LSTM::add_unit_forget_bias(const Scope& scope, DType dtype) {
  const int64_t u = units_;
  const Shape shape{4 * u};
  using Kind = Initializer::Kind;
  const Kind kind = bias_init_.kind;
  SLUICE_REQUIRE(kind != Kind::constant || !bias_init_.value.valid(), InvalidArgument,
                 "LSTM layer '", name(),
                 "': a tensor-valued bias initializer cannot be combined with ",
                 "unit_forget_bias (pass unit_forget_bias = false to give the whole bias)");
  if (kind == Kind::zeros || kind == Kind::ones || kind == Kind::constant) {
    const double v = kind == Kind::zeros ? 0.0 : kind == Kind::ones ? 1.0 : bias_init_.a;
    Tensor value = Tensor::filled(DType::f64, shape, v);
    std::fill_n(value.data<double>() + u, u, 1.0);
    return add_weight(scope, "bias", shape, dtype, Initializer::constant(value.cast(dtype)));
  }
  const Output bias = add_weight(scope, "bias", shape, dtype, Initializer::zeros());
  Graph g = scope.graph();
  const Scope s =
      Scope(g).with_device(scope.device()).sub(bias.op().name()).sub("unit_forget_bias");
  const Output value = ops::concat(
      s,
      {bias_init_.build(s.sub("input_gate"), Shape{u}, dtype), ops::fill(s, dtype, Shape{u}, 1.0),
       bias_init_.build(s.sub("cell_output_gates"), Shape{2 * u}, dtype)},
      0);
  g.set_variable_initializer(bias.op(), ops::assign(s.named("Assign"), bias, value).op());
  return bias;
}

Output LSTM::call(const Scope& scope, const Output& x) {
  const std::vector<Output> state = std::move(initial_state_);
  initial_state_.clear();
  const Shape& s = x.shape();
  SLUICE_REQUIRE(s.known_rank() && s.rank() == 3 && s.dim(2) == kernel_.shape().dim(0),
                 InvalidArgument, "LSTM layer '", name(), "' built for inputs [batch, time, ",
                 kernel_.shape().dim(0), "] called on ", s.to_string());
  SLUICE_REQUIRE(x.dtype() == kernel_.dtype(), InvalidArgument, "LSTM layer '", name(),
                 "' built for ", dtype_name(kernel_.dtype()), " inputs called on ",
                 dtype_name(x.dtype()));
  Output h0, c0;
  if (state.empty()) {
    // Zeros [B, units] with x's run-time batch size: an empty slice of x summed per row
    // (0 whatever x holds), broadcast against a [1, units] row of zeros.
    const Scope zs = scope.sub("initial_state");
    Output none = ops::slice(zs, x, {0, 0, 0}, {-1, -1, 0});
    Output per_row = ops::stop_gradient(zs, ops::expand_dims(zs, ops::sum(zs, none, {1, 2}), 1));
    h0 = c0 = ops::add(zs, per_row, ops::fill(zs, x.dtype(), Shape{1, units_}, 0.0));
  } else {
    SLUICE_REQUIRE(state.size() == 2, InvalidArgument, "LSTM layer '", name(),
                   "' needs an initial state of two tensors {h0, c0}, got ", state.size());
    for (size_t i = 0; i < 2; ++i) {
      SLUICE_REQUIRE(state[i].valid(), InvalidArgument, "LSTM layer '", name(), "': initial_state[",
                     i, "] is an empty Output");
      const Shape& st = state[i].shape();
      SLUICE_REQUIRE(state[i].dtype() == x.dtype() && st.compatible_with(Shape{s.dim(0), units_}),
                     InvalidArgument, "LSTM layer '", name(), "': initial_state[", i, "] must be ",
                     dtype_name(x.dtype()), " [batch, ", units_, "] for input ", s.to_string(),
                     ", got ", dtype_name(state[i].dtype()), " ", st.to_string());
    }
    h0 = state[0];
    c0 = state[1];
  }
  const std::vector<Output> r = ops::lstm(scope, x, h0, c0, kernel_, recurrent_kernel_, bias_);
  last_h_ = r[1];
  last_c_ = r[2];
  return return_sequences_ ? r[0] : r[1];
}

std::vector<Output> LSTM::call_with_state(const Scope& scope, const Output& x,
                                          const std::vector<Output>& initial_state) {
  SLUICE_REQUIRE(initial_state.empty() || initial_state.size() == 2, InvalidArgument,
                 "LSTM layer '", name(), "' needs an initial state of two tensors {h0, c0}, got ",
                 initial_state.size());
  initial_state_ = initial_state;
  Output out;
  try {
    out = (*this)(scope, x);
  } catch (...) {
    initial_state_.clear();
    throw;
  }
  if (!return_state_) return {out};
  return {out, last_h_, last_c_};
}

}  // namespace sluice::layers
