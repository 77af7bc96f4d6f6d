#include "conv_layers.h"

#include "../ops/kernel_util.h"
#include "../ops/nn_ops.h"
#include "../ops/pool_ops.h"

namespace sluice::layers {

namespace {

using kernels::ints_to_string;

// Checks a size/stride/dilation list of a layer: two positive entries.
void require_pair(const std::vector<int64_t>& v, const char* layer, const char* what) {
  SLUICE_REQUIRE(v.size() == 2 && v[0] > 0 && v[1] > 0, InvalidArgument, layer, ": ", what,
                 " must have 2 positive entries, got ", ints_to_string(v));
}

}  // namespace

// ---- Conv2D ----

Conv2D::Conv2D(int64_t filters, std::vector<int64_t> kernel_size, std::vector<int64_t> strides,
               Padding padding, Activation activation, bool use_bias, std::string name,
               std::vector<int64_t> dilation_rate, Initializer kernel_initializer,
               Initializer bias_initializer)
    : Layer(std::move(name)),
      filters_(filters),
      kernel_size_(std::move(kernel_size)),
      strides_(std::move(strides)),
      dilation_rate_(std::move(dilation_rate)),
      padding_(padding),
      activation_(activation),
      use_bias_(use_bias),
      kernel_init_(std::move(kernel_initializer)),
      bias_init_(std::move(bias_initializer)) {
  SLUICE_REQUIRE(filters > 0, InvalidArgument, "Conv2D filters must be positive, got ", filters);
  require_pair(kernel_size_, "Conv2D", "kernel_size");
  require_pair(strides_, "Conv2D", "strides");
  require_pair(dilation_rate_, "Conv2D", "dilation_rate");
  // As Keras (the op itself accepts both).
  SLUICE_REQUIRE(
      (strides_[0] == 1 && strides_[1] == 1) || (dilation_rate_[0] == 1 && dilation_rate_[1] == 1),
      InvalidArgument, "Conv2D: strides > 1 ", ints_to_string(strides_),
      " are not supported together with dilation_rate > 1 ", ints_to_string(dilation_rate_));
}

void Conv2D::build(const Scope& scope, const Shape& input_shape, DType dtype) {
  SLUICE_REQUIRE(input_shape.known_rank() && input_shape.rank() == 4 && input_shape.dim(3) >= 0,
                 InvalidArgument, "Conv2D layer '", name(),
                 "' needs 4-D inputs [N,H,W,C] with a known C, got ", input_shape.to_string());
  SLUICE_REQUIRE(is_floating(dtype), InvalidArgument, "Conv2D layer '", name(),
                 "' needs float inputs, got ", dtype_name(dtype));
  kernel_ = add_weight(scope, "kernel",
                       Shape{kernel_size_[0], kernel_size_[1], input_shape.dim(3), filters_}, dtype,
                       kernel_init_);
  if (use_bias_) bias_ = add_weight(scope, "bias", Shape{filters_}, dtype, bias_init_);
}

Output Conv2D::call(const Scope& scope, const Output& x) {
  const Shape& s = x.shape();
  SLUICE_REQUIRE(s.known_rank() && s.rank() == 4 && s.dim(3) == kernel_.shape().dim(2),
                 InvalidArgument, "Conv2D layer '", name(), "' built for inputs [N,H,W,",
                 kernel_.shape().dim(2), "] called on ", s.to_string());
  const bool relu = activation_ == Activation::relu;
  if (use_bias_ && (relu || activation_ == Activation::linear))
    return ops::fused_conv2d(scope, x, kernel_, bias_, strides_, padding_, dilation_rate_, relu);
  Output y = ops::conv2d(scope, x, kernel_, strides_, padding_, dilation_rate_);
  if (use_bias_) y = ops::bias_add(scope, y, bias_);
  return apply_activation(scope, y, activation_);
}

// ---- pooling ----

MaxPooling2D::MaxPooling2D(std::vector<int64_t> pool_size, std::vector<int64_t> strides,
                           Padding padding, std::string name)
    : Layer(std::move(name)),
      pool_size_(std::move(pool_size)),
      strides_(std::move(strides)),
      padding_(padding) {
  require_pair(pool_size_, "MaxPooling2D", "pool_size");
  if (strides_.empty()) strides_ = pool_size_;
  require_pair(strides_, "MaxPooling2D", "strides");
}

Output MaxPooling2D::call(const Scope& scope, const Output& x) {
  return ops::max_pool(scope, x, pool_size_, strides_, padding_);
}

AveragePooling2D::AveragePooling2D(std::vector<int64_t> pool_size, std::vector<int64_t> strides,
                                   Padding padding, std::string name)
    : Layer(std::move(name)),
      pool_size_(std::move(pool_size)),
      strides_(std::move(strides)),
      padding_(padding) {
  require_pair(pool_size_, "AveragePooling2D", "pool_size");
  if (strides_.empty()) strides_ = pool_size_;
  require_pair(strides_, "AveragePooling2D", "strides");
}

Output AveragePooling2D::call(const Scope& scope, const Output& x) {
  return ops::avg_pool(scope, x, pool_size_, strides_, padding_);
}

Output GlobalAveragePooling2D::call(const Scope& scope, const Output& x) {
  return ops::global_avg_pool(scope, x);
}

}  // namespace sluice::layers
