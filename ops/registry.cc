#include "registry.h"

#include <algorithm>

namespace sluice {

// ---- OpDefBuilder ----

OpDefBuilder& OpDefBuilder::input(const std::string& name) {
  SLUICE_REQUIRE(!def_->variadic, Internal, def_->name, ": input after the variadic input");
  def_->input_names.push_back(name);
  def_->ref_inputs.push_back(false);
  return *this;
}

OpDefBuilder& OpDefBuilder::variadic_input(const std::string& name) {
  input(name);
  def_->variadic = true;
  return *this;
}

OpDefBuilder& OpDefBuilder::ref_input(const std::string& name) {
  input(name);
  def_->ref_inputs.back() = true;
  def_->stateful = true;
  def_->mutates_variables = true;
  return *this;
}

OpDefBuilder& OpDefBuilder::output(const std::string& name) {
  def_->output_names.push_back(name);
  return *this;
}

OpDefBuilder& OpDefBuilder::attr(const std::string& name, AttrValue default_value) {
  def_->attr_defaults.emplace_back(name, std::move(default_value));
  return *this;
}

OpDefBuilder& OpDefBuilder::required_attr(const std::string& name) {
  def_->required_attrs.push_back(name);
  return *this;
}

OpDefBuilder& OpDefBuilder::shape_fn(ShapeFn fn) {
  def_->shape_fn = fn;
  return *this;
}

OpDefBuilder& OpDefBuilder::kernel(KernelFn fn) {
  def_->kernel = fn;
  return *this;
}

OpDefBuilder& OpDefBuilder::gradient(GradFn fn) {
  def_->gradient = fn;
  return *this;
}

OpDefBuilder& OpDefBuilder::not_differentiable() {
  def_->not_differentiable = true;
  return *this;
}

OpDefBuilder& OpDefBuilder::stateful() {
  def_->stateful = true;
  return *this;
}

OpDefBuilder& OpDefBuilder::supports_strings() {
  def_->supports_strings = true;
  return *this;
}

OpDefBuilder& OpDefBuilder::run_early() {
  def_->run_early = true;
  return *this;
}

void check_string_support(const Node& node, bool outputs_too) {
  if (node.def->supports_strings) return;
  const std::string& op = node.def->name;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    SLUICE_REQUIRE(node.inputs[i].dtype() != DType::string, InvalidArgument, "op ", op,
                   " does not support dtype string (input ", i, " '", node.inputs[i].name(),
                   "' is a string tensor)");
  }
  if (!outputs_too) return;
  for (size_t i = 0; i < node.output_dtypes.size(); ++i) {
    SLUICE_REQUIRE(node.output_dtypes[i] != DType::string, InvalidArgument, "op ", op,
                   " does not support dtype string (output ", i, " would be a string tensor)");
  }
}

// ---- OpRegistry ----

OpRegistry& OpRegistry::global() {
  static OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    // One call per op family. Explicit calls (rather than static registrar objects) keep
    // every op present when Sluice is linked as a static library.
    register_array_ops(*r);
    register_math_ops(*r);
    register_reduction_ops(*r);
    register_nn_ops(*r);
    register_state_ops(*r);
    register_random_ops(*r);
    register_training_ops(*r);
    register_conv_ops(*r);
    register_pool_ops(*r);
    register_rnn_ops(*r);
    register_normalization_ops(*r);
    register_gru_ops(*r);
    register_simple_rnn_ops(*r);
    register_numerics_ops(*r);
    register_depthwise_ops(*r);
    register_layer_norm_ops(*r);
    register_image_ops(*r);
    register_shape_ops(*r);
    register_slice_ops(*r);
    register_layout_ops(*r);
    register_index_ops(*r);
    register_activation_ops(*r);
    register_math_unary_ops(*r);
    register_math_binary_ops(*r);
    register_matrix_ops(*r);
    register_scan_ops(*r);
    register_sort_ops(*r);
    register_dense_ops(*r);
    register_codec_ops(*r);
    return r;
  }();
  return *registry;
}

OpDefBuilder OpRegistry::op(const std::string& name) {
  SLUICE_REQUIRE(ops_.count(name) == 0, AlreadyExists, "op '", name, "' registered twice");
  auto def = std::make_unique<OpDef>();
  def->name = name;
  OpDef* raw = def.get();
  ops_[name] = std::move(def);
  return OpDefBuilder(raw);
}

const OpDef* OpRegistry::find(const std::string& name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second.get();
}

const OpDef& OpRegistry::get(const std::string& name) const {
  const OpDef* def = find(name);
  SLUICE_REQUIRE(def, NotFound, "Op type not registered '", name, "'");
  return *def;
}

std::vector<const OpDef*> OpRegistry::all() const {
  std::vector<const OpDef*> r;
  for (const auto& kv : ops_) r.push_back(kv.second.get());
  std::sort(r.begin(), r.end(), [](const OpDef* a, const OpDef* b) { return a->name < b->name; });
  return r;
}

// ---- ShapeContext ----

const Tensor* ShapeContext::input_constant(int i) const {
  const Node* src = node_.inputs.at(i).node();
  if (src->op_type() != "Const") return nullptr;
  return &src->attr<Tensor>("value");
}

void ShapeContext::add_output(DType dtype, const Shape& shape) {
  node_.output_dtypes.push_back(dtype);
  node_.output_shapes.push_back(shape);
}

// ---- KernelContext ----

Tensor& KernelContext::allocate_output(int i, const Shape& shape) {
  outputs_[i] = Tensor(node_.output_dtypes[i], shape);
  return outputs_[i];
}

Tensor& KernelContext::forward_or_allocate(int in, int out, const Shape& shape) {
  const Tensor& x = *inputs_[in];
  const bool may_forward = in < 32 && (forwardable_ >> in & 1u);
  if (may_forward && x.use_count() == 1 && x.dtype() == node_.output_dtypes[out] &&
      shape.is_fully_defined() && shape.num_elements() == x.num_elements()) {
    // The frame slot holds the only reference and no later step reads it: reuse in place.
    outputs_[out] = x.reshaped(shape);
    return outputs_[out];
  }
  return allocate_output(out, shape);
}

void KernelContext::set_output(int i, Tensor t) { outputs_[i] = std::move(t); }

}  // namespace sluice
