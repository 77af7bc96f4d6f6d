// A Keras model_config for a model built in Sluice (not loaded from a Keras file), in tf.keras
// 2.4's "Functional" dialect. The layer objects are not kept by a Model, so each layer's Keras
// config is recovered from what its call put into the graph: the weights' shapes and the ops in
// the layer's name scope with their attributes (strides, padding, epsilon, the recurrent op's
// activations and directions, ...). Inbound nodes name the producing layer and its output
// index (return_state outputs included). Whatever cannot be recovered exactly, or has no Keras
// equivalent, is one Unimplemented error naming every such layer and its class: a file Keras
// would read differently is never written.
#include <cmath>
#include <set>

#include "../../graph/layers_keras.h"
#include "../../models/model_internal.h"
#include "keras_internal.h"

namespace sluice::io::keras {

namespace {

// The ops of the graph under "<layer>/", in creation order.
std::vector<Operation> scope_ops(const Graph& g, const std::string& layer) {
  std::vector<Operation> out;
  const std::string prefix = layer + "/";
  for (const Operation& op : g.operations())
    if (op.name().compare(0, prefix.size(), prefix) == 0) out.push_back(op);
  return out;
}

bool in_scope(const Output& t, const std::string& layer) {
  const std::string& n = t.op().name();
  return n.compare(0, layer.size() + 1, layer + "/") == 0;
}

const Operation* first_of(const std::vector<Operation>& ops, const std::string& type) {
  for (const Operation& op : ops)
    if (op.type() == type) return &op;
  return nullptr;
}

std::vector<int64_t> const_ints(const Output& t) {
  const Node* n = t.node();
  if (!n || n->op_type() != "Const") return {};
  const AttrValue* v = n->find_attr("value");
  if (!v || !v->holds<Tensor>()) return {};
  const Tensor& c = v->get<Tensor>("value");
  if (c.dtype() != DType::i64 && c.dtype() != DType::i32) return {};
  std::vector<int64_t> out;
  for (int64_t i = 0; i < c.num_elements(); ++i) out.push_back(static_cast<int64_t>(c.as_double(i)));
  return out;
}

json shape_json(const Shape& s) {
  json a = json::array();
  for (int i = 0; i < s.rank(); ++i) {
    if (s.dim(i) < 0)
      a.push_back(nullptr);
    else
      a.push_back(s.dim(i));
  }
  return a;
}

const char* keras_dtype(DType d) {
  switch (d) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::u16: return "uint16";
    case DType::i16: return "int16";
    case DType::i8: return "int8";
    default: return nullptr;
  }
}

std::string padding_name(const Node* n) {
  const std::string p = n->attr<std::string>("padding");
  return p == "SAME" ? "same" : p == "VALID" ? "valid" : "";
}

// The Keras name of a fused recurrent op's activation (empty: none Keras has).
std::string rnn_activation(const Node* n, const std::string& key) {
  const std::string a = n->attr<std::string>(key);
  const std::vector<double>& p = n->attr<std::vector<double>>(key + "_params");
  if ((a == "tanh" || a == "sigmoid" || a == "relu" || a == "linear" || a == "softsign" || a == "softplus") &&
      p.empty())
    return a;
  if (a == "hard_sigmoid" && p.size() == 2 && p[0] == 0.2 && p[1] == 0.5) return a;
  if (a == "elu" && p.size() == 1 && p[0] == 1.0) return a;
  return "";
}

// The activation applied inside a Dense/Conv layer's scope (linear when none).
std::string activation_in(const std::vector<Operation>& ops) {
  static const std::map<std::string, std::string> acts = {
      {"Relu", "relu"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"}, {"Softmax", "softmax"}};
  for (const Operation& op : ops) {
    const AttrValue* fa = op.type().rfind("Fused", 0) == 0 ? op.node()->find_attr("activation") : nullptr;
    if (fa && fa->holds<std::string>()) {
      const std::string a = fa->get<std::string>("activation");
      if (!a.empty() && a != "linear" && a != "none") return a;
    }
    auto it = acts.find(op.type());
    if (it != acts.end()) return it->second;
  }
  return "linear";
}

// A layer's outputs as Keras indexes them, and what feeds it.
struct LayerGraph {
  std::vector<Output> outputs;  // index -> tensor (several tensors may share an index's value)
  std::vector<Output> inbound;  // inputs, then initial states
};

bool same_tensor(const Output& a, const Output& b) { return a.node() == b.node() && a.index() == b.index(); }

// Recurrent layers: the fused op's settings and the layer's outputs. `outer` is the layer
// (or Bidirectional) that owns the op; `used` says which fused outputs others consume.
struct RnnInfo {
  std::string cls;
  json config;
  Operation op;
  std::string mask_from;  // the Embedding layer whose mask the op reads ("" without)
};

}  // namespace

double const_value(const Output& t) {
  const Node* n = t.node();
  if (!n || n->op_type() != "Const") return std::nan("");
  const AttrValue* v = n->find_attr("value");
  if (!v || !v->holds<Tensor>()) return std::nan("");
  const Tensor& c = v->get<Tensor>("value");
  if (c.num_elements() != 1 || (c.dtype() != DType::f32 && c.dtype() != DType::f64)) return std::nan("");
  return c.as_double(0);
}

json generate_model_config(const models::Model& model) {
  const Graph& g = model.graph();
  std::vector<std::string> problems;
  auto problem = [&](const models::LayerInfo& l, const std::string& why) {
    problems.push_back(l.type + " (" + l.name + ")" + (why.empty() ? "" : ": " + why));
  };

  // The forward computation: the nodes the outputs depend on (not gradients, not updates).
  std::set<const Node*> reach;
  std::vector<const Node*> stack;
  for (const Output& o : model.outputs()) stack.push_back(o.node());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!reach.insert(n).second) continue;
    for (const Output& in : n->inputs) stack.push_back(in.node());
  }
  // Every tensor a forward op consumes, to tell which outputs of a layer are used outside it.
  std::map<std::pair<const Node*, int>, std::vector<const Node*>> consumers;
  for (const Operation& op : g.operations())
    for (int i = 0; i < op.num_inputs() && reach.count(op.node()); ++i)
      consumers[{op.input(i).node(), op.input(i).index()}].push_back(op.node());
  std::set<std::pair<const Node*, int>> model_outputs;
  for (const Output& o : model.outputs()) model_outputs.insert({o.node(), o.index()});
  auto used_outside = [&](const Output& t, const std::string& layer) {
    if (model_outputs.count({t.node(), t.index()})) return true;
    auto it = consumers.find({t.node(), t.index()});
    if (it == consumers.end()) return false;
    for (const Node* n : it->second)
      if (n->name.compare(0, layer.size() + 1, layer + "/") != 0) return true;
    return false;
  };
  // The recorded output op of each layer call ("layer:<type>:<name>" collections).
  std::map<std::string, std::vector<Operation>> calls;
  const std::string prefix = layers::kLayerCallPrefix;
  for (const std::string& key : g.collection_keys()) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t colon = key.find(':', prefix.size());
    if (colon != std::string::npos) calls[key.substr(colon + 1)] = g.collection(key);
  }

  json layers = json::array();
  json input_layers = json::array(), output_layers = json::array();
  struct Producer {
    std::string layer;
    int node = 0, index = 0;
  };
  std::map<std::pair<const Node*, int>, Producer> producer;  // tensor -> (layer, node, index)
  std::set<std::string> input_names;
  for (const Output& in : model.inputs()) {
    const std::string n = in.op().name();
    input_names.insert(n);
    const char* dt = keras_dtype(in.dtype());
    if (!dt) problems.push_back("InputLayer (" + n + "): dtype " + dtype_name(in.dtype()));
    layers.push_back({{"class_name", "InputLayer"},
                      {"name", n},
                      {"config",
                       {{"batch_input_shape", shape_json(in.shape())},
                        {"dtype", dt ? dt : "float32"},
                        {"sparse", false},
                        {"ragged", false},
                        {"name", n}}},
                      {"inbound_nodes", json::array()}});
    input_layers.push_back({n, 0, 0});
    producer[{in.node(), in.index()}] = {n, 0, 0};
  }
  // Embedding layers whose masks recurrent layers read: mask_zero in their configs.
  std::set<std::string> masking_embeddings;
  struct Pending {
    const models::LayerInfo* info;
    json config;
    std::string cls;
    std::vector<LayerGraph> nodes;  // one per call
  };
  std::vector<Pending> pending;

  // TimeDistributed's inner layer ("time_distributed/dense") is no row of the model's (its
  // weights are the wrapper's): its row is made here from its recorded call and the weights.
  std::map<std::string, models::LayerInfo> td_inner;
  for (const models::LayerInfo& l : model.layers()) {
    if (l.type != "TimeDistributed") continue;
    for (const std::string& key : g.collection_keys()) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      const size_t colon = key.find(':', prefix.size());
      const std::string n = colon == std::string::npos ? "" : key.substr(colon + 1);
      if (n.compare(0, l.name.size() + 1, l.name + "/") != 0 || n.find('/', l.name.size() + 1) != std::string::npos)
        continue;
      models::LayerInfo in;
      in.name = n;
      in.type = models::keras_class_name(key.substr(prefix.size(), colon - prefix.size()));
      for (size_t i = 0; i < l.weights.size(); ++i)
        if (l.weights[i].compare(0, n.size() + 1, n + "/") == 0) {
          in.weights.push_back(l.weights[i]);
          in.trainable.push_back(l.trainable[i]);
        }
      td_inner[l.name] = in;
    }
  }
  for (const models::LayerInfo& l : model.layers()) {
    if (input_names.count(l.name)) continue;
    if (l.name.find('/') != std::string::npos) {
      problem(l, "a layer inside a name scope");
      continue;
    }
    auto call_it = calls.find(l.name);
    if (call_it == calls.end() || call_it->second.empty()) {
      problem(l, "no recorded call");
      continue;
    }
    // A shared layer (called several times) has one inbound node per call; each call's ops are
    // the ones in the layer's scope its output depends on.
    const std::vector<Operation>& recs = call_it->second;
    const bool shared = recs.size() > 1;
    auto call_ops = [&](const Operation& out) {
      std::vector<Operation> res;
      std::set<const Node*> seen;
      std::vector<Operation> st = {out};
      while (!st.empty()) {
        const Operation op = st.back();
        st.pop_back();
        if (!seen.insert(op.node()).second) continue;
        if (op.name().compare(0, l.name.size() + 1, l.name + "/") != 0 || op.type() == "VariableV2") continue;
        res.push_back(op);
        for (int i = 0; i < op.num_inputs(); ++i) st.push_back(op.input(i).op());
      }
      return res;
    };
    const Operation recorded = recs[0];
    const std::vector<Operation> ops = scope_ops(g, l.name);
    auto var_shape = [&](size_t i) { return g.tensor(l.weights.at(i) + ":0").shape(); };
    auto has_var = [&](const std::string& local) {
      return std::find(l.weights.begin(), l.weights.end(), l.name + "/" + local) != l.weights.end();
    };
    json c = {{"name", l.name}, {"trainable", true}, {"dtype", "float32"}};
    std::string cls = l.type;
    LayerGraph lg;
    lg.outputs = {recorded.output(0)};
    // The external data inputs of the layer's ops, in op order (learning phase, masks and
    // variables aside).
    auto external_inputs = [&](const std::vector<Operation>& from) {
      std::vector<Output> in;
      for (const Operation& op : from)
        for (int i = 0; i < op.num_inputs(); ++i) {
          const Output t = op.input(i);
          const std::string& tn = t.op().name();
          if (in_scope(t, l.name) || t.op().type() == "VariableV2" || tn == "keras_learning_phase" ||
              tn.find("_mask/") != std::string::npos)
            continue;
          if (std::none_of(in.begin(), in.end(), [&](const Output& o) { return same_tensor(o, t); }))
            in.push_back(t);
        }
      return in;
    };
    std::string why;
    bool single_path = false;  // built by ok_single: one input, output 0 of the call
    const auto ok_single = [&]() {
      single_path = true;
      lg.inbound = external_inputs(shared ? call_ops(recs[0]) : ops);
      if (lg.inbound.size() != 1) why = "takes " + std::to_string(lg.inbound.size()) + " inputs";
    };

    if (l.type == "Dense") {
      c["units"] = var_shape(0).dim(1);
      c["activation"] = activation_in(ops);
      c["use_bias"] = has_var("bias");
      ok_single();
    } else if (l.type == "TimeDistributed") {
      // Over Dense, Dropout or Flatten (what the per-step ops can be read back from here).
      const models::LayerInfo* in = td_inner.count(l.name) ? &td_inner[l.name] : nullptr;
      const std::vector<Operation> iops = in ? scope_ops(g, in->name) : std::vector<Operation>();
      json ic = {{"name", in ? in->name.substr(l.name.size() + 1) : ""}, {"trainable", true}, {"dtype", "float32"}};
      const Operation* drop = first_of(iops, "Dropout");
      if (!in) {
        why = "no inner layer found";
      } else if (in->type == "Dense") {
        ic["units"] = g.tensor(in->weights.at(0) + ":0").shape().dim(1);
        ic["activation"] = activation_in(iops);
        ic["use_bias"] = in->weights.size() == 2;
        add_weight_options(g, *in, "Dense", ic, why);
      } else if (in->type == "Flatten") {
        ic["data_format"] = "channels_last";
      } else if (in->type == "Dropout" && drop && drop->node()->attr<std::vector<int64_t>>("noise_shape").empty()) {
        ic["rate"] = drop->node()->attr<double>("rate");
        ic["noise_shape"] = nullptr;
        ic["seed"] = nullptr;
      } else {
        why = "over " + in->type + " (generated over Dense, Dropout and Flatten)";
      }
      if (layer_frozen(g, l)) c["trainable"] = false;
      c["layer"] = {{"class_name", in ? in->type : ""}, {"config", ic}};
      ok_single();
    } else if (l.type == "Flatten") {
      c["data_format"] = "channels_last";
      ok_single();
    } else if (l.type == "Activation") {
      std::string act = activation_in(ops);
      if (first_of(ops, "Identity")) act = "linear";
      // NamedActivation puts its ops under "<layer>/<activation name>/".
      for (const Operation& op : ops) {
        const std::string rest = op.name().substr(l.name.size() + 1);
        const size_t slash = rest.find('/');
        if (slash != std::string::npos && is_keras_activation(rest.substr(0, slash))) act = rest.substr(0, slash);
      }
      c["activation"] = act;
      ok_single();
    } else if (l.type == "Dropout") {
      const Operation* d = first_of(ops, "Dropout");
      if (!d || !d->node()->attr<std::vector<int64_t>>("noise_shape").empty()) {
        why = d ? "a noise_shape" : "no Dropout op found";
      } else {
        c["rate"] = d->node()->attr<double>("rate");
        c["noise_shape"] = nullptr;
        c["seed"] = nullptr;
      }
      ok_single();
    } else if (l.type == "Conv2D" || l.type == "Conv1D") {
      const Operation* conv = first_of(ops, "FusedConv2D");
      if (!conv) conv = first_of(ops, "Conv2D");
      const bool one_d = l.type == "Conv1D";
      if (!conv || conv->node()->attr<int64_t>("groups") != 1 || padding_name(conv->node()).empty()) {
        why = "an unexpected convolution";
      } else {
        const Shape k = var_shape(0);
        const auto& st = conv->node()->attr<std::vector<int64_t>>("strides");
        const auto& dl = conv->node()->attr<std::vector<int64_t>>("dilations");
        c["filters"] = k.dim(-1);
        c["kernel_size"] = one_d ? json::array({k.dim(0)}) : json::array({k.dim(0), k.dim(1)});
        c["strides"] = one_d ? json::array({st.at(1)}) : json::array({st.at(0), st.at(1)});
        c["padding"] = padding_name(conv->node());
        c["data_format"] = "channels_last";
        c["dilation_rate"] = one_d ? json::array({dl.at(1)}) : json::array({dl.at(0), dl.at(1)});
        c["groups"] = 1;
        c["activation"] = activation_in(ops);
        c["use_bias"] = has_var("bias");
      }
      ok_single();
    } else if (l.type == "Conv2DTranspose" || l.type == "DepthwiseConv2D" || l.type == "SeparableConv2D") {
      const bool transpose = l.type == "Conv2DTranspose";
      const Operation* conv = first_of(ops, transpose ? "Conv2DTranspose" : "DepthwiseConv2dNative");
      if (!conv) conv = first_of(ops, "FusedDepthwiseConv2dNative");
      const Node* cn = conv ? conv->node() : nullptr;
      const std::vector<int64_t> one = {1, 1};
      if (!cn || padding_name(cn).empty() || cn->attr<std::vector<int64_t>>("dilations") != one) {
        why = "unexpected ops";
      } else {
        const Shape k = var_shape(0);
        const auto& st = cn->attr<std::vector<int64_t>>("strides");
        c["kernel_size"] = json::array({k.dim(0), k.dim(1)});
        c["strides"] = json::array({st.at(0), st.at(1)});
        c["padding"] = padding_name(cn);
        c["data_format"] = "channels_last";
        c["dilation_rate"] = json::array({1, 1});
        c["activation"] = activation_in(ops);
        c["use_bias"] = has_var("bias");
        if (transpose) {
          c["filters"] = k.dim(2);
          c["output_padding"] = nullptr;
          // Keras' valid output length is (in - 1) s + max(k, s); Sluice's (in - 1) s + k.
          if (c["padding"] == "valid" && (k.dim(0) < st.at(0) || k.dim(1) < st.at(1)))
            why = "valid padding with a kernel smaller than the stride (Keras' output size differs)";
          for (int64_t v : cn->attr<std::vector<int64_t>>("output_padding"))
            if (v != 0) why = "output_padding";
        } else {
          c["depth_multiplier"] = k.dim(3);
          if (l.type == "SeparableConv2D") c["filters"] = var_shape(1).dim(3);
        }
      }
      ok_single();
    } else if (l.type == "MaxPooling2D" || l.type == "AveragePooling2D" || l.type == "MaxPooling1D" ||
               l.type == "AveragePooling1D") {
      const Operation* p = first_of(ops, l.type[0] == 'M' ? "MaxPool" : "AvgPool");
      const bool one_d = l.type.back() == 'D' && l.type[l.type.size() - 2] == '1';
      if (!p || padding_name(p->node()).empty()) {
        why = "no pooling op found";
      } else {
        const auto& k = p->node()->attr<std::vector<int64_t>>("ksize");
        const auto& st = p->node()->attr<std::vector<int64_t>>("strides");
        c["pool_size"] = one_d ? json::array({k.at(1)}) : json::array({k.at(0), k.at(1)});
        c["strides"] = one_d ? json::array({st.at(1)}) : json::array({st.at(0), st.at(1)});
        c["padding"] = padding_name(p->node());
        c["data_format"] = "channels_last";
      }
      ok_single();
    } else if (l.type == "GlobalAveragePooling2D" || l.type == "GlobalMaxPooling2D" ||
               l.type == "GlobalAveragePooling1D" || l.type == "GlobalMaxPooling1D") {
      c["data_format"] = "channels_last";  // (keepdims only exists from tf.keras 2.6 on)
      ok_single();
    } else if (l.type == "BatchNormalization") {
      const Operation* bn = first_of(ops, "FusedBatchNorm");
      const Operation* decay = nullptr;
      for (const Operation& op : ops)
        if (op.name() == l.name + "/decay") decay = &op;
      const double d = decay ? const_value(decay->input(1)) : std::nan("");
      const std::string phase = decay ? decay->input(0).op().name() : "";
      const bool frozen = layer_frozen(g, l);
      if (!bn || !decay || std::isnan(d) ||
          phase != (frozen ? l.name + "/frozen_training" : std::string("keras_learning_phase"))) {
        why = bn ? "synchronized or unexpected ops (not generated)" : "no FusedBatchNorm op found";
      } else {
        c["axis"] = json::array({recorded.output(0).shape().rank() - 1});
        c["momentum"] = tidy(1.0 - d);
        c["epsilon"] = tidy(bn->node()->attr<double>("epsilon"));
        c["center"] = has_var("beta");
        c["scale"] = has_var("gamma");
      }
      ok_single();
    } else if (l.type == "LayerNormalization") {
      const Operation* ln = first_of(ops, "LayerNorm");
      if (!ln || ln->node()->attr<int64_t>("begin_axis") != -1) {
        why = "not over the last axis";
      } else {
        c["axis"] = json::array({-1});
        c["epsilon"] = tidy(ln->node()->attr<double>("epsilon"));
        c["center"] = has_var("beta");
        c["scale"] = has_var("gamma");
      }
      ok_single();
    } else if (l.type == "Embedding") {
      const Shape e = var_shape(0);
      c["input_dim"] = e.dim(0);
      c["output_dim"] = e.dim(1);
      c["mask_zero"] = false;  // set below when a recurrent layer reads its mask
      c["input_length"] = nullptr;
      ok_single();
    } else if (l.type == "ReLu" || l.type == "ReLU") {
      cls = "ReLU";
      double max_value = -1, slope = 0, threshold = 0;
      for (const Operation& op : ops) {
        if (op.type() == "Minimum") max_value = const_value(op.input(1));
        if (op.type() == "Sub") threshold = const_value(op.input(1));
        if (op.type() == "Mul") slope = const_value(op.input(1));
      }
      if (std::isnan(max_value) || std::isnan(slope) || std::isnan(threshold)) {
        why = "unexpected ops";
      } else {
        c["max_value"] = max_value < 0 ? json(nullptr) : json(tidy(max_value));
        c["negative_slope"] = tidy(slope);
        c["threshold"] = tidy(threshold);
      }
      ok_single();
    } else if (l.type == "Add" || l.type == "Multiply" || l.type == "Average" || l.type == "Concatenate") {
      // The merge op's inputs, in order (repeats kept).
      const Operation* m = ops.empty() ? nullptr : &ops.front();
      for (const Operation& op : ops)
        if (op.type() == "AddN" || op.type() == "Concat" || op.type() == "Mul") {
          m = &op;
          break;
        }
      if (!m) {
        why = "no merge op found";
      } else if (l.type == "Multiply") {
        // A chain of Mul: the first input of the first, then each second input.
        std::vector<Output> in = {m->input(0)};
        for (const Operation& op : ops)
          if (op.type() == "Mul") in.push_back(op.input(1));
        lg.inbound = in;
      } else {
        for (int i = 0; i < m->num_inputs(); ++i) lg.inbound.push_back(m->input(i));
      }
      if (l.type == "Concatenate" && m) c["axis"] = m->node()->attr<int64_t>("axis");
      for (const Output& t : lg.inbound)
        if (in_scope(t, l.name)) why = "unexpected ops";
    } else if (l.type == "Reshape") {
      const Operation* r = first_of(ops, "Reshape");
      if (!r) {
        why = "no Reshape op found";
      } else {
        std::vector<int64_t> s = r->node()->attr<std::vector<int64_t>>("shape");
        if (s.empty()) why = "unexpected ops";
        else c["target_shape"] = std::vector<int64_t>(s.begin() + 1, s.end());
      }
      ok_single();
    } else if (l.type == "Permute") {
      const Operation* t = first_of(ops, "Transpose");
      if (!t) {
        why = "no Transpose op found";
      } else {
        const auto& perm = t->node()->attr<std::vector<int64_t>>("perm");
        c["dims"] = std::vector<int64_t>(perm.begin() + 1, perm.end());
      }
      ok_single();
    } else if (l.type == "RepeatVector") {
      const Operation* t = first_of(ops, "Tile");
      const std::vector<int64_t> mult = t ? const_ints(t->input(1)) : std::vector<int64_t>();
      if (mult.size() != 3) why = "unexpected ops";
      else c["n"] = mult[1];
      ok_single();
    } else if (l.type == "ZeroPadding2D") {
      const Operation* p = first_of(ops, "Pad");
      const std::vector<int64_t> pad = p ? const_ints(p->input(1)) : std::vector<int64_t>();
      if (pad.size() != 8 || pad[0] || pad[1] || pad[6] || pad[7] || const_value(p->input(2)) != 0.0) {
        why = "unexpected ops";
      } else {
        c["padding"] = json::array({json::array({pad[2], pad[3]}), json::array({pad[4], pad[5]})});
        c["data_format"] = "channels_last";
      }
      ok_single();
    } else if (l.type == "UpSampling2D") {
      const Operation* r = first_of(ops, "ResizeNearestNeighbor");
      const Shape in = r ? r->input(0).shape() : Shape();
      const Shape out = r ? r->output(0).shape() : Shape();
      if (!r || !in.known_rank() || in.rank() != 4 || in.dim(1) <= 0 || in.dim(2) <= 0 || out.dim(1) <= 0 ||
          out.dim(2) <= 0 || out.dim(1) % in.dim(1) || out.dim(2) % in.dim(2)) {
        why = "needs known spatial dims";
      } else {
        c["size"] = json::array({out.dim(1) / in.dim(1), out.dim(2) / in.dim(2)});
        c["data_format"] = "channels_last";
        c["interpolation"] = "nearest";
      }
      ok_single();
    } else if (l.type == "LSTM" || l.type == "GRU" || l.type == "SimpleRNN" || l.type == "Bidirectional") {
      // The fused ops: one, or forward_ then backward_ under a Bidirectional.
      std::vector<Operation> fused;
      for (const Operation& op : ops)
        if ((op.type() == "LSTM" || op.type() == "GRU" || op.type() == "SimpleRNN") &&
            op.name().find("/initial_state/") == std::string::npos)
          fused.push_back(op);
      const bool bidi = l.type == "Bidirectional";
      if (fused.size() != (bidi ? 2u : 1u)) {
        why = "unexpected ops";
        problem(l, why);
        continue;
      }
      const Node* n = fused[0].node();
      const int num_states = n->op_type() == "LSTM" ? 2 : 1;
      json rc = {{"trainable", true}, {"dtype", "float32"}};
      const std::string act = rnn_activation(n, "activation");
      const std::string ract = rnn_activation(n, "recurrent_activation");
      if (act.empty() || (ract.empty() && n->op_type() != "SimpleRNN")) why = "an activation Keras does not have";
      if (n->op_type() == "LSTM" &&
          (!n->attr<std::string>("cell_activation").empty() || n->attr<bool>("peepholes") ||
           n->attr<bool>("input_forget")))
        why = "LSTM options Keras does not have";
      if (n->attr<double>("clip") != 0) why = "a cell clip";
      const bool reverse = n->attr<bool>("reverse");
      if (!bidi && reverse != n->attr<bool>("reverse_output")) why = "unexpected direction settings";
      if (bidi && (reverse || !fused[1].node()->attr<bool>("reverse") || fused[1].node()->attr<bool>("reverse_output")))
        why = "unexpected direction settings";
      // Masks: only an Embedding's (mask_zero) is expressible.
      std::string mask_from;
      if (n->attr<std::string>("masking") != "none") {
        const Output mk = fused[0].input(fused[0].num_inputs() - 1);
        const std::string& mn = mk.op().name();
        const size_t p = mn.find("_mask/");
        if (p == std::string::npos) why = "a mask not made by an Embedding";
        else mask_from = mn.substr(0, p);
      }
      // return_sequences: the sequence output (0) is used by others.
      bool seq = !bidi && used_outside(fused[0].output(0), l.name);
      if (bidi) {
        // The merge reads the halves' outputs: sequences when it reads output 0.
        for (const Operation& op : ops)
          if (op.name().compare(0, l.name.size() + 7, l.name + "/merge/") == 0)
            for (int i = 0; i < op.num_inputs(); ++i)
              if (same_tensor(op.input(i), fused[0].output(0))) seq = true;
      }
      // Outputs: 0 the layer's output, then each half's final states.
      // (The call records the op, not the tensor: the fused op's output 1 is the last output.)
      const bool fused_out = recorded.node() == fused[0].node();
      lg.outputs = {fused_out && !seq ? fused[0].output(1) : recorded.output(0)};
      for (const Operation& f : fused)
        for (int s = 1; s <= num_states; ++s) lg.outputs.push_back(f.output(s));
      bool state = false;
      for (size_t i = 1; i < lg.outputs.size(); ++i)
        if (used_outside(lg.outputs[i], l.name) && !(!seq && !bidi && i == 1 && same_tensor(lg.outputs[0], lg.outputs[1])))
          state = true;
      // The last output without a mask is the fused op's output 1: the same tensor as state h.
      if (!seq && !bidi && !same_tensor(lg.outputs[0], fused[0].output(1)) && mask_from.empty()) why = "unexpected ops";
      const Shape rk = fused[0].input(num_states + 2).shape();
      rc["units"] = rk.dim(0);
      rc["activation"] = act;
      // SimpleRNN's constructor takes no recurrent_activation (Keras rejects unknown keys).
      if (n->op_type() != "SimpleRNN") rc["recurrent_activation"] = ract;
      rc["use_bias"] = fused[0].num_inputs() > num_states + 3 &&
                       fused[0].input(num_states + 3).op().type() == "VariableV2";
      rc["return_sequences"] = seq;
      rc["return_state"] = state;
      rc["go_backwards"] = !bidi && reverse;
      rc["stateful"] = false;
      rc["unroll"] = false;
      rc["time_major"] = false;
      rc["dropout"] = 0.0;
      rc["recurrent_dropout"] = 0.0;
      if (n->op_type() == "LSTM") rc["unit_forget_bias"] = true;
      if (n->op_type() == "GRU") rc["reset_after"] = n->attr<bool>("reset_after");
      if (!mask_from.empty()) masking_embeddings.insert(mask_from);
      // Inbound: the sequence, then initial states from outside.
      lg.inbound = {fused[0].input(0)};
      for (const Operation& f : fused)
        for (int s = 1; s <= num_states; ++s)
          if (!in_scope(f.input(s), l.name)) lg.inbound.push_back(f.input(s));
      if (lg.inbound.size() != 1 && lg.inbound.size() != 1 + num_states * fused.size())
        why = "some but not all initial states given";
      if (!bidi) {
        cls = n->op_type();
        c.update(rc);
      } else {
        std::string inner = fused[0].name().substr(l.name.size() + 1);
        inner = inner.substr(0, inner.find('/'));
        if (inner.compare(0, 8, "forward_") == 0) inner = inner.substr(8);
        rc["name"] = inner;
        std::string mode = "concat";
        bool add = false, mul = false, cat = false;
        for (const Operation& op : ops)
          if (op.name().compare(0, l.name.size() + 7, l.name + "/merge/") == 0) {
            add = add || op.type() == "Add";
            mul = mul || op.type() == "Mul";
            cat = cat || op.type() == "Concat";
          }
        mode = cat ? "concat" : add && mul ? "ave" : add ? "sum" : mul ? "mul" : "";
        if (mode.empty()) why = "merge mode none (not generated)";
        c["layer"] = {{"class_name", n->op_type()}, {"config", rc}};
        c["merge_mode"] = mode;
      }
    } else {
      why = "no Keras config is generated for this class";
    }
    if (why.empty() && cls != "TimeDistributed") add_weight_options(g, l, cls, c, why);
    std::vector<LayerGraph> nodes = {lg};
    if (shared && why.empty() && !single_path)
      why = "a shared " + cls + " (called " + std::to_string(recs.size()) +
            " times; shared layers are generated for single-input classes)";
    for (size_t k = 1; k < recs.size() && why.empty(); ++k) {
      LayerGraph call;
      call.outputs = {recs[k].output(0)};
      call.inbound = external_inputs(call_ops(recs[k]));
      if (call.inbound.size() != 1) why = "call " + std::to_string(k) + " takes " + std::to_string(call.inbound.size()) + " inputs";
      nodes.push_back(call);
    }
    if (!why.empty()) {
      problem(l, why);
      continue;
    }
    for (size_t k = 0; k < nodes.size(); ++k)
      for (size_t i = 0; i < nodes[k].outputs.size(); ++i) {
        auto key = std::make_pair(static_cast<const Node*>(nodes[k].outputs[i].node()), nodes[k].outputs[i].index());
        if (!producer.count(key)) producer[key] = {l.name, static_cast<int>(k), static_cast<int>(i)};
      }
    pending.push_back({&l, c, cls, nodes});
  }
  for (Pending& p : pending) {
    if (p.cls == "Embedding" && masking_embeddings.count(p.info->name)) p.config["mask_zero"] = true;
    json inbound_nodes = json::array();
    for (const LayerGraph& node : p.nodes) {
      json inbound = json::array();
      for (const Output& t : node.inbound) {
        auto it = producer.find({t.node(), t.index()});
        if (it == producer.end()) {
          problems.push_back(p.info->type + " (" + p.info->name + "): its input '" + t.name() +
                             "' is not a layer's output");
          continue;
        }
        inbound.push_back({it->second.layer, it->second.node, it->second.index, json::object()});
      }
      inbound_nodes.push_back(inbound);
    }
    layers.push_back(
        {{"class_name", p.cls}, {"name", p.info->name}, {"config", p.config}, {"inbound_nodes", inbound_nodes}});
  }
  for (const std::string& e : masking_embeddings)
    if (std::none_of(pending.begin(), pending.end(), [&](const Pending& p) { return p.info->name == e; }))
      problems.push_back("mask of '" + e + "': not an Embedding's");
  for (const Output& out : model.outputs()) {
    auto it = producer.find({out.node(), out.index()});
    if (it == producer.end()) {
      problems.push_back("output '" + out.name() + "': not a layer's output");
      continue;
    }
    output_layers.push_back({it->second.layer, it->second.node, it->second.index});
  }
  if (!problems.empty()) {
    std::string msg = "save_keras_model: model '" + model.name() + "' cannot be written in Keras' format: ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Unimplemented(msg + " (models loaded from Keras files keep their own config and save any layer)");
  }
  return {{"class_name", "Functional"},
          {"config",
           {{"name", model.name()},
            {"layers", layers},
            {"input_layers", input_layers},
            {"output_layers", output_layers}}}};
}

}  // namespace sluice::io::keras
