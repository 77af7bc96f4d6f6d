// Graph <-> GraphDef, import with prefix / input map / return elements, pruning and
// freezing, and the file I/O of graph files. The JSON codec is in graph_json.cc.
#include "graph_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "../graph/graph_data.h"
#include "../ops/array_ops.h"
#include "../ops/registry.h"
#include "../runtime/session.h"
#include "checkpoint.h"  // write_file_atomically

namespace sluice::io {

// ---- names ----

namespace detail {

std::pair<std::string, int> parse_tensor_name(const std::string& name, bool allow_bare,
                                              const std::string& what) {
  const auto colon = name.rfind(':');
  if (colon == std::string::npos) {
    SLUICE_REQUIRE(allow_bare && !name.empty(), InvalidArgument, what, " '", name,
                   "' must be 'node_name:index'");
    return {name, 0};
  }
  const std::string idx = name.substr(colon + 1);
  const bool digits = !idx.empty() && idx.size() <= 9 &&
                      std::all_of(idx.begin(), idx.end(), [](char c) { return c >= '0' && c <= '9'; });
  SLUICE_REQUIRE(digits && colon > 0, InvalidArgument, what, " '", name,
                 "' must be 'node_name:index' with a decimal index");
  return {name.substr(0, colon), std::stoi(idx)};
}

}  // namespace detail

namespace {

using detail::parse_tensor_name;

std::string describe(const NodeDef& n) { return "node '" + n.name + "' (" + n.op + ")"; }

// Index of each node name in a def (validated defs have unique names).
std::unordered_map<std::string, size_t> name_index(const GraphDef& def) {
  std::unordered_map<std::string, size_t> index;
  index.reserve(def.nodes.size());
  for (size_t i = 0; i < def.nodes.size(); ++i) index.emplace(def.nodes[i].name, i);
  return index;
}

}  // namespace

// ---- Graph -> GraphDef ----

GraphDef graph_to_def(const Graph& graph, const std::map<std::string, Signature>& signatures) {
  GraphDef def;
  def.random_seed = graph.random_seed();
  const std::vector<Operation> ops = graph.operations();
  def.nodes.reserve(ops.size());
  for (const Operation& op : ops) {
    const Node& n = *op.node();
    NodeDef nd;
    nd.name = n.name;
    nd.op = n.op_type();
    for (const Output& x : n.inputs) nd.inputs.push_back(x.name());
    for (const Node* c : n.control_inputs) nd.control_inputs.push_back(c->name);
    nd.device = n.device;
    nd.attrs = n.attrs;
    for (size_t i = 0; i < n.output_dtypes.size(); ++i) nd.outputs.emplace_back(n.output_dtypes[i], n.output_shapes[i]);
    def.nodes.push_back(std::move(nd));
    const Operation init = graph.variable_initializer(op);
    if (init.valid()) def.variable_initializers[n.name] = init.name();
  }
  for (const std::string& key : graph.collection_keys()) {
    std::vector<std::string>& names = def.collections[key];
    for (const Operation& op : graph.collection(key)) names.push_back(op.name());
  }
  {
    sluice::detail::GraphData* d = graph.data();
    std::lock_guard<std::mutex> lock(d->mu);
    if (d->learning_phase) def.learning_phase = d->learning_phase->name;
  }
  for (const auto& entry : signatures) {
    const std::string& name = entry.first;  // plain names: lambdas below capture them
    const Signature& sig = entry.second;
    SLUICE_REQUIRE(!name.empty(), InvalidArgument, "signature names must be non-empty");
    SignatureDef sd;
    auto info = [&](const std::map<std::string, Output>& from, std::map<std::string, TensorInfo>& to,
                    const char* side) {
      for (const auto& [key, x] : from) {
        SLUICE_REQUIRE(!key.empty(), InvalidArgument, "signature '", name, "': empty ", side, " key");
        SLUICE_REQUIRE(x.valid() && x.node()->graph == graph.data(), InvalidArgument, "signature '", name,
                       "' ", side, " '", key, "': Tensor '", x.name(), "' is not an element of this graph");
        to[key] = TensorInfo{x.name(), x.dtype(), x.shape()};
      }
    };
    info(sig.inputs, sd.inputs, "input");
    info(sig.outputs, sd.outputs, "output");
    SLUICE_REQUIRE(!sd.outputs.empty(), InvalidArgument, "signature '", name, "' has no outputs");
    def.signatures[name] = std::move(sd);
  }
  return def;
}

std::string graph_to_json(const Graph& graph, const std::map<std::string, Signature>& signatures) {
  return graph_def_to_json(graph_to_def(graph, signatures));
}

// ---- validation ----

namespace detail {

void validate_graph_def(const GraphDef& def) {
  SLUICE_REQUIRE(static_cast<int64_t>(def.nodes.size()) <= kMaxGraphNodes, InvalidArgument, "graph of ",
                 def.nodes.size(), " nodes exceeds the limit of ", kMaxGraphNodes);
  std::unordered_map<std::string, size_t> index;
  index.reserve(def.nodes.size());
  for (size_t i = 0; i < def.nodes.size(); ++i) {
    const NodeDef& n = def.nodes[i];
    try {
      validate_op_name(n.name);
    } catch (const Error& e) {
      throw InvalidArgument(sluice::detail::str_cat("graph: node ", i, ": ", e.what()));
    }
    SLUICE_REQUIRE(!n.op.empty(), InvalidArgument, "graph: node '", n.name, "' has an empty op type");
    SLUICE_REQUIRE(index.emplace(n.name, i).second, InvalidArgument, "graph: duplicate node name '", n.name,
                   "' (nodes ", index[n.name], " and ", i, ")");
  }
  // The node a reference names, which must come before node `before` when given.
  auto lookup = [&](const std::string& name, size_t before, const std::string& what) -> const NodeDef& {
    auto it = index.find(name);
    SLUICE_REQUIRE(it != index.end(), InvalidArgument, what, " refers to an unknown node '", name, "'");
    SLUICE_REQUIRE(it->second < before, InvalidArgument, what, " refers to node '", name,
                   "', which comes later in the graph (a cycle, or nodes out of order)");
    return def.nodes[it->second];
  };
  auto check_output = [&](const std::string& tensor, size_t before, const std::string& what) {
    const auto [src, idx] = parse_tensor_name(tensor, false, what);
    const NodeDef& s = lookup(src, before, what + " '" + tensor + "'");
    SLUICE_REQUIRE(s.outputs.empty() || idx < static_cast<int>(s.outputs.size()), InvalidArgument, what, " '",
                   tensor, "': node '", src, "' has ", s.outputs.size(), " outputs");
  };
  for (size_t i = 0; i < def.nodes.size(); ++i) {
    const NodeDef& n = def.nodes[i];
    for (size_t j = 0; j < n.inputs.size(); ++j)
      check_output(n.inputs[j], i, sluice::detail::str_cat(describe(n), ": input ", j));
    for (const std::string& c : n.control_inputs) lookup(c, i, describe(n) + ": control input '" + c + "'");
  }
  const size_t all = def.nodes.size();
  for (const auto& [key, names] : def.collections)
    for (const std::string& name : names) lookup(name, all, "graph: collection '" + key + "'");
  for (const auto& [var, init] : def.variable_initializers) {
    const NodeDef& v = lookup(var, all, "graph: variable_initializers");
    SLUICE_REQUIRE(v.op == "VariableV2", InvalidArgument, "graph: variable_initializers: '", var, "' is a ",
                   v.op, ", not a variable");
    lookup(init, all, "graph: initializer of variable '" + var + "'");
  }
  if (!def.learning_phase.empty()) lookup(def.learning_phase, all, "graph: learning_phase");
  for (const auto& [name, sig] : def.signatures) {
    SLUICE_REQUIRE(!name.empty(), InvalidArgument, "graph: empty signature name");
    for (const auto* side : {&sig.inputs, &sig.outputs}) {
      for (const auto& [key, t] : *side) {
        SLUICE_REQUIRE(!key.empty(), InvalidArgument, "graph: signature '", name, "' has an empty key");
        check_output(t.name, all, "graph: signature '" + name + "' tensor '" + key + "'");
      }
    }
  }
}

}  // namespace detail

// ---- import ----

namespace {

using TensorKey = std::pair<std::string, int>;

struct ReturnElement {
  bool is_tensor;
  TensorKey key;
};

// One pass of an import: builds every node of `def` into `g` (names prefixed), with the
// inputs in `mapped` replaced, then registers collections, initializers and the learning
// phase and resolves return elements and signatures. Run first on a scratch graph (so
// every check runs before the target changes), then on the target.
// `mapped_names` names the target tensors in messages (the dry run maps to stand-ins).
ImportResult build(Graph& g, const GraphDef& def, const std::string& prefix,
                   const std::map<TensorKey, Output>& mapped, const std::map<TensorKey, std::string>& mapped_names,
                   const std::vector<ReturnElement>& returns) {
  const auto index = name_index(def);
  auto full = [&](const std::string& name) { return prefix.empty() ? name : prefix + "/" + name; };
  std::vector<Node*> built(def.nodes.size(), nullptr);
  // Mapped keys grouped by the node they name, checked right after it is built (before any
  // consumer runs its shape function on the replacement).
  std::unordered_map<std::string, std::vector<std::pair<int, Output>>> mapped_by_node;
  for (const auto& [key, out] : mapped) mapped_by_node[key.first].emplace_back(key.second, out);
  auto target_name = [&](const std::string& node, int idx) { return mapped_names.at({node, idx}); };

  for (size_t i = 0; i < def.nodes.size(); ++i) {
    const NodeDef& n = def.nodes[i];
    const std::string where = "importing node '" + full(n.name) + "' (" + n.op + ")";
    SLUICE_REQUIRE(OpRegistry::global().find(n.op), NotFound, where, ": Op type not registered '", n.op, "'");
    NodeBuilder b(Scope(g).with_device(n.device), n.op);
    b.exact_name(full(n.name));
    for (const std::string& in : n.inputs) {
      const TensorKey key = parse_tensor_name(in, false, where + ": input");
      auto m = mapped.find(key);
      if (m != mapped.end()) {
        b.input(m->second);
        continue;
      }
      Node* src = built[index.at(key.first)];
      SLUICE_REQUIRE(key.second < static_cast<int>(src->output_dtypes.size()), InvalidArgument, where,
                     ": input '", in, "': node has ", src->output_dtypes.size(), " outputs");
      b.input(Output(src, key.second));
    }
    for (const std::string& c : n.control_inputs) b.control_input(Operation(built[index.at(c)]));
    for (const auto& [k, v] : n.attrs) b.attr(k, v);
    Node* node = b.finish().node();
    built[i] = node;

    // The file records what the op inferred when it was written; a different answer now
    // means the file does not belong to this op set (or was edited inconsistently).
    if (!n.outputs.empty()) {
      bool same = n.outputs.size() == node->output_dtypes.size();
      for (size_t j = 0; same && j < n.outputs.size(); ++j)
        same = n.outputs[j].first == node->output_dtypes[j] &&
               n.outputs[j].second.compatible_with(node->output_shapes[j]);
      if (!same) {
        std::string rec, now;
        for (const auto& [dt, sh] : n.outputs) rec += std::string(rec.empty() ? "" : ", ") + dtype_name(dt) + sh.to_string();
        for (size_t j = 0; j < node->output_dtypes.size(); ++j)
          now += std::string(j ? ", " : "") + dtype_name(node->output_dtypes[j]) + node->output_shapes[j].to_string();
        throw InvalidArgument(where + ": the graph records outputs (" + rec + ") but the op infers (" + now + ")");
      }
    }
    auto mb = mapped_by_node.find(n.name);
    if (mb != mapped_by_node.end()) {
      for (const auto& [idx, out] : mb->second) {
        const std::string key = n.name + ":" + std::to_string(idx);
        SLUICE_REQUIRE(idx < static_cast<int>(node->output_dtypes.size()), NotFound, "input_map key '", key,
                       "': node '", n.name, "' of the imported graph has ", node->output_dtypes.size(), " outputs");
        SLUICE_REQUIRE(out.dtype() == node->output_dtypes[idx], InvalidArgument, "input_map: cannot map '", key,
                       "' of dtype ", dtype_name(node->output_dtypes[idx]), " to Tensor '", target_name(n.name, idx),
                       "' of dtype ", dtype_name(out.dtype()));
        SLUICE_REQUIRE(out.shape().compatible_with(node->output_shapes[idx]), InvalidArgument,
                       "input_map: cannot map '", key, "' of shape ", node->output_shapes[idx].to_string(),
                       " to Tensor '", target_name(n.name, idx), "' of incompatible shape ", out.shape().to_string());
      }
    }
  }

  auto node_of = [&](const std::string& name) { return built[index.at(name)]; };
  for (const auto& [key, names] : def.collections)
    for (const std::string& name : names) g.add_to_collection(key, Operation(node_of(name)));
  for (const auto& [var, init] : def.variable_initializers)
    g.set_variable_initializer(Operation(node_of(var)), Operation(node_of(init)));
  if (!def.learning_phase.empty() && !mapped.count({def.learning_phase, 0})) {
    Node* lp = node_of(def.learning_phase);
    SLUICE_REQUIRE(lp->op_type() == "PlaceholderWithDefault" && lp->output_dtypes.size() == 1 &&
                       lp->output_dtypes[0] == DType::boolean && lp->output_shapes[0] == Shape{},
                   InvalidArgument, "graph: learning_phase '", def.learning_phase,
                   "' must be a bool scalar PlaceholderWithDefault, is ", lp->describe());
    sluice::detail::GraphData* d = g.data();
    std::lock_guard<std::mutex> lock(d->mu);
    if (!d->learning_phase) d->learning_phase = lp;
  }

  auto tensor = [&](const TensorKey& key, const std::string& what) -> Output {
    auto m = mapped.find(key);
    if (m != mapped.end()) return m->second;
    auto it = index.find(key.first);
    SLUICE_REQUIRE(it != index.end(), NotFound, what, " '", key.first, ":", key.second,
                   "' names no node of the imported graph");
    Node* n = built[it->second];
    SLUICE_REQUIRE(key.second < static_cast<int>(n->output_dtypes.size()), NotFound, what, " '", key.first, ":",
                   key.second, "': node '", key.first, "' has ", n->output_dtypes.size(), " outputs");
    return Output(n, key.second);
  };
  ImportResult result;
  for (const ReturnElement& r : returns) {
    if (r.is_tensor) {
      result.tensors.push_back(tensor(r.key, "return element"));
    } else {
      auto it = index.find(r.key.first);
      SLUICE_REQUIRE(it != index.end(), NotFound, "return element '", r.key.first,
                     "' names no operation of the imported graph");
      result.operations.emplace_back(built[it->second]);
    }
  }
  for (const auto& entry : def.signatures) {
    const std::string& name = entry.first;  // plain names: lambdas below capture them
    const SignatureDef& sd = entry.second;
    Signature sig;
    auto resolve = [&](const std::map<std::string, TensorInfo>& from, std::map<std::string, Output>& to) {
      for (const auto& [key, info] : from) {
        const std::string what = "signature '" + name + "' tensor '" + key + "'";
        Output x = tensor(parse_tensor_name(info.name, false, what), what);
        SLUICE_REQUIRE(x.dtype() == info.dtype && x.shape().compatible_with(info.shape), InvalidArgument, what,
                       " is recorded as ", dtype_name(info.dtype), info.shape.to_string(), " but '", x.name(),
                       "' is ", dtype_name(x.dtype()), x.shape().to_string());
        to[key] = x;
      }
    };
    resolve(sd.inputs, sig.inputs);
    resolve(sd.outputs, sig.outputs);
    result.signatures[name] = std::move(sig);
  }
  return result;
}

}  // namespace

ImportResult import_graph_def(Graph& into, const GraphDef& def, const ImportOptions& options) {
  detail::validate_graph_def(def);
  const std::string& prefix = options.prefix;
  if (!prefix.empty()) {
    try {
      validate_op_name(prefix);
    } catch (const Error& e) {
      throw InvalidArgument(std::string("import prefix: ") + e.what());
    }
  }
  const auto index = name_index(def);

  std::map<TensorKey, Output> mapped;
  std::map<TensorKey, std::string> mapped_names;
  for (const auto& [key, out] : options.input_map) {
    TensorKey k = parse_tensor_name(key, true, "input_map key");
    SLUICE_REQUIRE(index.count(k.first), NotFound, "input_map key '", key,
                   "' names no node of the imported graph");
    SLUICE_REQUIRE(out.valid(), InvalidArgument, "input_map['", key, "'] is an empty Output");
    SLUICE_REQUIRE(out.node()->graph == into.data(), InvalidArgument, "input_map['", key, "']: Tensor '",
                   out.name(), "' is not an element of the target graph");
    SLUICE_REQUIRE(mapped.emplace(k, out).second, InvalidArgument, "input_map maps '", k.first, ":", k.second,
                   "' twice");
    mapped_names[k] = out.name();
  }
  // One learning phase per graph: the imported flag is mapped onto `into`'s flag when it has
  // one (unless the caller mapped it); otherwise the imported flag becomes `into`'s (build()).
  if (!def.learning_phase.empty() && !mapped.count({def.learning_phase, 0})) {
    Node* flag = nullptr;
    {
      std::lock_guard<std::mutex> lock(into.data()->mu);
      flag = into.data()->learning_phase;
    }
    if (flag) {
      mapped.emplace(TensorKey{def.learning_phase, 0}, Output(flag, 0));
      mapped_names[{def.learning_phase, 0}] = Output(flag, 0).name();
    }
  }
  std::vector<ReturnElement> returns;
  for (const std::string& r : options.return_elements) {
    const bool is_tensor = r.find(':') != std::string::npos;
    returns.push_back({is_tensor, is_tensor ? parse_tensor_name(r, false, "return element") : TensorKey{r, 0}});
    SLUICE_REQUIRE(index.count(returns.back().key.first), NotFound, "return element '", r,
                   "' names no node of the imported graph");
  }
  for (const NodeDef& n : def.nodes) {
    const std::string name = prefix.empty() ? n.name : prefix + "/" + n.name;
    SLUICE_REQUIRE(!into.find_operation(name), AlreadyExists, "cannot import node '", n.name, "' as '", name,
                   "': the target graph already has an operation of that name",
                   prefix.empty() ? " (import under a prefix)" : " (use another prefix)");
  }

  // Dry run on a scratch graph, with stand-ins for the mapped tensors (a Const stays a
  // Const, as some shape functions read constant inputs).
  {
    Graph scratch;
    std::unordered_set<std::string> taken;
    for (const NodeDef& n : def.nodes) taken.insert(prefix.empty() ? n.name : prefix + "/" + n.name);
    std::map<TensorKey, Output> stand_ins;
    int k = 0;
    for (const auto& [key, out] : mapped) {
      std::string name = "import_input_" + std::to_string(k++);
      while (taken.count(name)) name += "_";
      const Scope s = Scope(scratch).named(name);
      stand_ins[key] = out.node()->op_type() == "Const"
                           ? ops::constant(s, out.node()->attr<Tensor>("value"))
                           : ops::placeholder(s, out.dtype(), out.shape());
    }
    build(scratch, def, prefix, stand_ins, mapped_names, returns);
  }
  return build(into, def, prefix, mapped, mapped_names, returns);
}

ImportResult import_graph(Graph& into, const std::string& json_text, const ImportOptions& options) {
  return import_graph_def(into, graph_def_from_json(json_text), options);
}

namespace {

// Re-throws an error with the path in its message ("graph file 'p': ..."), same type.
template <class F>
auto with_path(const std::string& path, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    std::string msg = e.what();
    const std::string generic = "graph file: ";
    if (msg.compare(0, generic.size(), generic) == 0) msg = msg.substr(generic.size());
    throw_error(e.code(), "graph file '" + path + "': " + msg);
  }
}

[[noreturn]] void io_error(int err, const std::string& what, const std::string& path) {
  const std::string msg = what + " '" + path + "': " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) throw NotFound(msg);
  if (err == ENOSPC || err == EDQUOT) throw ResourceExhausted(msg);
  throw FailedPrecondition(msg);
}

}  // namespace

ImportResult import_graph_file(Graph& into, const std::string& path, const ImportOptions& options) {
  const std::string text = read_graph_file_text(path);
  const GraphDef def = with_path(path, [&] { return graph_def_from_json(text); });
  return with_path(path, [&] { return import_graph_def(into, def, options); });
}

Graph read_graph(const std::string& path) {
  const std::string text = read_graph_file_text(path);
  const GraphDef def = with_path(path, [&] { return graph_def_from_json(text); });
  Graph g;
  g.set_random_seed(def.random_seed);
  with_path(path, [&] { return import_graph_def(g, def); });
  return g;
}

std::string read_graph_file_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_error(errno, "cannot open graph file", path);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) io_error(errno, "cannot stat graph file", path);
  SLUICE_REQUIRE(S_ISREG(st.st_mode), InvalidArgument, "graph file '", path, "' is not a regular file");
  SLUICE_REQUIRE(st.st_size <= kMaxGraphFileBytes, DataLoss, "graph file '", path, "': ", st.st_size,
                 " bytes exceeds the limit of ", kMaxGraphFileBytes);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t r = ::read(fd, &text[got], text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) io_error(errno, "cannot read graph file", path);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  SLUICE_REQUIRE(got == text.size(), DataLoss, "graph file '", path, "' shrank while being read");
  return text;
}

void write_graph(const Graph& graph, const std::string& path, const std::map<std::string, Signature>& signatures) {
  write_file_atomically(path, graph_to_json(graph, signatures));
}


// ---- pruning and freezing ----

GraphDef prune_graph_def(const GraphDef& def, const std::vector<std::string>& roots) {
  const auto index = name_index(def);
  std::vector<bool> keep(def.nodes.size(), false);
  std::vector<size_t> stack;
  auto need = [&](const std::string& name, const std::string& what) {
    auto it = index.find(name);
    SLUICE_REQUIRE(it != index.end(), NotFound, what, " '", name, "' is not in the graph");
    if (!keep[it->second]) {
      keep[it->second] = true;
      stack.push_back(it->second);
    }
  };
  for (const std::string& r : roots) need(r, "output");
  while (!stack.empty()) {
    const NodeDef& n = def.nodes[stack.back()];
    stack.pop_back();
    for (const std::string& in : n.inputs) need(parse_tensor_name(in, false, describe(n) + ": input").first, "input");
    for (const std::string& c : n.control_inputs) need(c, "control input");
  }
  GraphDef out;
  out.random_seed = def.random_seed;
  for (size_t i = 0; i < def.nodes.size(); ++i)
    if (keep[i]) out.nodes.push_back(def.nodes[i]);
  auto kept = [&](const std::string& name) {
    auto it = index.find(name);
    return it != index.end() && keep[it->second];
  };
  for (const auto& [key, names] : def.collections) {
    std::vector<std::string> k;
    for (const std::string& n : names)
      if (kept(n)) k.push_back(n);
    if (!k.empty()) out.collections[key] = std::move(k);
  }
  for (const auto& [var, init] : def.variable_initializers)
    if (kept(var) && kept(init)) out.variable_initializers[var] = init;
  if (kept(def.learning_phase)) out.learning_phase = def.learning_phase;
  return out;
}

Graph freeze_graph(const Session& session, const std::vector<std::string>& output_names) {
  SLUICE_REQUIRE(!output_names.empty(), InvalidArgument, "freeze_graph: no outputs given");
  const Graph& graph = session.graph();
  std::vector<std::string> roots;
  for (const std::string& name : output_names) {
    const std::string node = detail::parse_tensor_name(name, true, "freeze_graph output").first;
    SLUICE_REQUIRE(graph.find_operation(node), NotFound, "freeze_graph: output '", name,
                   "' is not an operation of the session's graph");
    roots.push_back(node);
  }
  GraphDef def = prune_graph_def(graph_to_def(graph), roots);
  for (NodeDef& n : def.nodes) {
    const OpDef& op = OpRegistry::global().get(n.op);
    SLUICE_REQUIRE(!op.mutates_variables, InvalidArgument, "freeze_graph: the outputs need ", describe(n),
                   ", which writes a variable; freeze inference outputs, not training ops");
    if (n.op != "VariableV2") continue;
    SLUICE_REQUIRE(session.is_variable_initialized(n.name), FailedPrecondition, "freeze_graph: variable '",
                   n.name, "' is not initialised in this session");
    n.op = "Const";
    n.inputs.clear();
    n.attrs = {{"value", AttrValue(session.variable_value(n.name).clone())}};
  }
  // The former variables are constants now: no variable collections, no initializers.
  def.collections.erase(collections::kGlobalVariables);
  def.collections.erase(collections::kTrainableVariables);
  def.variable_initializers.clear();
  Graph frozen;
  frozen.set_random_seed(def.random_seed);
  import_graph_def(frozen, def);
  return frozen;
}

}  // namespace sluice::io
