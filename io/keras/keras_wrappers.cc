// Layers of Keras files that wrap other layers: data_format="channels_first" (the layer runs
// on a channels-last transpose of its input, as Keras' own CPU kernels do), TimeDistributed
// (the inner layer on every time step), and a Sequential model used as a layer inside a
// functional model (its layers in order, its weights in theirs).
#include <set>

#include "../../graph/layers_ext.h"
#include "../../ops/array_ops.h"
#include "keras_internal.h"

namespace sluice::io::keras {

namespace {

// [N, C, d1.., dk] -> [N, d1.., dk, C] and back.
std::vector<int64_t> to_last(int rank) {
  std::vector<int64_t> p = {0};
  for (int i = 2; i < rank; ++i) p.push_back(i);
  p.push_back(1);
  return p;
}

std::vector<int64_t> to_first(int rank) {
  std::vector<int64_t> p = {0, rank - 1};
  for (int i = 1; i < rank - 1; ++i) p.push_back(i);
  return p;
}

// A layer made of other layers' calls (a Keras model used as a layer): `fn` runs them on the
// group's inputs and gives its outputs; the weights are theirs, in `parts` order (what the
// file's weight_names list). `kind` ("sequential", "functional") is the type its summary() row
// shows.
class LayerGroup : public layers::Layer {
 public:
  using Fn = std::function<std::vector<Output>(const Scope&, const std::vector<Output>&)>;
  LayerGroup(std::vector<std::shared_ptr<layers::Layer>> parts, Fn fn, std::string name, const char* kind)
      : Layer(std::move(name)), parts_(std::move(parts)), fn_(std::move(fn)), kind_(kind) {}

  // Every output on `xs`. The call goes through Layer's (on the first input, the others
  // alongside), so the model records it as this layer's.
  std::vector<Output> call_all(const Scope& scope, const std::vector<Output>& xs) {
    SLUICE_REQUIRE(!xs.empty(), InvalidArgument, "nested model '", name(), "' called without inputs");
    rest_.assign(xs.begin() + 1, xs.end());
    try {
      (*this)(scope, xs[0]);
    } catch (...) {
      rest_.clear();
      throw;
    }
    rest_.clear();
    return results_;
  }

 protected:
  const char* default_name() const override { return kind_; }
  Output call(const Scope& scope, const Output& x) override {
    std::vector<Output> xs = {x};
    xs.insert(xs.end(), rest_.begin(), rest_.end());
    results_ = fn_(scope, xs);
    if (!listed_) {
      for (const auto& p : parts_) add_weights_of(*p);
      listed_ = true;
    }
    return results_.at(0);
  }

 private:
  std::vector<std::shared_ptr<layers::Layer>> parts_;
  Fn fn_;
  const char* kind_;
  std::vector<Output> rest_, results_;
  bool listed_ = false;
};

// A group's BuiltLayer: all its inputs in, all its outputs out (no masks).
BuiltLayer group_layer(std::shared_ptr<LayerGroup> group) {
  BuiltLayer b;
  b.layer = group;
  b.call = [group](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>&) {
    std::vector<Output> xs;
    for (const KTensor& t : in) xs.push_back(t.value);
    std::vector<KTensor> out;
    for (const Output& y : group->call_all(s, xs)) out.push_back({y, Output()});
    return out;
  };
  return b;
}

std::string class_of(const json& l, const std::string& name) {
  if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string() || !l.contains("config") ||
      !l["config"].is_object())
    throw InvalidArgument("layer '" + name + "': a wrapped layer without class_name/config");
  return l["class_name"].get<std::string>();
}

// The problems of a wrapped layer's class and config, as one Unimplemented.
void require_supported(const std::string& cls, const json& c, const std::string& name, const char* wrapper) {
  std::vector<std::string> problems;
  if (cls == "Lambda") problems.push_back("Lambda (" + name + "): holds Python bytecode");
  else if (!layer_table().count(cls)) problems.push_back(cls + " (" + name + ")");
  else check_layer_config(cls, c, name, problems);
  if (problems.empty()) return;
  std::string msg = std::string("layer '") + name + "' (" + wrapper + ") wraps unsupported layers: ";
  for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
  throw Unimplemented(msg);
}

}  // namespace

bool time_distributable(const std::string& cls) {
  // Layers whose whole computation is their layer object (no activation applied after it, no
  // extra inputs or outputs): those TimeDistributed can apply per step.
  static const std::set<std::string> plain = {
      "Dense", "Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "Flatten", "Dropout",
      "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
      "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Activation", "ReLU", "LeakyReLU",
      "ZeroPadding2D", "UpSampling2D", "Reshape", "Permute", "RepeatVector", "LayerNormalization",
      "BatchNormalization", "Embedding", "LSTM", "GRU", "SimpleRNN"};
  return plain.count(cls) > 0;
}

bool is_channels_first(const json& c) {
  return c.is_object() && c.contains("data_format") && c["data_format"].is_string() &&
         c["data_format"].get<std::string>() == "channels_first";
}

BuiltLayer channels_first(BuiltLayer inner) {
  BuiltLayer b;
  b.layer = inner.layer;
  auto call = inner.call;
  b.call = [call](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>& states) {
    const Output x = in.at(0).value;
    const int rank = x.shape().rank();
    SLUICE_REQUIRE(rank >= 3, InvalidArgument, "channels_first layer called on ", x.shape().to_string());
    std::vector<KTensor> out = call(s, {{ops::transpose(s, x, to_last(rank)), Output()}}, states);
    // Spatial layers keep the rank (back to channels first); Flatten and global poolings
    // end it (Keras flattens the channels-last order too).
    if (out.at(0).value.shape().rank() == rank) out[0].value = ops::transpose(s, out[0].value, to_first(rank));
    return out;
  };
  return b;
}

BuiltLayer time_distributed(const json& c, const std::string& name) {
  if (!c.is_object() || !c.contains("layer")) throw InvalidArgument("layer '" + name + "': TimeDistributed without 'layer'");
  const std::string cls = class_of(c["layer"], name);
  const json& ic = c["layer"]["config"];
  require_supported(cls, ic, name, "TimeDistributed");
  static const std::set<std::string> recurrent = {"LSTM", "GRU", "SimpleRNN"};
  const std::string act = ic.contains("activation") && ic["activation"].is_string() ? ic["activation"].get<std::string>()
                                                                                    : "linear";
  // (A recurrent layer's activations are inside its fused op.)
  const bool simple_act = recurrent.count(cls) || act == "linear" || act == "relu" || act == "sigmoid" ||
                          act == "tanh" || act == "softmax";
  // Per step, a recurrent layer gives its output only, and an Embedding no mask.
  const bool extra_outputs = get_bool(ic, "return_state", name, false) || get_bool(ic, "mask_zero", name, false);
  if (!time_distributable(cls) || is_channels_first(ic) || (cls != "Activation" && !simple_act) || extra_outputs)
    throw Unimplemented("layer '" + name + "': TimeDistributed over " + cls +
                        (time_distributable(cls) ? " with this config" : "") +
                        " (convolutions, poolings, Dense, normalizations, Embedding without mask_zero, recurrent "
                        "layers without return_state, reshapes and activations, with channels_last and a built-in "
                        "activation only)");
  // BatchNormalization normalises the per-step input's last axis only (checked at the call).
  int64_t bn_axis = -1;
  if (cls == "BatchNormalization" && ic.contains("axis")) {
    if (ic["axis"].is_array() && ic["axis"].size() != 1)
      throw Unimplemented("layer '" + name + "': TimeDistributed over BatchNormalization over several axes");
    bn_axis = get_int(ic, "axis", name, -1);
  }
  BuiltLayer ib = layer_table().at(cls)(ic, ic.contains("name") && ic["name"].is_string()
                                                ? ic["name"].get<std::string>()
                                                : cls);
  if (!ib.layer) throw Unimplemented("layer '" + name + "': TimeDistributed over " + cls);
  // The inner layer owns the weights: its options, and the wrapper's trainable flag, go on it.
  apply_layer_options(cls, ic, name, *ib.layer);
  if (!get_bool(c, "trainable", name, true)) ib.layer->set_trainable(false);
  auto td = std::make_shared<layers::TimeDistributed>(ib.layer, name);
  BuiltLayer b;
  b.layer = td;
  const bool ids = cls == "Embedding";
  b.call = [td, ids, bn_axis, name](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>&) {
    Output x = in.at(0).value;
    const int step_rank = x.shape().rank() - 1;
    if (bn_axis != -1 && bn_axis != step_rank - 1)
      throw Unimplemented("layer '" + name + "': TimeDistributed over BatchNormalization with axis " +
                          std::to_string(bn_axis) + " of a rank-" + std::to_string(step_rank) +
                          " step (the last axis only)");
    // Keras casts an Embedding's input to int32 ids, as for the layer alone.
    if (ids && x.dtype() != DType::i32 && x.dtype() != DType::i64) x = ops::cast(s, x, DType::i32);
    return std::vector<KTensor>{{(*td)(s, x), in.at(0).mask}};
  };
  return b;
}

BuiltLayer nested_sequential(const json& c, const std::string& name) {
  const json* list = c.is_array() ? &c : (c.is_object() && c.contains("layers") ? &c["layers"] : nullptr);
  if (!list || !list->is_array() || list->empty() || list->size() > 10000)
    throw InvalidArgument("layer '" + name + "': nested Sequential without layers");
  std::vector<std::string> problems;
  std::vector<std::pair<std::string, json>> specs;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& l = (*list)[i];
    const std::string cls = class_of(l, name);
    if (cls == "InputLayer") continue;
    const json& lc = l["config"];
    const std::string lname = lc.contains("name") && lc["name"].is_string() ? lc["name"].get<std::string>()
                                                                             : cls + std::to_string(i);
    if (cls == "Lambda") problems.push_back("Lambda (" + lname + "): holds Python bytecode");
    else if (!layer_table().count(cls)) problems.push_back(cls + " (" + lname + ")");
    else {
      check_layer_config(cls, lc, lname, problems);
      check_layer_options(cls, lc, lname, problems);
    }
    specs.emplace_back(cls, lc);
  }
  if (!problems.empty()) {
    std::string msg = "layer '" + name + "' (a nested Sequential model) holds unsupported layers: ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Unimplemented(msg);
  }
  std::vector<BuiltLayer> parts;
  std::vector<std::shared_ptr<layers::Layer>> objects;
  const bool frozen = c.is_object() && !get_bool(c, "trainable", name, true);
  for (const auto& s : specs) {
    const std::string lname = s.second.contains("name") && s.second["name"].is_string()
                                  ? s.second["name"].get<std::string>()
                                  : s.first;
    parts.push_back(layer_table().at(s.first)(s.second, lname));
    if (!parts.back().layer) continue;
    // Each inner layer's options; a frozen nested model freezes all of them.
    apply_layer_options(s.first, s.second, lname, *parts.back().layer);
    if (frozen) parts.back().layer->set_trainable(false);
    objects.push_back(parts.back().layer);
  }
  auto group = std::make_shared<LayerGroup>(
      objects,
      [parts, name](const Scope& s, const std::vector<Output>& xs) {
        SLUICE_REQUIRE(xs.size() == 1, InvalidArgument, "nested Sequential model '", name, "' takes one input, got ",
                       xs.size());
        std::vector<KTensor> t = {{xs[0], Output()}};
        for (const BuiltLayer& p : parts) {
          t = p.call(s, {t.at(0)}, {});
          t.resize(1);
        }
        return std::vector<Output>{t.at(0).value};
      },
      name, "sequential");
  return group_layer(group);
}

namespace {

// A nested model's input_layers or output_layers: a list of [layer, node, tensor], or one.
std::vector<Ref> model_refs(const json& list, const std::string& name) {
  std::vector<Ref> out;
  if (!list.empty() && !list[0].is_array()) return {ref_of(list, name)};
  for (const json& e : list) out.push_back(ref_of(e, name));
  return out;
}

}  // namespace

BuiltLayer nested_functional(const json& c, const std::string& name) {
  if (!c.is_object() || !c.contains("layers") || !c["layers"].is_array() || c["layers"].empty() ||
      c["layers"].size() > 10000)
    throw InvalidArgument("layer '" + name + "': nested Functional model without layers");
  for (const char* key : {"input_layers", "output_layers"})
    if (!c.contains(key) || !c[key].is_array() || c[key].empty() || c[key].size() > 10000)
      throw InvalidArgument("layer '" + name + "': nested Functional model without " + key);
  const std::vector<Ref> inputs = model_refs(c["input_layers"], name), outputs = model_refs(c["output_layers"], name);
  // Each inner layer: class, config, its one call (inputs and initial states, each a layer's
  // tensor). Built in the config's order (Keras writes layers in a topological order; a layer
  // read before it is built is an error below).
  struct Inner {
    std::string cls, name;
    NodeSpec node;
    json config;
  };
  std::vector<Inner> specs;
  std::vector<std::string> problems;
  const auto check_node = [&](const Ref& r) {
    if (r.node != 0)
      throw Unimplemented("layer '" + name + "': a nested Functional model whose inner layers use node indices "
                          "other than 0 (shared inner layers; '" + r.layer + "' node " + std::to_string(r.node) + ")");
  };
  for (const Ref& r : inputs) check_node(r);
  for (const Ref& r : outputs) check_node(r);
  for (size_t i = 0; i < c["layers"].size(); ++i) {
    const json& l = c["layers"][i];
    const std::string cls = class_of(l, name);
    const json& lc = l["config"];
    const std::string lname = lc.contains("name") && lc["name"].is_string() ? lc["name"].get<std::string>()
                                                                             : cls + std::to_string(i);
    if (cls == "InputLayer") continue;
    const std::vector<NodeSpec> nodes = parse_nodes(l, lname);
    if (nodes.size() != 1)
      throw Unimplemented("layer '" + name + "': inner layer '" + lname +
                          "' of a nested Functional model is not called exactly once");
    for (const Ref& r : nodes[0].inputs) check_node(r);
    for (const Ref& r : nodes[0].states) check_node(r);
    if (cls == "Lambda") problems.push_back("Lambda (" + lname + "): holds Python bytecode");
    else if (!layer_table().count(cls)) problems.push_back(cls + " (" + lname + ")");
    else {
      check_layer_config(cls, lc, lname, problems);
      check_layer_options(cls, lc, lname, problems);
    }
    specs.push_back({cls, lname, nodes[0], lc});
  }
  if (!problems.empty()) {
    std::string msg = "layer '" + name + "' (a nested Functional model) holds unsupported layers: ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Unimplemented(msg);
  }
  std::vector<BuiltLayer> parts;
  std::vector<std::shared_ptr<layers::Layer>> objects;
  for (const Inner& s : specs) {
    parts.push_back(layer_table().at(s.cls)(s.config, s.name));
    if (!parts.back().layer) continue;
    apply_layer_options(s.cls, s.config, s.name, *parts.back().layer);
    objects.push_back(parts.back().layer);
  }
  auto group = std::make_shared<LayerGroup>(
      objects,
      [parts, specs, inputs, outputs, name](const Scope& s, const std::vector<Output>& xs) {
        SLUICE_REQUIRE(xs.size() == inputs.size(), InvalidArgument, "nested Functional model '", name, "' takes ",
                       inputs.size(), " inputs, got ", xs.size());
        std::map<std::string, std::vector<KTensor>> made;  // layer -> its outputs
        for (size_t i = 0; i < inputs.size(); ++i) {
          SLUICE_REQUIRE(inputs[i].tensor == 0 && !made.count(inputs[i].layer), InvalidArgument, "layer '", name,
                         "': bad input layer '", inputs[i].layer, "'");
          made[inputs[i].layer] = {{xs[i], Output()}};
        }
        const auto get = [&](const Ref& r, const std::string& reader) -> const KTensor& {
          auto it = made.find(r.layer);
          if (it == made.end() || r.tensor >= static_cast<int64_t>(it->second.size()))
            throw InvalidArgument("layer '" + name + "': '" + reader + "' reads output " + std::to_string(r.tensor) +
                                  " of '" + r.layer + "', which no earlier layer makes");
          return it->second[static_cast<size_t>(r.tensor)];
        };
        for (size_t i = 0; i < specs.size(); ++i) {
          std::vector<KTensor> in;
          std::vector<Output> states;
          for (const Ref& r : specs[i].node.inputs) in.push_back(get(r, specs[i].name));
          for (const Ref& r : specs[i].node.states) states.push_back(get(r, specs[i].name).value);
          split_initial_states(specs[i].cls, in, states);
          made[specs[i].name] = parts[i].call(s, in, states);
        }
        std::vector<Output> ys;
        for (const Ref& r : outputs) ys.push_back(get(r, "output_layers").value);
        return ys;
      },
      name, "functional");
  return group_layer(group);
}

}  // namespace sluice::io::keras
