// Keras-style layers. A layer object owns its weights: it creates them on its first call,
// named "<scope prefix><layer name>/<weight>" (e.g. "block1/dense/kernel"), and reuses
// them on every later call, so calling one layer on two inputs shares its weights.
// Layer names default to the Keras ones made unique in the graph (dense, dense_1, ...).
//
//   layers::Dense hidden(128, Activation::relu);
//   Output h1 = hidden(root, x1);
//   Output h2 = hidden(root, x2);     // same kernel and bias as h1
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "../ops/state_ops.h"
#include "../runtime/session.h"
#include "regularizers.h"
#include "scope.h"

namespace sluice {

enum class Activation { linear, relu, sigmoid, tanh, softmax };
// Applies `act` to x (linear returns x unchanged).
Output apply_activation(const Scope& scope, const Output& x, Activation act);

namespace layers {

// Graph collections "layer:<type_name>:<layer name>" hold the output op of each call of
// a layer (what models::Model reads to list a graph's layers).
inline constexpr const char* kLayerCallPrefix = "layer:";

class Layer {
 public:
  explicit Layer(std::string name = "") : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;
  // Movable before its first call (models::Sequential takes layers by value).
  Layer(Layer&&) = default;
  Layer& operator=(Layer&&) = default;

  // Applies the layer to x, building its weights on the first call. A scope with an explicit
  // name (root.named("probs")) names the output: it is then an Identity "<prefix>probs" of
  // the layer's result (the layer and its weights keep the layer's own name).
  Output operator()(const Scope& scope, const Output& x);

  // The layer's full name ("block1/dense"), set on the first call.
  const std::string& name() const { return full_name_; }
  bool built() const { return built_; }
  // The class's default name in snake case ("conv2d", "batch_normalization").
  const char* type_name() const { return default_name(); }
  std::vector<Operation> weights() const;
  std::vector<Operation> trainable_weights() const;
  std::vector<Operation> non_trainable_weights() const;
  // Ops to run while training (e.g. batch normalization's moving averages).
  const std::vector<Operation>& updates() const { return updates_; }

  // The values of weights() in `session`, in creation order (Keras' get_weights: Dense
  // {kernel, bias}; BatchNormalization {gamma, beta, moving_mean, moving_variance}).
  // FailedPrecondition before the layer is built or while a weight is uninitialised;
  // InvalidArgument for a session of another graph.
  std::vector<Tensor> get_weights(const Session& session) const;
  // Sets every weight in `session` (Keras' set_weights): one tensor per weight, in
  // get_weights' order, each with the weight's dtype and shape. Everything is checked before
  // anything is written; a mismatch is InvalidArgument naming the weight and both shapes.
  void set_weights(Session& session, const std::vector<Tensor>& values) const;

  // Keras' kernel_regularizer / bias_regularizer / activity_regularizer / kernel_constraint /
  // bias_constraint (graph/regularizers.h), set before the first call (FailedPrecondition
  // after). "Kernel" means the weights named "kernel", "depthwise_kernel",
  // "pointwise_kernel" and "embeddings" (not "recurrent_kernel"); "bias" the ones named
  // "bias". The activity penalty is taken on the layer's output and divided by its batch
  // size (Keras 2): per call, penalty(sum over the other axes) averaged over axis 0.
  Layer& set_kernel_regularizer(const regularizers::Regularizer& r);
  Layer& set_bias_regularizer(const regularizers::Regularizer& r);
  Layer& set_activity_regularizer(const regularizers::Regularizer& r);
  Layer& set_kernel_constraint(const constraints::Constraint& c);
  Layer& set_bias_constraint(const constraints::Constraint& c);
  // Keras' layer.trainable = False, set before the first call: every weight the layer
  // creates is non-trainable (not in the trainable-variables collection, so optimizers leave
  // it alone). BatchNormalization also runs in inference mode then (Keras 2).
  Layer& set_trainable(bool trainable);
  bool trainable() const { return trainable_; }

 protected:
  virtual const char* default_name() const = 0;
  // Creates weights (through add_weight) for an input of this shape and dtype.
  virtual void build(const Scope& scope, const Shape& input_shape, DType dtype);
  virtual Output call(const Scope& scope, const Output& x) = 0;

  Output add_weight(const Scope& scope, const std::string& name, const Shape& shape, DType dtype,
                    const Initializer& init, bool trainable = true);
  // Records an update op and adds it to the graph's update-ops collection.
  void add_update(const Operation& op);
  // Lists a built sub-layer's weights as this layer's too (wrappers such as Bidirectional).
  void add_weights_of(const Layer& child);

 private:
  struct Weight {
    Operation op;
    bool trainable;
  };
  std::string name_;
  std::string full_name_;
  bool built_ = false;
  detail::GraphData* graph_ = nullptr;  // the graph of the first call
  std::vector<Weight> weights_;
  std::vector<Operation> updates_;
  regularizers::Regularizer kernel_regularizer_, bias_regularizer_, activity_regularizer_;
  constraints::Constraint kernel_constraint_, bias_constraint_;
  bool trainable_ = true;

  void check_session(const Session& session) const;
  void require_unbuilt(const char* what) const;
};

// Keras' per-layer weight options in one struct, for layers built in place (Sequential
// brace lists): Sequential({layers::with_options(layers::Dense(10), opts), ...}).
struct WeightOptions {
  regularizers::Regularizer kernel_regularizer, bias_regularizer, activity_regularizer;
  constraints::Constraint kernel_constraint, bias_constraint;
};
// Sets `options` on a layer temporary and returns it (moved).
template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, L>>>
L with_options(L&& layer, const WeightOptions& options) {
  layer.set_kernel_regularizer(options.kernel_regularizer)
      .set_bias_regularizer(options.bias_regularizer)
      .set_activity_regularizer(options.activity_regularizer)
      .set_kernel_constraint(options.kernel_constraint)
      .set_bias_constraint(options.bias_constraint);
  return std::move(layer);
}

// x [.., in] -> activation(x kernel + bias) [.., units];
// kernel [in, units] (glorot-uniform), bias [units] (zeros).
class Dense : public Layer {
 public:
  explicit Dense(int64_t units, Activation activation = Activation::linear, bool use_bias = true,
                 std::string name = "", Initializer kernel_initializer = Initializer::glorot_uniform(),
                 Initializer bias_initializer = Initializer::zeros());
  Output kernel() const { return kernel_; }
  Output bias() const { return bias_; }

 protected:
  const char* default_name() const override { return "dense"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t units_;
  Activation activation_;
  bool use_bias_;
  Initializer kernel_init_, bias_init_;
  Output kernel_, bias_;
};

// Inverted dropout driven by the graph's learning phase: identity unless learning_phase
// is fed true. noise_shape as ops::dropout (empty: per element).
class Dropout : public Layer {
 public:
  explicit Dropout(double rate, int64_t seed = 0, std::vector<int64_t> noise_shape = {},
                   std::string name = "");

 protected:
  const char* default_name() const override { return "dropout"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  double rate_;
  int64_t seed_;
  std::vector<int64_t> noise_shape_;
};

// x [batch, d1, ..., dn] -> [batch, d1*...*dn] (d1..dn must be known).
class Flatten : public Layer {
 public:
  explicit Flatten(std::string name = "") : Layer(std::move(name)) {}

 protected:
  const char* default_name() const override { return "flatten"; }
  Output call(const Scope& scope, const Output& x) override;
};

}  // namespace layers
}  // namespace sluice
