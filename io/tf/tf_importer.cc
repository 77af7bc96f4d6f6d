// The GraphDef importer: names and inputs resolved, the graph pruned to what the requested
// outputs need, one Unimplemented error for every unsupported op type, a topological
// order, tf.cond folded (constant predicates) or lowered to Select (run-time predicates),
// and each node built through the op table; first on a scratch graph, then on the target.
#include <algorithm>
#include <queue>
#include <set>

#include "../../graph/graph_data.h"
#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/registry.h"
#include "detail/tf_convert.h"
#include "detail/tf_importer.h"

namespace sluice::io::tf {

std::string describe_unsupported(const std::map<std::string, std::string>& ops) {
  std::string s;
  for (const auto& [op, node] : ops) s += (s.empty() ? "" : ", ") + op + " (first node '" + node + "')";
  return s;
}

ParsedGraph parse_graph(const tfproto::GraphDef& graph, const std::string& what) {
  ParsedGraph g;
  g.what = what;
  SLUICE_REQUIRE(graph.node_size() <= kMaxGraphNodes, InvalidArgument, what, ": ", graph.node_size(),
                 " nodes exceeds the limit of ", kMaxGraphNodes);
  g.nodes.resize(static_cast<size_t>(graph.node_size()));
  g.index.reserve(g.nodes.size());
  for (int i = 0; i < graph.node_size(); ++i) {
    const tfproto::NodeDef& n = graph.node(i);
    try {
      validate_op_name(n.name());
    } catch (const Error& e) {
      throw InvalidArgument(what + ": node " + std::to_string(i) + ": " + e.what());
    }
    SLUICE_REQUIRE(!n.op().empty(), InvalidArgument, what, ": node '", n.name(), "' has no op type");
    SLUICE_REQUIRE(g.index.emplace(n.name(), i).second, InvalidArgument, what, ": two nodes are named '", n.name(),
                   "'");
    g.nodes[i].def = &n;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ParsedGraph::Node& node = g.nodes[i];
    const tfproto::NodeDef& n = *node.def;
    for (const std::string& in : n.input()) {
      const std::string where = what + ": node '" + n.name() + "' (" + n.op() + "): input '" + in + "'";
      if (!in.empty() && in[0] == '^') {
        const int j = g.find(in.substr(1));
        SLUICE_REQUIRE(j >= 0, InvalidArgument, where, " names no node of the graph (a dangling input)");
        node.controls.push_back(j);
        continue;
      }
      SLUICE_REQUIRE(node.controls.empty(), InvalidArgument, where, " follows a control input");
      const auto [src, idx] = detail::parse_tensor_name(in, true, where);
      const int j = g.find(src);
      SLUICE_REQUIRE(j >= 0, InvalidArgument, where, " names no node of the graph (a dangling input)");
      node.inputs.emplace_back(j, idx);
    }
  }
  return g;
}

namespace {

using Key = std::pair<int, int>;  // (node, output)

// The nodes `roots` need through data inputs (not past mapped tensors) and control inputs.
std::vector<bool> needed_nodes(const ParsedGraph& g, const std::vector<int>& roots, const std::set<Key>& mapped) {
  std::vector<bool> need(g.nodes.size(), false);
  std::vector<int> stack;
  auto push = [&](int j) {
    if (!need[j]) {
      need[j] = true;
      stack.push_back(j);
    }
  };
  for (int r : roots) push(r);
  while (!stack.empty()) {
    const ParsedGraph::Node& n = g.nodes[stack.back()];
    stack.pop_back();
    for (const Key& in : n.inputs)
      if (!mapped.count(in)) push(in.first);
    for (int c : n.controls) push(c);
  }
  return need;
}

// Kahn's algorithm over the needed nodes, ties broken by file order. Nodes left over sit on
// (or behind) a cycle.
std::vector<int> topological_order(const ParsedGraph& g, const std::vector<bool>& need, const std::set<Key>& mapped,
                                   std::vector<int>* left_over) {
  const size_t n = g.nodes.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (size_t i = 0; i < n; ++i) {
    if (!need[i]) continue;
    auto edge = [&](int j) {
      ++pending[i];
      users[j].push_back(static_cast<int>(i));
    };
    for (const Key& in : g.nodes[i].inputs)
      if (!mapped.count(in)) edge(in.first);
    for (int c : g.nodes[i].controls) edge(c);
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i)
    if (need[i] && pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  for (size_t i = 0; i < n; ++i)
    if (need[i] && pending[i] > 0) left_over->push_back(static_cast<int>(i));
  return order;
}

// Which branch of which run-time predicate a value belongs to (empty outside tf.cond).
using Conds = std::map<Output, int>;

struct Value {
  Output out;
  bool dead = false;  // on the untaken branch of a constant predicate
  Conds conds;
};

// Merges branch conditions; false when they contradict (a node fed by both branches).
bool merge_conds(Conds& into, const Conds& from) {
  for (const auto& [p, b] : from) {
    auto [it, inserted] = into.emplace(p, b);
    if (!inserted && it->second != b) return false;
  }
  return true;
}

struct BuildState {
  std::vector<std::vector<Value>> outs;
  std::vector<Operation> ops;
  std::vector<bool> dead;
  std::vector<bool> built;
  std::vector<bool> unavailable;  // skip mode: not importable (and everything after it)
  std::map<std::string, std::string> skipped;  // op type -> first node that failed
};

class Builder {
 public:
  Builder(Graph& g, const ParsedGraph& pg, const std::string& prefix, const std::map<Key, Output>& mapped, bool skip)
      : g_(g), pg_(pg), prefix_(prefix), mapped_(mapped), skip_(skip) {
    const size_t n = pg.nodes.size();
    st_.outs.resize(n);
    st_.ops.resize(n);
    st_.dead.assign(n, false);
    st_.built.assign(n, false);
    st_.unavailable.assign(n, false);
  }

  std::string full(const std::string& name) const { return prefix_.empty() ? name : prefix_ + "/" + name; }
  std::string describe(int i) const {
    return "node '" + full(pg_.nodes[i].def->name()) + "' (" + pg_.nodes[i].def->op() + ")";
  }

  void build(int i) {
    const ParsedGraph::Node& node = pg_.nodes[i];
    const tfproto::NodeDef& def = *node.def;
    std::vector<Value> in;
    bool dead = false;
    for (const Key& key : node.inputs)
      if (!mapped_.count(key) && st_.unavailable[key.first]) st_.unavailable[i] = true;
    for (int c : node.controls)
      if (st_.unavailable[c]) st_.unavailable[i] = true;
    if (st_.unavailable[i]) return;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const Key key = node.inputs[k];
      auto m = mapped_.find(key);
      if (m != mapped_.end()) {
        in.push_back(Value{m->second, false, {}});
        continue;
      }
      const auto& src = st_.outs[key.first];
      SLUICE_REQUIRE(st_.dead[key.first] || key.second < static_cast<int>(src.size()), InvalidArgument,
                     pg_.what, ": ", describe(i), ": input '", def.input(static_cast<int>(k)), "': node '",
                     pg_.nodes[key.first].def->name(), "' has ", src.size(), " outputs");
      in.push_back(st_.dead[key.first] ? Value{Output(), true, {}} : src[key.second]);
      dead |= in.back().dead;
    }
    std::vector<Operation> controls;
    for (int c : node.controls) {
      if (st_.dead[c]) dead = true;
      else if (st_.ops[c].valid()) controls.push_back(st_.ops[c]);
    }
    const std::string& op = def.op();
    if (op == "Merge" || op == "RefMerge") return build_merge(i, in, controls);
    if (dead) {
      st_.dead[i] = true;
      return;
    }
    if (op == "Switch" || op == "RefSwitch") return build_switch(i, in);

    Conds conds;
    for (const Value& v : in) {
      if (!merge_conds(conds, v.conds))
        throw Unimplemented(pg_.what + ": " + describe(i) + " reads both branches of one tf.cond");
    }
    const OpDef* sluice_def = nullptr;
    std::vector<Output> inputs;
    for (const Value& v : in) inputs.push_back(v.out);
    ConvertContext ctx(def, full(def.name()), inputs, controls, g_);
    const OpEntry* entry = find_op(op);
    if (!entry) throw Internal(describe(i) + ": no table entry");  // checked before building
    Converted c;
    try {
      c = entry->convert(ctx);
    } catch (const Unimplemented& e) {
      if (!skip_) throw_error(e.code(), pg_.what + ": " + e.what());
      st_.unavailable[i] = true;
      st_.skipped.emplace(op, def.name());
      return;
    } catch (const Error& e) {
      const std::string msg = e.what();
      throw_error(e.code(), pg_.what + ": " + (msg.find(ctx.describe()) == std::string::npos ? ctx.describe() + ": " : "") + msg);
    }
    if (c.op.valid()) {
      SLUICE_REQUIRE(c.op.name() == ctx.full_name(), AlreadyExists, pg_.what, ": cannot import ", describe(i),
                     ": the name is taken in the target graph (it became '", c.op.name(), "')");
      sluice_def = c.op.node()->def;
    }
    if (!conds.empty() && sluice_def && sluice_def->mutates_variables)
      throw Unimplemented(pg_.what + ": " + describe(i) + " writes a variable inside a tf.cond branch whose "
                          "predicate is only known at run time");
    st_.ops[i] = c.op;
    for (const Output& o : c.outputs) st_.outs[i].push_back(Value{o, false, conds});
    st_.built[i] = true;
  }

  BuildState& state() { return st_; }

 private:
  // Switch(data, pred) -> (output_false, output_true).
  void build_switch(int i, const std::vector<Value>& in) {
    SLUICE_REQUIRE(in.size() == 2, InvalidArgument, pg_.what, ": ", describe(i), ": expects 2 inputs");
    const Value& data = in[0];
    const Value& pred = in[1];
    SLUICE_REQUIRE(pred.out.dtype() == DType::boolean && (!pred.out.shape().known_rank() || pred.out.shape().rank() == 0),
                   InvalidArgument, pg_.what, ": ", describe(i), ": the predicate must be a bool scalar, is ",
                   dtype_name(pred.out.dtype()), pred.out.shape().to_string());
    Conds base = data.conds;
    const bool ok = merge_conds(base, pred.conds);
    std::vector<Value>& outs = st_.outs[i];
    outs.assign(2, Value{data.out, !ok, base});
    if (std::optional<Tensor> p = constant_value(pred.out)) {
      outs[p->scalar<bool>() ? 0 : 1].dead = true;
    } else {
      for (int b = 0; b < 2; ++b) {
        if (!merge_conds(outs[b].conds, Conds{{pred.out, b}})) outs[b].dead = true;
      }
    }
    st_.built[i] = true;
  }

  // Merge: the one live input of a folded cond, or Select on the predicate the two live
  // inputs' branches differ in.
  void build_merge(int i, const std::vector<Value>& in, const std::vector<Operation>& controls) {
    std::vector<int> live;
    for (size_t k = 0; k < in.size(); ++k)
      if (!in[k].dead) live.push_back(static_cast<int>(k));
    if (live.empty()) {
      st_.dead[i] = true;
      return;
    }
    const std::string name = full(pg_.nodes[i].def->name());
    const Scope named = Scope(g_).with_control_dependencies(controls).named(name);
    auto aux = [&](const std::string& w) { return Scope(g_).with_control_dependencies(controls).named(name + "/_tf/" + w); };
    auto index_const = [&](const std::string& w, int k) { return ops::constant(aux(w), Tensor(static_cast<int32_t>(k))); };
    Output y, index;
    Conds conds;
    if (live.size() == 1) {
      const Value& v = in[live[0]];
      y = ops::identity(named, v.out);
      index = index_const("value_index", live[0]);
      conds = v.conds;
      st_.outs[i] = {Value{v.out, false, conds}, Value{index, false, conds}};
    } else {
      SLUICE_REQUIRE(live.size() == 2, Unimplemented, pg_.what, ": ", describe(i), " merges ", live.size(),
                     " live inputs; only tf.cond's two-way Merge is supported");
      const Value& a = in[live[0]];
      const Value& b = in[live[1]];
      Output pred;
      for (const auto& [p, branch] : a.conds) {
        auto it = b.conds.find(p);
        if (it != b.conds.end() && it->second != branch) pred = p;
      }
      SLUICE_REQUIRE(pred.valid(), Unimplemented, pg_.what, ": ", describe(i),
                     " merges two values that do not come from the two branches of one tf.cond");
      const bool a_true = a.conds.at(pred) == 1;
      const Value& t = a_true ? a : b;
      const Value& f = a_true ? b : a;
      for (const auto& [p, branch] : a.conds)
        if (p != pred && b.conds.count(p) && b.conds.at(p) == branch) conds.emplace(p, branch);
      y = ops::select(named, pred, t.out, f.out);
      index = ops::select(aux("value_index"), pred, index_const("index_true", a_true ? live[0] : live[1]),
                          index_const("index_false", a_true ? live[1] : live[0]));
      st_.outs[i] = {Value{y, false, conds}, Value{index, false, conds}};
    }
    SLUICE_REQUIRE(y.op().name() == name, AlreadyExists, pg_.what, ": cannot import ", describe(i),
                   ": the name is taken in the target graph");
    st_.ops[i] = y.op();
    st_.built[i] = true;
  }

  Graph& g_;
  const ParsedGraph& pg_;
  const std::string& prefix_;
  const std::map<Key, Output>& mapped_;
  bool skip_;
  BuildState st_;
};

}  // namespace

std::map<std::string, std::string> unsupported_ops(const ParsedGraph& g, const std::vector<std::string>& roots,
                                                   const std::vector<std::string>& cut) {
  std::set<Key> cut_keys;
  for (const std::string& t : cut) {
    const auto [name, idx] = detail::parse_tensor_name(t, true, "tensor");
    if (g.find(name) >= 0) cut_keys.insert({g.find(name), idx});
  }
  std::vector<int> r;
  for (const std::string& name : roots) {
    const int i = g.find(name);
    if (i >= 0 && !cut_keys.count({i, 0})) r.push_back(i);
  }
  const std::vector<bool> need = needed_nodes(g, r, cut_keys);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (need[i] && !find_op(g.nodes[i].def->op())) out.emplace(g.nodes[i].def->op(), g.nodes[i].def->name());
  return out;
}

TfImportOutput import_parsed(Graph& into, const ParsedGraph& pg, const ImportOptions& options,
                             const std::vector<std::string>& extra_roots, bool skip_unsupported,
                             bool register_variables) {
  const std::string& what = pg.what;
  const std::string& prefix = options.prefix;
  if (!prefix.empty()) {
    try {
      validate_op_name(prefix);
    } catch (const Error& e) {
      throw InvalidArgument(what + ": import prefix: " + e.what());
    }
  }
  // Input map and return elements, by (node, output).
  std::map<Key, Output> mapped;
  std::map<Key, std::string> mapped_names;
  for (const auto& [key, out] : options.input_map) {
    const auto [name, idx] = detail::parse_tensor_name(key, true, "input_map key");
    const int j = pg.find(name);
    SLUICE_REQUIRE(j >= 0, NotFound, what, ": input_map key '", key, "' names no node of the imported graph");
    SLUICE_REQUIRE(out.valid(), InvalidArgument, what, ": input_map['", key, "'] is an empty Output");
    SLUICE_REQUIRE(out.node()->graph == into.data(), InvalidArgument, what, ": input_map['", key, "']: Tensor '",
                   out.name(), "' is not an element of the target graph");
    SLUICE_REQUIRE(mapped.emplace(Key{j, idx}, out).second, InvalidArgument, what, ": input_map maps '", name, ":",
                   idx, "' twice");
    mapped_names[{j, idx}] = out.name();
  }
  std::set<Key> mapped_keys;
  for (const auto& kv : mapped) mapped_keys.insert(kv.first);
  struct Ret {
    bool tensor;
    Key key;
    std::string text;
  };
  std::vector<Ret> returns;
  std::vector<int> roots;
  for (const std::string& r : options.return_elements) {
    const bool tensor = r.find(':') != std::string::npos;
    const auto [name, idx] = tensor ? detail::parse_tensor_name(r, false, "return element") : std::make_pair(r, 0);
    const int j = pg.find(name);
    SLUICE_REQUIRE(j >= 0, NotFound, what, ": return element '", r, "' names no node of the imported graph");
    returns.push_back({tensor, {j, idx}, r});
    if (!(tensor && mapped.count({j, idx}))) roots.push_back(j);
  }
  for (const std::string& r : extra_roots)
    if (pg.find(r) >= 0) roots.push_back(pg.find(r));
  const bool everything = options.return_elements.empty() && extra_roots.empty();
  if (everything)
    for (size_t i = 0; i < pg.nodes.size(); ++i) roots.push_back(static_cast<int>(i));
  const bool skip = skip_unsupported && options.return_elements.empty();

  std::vector<bool> need = needed_nodes(pg, roots, mapped_keys);
  TfImportOutput result;
  // Every unsupported op type at once, before anything is built.
  std::map<std::string, std::string> unsupported;
  for (size_t i = 0; i < pg.nodes.size(); ++i)
    if (need[i] && !find_op(pg.nodes[i].def->op())) unsupported.emplace(pg.nodes[i].def->op(), pg.nodes[i].def->name());
  if (!unsupported.empty() && !skip) {
    throw Unimplemented(what + ": TensorFlow op types Sluice does not support (each with its first node): " +
                        describe_unsupported(unsupported) +
                        " (import only the outputs you need with return_elements, or input-map a tensor past them)");
  }
  std::vector<int> cyclic;
  std::vector<int> order = topological_order(pg, need, mapped_keys, &cyclic);
  if (!cyclic.empty() && !skip) {
    throw InvalidArgument(what + ": the graph has a cycle through node '" + pg.nodes[cyclic[0]].def->name() +
                          "' (" + pg.nodes[cyclic[0]].def->op() + "); TF while loops are not supported");
  }
  if (skip) {
    // Leave out what cannot be imported: unsupported ops, cycles, and everything after them.
    std::vector<bool> ok(pg.nodes.size(), true);
    for (int c : cyclic) ok[c] = false;
    std::vector<int> kept;
    for (int i : order) {
      bool good = find_op(pg.nodes[i].def->op()) != nullptr;
      for (const Key& in : pg.nodes[i].inputs) good = good && (mapped_keys.count(in) || ok[in.first]);
      for (int c : pg.nodes[i].controls) good = good && ok[c];
      ok[i] = good;
      if (good) kept.push_back(i);
    }
    order = kept;
    result.skipped = unsupported;
    for (int c : cyclic)
      if (!result.skipped.count(pg.nodes[c].def->op())) result.skipped.emplace(pg.nodes[c].def->op(), pg.nodes[c].def->name());
  }
  for (int i : order) {
    const std::string name = prefix.empty() ? pg.nodes[i].def->name() : prefix + "/" + pg.nodes[i].def->name();
    SLUICE_REQUIRE(!into.find_operation(name), AlreadyExists, what, ": cannot import node '", pg.nodes[i].def->name(),
                   "' as '", name, "': the target graph already has an operation of that name",
                   prefix.empty() ? " (import under a prefix)" : " (use another prefix)");
  }

  auto run = [&](Graph& g, const std::map<Key, Output>& m) {
    Builder b(g, pg, prefix, m, skip);
    for (int i : order) b.build(i);
    // The input map's dtypes must match what the replaced tensors would have been.
    for (const auto& [key, out] : m) {
      const auto& st = b.state();
      if (!st.built[key.first] || key.second >= static_cast<int>(st.outs[key.first].size())) continue;
      const Output& own = st.outs[key.first][key.second].out;
      SLUICE_REQUIRE(!own.valid() || own.dtype() == out.dtype(), InvalidArgument, what, ": input_map: cannot map '",
                     pg.nodes[key.first].def->name(), ":", key.second, "' of dtype ", dtype_name(own.dtype()),
                     " to Tensor '", mapped_names.at(key), "' of dtype ", dtype_name(out.dtype()));
    }
    return std::move(b.state());
  };
  {
    // The dry run, on a scratch graph with stand-ins for the mapped tensors.
    Graph scratch;
    std::map<Key, Output> stand_ins;
    int k = 0;
    for (const auto& [key, out] : mapped) {
      const Scope s = Scope(scratch).named("_tf_import_input_" + std::to_string(k++));
      stand_ins[key] = out.node()->op_type() == "Const" ? ops::constant(s, out.node()->attr<Tensor>("value"))
                                                        : ops::placeholder(s, out.dtype(), out.shape());
    }
    run(scratch, stand_ins);
  }
  BuildState st = run(into, mapped);
  for (const auto& kv : st.skipped) result.skipped.insert(kv);

  for (int i : order) {
    if (st.ops[i].valid()) result.ops[pg.nodes[i].def->name()] = st.ops[i];
    if (!register_variables || !st.ops[i].valid() || st.ops[i].type() != "VariableV2") continue;
    into.add_to_collection(collections::kGlobalVariables, st.ops[i]);
    const int a = pg.find(pg.nodes[i].def->name() + "/Assign");
    if (a >= 0 && st.ops[a].valid() && st.ops[a].num_inputs() > 0 && st.ops[a].input(0).op() == st.ops[i])
      into.set_variable_initializer(st.ops[i], st.ops[a]);
  }
  for (const Ret& r : returns) {
    const auto [j, idx] = r.key;
    if (!r.tensor) {
      SLUICE_REQUIRE(st.ops[j].valid(), InvalidArgument, what, ": return element '", r.text,
                     "' has no Sluice operation (a folded tf.cond Switch, or a node on an untaken branch)");
      result.result.operations.push_back(st.ops[j]);
      continue;
    }
    auto m = mapped.find(r.key);
    if (m != mapped.end()) {
      result.result.tensors.push_back(m->second);
      continue;
    }
    SLUICE_REQUIRE(!st.dead[j], InvalidArgument, what, ": return element '", r.text,
                   "' lies on the untaken branch of a tf.cond with a constant predicate");
    SLUICE_REQUIRE(!st.unavailable[j], Unimplemented, what, ": return element '", r.text, "' could not be imported");
    SLUICE_REQUIRE(idx < static_cast<int>(st.outs[j].size()), NotFound, what, ": return element '", r.text, "': node '",
                   pg.nodes[j].def->name(), "' has ", st.outs[j].size(), " outputs");
    const Value& v = st.outs[j][idx];
    SLUICE_REQUIRE(!v.dead, InvalidArgument, what, ": return element '", r.text,
                   "' lies on the untaken branch of a tf.cond with a constant predicate");
    SLUICE_REQUIRE(v.out.valid(), Unimplemented, what, ": return element '", r.text, "' is an output Sluice does not produce");
    result.result.tensors.push_back(v.out);
  }
  return result;
}

}  // namespace sluice::io::tf
