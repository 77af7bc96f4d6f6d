// Graph: an append-only list of nodes. There is no default graph: every Graph is an explicit
// object, any number may exist at once, and nodes of one graph can never be mixed into
// another. A Graph value is a handle: copies refer to the same graph, which lives as long
// as any handle (or a Session built on it) does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "../runtime/dtype.h"
#include "../runtime/shape.h"
#include "../runtime/tensor.h"

namespace sluice {

struct Node;
struct OpDef;
class Operation;
class Graph;

namespace detail {
struct GraphData;
}

// One output of one node: the edge type of the graph ("dense/MatMul:0").
class Output {
 public:
  Output() = default;
  Output(Node* node, int index) : node_(node), index_(index) {}

  bool valid() const { return node_ != nullptr; }
  Node* node() const { return node_; }
  int index() const { return index_; }
  Operation op() const;
  DType dtype() const;
  const Shape& shape() const;  // static shape; -1 for unknown dims
  std::string name() const;    // "node_name:index"
  Graph graph() const;

  bool operator==(const Output& o) const { return node_ == o.node_ && index_ == o.index_; }
  bool operator!=(const Output& o) const { return !(*this == o); }
  bool operator<(const Output& o) const {
    return node_ != o.node_ ? node_ < o.node_ : index_ < o.index_;
  }

 private:
  Node* node_ = nullptr;
  int index_ = 0;
};

// A typed attribute value of a node.
class AttrValue {
 public:
  using Value = std::variant<int64_t, double, bool, std::string, DType, Shape,
                             std::vector<int64_t>, std::vector<double>,
                             std::vector<std::string>, Tensor>;
  AttrValue() = default;
  AttrValue(int v) : v_(static_cast<int64_t>(v)) {}          // NOLINT
  AttrValue(int64_t v) : v_(v) {}                            // NOLINT
  AttrValue(double v) : v_(v) {}                             // NOLINT
  AttrValue(float v) : v_(static_cast<double>(v)) {}         // NOLINT
  AttrValue(bool v) : v_(v) {}                               // NOLINT
  AttrValue(const char* v) : v_(std::string(v)) {}           // NOLINT
  AttrValue(std::string v) : v_(std::move(v)) {}             // NOLINT
  AttrValue(DType v) : v_(v) {}                              // NOLINT
  AttrValue(Shape v) : v_(v) {}                              // NOLINT
  AttrValue(std::vector<int64_t> v) : v_(std::move(v)) {}    // NOLINT
  AttrValue(std::vector<double> v) : v_(std::move(v)) {}     // NOLINT
  AttrValue(std::vector<std::string> v) : v_(std::move(v)) {}  // NOLINT
  AttrValue(Tensor v) : v_(std::move(v)) {}                  // NOLINT

  const Value& value() const { return v_; }
  template <class T>
  bool holds() const {
    return std::holds_alternative<T>(v_);
  }
  // Typed access; throws InvalidArgument naming the expected and actual kinds.
  template <class T>
  const T& get(const std::string& attr_name) const;
  const char* kind_name() const;  // "int", "float", "bool", "string", "dtype", ...
  std::string to_string() const;
  bool operator==(const AttrValue& o) const;

 private:
  Value v_;
};

const char* attr_kind_name(size_t variant_index);

using AttrMap = std::vector<std::pair<std::string, AttrValue>>;  // sorted by name

// A node of a graph. Immutable once added, except nothing: all fields are set by
// NodeBuilder before the node becomes visible. Users normally go through Operation.
struct Node {
  detail::GraphData* graph = nullptr;
  int id = 0;
  std::string name;
  const OpDef* def = nullptr;
  std::vector<Output> inputs;
  std::vector<Node*> control_inputs;
  AttrMap attrs;
  std::string device;
  std::vector<DType> output_dtypes;
  std::vector<Shape> output_shapes;

  const std::string& op_type() const;
  const AttrValue* find_attr(const std::string& attr_name) const;
  // Typed attribute; throws InvalidArgument (missing or wrong kind) naming the node.
  template <class T>
  const T& attr(const std::string& attr_name) const;
  int64_t attr_int(const std::string& attr_name) const { return attr<int64_t>(attr_name); }
  // "node 'dense/MatMul' (MatMul)": the prefix of every message about this node.
  std::string describe() const;
};

// A handle to one node, as the public API sees it.
class Operation {
 public:
  Operation() = default;
  explicit Operation(Node* node) : node_(node) {}

  bool valid() const { return node_ != nullptr; }
  Node* node() const { return node_; }
  const std::string& name() const;
  const std::string& type() const;
  const std::string& device() const;
  int num_inputs() const;
  Output input(int i) const;
  int num_outputs() const;
  Output output(int i) const;
  std::vector<Operation> control_inputs() const;
  const AttrMap& attrs() const;
  Graph graph() const;

  bool operator==(const Operation& o) const { return node_ == o.node_; }
  bool operator!=(const Operation& o) const { return node_ != o.node_; }

 private:
  Node* node_ = nullptr;
};

// Standard collection keys (TensorFlow's names).
namespace collections {
inline constexpr const char* kGlobalVariables = "variables";
inline constexpr const char* kTrainableVariables = "trainable_variables";
inline constexpr const char* kUpdateOps = "update_ops";
}  // namespace collections

class Graph {
 public:
  Graph();

  // Lookup; throw NotFound naming the missing name.
  Operation operation(const std::string& name) const;
  // "name:index" or "name" (index 0).
  Output tensor(const std::string& name) const;
  std::optional<Operation> find_operation(const std::string& name) const;
  std::vector<Operation> operations() const;  // in the order they were added
  int num_operations() const;

  // Collections, each filtered to names that start with `scope_prefix` when it is non-empty
  // ("model_002/" or "model_002").
  std::vector<Operation> global_variables(const std::string& scope_prefix = "") const;
  std::vector<Operation> trainable_variables(const std::string& scope_prefix = "") const;
  std::vector<Operation> update_ops(const std::string& scope_prefix = "") const;
  std::vector<Operation> collection(const std::string& key,
                                    const std::string& scope_prefix = "") const;
  void add_to_collection(const std::string& key, Operation op);
  std::vector<std::string> collection_keys() const;

  // The op that initialises a variable (its Assign), or an invalid Operation.
  Operation variable_initializer(Operation variable) const;
  void set_variable_initializer(Operation variable, Operation initializer);

  // Graph-level random seed (TensorFlow's tf.set_random_seed): random ops without their
  // own seed derive one from it and their node id, so a graph is reproducible.
  void set_random_seed(int64_t seed);
  int64_t random_seed() const;

  // A name not yet used in this graph: `base`, else base_1, base_2, ...; reserves it.
  std::string unique_name(const std::string& base) const;

  bool operator==(const Graph& o) const { return data_ == o.data_; }
  bool operator!=(const Graph& o) const { return data_ != o.data_; }
  detail::GraphData* data() const { return data_.get(); }
  static Graph from_data(detail::GraphData* data);

 private:
  explicit Graph(std::shared_ptr<detail::GraphData> data) : data_(std::move(data)) {}
  std::shared_ptr<detail::GraphData> data_;
};

// ---- template implementations ----

template <class T>
const T& AttrValue::get(const std::string& attr_name) const {
  const T* p = std::get_if<T>(&v_);
  if (!p) {
    throw InvalidArgument(detail::str_cat("attr '", attr_name, "' holds a ", kind_name(),
                                          ", expected a ", attr_kind_name(Value(T{}).index())));
  }
  return *p;
}

template <class T>
const T& Node::attr(const std::string& attr_name) const {
  const AttrValue* v = find_attr(attr_name);
  if (!v) throw InvalidArgument(describe() + ": missing attr '" + attr_name + "'");
  try {
    return v->get<T>(attr_name);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(describe() + ": " + e.what());
  }
}

}  // namespace sluice
