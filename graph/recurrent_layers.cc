#include "recurrent_layers.h"

#include <algorithm>

#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/reduction_ops.h"

namespace sluice::layers {

// ---- Recurrent ----

Recurrent::Recurrent(int64_t units, RecurrentConfig config, int gates, int num_states,
                     const char* kind)
    : Layer(config.name), units_(units), config_(std::move(config)), gates_(gates),
      num_states_(num_states), kind_(kind) {
  SLUICE_REQUIRE(units > 0, InvalidArgument, kind, " units must be positive, got ", units);
  (void)checked_mul(4, units, "recurrent gate width");
}

void Recurrent::build(const Scope& scope, const Shape& input_shape, DType dtype) {
  SLUICE_REQUIRE(input_shape.known_rank() && input_shape.rank() == 3 && input_shape.dim(2) > 0,
                 InvalidArgument, kind_, " layer '", name(),
                 "' needs inputs [batch, time, features] with features known, got ",
                 input_shape.to_string());
  SLUICE_REQUIRE(is_floating(dtype), InvalidArgument, kind_, " layer '", name(),
                 "' needs float inputs, got ", dtype_name(dtype));
  const int64_t width = gates_ * units_;
  kernel_ = add_weight(scope, "kernel", Shape{input_shape.dim(2), width}, dtype,
                       config_.kernel_initializer);
  recurrent_kernel_ = add_weight(scope, "recurrent_kernel", Shape{units_, width}, dtype,
                                 config_.recurrent_initializer);
  if (config_.use_bias) {
    bias_ = bias_value_ = add_bias(scope, dtype);
  } else {
    bias_value_ = ops::fill(scope.sub("no_bias"), dtype, bias_shape(), 0.0);
  }
}

Output Recurrent::add_bias(const Scope& scope, DType dtype) {
  return add_weight(scope, "bias", bias_shape(), dtype, config_.bias_initializer);
}

namespace {

// Zeros [B, units] with x's run-time batch size: an empty slice of x summed per row (0
// whatever x holds), broadcast against a [1, units] row of zeros.
Output zero_state(const Scope& scope, const Output& x, int64_t units) {
  const Scope zs = scope.sub("initial_state");
  Output none = ops::slice(zs, x, {0, 0, 0}, {-1, -1, 0});
  Output per_row = ops::stop_gradient(zs, ops::expand_dims(zs, ops::sum(zs, none, {1, 2}), 1));
  return ops::add(zs, per_row, ops::fill(zs, x.dtype(), Shape{1, units}, 0.0));
}

}  // namespace

Output Recurrent::call(const Scope& scope, const Output& x) {
  const std::vector<Output> given = std::move(initial_state_);
  const Output mask = mask_;
  initial_state_.clear();
  mask_ = Output();
  const Shape& s = x.shape();
  SLUICE_REQUIRE(s.known_rank() && s.rank() == 3 && s.dim(2) == kernel_.shape().dim(0),
                 InvalidArgument, kind_, " layer '", name(), "' built for inputs [batch, time, ",
                 kernel_.shape().dim(0), "] called on ", s.to_string());
  SLUICE_REQUIRE(x.dtype() == kernel_.dtype(), InvalidArgument, kind_, " layer '", name(),
                 "' built for ", dtype_name(kernel_.dtype()), " inputs called on ",
                 dtype_name(x.dtype()));
  std::vector<Output> states;
  if (given.empty()) {
    const Output zero = zero_state(scope, x, units_);
    states.assign(static_cast<size_t>(num_states_), zero);
  } else {
    SLUICE_REQUIRE(static_cast<int>(given.size()) == num_states_, InvalidArgument, kind_,
                   " layer '", name(), "' needs an initial state of ", num_states_,
                   " tensor(s), got ", given.size());
    for (size_t i = 0; i < given.size(); ++i) {
      SLUICE_REQUIRE(given[i].valid(), InvalidArgument, kind_, " layer '", name(),
                     "': initial_state[", i, "] is an empty Output");
      const Shape& st = given[i].shape();
      SLUICE_REQUIRE(given[i].dtype() == x.dtype() && st.compatible_with(Shape{s.dim(0), units_}),
                     InvalidArgument, kind_, " layer '", name(), "': initial_state[", i,
                     "] must be ", dtype_name(x.dtype()), " [batch, ", units_, "] for input ",
                     s.to_string(), ", got ", dtype_name(given[i].dtype()), " ", st.to_string());
    }
    states = given;
  }
  if (mask.valid()) {
    SLUICE_REQUIRE(mask.shape().compatible_with(Shape{s.dim(0), s.dim(1)}), InvalidArgument, kind_,
                   " layer '", name(), "': mask ", mask.shape().to_string(),
                   " must be [batch, time] for input ", s.to_string());
  }
  ops::RnnOptions o;
  o.activation = config_.activation;
  o.recurrent_activation = config_.recurrent_activation;
  o.reverse = config_.go_backwards;
  // Keras returns a go_backwards sequence in processing order (reversed); Bidirectional
  // reverses its backward half back, which is the op's input order.
  o.reverse_sequence_output = config_.go_backwards != input_order_output_;
  o.mask = mask;
  o.zero_output_for_mask = zero_output_for_mask_;
  const std::vector<Output> r = run(scope, x, states, bias_value_, o);
  last_states_.assign(r.begin() + 1, r.end());
  if (config_.return_sequences) return r[0];
  if (!mask.valid()) return r[1];
  // The last output repeats the state of the last valid step, or is zeros when a row has
  // no valid step (its state is then the initial one).
  const Scope ms = scope.sub("last_output");
  Output valid = ops::cast(ms, ops::cast(ms, mask, DType::boolean), x.dtype());
  Output any = ops::greater(ms, ops::max(ms, valid, {1}, true), ops::scalar_like(ms, valid, 0.0));
  return ops::select(ms, any, r[1], ops::zeros_like(ms, r[1]));
}

std::vector<Output> Recurrent::call_with_state(const Scope& scope, const Output& x,
                                               const std::vector<Output>& initial_state,
                                               const Output& mask) {
  SLUICE_REQUIRE(initial_state.empty() || static_cast<int>(initial_state.size()) == num_states_,
                 InvalidArgument, kind_, " layer '", name().empty() ? base_name() : name(),
                 "' needs an initial state of ", num_states_, " tensor(s), got ",
                 initial_state.size());
  initial_state_ = initial_state;
  mask_ = mask;
  Output out;
  try {
    out = (*this)(scope, x);
  } catch (...) {
    initial_state_.clear();
    mask_ = Output();
    throw;
  }
  std::vector<Output> r = {out};
  if (config_.return_state) r.insert(r.end(), last_states_.begin(), last_states_.end());
  return r;
}

Output Recurrent::operator()(const Scope& scope, const Output& x, const Output& mask) {
  return call_with_state(scope, x, {}, mask)[0];
}

// ---- LSTM ----

namespace {

RecurrentConfig lstm_config(bool return_sequences, bool return_state, std::string name,
                            bool unit_forget_bias, Initializer k, Initializer r, Initializer b) {
  RecurrentConfig c;
  c.return_sequences = return_sequences;
  c.return_state = return_state;
  c.name = std::move(name);
  c.unit_forget_bias = unit_forget_bias;
  c.kernel_initializer = std::move(k);
  c.recurrent_initializer = std::move(r);
  c.bias_initializer = std::move(b);
  return c;
}

}  // namespace

LSTM::LSTM(int64_t units, bool return_sequences, bool return_state, std::string name,
           bool unit_forget_bias, Initializer kernel_initializer, Initializer recurrent_initializer,
           Initializer bias_initializer)
    : LSTM(units, lstm_config(return_sequences, return_state, std::move(name), unit_forget_bias,
                              std::move(kernel_initializer), std::move(recurrent_initializer),
                              std::move(bias_initializer))) {}

LSTM::LSTM(int64_t units, const RecurrentConfig& config) : Recurrent(units, config, 4, 2, "LSTM") {}

std::unique_ptr<Recurrent> LSTM::clone(const std::string& name, bool go_backwards) const {
  RecurrentConfig c = config();
  c.name = name;
  c.go_backwards = go_backwards;
  return std::make_unique<LSTM>(units(), c);
}

std::vector<Output> LSTM::run(const Scope& scope, const Output& x, const std::vector<Output>& states,
                              const Output& bias, const ops::RnnOptions& options) {
  return ops::lstm(scope, x, states[0], states[1], kernel(), recurrent_kernel(), bias, options);
}

// Keras builds this bias as concat(bias_init([units]), ones([units]), bias_init([2 units])).
// Constant initializers become one constant; random ones are drawn in the graph, and that
// value replaces the variable's plain initializer.
Output LSTM::add_bias(const Scope& scope, DType dtype) {
  const Initializer& init = config().bias_initializer;
  if (!config().unit_forget_bias) return add_weight(scope, "bias", Shape{4 * units()}, dtype, init);
  const int64_t u = units();
  const Shape shape{4 * u};
  using Kind = Initializer::Kind;
  const Kind kind = init.kind;
  SLUICE_REQUIRE(kind != Kind::constant || !init.value.valid(), InvalidArgument, "LSTM layer '",
                 name(), "': a tensor-valued bias initializer cannot be combined with ",
                 "unit_forget_bias (pass unit_forget_bias = false to give the whole bias)");
  if (kind == Kind::zeros || kind == Kind::ones || kind == Kind::constant) {
    const double v = kind == Kind::zeros ? 0.0 : kind == Kind::ones ? 1.0 : init.a;
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
      {init.build(s.sub("input_gate"), Shape{u}, dtype), ops::fill(s, dtype, Shape{u}, 1.0),
       init.build(s.sub("cell_output_gates"), Shape{2 * u}, dtype)},
      0);
  g.set_variable_initializer(bias.op(), ops::assign(s.named("Assign"), bias, value).op());
  return bias;
}

// ---- GRU ----

namespace {

RecurrentConfig gru_config(ops::RnnActivation activation, ops::RnnActivation recurrent_activation,
                           bool use_bias, bool reset_after, bool return_sequences,
                           bool return_state, bool go_backwards, std::string name) {
  RecurrentConfig c;
  c.activation = activation;
  c.recurrent_activation = recurrent_activation;
  c.use_bias = use_bias;
  c.reset_after = reset_after;
  c.return_sequences = return_sequences;
  c.return_state = return_state;
  c.go_backwards = go_backwards;
  c.name = std::move(name);
  return c;
}

}  // namespace

GRU::GRU(int64_t units, ops::RnnActivation activation, ops::RnnActivation recurrent_activation,
         bool use_bias, bool reset_after, bool return_sequences, bool return_state,
         bool go_backwards, std::string name)
    : GRU(units, gru_config(activation, recurrent_activation, use_bias, reset_after,
                            return_sequences, return_state, go_backwards, std::move(name))) {}

GRU::GRU(int64_t units, const RecurrentConfig& config) : Recurrent(units, config, 3, 1, "GRU") {}

std::unique_ptr<Recurrent> GRU::clone(const std::string& name, bool go_backwards) const {
  RecurrentConfig c = config();
  c.name = name;
  c.go_backwards = go_backwards;
  return std::make_unique<GRU>(units(), c);
}

Shape GRU::bias_shape() const {
  return config().reset_after ? Shape{2, 3 * units()} : Shape{3 * units()};
}

std::vector<Output> GRU::run(const Scope& scope, const Output& x, const std::vector<Output>& states,
                             const Output& bias, const ops::RnnOptions& options) {
  return ops::gru(scope, x, states[0], kernel(), recurrent_kernel(), bias, config().reset_after,
                  options);
}

// ---- SimpleRNN ----

SimpleRNN::SimpleRNN(int64_t units, ops::RnnActivation activation, bool use_bias,
                     bool return_sequences, bool return_state, bool go_backwards, std::string name)
    : SimpleRNN(units, gru_config(activation, ops::RnnActivation::sigmoid(), use_bias, true,
                                  return_sequences, return_state, go_backwards,
                                  std::move(name))) {}

SimpleRNN::SimpleRNN(int64_t units, const RecurrentConfig& config)
    : Recurrent(units, config, 1, 1, "SimpleRNN") {}

std::unique_ptr<Recurrent> SimpleRNN::clone(const std::string& name, bool go_backwards) const {
  RecurrentConfig c = config();
  c.name = name;
  c.go_backwards = go_backwards;
  return std::make_unique<SimpleRNN>(units(), c);
}

std::vector<Output> SimpleRNN::run(const Scope& scope, const Output& x,
                                   const std::vector<Output>& states, const Output& bias,
                                   const ops::RnnOptions& options) {
  return ops::simple_rnn(scope, x, states[0], kernel(), recurrent_kernel(), bias, options);
}

// ---- Bidirectional ----

Bidirectional::Bidirectional(const Recurrent& layer, MergeMode merge_mode, std::string name)
    : Layer(std::move(name)), merge_mode_(merge_mode) {
  const std::string base = layer.base_name();
  forward_ = layer.clone("forward_" + base, layer.config().go_backwards);
  backward_ = layer.clone("backward_" + base, !layer.config().go_backwards);
  // Keras reverses the backward half's sequence back into input order, and its masked steps
  // output zeros when sequences are returned.
  backward_->input_order_output_ = true;
  forward_->zero_output_for_mask_ = backward_->zero_output_for_mask_ =
      layer.config().return_sequences;
}

Output Bidirectional::call(const Scope& scope, const Output& x) {
  const std::vector<Output> state = std::move(initial_state_);
  const Output mask = mask_;
  initial_state_.clear();
  mask_ = Output();
  const bool listing = listing_;
  listing_ = false;
  SLUICE_REQUIRE(listing || merge_mode_ != MergeMode::none, InvalidArgument,
                 "Bidirectional layer '", name(),
                 "' with merge mode none has two outputs: call call_with_state");
  const size_t n = static_cast<size_t>(forward_->num_states());
  SLUICE_REQUIRE(state.empty() || state.size() == 2 * n, InvalidArgument, "Bidirectional layer '",
                 name(), "' needs an initial state of ", 2 * n,
                 " tensors (forward then backward), got ", state.size());
  const bool first = !forward_->built();
  std::vector<Output> f = forward_->call_with_state(
      scope, x, state.empty() ? std::vector<Output>{} : std::vector<Output>(state.begin(), state.begin() + n), mask);
  std::vector<Output> b = backward_->call_with_state(
      scope, x, state.empty() ? std::vector<Output>{} : std::vector<Output>(state.begin() + n, state.end()), mask);
  if (first) {
    add_weights_of(*forward_);
    add_weights_of(*backward_);
  }
  const Output& y = f[0];
  const Output& y_rev = b[0];
  const Scope ms = scope.sub("merge");
  results_.clear();
  switch (merge_mode_) {
    case MergeMode::concat: results_.push_back(ops::concat(ms, {y, y_rev}, -1)); break;
    case MergeMode::sum: results_.push_back(ops::add(ms, y, y_rev)); break;
    case MergeMode::mul: results_.push_back(ops::mul(ms, y, y_rev)); break;
    case MergeMode::ave:
      results_.push_back(ops::mul(ms, ops::add(ms, y, y_rev), ops::scalar_like(ms, y, 0.5)));
      break;
    case MergeMode::none: results_ = {y, y_rev}; break;
  }
  results_.insert(results_.end(), f.begin() + 1, f.end());
  results_.insert(results_.end(), b.begin() + 1, b.end());
  return results_[0];
}

std::vector<Output> Bidirectional::call_with_state(const Scope& scope, const Output& x,
                                                   const std::vector<Output>& initial_state,
                                                   const Output& mask) {
  initial_state_ = initial_state;
  mask_ = mask;
  listing_ = true;
  try {
    (*this)(scope, x);
  } catch (...) {
    initial_state_.clear();
    mask_ = Output();
    listing_ = false;
    throw;
  }
  return results_;
}

Output Bidirectional::operator()(const Scope& scope, const Output& x, const Output& mask) {
  SLUICE_REQUIRE(merge_mode_ != MergeMode::none, InvalidArgument,
                 "Bidirectional with merge mode none has two outputs: call call_with_state");
  return call_with_state(scope, x, {}, mask)[0];
}

// ---- Embedding ----

Embedding::Embedding(int64_t input_dim, int64_t output_dim, bool mask_zero, std::string name,
                     Initializer embeddings_initializer, DType dtype)
    : Layer(std::move(name)), input_dim_(input_dim), output_dim_(output_dim),
      mask_zero_(mask_zero), init_(std::move(embeddings_initializer)), dtype_(dtype) {
  SLUICE_REQUIRE(input_dim > 0 && output_dim > 0, InvalidArgument,
                 "Embedding needs positive input_dim and output_dim, got ", input_dim, " and ",
                 output_dim);
  (void)checked_mul(input_dim, output_dim, "Embedding size");
  SLUICE_REQUIRE(is_floating(dtype), InvalidArgument, "Embedding dtype must be float, got ",
                 dtype_name(dtype));
}

void Embedding::build(const Scope& scope, const Shape&, DType) {
  embeddings_ = add_weight(scope, "embeddings", Shape{input_dim_, output_dim_}, dtype_, init_);
}

namespace {

Output as_ids(const Scope& scope, const Output& ids, const std::string& layer) {
  const DType t = ids.dtype();
  if (t == DType::i32 || t == DType::i64) return ids;
  SLUICE_REQUIRE(is_floating(t), InvalidArgument, "Embedding layer '", layer,
                 "' needs integer ids (or floats holding them), got ", dtype_name(t));
  return ops::cast(scope, ids, DType::i32);
}

}  // namespace

Output Embedding::call(const Scope& scope, const Output& x) {
  return ops::gather(scope, embeddings_, as_ids(scope, x, name()), 0);
}

Output Embedding::compute_mask(const Scope& scope, const Output& ids) const {
  if (!mask_zero_) return Output();
  const Scope s = scope.sub("embedding_mask");
  const Output i = as_ids(s, ids, name());
  return ops::not_equal(s, i, ops::scalar_like(s, i, 0.0));
}

}  // namespace sluice::layers
