// The Keras config of one layer of a model built in Sluice, recovered from what its calls put
// into the graph (see keras_config.cc): the weights' shapes and the ops in the layer's name
// scope with their attributes. A shared layer (called several times) gets one inbound node per
// call, each read from the ops that call's output depends on; the calls must agree on the
// config. TimeDistributed's inner layer is described the same way, from its own recorded call.
#include <cmath>
#include <optional>
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

bool same_tensor(const Output& a, const Output& b) { return a.node() == b.node() && a.index() == b.index(); }

// One call of a layer: its Keras class and config, what feeds it and what it makes.
struct CallConfig {
  std::string cls;
  json config;
  LayerGraph lg;
  std::string mask_from;  // the Embedding whose mask a recurrent layer reads ("" without)
  std::string why;        // set when the call has no exact Keras form
};

// The ops of `layer`'s scope that `out` depends on, in creation order.
std::vector<Operation> call_ops(const std::vector<Operation>& scope, const std::string& layer, const Operation& out) {
  std::set<const Node*> seen;
  std::vector<Operation> st = {out};
  while (!st.empty()) {
    const Operation op = st.back();
    st.pop_back();
    if (!seen.insert(op.node()).second) continue;
    if (op.name().compare(0, layer.size() + 1, layer + "/") != 0 || op.type() == "VariableV2") continue;
    for (int i = 0; i < op.num_inputs(); ++i) st.push_back(op.input(i).op());
  }
  std::vector<Operation> res;
  for (const Operation& op : scope)
    if (seen.count(op.node())) res.push_back(op);
  return res;
}

// TimeDistributed's inner layer ("time_distributed/dense"): its recorded calls and, as its
// weights, the wrapper's under its scope.
std::optional<models::LayerInfo> time_distributed_inner(const ConfigContext& ctx, const models::LayerInfo& l) {
  for (const auto& kv : ctx.calls) {
    const std::string& n = kv.first;
    if (n.compare(0, l.name.size() + 1, l.name + "/") != 0 || n.find('/', l.name.size() + 1) != std::string::npos)
      continue;
    models::LayerInfo in;
    in.name = n;
    in.type = models::keras_class_name(kv.second.type);
    for (size_t i = 0; i < l.weights.size(); ++i)
      if (l.weights[i].compare(0, n.size() + 1, n + "/") == 0) {
        in.weights.push_back(l.weights[i]);
        in.trainable.push_back(l.trainable[i]);
      }
    return in;
  }
  return std::nullopt;
}

// `ops`: every op of the layer's scope (for settings such as batch norm's update); `cops`: the
// ones this call's output depends on (its inputs; merges' and recurrent layers' own ops).
CallConfig describe_call(const ConfigContext& ctx, const models::LayerInfo& l, const Operation& recorded,
                         const std::vector<Operation>& ops, const std::vector<Operation>& cops) {
  const Graph& g = ctx.g;
  CallConfig res;
  json& c = res.config;
  std::string& cls = res.cls;
  LayerGraph& lg = res.lg;
  std::string& why = res.why;
  c = {{"name", l.name}, {"trainable", true}, {"dtype", "float32"}};
  cls = l.type;
  lg.outputs = {recorded.output(0)};
  auto var_shape = [&](size_t i) { return g.tensor(l.weights.at(i) + ":0").shape(); };
  auto has_var = [&](const std::string& local) {
    return std::find(l.weights.begin(), l.weights.end(), l.name + "/" + local) != l.weights.end();
  };
  auto used_outside = ctx.used_outside;
  // The external data inputs of the call's ops, in op order (learning phase, masks and
  // variables aside): a single-input layer has one.
  const auto ok_single = [&]() {
    for (const Operation& op : cops)
      for (int i = 0; i < op.num_inputs(); ++i) {
        const Output t = op.input(i);
        const std::string& tn = t.op().name();
        if (in_scope(t, l.name) || t.op().type() == "VariableV2" || tn == "keras_learning_phase" ||
            tn.find("_mask/") != std::string::npos)
          continue;
        if (std::none_of(lg.inbound.begin(), lg.inbound.end(), [&](const Output& o) { return same_tensor(o, t); }))
          lg.inbound.push_back(t);
      }
    if (lg.inbound.size() != 1) why = "takes " + std::to_string(lg.inbound.size()) + " inputs";
  };

  if (l.type == "Dense") {
    c["units"] = var_shape(0).dim(1);
    c["activation"] = activation_in(ops);
    c["use_bias"] = has_var("bias");
    ok_single();
  } else if (l.type == "TimeDistributed") {
    // The inner layer ("time_distributed/conv2d") is no row of the model's (its weights are
    // the wrapper's): its config is recovered like any layer's, from its own recorded call.
    const std::optional<models::LayerInfo> in = time_distributed_inner(ctx, l);
    if (!in) {
      why = "no inner layer found";
    } else if (!time_distributable(in->type)) {
      why = "over " + in->type;
    } else {
      const std::vector<Operation> iops = scope_ops(g, in->name);
      const CallConfig inner = describe_call(ctx, *in, ctx.calls.at(in->name).ops.at(0), iops, iops);
      json ic = inner.config;
      ic["name"] = in->name.substr(l.name.size() + 1);
      if (!inner.why.empty()) why = "over " + in->type + ": " + inner.why;
      else if (!inner.mask_from.empty()) why = "over " + in->type + " reading a mask";
      else if (ic.value("return_state", false)) why = "over " + in->type + " returning its states";
      c["layer"] = {{"class_name", inner.cls}, {"config", ic}};
    }
    if (layer_frozen(g, l)) c["trainable"] = false;
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
    const Operation* m = cops.empty() ? nullptr : &cops.front();
    for (const Operation& op : cops)
      if (op.type() == "AddN" || op.type() == "Concat" || op.type() == "Mul") {
        m = &op;
        break;
      }
    if (!m) {
      why = "no merge op found";
    } else if (l.type == "Multiply") {
      // A chain of Mul: the first input of the first, then each second input.
      std::vector<Output> in = {m->input(0)};
      for (const Operation& op : cops)
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
    for (const Operation& op : cops)
      if ((op.type() == "LSTM" || op.type() == "GRU" || op.type() == "SimpleRNN") &&
          op.name().find("/initial_state/") == std::string::npos)
        fused.push_back(op);
    const bool bidi = l.type == "Bidirectional";
    if (fused.size() != (bidi ? 2u : 1u)) {
      why = "unexpected ops";
      return res;
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
      for (const Operation& op : cops)
        if (op.name().compare(0, l.name.size() + 6, l.name + "/merge") == 0)
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
    res.mask_from = mask_from;
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
      for (const Operation& op : cops)
        if (op.name().compare(0, l.name.size() + 6, l.name + "/merge") == 0) {
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
  return res;
}

}  // namespace

LayerDescription describe_layer(const ConfigContext& ctx, const models::LayerInfo& l) {
  LayerDescription d;
  const std::vector<Operation>& recs = ctx.calls.at(l.name).ops;
  const std::vector<Operation> ops = scope_ops(ctx.g, l.name);
  for (size_t k = 0; k < recs.size(); ++k) {
    const CallConfig cc = describe_call(ctx, l, recs[k], ops, recs.size() == 1 ? ops : call_ops(ops, l.name, recs[k]));
    if (!cc.why.empty()) {
      d.why = recs.size() == 1 ? cc.why : "call " + std::to_string(k) + ": " + cc.why;
      return d;
    }
    if (k == 0) {
      d.cls = cc.cls;
      d.config = cc.config;
      d.mask_from = cc.mask_from;
    } else if (cc.config != d.config || cc.mask_from != d.mask_from) {
      // One Keras layer has one config: a shared layer whose calls read differently (e.g. one
      // using the sequence, another only the last output) has none.
      d.why = "call " + std::to_string(k) + " differs from call 0 (" + cc.config.dump() + " vs " + d.config.dump() + ")";
      return d;
    }
    d.nodes.push_back(cc.lg);
  }
  return d;
}

}  // namespace sluice::io::keras
