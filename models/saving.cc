// Model::save and load_model: a model bundle (graph.json with a "serving_default"
// signature, variables.ckpt with every variable, optimizer state included) plus
// model.json, the model and training config that lets fit() resume.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../io/bundle.h"
#include "../io/checkpoint.h"
#include "../io/graph_io.h"
#include "../io/saver.h"
#include "model_internal.h"
#include "saving.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace sluice::models {

namespace {

constexpr const char* kConfigFile = "model.json";
constexpr const char* kConfigFormat = "sluice-keras-model";
constexpr int kConfigVersion = 1;
constexpr int64_t kMaxConfigBytes = int64_t{64} << 20;

std::vector<std::string> names(const std::vector<Output>& ts) {
  std::vector<std::string> r;
  for (const auto& t : ts) r.push_back(t.name());
  return r;
}

json shape_json(const Shape& s) { return s.known_rank() ? json(s.dims()) : json(nullptr); }

}  // namespace

namespace {

std::mutex& formats_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::string, detail::ModelFileFormat>& formats() {
  static std::map<std::string, detail::ModelFileFormat> f;
  return f;
}

// The registered format whose extension ends `path` ("m.h5": Keras' HDF5, registered by
// io/keras), or null for a bundle folder. Unimplemented for ".h5"/".hdf5" when nothing
// registered them (a static link that left io/keras out).
const detail::ModelFileFormat* format_of(const std::string& path, detail::ModelFileFormat* copy) {
  {
    std::lock_guard<std::mutex> lock(formats_mutex());
    for (const auto& kv : formats()) {
      const std::string& e = kv.first;
      if (path.size() > e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0) {
        *copy = kv.second;
        return copy;
      }
    }
  }
  for (const char* e : {".h5", ".hdf5"}) {
    const std::string ext = e;
    if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
      throw Unimplemented("'" + path + "': Keras HDF5 files need io/keras, which this program does not link");
  }
  return nullptr;
}

}  // namespace

namespace detail {
void register_model_file_format(const std::vector<std::string>& extensions, ModelFileFormat format) {
  std::lock_guard<std::mutex> lock(formats_mutex());
  for (const std::string& e : extensions) formats()[e] = format;
}
}  // namespace detail

void Model::save(const std::string& dir, bool overwrite) const {
  require_built("save");
  detail::ModelFileFormat fmt;
  if (format_of(dir, &fmt)) {
    std::error_code ec;
    SLUICE_REQUIRE(overwrite || !fs::exists(dir, ec), AlreadyExists, "save: '", dir, "' exists (pass overwrite=true)");
    fmt.save(*this, dir);
    return;
  }
  const fs::path target(dir);
  std::error_code ec;
  if (fs::exists(target, ec)) {
    SLUICE_REQUIRE(overwrite, AlreadyExists, "save: '", dir, "' exists (pass overwrite=true)");
    SLUICE_REQUIRE(fs::exists(target / kConfigFile, ec) || fs::is_empty(target, ec), AlreadyExists,
                   "save: '", dir, "' exists and is not a saved model; not overwriting it");
  }
  io::Signature sig;
  for (const auto& t : inputs_) sig.inputs[t.node()->name] = t;
  for (const auto& t : outputs_) sig.outputs[t.node()->name] = t;

  json cfg;
  cfg["format"] = kConfigFormat;
  cfg["version"] = kConfigVersion;
  cfg["name"] = name_;
  cfg["sequential"] = sequential_;
  cfg["inputs"] = names(inputs_);
  cfg["outputs"] = names(outputs_);
  json ls = json::array();
  for (const auto& l : layers_) {
    json j;
    j["name"] = l.name;
    j["type"] = l.type;
    j["output_shape"] = shape_json(l.output_shape);
    j["weights"] = l.weights;
    std::vector<int> tr(l.trainable.begin(), l.trainable.end());
    j["trainable"] = tr;
    j["inbound"] = l.inbound;
    j["params"] = l.params;
    j["trainable_params"] = l.trainable_params;
    ls.push_back(j);
  }
  cfg["layers"] = ls;
  if (compiled_) {
    const Compiled& c = *compiled_;
    json t;
    const OptimizerConfig& o = c.optimizer;
    t["optimizer"] = {{"name", o.name},           {"learning_rate", o.learning_rate},
                      {"beta_1", o.beta_1},       {"beta_2", o.beta_2},
                      {"epsilon", o.epsilon},     {"rho", o.rho},
                      {"momentum", o.momentum},   {"nesterov", o.nesterov},
                      {"clipnorm", o.clipnorm},   {"clipvalue", o.clipvalue},
                      {"global_clipnorm", o.global_clipnorm}};
    const LearningRateSchedule& sc = o.schedule;
    t["optimizer"]["schedule"] = {{"kind", static_cast<int>(sc.kind)},
                                  {"decay_steps", sc.decay_steps},
                                  {"decay_rate", sc.decay_rate},
                                  {"staircase", sc.staircase},
                                  {"boundaries", sc.boundaries},
                                  {"values", sc.values},
                                  {"end_learning_rate", sc.end_learning_rate},
                                  {"power", sc.power},
                                  {"alpha", sc.alpha},
                                  {"warmup_target", sc.warmup_target},
                                  {"warmup_steps", sc.warmup_steps}};
    t["effective_learning_rate"] = c.effective_learning_rate.name();
    t["loss"] = c.loss;
    t["metrics"] = c.metric_names;
    t["sparse"] = c.sparse;
    t["targets"] = names(c.targets);
    t["sample_weight"] = c.sample_weight.name();
    t["total_loss"] = c.total_loss.name();
    t["train_op"] = c.train_op.name();
    if (c.constraints_op.valid()) t["constraints_op"] = c.constraints_op.name();
    t["learning_rate"] = c.learning_rate.name();
    t["iterations"] = c.iterations.name();
    json ms = json::array();
    for (const auto& m : c.metrics)
      ms.push_back({{"name", m.name},
                    {"kind", m.kind == MetricDef::Kind::mean ? "mean" : m.kind == MetricDef::Kind::ratio ? "ratio" : "auc"},
                    {"a", m.a.name()},
                    {"b", m.b.valid() ? m.b.name() : ""},
                    {"c", m.c.valid() ? m.c.name() : ""},
                    {"d", m.d.valid() ? m.d.name() : ""}});
    t["metric_defs"] = ms;
    cfg["training"] = t;
  }

  // Assemble next to the target, then swap it in: the folder is whole or absent.
  const fs::path tmp = target.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  SLUICE_REQUIRE(fs::create_directory(tmp, ec), NotFound, "save: cannot create '", tmp.string(),
                 "': ", ec.message());
  try {
    io::write_graph(graph_, (tmp / io::kBundleGraphFile).string(), {{"serving_default", sig}});
    io::Saver(graph_).save(*session_, (tmp / io::kBundleVariablesFile).string());
    io::write_file_atomically((tmp / kConfigFile).string(), cfg.dump(1) + "\n");
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  const fs::path old = target.string() + ".old-" + std::to_string(::getpid());
  const bool had = fs::exists(target, ec);
  if (had) fs::rename(target, old, ec);
  SLUICE_REQUIRE(!ec, Internal, "save: cannot move the old '", dir, "' aside: ", ec.message());
  fs::rename(tmp, target, ec);
  SLUICE_REQUIRE(!ec, Internal, "save: cannot rename '", tmp.string(), "' to '", dir, "': ", ec.message());
  if (had) fs::remove_all(old, ec);
}

Model load_model(const std::string& dir) {
  detail::ModelFileFormat fmt;
  if (format_of(dir, &fmt)) return fmt.load(dir);
  const fs::path root(dir);
  const std::string cfg_path = (root / kConfigFile).string();
  std::error_code ec;
  SLUICE_REQUIRE(fs::is_directory(root, ec), NotFound, "load_model: '", dir, "' is not a folder");
  SLUICE_REQUIRE(fs::is_regular_file(cfg_path, ec), NotFound, "load_model: '", cfg_path,
                 "' not found (not a model saved by Model::save)");
  const auto size = fs::file_size(cfg_path, ec);
  SLUICE_REQUIRE(!ec && static_cast<int64_t>(size) <= kMaxConfigBytes, DataLoss, "load_model: '",
                 cfg_path, "' is too large or unreadable");
  std::ifstream in(cfg_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  json cfg;
  try {
    cfg = json::parse(text.str());
  } catch (const json::exception& e) {
    throw DataLoss("load_model: '" + cfg_path + "' is not valid JSON: " + e.what());
  }
  Model m;
  try {
    SLUICE_REQUIRE(cfg.is_object() && cfg.value("format", "") == kConfigFormat, DataLoss,
                   "not a ", kConfigFormat, " file");
    SLUICE_REQUIRE(cfg.at("version").get<int>() <= kConfigVersion, Unimplemented, "version ",
                   cfg.at("version").get<int>(), " is newer than this reader (", kConfigVersion, ")");
    m.graph_ = io::read_graph((root / io::kBundleGraphFile).string());
    const Graph& g = m.graph_;
    m.name_ = cfg.at("name").get<std::string>();
    m.sequential_ = cfg.at("sequential").get<bool>();
    for (const auto& n : cfg.at("inputs")) m.inputs_.push_back(g.tensor(n.get<std::string>()));
    for (const auto& n : cfg.at("outputs")) m.outputs_.push_back(g.tensor(n.get<std::string>()));
    for (const auto& j : cfg.at("layers")) {
      LayerInfo l;
      l.name = j.at("name").get<std::string>();
      l.type = j.at("type").get<std::string>();
      l.output_shape = j.at("output_shape").is_null()
                           ? Shape::unknown_rank()
                           : Shape(j.at("output_shape").get<std::vector<int64_t>>());
      l.weights = j.at("weights").get<std::vector<std::string>>();
      for (int t : j.at("trainable").get<std::vector<int>>()) l.trainable.push_back(t != 0);
      SLUICE_REQUIRE(l.trainable.size() == l.weights.size(), DataLoss, "layer '", l.name,
                     "': weights and trainable flags disagree");
      for (const auto& w : l.weights) g.operation(w);  // NotFound for a weight not in the graph
      l.inbound = j.at("inbound").get<std::vector<std::string>>();
      l.params = j.at("params").get<int64_t>();
      l.trainable_params = j.at("trainable_params").get<int64_t>();
      m.layers_.push_back(l);
    }
    m.session_ = std::make_unique<Session>(m.graph_);
    io::Saver(m.graph_).restore(*m.session_, (root / io::kBundleVariablesFile).string());
    if (cfg.contains("training")) {
      const json& t = cfg.at("training");
      auto c = std::make_unique<Model::Compiled>();
      const json& o = t.at("optimizer");
      c->optimizer.name = o.at("name").get<std::string>();
      c->optimizer.learning_rate = o.at("learning_rate").get<double>();
      c->optimizer.beta_1 = o.at("beta_1").get<double>();
      c->optimizer.beta_2 = o.at("beta_2").get<double>();
      c->optimizer.epsilon = o.at("epsilon").get<double>();
      c->optimizer.rho = o.at("rho").get<double>();
      c->optimizer.momentum = o.at("momentum").get<double>();
      c->optimizer.nesterov = o.at("nesterov").get<bool>();
      c->optimizer.clipnorm = o.at("clipnorm").get<double>();
      c->optimizer.clipvalue = o.at("clipvalue").get<double>();
      c->optimizer.global_clipnorm = o.at("global_clipnorm").get<double>();
      const json& sc = o.at("schedule");
      const int kind = sc.at("kind").get<int>();
      SLUICE_REQUIRE(kind >= 0 && kind <= 4, DataLoss, "unknown schedule kind ", kind);
      c->optimizer.schedule.kind = static_cast<LearningRateSchedule::Kind>(kind);
      c->optimizer.schedule.decay_steps = sc.at("decay_steps").get<int64_t>();
      c->optimizer.schedule.decay_rate = sc.at("decay_rate").get<double>();
      c->optimizer.schedule.staircase = sc.at("staircase").get<bool>();
      c->optimizer.schedule.boundaries = sc.at("boundaries").get<std::vector<int64_t>>();
      c->optimizer.schedule.values = sc.at("values").get<std::vector<double>>();
      c->optimizer.schedule.end_learning_rate = sc.at("end_learning_rate").get<double>();
      c->optimizer.schedule.power = sc.at("power").get<double>();
      c->optimizer.schedule.alpha = sc.at("alpha").get<double>();
      c->optimizer.schedule.warmup_target = sc.at("warmup_target").get<double>();
      c->optimizer.schedule.warmup_steps = sc.at("warmup_steps").get<int64_t>();
      c->effective_learning_rate = g.tensor(t.at("effective_learning_rate").get<std::string>());
      c->loss = t.at("loss").get<std::string>();
      c->metric_names = t.at("metrics").get<std::vector<std::string>>();
      c->sparse = t.at("sparse").get<bool>();
      for (const auto& n : t.at("targets")) c->targets.push_back(g.tensor(n.get<std::string>()));
      SLUICE_REQUIRE(c->targets.size() == m.outputs_.size(), DataLoss,
                     "one target per output expected");
      c->sample_weight = g.tensor(t.at("sample_weight").get<std::string>());
      c->total_loss = g.tensor(t.at("total_loss").get<std::string>());
      c->train_op = g.operation(t.at("train_op").get<std::string>());
      if (t.contains("constraints_op"))
        c->constraints_op = g.operation(t.at("constraints_op").get<std::string>());
      c->learning_rate = g.tensor(t.at("learning_rate").get<std::string>());
      c->iterations = g.tensor(t.at("iterations").get<std::string>());
      for (const auto& j : t.at("metric_defs")) {
        MetricDef d;
        d.name = j.at("name").get<std::string>();
        const std::string kind = j.at("kind").get<std::string>();
        d.kind = kind == "ratio" ? MetricDef::Kind::ratio : kind == "auc" ? MetricDef::Kind::auc : MetricDef::Kind::mean;
        d.a = g.tensor(j.at("a").get<std::string>());
        if (d.kind != MetricDef::Kind::mean) d.b = g.tensor(j.at("b").get<std::string>());
        if (d.kind == MetricDef::Kind::auc) {
          d.c = g.tensor(j.at("c").get<std::string>());
          d.d = g.tensor(j.at("d").get<std::string>());
        }
        c->metrics.push_back(d);
      }
      m.compiled_ = std::move(c);
    }
  } catch (const json::exception& e) {
    throw DataLoss("load_model: '" + cfg_path + "': " + e.what());
  } catch (const NotFound& e) {
    throw NotFound("load_model: '" + dir + "': " + e.what());
  }
  m.built_ = true;
  return m;
}

}  // namespace sluice::models
