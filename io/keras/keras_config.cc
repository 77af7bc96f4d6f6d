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
  ConfigContext ctx{g, used_outside, {}};
  const std::string prefix = layers::kLayerCallPrefix;
  for (const std::string& key : g.collection_keys()) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t colon = key.find(':', prefix.size());
    if (colon != std::string::npos)
      ctx.calls[key.substr(colon + 1)] = {key.substr(prefix.size(), colon - prefix.size()), g.collection(key)};
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


  for (const models::LayerInfo& l : model.layers()) {
    if (input_names.count(l.name)) continue;
    if (l.name.find('/') != std::string::npos) {
      problem(l, "a layer inside a name scope");
      continue;
    }
    auto call_it = ctx.calls.find(l.name);
    if (call_it == ctx.calls.end() || call_it->second.ops.empty()) {
      problem(l, "no recorded call");
      continue;
    }
    const LayerDescription d = describe_layer(ctx, l);
    if (!d.why.empty()) {
      problem(l, d.why);
      continue;
    }
    if (!d.mask_from.empty()) masking_embeddings.insert(d.mask_from);
    for (size_t k = 0; k < d.nodes.size(); ++k)
      for (size_t i = 0; i < d.nodes[k].outputs.size(); ++i) {
        auto key = std::make_pair(static_cast<const Node*>(d.nodes[k].outputs[i].node()), d.nodes[k].outputs[i].index());
        if (!producer.count(key)) producer[key] = {l.name, static_cast<int>(k), static_cast<int>(i)};
      }
    pending.push_back({&l, d.config, d.cls, d.nodes});
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
