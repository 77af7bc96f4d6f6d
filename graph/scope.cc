#include "scope.h"

#include <algorithm>

#include "../ops/registry.h"
#include "device.h"
#include "graph_data.h"

namespace sluice {

void validate_op_name(const std::string& name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == '/';
  };
  SLUICE_REQUIRE(!name.empty(), InvalidArgument, "empty op name");
  SLUICE_REQUIRE(name.front() != '/' && name.back() != '/' &&
                     name.find("//") == std::string::npos &&
                     std::all_of(name.begin(), name.end(), ok_char),
                 InvalidArgument, "invalid op name '", name,
                 "': use letters, digits and _ . - separated by single '/'");
}

Scope::Scope(const Graph& graph) : graph_(graph) {}

Scope Scope::sub(const std::string& name) const {
  validate_op_name(name);
  Scope s = *this;
  s.prefix_ = prefix_ + name + "/";
  s.name_.clear();
  return s;
}

Scope Scope::named(const std::string& op_name) const {
  validate_op_name(op_name);
  Scope s = *this;
  s.name_ = op_name;
  return s;
}

Scope Scope::without_name() const {
  Scope s = *this;
  s.name_.clear();
  return s;
}

Scope Scope::with_prefix(const std::string& name) const {
  if (!name.empty()) validate_op_name(name);
  Scope s = *this;
  s.prefix_ = name.empty() ? "" : name + "/";
  s.name_.clear();
  return s;
}

Scope Scope::without_control_dependencies() const {
  Scope s = *this;
  s.control_deps_.clear();
  return s;
}

Scope Scope::with_device(const std::string& device) const {
  DeviceSpec::parse(device);  // throws InvalidArgument for a malformed string
  Scope s = *this;
  s.device_ = device;
  return s;
}

Scope Scope::with_control_dependencies(const std::vector<Operation>& ops) const {
  Scope s = *this;
  for (const Operation& op : ops) {
    SLUICE_REQUIRE(op.valid() && op.node()->graph == graph_.data(), InvalidArgument,
                   "control dependency '", op.valid() ? op.name() : "<empty>",
                   "' is not an element of this graph");
    s.control_deps_.push_back(op);
  }
  return s;
}

std::string Scope::make_op_name(const std::string& default_name) const {
  return graph_.unique_name(prefix_ + (name_.empty() ? default_name : name_));
}

// ---- NodeBuilder ----

NodeBuilder::NodeBuilder(const Scope& scope, const std::string& op_type,
                         const std::string& default_name)
    : scope_(scope), op_type_(op_type), default_name_(default_name.empty() ? op_type : default_name) {}

NodeBuilder& NodeBuilder::input(const Output& x) {
  inputs_.push_back(x);
  return *this;
}

NodeBuilder& NodeBuilder::inputs(const std::vector<Output>& xs) {
  inputs_.insert(inputs_.end(), xs.begin(), xs.end());
  return *this;
}

NodeBuilder& NodeBuilder::control_input(const Operation& op) {
  control_inputs_.push_back(op);
  return *this;
}

NodeBuilder& NodeBuilder::attr(const std::string& name, AttrValue value) {
  auto it = std::find_if(attrs_.begin(), attrs_.end(), [&](const auto& kv) { return kv.first == name; });
  if (it != attrs_.end()) {
    it->second = std::move(value);
  } else {
    attrs_.emplace_back(name, std::move(value));
  }
  return *this;
}

NodeBuilder& NodeBuilder::exact_name(const std::string& name) {
  exact_name_ = name;
  return *this;
}

namespace {

// Fills defaults, rejects unknown attrs and kind mismatches (an int given for a float attr
// is converted, as a literal 1 for 1.0 is an easy slip).
AttrMap resolve_attrs(const OpDef& def, AttrMap given, const std::string& where) {
  AttrMap out;
  for (auto& [name, value] : given) {
    const AttrValue* def_value = nullptr;
    for (const auto& kv : def.attr_defaults)
      if (kv.first == name) def_value = &kv.second;
    const bool required =
        std::find(def.required_attrs.begin(), def.required_attrs.end(), name) != def.required_attrs.end();
    SLUICE_REQUIRE(def_value || required, InvalidArgument, where, ": unknown attr '", name, "'");
    if (def_value && def_value->value().index() != value.value().index()) {
      if (def_value->holds<double>() && value.holds<int64_t>()) {
        value = AttrValue(static_cast<double>(value.get<int64_t>(name)));
      } else {
        throw InvalidArgument(detail::str_cat(where, ": attr '", name, "' must be a ",
                                              def_value->kind_name(), ", got a ",
                                              value.kind_name()));
      }
    }
    out.emplace_back(name, std::move(value));
  }
  for (const auto& kv : def.attr_defaults) {
    auto has = [&](const auto& p) { return p.first == kv.first; };
    if (std::none_of(out.begin(), out.end(), has)) out.push_back(kv);
  }
  for (const auto& req : def.required_attrs) {
    auto has = [&](const auto& p) { return p.first == req; };
    SLUICE_REQUIRE(std::any_of(out.begin(), out.end(), has), InvalidArgument, where,
                   ": missing required attr '", req, "'");
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

Operation NodeBuilder::finish() {
  const OpDef& def = OpRegistry::global().get(op_type_);
  detail::GraphData* g = scope_.graph().data();
  auto node = std::make_unique<Node>();
  node->graph = g;
  node->def = &def;
  if (!exact_name_.empty()) {
    validate_op_name(exact_name_);
    SLUICE_REQUIRE(!scope_.graph().find_operation(exact_name_), AlreadyExists,
                   "an operation named '", exact_name_, "' already exists");
    node->name = exact_name_;
  } else {
    node->name = scope_.make_op_name(default_name_);
  }
  const std::string where = node->describe();

  const int fixed = static_cast<int>(def.input_names.size()) - (def.variadic ? 1 : 0);
  const int n_in = static_cast<int>(inputs_.size());
  SLUICE_REQUIRE(def.variadic ? n_in >= fixed : n_in == fixed, InvalidArgument, where,
                 ": expects ", def.variadic ? "at least " : "", fixed, " inputs, got ", n_in);
  for (int i = 0; i < n_in; ++i) {
    const Output& x = inputs_[i];
    SLUICE_REQUIRE(x.valid(), InvalidArgument, where, ": input ", i, " is an empty Output");
    SLUICE_REQUIRE(x.node()->graph == g, InvalidArgument, "Tensor '", x.name(),
                   "' is not an element of this graph (used as input ", i, " of ", where, ")");
    if (def.is_ref_input(i)) {
      SLUICE_REQUIRE(x.node()->op_type() == "VariableV2", InvalidArgument, where, ": input ", i,
                     " must be a variable, got '", x.name(), "' (", x.node()->op_type(), ")");
    }
  }
  node->inputs = inputs_;

  std::vector<Operation> controls = scope_.control_dependencies();
  controls.insert(controls.end(), control_inputs_.begin(), control_inputs_.end());
  for (const Operation& c : controls) {
    SLUICE_REQUIRE(c.valid() && c.node()->graph == g, InvalidArgument,
                   "control input is not an element of this graph (", where, ")");
    if (std::find(node->control_inputs.begin(), node->control_inputs.end(), c.node()) ==
        node->control_inputs.end())
      node->control_inputs.push_back(c.node());
  }
  node->attrs = resolve_attrs(def, std::move(attrs_), where);
  node->device = scope_.device();

  try {
    // Ops that do not declare string support never see a string (not even in their shape
    // function).
    check_string_support(*node, false);
    if (def.shape_fn) {
      ShapeContext ctx(*node);
      def.shape_fn(ctx);
    }
    check_string_support(*node, true);
  } catch (const Error& e) {
    throw_error(e.code(), where + ": " + e.what());
  }
  return Operation(g->add(std::move(node)));
}

}  // namespace sluice
