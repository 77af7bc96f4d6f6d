#include "graph.h"

#include <algorithm>
#include <sstream>

#include "../ops/registry.h"
#include "graph_data.h"

namespace sluice {

// ---- Output / Operation ----

Operation Output::op() const { return Operation(node_); }

DType Output::dtype() const {
  SLUICE_REQUIRE(node_, InvalidArgument, "dtype() of an empty Output");
  return node_->output_dtypes.at(index_);
}

const Shape& Output::shape() const {
  SLUICE_REQUIRE(node_, InvalidArgument, "shape() of an empty Output");
  return node_->output_shapes.at(index_);
}

std::string Output::name() const {
  if (!node_) return "<empty>";
  return node_->name + ":" + std::to_string(index_);
}

Graph Output::graph() const {
  SLUICE_REQUIRE(node_, InvalidArgument, "graph() of an empty Output");
  return Graph::from_data(node_->graph);
}

namespace {
Node& checked(Node* n) {
  SLUICE_REQUIRE(n, InvalidArgument, "use of an empty Operation handle");
  return *n;
}
}  // namespace

const std::string& Operation::name() const { return checked(node_).name; }
const std::string& Operation::type() const { return checked(node_).op_type(); }
const std::string& Operation::device() const { return checked(node_).device; }
int Operation::num_inputs() const { return static_cast<int>(checked(node_).inputs.size()); }

Output Operation::input(int i) const {
  SLUICE_REQUIRE(i >= 0 && i < num_inputs(), OutOfRange, node_->describe(), ": input ", i,
                 " out of range (", num_inputs(), " inputs)");
  return node_->inputs[i];
}

int Operation::num_outputs() const {
  return static_cast<int>(checked(node_).output_dtypes.size());
}

Output Operation::output(int i) const {
  SLUICE_REQUIRE(i >= 0 && i < num_outputs(), OutOfRange, checked(node_).describe(),
                 ": output ", i, " out of range (", num_outputs(), " outputs)");
  return Output(node_, i);
}

std::vector<Operation> Operation::control_inputs() const {
  std::vector<Operation> r;
  for (Node* n : checked(node_).control_inputs) r.emplace_back(n);
  return r;
}

const AttrMap& Operation::attrs() const { return checked(node_).attrs; }

Graph Operation::graph() const { return Graph::from_data(checked(node_).graph); }

// ---- AttrValue ----

const char* attr_kind_name(size_t index) {
  static const char* names[] = {"int",   "float",       "bool",         "string",
                                "dtype", "shape",       "list(int)",    "list(float)",
                                "list(string)", "tensor"};
  return index < sizeof(names) / sizeof(names[0]) ? names[index] : "?";
}

const char* AttrValue::kind_name() const { return attr_kind_name(v_.index()); }

std::string AttrValue::to_string() const {
  std::ostringstream os;
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) {
          os << (v ? "true" : "false");
        } else if constexpr (std::is_same_v<V, std::string>) {
          os << '"' << v << '"';
        } else if constexpr (std::is_same_v<V, DType>) {
          os << dtype_name(v);
        } else if constexpr (std::is_same_v<V, Shape>) {
          os << v.to_string();
        } else if constexpr (std::is_same_v<V, Tensor>) {
          os << v.summary();
        } else if constexpr (std::is_same_v<V, std::vector<int64_t>> ||
                             std::is_same_v<V, std::vector<double>> ||
                             std::is_same_v<V, std::vector<std::string>>) {
          os << "[";
          for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
          os << "]";
        } else {
          os << v;
        }
      },
      v_);
  return os.str();
}

bool AttrValue::operator==(const AttrValue& o) const {
  if (v_.index() != o.v_.index()) return false;
  return std::visit(
      [&](const auto& a) {
        using V = std::decay_t<decltype(a)>;
        const V& b = std::get<V>(o.v_);
        if constexpr (std::is_same_v<V, Tensor>) {
          return a.equals(b);
        } else {
          return a == b;
        }
      },
      v_);
}

// ---- Node ----

const std::string& Node::op_type() const { return def->name; }

const AttrValue* Node::find_attr(const std::string& attr_name) const {
  auto it = std::lower_bound(attrs.begin(), attrs.end(), attr_name,
                             [](const auto& kv, const std::string& k) { return kv.first < k; });
  return it != attrs.end() && it->first == attr_name ? &it->second : nullptr;
}

std::string Node::describe() const { return "node '" + name + "' (" + op_type() + ")"; }

// ---- GraphData ----

namespace detail {

std::string GraphData::unique_name_locked(const std::string& base) {
  // The first free name of base, base_1, base_2, ... (as TensorFlow's unique_name).
  if (reserved.insert(base).second) return base;
  int64_t& next = next_suffix[base];
  for (next = std::max<int64_t>(next, 1);; ++next) {
    std::string name = base + "_" + std::to_string(next);
    if (reserved.insert(name).second) {
      ++next;
      return name;
    }
  }
}

Node* GraphData::add(std::unique_ptr<Node> node) {
  std::lock_guard<std::mutex> lock(mu);
  node->id = static_cast<int>(nodes.size());
  Node* raw = node.get();
  by_name[raw->name] = raw;
  reserved.insert(raw->name);
  nodes.push_back(std::move(node));
  return raw;
}

}  // namespace detail

// ---- Graph ----

Graph::Graph() : data_(std::make_shared<detail::GraphData>()) { data_->self = data_; }

Graph Graph::from_data(detail::GraphData* data) {
  auto shared = data->self.lock();
  SLUICE_REQUIRE(shared, FailedPrecondition, "the graph of this handle has been destroyed");
  return Graph(std::move(shared));
}

std::optional<Operation> Graph::find_operation(const std::string& name) const {
  std::lock_guard<std::mutex> lock(data_->mu);
  auto it = data_->by_name.find(name);
  if (it == data_->by_name.end()) return std::nullopt;
  return Operation(it->second);
}

Operation Graph::operation(const std::string& name) const {
  auto op = find_operation(name);
  SLUICE_REQUIRE(op, NotFound, "The name '", name,
                 "' refers to an Operation not in the graph");
  return *op;
}

Output Graph::tensor(const std::string& name) const {
  const auto colon = name.rfind(':');
  std::string op_name = name;
  int index = 0;
  if (colon != std::string::npos) {
    op_name = name.substr(0, colon);
    const std::string idx = name.substr(colon + 1);
    const bool digits = !idx.empty() && idx.size() <= 9 &&
                        std::all_of(idx.begin(), idx.end(), [](char c) { return c >= '0' && c <= '9'; });
    SLUICE_REQUIRE(digits, InvalidArgument, "tensor name '", name,
                   "' must be 'op_name' or 'op_name:index'");
    index = std::stoi(idx);
  }
  auto op = find_operation(op_name);
  SLUICE_REQUIRE(op, NotFound, "The name '", name,
                 "' refers to a Tensor which does not exist. The operation, '", op_name,
                 "', does not exist in the graph.");
  SLUICE_REQUIRE(index < op->num_outputs(), NotFound, "The name '", name,
                 "' refers to a Tensor which does not exist: operation '", op_name, "' has ",
                 op->num_outputs(), " outputs");
  return Output(op->node(), index);
}

std::vector<Operation> Graph::operations() const {
  std::lock_guard<std::mutex> lock(data_->mu);
  std::vector<Operation> r;
  r.reserve(data_->nodes.size());
  for (const auto& n : data_->nodes) r.emplace_back(n.get());
  return r;
}

int Graph::num_operations() const {
  std::lock_guard<std::mutex> lock(data_->mu);
  return static_cast<int>(data_->nodes.size());
}

namespace {
bool in_scope(const std::string& name, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  // "model_002" matches "model_002/..." but not "model_0020/...".
  return prefix.back() == '/' || name.size() == prefix.size() || name[prefix.size()] == '/';
}
}  // namespace

std::vector<Operation> Graph::collection(const std::string& key,
                                         const std::string& scope_prefix) const {
  std::lock_guard<std::mutex> lock(data_->mu);
  std::vector<Operation> r;
  auto it = data_->collections.find(key);
  if (it == data_->collections.end()) return r;
  for (Node* n : it->second)
    if (in_scope(n->name, scope_prefix)) r.emplace_back(n);
  return r;
}

std::vector<Operation> Graph::global_variables(const std::string& scope_prefix) const {
  return collection(collections::kGlobalVariables, scope_prefix);
}
std::vector<Operation> Graph::trainable_variables(const std::string& scope_prefix) const {
  return collection(collections::kTrainableVariables, scope_prefix);
}
std::vector<Operation> Graph::update_ops(const std::string& scope_prefix) const {
  return collection(collections::kUpdateOps, scope_prefix);
}

void Graph::add_to_collection(const std::string& key, Operation op) {
  SLUICE_REQUIRE(op.valid() && op.node()->graph == data_.get(), InvalidArgument,
                 "add_to_collection('", key, "'): the operation is not an element of this graph");
  std::lock_guard<std::mutex> lock(data_->mu);
  auto& list = data_->collections[key];
  if (std::find(list.begin(), list.end(), op.node()) == list.end()) list.push_back(op.node());
}

std::vector<std::string> Graph::collection_keys() const {
  std::lock_guard<std::mutex> lock(data_->mu);
  std::vector<std::string> keys;
  for (const auto& kv : data_->collections) keys.push_back(kv.first);
  return keys;
}

Operation Graph::variable_initializer(Operation variable) const {
  std::lock_guard<std::mutex> lock(data_->mu);
  auto it = data_->initializers.find(variable.node());
  return it == data_->initializers.end() ? Operation() : Operation(it->second);
}

void Graph::set_variable_initializer(Operation variable, Operation initializer) {
  SLUICE_REQUIRE(variable.valid() && initializer.valid() &&
                     variable.node()->graph == data_.get() &&
                     initializer.node()->graph == data_.get(),
                 InvalidArgument, "set_variable_initializer: operations of another graph");
  std::lock_guard<std::mutex> lock(data_->mu);
  data_->initializers[variable.node()] = initializer.node();
}

void Graph::set_random_seed(int64_t seed) {
  std::lock_guard<std::mutex> lock(data_->mu);
  data_->seed = seed;
}

int64_t Graph::random_seed() const {
  std::lock_guard<std::mutex> lock(data_->mu);
  return data_->seed;
}

std::string Graph::unique_name(const std::string& base) const {
  std::lock_guard<std::mutex> lock(data_->mu);
  return data_->unique_name_locked(base);
}

}  // namespace sluice
