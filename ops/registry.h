// The op registry: one registration per op, in its family file, through one fluent builder:
//
//   r.op("MatMul")
//       .input("a").input("b").output("product")
//       .attr("transpose_a", false).attr("transpose_b", false)
//       .shape_fn(matmul_shape)
//       .kernel(matmul_kernel)
//       .gradient(matmul_grad);     // or .not_differentiable()
//
// Inputs, outputs, attrs (with defaults or required), the shape function, the CPU kernel
// and the gradient live together; nothing else lists ops.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../graph/graph.h"
#include "../graph/scope.h"
#include "../runtime/thread_pool.h"

namespace sluice {

class ShapeContext;
class KernelContext;

using ShapeFn = void (*)(ShapeContext& ctx);
using KernelFn = void (*)(KernelContext& ctx);
// Returns one gradient per input of `op` (an invalid Output where none flows), given the
// gradients of its outputs (invalid Outputs are replaced by zeros before the call).
using GradFn = std::vector<Output> (*)(const Scope& scope, const Operation& op,
                                       const std::vector<Output>& grads);

struct OpDef {
  std::string name;
  std::vector<std::string> input_names;
  bool variadic = false;          // the last input name takes any number (>= 0) of inputs
  std::vector<bool> ref_inputs;   // per fixed input: a variable reference, not a value
  std::vector<std::string> output_names;
  AttrMap attr_defaults;                 // optional attrs with their defaults
  std::vector<std::string> required_attrs;
  ShapeFn shape_fn = nullptr;
  KernelFn kernel = nullptr;
  GradFn gradient = nullptr;
  bool not_differentiable = false;  // explicitly has no gradient (integer-valued, etc.)
  bool stateful = false;            // reads/writes session state or draws random numbers
  bool mutates_variables = false;   // writes a variable through a ref input
  // Takes or makes string tensors. Ops without it are refused at graph-build time when
  // any input or output is a string (check_string_support), so their shape functions and
  // kernels never see one.
  bool supports_strings = false;
  // Scheduled as soon as its inputs are ready, ahead of lower-id nodes (the Session runs
  // one ready node at a time, lowest id first): ops that start background work, such as
  // distributed/'s allreduce start, which must begin while the backward pass goes on.
  bool run_early = false;

  bool is_ref_input(int i) const {
    return i < static_cast<int>(ref_inputs.size()) && ref_inputs[i];
  }
};

class OpDefBuilder {
 public:
  explicit OpDefBuilder(OpDef* def) : def_(def) {}
  OpDefBuilder& input(const std::string& name);
  OpDefBuilder& variadic_input(const std::string& name);  // must be the last input
  // A variable reference: the kernel gets the variable (ctx.variable(i)), not its value.
  OpDefBuilder& ref_input(const std::string& name);
  OpDefBuilder& output(const std::string& name);
  OpDefBuilder& attr(const std::string& name, AttrValue default_value);
  OpDefBuilder& required_attr(const std::string& name);
  OpDefBuilder& shape_fn(ShapeFn fn);
  OpDefBuilder& kernel(KernelFn fn);
  OpDefBuilder& gradient(GradFn fn);
  OpDefBuilder& not_differentiable();
  OpDefBuilder& stateful();
  // The op's shape function and kernel handle DType::string (see OpDef::supports_strings).
  OpDefBuilder& supports_strings();
  OpDefBuilder& run_early();  // see OpDef::run_early

 private:
  OpDef* def_;
};

class OpRegistry {
 public:
  // The process-wide registry, with every op family registered on first use.
  static OpRegistry& global();
  OpDefBuilder op(const std::string& name);  // throws AlreadyExists for a duplicate
  const OpDef* find(const std::string& name) const;
  const OpDef& get(const std::string& name) const;  // throws NotFound
  std::vector<const OpDef*> all() const;

 private:
  std::unordered_map<std::string, std::unique_ptr<OpDef>> ops_;
};

// Given to shape functions while a node is being built: input dtypes and static shapes,
// attrs, and a place for output dtypes/shapes. Errors thrown here are prefixed with the
// node name and op by NodeBuilder.
class ShapeContext {
 public:
  explicit ShapeContext(Node& node) : node_(node) {}
  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  DType input_dtype(int i) const { return node_.inputs.at(i).dtype(); }
  const Shape& input_shape(int i) const { return node_.inputs.at(i).shape(); }
  // The value of input i when it is a Const node, else nullptr.
  const Tensor* input_constant(int i) const;
  template <class T>
  const T& attr(const std::string& name) const {
    return node_.attr<T>(name);
  }
  int64_t attr_int(const std::string& name) const { return node_.attr<int64_t>(name); }
  void add_output(DType dtype, const Shape& shape);
  int num_outputs() const { return static_cast<int>(node_.output_dtypes.size()); }

 private:
  Node& node_;
};

// Variable state owned by a Session. The mutex guards value/initialized; readers copy the
// Tensor handle under it, writers replace or (when nobody else holds the buffer) update
// in place under it.
struct VariableSlot {
  std::mutex mu;
  Tensor value;
  bool initialized = false;
  const Node* node = nullptr;
};

// Per-session, per-node state of stateful ops (random ops count their runs here).
struct NodeState {
  std::atomic<uint64_t> runs{0};
};

// Given to kernels: inputs, outputs, attrs, variable references, the thread pool.
class KernelContext {
 public:
  KernelContext(const Node& node, const Tensor* const* inputs, Tensor* outputs,
                VariableSlot* const* variables, NodeState* state, ThreadPool& pool,
                uint32_t forwardable)
      : node_(node), inputs_(inputs), outputs_(outputs), variables_(variables), state_(state),
        pool_(pool), forwardable_(forwardable) {}

  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  const Tensor& input(int i) const { return *inputs_[i]; }
  int num_outputs() const { return static_cast<int>(node_.output_dtypes.size()); }
  template <class T>
  const T& attr(const std::string& name) const {
    return node_.attr<T>(name);
  }
  int64_t attr_int(const std::string& name) const { return node_.attr<int64_t>(name); }

  // A new tensor of the node's static output dtype and `shape`, set as output i.
  Tensor& allocate_output(int i, const Shape& shape);
  // Reuses input `in`'s buffer for output `out` when this is the input's last use, nobody
  // else holds the buffer, and dtype and element count match; else allocates.
  Tensor& forward_or_allocate(int in, int out, const Shape& shape);
  void set_output(int i, Tensor t);
  Tensor& output(int i) { return outputs_[i]; }

  // The variable behind ref input i.
  VariableSlot& variable(int i) const { return *variables_[i]; }
  // Number of earlier runs of this node in this session (random ops use it as a counter).
  uint64_t next_run_index() const { return state_->runs.fetch_add(1); }
  ThreadPool& pool() const { return pool_; }

 private:
  const Node& node_;
  const Tensor* const* inputs_;
  Tensor* outputs_;
  VariableSlot* const* variables_;
  NodeState* state_;
  ThreadPool& pool_;
  uint32_t forwardable_;
};

// Called by NodeBuilder for every new node: before its shape function with
// outputs_too = false (checks the inputs), after it with true (checks the outputs too).
// Throws InvalidArgument naming the op, the input or output and the dtype when a string
// reaches an op that does not declare supports_strings.
void check_string_support(const Node& node, bool outputs_too);

// Every op family registers itself through one of these (called once, in order, by
// OpRegistry::global()).
void register_array_ops(OpRegistry& r);
void register_math_ops(OpRegistry& r);
void register_reduction_ops(OpRegistry& r);
void register_nn_ops(OpRegistry& r);
void register_state_ops(OpRegistry& r);
void register_random_ops(OpRegistry& r);
void register_training_ops(OpRegistry& r);
void register_conv_ops(OpRegistry& r);
void register_pool_ops(OpRegistry& r);
void register_rnn_ops(OpRegistry& r);
void register_normalization_ops(OpRegistry& r);
void register_gru_ops(OpRegistry& r);
void register_simple_rnn_ops(OpRegistry& r);
void register_numerics_ops(OpRegistry& r);
void register_depthwise_ops(OpRegistry& r);
void register_layer_norm_ops(OpRegistry& r);
void register_image_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_slice_ops(OpRegistry& r);
void register_layout_ops(OpRegistry& r);
void register_index_ops(OpRegistry& r);
void register_activation_ops(OpRegistry& r);
void register_math_unary_ops(OpRegistry& r);
void register_math_binary_ops(OpRegistry& r);
void register_matrix_ops(OpRegistry& r);
void register_scan_ops(OpRegistry& r);
void register_sort_ops(OpRegistry& r);
void register_dense_ops(OpRegistry& r);
void register_codec_ops(OpRegistry& r);

}  // namespace sluice
