// Internal to io/keras: the layer table's types, shared by the importer and the writer.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../graph/layers.h"
#include "keras_h5.h"

namespace sluice::io::keras {

using json = nlohmann::json;

// Graph collection holding the Const with the model_config JSON a model was loaded from
// (what save_keras_model writes back), and the one with the file's keras_version.
inline constexpr const char* kConfigCollection = "keras:model_config";
inline constexpr const char* kVersionCollection = "keras:keras_version";

// Tensors flowing between layers, with the Keras mask each carries (empty: none).
struct KTensor {
  Output value;
  Output mask;
};

// One built layer: the object owning its weights (null for weightless layers built from
// ops), and how to call it on its inbound tensors (inputs, then initial states).
struct BuiltLayer {
  std::shared_ptr<layers::Layer> layer;
  std::function<std::vector<KTensor>(const Scope&, const std::vector<KTensor>& inputs,
                                     const std::vector<Output>& states)>
      call;
};

// A table entry: builds the layer from its config (the layer's "config" object).
using LayerFactory = std::function<BuiltLayer(const json& config, const std::string& name)>;

// One reference to a layer's output in a config: [layer name, node index, tensor index].
struct Ref {
  std::string layer;
  int64_t node = 0, tensor = 0;
};
// A layer call of the config: inputs, then initial states (tf.keras' initial_state keyword).
struct NodeSpec {
  std::vector<Ref> inputs, states;
};
// An inbound entry, and a layer's inbound_nodes (keras_import.cc); DataLoss when malformed.
Ref ref_of(const json& e, const std::string& layer);
std::vector<NodeSpec> parse_nodes(const json& layer, const std::string& name);
// A recurrent layer's (or Bidirectional's) extra inbound tensors are its initial states (before
// tf.keras put them in the call's keyword arguments): moved from `in` to the end of `states`.
void split_initial_states(const std::string& cls, std::vector<KTensor>& in, std::vector<Output>& states);

// The layer table (class name -> factory) and the problems a config has that Sluice cannot
// run (appended as "Class (layer name): why").
const std::map<std::string, LayerFactory>& layer_table();
void check_layer_config(const std::string& class_name, const json& config, const std::string& name,
                        std::vector<std::string>& problems);

// With a training_config the file's optimizer, loss and metrics compile `m`, and
// optimizer_weights fill its optimizer slots (keras_training.cc). Nothing happens for a
// config Sluice cannot reproduce exactly (a custom loss, a schedule, legacy decay).
void restore_training_state(models::Model& m, const std::string& path);

// Wrapping layers (keras_wrappers.cc): whether a config says data_format "channels_first";
// a layer run on the channels-last transpose of its input (and its output transposed back
// when it keeps the rank); TimeDistributed; a Sequential model used as a layer.
bool is_channels_first(const json& config);
BuiltLayer channels_first(BuiltLayer inner);
BuiltLayer time_distributed(const json& config, const std::string& name);
// The classes TimeDistributed is loaded (and generated) over.
bool time_distributable(const std::string& cls);
BuiltLayer nested_sequential(const json& config, const std::string& name);
// A Functional (or Model) used as a layer: any number of inputs and outputs, each inner layer
// called once (its inputs may be any inner layer's outputs, by tensor index); weights in the
// inner layers' order, matched by name where the file's differ.
BuiltLayer nested_functional(const json& config, const std::string& name);

// Weight options (keras_options.cc). Loading: the problems of a layer's trainable flag,
// regularizers and constraints (appended as in check_layer_config), and setting them on the
// layer before its first call. Saving: whether a layer of a Sluice model is frozen, and its
// "trainable", initializer, regularizer and constraint keys recovered from the graph into `c`
// (`why` set when something there has no Keras form).
void check_layer_options(const std::string& class_name, const json& config, const std::string& name,
                         std::vector<std::string>& problems);
void apply_layer_options(const std::string& class_name, const json& config, const std::string& name,
                         layers::Layer& layer);
bool layer_frozen(const Graph& g, const models::LayerInfo& l);
void add_weight_options(const Graph& g, const models::LayerInfo& l, const std::string& class_name, json& c,
                        std::string& why);
// The name Keras gives weight `var` of layer `l`: Keras builds a wrapped layer's weights in the
// wrapper's scope ("time_distributed/kernel"), Sluice's inner layer in its own
// ("time_distributed/dense/kernel"); other weights keep Sluice's name.
std::string keras_weight_name(const models::LayerInfo& l, const std::string& var);
// The shortest decimal a float32 computation maps to the same value (0.99, not 0.990000009).
double tidy(double v);

// The value of a scalar float Const (NaN when `t` is not one): a layer's attribute the
// generated graph holds as a constant (keras_config.cc, keras_options.cc).
double const_value(const Output& t);

// Generating a model_config (keras_config.cc, keras_config_layers.cc). A layer call's outputs as
// Keras indexes them (several may share a value), and what feeds it (inputs, then initial
// states).
struct LayerGraph {
  std::vector<Output> outputs;
  std::vector<Output> inbound;
};
// What describing a layer reads: the graph, whether a tensor is used outside a layer's scope
// (by another layer or as a model output), and each layer's recorded calls by layer name.
struct ConfigContext {
  struct Calls {
    std::string type;            // the layer's type name ("dense")
    std::vector<Operation> ops;  // each call's recorded output op
  };
  const Graph& g;
  std::function<bool(const Output&, const std::string&)> used_outside;
  std::map<std::string, Calls> calls;
};
// A layer's Keras class, config and one inbound node per call; `why` is set (and the rest
// unusable) when it has no exact Keras form. `mask_from` names the Embedding whose mask a
// recurrent layer reads (its config then needs mask_zero).
struct LayerDescription {
  std::string cls;
  json config;
  std::vector<LayerGraph> nodes;
  std::string mask_from;
  std::string why;
};
LayerDescription describe_layer(const ConfigContext& ctx, const models::LayerInfo& l);

// Config readers with messages naming the layer ("layer 'dense': ...").
int64_t get_int(const json& c, const char* key, const std::string& layer, int64_t def);
double get_double(const json& c, const char* key, const std::string& layer, double def);
bool get_bool(const json& c, const char* key, const std::string& layer, bool def);
std::string get_string(const json& c, const char* key, const std::string& layer, const std::string& def);
// An int or a list of ints ([3] or 3 -> {3, 3} with n = 2).
std::vector<int64_t> get_ints(const json& c, const char* key, const std::string& layer, size_t n,
                              std::vector<int64_t> def);

}  // namespace sluice::io::keras
