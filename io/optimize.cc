// io::optimize_for_inference (optimize.h): a Rewriter over the GraphDef's nodes, one
// function per rewrite, run in rounds until nothing changes.
#include "optimize.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "../ops/registry.h"
#include "../runtime/session.h"

namespace sluice::io {
namespace {

std::string tensor_key(const std::string& name) {
  const auto p = detail::parse_tensor_name(name, true, "input");
  return p.first + ":" + std::to_string(p.second);
}

const AttrValue* find_attr(const AttrMap& attrs, const std::string& key) {
  for (const auto& kv : attrs)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const AttrValue* find_attr(const NodeDef& n, const std::string& key) { return find_attr(n.attrs, key); }

void set_attr(NodeDef& n, const std::string& key, AttrValue v) {
  for (auto& kv : n.attrs)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  n.attrs.emplace_back(key, std::move(v));
  std::sort(n.attrs.begin(), n.attrs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

NodeDef make_const(const std::string& name, const Tensor& value) {
  NodeDef c;
  c.name = name;
  c.op = "Const";
  c.attrs = {{"value", AttrValue(value)}};
  return c;
}

// The def with lookups by name and use counts; rebuilt after every structural change.
class Rewriter {
 public:
  explicit Rewriter(GraphDef& def) : def_(def) {
    for (const auto& [name, sig] : def_.signatures) {
      for (const auto& kv : sig.inputs) protected_.insert(detail::parse_tensor_name(kv.second.name, true, "sig").first);
      for (const auto& kv : sig.outputs) {
        protected_.insert(detail::parse_tensor_name(kv.second.name, true, "sig").first);
        sig_outputs_.insert(tensor_key(kv.second.name));
      }
    }
    reindex();
  }

  void reindex() {
    index_.clear();
    uses_.clear();
    control_used_.clear();
    for (size_t i = 0; i < def_.nodes.size(); ++i) {
      const NodeDef& n = def_.nodes[i];
      index_[n.name] = i;
      for (const std::string& in : n.inputs) ++uses_[tensor_key(in)];
      for (const std::string& c : n.control_inputs) control_used_.insert(c);
    }
    for (const std::string& o : sig_outputs_) ++uses_[o];
  }

  NodeDef* node(const std::string& name) {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &def_.nodes[it->second];
  }
  NodeDef* producer(const std::string& input) {
    return node(detail::parse_tensor_name(input, true, "input").first);
  }
  int uses(const std::string& tensor) const {
    auto it = uses_.find(tensor_key(tensor));
    return it == uses_.end() ? 0 : it->second;
  }
  // Used only through data edges, exactly `n` times, and not a signature tensor.
  bool only_used(const NodeDef& nd, int n) const {
    return !protected_.count(nd.name) && !control_used_.count(nd.name) && uses(nd.name + ":0") == n;
  }
  bool is_protected(const std::string& name) const { return protected_.count(name) > 0; }
  bool control_used(const std::string& name) const { return control_used_.count(name) > 0; }

  const Tensor* const_value(const std::string& input) {
    const NodeDef* p = producer(input);
    if (!p || p->op != "Const") return nullptr;
    const AttrValue* v = find_attr(*p, "value");
    return v ? &v->get<Tensor>("value") : nullptr;
  }

  // Every data input reading `from` ("n:i") reads `to` instead.
  void replace_uses(const std::string& from, const std::string& to) {
    const std::string key = tensor_key(from);
    for (NodeDef& n : def_.nodes)
      for (std::string& in : n.inputs)
        if (tensor_key(in) == key) in = to;
  }

  void insert_before(const std::string& name, NodeDef n) {
    const size_t at = index_.at(name);
    def_.nodes.insert(def_.nodes.begin() + static_cast<std::ptrdiff_t>(at), std::move(n));
    reindex();
  }

  std::string fresh_name(const std::string& base) const {
    std::string name = base;
    for (int i = 1; index_.count(name); ++i) name = base + "_" + std::to_string(i);
    return name;
  }

  GraphDef& def() { return def_; }

 private:
  GraphDef& def_;
  std::map<std::string, size_t> index_;
  std::map<std::string, int> uses_;
  std::set<std::string> control_used_;
  std::set<std::string> protected_;
  std::set<std::string> sig_outputs_;
};

bool is_const_false(const Tensor* t) {
  return t && t->num_elements() == 1 && t->dtype() != DType::string && t->as_double(0) == 0.0;
}

// Identity-like nodes and inference-mode Dropout: their consumers read the input directly.
int remove_training_nodes(Rewriter& rw) {
  int removed = 0;
  for (size_t i = 0; i < rw.def().nodes.size(); ++i) {
    NodeDef& n = rw.def().nodes[i];
    if (rw.is_protected(n.name) || rw.control_used(n.name) || !n.control_inputs.empty() || n.inputs.empty()) continue;
    bool bypass = n.op == "Identity" || n.op == "StopGradient" || n.op == "CheckNumerics";
    if (n.op == "Dropout" && n.inputs.size() == 2)
      bypass = is_const_false(rw.const_value(n.inputs[1])) && rw.uses(n.name + ":1") == 0;
    if (!bypass || rw.uses(n.name + ":0") == 0) continue;
    rw.replace_uses(n.name + ":0", n.inputs[0]);
    rw.reindex();
    ++removed;
  }
  return removed;
}

bool foldable_op(const NodeDef& n) {
  static const std::set<std::string> never = {"Const", "Placeholder", "PlaceholderWithDefault", "VariableV2", "NoOp"};
  if (never.count(n.op) || n.inputs.empty() || !n.control_inputs.empty()) return false;
  const OpDef* def = OpRegistry::global().find(n.op);
  return def && !def->stateful && !def->mutates_variables;
}

int fold_constants(Rewriter& rw) {
  GraphDef& def = rw.def();
  std::set<std::string> constant, foldable;
  for (const NodeDef& n : def.nodes) {
    if (n.op == "Const") {
      constant.insert(n.name);
      continue;
    }
    if (!foldable_op(n)) continue;
    bool all = true;
    for (const std::string& in : n.inputs) {
      const std::string p = detail::parse_tensor_name(in, true, "input").first;
      all = all && (constant.count(p) || foldable.count(p));
    }
    if (all) foldable.insert(n.name);
  }
  // The frontier: folded tensors that something not folded (or a signature) reads.
  std::set<std::string> frontier;
  for (const NodeDef& n : def.nodes) {
    if (foldable.count(n.name)) continue;
    for (const std::string& in : n.inputs)
      if (foldable.count(detail::parse_tensor_name(in, true, "input").first)) frontier.insert(tensor_key(in));
  }
  for (const auto& [name, sig] : def.signatures)
    for (const auto& kv : sig.outputs)
      if (foldable.count(detail::parse_tensor_name(kv.second.name, true, "sig").first))
        frontier.insert(tensor_key(kv.second.name));
  if (frontier.empty()) return 0;

  const std::vector<std::string> names(frontier.begin(), frontier.end());
  std::vector<Tensor> values;
  {
    Graph g;
    import_graph_def(g, def);
    Session s(g);
    values = s.run({}, names);
  }
  int folded = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (values[i].dtype() == DType::string || values[i].num_elements() > (int64_t{1} << 24)) continue;
    const auto [node, index] = detail::parse_tensor_name(names[i], false, "fold");
    NodeDef* n = rw.node(node);
    const bool single = n->outputs.size() == 1 && !rw.control_used(node);
    if (single && index == 0) {
      const std::string name = n->name;
      *n = make_const(name, values[i]);
    } else {
      const std::string cname = rw.fresh_name(node + "/folded_" + std::to_string(index));
      rw.insert_before(node, make_const(cname, values[i]));
      rw.replace_uses(names[i], cname + ":0");
      // A signature output keeps naming the original node: leave that node as it is.
    }
    rw.reindex();
    ++folded;
  }
  return folded;
}

// w * inv per output channel (the last axis of a Conv2D filter or of MatMul's b).
Tensor scale_last_axis(const Tensor& w, const std::vector<double>& inv) {
  Tensor d = w.cast(DType::f64).clone();
  double* p = d.data<double>();
  const int64_t c = static_cast<int64_t>(inv.size());
  for (int64_t i = 0; i < d.num_elements(); ++i) p[i] *= inv[static_cast<size_t>(i % c)];
  return d.cast(w.dtype());
}

int fold_batch_norms(Rewriter& rw) {
  int folded = 0;
  for (size_t i = 0; i < rw.def().nodes.size(); ++i) {
    NodeDef bn = rw.def().nodes[i];
    if (bn.op != "FusedBatchNorm" || bn.inputs.size() != 6 || rw.control_used(bn.name) || !bn.control_inputs.empty())
      continue;
    bool others_unused = true;
    for (int k = 1; k < 5; ++k) others_unused = others_unused && rw.uses(bn.name + ":" + std::to_string(k)) == 0;
    const Tensor *scale = rw.const_value(bn.inputs[1]), *offset = rw.const_value(bn.inputs[2]),
                 *mean = rw.const_value(bn.inputs[3]), *var = rw.const_value(bn.inputs[4]);
    if (!others_unused || !scale || !offset || !mean || !var || !is_const_false(rw.const_value(bn.inputs[5])))
      continue;
    NodeDef* p = rw.producer(bn.inputs[0]);
    const Tensor* old_bias = nullptr;
    if (p && p->op == "BiasAdd" && rw.only_used(*p, 1) && p->control_inputs.empty()) {
      old_bias = rw.const_value(p->inputs[1]);
      if (!old_bias) continue;
      p = rw.producer(p->inputs[0]);
    }
    if (!p || !rw.only_used(*p, 1) || !p->control_inputs.empty()) continue;
    const AttrValue* act = find_attr(*p, "activation");
    const bool fused = p->op == "FusedConv2D" && !old_bias && act && act->get<std::string>("activation") == "none";
    if (fused) old_bias = rw.const_value(p->inputs[2]);
    if (!(p->op == "Conv2D" || p->op == "MatMul" || (fused && old_bias))) continue;
    if (p->op == "MatMul") {
      const AttrValue* tb = find_attr(*p, "transpose_b");
      if (tb && tb->get<bool>("transpose_b")) continue;
    }
    const Tensor* w = rw.const_value(p->inputs[1]);
    const int64_t c = scale->num_elements();
    if (!w || w->rank() < 1 || w->dim(w->rank() - 1) != c || !is_floating(w->dtype())) continue;
    const AttrValue* eps_attr = find_attr(bn, "epsilon");
    const double eps = eps_attr ? eps_attr->get<double>("epsilon") : 1e-3;
    std::vector<double> inv(static_cast<size_t>(c));
    Tensor bias64 = Tensor::zeros(DType::f64, Shape{c});
    for (int64_t k = 0; k < c; ++k) {
      const size_t kk = static_cast<size_t>(k);
      inv[kk] = scale->as_double(k) / std::sqrt(var->as_double(k) + eps);
      const double b = old_bias ? old_bias->as_double(k) : 0.0;
      bias64.data<double>()[k] = (b - mean->as_double(k)) * inv[kk] + offset->as_double(k);
    }
    const NodeDef producer = *p;
    const std::string bn_name = bn.name;
    const std::string wname = rw.fresh_name(producer.name + "/folded_weights");
    rw.insert_before(bn_name, make_const(wname, scale_last_axis(*w, inv)));
    const std::string bname = rw.fresh_name(bn_name + "/folded_bias");
    rw.insert_before(bn_name, make_const(bname, bias64.cast(scale->dtype())));
    NodeDef& nb = *rw.node(bn_name);
    nb.outputs.clear();
    if (producer.op == "MatMul") {
      // y = x w' + b': the MatMul reads the scaled weights, the batch norm becomes the BiasAdd.
      rw.node(producer.name)->inputs[1] = wname + ":0";
      rw.node(producer.name)->outputs.clear();
      nb.op = "BiasAdd";
      nb.inputs = {producer.name + ":0", bname + ":0"};
      nb.attrs.clear();
    } else {
      // One FusedConv2D (x, w', b') under the batch norm's name; the old convolution goes.
      nb.op = "FusedConv2D";
      nb.inputs = {producer.inputs[0], wname + ":0", bname + ":0"};
      nb.attrs = producer.attrs;
      set_attr(nb, "activation", AttrValue(std::string("none")));
    }
    rw.reindex();
    ++folded;
  }
  return folded;
}

// The fused op a Conv2D or MatMul becomes ("" for other ops).
std::string fused_op_of(const std::string& op) {
  if (op == "Conv2D") return "FusedConv2D";
  if (op == "MatMul") return "FusedMatMul";
  return "";
}

bool is_fused_op(const std::string& op) { return op == "FusedConv2D" || op == "FusedMatMul"; }

// The fused activation attrs for a Relu / Relu6 / LeakyRelu node; false for other ops.
bool set_fused_activation(NodeDef& f, const NodeDef& act) {
  if (act.op == "Relu") {
    set_attr(f, "activation", AttrValue(std::string("relu")));
  } else if (act.op == "Relu6") {
    set_attr(f, "activation", AttrValue(std::string("relu6")));
  } else if (act.op == "LeakyRelu") {
    // The fused gradient reads the slope's sign from the output: only alpha >= 0 fuses.
    // A node without the attr (an older file) means the op's registered default.
    const AttrValue* a = find_attr(act, "alpha");
    if (!a) a = find_attr(OpRegistry::global().get("LeakyRelu").attr_defaults, "alpha");
    if (!a) return false;
    const double alpha = a->get<double>("alpha");
    if (alpha < 0) return false;
    set_attr(f, "activation", AttrValue(std::string("leaky_relu")));
    set_attr(f, "alpha", AttrValue(alpha));
  } else {
    return false;
  }
  return true;
}

// Conv2D / MatMul -> BiasAdd [-> Relu | Relu6 | LeakyRelu] become one FusedConv2D /
// FusedMatMul named after the last node; returns the number of rewrites.
int fuse_bias_activation(Rewriter& rw) {
  int rewrites = 0;
  for (const char* pass : {"activation", "bias"}) {
    for (size_t i = 0; i < rw.def().nodes.size(); ++i) {
      NodeDef& last = rw.def().nodes[i];
      const bool act = std::string(pass) == "activation";
      if (act && last.op != "Relu" && last.op != "Relu6" && last.op != "LeakyRelu") continue;
      if (!act && last.op != "BiasAdd") continue;
      if (rw.control_used(last.name) || !last.control_inputs.empty()) continue;
      NodeDef* b = act ? rw.producer(last.inputs[0]) : &last;
      if (act && b && is_fused_op(b->op) && rw.only_used(*b, 1) && b->control_inputs.empty() &&
          find_attr(*b, "activation") && find_attr(*b, "activation")->get<std::string>("activation") == "none") {
        NodeDef f = *b;
        f.name = last.name;
        f.outputs.clear();
        if (!set_fused_activation(f, last)) continue;
        last = f;
        rw.reindex();
        ++rewrites;
        continue;
      }
      if (!b || b->op != "BiasAdd" || !b->control_inputs.empty() || (act && !rw.only_used(*b, 1))) continue;
      NodeDef* c = rw.producer(b->inputs[0]);
      if (!c || fused_op_of(c->op).empty() || !rw.only_used(*c, 1) || !c->control_inputs.empty()) continue;
      NodeDef f;
      f.name = last.name;
      f.op = fused_op_of(c->op);
      f.inputs = {c->inputs[0], c->inputs[1], b->inputs[1]};
      f.attrs = c->attrs;
      f.device = last.device;
      set_attr(f, "activation", AttrValue(std::string("none")));
      if (act && !set_fused_activation(f, last)) continue;
      last = f;
      rw.reindex();
      ++rewrites;
    }
  }
  return rewrites;
}

// The `op` nodes of `after` that are new: absent from `before` under that name and op (a fused
// node that took in a batch norm or an activation is renamed after it, so it counts).
int new_nodes_of(const GraphDef& before, const GraphDef& after, const std::string& op) {
  std::set<std::string> old;
  for (const NodeDef& n : before.nodes)
    if (n.op == op) old.insert(n.name);
  return static_cast<int>(std::count_if(after.nodes.begin(), after.nodes.end(),
                                        [&](const NodeDef& n) { return n.op == op && !old.count(n.name); }));
}

GraphDef prune(const GraphDef& def) {
  std::vector<std::string> roots;
  for (const auto& [name, sig] : def.signatures) {
    for (const auto& kv : sig.inputs) roots.push_back(detail::parse_tensor_name(kv.second.name, true, "sig").first);
    for (const auto& kv : sig.outputs) roots.push_back(detail::parse_tensor_name(kv.second.name, true, "sig").first);
  }
  GraphDef out = prune_graph_def(def, roots);
  out.signatures = def.signatures;
  return out;
}

}  // namespace

GraphDef optimize_for_inference(const GraphDef& input, OptimizeStats* stats) {
  SLUICE_REQUIRE(!input.signatures.empty(), InvalidArgument, "optimize_for_inference: the graph has no signatures");
  OptimizeStats st;
  st.nodes_before = static_cast<int>(input.nodes.size());
  GraphDef def = input;
  {
    // Inference: the learning phase is the constant false (unless a signature feeds it).
    Rewriter rw(def);
    if (!def.learning_phase.empty() && !rw.is_protected(def.learning_phase) && rw.node(def.learning_phase)) {
      const std::string lp = def.learning_phase;
      NodeDef& n = *rw.node(lp);
      const std::vector<std::string> controls = n.control_inputs;
      n = make_const(lp, Tensor(false));
      n.control_inputs = controls;
      def.learning_phase.clear();
    }
  }
  for (int round = 0; round < 8; ++round) {
    Rewriter rw(def);
    const int removed = remove_training_nodes(rw);
    const int folded = fold_constants(rw);
    const int bns = fold_batch_norms(rw);
    const int fused = fuse_bias_activation(rw);
    def = prune(def);
    st.removed_training += removed;
    st.folded_constants += folded;
    st.folded_batch_norms += bns;
    if (removed + folded + bns + fused == 0) break;
  }
  st.nodes_after = static_cast<int>(def.nodes.size());
  st.fused_convolutions = new_nodes_of(input, def, "FusedConv2D");
  st.fused_matmuls = new_nodes_of(input, def, "FusedMatMul");
  if (stats) *stats = st;
  return def;
}

}  // namespace sluice::io
