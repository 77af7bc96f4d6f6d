// A Keras model_config for a model built in Sluice (not loaded from a Keras file): each
// layer's Keras config recovered from its weights' shapes and the ops in its name scope, in
// tf.keras 2.4's "Functional" dialect. Only layers whose whole config can be recovered
// that way are written; anything else is one Unimplemented error naming the layers.
#include <set>

#include "keras_internal.h"

namespace sluice::io::keras {

namespace {

// The ops of the graph under "<layer>/".
std::vector<Operation> scope_ops(const Graph& g, const std::string& layer) {
  std::vector<Operation> out;
  const std::string prefix = layer + "/";
  for (const Operation& op : g.operations())
    if (op.name().compare(0, prefix.size(), prefix) == 0) out.push_back(op);
  return out;
}

// The activation applied inside the layer's scope, by op type.
std::string activation_in(const std::vector<Operation>& ops) {
  static const std::map<std::string, std::string> acts = {
      {"Relu", "relu"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"}, {"Softmax", "softmax"}};
  for (const Operation& op : ops) {
    auto it = acts.find(op.type());
    if (it != acts.end()) return it->second;
  }
  return "linear";
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
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    default: return "float32";
  }
}

}  // namespace

json generate_model_config(const models::Model& model) {
  const Graph& g = model.graph();
  json layers = json::array();
  std::vector<std::string> problems;
  json input_layers = json::array(), output_layers = json::array();
  std::set<std::string> input_names;
  for (const Output& in : model.inputs()) {
    const std::string n = in.op().name();
    input_names.insert(n);
    layers.push_back({{"class_name", "InputLayer"},
                      {"name", n},
                      {"config",
                       {{"batch_input_shape", shape_json(in.shape())},
                        {"dtype", keras_dtype(in.dtype())},
                        {"sparse", false},
                        {"ragged", false},
                        {"name", n}}},
                      {"inbound_nodes", json::array()}});
    input_layers.push_back({n, 0, 0});
  }
  for (const models::LayerInfo& l : model.layers()) {
    if (input_names.count(l.name)) continue;
    if (l.name.find('/') != std::string::npos) {
      problems.push_back(l.type + " (" + l.name + "): a layer inside a name scope");
      continue;
    }
    const std::vector<Operation> ops = scope_ops(g, l.name);
    json c = {{"name", l.name}, {"trainable", true}, {"dtype", "float32"}};
    auto var_shape = [&](size_t i) { return g.tensor(l.weights.at(i) + ":0").shape(); };
    if (l.type == "Dense" && (l.weights.size() == 1 || l.weights.size() == 2)) {
      c["units"] = var_shape(0).dim(1);
      c["activation"] = activation_in(ops);
      c["use_bias"] = l.weights.size() == 2;
    } else if (l.type == "Flatten" && l.weights.empty()) {
      c["data_format"] = "channels_last";
    } else if (l.type == "Activation" && l.weights.empty()) {
      c["activation"] = activation_in(ops);
    } else if (l.type == "Dropout" && l.weights.empty()) {
      double rate = -1;
      for (const Operation& op : ops)
        if (op.type() == "Dropout") rate = op.node()->attr<double>("rate");
      if (rate < 0) {
        problems.push_back(l.type + " (" + l.name + "): no Dropout op found");
        continue;
      }
      c["rate"] = rate;
      c["noise_shape"] = nullptr;
      c["seed"] = nullptr;
    } else {
      problems.push_back(l.type + " (" + l.name + ")");
      continue;
    }
    json inbound = json::array();
    for (const std::string& from : l.inbound) inbound.push_back({from, 0, 0, json::object()});
    layers.push_back({{"class_name", l.type}, {"name", l.name}, {"config", c}, {"inbound_nodes", {inbound}}});
  }
  if (!problems.empty()) {
    std::string msg = "save_keras_model: the Keras config of a model built in Sluice is generated for Dense, "
                      "Flatten, Activation and Dropout layers only; not for: ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Unimplemented(msg + " (models loaded from Keras files keep their own config and save any layer)");
  }
  for (const Output& out : model.outputs()) {
    // The layer whose output this is: the longest layer name that prefixes the op's name.
    std::string best;
    for (const models::LayerInfo& l : model.layers())
      if ((out.op().name() == l.name || out.op().name().compare(0, l.name.size() + 1, l.name + "/") == 0) &&
          l.name.size() > best.size())
        best = l.name;
    if (best.empty()) throw Unimplemented("save_keras_model: output '" + out.name() + "' is not a layer's output");
    output_layers.push_back({best, 0, 0});
  }
  return {{"class_name", "Functional"},
          {"config",
           {{"name", model.name()},
            {"layers", layers},
            {"input_layers", input_layers},
            {"output_layers", output_layers}}}};
}

}  // namespace sluice::io::keras
