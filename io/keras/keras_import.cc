// Keras HDF5 -> Sluice: model_config JSON -> layers called in the graph in Keras' node order,
// then model_weights -> the layers' variables (shapes checked before anything is read).
#include <cstring>
#include <fstream>
#include <set>

#include "../../ops/array_ops.h"
#include "../../ops/state_ops.h"
#include "hdf5.h"
#include "keras_internal.h"

namespace sluice::io {
namespace keras {

Ref ref_of(const json& e, const std::string& layer) {
  if (!e.is_array() || e.size() < 3 || !e[0].is_string() || !e[1].is_number_integer() || !e[2].is_number_integer())
    throw DataLoss("layer '" + layer + "': an inbound entry is not [layer, node, tensor, ...]");
  Ref r{e[0].get<std::string>(), e[1].get<int64_t>(), e[2].get<int64_t>()};
  if (r.node < 0 || r.tensor < 0 || r.node > 100000 || r.tensor > 1000)
    throw DataLoss("layer '" + layer + "': inbound indices out of range");
  return r;
}

void split_initial_states(const std::string& cls, std::vector<KTensor>& in, std::vector<Output>& states) {
  // Before tf.keras put initial states in kwargs, they were extra inbound tensors.
  const bool recurrent = cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN" || cls == "Bidirectional";
  if (!recurrent || in.size() <= 1) return;
  for (size_t i = 1; i < in.size(); ++i) states.push_back(in[i].value);
  in.resize(1);
}

std::vector<NodeSpec> parse_nodes(const json& layer, const std::string& name) {
  std::vector<NodeSpec> out;
  if (!layer.contains("inbound_nodes") || layer["inbound_nodes"].is_null()) return out;
  const json& nodes = layer["inbound_nodes"];
  if (!nodes.is_array()) throw DataLoss("layer '" + name + "': inbound_nodes is not a list");
  for (const json& n : nodes) {
    if (!n.is_array())
      throw Unimplemented("layer '" + name + "': inbound node format (Keras 3 dict form) is not supported");
    NodeSpec spec;
    for (const json& e : n) {
      spec.inputs.push_back(ref_of(e, name));
      // tf.keras may put the initial state among the call's keyword arguments.
      if (e.size() >= 4 && e[3].is_object() && e[3].contains("initial_state")) {
        const json& st = e[3]["initial_state"];
        if (st.is_array() && !st.empty() && st[0].is_string()) {
          spec.states.push_back(ref_of(st, name));
        } else if (st.is_array()) {
          for (const json& s : st) spec.states.push_back(ref_of(s, name));
        }
      }
    }
    if (spec.inputs.empty()) throw DataLoss("layer '" + name + "': an inbound node without inputs");
    out.push_back(std::move(spec));
  }
  return out;
}

namespace {

// The config JSON is bounded in size and nesting (a Keras config of thousands of layers is
// a few MB).
constexpr size_t kMaxConfigBytes = size_t{64} << 20;
constexpr int kMaxJsonDepth = 128;
constexpr size_t kMaxNameListBytes = size_t{64} << 20;

json parse_bounded(const std::string& text, const std::string& path, const char* what) {
  try {
    return json::parse(text, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxJsonDepth) throw DataLoss("nesting deeper than " + std::to_string(kMaxJsonDepth));
      return true;
    });
  } catch (const json::exception& e) {
    throw DataLoss("Keras HDF5 file '" + path + "': attribute '" + what + "' is not valid JSON: " + e.what());
  } catch (const DataLoss& e) {
    throw DataLoss("Keras HDF5 file '" + path + "': attribute '" + what + "': " + e.what());
  }
}

DType dtype_of(const std::string& s, const std::string& layer) {
  static const std::map<std::string, DType> m = {
      {"float32", DType::f32}, {"float64", DType::f64}, {"int32", DType::i32},   {"int64", DType::i64},
      {"uint8", DType::u8},    {"int8", DType::i8},     {"int16", DType::i16},   {"uint16", DType::u16},
      {"uint32", DType::u32},  {"uint64", DType::u64},  {"bool", DType::boolean}, {"string", DType::string}};
  auto it = m.find(s);
  if (it == m.end()) throw Unimplemented("input layer '" + layer + "': dtype '" + s + "'");
  return it->second;
}

struct LayerSpec {
  std::string class_name, name;
  json config;
  std::vector<NodeSpec> nodes;
  bool is_input = false;
};

std::string layer_name(const json& l, size_t i) {
  if (l.contains("config") && l["config"].is_object() && l["config"].contains("name") &&
      l["config"]["name"].is_string())
    return l["config"]["name"].get<std::string>();
  if (l.contains("name") && l["name"].is_string()) return l["name"].get<std::string>();
  return "layer_" + std::to_string(i);
}

Shape input_shape_of(const json& c, const std::string& name) {
  const json* s = nullptr;
  for (const char* key : {"batch_input_shape", "batch_shape"})
    if (c.contains(key) && c[key].is_array()) s = &c[key];
  if (!s) throw InvalidArgument("input layer '" + name + "' has no batch_input_shape (the model was never built)");
  if (s->empty() || s->size() > 8) throw DataLoss("input layer '" + name + "': bad batch_input_shape");
  std::vector<int64_t> dims = {-1};  // the batch dimension stays free, whatever the file fixed
  for (size_t i = 1; i < s->size(); ++i) {
    const json& d = (*s)[i];
    if (d.is_null()) {
      dims.push_back(-1);
    } else if (d.is_number_integer() && d.get<int64_t>() >= 0 && d.get<int64_t>() <= (int64_t{1} << 24)) {
      dims.push_back(d.get<int64_t>());
    } else {
      throw DataLoss("input layer '" + name + "': bad batch_input_shape entry " + d.dump());
    }
  }
  return Shape(dims);
}

}  // namespace

// What reading a file gives: the graph with named inputs and outputs, and each layer's
// object and weight values (set once a session exists).
struct Loaded {
  Graph graph;
  std::string name;
  std::vector<std::pair<std::string, Output>> inputs;
  std::vector<std::string> output_layers;
  std::vector<Output> outputs;
  std::vector<std::pair<std::shared_ptr<layers::Layer>, std::vector<Tensor>>> weights;
};

Loaded read_keras_file(const std::string& path, const std::vector<KerasCustomLayer>& custom) {
  std::lock_guard<std::recursive_mutex> lock(h5::hdf5_mutex());
  h5::File f = h5::File::open(path);
  const h5::hid froot = f.id();
  if (!h5::has_attr(froot, "model_config"))
    throw NotFound("Keras HDF5 file '" + path +
                   "' has no model_config attribute (a weights-only file: build the model and load weights into it)");
  const std::string cfg_text = h5::read_string_attr(f, froot, "", "model_config", kMaxConfigBytes);
  const json cfg = parse_bounded(cfg_text, path, "model_config");
  std::string version = "2.4.0";
  if (h5::has_attr(froot, "keras_version")) version = h5::read_string_attr(f, froot, "", "keras_version", 256);

  auto dl = [&](const std::string& what) { return DataLoss("Keras HDF5 file '" + path + "': model_config: " + what); };
  if (!cfg.is_object() || !cfg.contains("class_name") || !cfg["class_name"].is_string() || !cfg.contains("config"))
    throw dl("no class_name/config");
  const std::string model_class = cfg["class_name"].get<std::string>();
  const json& mc = cfg["config"];

  // ---- the layer list, in the functional form ----
  std::vector<LayerSpec> specs;
  std::vector<Ref> input_refs, output_refs;
  Loaded out;
  if (model_class == "Sequential") {
    // Keras 2.1: config is the layer list; 2.2+: {"name", "layers"}.
    const json* list = mc.is_array() ? &mc : (mc.is_object() && mc.contains("layers") ? &mc["layers"] : nullptr);
    if (!list || !list->is_array() || list->empty()) throw dl("Sequential without layers");
    out.name = mc.is_object() && mc.contains("name") && mc["name"].is_string() ? mc["name"].get<std::string>()
                                                                                : "sequential";
    std::string prev;
    for (size_t i = 0; i < list->size(); ++i) {
      const json& l = (*list)[i];
      if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string() || !l.contains("config"))
        throw dl("layer " + std::to_string(i) + " has no class_name/config");
      LayerSpec s{l["class_name"].get<std::string>(), layer_name(l, i), l["config"], {}, false};
      if (i == 0) {
        // The model's input: an explicit InputLayer, or the first layer's batch_input_shape
        // (Keras names that input "<first layer>_input").
        LayerSpec in{"InputLayer", s.class_name == "InputLayer" ? s.name : s.name + "_input", s.config, {}, true};
        specs.push_back(in);
        input_refs.push_back({in.name, 0, 0});
        prev = in.name;
        if (s.class_name == "InputLayer") continue;
      }
      if (s.class_name == "InputLayer") throw dl("InputLayer '" + s.name + "' inside a Sequential model");
      s.nodes.push_back({{Ref{prev, 0, 0}}, {}});
      prev = s.name;
      specs.push_back(std::move(s));
    }
    output_refs.push_back({prev, 0, 0});
  } else if (model_class == "Model" || model_class == "Functional") {
    if (!mc.is_object() || !mc.contains("layers") || !mc["layers"].is_array()) throw dl(model_class + " without layers");
    out.name = mc.contains("name") && mc["name"].is_string() ? mc["name"].get<std::string>() : "model";
    const json& list = mc["layers"];
    for (size_t i = 0; i < list.size(); ++i) {
      const json& l = list[i];
      if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string() || !l.contains("config"))
        throw dl("layer " + std::to_string(i) + " has no class_name/config");
      LayerSpec s{l["class_name"].get<std::string>(), layer_name(l, i), l["config"], {}, false};
      s.is_input = s.class_name == "InputLayer";
      if (!s.is_input) s.nodes = parse_nodes(l, s.name);
      specs.push_back(std::move(s));
    }
    auto refs = [&](const char* key) {
      std::vector<Ref> r;
      if (!mc.contains(key) || !mc[key].is_array()) throw dl(std::string("no ") + key);
      const json& v = mc[key];
      // A single [name, node, tensor] or a list of them.
      if (!v.empty() && v[0].is_string()) {
        r.push_back(ref_of(v, key));
      } else {
        for (const json& e : v) r.push_back(ref_of(e, key));
      }
      return r;
    };
    input_refs = refs("input_layers");
    output_refs = refs("output_layers");
  } else {
    throw Unimplemented("Keras HDF5 file '" + path + "': model class '" + model_class +
                        "' (Sequential, Model, Functional only)");
  }
  if (specs.size() > 100000) throw dl("too many layers");

  // ---- everything unsupported, in one error ----
  std::map<std::string, const KerasCustomLayer*> customs;
  for (const KerasCustomLayer& c : custom) customs[c.class_name] = &c;
  std::vector<std::string> problems;
  std::set<std::string> names;
  for (const LayerSpec& s : specs) {
    if (!names.insert(s.name).second) throw dl("two layers named '" + s.name + "'");
    if (s.is_input) continue;
    if (s.class_name == "Lambda") {
      problems.push_back("Lambda (" + s.name + "): holds Python bytecode");
    } else if (!customs.count(s.class_name) && !layer_table().count(s.class_name)) {
      problems.push_back(s.class_name + " (" + s.name + ")");
    } else if (!customs.count(s.class_name)) {
      check_layer_config(s.class_name, s.config, s.name, problems);
      check_layer_options(s.class_name, s.config, s.name, problems);
    }
  }
  if (!problems.empty()) {
    std::string msg = "Keras HDF5 file '" + path + "': unsupported layers: ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Unimplemented(msg);
  }

  // ---- build the graph in Keras' node order ----
  Scope root(out.graph);
  std::map<std::string, std::vector<std::vector<KTensor>>> produced;  // layer -> node -> tensors
  std::map<std::string, BuiltLayer> built;
  for (const LayerSpec& s : specs) {
    if (!s.is_input) continue;
    const std::string dt = s.config.is_object() && s.config.contains("dtype") && s.config["dtype"].is_string()
                               ? s.config["dtype"].get<std::string>()
                               : "float32";
    const Output ph = ops::placeholder(root.named(s.name), dtype_of(dt, s.name), input_shape_of(s.config, s.name));
    produced[s.name].push_back({{ph, Output()}});
  }
  auto lookup = [&](const Ref& r, const std::string& user, bool* ready) -> KTensor {
    auto it = produced.find(r.layer);
    if (it == produced.end() || static_cast<size_t>(r.node) >= it->second.size()) {
      *ready = false;
      return {};
    }
    const auto& ts = it->second[static_cast<size_t>(r.node)];
    if (static_cast<size_t>(r.tensor) >= ts.size())
      throw DataLoss("Keras HDF5 file '" + path + "': layer '" + user + "' uses output " + std::to_string(r.tensor) +
                     " of layer '" + r.layer + "', which has " + std::to_string(ts.size()));
    return ts[static_cast<size_t>(r.tensor)];
  };
  std::map<std::string, size_t> next_node;
  for (bool progress = true; progress;) {
    progress = false;
    for (const LayerSpec& s : specs) {
      if (s.is_input) continue;
      size_t& k = next_node[s.name];
      while (k < s.nodes.size()) {
        const NodeSpec& node = s.nodes[k];
        bool ready = true;
        std::vector<KTensor> in;
        std::vector<Output> states;
        for (const Ref& r : node.inputs) in.push_back(lookup(r, s.name, &ready));
        for (const Ref& r : node.states) states.push_back(lookup(r, s.name, &ready).value);
        if (!ready) break;
        split_initial_states(s.class_name, in, states);
        // Building the layer from its config and calling it: errors name the file and layer.
        std::vector<KTensor> result;
        try {
          auto b = built.find(s.name);
          if (b == built.end()) {
            BuiltLayer bl;
            auto c = customs.find(s.class_name);
            if (c != customs.end()) {
              bl.layer = c->second->make(s.config.dump());
              SLUICE_REQUIRE(bl.layer != nullptr, InvalidArgument, "custom layer '", s.class_name,
                             "' returned no layer for '", s.name, "'");
              auto l = bl.layer;
              bl.call = [l](const Scope& sc, const std::vector<KTensor>& xs, const std::vector<Output>&) {
                return std::vector<KTensor>{{(*l)(sc, xs.at(0).value), Output()}};
              };
            } else {
              bl = layer_table().at(s.class_name)(s.config, s.name);
              if (bl.layer) apply_layer_options(s.class_name, s.config, s.name, *bl.layer);
            }
            b = built.emplace(s.name, std::move(bl)).first;
          }
          result = b->second.call(root, in, states);
        } catch (const Error& e) {
          throw_error(e.code(), "Keras HDF5 file '" + path + "': layer '" + s.name + "' (" + s.class_name + "): " +
                                    e.what());
        }
        produced[s.name].push_back(std::move(result));
        ++k;
        progress = true;
      }
    }
  }
  for (const LayerSpec& s : specs)
    if (!s.is_input && next_node[s.name] < s.nodes.size())
      throw DataLoss("Keras HDF5 file '" + path + "': layer '" + s.name +
                     "' has inbound tensors no layer produces (a cycle or a missing layer)");
  for (const Ref& r : input_refs) {
    bool ready = true;
    const KTensor t = lookup(r, "input_layers", &ready);
    if (!ready || t.value.op().type() != "Placeholder")
      throw DataLoss("Keras HDF5 file '" + path + "': input '" + r.layer + "' is not an InputLayer");
    out.inputs.emplace_back(r.layer, t.value);
  }
  for (const Ref& r : output_refs) {
    bool ready = true;
    const KTensor t = lookup(r, "output_layers", &ready);
    if (!ready) throw DataLoss("Keras HDF5 file '" + path + "': output layer '" + r.layer + "' is not in the model");
    out.outputs.push_back(t.value);
    out.output_layers.push_back(r.layer);
  }
  // The config goes with the graph, so save_keras_model can write it back.
  const Operation cfg_op = ops::constant(root.named("keras_model_config"), Tensor(cfg_text)).op();
  out.graph.add_to_collection(kConfigCollection, cfg_op);
  out.graph.add_to_collection(kVersionCollection, ops::constant(root.named("keras_version"), Tensor(version)).op());

  // ---- weights: every layer with weights needs its group; shapes checked first ----
  if (!h5::has_link(froot, "model_weights") && !built.empty()) {
    bool any = false;
    for (const auto& kv : built) any = any || (kv.second.layer && !kv.second.layer->weights().empty());
    if (any) throw NotFound("Keras HDF5 file '" + path + "' has no model_weights group");
  }
  for (const LayerSpec& s : specs) {
    auto b = built.find(s.name);
    if (b == built.end() || !b->second.layer) continue;
    const std::vector<Operation> vars = b->second.layer->weights();
    if (vars.empty()) continue;
    const std::string where = "model_weights/" + s.name;
    h5::Handle g = h5::open_group(f, froot, "", where);
    const std::vector<std::string> wnames = h5::read_string_array_attr(f, g.get(), where, "weight_names",
                                                                       kMaxNameListBytes);
    if (wnames.size() != vars.size())
      throw InvalidArgument("Keras HDF5 file '" + path + "': '" + where + "' holds " + std::to_string(wnames.size()) +
                            " weights, but layer '" + s.name + "' (" + s.class_name + ") has " +
                            std::to_string(vars.size()));
    // Keras matches by order; names are compared too where they line up, so that a file
    // whose order differs from Sluice's (by name) still loads right.
    const std::string prefix = b->second.layer->name() + "/";
    std::vector<size_t> order(vars.size());
    bool by_name = true;
    for (size_t i = 0; i < wnames.size() && by_name; ++i) {
      std::string w = wnames[i];
      const size_t colon = w.rfind(':');
      if (colon != std::string::npos) w = w.substr(0, colon);
      bool found = false;
      for (size_t j = 0; j < vars.size(); ++j) {
        const std::string& v = vars[j].name();
        const std::string local = v.compare(0, prefix.size(), prefix) == 0 ? v.substr(prefix.size()) : v;
        if (w == v || w == local || (w.size() > local.size() && w.compare(w.size() - local.size() - 1, std::string::npos,
                                                               "/" + local) == 0)) {
          order[i] = j;
          found = true;
          break;
        }
      }
      by_name = found;
    }
    if (by_name) {
      std::set<size_t> distinct(order.begin(), order.end());
      by_name = distinct.size() == order.size();
    }
    if (!by_name)
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<Tensor> values(vars.size());
    for (size_t i = 0; i < wnames.size(); ++i) {
      const Output v = vars[order[i]].output(0);
      SLUICE_REQUIRE(v.dtype() == DType::f32, Unimplemented, "layer '", s.name, "': weight '", v.name(), "' is ",
                     dtype_name(v.dtype()), " (float32 only)");
      values[order[i]] = h5::read_dataset(f, g.get(), where, wnames[i], v.shape().dims(), DType::f32);
    }
    out.weights.emplace_back(b->second.layer, std::move(values));
  }
  return out;
}

}  // namespace keras

std::vector<std::string> keras_output_keys(const std::vector<std::string>& names) {
  std::map<std::string, int> seen;
  std::set<std::string> used;
  std::vector<std::string> keys;
  for (const std::string& n : names) {
    const int k = seen[n]++;
    std::string key = k == 0 ? n : n + "_" + std::to_string(k);
    while (used.count(key)) key += "_";
    used.insert(key);
    keys.push_back(key);
  }
  return keys;
}

bool is_hdf5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  return in.read(head, 8) && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0;
}

models::Model load_keras_model(const std::string& path, const std::vector<KerasCustomLayer>& custom_layers) {
  keras::Loaded l = keras::read_keras_file(path, custom_layers);
  std::vector<Output> inputs;
  for (const auto& kv : l.inputs) inputs.push_back(kv.second);
  models::Model m(inputs, l.outputs, l.name);
  for (const auto& w : l.weights) w.first->set_weights(m.session(), w.second);
  keras::restore_training_state(m, path);
  return m;
}

LoadedModel load_keras_h5(const std::string& path, SessionOptions options) {
  keras::Loaded l = keras::read_keras_file(path, {});
  Signature sig;
  for (const auto& kv : l.inputs) sig.inputs[kv.first] = kv.second;
  const std::vector<std::string> keys = keras_output_keys(l.output_layers);
  for (size_t i = 0; i < keys.size(); ++i) sig.outputs[keys[i]] = l.outputs[i];
  auto session = std::make_unique<Session>(l.graph, options);
  session->run({}, {}, {ops::global_variables_initializer(Scope(l.graph))});
  for (const auto& w : l.weights) w.first->set_weights(*session, w.second);
  return LoadedModel::from_parts(path, l.graph, std::move(session), {{"serving_default", sig}});
}

}  // namespace sluice::io
