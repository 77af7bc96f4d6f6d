// Restoring Keras' training state: training_config -> Model::compile (optimizer, loss,
// metrics), optimizer_weights -> the optimizer's slots and step counter, so fit() resumes.
// Slot names: tf.keras 2.x writes "<Opt>/iter:0" and "<Opt>/<weight>/<slot>:0" (Adam m, v;
// RMSprop rms, momentum; SGD momentum); Keras 2.1's RMSprop writes one accumulator per
// trainable weight, "training/RMSprop/Variable_<k>:0", in weight order.
#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <set>

#include "../../models/model_internal.h"
#include "hdf5.h"
#include "keras_internal.h"

namespace sluice::io::keras {

namespace {

constexpr size_t kMaxTrainingConfigBytes = size_t{1} << 20;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

double number(const json& c, const char* key, double def) {
  return c.contains(key) && c[key].is_number() ? c[key].get<double>() : def;
}

// The loss name Sluice knows, or "" (a per-output dict with different losses, a custom one).
std::string loss_of(const json& tc) {
  static const std::set<std::string> known = {"categorical_crossentropy", "sparse_categorical_crossentropy",
                                              "binary_crossentropy", "mean_squared_error", "mse",
                                              "mean_absolute_error", "mae"};
  if (!tc.contains("loss")) return "";
  const json& l = tc["loss"];
  std::set<std::string> names;
  if (l.is_string()) names.insert(l.get<std::string>());
  if (l.is_object() || l.is_array())
    for (const json& v : l) names.insert(v.is_string() ? v.get<std::string>() : "?");
  if (names.size() != 1 || !known.count(*names.begin())) return "";
  return *names.begin();
}

std::vector<std::string> metrics_of(const json& tc) {
  static const std::set<std::string> known = {"accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                                              "binary_accuracy", "top_k_categorical_accuracy", "precision",
                                              "recall", "mae", "mse"};
  std::vector<std::string> out;
  std::function<void(const json&)> walk = [&](const json& m) {
    if (m.is_array()) {
      for (const json& e : m) walk(e);
      return;
    }
    std::string n;
    if (m.is_string()) n = m.get<std::string>();
    if (m.is_object() && m.contains("config") && m["config"].is_object() && m["config"].contains("name") &&
        m["config"]["name"].is_string())
      n = m["config"]["name"].get<std::string>();
    if (n == "acc") n = "accuracy";
    if (known.count(n) && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  if (tc.contains("metrics")) walk(tc["metrics"]);
  return out;
}

// Sets a variable of the session from the file's dataset (shape checked first).
bool set_from(models::Model& m, const h5::File& f, h5::hid g, const std::string& where, const std::string& dataset,
              const std::string& var) {
  const std::optional<Operation> op = m.graph().find_operation(var);
  if (!op || op->type() != "VariableV2") return false;
  const Output v = op->output(0);
  m.session().set_variable_value(var, h5::read_dataset(f, g, where, dataset, v.shape().dims(), v.dtype()));
  return true;
}

}  // namespace

void restore_training_state(models::Model& m, const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(h5::hdf5_mutex());
  h5::File f = h5::File::open(path);
  if (!h5::has_attr(f.id(), "training_config")) return;
  json tc;
  try {
    tc = json::parse(h5::read_string_attr(f, f.id(), "", "training_config", kMaxTrainingConfigBytes));
  } catch (const json::exception& e) {
    throw DataLoss("Keras HDF5 file '" + path + "': attribute 'training_config' is not valid JSON: " + e.what());
  }
  if (!tc.is_object() || !tc.contains("optimizer_config") || !tc["optimizer_config"].is_object()) return;
  const json& oc = tc["optimizer_config"];
  std::string cls = oc.contains("class_name") && oc["class_name"].is_string() ? oc["class_name"].get<std::string>() : "";
  if (cls.rfind("Custom>", 0) == 0) cls = cls.substr(7);
  const json cfg = oc.contains("config") && oc["config"].is_object() ? oc["config"] : json::object();
  const std::string loss = loss_of(tc);
  // A learning-rate schedule object or Keras' legacy time-based decay has no exact
  // equivalent here: such a model stays uncompiled rather than train differently.
  const json* lr = cfg.contains("learning_rate") ? &cfg["learning_rate"] : (cfg.contains("lr") ? &cfg["lr"] : nullptr);
  if (loss.empty() || !lr || !lr->is_number() || number(cfg, "decay", 0) != 0) return;
  models::OptimizerConfig opt;
  const std::string c = lower(cls);
  if (c == "adam") {
    if (cfg.contains("amsgrad") && cfg["amsgrad"].is_boolean() && cfg["amsgrad"].get<bool>()) return;
    opt = models::adam(lr->get<double>(), number(cfg, "beta_1", 0.9), number(cfg, "beta_2", 0.999),
                       number(cfg, "epsilon", 1e-7));
  } else if (c == "sgd") {
    opt = models::sgd(lr->get<double>(), number(cfg, "momentum", 0),
                      cfg.contains("nesterov") && cfg["nesterov"].is_boolean() && cfg["nesterov"].get<bool>());
  } else if (c == "rmsprop") {
    if (cfg.contains("centered") && cfg["centered"].is_boolean() && cfg["centered"].get<bool>()) return;
    opt = models::rmsprop(lr->get<double>(), number(cfg, "rho", 0.9), number(cfg, "momentum", 0),
                          number(cfg, "epsilon", 1e-7));
  } else {
    return;
  }
  m.compile(opt, loss, metrics_of(tc));

  // ---- optimizer slots ----
  if (!h5::has_link(f.id(), "optimizer_weights")) return;
  h5::Handle g = h5::open_group(f, f.id(), "", "optimizer_weights");
  const std::vector<std::string> names =
      h5::read_string_array_attr(f, g.get(), "optimizer_weights", "weight_names", size_t{64} << 20);
  std::vector<std::string> trainable;
  std::map<std::string, std::string> sluice_name;  // Keras' weight name -> Sluice's
  for (const models::LayerInfo& l : m.layers())
    for (size_t i = 0; i < l.weights.size(); ++i) {
      if (l.trainable[i]) trainable.push_back(l.weights[i]);
      sluice_name[keras_weight_name(l, l.weights[i])] = l.weights[i];
    }
  const bool legacy = !names.empty() && names[0].rfind("training/", 0) == 0;
  if (legacy) {
    // Keras 2.1 RMSprop: one accumulator per trainable weight, in order (other legacy
    // optimizers' layouts are not restored).
    if (c != "rmsprop" || names.size() != trainable.size()) return;
    for (size_t i = 0; i < names.size(); ++i)
      set_from(m, f, g.get(), "optimizer_weights", names[i], trainable[i] + "/RMSprop");
    return;
  }
  static const std::map<std::string, std::string> slot = {
      {"adam:m", "Adam"}, {"adam:v", "Adam_1"}, {"rmsprop:rms", "RMSprop"}, {"rmsprop:momentum", "RMSprop_1"},
      {"sgd:momentum", "Momentum"}};
  for (const std::string& n : names) {
    std::string s = n;
    const size_t colon = s.rfind(':');
    if (colon != std::string::npos) s = s.substr(0, colon);
    const size_t first = s.find('/'), last = s.rfind('/');
    if (first == std::string::npos) continue;
    if (s.substr(first + 1) == "iter") {
      // The step count drives Adam's bias correction and the model's schedules.
      const Tensor it = h5::read_dataset(f, g.get(), "optimizer_weights", n, {}, DType::i64);
      for (const Operation& op : m.graph().operations())
        if (op.type() == "VariableV2" && (op.name() == "iterations" || (op.name().size() > 11 &&
                                                                         op.name().compare(op.name().size() - 11, 11,
                                                                                           "/iterations") == 0)))
          m.session().set_variable_value(op.name(), it);
      continue;
    }
    if (last == first) continue;
    auto it = slot.find(c + ":" + s.substr(last + 1));
    if (it == slot.end()) continue;
    const std::string w = s.substr(first + 1, last - first - 1);
    const auto known = sluice_name.find(w);
    set_from(m, f, g.get(), "optimizer_weights", n, (known == sluice_name.end() ? w : known->second) + "/" + it->second);
  }
}

}  // namespace sluice::io::keras
