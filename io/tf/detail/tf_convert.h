// Internal: the TensorFlow op table. Each entry maps one TF op type to a small function
// that builds the Sluice node(s) for one NodeDef; attrs, defaults and versions are handled
// inside the entry. The table is the documentation: docs/tf_ops.md is generated from it
// (tf_ops_markdown) and a test checks that the file matches.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../../../graph/scope.h"
#include "tf_proto.h"

namespace sluice::io::tf {

// What a converter builds for one TF node.
struct Converted {
  // TF output i -> the value its consumers read (may be another node's output: an Identity
  // whose consumers read its input directly). An invalid Output marks an output Sluice
  // cannot produce; a consumer then gets an Unimplemented error.
  std::vector<Output> outputs;
  // The Sluice node that carries the TF node's name (its output 0 is TF's output 0, and
  // any further outputs it has match TF's), used for fetches by name and control inputs.
  Operation op;
};

// Everything a converter may look at: the NodeDef, its inputs as Sluice values, typed
// attrs (defaults as in TensorFlow's op registrations), constant inputs, and scopes that
// name the nodes it builds.
class ConvertContext {
 public:
  ConvertContext(const tfproto::NodeDef& def, std::string full_name, std::vector<Output> inputs,
                 std::vector<Operation> control_inputs, Graph graph)
      : def_(def), full_name_(std::move(full_name)), inputs_(std::move(inputs)),
        control_inputs_(std::move(control_inputs)), graph_(std::move(graph)) {}

  const tfproto::NodeDef& def() const { return def_; }
  const std::string& op_type() const { return def_.op(); }
  // "node 'model_001/dense/MatMul' (MatMul)": the prefix of every error message.
  std::string describe() const { return "node '" + full_name_ + "' (" + def_.op() + ")"; }
  const Graph& graph() const { return graph_; }
  bool has_control_inputs() const { return !control_inputs_.empty(); }

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // Input i; InvalidArgument naming the node when there are fewer than i + 1 inputs.
  Output input(int i) const;
  // Checks the number of data inputs (exact, or at least `min` when `at_least`).
  void require_inputs(int n, bool at_least = false) const;
  const std::vector<Output>& inputs() const { return inputs_; }

  // The value of input i when it is a constant (a Const, possibly behind Identity nodes).
  std::optional<Tensor> constant_input(int i) const;
  // The constant value of input i; Unimplemented naming the node and `what` when it is
  // computed at run time ("the shape input of Reshape must be a constant").
  Tensor require_constant(int i, const std::string& what) const;
  // A constant int32/int64 input as int64 values (a scalar gives one value).
  std::vector<int64_t> constant_ints(int i, const std::string& what) const;
  int64_t constant_int(int i, const std::string& what) const;

  // Attrs. With a default: the default when absent. Without: InvalidArgument when absent.
  // Always InvalidArgument naming the node and attr when the attr holds another kind.
  bool has_attr(const std::string& name) const;
  int64_t attr_int(const std::string& name, std::optional<int64_t> def = std::nullopt) const;
  float attr_float(const std::string& name, std::optional<float> def = std::nullopt) const;
  bool attr_bool(const std::string& name, std::optional<bool> def = std::nullopt) const;
  std::string attr_string(const std::string& name, std::optional<std::string> def = std::nullopt) const;
  DType attr_dtype(const std::string& name) const;
  int attr_tf_dtype(const std::string& name) const;
  Shape attr_shape(const std::string& name, std::optional<Shape> def = std::nullopt) const;
  std::vector<int64_t> attr_ints(const std::string& name,
                                 std::optional<std::vector<int64_t>> def = std::nullopt) const;
  Tensor attr_tensor(const std::string& name) const;

  // The scope of the node that carries the TF name (exactly `full_name`), and of helper
  // nodes ("<full_name>/_tf/<what>"). Both carry the TF node's control inputs.
  Scope scope() const;
  Scope aux(const std::string& what) const;
  const std::string& full_name() const { return full_name_; }

  // Shorthand for a converter whose single output is `y`, built with scope().
  Converted one(const Output& y) const { return Converted{{y}, y.op()}; }
  // Throws Unimplemented "<node>: <message>".
  [[noreturn]] void unsupported(const std::string& message) const;
  [[noreturn]] void invalid(const std::string& message) const;

 private:
  const tfproto::AttrValue* find_attr(const std::string& name) const;
  const tfproto::AttrValue& get_attr(const std::string& name, tfproto::AttrValue::ValueCase want,
                                     const char* kind) const;

  const tfproto::NodeDef& def_;
  std::string full_name_;
  std::vector<Output> inputs_;
  std::vector<Operation> control_inputs_;
  Graph graph_;
};

using ConvertFn = Converted (*)(ConvertContext& ctx);

struct OpEntry {
  const char* tf_op;       // TensorFlow op type
  ConvertFn convert;
  const char* sluice;      // the Sluice op(s) it becomes
  const char* notes;       // supported attrs, dtypes and limits
};

// Switch and Merge are in the table for the documentation and the support check; the
// importer handles them itself (constant predicates fold, run-time ones become Select).
const std::vector<OpEntry>& op_table();
const OpEntry* find_op(const std::string& tf_op);
// The Markdown of docs/tf_ops.md, generated from the table.
std::string tf_ops_markdown();

// The table's parts, one per op family (tf_ops_*.cc).
void add_math_ops(std::vector<OpEntry>& table);
void add_array_ops(std::vector<OpEntry>& table);
void add_nn_ops(std::vector<OpEntry>& table);
void add_state_ops(std::vector<OpEntry>& table);

// Helpers the families share.
// The value of `x` when it is a Const (through Identity / StopGradient-free Identity chains).
std::optional<Tensor> constant_value(const Output& x);
// "NHWC" or "NCHW" from the data_format attr; Unimplemented for anything else.
bool is_nchw(const ConvertContext& ctx, const char* def = "NHWC");
// NCHW <-> NHWC transposes of a 4-d value, built as helper nodes of the context.
Output to_nhwc(const ConvertContext& ctx, const Output& x);
Output to_nchw(const ConvertContext& ctx, const Output& x, bool named);

}  // namespace sluice::io::tf
