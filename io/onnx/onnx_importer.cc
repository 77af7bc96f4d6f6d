// The ONNX importer's driver: checks the whole model (structure, op types, attributes),
// builds it into a scratch graph through the op table while tracking each value's layout,
// then adds the result to the target graph in one all-or-nothing import_graph_def.
#include <onnx/defs/schema.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "../../ops/array_ops.h"
#include "../../ops/registry.h"
#include "../../ops/state_ops.h"
#include "../../runtime/session.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// A node's name for messages: its name, else its first named output.
std::string display_name(const ::onnx::NodeProto& node) {
  if (!node.name().empty()) return node.name();
  for (const std::string& out : node.output())
    if (!out.empty()) return out;
  return node.op_type();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  SLUICE_REQUIRE(f.good(), NotFound, "import_onnx: cannot open '", path, "'");
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  SLUICE_REQUIRE(size >= 0, NotFound, "import_onnx: cannot read '", path, "' (not a regular file?)");
  SLUICE_REQUIRE(size <= kMaxOnnxFileBytes, DataLoss, "import_onnx: '", path, "' is ", size,
                 " bytes, more than an ONNX model can hold (2 GiB)");
  f.seekg(0);
  std::string bytes(static_cast<size_t>(size), '\0');
  f.read(bytes.data(), size);
  SLUICE_REQUIRE(f.gcount() == size, DataLoss, "import_onnx: short read of '", path, "'");
  return bytes;
}

}  // namespace

const std::vector<OpEntry>& op_table() {
  static const std::vector<OpEntry> table = [] {
    std::vector<OpEntry> t;
    for (auto* family : {&math_op_entries, &nn_op_entries, &array_op_entries, &reduce_op_entries, &rnn_op_entries,
                        &activation_op_entries, &index_op_entries})
      for (const OpEntry& e : family()) t.push_back(e);
    std::sort(t.begin(), t.end(), [](const OpEntry& a, const OpEntry& b) {
      return std::string(a.op_type) < std::string(b.op_type);
    });
    return t;
  }();
  return table;
}

const OpEntry* find_op(const std::string& op_type) {
  for (const OpEntry& e : op_table())
    if (op_type == e.op_type) return &e;
  return nullptr;
}

// ---- the importer ----

class Importer {
 public:
  Importer(const ::onnx::ModelProto& model, const ImportOptions& options, std::string source)
      : model_(model), graph_(model.graph()), options_(options), source_(std::move(source)), root_(tmp_) {}

  ImportResult run(Graph& into);

  // Used by NodeContext.
  Value& value(const std::string& name, const std::string& where);
  Output onnx_of(Value& v);
  Output cl_of(Value& v);
  Output fold(const Output& x);
  const std::string& source() const { return source_; }
  int consumers(const std::string& name) const {
    const auto it = consumers_.find(name);
    return it == consumers_.end() ? 0 : it->second;
  }
  // consumers() of the ONNX value held channels-last as `cl` (0 when no value is).
  int consumers_of_cl(const Output& cl) const {
    for (const auto& [name, v] : values_)
      if (v.native_cl && v.cl == cl) return consumers(name);
    return 0;
  }

 private:
  void check_structure();
  void check_ops();
  std::string resolve_name(const std::string& key, const char* what) const;
  void build();
  void build_node(const ::onnx::NodeProto& node, const OpEntry& entry);
  void finish_outputs(const ::onnx::NodeProto& node, NodeContext& ctx, int first);
  void name_value(const std::string& name, Output out, int first_new_node);
  Output mapped_placeholder(const std::string& name, DType dtype, const Shape& declared);
  bool all_constant(Node* node, int budget);
  GraphDef finish_def(std::map<std::string, Signature> signatures);

  const ::onnx::ModelProto& model_;
  const ::onnx::GraphProto& graph_;
  std::map<std::string, int> consumers_;  // ONNX value -> nodes reading it (+1 for a graph output)
  const ImportOptions& options_;
  std::string source_;
  int opset_ = 0;
  Graph tmp_;
  Scope root_;
  std::unordered_map<std::string, Value> values_;
  std::unordered_map<std::string, std::string> missing_;  // value -> why it is not built
  std::unordered_set<std::string> initializers_;
  std::map<std::string, std::string> mapped_;  // ONNX name -> the input-map key it came from
  std::map<std::string, std::string> renames_;  // scratch node name -> final name
  std::unordered_set<const Node*> named_;        // nodes already renamed after a value
  std::vector<std::string> roots_;
  std::unordered_map<const Node*, bool> const_memo_;
  friend class NodeContext;
};

void Importer::check_structure() {
  for (const auto& imp : model_.opset_import())
    if (is_default_domain(imp.domain())) opset_ = static_cast<int>(std::min<int64_t>(imp.version(), 1 << 20));
  bool uses_default = false;
  for (const auto& node : graph_.node()) uses_default = uses_default || is_default_domain(node.domain());
  SLUICE_REQUIRE(opset_ > 0 || !uses_default, DataLoss, "'", source_,
                 "': no opset_import for the default ONNX domain");
  // Opsets 1-5 differ from 6 only in attributes the entries read by version (Reshape-1's
  // shape, opset 6's legacy broadcast, is_test); later than 17 is beyond ONNX 1.12.
  SLUICE_REQUIRE(opset_ <= 17, Unimplemented, "'", source_, "': opset ", opset_,
                 " (Sluice imports ONNX opsets up to 17, as Debian's ONNX 1.12 defines them)");
  SLUICE_REQUIRE(graph_.node_size() <= kMaxOnnxNodes, DataLoss, "'", source_, "': ", graph_.node_size(),
                 " nodes, more than ", kMaxOnnxNodes);
  std::unordered_set<std::string> defined;
  for (const auto& init : graph_.initializer()) {
    SLUICE_REQUIRE(!init.name().empty(), DataLoss, "'", source_, "': an initializer without a name");
    SLUICE_REQUIRE(defined.insert(init.name()).second, DataLoss, "'", source_, "': two initializers named '",
                   init.name(), "'");
    initializers_.insert(init.name());
  }
  SLUICE_REQUIRE(graph_.sparse_initializer_size() == 0, Unimplemented, "'", source_,
                 "': sparse initializers are not supported");
  std::unordered_set<std::string> inputs;
  for (const auto& in : graph_.input()) {
    SLUICE_REQUIRE(!in.name().empty(), DataLoss, "'", source_, "': a graph input without a name");
    SLUICE_REQUIRE(inputs.insert(in.name()).second, DataLoss, "'", source_, "': two graph inputs named '",
                   in.name(), "'");
    defined.insert(in.name());
  }
  for (const auto& node : graph_.node()) {
    const std::string where = "node '" + node.name() + "' (" + node.op_type() + ")";
    for (const std::string& in : node.input())
      SLUICE_REQUIRE(in.empty() || defined.count(in), DataLoss, "'", source_, "': ", where, " reads '", in,
                     "', which no graph input, initializer or earlier node defines");
    for (const std::string& out : node.output())
      SLUICE_REQUIRE(out.empty() || defined.insert(out).second, DataLoss, "'", source_, "': ", where,
                     " defines '", out, "', which is already defined");
  }
  for (const auto& out : graph_.output())
    SLUICE_REQUIRE(defined.count(out.name()), DataLoss, "'", source_, "': graph output '", out.name(),
                   "' is not defined");
}

void Importer::check_ops() {
  // type (domain, version) -> nodes, and node-level reasons, each listed once.
  std::map<std::string, std::vector<std::string>> missing_types;
  std::map<std::string, std::pair<std::string, int>> reasons;  // label -> (first reason, nodes)
  for (const auto& node : graph_.node()) {
    const std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
    int version = 0;
    for (const auto& imp : model_.opset_import())
      if (imp.domain() == node.domain() || (is_default_domain(imp.domain()) && is_default_domain(node.domain())))
        version = static_cast<int>(std::min<int64_t>(imp.version(), 1 << 20));
    const auto* schema = ::onnx::OpSchemaRegistry::Schema(node.op_type(), version,
                                                          is_default_domain(node.domain()) ? "" : node.domain());
    const std::string label = node.op_type() + " (" + domain + ", " +
                              (schema ? "version " + std::to_string(schema->since_version())
                                      : "no such op at opset " + std::to_string(version)) +
                              ")";
    const OpEntry* entry = is_default_domain(node.domain()) && schema ? find_op(node.op_type()) : nullptr;
    const std::string node_name = display_name(node);
    if (!entry) {
      auto& nodes = missing_types[label];
      if (nodes.size() < 3) nodes.push_back(node_name);
      continue;
    }
    if (entry->check) {
      const std::string why = entry->check(Attrs(node, "node '" + node_name + "' (" + label + ")"), version);
      if (!why.empty()) {
        auto& r = reasons[label];
        if (r.first.empty()) r.first = "node '" + node_name + "': " + why;
        ++r.second;
      }
    }
  }
  if (missing_types.empty() && reasons.empty()) return;
  std::ostringstream msg;
  msg << "'" << source_ << "': cannot import yet:";
  if (!missing_types.empty()) {
    msg << " ONNX op types without a Sluice mapping: ";
    bool first = true;
    for (const auto& [label, nodes] : missing_types) {
      msg << (first ? "" : ", ") << label;
      first = false;
    }
    msg << (reasons.empty() ? "" : ";");
  }
  bool first_reason = true;
  for (const auto& [label, r] : reasons) {
    msg << (first_reason ? " " : "; ") << label << ", " << r.first;
    if (r.second > 1) msg << " (and " << r.second - 1 << " more such nodes)";
    first_reason = false;
  }
  throw Unimplemented(msg.str());
}

std::string Importer::resolve_name(const std::string& key, const char* what) const {
  const bool has_index = key.size() > 2 && key.compare(key.size() - 2, 2, ":0") == 0;
  if (has_index) {
    const std::string base = key.substr(0, key.size() - 2);
    if (values_.count(base) || initializers_.count(base)) return base;
  }
  if (values_.count(key) || initializers_.count(key)) return key;
  std::string known;
  for (const auto& in : graph_.input()) known += (known.empty() ? "" : ", ") + in.name() + ":0";
  throw NotFound("'" + source_ + "': " + what + " '" + key + "' is not a value of the model (its inputs are " +
                 known + ")");
}

Output Importer::mapped_placeholder(const std::string& name, DType dtype, const Shape& declared) {
  const Output& m = options_.input_map.at(mapped_.at(name));
  SLUICE_REQUIRE(m.valid(), InvalidArgument, "'", source_, "': input_map['", mapped_.at(name), "'] is an empty Output");
  SLUICE_REQUIRE(m.dtype() == dtype && (!declared.known_rank() || declared.compatible_with(m.shape())),
                 InvalidArgument, "'", source_, "': input_map['", mapped_.at(name), "'] is ", dtype_name(m.dtype()),
                 m.shape().to_string(), ", the model's value is ", dtype_name(dtype), declared.to_string());
  return ops::placeholder(root_, dtype, declared.known_rank() ? m.shape().merge(declared) : m.shape());
}

Value& Importer::value(const std::string& name, const std::string& where) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    auto m = missing_.find(name);
    if (m != missing_.end()) throw Unimplemented(where + ": reads '" + name + "', " + m->second);
    throw Internal(where + ": value '" + name + "' was not built");
  }
  return it->second;
}

Output Importer::onnx_of(Value& v) {
  if (v.onnx.valid()) return v.onnx;
  const Shape& s = v.cl.shape();
  const std::vector<int64_t> perm = perm_from_cl(s.rank());
  const Shape target = permute_shape(s, perm);
  int unknown = 0;
  for (int64_t d : target) unknown += d < 0;
  const Scope scope = root_.sub("to_onnx_order");
  v.onnx = transpose_is_reshape(s, perm) && unknown <= 1 ? ops::reshape(scope, v.cl, target.dims())
                                                         : ops::transpose(scope, v.cl, perm);
  return v.onnx;
}

Output Importer::cl_of(Value& v) {
  if (v.cl.valid()) return v.cl;
  const Shape& s = v.onnx.shape();
  SLUICE_REQUIRE(s.known_rank(), Unimplemented, "value ", v.onnx.name(),
                 " has no static rank; a layout-sensitive op needs one");
  if (s.rank() < 3) return v.cl = v.onnx;
  const std::vector<int64_t> perm = perm_to_cl(s.rank());
  const Shape target = permute_shape(s, perm);
  int unknown = 0;
  for (int64_t d : target) unknown += d < 0;
  const Scope scope = root_.sub("to_channels_last");
  v.cl = fold(transpose_is_reshape(s, perm) && unknown <= 1 ? ops::reshape(scope, v.onnx, target.dims())
                                                            : ops::transpose(scope, v.onnx, perm));
  return v.cl;
}

bool Importer::all_constant(Node* node, int budget) {
  auto it = const_memo_.find(node);
  if (it != const_memo_.end()) return it->second;
  bool ok = node->op_type() != "Placeholder" && node->op_type() != "PlaceholderWithDefault" &&
            node->op_type() != "VariableV2" && !node->def->stateful && node->control_inputs.empty() && budget > 0;
  for (size_t i = 0; ok && i < node->inputs.size(); ++i) ok = all_constant(node->inputs[i].node(), budget - 1);
  const_memo_[node] = ok;
  return ok;
}

Output Importer::fold(const Output& x) {
  if (x.node()->op_type() == "Const" || !all_constant(x.node(), 256)) return x;
  if (x.dtype() == DType::string) return x;
  Session sess(tmp_, SessionOptions{1});
  const Tensor t = sess.run({}, {x})[0];
  return ops::constant(root_.sub("folded"), t);
}

void Importer::name_value(const std::string& name, Output out, int first_new_node) {
  // The node becomes "<escaped name>" when this value is its only claim to a name: created
  // for it, output 0, not named after another value. Otherwise an Identity carries the name.
  Node* n = out.node();
  if (out.index() != 0 || n->id < first_new_node || named_.count(n)) {
    out = ops::identity(root_.sub("named"), out);
    n = out.node();
  }
  named_.insert(n);
  renames_[n->name] = escape_name(name);
  roots_.push_back(n->name);
  values_[name].onnx = out;
}

void Importer::build() {
  // The final names of all values are taken first, so helper nodes never use them.
  auto reserve = [&](const std::string& name) { tmp_.unique_name(escape_name(name)); };
  for (const auto& init : graph_.initializer()) reserve(init.name());
  for (const auto& in : graph_.input()) reserve(in.name());
  for (const auto& node : graph_.node())
    for (const std::string& out : node.output())
      if (!out.empty()) reserve(out);

  std::unordered_set<std::string> statistics;
  for (const auto& node : graph_.node())
    if (node.op_type() == "BatchNormalization" && is_default_domain(node.domain()))
      for (int i = 3; i < 5 && i < node.input_size(); ++i) statistics.insert(node.input(i));
  for (const auto& init : graph_.initializer()) {
    const std::string& name = init.name();
    const int first = tmp_.num_operations();
    const Tensor t = tensor_from_proto(init, "'" + source_ + "': initializer");
    Output out;
    if (mapped_.count(name)) {
      out = mapped_placeholder(name, t.dtype(), t.shape());
    } else if (options_.trainable && is_floating(t.dtype())) {
      // Batch normalization's running statistics are variables but not trained (as Keras'
      // moving_mean / moving_variance).
      out = ops::variable(root_.sub("variables"), t.shape(), t.dtype(), Initializer::constant(t),
                          !statistics.count(name));
      roots_.push_back(tmp_.variable_initializer(out.op()).name());
    } else {
      out = ops::constant(root_.sub("initializers"), t);
    }
    name_value(name, out, first);
  }
  for (const auto& in : graph_.input()) {
    if (initializers_.count(in.name())) continue;
    const std::string what = "'" + source_ + "': graph input '" + in.name() + "'";
    const DType dtype = dtype_from_type(in.type(), what);
    const Shape shape = shape_from_type(in.type(), what);
    const int first = tmp_.num_operations();
    Output out = mapped_.count(in.name()) ? mapped_placeholder(in.name(), dtype, shape)
                                          : ops::placeholder(root_.sub("inputs"), dtype, shape);
    name_value(in.name(), out, first);
  }
  for (const auto& node : graph_.node()) build_node(node, *find_op(node.op_type()));
}

void Importer::build_node(const ::onnx::NodeProto& node, const OpEntry& entry) {
  const std::string base = escape_name(node.name().empty() ? node.op_type() : node.name());
  NodeContext ctx(*this, node, opset_, root_.sub(base));
  const int first = tmp_.num_operations();
  try {
    entry.build(ctx);
    finish_outputs(node, ctx, first);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind("'" + source_ + "'", 0) == 0) throw;
    throw_error(e.code(), "'" + source_ + "': " + ctx.where() + ": " + msg);
  }
}

// Names the node's outputs (folding the constant ones), or records why one is missing.
void Importer::finish_outputs(const ::onnx::NodeProto& node, NodeContext& ctx, int first) {
  for (int i = 0; i < node.output_size(); ++i) {
    const std::string& name = node.output(i);
    if (name.empty()) continue;
    auto it = values_.find(name);
    const bool built = it != values_.end() && (it->second.onnx.valid() || it->second.cl.valid());
    if (!built) {
      values_.erase(name);
      missing_[name] = "output " + std::to_string(i) + " of " + ctx.where() + ", which the importer does not build";
      continue;
    }
    if (mapped_.count(name)) {
      const Value v = it->second;
      values_.erase(it);
      const Output ref = v.onnx.valid() ? v.onnx : v.cl;
      const Shape shape =
          v.onnx.valid() ? v.onnx.shape() : permute_shape(v.cl.shape(), perm_from_cl(v.cl.shape().rank()));
      const int at = tmp_.num_operations();
      name_value(name, mapped_placeholder(name, ref.dtype(), shape), at);
      continue;
    }
    Value& v = it->second;  // references into values_ stay valid as it grows
    if (v.native_cl) {
      v.onnx = Output();
      const int at = tmp_.num_operations();
      name_value(name, onnx_of(v), at);
    } else {
      const Output folded = fold(v.onnx);
      name_value(name, folded, folded == v.onnx ? first : tmp_.num_operations() - 1);
    }
  }
}

GraphDef Importer::finish_def(std::map<std::string, Signature> signatures) {
  GraphDef def = graph_to_def(tmp_, signatures);
  auto rn = [&](const std::string& n) {
    auto it = renames_.find(n);
    return it == renames_.end() ? n : it->second;
  };
  auto rn_tensor = [&](const std::string& t) {
    const size_t c = t.rfind(':');
    return c == std::string::npos ? rn(t) : rn(t.substr(0, c)) + t.substr(c);
  };
  for (NodeDef& n : def.nodes) {
    n.name = rn(n.name);
    for (std::string& in : n.inputs) in = rn_tensor(in);
    for (std::string& c : n.control_inputs) c = rn(c);
  }
  for (auto& [key, names] : def.collections)
    for (std::string& n : names) n = rn(n);
  std::map<std::string, std::string> inits;
  for (const auto& [var, init] : def.variable_initializers) inits[rn(var)] = rn(init);
  def.variable_initializers = inits;
  if (!def.learning_phase.empty()) def.learning_phase = rn(def.learning_phase);
  for (auto& [key, sig] : def.signatures)
    for (auto* side : {&sig.inputs, &sig.outputs})
      for (auto& [k, info] : *side) info.name = rn_tensor(info.name);
  auto sigs = def.signatures;
  std::vector<std::string> roots;
  for (const std::string& r : roots_) roots.push_back(rn(r));
  GraphDef pruned = prune_graph_def(def, roots);
  pruned.signatures = sigs;
  return pruned;
}

ImportResult Importer::run(Graph& into) {
  check_structure();
  check_ops();
  // Input-map keys and return elements name ONNX values ("<name>:0").
  for (const auto& in : graph_.input()) values_[in.name()];
  for (const auto& node : graph_.node())
    for (const std::string& out : node.output())
      if (!out.empty()) values_[out];
  for (const auto& [key, out] : options_.input_map) mapped_[resolve_name(key, "input_map key")] = key;
  std::vector<std::string> returns;
  for (const std::string& r : options_.return_elements) returns.push_back(resolve_name(r, "return element"));
  values_.clear();
  for (const auto& node : graph_.node())
    for (const std::string& in : node.input())
      if (!in.empty()) ++consumers_[in];
  for (const auto& out : graph_.output()) ++consumers_[out.name()];

  build();

  Signature sig;
  for (const auto& in : graph_.input())
    if (!initializers_.count(in.name())) sig.inputs[in.name()] = values_.at(in.name()).onnx;
  for (const auto& out : graph_.output()) sig.outputs[out.name()] = onnx_of(value(out.name(), "graph output"));
  GraphDef def = finish_def({{"serving_default", sig}});

  ImportOptions opts;
  opts.prefix = options_.prefix;
  for (const auto& [name, key] : mapped_) opts.input_map[escape_name(name) + ":0"] = options_.input_map.at(key);
  for (const std::string& r : returns) {
    if (!values_.count(r)) value(r, "'" + source_ + "': return element");  // throws the reason
    opts.return_elements.push_back(escape_name(r) + ":0");
  }
  try {
    return import_graph_def(into, def, opts);
  } catch (const Error& e) {
    throw_error(e.code(), "'" + source_ + "': " + e.what());
  }
}

// ---- NodeContext ----

NodeContext::NodeContext(Importer& importer, const ::onnx::NodeProto& node, int opset, const Scope& scope)
    : importer_(importer),
      node_(node),
      opset_(opset),
      scope_(scope),
      where_("ONNX node '" + display_name(node) + "' (" + node.op_type() + ")"),
      attrs_(node, "'" + importer.source() + "': " + where_) {}

int NodeContext::consumers(int i) const { return has_input(i) ? importer_.consumers(node_.input(i)) : 0; }

int NodeContext::consumers_of_cl(const Output& cl) const { return importer_.consumers_of_cl(cl); }

bool NodeContext::has_input(int i) const { return i >= 0 && i < node_.input_size() && !node_.input(i).empty(); }

Output NodeContext::input(int i) {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is missing");
  return importer_.onnx_of(importer_.value(node_.input(i), where_));
}

Output NodeContext::input_cl(int i) {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is missing");
  return importer_.cl_of(importer_.value(node_.input(i), where_));
}

bool NodeContext::is_cl(int i) {
  return has_input(i) && importer_.value(node_.input(i), where_).native_cl;
}

Shape NodeContext::shape(int i) {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is missing");
  Value& v = importer_.value(node_.input(i), where_);
  if (v.onnx.valid()) return v.onnx.shape();
  return permute_shape(v.cl.shape(), perm_from_cl(v.cl.shape().rank()));
}

int NodeContext::rank(int i) {
  const Shape s = shape(i);
  if (!s.known_rank()) unimplemented("input " + std::to_string(i) + " has no static rank");
  return s.rank();
}

DType NodeContext::dtype(int i) {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is missing");
  Value& v = importer_.value(node_.input(i), where_);
  return v.onnx.valid() ? v.onnx.dtype() : v.cl.dtype();
}

const Tensor* NodeContext::constant(int i) {
  if (!has_input(i)) return nullptr;
  Value& v = importer_.value(node_.input(i), where_);
  if (!v.onnx.valid() || v.onnx.node()->op_type() != "Const") return nullptr;
  return &v.onnx.node()->attr<Tensor>("value");
}

std::vector<int64_t> NodeContext::constant_ints(int i, const std::string& what, const std::string& waits_on) {
  const Tensor* t = constant(i);
  if (!t) unimplemented(what + " known only at run time" + (waits_on.empty() ? "" : " (waits on " + waits_on + ")"));
  if (!is_integer(t->dtype())) invalid(what + " must be an integer tensor, got " + t->summary());
  return t->dtype() == DType::i64 ? t->to_vector<int64_t>() : t->cast(DType::i64).to_vector<int64_t>();
}

std::optional<Partial> NodeContext::partial(int i) {
  if (!has_input(i)) return std::nullopt;
  if (const Tensor* t = constant(i)) {
    if (!is_integer(t->dtype()) || t->rank() > 1 || t->num_elements() > 64) return std::nullopt;
    const std::vector<int64_t> v = t->cast(DType::i64).to_vector<int64_t>();
    return Partial(v.begin(), v.end());
  }
  return importer_.value(node_.input(i), where_).partial;
}

void NodeContext::set_partial(int i, const Partial& p, bool scalar) {
  if (!wants_output(i)) return;
  Value& v = importer_.values_[node_.output(i)];
  if (!v.onnx.valid() || !is_integer(v.onnx.dtype()) || (scalar && p.size() != 1) || p.size() > 64) return;
  bool all = true;
  std::vector<int64_t> known;
  for (const auto& e : p) {
    all = all && e.has_value();
    known.push_back(e.value_or(0));
  }
  if (!all) {
    v.partial = p;
    return;
  }
  const Shape shape = scalar ? Shape{} : Shape{static_cast<int64_t>(known.size())};
  const DType dt = v.onnx.dtype();
  v = Value{};
  v.onnx = constant_output(Tensor::from_vector(known, shape).cast(dt));
  v.partial = p;
}

bool NodeContext::wants_output(int i) const {
  return i >= 0 && i < node_.output_size() && !node_.output(i).empty();
}

void NodeContext::set_output(int i, const Output& x) {
  if (!wants_output(i)) return;
  Value& v = importer_.values_[node_.output(i)];
  v = Value{};
  v.onnx = x;
}

void NodeContext::set_output_cl(int i, const Output& x) {
  if (!wants_output(i)) return;
  if (x.shape().rank() < 3) return set_output(i, x);
  Value& v = importer_.values_[node_.output(i)];
  v = Value{};
  v.cl = x;
  v.native_cl = true;
}

Output NodeContext::fold(const Output& x) { return importer_.fold(x); }

Output NodeContext::constant_output(const Tensor& value) { return ops::constant(scope_, value); }

void NodeContext::unimplemented(const std::string& what) const {
  throw Unimplemented("'" + importer_.source() + "': " + where_ + ": " + what);
}

void NodeContext::invalid(const std::string& what) const {
  throw InvalidArgument("'" + importer_.source() + "': " + where_ + ": " + what);
}

int64_t NodeContext::axis(int64_t a, int rank, const char* what) const {
  if (a < -rank || a >= rank)
    invalid(std::string(what) + " " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
  return a < 0 ? a + rank : a;
}

}  // namespace sluice::io::onnx_detail

namespace sluice::io {

ImportResult import_onnx_bytes(Graph& into, const std::string& bytes, const ImportOptions& options,
                               const std::string& source) {
  const ::onnx::ModelProto model = onnx_detail::parse_model(bytes, source);
  onnx_detail::Importer importer(model, options, source);
  return importer.run(into);
}

ImportResult import_onnx(Graph& into, const std::string& path, const ImportOptions& options) {
  return import_onnx_bytes(into, onnx_detail::read_file(path), options, path);
}

LoadedModel load_onnx_model(const std::string& path, SessionOptions options) {
  Graph g;
  ImportResult r = import_onnx(g, path);
  auto session = std::make_unique<Session>(g, options);
  if (!g.global_variables().empty()) session->run({}, {}, {ops::global_variables_initializer(Scope(g))});
  return LoadedModel::from_parts(path, g, std::move(session), r.signatures);
}

std::string onnx_tensor_name(const std::string& onnx_name, const std::string& prefix) {
  return (prefix.empty() ? "" : prefix + "/") + onnx_detail::escape_name(onnx_name) + ":0";
}

Tensor read_onnx_tensor(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  SLUICE_REQUIRE(f.good(), NotFound, "read_onnx_tensor: cannot open '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  SLUICE_REQUIRE(static_cast<int64_t>(bytes.size()) <= kMaxOnnxFileBytes, DataLoss, "read_onnx_tensor: '", path,
                 "' is too large");
  ::onnx::TensorProto proto;
  SLUICE_REQUIRE(proto.ParseFromString(bytes), DataLoss, "read_onnx_tensor: '", path,
                 "' is not an ONNX TensorProto");
  return onnx_detail::tensor_from_proto(proto, "'" + path + "'");
}

std::vector<OnnxOpInfo> onnx_supported_ops() {
  std::vector<OnnxOpInfo> out;
  for (const auto& e : onnx_detail::op_table()) out.push_back({e.op_type, e.notes});
  return out;
}

}  // namespace sluice::io
