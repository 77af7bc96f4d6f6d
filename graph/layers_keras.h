// Keras layers the Keras HDF5 importer (io/keras/) needs beyond the model API's: the 1-D
// poolings, ReLU with its options, and Activation by Keras name (hard_sigmoid, elu, selu,
// softplus, softsign, exponential, swish, ...).
//
//   layers::MaxPooling1D pool(5);                 // x [N, W, C] -> [N, W / 5, C]
//   layers::ReLU relu6(6.0);                      // min(max(x, 0), 6)
//   layers::NamedActivation hs("hard_sigmoid");   // clip(0.2 x + 0.5, 0, 1), Keras 2's
#pragma once

#include <string>
#include <vector>

#include "../ops/conv_ops.h"
#include "layers.h"

namespace sluice {

// Applies the Keras activation called `name` to x (same shape): linear, relu, sigmoid, tanh,
// softmax (last axis), hard_sigmoid (Keras 2: clip(0.2 x + 0.5, 0, 1)), elu, selu,
// softplus, softsign, exponential, swish / silu (x sigmoid(x)), relu6. InvalidArgument
// naming the known ones otherwise.
Output apply_keras_activation(const Scope& scope, const Output& x, const std::string& name);
// Whether apply_keras_activation knows `name`.
bool is_keras_activation(const std::string& name);

namespace layers {

// keras.layers.Activation by name (any name apply_keras_activation knows).
class NamedActivation : public Layer {
 public:
  explicit NamedActivation(std::string activation, std::string name = "")
      : Layer(std::move(name)), activation_(std::move(activation)) {}
  const std::string& activation() const { return activation_; }

 protected:
  const char* default_name() const override { return "activation"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::string activation_;
};

// keras.layers.ReLU: x >= threshold ? x : negative_slope * (x - threshold), then at most
// max_value (max_value < 0: none). Same shape.
class ReLU : public Layer {
 public:
  explicit ReLU(double max_value = -1, double negative_slope = 0, double threshold = 0, std::string name = "")
      : Layer(std::move(name)), max_value_(max_value), negative_slope_(negative_slope), threshold_(threshold) {}

 protected:
  const char* default_name() const override { return "re_lu"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  double max_value_, negative_slope_, threshold_;
};

// x [N, W, C] -> [N, OW, C]: the maximum (MaxPooling1D) or mean (AveragePooling1D, of the
// window's non-padding elements) of each pool_size window, strides apart (default:
// pool_size, as Keras). Output width as ops::max_pool along one axis.
class MaxPooling1D : public Layer {
 public:
  explicit MaxPooling1D(int64_t pool_size = 2, int64_t strides = 0, Padding padding = Padding::valid,
                        std::string name = "")
      : Layer(std::move(name)), pool_(pool_size), strides_(strides > 0 ? strides : pool_size), padding_(padding) {}

 protected:
  const char* default_name() const override { return "max_pooling1d"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t pool_, strides_;
  Padding padding_;
};

class AveragePooling1D : public Layer {
 public:
  explicit AveragePooling1D(int64_t pool_size = 2, int64_t strides = 0, Padding padding = Padding::valid,
                            std::string name = "")
      : Layer(std::move(name)), pool_(pool_size), strides_(strides > 0 ? strides : pool_size), padding_(padding) {}

 protected:
  const char* default_name() const override { return "average_pooling1d"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t pool_, strides_;
  Padding padding_;
};

// x [N, W, C] -> [N, C]: the mean (GlobalAveragePooling1D) or maximum (GlobalMaxPooling1D)
// over W.
class GlobalAveragePooling1D : public Layer {
 public:
  explicit GlobalAveragePooling1D(std::string name = "") : Layer(std::move(name)) {}

 protected:
  const char* default_name() const override { return "global_average_pooling1d"; }
  Output call(const Scope& scope, const Output& x) override;
};

class GlobalMaxPooling1D : public Layer {
 public:
  explicit GlobalMaxPooling1D(std::string name = "") : Layer(std::move(name)) {}

 protected:
  const char* default_name() const override { return "global_max_pooling1d"; }
  Output call(const Scope& scope, const Output& x) override;
};

}  // namespace layers
}  // namespace sluice
