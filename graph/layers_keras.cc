#include "layers_keras.h"

#include <set>

#include "../ops/activation_ops.h"
#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/nn_ops.h"
#include "../ops/pool_ops.h"
#include "../ops/reduction_ops.h"

namespace sluice {

namespace {
const std::set<std::string>& keras_activations() {
  static const std::set<std::string> names = {"linear", "relu", "sigmoid", "tanh", "softmax", "hard_sigmoid",
                                              "elu", "selu", "softplus", "softsign", "exponential", "swish",
                                              "silu", "relu6"};
  return names;
}
}  // namespace

bool is_keras_activation(const std::string& name) { return keras_activations().count(name) > 0; }

Output apply_keras_activation(const Scope& scope, const Output& x, const std::string& name) {
  if (name == "linear") return x;
  if (name == "relu") return ops::relu(scope, x);
  if (name == "sigmoid") return ops::sigmoid(scope, x);
  if (name == "tanh") return ops::tanh(scope, x);
  if (name == "softmax") return ops::softmax(scope, x);
  if (name == "hard_sigmoid") {
    // Keras 2 (and tf.keras 2): clip(0.2 x + 0.5, 0, 1), not TensorFlow's relu6(x + 3) / 6.
    const Output y = ops::add(scope, ops::mul(scope, x, ops::scalar_like(scope, x, 0.2)),
                              ops::scalar_like(scope, x, 0.5));
    return ops::minimum(scope, ops::maximum(scope, y, ops::scalar_like(scope, x, 0.0)),
                        ops::scalar_like(scope, x, 1.0));
  }
  if (name == "elu") return ops::elu(scope, x);
  if (name == "selu") return ops::selu(scope, x);
  if (name == "softplus") return ops::softplus(scope, x);
  if (name == "softsign") return ops::softsign(scope, x);
  if (name == "exponential") return ops::exp(scope, x);
  if (name == "swish" || name == "silu") return ops::mul(scope, x, ops::sigmoid(scope, x));
  if (name == "relu6") return ops::relu6(scope, x);
  std::string known;
  for (const std::string& n : keras_activations()) known += (known.empty() ? "" : ", ") + n;
  throw InvalidArgument("unknown Keras activation '" + name + "' (known: " + known + ")");
}

namespace layers {

Output NamedActivation::call(const Scope& scope, const Output& x) {
  // Under "<layer>/<name>/", so a Keras config can be written back for it (io/keras); linear
  // still gets an op of its own (the layer's output in summaries).
  if (activation_ == "linear") return ops::identity(scope, x);
  return apply_keras_activation(scope.sub(activation_), x, activation_);
}

Output ReLU::call(const Scope& scope, const Output& x) {
  Output y;
  if (negative_slope_ == 0 && threshold_ == 0) {
    y = ops::relu(scope, x);
  } else {
    // x >= threshold ? x : slope * (x - threshold)
    const Output t = ops::scalar_like(scope, x, threshold_);
    const Output below = ops::mul(scope, ops::sub(scope, x, t), ops::scalar_like(scope, x, negative_slope_));
    y = ops::where(scope, ops::greater_equal(scope, x, t), x, below);
  }
  if (max_value_ >= 0) y = ops::minimum(scope, y, ops::scalar_like(scope, y, max_value_));
  return y;
}

namespace {
// [N, W, C] -> [N, 1, W, C], pooled 1 x k, back to [N, OW, C].
void require_rank3(const Output& x, const char* layer) {
  SLUICE_REQUIRE(x.shape().rank() == 3, InvalidArgument, layer, " needs an input [N, W, C], got ",
                 x.shape().to_string());
}
}  // namespace

Output MaxPooling1D::call(const Scope& scope, const Output& x) {
  require_rank3(x, "MaxPooling1D");
  const Output y = ops::max_pool(scope, ops::expand_dims(scope, x, 1), {1, pool_}, {1, strides_}, padding_);
  return ops::squeeze(scope, y, {1});
}

Output AveragePooling1D::call(const Scope& scope, const Output& x) {
  require_rank3(x, "AveragePooling1D");
  const Output y = ops::avg_pool(scope, ops::expand_dims(scope, x, 1), {1, pool_}, {1, strides_}, padding_);
  return ops::squeeze(scope, y, {1});
}

Output GlobalAveragePooling1D::call(const Scope& scope, const Output& x) {
  require_rank3(x, "GlobalAveragePooling1D");
  return ops::mean(scope, x, {1});
}

Output GlobalMaxPooling1D::call(const Scope& scope, const Output& x) {
  require_rank3(x, "GlobalMaxPooling1D");
  return ops::max(scope, x, {1});
}

}  // namespace layers
}  // namespace sluice
