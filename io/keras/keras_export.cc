// Sluice -> Keras HDF5: the model_config (kept from the file a model was loaded from, or
// generated from the model's layers) and the current weights, in the layout and with the
// attribute types Keras itself writes (see the README's "Keras models" section).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "../../models/model_internal.h"
#include "../../models/saving.h"
#include "hdf5.h"
#include "keras_internal.h"

namespace sluice::io {
namespace keras {

// The config generated for a model built in Sluice (keras_config.cc).
json generate_model_config(const models::Model& model);

namespace {

// The Const a loaded model keeps its config in, or empty.
std::string stored_string(const Graph& g, const char* collection) {
  for (const Operation& op : g.collection(collection)) {
    const AttrValue* v = op.node() ? op.node()->find_attr("value") : nullptr;
    if (!v || !v->holds<Tensor>()) continue;
    const Tensor& t = v->get<Tensor>("value");
    if (t.dtype() == DType::string && t.num_elements() == 1) return t.string_at(0);
  }
  return "";
}

// The layer list of a config in any dialect.
const json& config_layers(const json& cfg) {
  static const json empty = json::array();
  if (!cfg.contains("config")) return empty;
  const json& c = cfg["config"];
  if (c.is_array()) return c;
  if (c.is_object() && c.contains("layers") && c["layers"].is_array()) return c["layers"];
  return empty;
}

std::string optimizer_class(const std::string& name) {
  if (name == "sgd") return "SGD";
  if (name == "rmsprop") return "RMSprop";
  return "Adam";
}

// Keras' training_config for a compiled model (what Keras' compile state restores from).
json training_config(const models::Model& model) {
  const models::Model::Compiled& c = models::ModelAccess::compiled(const_cast<models::Model&>(model));
  json opt = {{"name", optimizer_class(c.optimizer.name)}, {"learning_rate", model.learning_rate()}};
  if (c.optimizer.name == "adam") {
    opt["beta_1"] = c.optimizer.beta_1;
    opt["beta_2"] = c.optimizer.beta_2;
    opt["epsilon"] = c.optimizer.epsilon;
    opt["amsgrad"] = false;
  } else if (c.optimizer.name == "sgd") {
    opt["momentum"] = c.optimizer.momentum;
    opt["nesterov"] = c.optimizer.nesterov;
  } else {
    opt["rho"] = c.optimizer.rho;
    opt["momentum"] = c.optimizer.momentum;
    opt["epsilon"] = c.optimizer.epsilon;
    opt["centered"] = false;
  }
  opt["decay"] = 0.0;
  json metrics = json::array();
  for (const std::string& m : c.metric_names) metrics.push_back(m);
  return {{"loss", c.loss},
          {"metrics", metrics},
          {"weighted_metrics", nullptr},
          {"loss_weights", nullptr},
          {"optimizer_config", {{"class_name", optimizer_class(c.optimizer.name)}, {"config", opt}}}};
}

// Keras' optimizer_weights for a compiled model, as tf.keras 2.x's OptimizerV2 lists them:
// "<Opt>/iter:0" (int64), then each slot kind for every trainable weight in model order
// (Adam: all m, then all v; RMSprop: rms, then momentum when momentum > 0; SGD: momentum when
// momentum > 0), named "<Opt>/<weight>/<slot>:0". Sluice's slot variables are
// "<weight>/Adam" (m), "<weight>/Adam_1" (v), "<weight>/RMSprop", "<weight>/RMSprop_1",
// "<weight>/Momentum" (what restore_training_state reads back). Empty when a slot is missing
// (e.g. before the first step built nothing): no partial state is written.
std::vector<std::pair<std::string, Output>> optimizer_weights(const models::Model& model) {
  models::Model& mm = const_cast<models::Model&>(model);
  const models::Model::Compiled& c = models::ModelAccess::compiled(mm);
  const std::string cls = optimizer_class(c.optimizer.name);
  std::vector<std::pair<std::string, std::string>> slots;  // keras slot, sluice suffix
  if (c.optimizer.name == "adam") slots = {{"m", "Adam"}, {"v", "Adam_1"}};
  if (c.optimizer.name == "rmsprop") {
    slots = {{"rms", "RMSprop"}};
    if (c.optimizer.momentum > 0) slots.push_back({"momentum", "RMSprop_1"});
  }
  if (c.optimizer.name == "sgd" && c.optimizer.momentum > 0) slots = {{"momentum", "Momentum"}};
  std::vector<std::pair<std::string, Output>> out;
  if (!c.iterations.valid()) return {};
  out.push_back({cls + "/iter:0", c.iterations});
  std::vector<std::pair<std::string, std::string>> trainable;  // Sluice name, Keras name
  for (const models::LayerInfo& l : model.layers())
    for (size_t i = 0; i < l.weights.size(); ++i)
      if (l.trainable[i]) trainable.push_back({l.weights[i], keras_weight_name(l, l.weights[i])});
  for (const auto& s : slots)
    for (const auto& w : trainable) {
      const std::optional<Operation> op = model.graph().find_operation(w.first + "/" + s.second);
      if (!op || op->type() != "VariableV2") return {};
      out.push_back({cls + "/" + w.second + "/" + s.first + ":0", op->output(0)});
    }
  return out;
}

}  // namespace

}  // namespace keras

void save_keras_model(const models::Model& model, const std::string& path) {
  using keras::json;
  std::string cfg_text = keras::stored_string(model.graph(), keras::kConfigCollection);
  std::string version = keras::stored_string(model.graph(), keras::kVersionCollection);
  json cfg;
  if (cfg_text.empty()) {
    cfg = keras::generate_model_config(model);
    cfg_text = cfg.dump();
    version = "2.4.0";  // the dialect generate_model_config writes (tf.keras 2.4's Functional)
  } else {
    cfg = json::parse(cfg_text);
  }
  if (version.empty()) version = "2.4.0";

  // Every weight of every layer of the config, by layer name, with its current value.
  std::map<std::string, const models::LayerInfo*> infos;
  for (const models::LayerInfo& l : model.layers()) infos[l.name] = &l;
  std::vector<std::string> layer_names;
  for (const json& l : keras::config_layers(cfg)) {
    const std::string n = l.contains("config") && l["config"].contains("name") ? l["config"]["name"].get<std::string>()
                                                                               : "";
    if (!n.empty()) layer_names.push_back(n);
  }
  // Keras' Sequential of 2.1 has no InputLayer in the list; models built that way have no
  // group for it either.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::lock_guard<std::recursive_mutex> lock(h5::hdf5_mutex());
    h5::File f = h5::File::create(tmp);
    try {
      const h5::hid root = f.id();
      h5::write_string_attr(f, root, "", "keras_version", version, h5::StrKind::vlen_utf8);
      h5::write_string_attr(f, root, "", "backend", "tensorflow", h5::StrKind::vlen_utf8);
      h5::write_string_attr(f, root, "", "model_config", cfg_text, h5::StrKind::vlen_ascii);
      if (model.compiled()) {
        h5::write_string_attr(f, root, "", "training_config", keras::training_config(model).dump(),
                              h5::StrKind::vlen_ascii);
        const auto opt = keras::optimizer_weights(model);
        if (!opt.empty()) {
          h5::Handle og = h5::create_group(f, root, "", "optimizer_weights");
          std::vector<std::string> onames;
          std::vector<Output> ovars;
          for (const auto& kv : opt) {
            onames.push_back(kv.first);
            ovars.push_back(kv.second);
          }
          h5::write_string_array_attr(f, og.get(), "optimizer_weights", "weight_names", onames);
          const std::vector<Tensor> values = model.session().run({}, ovars);
          for (size_t i = 0; i < values.size(); ++i)
            h5::write_dataset(f, og.get(), "optimizer_weights", onames[i], values[i]);
        }
      }
      h5::Handle mw = h5::create_group(f, root, "", "model_weights");
      h5::write_string_array_attr(f, mw.get(), "model_weights", "layer_names", layer_names);
      h5::write_string_attr(f, mw.get(), "model_weights", "backend", "tensorflow", h5::StrKind::vlen_ascii);
      h5::write_string_attr(f, mw.get(), "model_weights", "keras_version", version, h5::StrKind::vlen_ascii);
      for (const std::string& n : layer_names) {
        const std::string where = "model_weights/" + n;
        h5::Handle g = h5::create_group(f, mw.get(), "model_weights", n);
        std::vector<std::string> wnames;
        std::vector<Output> vars;
        auto it = infos.find(n);
        if (it != infos.end()) {
          for (const std::string& v : it->second->weights) {
            wnames.push_back(keras::keras_weight_name(*it->second, v) + ":0");
            vars.push_back(model.graph().tensor(v + ":0"));
          }
        }
        h5::write_string_array_attr(f, g.get(), where, "weight_names", wnames);
        if (vars.empty()) continue;
        const std::vector<Tensor> values = model.session().run({}, vars);
        for (size_t i = 0; i < vars.size(); ++i) h5::write_dataset(f, g.get(), where, wnames[i], values[i]);
      }
      f.flush();
      f.close();
    } catch (...) {
      f.close();
      std::remove(tmp.c_str());
      throw;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw InvalidArgument("save_keras_model: cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
  }
}

namespace {
// Model::save("m.h5") and models::load_model("m.h5") reach this file through the models
// layer's format hook (models/saving.h), so models/ does not depend on io/keras.
const bool kRegistered = [] {
  models::detail::register_model_file_format(
      {".h5", ".hdf5"},
      {"Keras HDF5", save_keras_model, [](const std::string& path) { return load_keras_model(path); }});
  return true;
}();
}  // namespace

}  // namespace sluice::io

// Referenced by static links (CMakeLists.txt: --undefined) so that this object file, and with
// it the registration above, is kept.
extern "C" int sluice_keras_h5_format_anchor() { return sluice::io::kRegistered ? 1 : 0; }
