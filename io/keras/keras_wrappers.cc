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

// A layer made of other layers' calls (a Keras Sequential model used as a layer): `fn` runs
// them; the weights are theirs, in `parts` order (what the file's weight_names list).
// `kind` ("sequential", "functional") is the type its summary() row shows.
class LayerGroup : public layers::Layer {
 public:
  LayerGroup(std::vector<std::shared_ptr<layers::Layer>> parts, std::function<Output(const Scope&, const Output&)> fn,
             std::string name, const char* kind)
      : Layer(std::move(name)), parts_(std::move(parts)), fn_(std::move(fn)), kind_(kind) {}

 protected:
  const char* default_name() const override { return kind_; }
  Output call(const Scope& scope, const Output& x) override {
    const Output y = fn_(scope, x);
    if (!listed_) {
      for (const auto& p : parts_) add_weights_of(*p);
      listed_ = true;
    }
    return y;
  }

 private:
  std::vector<std::shared_ptr<layers::Layer>> parts_;
  std::function<Output(const Scope&, const Output&)> fn_;
  const char* kind_;
  bool listed_ = false;
};

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
      [parts](const Scope& s, const Output& x) {
        std::vector<KTensor> t = {{x, Output()}};
        for (const BuiltLayer& p : parts) {
          t = p.call(s, {t.at(0)}, {});
          t.resize(1);
        }
        return t.at(0).value;
      },
      name, "sequential");
  BuiltLayer b;
  b.layer = group;
  b.call = [group](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>&) {
    return std::vector<KTensor>{{(*group)(s, in.at(0).value), Output()}};
  };
  return b;
}

namespace {

// [layer, node, tensor, ...] of a nested model's config, or its single-entry list form.
std::string ref_layer(const json& e, const std::string& name) {
  const json& r = e.is_array() && e.size() == 1 && e[0].is_array() ? e[0] : e;
  if (!r.is_array() || r.size() < 3 || !r[0].is_string() || !r[1].is_number_integer() || !r[2].is_number_integer() ||
      r[1].get<int64_t>() != 0 || r[2].get<int64_t>() != 0)
    throw Unimplemented("layer '" + name + "': a nested Functional model whose inner layers use node or tensor "
                        "indices other than 0 (shared or multi-output inner layers)");
  return r[0].get<std::string>();
}

}  // namespace

BuiltLayer nested_functional(const json& c, const std::string& name) {
  if (!c.is_object() || !c.contains("layers") || !c["layers"].is_array() || c["layers"].empty() ||
      c["layers"].size() > 10000)
    throw InvalidArgument("layer '" + name + "': nested Functional model without layers");
  for (const char* key : {"input_layers", "output_layers"})
    if (!c.contains(key) || !c[key].is_array() || c[key].empty())
      throw InvalidArgument("layer '" + name + "': nested Functional model without " + key);
  const json& ins = c["input_layers"];
  const json& outs = c["output_layers"];
  if ((ins[0].is_array() && ins.size() != 1) || (outs[0].is_array() && outs.size() != 1))
    throw Unimplemented("layer '" + name + "': a nested Functional model with several inputs or outputs");
  const std::string input = ref_layer(ins, name), output = ref_layer(outs, name);
  // Each inner layer: class, config, the one layer it reads. Built in the config's order (Keras
  // writes layers in a topological order; a layer read before it is built is an error below).
  struct Inner {
    std::string cls, name, from;
    json config;
  };
  std::vector<Inner> specs;
  std::vector<std::string> problems;
  for (size_t i = 0; i < c["layers"].size(); ++i) {
    const json& l = c["layers"][i];
    const std::string cls = class_of(l, name);
    const json& lc = l["config"];
    const std::string lname = lc.contains("name") && lc["name"].is_string() ? lc["name"].get<std::string>()
                                                                             : cls + std::to_string(i);
    if (cls == "InputLayer") continue;
    const json* nodes = l.contains("inbound_nodes") ? &l["inbound_nodes"] : nullptr;
    if (!nodes || !nodes->is_array() || nodes->size() != 1 || !(*nodes)[0].is_array() || (*nodes)[0].size() != 1)
      throw Unimplemented("layer '" + name + "': inner layer '" + lname +
                          "' of a nested Functional model is not called exactly once on one tensor");
    if (cls == "Lambda") problems.push_back("Lambda (" + lname + "): holds Python bytecode");
    else if (!layer_table().count(cls)) problems.push_back(cls + " (" + lname + ")");
    else {
      check_layer_config(cls, lc, lname, problems);
      check_layer_options(cls, lc, lname, problems);
    }
    specs.push_back({cls, lname, ref_layer((*nodes)[0][0], name), lc});
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
      [parts, specs, input, output, name](const Scope& s, const Output& x) {
        std::map<std::string, KTensor> made = {{input, {x, Output()}}};
        for (size_t i = 0; i < specs.size(); ++i) {
          auto it = made.find(specs[i].from);
          if (it == made.end())
            throw InvalidArgument("layer '" + name + "': inner layer '" + specs[i].name + "' reads '" +
                                  specs[i].from + "', which no earlier layer makes");
          std::vector<KTensor> t = parts[i].call(s, {it->second}, {});
          made[specs[i].name] = t.at(0);
        }
        auto it = made.find(output);
        if (it == made.end()) throw InvalidArgument("layer '" + name + "': output layer '" + output + "' not found");
        return it->second.value;
      },
      name, "functional");
  BuiltLayer b;
  b.layer = group;
  b.call = [group](const Scope& s, const std::vector<KTensor>& in, const std::vector<Output>&) {
    return std::vector<KTensor>{{(*group)(s, in.at(0).value), Output()}};
  };
  return b;
}

}  // namespace sluice::io::keras
