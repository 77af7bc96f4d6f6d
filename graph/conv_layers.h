// Convolution and pooling layers (Keras semantics, NHWC). Like every layer they own their
// weights: Conv2D creates "<scope>/<name>/kernel" [KH,KW,C,F] and ".../bias" [F] on its
// first call and reuses them on later calls.
//
//   layers::Conv2D conv(32, {3, 3}, {1, 1}, Padding::same, Activation::relu);
//   layers::MaxPooling2D pool;                          // 2x2, stride 2, VALID
//   Output h = pool(root, conv(root, img));             // img [N,28,28,1] -> [N,14,14,32]
#pragma once

#include <string>
#include <vector>

#include "../ops/conv_ops.h"
#include "layers.h"

namespace sluice::layers {

// x [N,H,W,C] -> activation(conv2d(x, kernel) + bias) [N,OH,OW,filters] (ops/conv_ops.h
// for the output size). kernel_size, strides and dilation_rate have two positive entries;
// as in Keras, strides > 1 and dilation_rate > 1 do not go together (ops::conv2d allows it).
// With a bias and a linear or relu activation, one fused kernel does all three.
class Conv2D : public Layer {
 public:
  Conv2D(int64_t filters, std::vector<int64_t> kernel_size, std::vector<int64_t> strides = {1, 1},
         Padding padding = Padding::valid, Activation activation = Activation::linear,
         bool use_bias = true, std::string name = "", std::vector<int64_t> dilation_rate = {1, 1},
         Initializer kernel_initializer = Initializer::glorot_uniform(),
         Initializer bias_initializer = Initializer::zeros());
  Output kernel() const { return kernel_; }
  Output bias() const { return bias_; }  // invalid without use_bias

 protected:
  const char* default_name() const override { return "conv2d"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_, strides_, dilation_rate_;
  Padding padding_;
  Activation activation_;
  bool use_bias_;
  Initializer kernel_init_, bias_init_;
  Output kernel_, bias_;
};

// x [N,H,W,C] -> [N,OH,OW,C]: the maximum of each pool_size window; strides default to
// pool_size (Keras).
class MaxPooling2D : public Layer {
 public:
  explicit MaxPooling2D(std::vector<int64_t> pool_size = {2, 2}, std::vector<int64_t> strides = {},
                        Padding padding = Padding::valid, std::string name = "");

 protected:
  const char* default_name() const override { return "max_pooling2d"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::vector<int64_t> pool_size_, strides_;
  Padding padding_;
};

// x [N,H,W,C] -> [N,OH,OW,C]: the mean of each window's non-padding elements.
class AveragePooling2D : public Layer {
 public:
  explicit AveragePooling2D(std::vector<int64_t> pool_size = {2, 2},
                            std::vector<int64_t> strides = {}, Padding padding = Padding::valid,
                            std::string name = "");

 protected:
  const char* default_name() const override { return "average_pooling2d"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::vector<int64_t> pool_size_, strides_;
  Padding padding_;
};

// x [N,H,W,C] -> [N,C]: the mean over H and W.
class GlobalAveragePooling2D : public Layer {
 public:
  explicit GlobalAveragePooling2D(std::string name = "") : Layer(std::move(name)) {}

 protected:
  const char* default_name() const override { return "global_average_pooling2d"; }
  Output call(const Scope& scope, const Output& x) override;
};

}  // namespace sluice::layers
