#include "layers_ext.h"

#include "../ops/array_ops.h"
#include "../ops/depthwise_ops.h"
#include "../ops/image_ops.h"
#include "../ops/layer_norm_ops.h"
#include "../ops/math_ops.h"
#include "../ops/nn_ops.h"
#include "../ops/pool_ops.h"
#include "../ops/shape_ops.h"

namespace sluice::layers {

namespace {

Output const_i64(const Scope& s, const std::vector<int64_t>& v, const Shape& shape) {
  return ops::constant(s, Tensor::from_vector<int64_t>(v, shape));
}

void require_pair(const std::vector<int64_t>& v, const char* layer, const char* what) {
  SLUICE_REQUIRE(v.size() == 2 && v[0] > 0 && v[1] > 0, InvalidArgument, layer, ": ", what,
                 " needs two positive entries");
}

void require_nhwc(const Shape& s, const std::string& name, const char* layer) {
  SLUICE_REQUIRE(s.known_rank() && s.rank() == 4 && s.dim(3) >= 0, InvalidArgument, layer,
                 " layer '", name, "' needs inputs [N,H,W,C] with a known C, got ", s.to_string());
}

Output finish(const Scope& s, Output y, const Output& bias, sluice::Activation act) {
  if (bias.valid()) y = ops::bias_add(s, y, bias);
  return apply_activation(s, y, act);
}

}  // namespace

Output Activation::call(const Scope& scope, const Output& x) {
  // A linear Activation still gives the layer an op of its own (its output in summaries).
  return activation_ == sluice::Activation::linear ? ops::identity(scope, x)
                                                   : apply_activation(scope, x, activation_);
}

Output Reshape::call(const Scope& scope, const Output& x) {
  const Shape& s = x.shape();
  int64_t known = 1, unknown = 0;
  for (int64_t d : target_) {
    SLUICE_REQUIRE(d > 0 || d == -1, InvalidArgument, "Reshape layer '", name(),
                   "': target_shape entries must be positive or one -1");
    if (d == -1) ++unknown;
    else known *= d;
  }
  SLUICE_REQUIRE(unknown <= 1, InvalidArgument, "Reshape layer '", name(), "': at most one -1");
  std::vector<int64_t> dims = {-1};
  dims.insert(dims.end(), target_.begin(), target_.end());
  if (unknown) {  // resolve it from the per-example size
    int64_t per = 1;
    for (int i = 1; s.known_rank() && i < s.rank(); ++i) {
      SLUICE_REQUIRE(s.dim(i) >= 0, InvalidArgument, "Reshape layer '", name(),
                     "': -1 needs the input's per-example dims known, got ", s.to_string());
      per *= s.dim(i);
    }
    SLUICE_REQUIRE(s.known_rank() && per % known == 0, InvalidArgument, "Reshape layer '", name(),
                   "': cannot reshape ", s.to_string(), " to [?, target_shape]");
    for (size_t i = 1; i < dims.size(); ++i)
      if (dims[i] == -1) dims[i] = per / known;
  }
  return ops::reshape(scope, x, dims);
}

Output Permute::call(const Scope& scope, const Output& x) {
  const Shape& s = x.shape();
  SLUICE_REQUIRE(s.known_rank() && static_cast<int>(dims_.size()) == s.rank() - 1, InvalidArgument,
                 "Permute layer '", name(), "': ", dims_.size(), " dims for input ", s.to_string());
  std::vector<int64_t> perm = {0};
  std::vector<bool> seen(dims_.size() + 1, false);
  for (int64_t d : dims_) {
    SLUICE_REQUIRE(d >= 1 && d <= static_cast<int64_t>(dims_.size()) && !seen[d], InvalidArgument,
                   "Permute layer '", name(), "': dims must be a permutation of 1..", dims_.size());
    seen[d] = true;
    perm.push_back(d);
  }
  return ops::transpose(scope, x, perm);
}

Output RepeatVector::call(const Scope& scope, const Output& x) {
  SLUICE_REQUIRE(n_ > 0 && x.shape().known_rank() && x.shape().rank() == 2, InvalidArgument,
                 "RepeatVector layer '", name(), "' needs n > 0 and inputs [N, F], got ",
                 x.shape().to_string());
  return ops::tile(scope, ops::expand_dims(scope, x, 1), const_i64(scope, {1, n_, 1}, Shape{3}));
}

ZeroPadding2D::ZeroPadding2D(std::vector<int64_t> padding, std::string name)
    : Layer(std::move(name)), pad_(std::move(padding)) {
  SLUICE_REQUIRE(pad_.size() == 4 && pad_[0] >= 0 && pad_[1] >= 0 && pad_[2] >= 0 && pad_[3] >= 0,
                 InvalidArgument, "ZeroPadding2D: padding needs 4 entries >= 0 (top, bottom, left, right)");
}

Output ZeroPadding2D::call(const Scope& scope, const Output& x) {
  require_nhwc(x.shape(), name(), "ZeroPadding2D");
  return ops::pad(scope, x, const_i64(scope, {0, 0, pad_[0], pad_[1], pad_[2], pad_[3], 0, 0}, Shape{4, 2}));
}

Output UpSampling2D::call(const Scope& scope, const Output& x) {
  require_pair(size_, "UpSampling2D", "size");
  const Shape& s = x.shape();
  require_nhwc(s, name(), "UpSampling2D");
  SLUICE_REQUIRE(s.dim(1) >= 0 && s.dim(2) >= 0, InvalidArgument, "UpSampling2D layer '", name(),
                 "' needs a known H and W, got ", s.to_string());
  return ops::resize_nearest_neighbor(scope, x, {s.dim(1) * size_[0], s.dim(2) * size_[1]});
}

Output GlobalMaxPooling2D::call(const Scope& scope, const Output& x) {
  require_nhwc(x.shape(), name(), "GlobalMaxPooling2D");
  return ops::global_max_pool(scope, x);
}

void LayerNormalization::build(const Scope& scope, const Shape& s, DType dtype) {
  SLUICE_REQUIRE(s.known_rank() && s.rank() >= 1 && s.dim(-1) >= 0, InvalidArgument,
                 "LayerNormalization layer '", name(), "' needs a known last dim, got ", s.to_string());
  if (scale_) gamma_ = add_weight(scope, "gamma", Shape{s.dim(-1)}, dtype, Initializer::ones());
  if (center_) beta_ = add_weight(scope, "beta", Shape{s.dim(-1)}, dtype, Initializer::zeros());
}

Output LayerNormalization::call(const Scope& scope, const Output& x) {
  const Shape c{x.shape().dim(-1)};
  Output g = scale_ ? gamma_ : ops::constant(scope, Tensor::ones(x.dtype(), c));
  Output b = center_ ? beta_ : ops::constant(scope, Tensor::zeros(x.dtype(), c));
  return ops::layer_norm(scope, x, g, b, -1, epsilon_);
}

Conv1D::Conv1D(int64_t filters, int64_t kernel_size, int64_t strides, Padding padding,
               sluice::Activation activation, bool use_bias, std::string name, int64_t dilation_rate)
    : Layer(std::move(name)), filters_(filters), kernel_size_(kernel_size), strides_(strides),
      dilation_(dilation_rate), padding_(padding), activation_(activation), use_bias_(use_bias) {
  SLUICE_REQUIRE(filters > 0 && kernel_size > 0 && strides > 0 && dilation_rate > 0, InvalidArgument,
                 "Conv1D: filters, kernel_size, strides and dilation_rate must be positive");
}

void Conv1D::build(const Scope& scope, const Shape& s, DType dtype) {
  SLUICE_REQUIRE(s.known_rank() && s.rank() == 3 && s.dim(2) >= 0, InvalidArgument, "Conv1D layer '",
                 name(), "' needs inputs [N, W, C] with a known C, got ", s.to_string());
  kernel_ = add_weight(scope, "kernel", Shape{kernel_size_, s.dim(2), filters_}, dtype,
                       Initializer::glorot_uniform());
  if (use_bias_) bias_ = add_weight(scope, "bias", Shape{filters_}, dtype, Initializer::zeros());
}

Output Conv1D::call(const Scope& scope, const Output& x) {
  return finish(scope, ops::conv1d(scope, x, kernel_, strides_, padding_, dilation_), bias_, activation_);
}

Conv2DTranspose::Conv2DTranspose(int64_t filters, std::vector<int64_t> kernel_size,
                                 std::vector<int64_t> strides, Padding padding,
                                 sluice::Activation activation, bool use_bias, std::string name)
    : Layer(std::move(name)), filters_(filters), kernel_size_(std::move(kernel_size)),
      strides_(std::move(strides)), padding_(padding), activation_(activation), use_bias_(use_bias) {
  require_pair(kernel_size_, "Conv2DTranspose", "kernel_size");
  require_pair(strides_, "Conv2DTranspose", "strides");
  SLUICE_REQUIRE(filters > 0, InvalidArgument, "Conv2DTranspose: filters must be positive");
}

void Conv2DTranspose::build(const Scope& scope, const Shape& s, DType dtype) {
  require_nhwc(s, name(), "Conv2DTranspose");
  kernel_ = add_weight(scope, "kernel", Shape{kernel_size_[0], kernel_size_[1], filters_, s.dim(3)},
                       dtype, Initializer::glorot_uniform());
  if (use_bias_) bias_ = add_weight(scope, "bias", Shape{filters_}, dtype, Initializer::zeros());
}

Output Conv2DTranspose::call(const Scope& scope, const Output& x) {
  return finish(scope, ops::conv2d_transpose(scope, x, kernel_, strides_, padding_), bias_, activation_);
}

DepthwiseConv2D::DepthwiseConv2D(std::vector<int64_t> kernel_size, std::vector<int64_t> strides,
                                 Padding padding, int64_t depth_multiplier,
                                 sluice::Activation activation, bool use_bias, std::string name)
    : Layer(std::move(name)), kernel_size_(std::move(kernel_size)), strides_(std::move(strides)),
      padding_(padding), multiplier_(depth_multiplier), activation_(activation), use_bias_(use_bias) {
  require_pair(kernel_size_, "DepthwiseConv2D", "kernel_size");
  require_pair(strides_, "DepthwiseConv2D", "strides");
  SLUICE_REQUIRE(depth_multiplier > 0, InvalidArgument, "DepthwiseConv2D: depth_multiplier must be positive");
}

void DepthwiseConv2D::build(const Scope& scope, const Shape& s, DType dtype) {
  require_nhwc(s, name(), "DepthwiseConv2D");
  kernel_ = add_weight(scope, "depthwise_kernel",
                       Shape{kernel_size_[0], kernel_size_[1], s.dim(3), multiplier_}, dtype,
                       Initializer::glorot_uniform());
  if (use_bias_) bias_ = add_weight(scope, "bias", Shape{s.dim(3) * multiplier_}, dtype, Initializer::zeros());
}

Output DepthwiseConv2D::call(const Scope& scope, const Output& x) {
  return finish(scope, ops::depthwise_conv2d(scope, x, kernel_, strides_, padding_), bias_, activation_);
}

SeparableConv2D::SeparableConv2D(int64_t filters, std::vector<int64_t> kernel_size,
                                 std::vector<int64_t> strides, Padding padding,
                                 int64_t depth_multiplier, sluice::Activation activation,
                                 bool use_bias, std::string name)
    : Layer(std::move(name)), filters_(filters), kernel_size_(std::move(kernel_size)),
      strides_(std::move(strides)), padding_(padding), multiplier_(depth_multiplier),
      activation_(activation), use_bias_(use_bias) {
  require_pair(kernel_size_, "SeparableConv2D", "kernel_size");
  require_pair(strides_, "SeparableConv2D", "strides");
  SLUICE_REQUIRE(filters > 0 && depth_multiplier > 0, InvalidArgument,
                 "SeparableConv2D: filters and depth_multiplier must be positive");
}

void SeparableConv2D::build(const Scope& scope, const Shape& s, DType dtype) {
  require_nhwc(s, name(), "SeparableConv2D");
  depthwise_ = add_weight(scope, "depthwise_kernel",
                          Shape{kernel_size_[0], kernel_size_[1], s.dim(3), multiplier_}, dtype,
                          Initializer::glorot_uniform());
  pointwise_ = add_weight(scope, "pointwise_kernel", Shape{1, 1, s.dim(3) * multiplier_, filters_},
                          dtype, Initializer::glorot_uniform());
  if (use_bias_) bias_ = add_weight(scope, "bias", Shape{filters_}, dtype, Initializer::zeros());
}

Output SeparableConv2D::call(const Scope& scope, const Output& x) {
  Output d = ops::depthwise_conv2d(scope, x, depthwise_, strides_, padding_);
  return finish(scope, ops::conv2d(scope, d, pointwise_), bias_, activation_);
}

// ---- merge layers ----

Output Merge::operator()(const Scope& scope, const std::vector<Output>& inputs) {
  SLUICE_REQUIRE(inputs.size() >= 2, InvalidArgument, "merge layer '", type_name(),
                 "' needs at least two inputs, got ", inputs.size());
  pending_ = inputs;
  struct Clear {
    std::vector<Output>& v;
    ~Clear() { v.clear(); }
  } clear{pending_};
  return Layer::operator()(scope, inputs[0]);
}

Output Merge::call(const Scope& scope, const Output& x) {
  SLUICE_REQUIRE(!pending_.empty(), InvalidArgument, "merge layer '", name(),
                 "' takes a list of inputs: layer(scope, {a, b})");
  for (const auto& in : pending_)
    SLUICE_REQUIRE(in.valid() && in.node()->graph == x.node()->graph, InvalidArgument, "merge layer '",
                   name(), "': every input must be a tensor of the same graph");
  return merge(scope, pending_);
}

Output Concatenate::merge(const Scope& scope, const std::vector<Output>& inputs) {
  return ops::concat(scope, inputs, axis_);
}

Output Add::merge(const Scope& scope, const std::vector<Output>& inputs) {
  return ops::add_n(scope, inputs);
}

Output Multiply::merge(const Scope& scope, const std::vector<Output>& inputs) {
  Output y = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) y = ops::mul(scope, y, inputs[i]);
  return y;
}

Output Average::merge(const Scope& scope, const std::vector<Output>& inputs) {
  Output s = ops::add_n(scope, inputs);
  return ops::mul(scope, s, ops::scalar_like(scope, s, 1.0 / static_cast<double>(inputs.size())));
}

// ---- TimeDistributed ----

TimeDistributed::TimeDistributed(std::shared_ptr<Layer> layer, std::string name)
    : Layer(std::move(name)), layer_(std::move(layer)) {
  SLUICE_REQUIRE(layer_ != nullptr, InvalidArgument, "TimeDistributed: null layer");
}

Output TimeDistributed::call(const Scope& scope, const Output& x) {
  const Shape& s = x.shape();
  SLUICE_REQUIRE(s.known_rank() && s.rank() >= 3, InvalidArgument, "TimeDistributed layer '", name(),
                 "' needs inputs [N, T, ...], got ", s.to_string());
  std::vector<int64_t> inner = {-1};
  for (int i = 1; i < s.rank(); ++i) {
    SLUICE_REQUIRE(s.dim(i) >= 0, InvalidArgument, "TimeDistributed layer '", name(),
                   "' needs T and the per-step shape known, got ", s.to_string());
    if (i >= 2) inner.push_back(s.dim(i));
  }
  const bool first = !layer_->built();
  Output y = (*layer_)(scope, ops::reshape(scope, x, inner));
  if (first) add_weights_of(*layer_);
  std::vector<int64_t> out = {-1, s.dim(1)};
  const Shape& ys = y.shape();
  for (int i = 1; i < ys.rank(); ++i) out.push_back(ys.dim(i));
  return ops::reshape(scope, y, out);
}

}  // namespace sluice::layers
