// Scope: where the next op goes. A small immutable value (graph + name prefix + explicit
// op name + device + control dependencies), cheap to copy; every builder call takes one.
// There is no hidden "current scope": sub-scopes are values you pass down.
//
//   Scope root(g);
//   Scope block = root.sub("block1");           // ops named "block1/..."
//   Output x = ops::placeholder(root.named("img"), DType::f32, {-1, 784});   // "img"
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph.h"

namespace sluice {

class Scope {
 public:
  explicit Scope(const Graph& graph);

  // A sub-scope: names below it get the prefix "<prefix><name>/".
  Scope sub(const std::string& name) const;
  // The next op built with this scope is named exactly `<prefix><op_name>` (made unique
  // with a _N suffix if the name is taken).
  Scope named(const std::string& op_name) const;
  // Ops built with the returned scope are placed on `device`, in TensorFlow's syntax
  // ("/cpu:0", "/device:CPU:0", "/job:localhost/replica:0/task:0/device:CPU:0"; see
  // graph/device.h). A malformed string is InvalidArgument here; a well-formed device this
  // process does not have (any GPU) fails at Session creation unless
  // SessionOptions::allow_soft_placement is set.
  Scope with_device(const std::string& device) const;
  // Ops built with the returned scope run after `ops` (added to the existing list).
  Scope with_control_dependencies(const std::vector<Operation>& ops) const;
  // The same scope without an explicit op name (for helpers that build several ops).
  Scope without_name() const;
  // The same scope with its name prefix replaced by `name` + "/" ("" for the root).
  Scope with_prefix(const std::string& name) const;
  // The same scope without control dependencies (variables and their initializers).
  Scope without_control_dependencies() const;

  Graph graph() const { return graph_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& explicit_name() const { return name_; }
  const std::string& device() const { return device_; }
  const std::vector<Operation>& control_dependencies() const { return control_deps_; }

  // The unique name for a new op: prefix + (explicit name or `default_name`).
  std::string make_op_name(const std::string& default_name) const;

 private:
  Graph graph_;
  std::string prefix_;
  std::string name_;
  std::string device_;
  std::vector<Operation> control_deps_;
};

// Builds and adds one node: checks that inputs belong to the scope's graph, fills attr
// defaults from the op's registration, checks attr kinds, runs the shape function and
// adds the node. Every error names the node and the op.
class NodeBuilder {
 public:
  NodeBuilder(const Scope& scope, const std::string& op_type,
              const std::string& default_name = "");
  NodeBuilder& input(const Output& x);
  NodeBuilder& inputs(const std::vector<Output>& xs);
  NodeBuilder& control_input(const Operation& op);
  NodeBuilder& attr(const std::string& name, AttrValue value);
  // Use exactly this name (already unique; for graph import).
  NodeBuilder& exact_name(const std::string& name);
  Operation finish();

 private:
  Scope scope_;
  std::string op_type_;
  std::string default_name_;
  std::string exact_name_;
  std::vector<Output> inputs_;
  std::vector<Operation> control_inputs_;
  AttrMap attrs_;
};

// Checks a user-given node name: non-empty, [A-Za-z0-9._-/], not starting with '/'.
void validate_op_name(const std::string& name);

}  // namespace sluice
