// More Keras layers: Activation, Reshape, Permute, RepeatVector, ZeroPadding2D,
// UpSampling2D, GlobalMaxPooling2D, LayerNormalization, Conv1D, Conv2DTranspose,
// DepthwiseConv2D, SeparableConv2D, the merge layers (Concatenate, Add, Multiply, Average)
// and TimeDistributed. Weights are named as Keras names them ("<layer>/kernel",
// "depthwise_kernel", "pointwise_kernel", "gamma", ...).
//
//   layers::Concatenate cat;                       // merge layers take several inputs
//   Output h = cat(root, {a, b});                  // [N, 3] + [N, 5] -> [N, 8]
//   layers::TimeDistributed td(std::make_shared<layers::Dense>(4));
//   Output y = td(root, seq);                      // [N, T, F] -> [N, T, 4]
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../ops/conv_ops.h"
#include "layers.h"

namespace sluice::layers {

// activation(x), same shape.
class Activation : public Layer {
 public:
  explicit Activation(sluice::Activation activation, std::string name = "")
      : Layer(std::move(name)), activation_(activation) {}

 protected:
  const char* default_name() const override { return "activation"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  sluice::Activation activation_;
};

// x [N, ...] -> [N, target_shape...]; one entry of target_shape may be -1.
class Reshape : public Layer {
 public:
  explicit Reshape(std::vector<int64_t> target_shape, std::string name = "")
      : Layer(std::move(name)), target_(std::move(target_shape)) {}

 protected:
  const char* default_name() const override { return "reshape"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::vector<int64_t> target_;
};

// Permutes the non-batch axes: dims are 1-based as in Keras (Permute({2, 1}) swaps them).
class Permute : public Layer {
 public:
  explicit Permute(std::vector<int64_t> dims, std::string name = "")
      : Layer(std::move(name)), dims_(std::move(dims)) {}

 protected:
  const char* default_name() const override { return "permute"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::vector<int64_t> dims_;
};

// x [N, F] -> [N, n, F].
class RepeatVector : public Layer {
 public:
  explicit RepeatVector(int64_t n, std::string name = "") : Layer(std::move(name)), n_(n) {}

 protected:
  const char* default_name() const override { return "repeat_vector"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t n_;
};

// x [N,H,W,C] -> [N, H+top+bottom, W+left+right, C], zeros around.
class ZeroPadding2D : public Layer {
 public:
  // {top, bottom, left, right}; ZeroPadding2D(1) pads one everywhere.
  explicit ZeroPadding2D(int64_t padding = 1, std::string name = "")
      : ZeroPadding2D({padding, padding, padding, padding}, std::move(name)) {}
  explicit ZeroPadding2D(std::vector<int64_t> padding, std::string name = "");

 protected:
  const char* default_name() const override { return "zero_padding2d"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::vector<int64_t> pad_;
};

// x [N,H,W,C] -> [N, H*sh, W*sw, C], each pixel repeated (nearest neighbour).
class UpSampling2D : public Layer {
 public:
  explicit UpSampling2D(std::vector<int64_t> size = {2, 2}, std::string name = "")
      : Layer(std::move(name)), size_(std::move(size)) {}

 protected:
  const char* default_name() const override { return "up_sampling2d"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::vector<int64_t> size_;
};

// x [N,H,W,C] -> [N,C]: the maximum over H and W.
class GlobalMaxPooling2D : public Layer {
 public:
  explicit GlobalMaxPooling2D(std::string name = "") : Layer(std::move(name)) {}

 protected:
  const char* default_name() const override { return "global_max_pooling2d"; }
  Output call(const Scope& scope, const Output& x) override;
};

// Normalises each example over the last axis: gamma [F] (ones), beta [F] (zeros), Keras'
// epsilon 1e-3.
class LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(double epsilon = 1e-3, bool center = true, bool scale = true,
                              std::string name = "")
      : Layer(std::move(name)), epsilon_(epsilon), center_(center), scale_(scale) {}

 protected:
  const char* default_name() const override { return "layer_normalization"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  double epsilon_;
  bool center_, scale_;
  Output gamma_, beta_;
};

// x [N, W, C] -> [N, OW, filters]; kernel [K, C, filters], bias [filters].
class Conv1D : public Layer {
 public:
  Conv1D(int64_t filters, int64_t kernel_size, int64_t strides = 1, Padding padding = Padding::valid,
         sluice::Activation activation = sluice::Activation::linear, bool use_bias = true,
         std::string name = "", int64_t dilation_rate = 1);
  Output kernel() const { return kernel_; }

 protected:
  const char* default_name() const override { return "conv1d"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t filters_, kernel_size_, strides_, dilation_;
  Padding padding_;
  sluice::Activation activation_;
  bool use_bias_;
  Output kernel_, bias_;
};

// The transposed convolution: x [N,H,W,C] -> [N, OH, OW, filters] (valid: (H-1)*s + k;
// same: H*s); kernel [KH, KW, filters, C] (Keras' layout), bias [filters].
class Conv2DTranspose : public Layer {
 public:
  Conv2DTranspose(int64_t filters, std::vector<int64_t> kernel_size,
                  std::vector<int64_t> strides = {1, 1}, Padding padding = Padding::valid,
                  sluice::Activation activation = sluice::Activation::linear, bool use_bias = true,
                  std::string name = "");
  Output kernel() const { return kernel_; }

 protected:
  const char* default_name() const override { return "conv2d_transpose"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_, strides_;
  Padding padding_;
  sluice::Activation activation_;
  bool use_bias_;
  Output kernel_, bias_;
};

// x [N,H,W,C] -> [N,OH,OW,C*depth_multiplier]; depthwise_kernel [KH,KW,C,M], bias [C*M].
class DepthwiseConv2D : public Layer {
 public:
  DepthwiseConv2D(std::vector<int64_t> kernel_size, std::vector<int64_t> strides = {1, 1},
                  Padding padding = Padding::valid, int64_t depth_multiplier = 1,
                  sluice::Activation activation = sluice::Activation::linear, bool use_bias = true,
                  std::string name = "");

 protected:
  const char* default_name() const override { return "depthwise_conv2d"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::vector<int64_t> kernel_size_, strides_;
  Padding padding_;
  int64_t multiplier_;
  sluice::Activation activation_;
  bool use_bias_;
  Output kernel_, bias_;
};

// Depthwise then 1x1 pointwise: depthwise_kernel [KH,KW,C,M], pointwise_kernel
// [1,1,C*M,filters], bias [filters].
class SeparableConv2D : public Layer {
 public:
  SeparableConv2D(int64_t filters, std::vector<int64_t> kernel_size,
                  std::vector<int64_t> strides = {1, 1}, Padding padding = Padding::valid,
                  int64_t depth_multiplier = 1,
                  sluice::Activation activation = sluice::Activation::linear, bool use_bias = true,
                  std::string name = "");

 protected:
  const char* default_name() const override { return "separable_conv2d"; }
  void build(const Scope& scope, const Shape& input_shape, DType dtype) override;
  Output call(const Scope& scope, const Output& x) override;

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_, strides_;
  Padding padding_;
  int64_t multiplier_;
  sluice::Activation activation_;
  bool use_bias_;
  Output depthwise_, pointwise_, bias_;
};

// A layer of several inputs: call it with a list (all of one graph).
class Merge : public Layer {
 public:
  using Layer::operator();
  Output operator()(const Scope& scope, const std::vector<Output>& inputs);

 protected:
  explicit Merge(std::string name) : Layer(std::move(name)) {}
  Output call(const Scope& scope, const Output& x) override;
  virtual Output merge(const Scope& scope, const std::vector<Output>& inputs) = 0;

 private:
  std::vector<Output> pending_;
};

// Inputs of equal shape but along `axis` -> joined along it.
class Concatenate : public Merge {
 public:
  explicit Concatenate(int64_t axis = -1, std::string name = "") : Merge(std::move(name)), axis_(axis) {}

 protected:
  const char* default_name() const override { return "concatenate"; }
  Output merge(const Scope& scope, const std::vector<Output>& inputs) override;

 private:
  int64_t axis_;
};

// Element-wise sum / product / mean of inputs of one shape.
class Add : public Merge {
 public:
  explicit Add(std::string name = "") : Merge(std::move(name)) {}

 protected:
  const char* default_name() const override { return "add"; }
  Output merge(const Scope& scope, const std::vector<Output>& inputs) override;
};

class Multiply : public Merge {
 public:
  explicit Multiply(std::string name = "") : Merge(std::move(name)) {}

 protected:
  const char* default_name() const override { return "multiply"; }
  Output merge(const Scope& scope, const std::vector<Output>& inputs) override;
};

class Average : public Merge {
 public:
  explicit Average(std::string name = "") : Merge(std::move(name)) {}

 protected:
  const char* default_name() const override { return "average"; }
  Output merge(const Scope& scope, const std::vector<Output>& inputs) override;
};

// Applies `layer` to every time step: x [N, T, ...] -> [N, T, layer's output...]. T and the
// per-step shape must be known; the inner layer's weights are shared by all steps.
class TimeDistributed : public Layer {
 public:
  explicit TimeDistributed(std::shared_ptr<Layer> layer, std::string name = "");

 protected:
  const char* default_name() const override { return "time_distributed"; }
  Output call(const Scope& scope, const Output& x) override;

 private:
  std::shared_ptr<Layer> layer_;
};

}  // namespace sluice::layers
