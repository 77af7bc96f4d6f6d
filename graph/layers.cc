#include "layers.h"

#include <algorithm>

#include "../ops/array_ops.h"
#include "../ops/math_binary_ops.h"
#include "../ops/math_ops.h"
#include "../ops/math_unary_ops.h"
#include "../ops/reduction_ops.h"
#include "../ops/nn_ops.h"

namespace sluice {

Output apply_activation(const Scope& scope, const Output& x, Activation act) {
  switch (act) {
    case Activation::linear: return x;
    case Activation::relu: return ops::relu(scope, x);
    case Activation::sigmoid: return ops::sigmoid(scope, x);
    case Activation::tanh: return ops::tanh(scope, x);
    case Activation::softmax: return ops::softmax(scope, x);
  }
  throw InvalidArgument("unknown activation");
}

namespace layers {

// ---- Layer ----

Output Layer::operator()(const Scope& scope, const Output& x) {
  SLUICE_REQUIRE(x.valid(), InvalidArgument, "layer called on an empty Output");
  const Graph g = scope.graph();
  SLUICE_REQUIRE(x.node()->graph == g.data(), InvalidArgument, "Tensor '", x.name(),
                 "' is not an element of the scope's graph");
  if (!built_) {
    const std::string base = scope.prefix() + (name_.empty() ? default_name() : name_);
    full_name_ = g.unique_name(base);
    SLUICE_REQUIRE(name_.empty() || full_name_ == base, AlreadyExists, "a layer named '", base,
                   "' already exists in this graph; layer names must be unique");
    graph_ = g.data();
    // Weights live outside the caller's control dependencies (like TensorFlow's variables).
    build(scope.without_control_dependencies().with_prefix(full_name_), x.shape(), x.dtype());
    built_ = true;
  }
  SLUICE_REQUIRE(graph_ == g.data(), InvalidArgument, "layer '", full_name_,
                 "' was built in another graph; create one layer object per graph");
  const Output y = call(scope.with_prefix(full_name_), x);
  if (activity_regularizer_.active()) {
    // Keras 2: the penalty of the batch divided by the batch size.
    const Scope rs = scope.with_prefix(full_name_).sub("activity_regularizer");
    const regularizers::Regularizer& r = activity_regularizer_;
    Output e;  // l1 |y| + l2 y^2, elementwise
    if (r.l1 != 0) e = ops::mul(rs, ops::scalar_like(rs, y, r.l1), ops::abs(rs, y));
    if (r.l2 != 0) {
      Output p = ops::mul(rs, ops::scalar_like(rs, y, r.l2), ops::square(rs, y));
      e = e.valid() ? ops::add(rs, e, p) : p;
    }
    Output per_row = e;
    if (y.shape().rank() > 1) {
      std::vector<int64_t> rest;
      for (int64_t a = 1; a < y.shape().rank(); ++a) rest.push_back(a);
      per_row = ops::sum(rs, e, rest);
    }
    Graph(g).add_to_collection(kRegularizationLosses, ops::mean(rs, per_row).op());
  }
  // Recorded for models::Model (summary rows, weights by layer): "layer:<type>:<name>".
  Graph(g).add_to_collection(std::string(kLayerCallPrefix) + default_name() + ":" + full_name_, y.op());
  // A name given through the scope (layer(root.named("probs"), x)) names the output: an
  // Identity "<prefix>probs", as ops::identity(root.named("probs"), y) would.
  return scope.explicit_name().empty() ? y : ops::identity(scope, y);
}

void Layer::build(const Scope&, const Shape&, DType) {}

Output Layer::add_weight(const Scope& scope, const std::string& name, const Shape& shape, DType dtype,
                         const Initializer& init, bool trainable) {
  trainable = trainable && trainable_;
  Output v = ops::variable(scope.named(name), shape, dtype, init, trainable);
  weights_.push_back({v.op(), trainable});
  const bool is_kernel = name == "kernel" || name == "depthwise_kernel" ||
                         name == "pointwise_kernel" || name == "embeddings";
  const bool is_bias = name == "bias";
  const regularizers::Regularizer reg =
      is_kernel ? kernel_regularizer_ : is_bias ? bias_regularizer_ : regularizers::Regularizer();
  const constraints::Constraint con =
      is_kernel ? kernel_constraint_ : is_bias ? bias_constraint_ : constraints::Constraint();
  Graph g = scope.graph();
  if (reg.active())
    g.add_to_collection(kRegularizationLosses, reg(scope.sub(name).sub("regularizer"), v).op());
  if (con.active()) {
    const Scope cs = scope.sub(name).sub("constraint");
    g.add_to_collection(kWeightConstraints, ops::assign(cs, v, con(cs, v)).op());
  }
  return v;
}

void Layer::require_unbuilt(const char* what) const {
  SLUICE_REQUIRE(!built_, FailedPrecondition, "layer '", full_name_, "': ", what,
                 " must be set before the layer's first call");
}

Layer& Layer::set_kernel_regularizer(const regularizers::Regularizer& r) {
  require_unbuilt("kernel_regularizer");
  kernel_regularizer_ = r;
  return *this;
}

Layer& Layer::set_bias_regularizer(const regularizers::Regularizer& r) {
  require_unbuilt("bias_regularizer");
  bias_regularizer_ = r;
  return *this;
}

Layer& Layer::set_activity_regularizer(const regularizers::Regularizer& r) {
  require_unbuilt("activity_regularizer");
  activity_regularizer_ = r;
  return *this;
}

Layer& Layer::set_kernel_constraint(const constraints::Constraint& c) {
  require_unbuilt("kernel_constraint");
  kernel_constraint_ = c;
  return *this;
}

Layer& Layer::set_bias_constraint(const constraints::Constraint& c) {
  require_unbuilt("bias_constraint");
  bias_constraint_ = c;
  return *this;
}

Layer& Layer::set_trainable(bool trainable) {
  require_unbuilt("trainable");
  trainable_ = trainable;
  return *this;
}

void Layer::add_update(const Operation& op) {
  updates_.push_back(op);
  Graph::from_data(graph_).add_to_collection(collections::kUpdateOps, op);
}

void Layer::add_weights_of(const Layer& child) {
  weights_.insert(weights_.end(), child.weights_.begin(), child.weights_.end());
}

std::vector<Operation> Layer::weights() const {
  std::vector<Operation> r;
  for (const auto& w : weights_) r.push_back(w.op);
  return r;
}

std::vector<Operation> Layer::trainable_weights() const {
  std::vector<Operation> r;
  for (const auto& w : weights_)
    if (w.trainable) r.push_back(w.op);
  return r;
}

std::vector<Operation> Layer::non_trainable_weights() const {
  std::vector<Operation> r;
  for (const auto& w : weights_)
    if (!w.trainable) r.push_back(w.op);
  return r;
}

void Layer::check_session(const Session& session) const {
  SLUICE_REQUIRE(built_, FailedPrecondition, "layer '", name_.empty() ? default_name() : name_,
                 "' is not built yet: call it on an input first");
  SLUICE_REQUIRE(session.graph().data() == graph_, InvalidArgument, "layer '", full_name_,
                 "' belongs to another graph than the session's");
}

std::vector<Tensor> Layer::get_weights(const Session& session) const {
  check_session(session);
  std::vector<Tensor> values;
  for (const auto& w : weights_) values.push_back(session.variable_value(w.op.name()));
  return values;
}

void Layer::set_weights(Session& session, const std::vector<Tensor>& values) const {
  check_session(session);
  SLUICE_REQUIRE(values.size() == weights_.size(), InvalidArgument, "layer '", full_name_,
                 "' has ", weights_.size(), " weights, got ", values.size(), " values");
  for (size_t i = 0; i < values.size(); ++i) {
    const Node* v = weights_[i].op.node();
    SLUICE_REQUIRE(values[i].valid() && values[i].dtype() == v->output_dtypes[0] &&
                       values[i].shape() == v->output_shapes[0],
                   InvalidArgument, "layer '", full_name_, "': weight ", i, " '", v->name, "' is ",
                   dtype_name(v->output_dtypes[0]), v->output_shapes[0].to_string(), ", got ",
                   values[i].valid() ? values[i].summary() : "an empty Tensor");
  }
  for (size_t i = 0; i < values.size(); ++i) session.set_variable_value(weights_[i].op.name(), values[i]);
}

// ---- Dense ----

Dense::Dense(int64_t units, Activation activation, bool use_bias, std::string name,
             Initializer kernel_initializer, Initializer bias_initializer)
    : Layer(std::move(name)), units_(units), activation_(activation), use_bias_(use_bias),
      kernel_init_(std::move(kernel_initializer)), bias_init_(std::move(bias_initializer)) {
  SLUICE_REQUIRE(units > 0, InvalidArgument, "Dense units must be positive, got ", units);
}

void Dense::build(const Scope& scope, const Shape& input_shape, DType dtype) {
  SLUICE_REQUIRE(input_shape.known_rank() && input_shape.rank() >= 1 && input_shape.dim(-1) > 0,
                 InvalidArgument, "Dense layer '", name(),
                 "' needs inputs whose last dimension is known, got ", input_shape.to_string());
  SLUICE_REQUIRE(is_floating(dtype), InvalidArgument, "Dense layer '", name(),
                 "' needs float inputs, got ", dtype_name(dtype));
  kernel_ = add_weight(scope, "kernel", Shape{input_shape.dim(-1), units_}, dtype, kernel_init_);
  if (use_bias_) bias_ = add_weight(scope, "bias", Shape{units_}, dtype, bias_init_);
}

Output Dense::call(const Scope& scope, const Output& x) {
  const Shape& s = x.shape();
  SLUICE_REQUIRE(s.known_rank() && s.rank() >= 1 && s.dim(-1) == kernel_.shape().dim(0),
                 InvalidArgument, "Dense layer '", name(), "' built for inputs [..,",
                 kernel_.shape().dim(0), "] called on ", s.to_string());
  Output y;
  if (s.rank() == 2) {
    y = ops::matmul(scope, x, kernel_);
  } else {
    // Applied to the last axis: fold the leading dims into one, then unfold.
    std::vector<int64_t> out = s.dims();
    out.back() = units_;
    SLUICE_REQUIRE(std::count(out.begin(), out.end(), -1) <= 1, InvalidArgument, "Dense layer '",
                   name(), "' on ", s.to_string(), ": at most one unknown dimension is supported");
    y = ops::matmul(scope, ops::reshape(scope, x, {-1, s.dim(-1)}), kernel_);
    y = ops::reshape(scope, y, out);
  }
  if (use_bias_) y = ops::bias_add(scope, y, bias_);
  return apply_activation(scope, y, activation_);
}

// ---- Dropout ----

Dropout::Dropout(double rate, int64_t seed, std::vector<int64_t> noise_shape, std::string name)
    : Layer(std::move(name)), rate_(rate), seed_(seed), noise_shape_(std::move(noise_shape)) {
  SLUICE_REQUIRE(rate >= 0.0 && rate < 1.0, InvalidArgument, "dropout rate must be in [0, 1), got ", rate);
}

Output Dropout::call(const Scope& scope, const Output& x) {
  return ops::dropout(scope, x, learning_phase(scope.graph()), rate_, seed_, noise_shape_);
}

// ---- Flatten ----

Output Flatten::call(const Scope& scope, const Output& x) {
  const Shape& s = x.shape();
  SLUICE_REQUIRE(s.known_rank() && s.rank() >= 1, InvalidArgument, "Flatten of ", s.to_string());
  int64_t n = 1;
  for (int i = 1; i < s.rank(); ++i) {
    SLUICE_REQUIRE(s.dim(i) >= 0, InvalidArgument, "Flatten layer '", name(),
                   "' needs every dimension but the first known, got ", s.to_string());
    n = checked_mul(n, s.dim(i));
  }
  return ops::reshape(scope, x, {-1, n});
}

}  // namespace layers
}  // namespace sluice
