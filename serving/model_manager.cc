#include "model_manager.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sluice::serving {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

[[noreturn]] void config_error(const std::string& what, const std::string& message) {
  throw InvalidArgument(what + ": " + message);
}

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& what,
                const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!allowed.count(it.key())) config_error(what, where + ": unknown field '" + it.key() + "'");
}

int64_t json_int(const json& v, const std::string& what, const std::string& where) {
  // Versions may be written as numbers or as strings, as protobuf's JSON mapping allows.
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    if (auto n = parse_version_folder(v.get<std::string>())) return *n;
  }
  config_error(what, where + " must be a non-negative integer, got " + v.dump());
}

VersionPolicy parse_policy(const json& p, const std::string& what, const std::string& where) {
  if (!p.is_object() || p.size() != 1)
    config_error(what, where + " must be an object with exactly one of 'latest', 'all', 'specific'");
  VersionPolicy policy;
  const std::string kind = p.begin().key();
  const json& body = p.begin().value();
  if (!body.is_object()) config_error(what, where + "." + kind + " must be an object");
  if (kind == "latest") {
    check_keys(body, {"num_versions"}, what, where + ".latest");
    policy.kind = VersionPolicy::Kind::latest;
    if (body.contains("num_versions")) {
      policy.num_versions = json_int(body["num_versions"], what, where + ".latest.num_versions");
      if (policy.num_versions < 1) config_error(what, where + ".latest.num_versions must be >= 1");
    }
  } else if (kind == "all") {
    check_keys(body, {}, what, where + ".all");
    policy.kind = VersionPolicy::Kind::all;
  } else if (kind == "specific") {
    check_keys(body, {"versions"}, what, where + ".specific");
    policy.kind = VersionPolicy::Kind::specific;
    if (!body.contains("versions") || !body["versions"].is_array() || body["versions"].empty())
      config_error(what, where + ".specific.versions must be a non-empty list of versions");
    for (const json& v : body["versions"]) policy.versions.insert(json_int(v, what, where + ".specific.versions"));
  } else {
    config_error(what, where + ": unknown version policy '" + kind + "' (latest, all, specific)");
  }
  return policy;
}

// The versions `policy` selects among those on disk.
std::set<int64_t> wanted_versions(const VersionPolicy& policy, const std::set<int64_t>& on_disk) {
  std::set<int64_t> out;
  switch (policy.kind) {
    case VersionPolicy::Kind::all:
      return on_disk;
    case VersionPolicy::Kind::specific:
      for (int64_t v : policy.versions)
        if (on_disk.count(v)) out.insert(v);
      return out;
    case VersionPolicy::Kind::latest: {
      int64_t n = 0;
      for (auto it = on_disk.rbegin(); it != on_disk.rend() && n < policy.num_versions; ++it, ++n) out.insert(*it);
      return out;
    }
  }
  return out;
}

}  // namespace

std::vector<ModelConfig> parse_model_config(const std::string& text, const std::string& what) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    config_error(what, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("model_config_list") || !doc["model_config_list"].is_array())
    config_error(what, "expected an object with a 'model_config_list' list");
  check_keys(doc, {"model_config_list"}, what, "top level");
  std::vector<ModelConfig> configs;
  std::set<std::string> names;
  int i = 0;
  for (const json& m : doc["model_config_list"]) {
    const std::string where = "model_config_list[" + std::to_string(i++) + "]";
    if (!m.is_object()) config_error(what, where + " must be an object");
    check_keys(m, {"name", "base_path", "model_platform", "model_version_policy", "version_labels"}, what, where);
    ModelConfig c;
    if (!m.contains("name") || !m["name"].is_string() || m["name"].get<std::string>().empty())
      config_error(what, where + ".name must be a non-empty string");
    if (!m.contains("base_path") || !m["base_path"].is_string() || m["base_path"].get<std::string>().empty())
      config_error(what, where + ".base_path must be a non-empty string");
    c.name = m["name"].get<std::string>();
    if (c.name.find_first_of("/:") != std::string::npos)
      config_error(what, where + ".name '" + c.name + "' may not contain '/' or ':'");
    c.base_path = m["base_path"].get<std::string>();
    if (m.contains("model_platform") && m["model_platform"] != "tensorflow" && m["model_platform"] != "sluice")
      config_error(what, where + ".model_platform must be \"tensorflow\" or \"sluice\"");
    if (m.contains("model_version_policy"))
      c.policy = parse_policy(m["model_version_policy"], what, where + ".model_version_policy");
    if (m.contains("version_labels")) {
      if (!m["version_labels"].is_object()) config_error(what, where + ".version_labels must be an object");
      for (auto it = m["version_labels"].begin(); it != m["version_labels"].end(); ++it)
        c.version_labels[it.key()] = json_int(it.value(), what, where + ".version_labels." + it.key());
    }
    if (!names.insert(c.name).second) config_error(what, "model name '" + c.name + "' appears twice");
    configs.push_back(std::move(c));
  }
  if (configs.empty()) config_error(what, "model_config_list is empty");
  return configs;
}

std::vector<ModelConfig> read_model_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NotFound("model config file '" + path + "' cannot be opened");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_model_config(ss.str(), "model config file '" + path + "'");
}

std::optional<int64_t> parse_version_folder(const std::string& name) {
  if (name.empty() || name.size() > 64) return std::nullopt;
  int64_t v = 0;
  for (char ch : name) {
    if (ch < '0' || ch > '9') return std::nullopt;
    if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, int64_t{ch - '0'}, &v))
      return std::nullopt;
  }
  return v;
}

const char* version_state_name(VersionState state) {
  switch (state) {
    case VersionState::start: return "START";
    case VersionState::loading: return "LOADING";
    case VersionState::available: return "AVAILABLE";
    case VersionState::unloading: return "UNLOADING";
    case VersionState::end: return "END";
  }
  return "UNKNOWN";
}

Servable load_servable(const std::string& model_name, int64_t version, const std::string& dir,
                        SessionOptions session_options) {
  std::string source = dir;
  if (!io::is_tf_saved_model(dir) && !fs::exists(fs::path(dir) / io::kBundleGraphFile)) {
    // A version folder holding one ONNX or Keras HDF5 file (TF Serving's layout for non-TF
    // platforms).
    std::vector<fs::path> onnx;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".onnx" || e.path().extension() == ".h5") onnx.push_back(e.path());
    if (onnx.size() == 1) source = onnx[0].string();
  }
  Servable s{model_name, version, io::load_model(source, session_options), {}, nullptr};
  if (io::is_tf_saved_model(dir)) {
    const io::TfSavedModelInfo info = io::inspect_tf_saved_model(dir);
    for (const auto& mg : info.meta_graphs) {
      if (std::find(mg.tags.begin(), mg.tags.end(), "serve") == mg.tags.end()) continue;
      for (const auto& kv : mg.signatures) s.method_names[kv.first] = kv.second.method_name;
    }
  }
  return s;
}

ModelManager::ModelManager(std::vector<ModelConfig> configs, OnLoad on_load, SessionOptions session_options)
    : on_load_(std::move(on_load)), session_options_(session_options), snapshot_(std::make_shared<Snapshot>()) {
  for (ModelConfig& c : configs) {
    const std::string name = c.name;
    if (models_.count(name)) throw InvalidArgument("model name '" + name + "' is configured twice");
    models_[name].config = std::move(c);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  publish_locked();
}

ModelManager::~ModelManager() { stop_polling(); }

void ModelManager::publish_locked() {
  auto snap = std::make_shared<Snapshot>();
  for (const auto& kv : models_) (*snap)[kv.first] = kv.second.loaded;
  snapshot_ = std::move(snap);
}

std::shared_ptr<const ModelManager::Snapshot> ModelManager::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_;
}

void ModelManager::poll() {
  std::lock_guard<std::mutex> scan(poll_mutex_);
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& kv : models_) names.push_back(kv.first);
  }
  for (const std::string& name : names) poll_model(name);
}

void ModelManager::poll_model(const std::string& name) {
  ModelConfig config;
  std::set<int64_t> loaded, failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Model& m = models_.at(name);
    config = m.config;
    for (const auto& kv : m.loaded) loaded.insert(kv.first);
    for (const auto& kv : m.states)
      if (kv.second.state == VersionState::end && kv.second.error) failed.insert(kv.first);
  }
  std::map<int64_t, std::string> on_disk;
  std::error_code ec;
  fs::directory_iterator it(config.base_path, ec), end;
  if (ec) {
    std::cerr << "sluice serve: model '" << name << "': cannot read base path '" << config.base_path
              << "': " << ec.message() << "\n";
    return;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const std::string fname = it->path().filename().string();
    const auto v = parse_version_folder(fname);
    std::error_code dec;
    if (v && it->is_directory(dec)) on_disk.emplace(*v, it->path().string());  // "1" and "01": first wins
  }
  // The policy chooses among the versions that can load: a failed version does not push a
  // working one out (a broken "latest" leaves the previous version serving). A version that
  // failed stays failed until its folder goes away (half-written folders are what atomic
  // renames avoid). Newest first; repeated when a load fails, so its replacement is chosen.
  std::map<int64_t, ServableHandle> fresh;
  std::set<int64_t> wanted;
  for (bool retry = true; retry;) {
    retry = false;
    std::set<int64_t> candidates;
    for (const auto& kv : on_disk)
      if (!failed.count(kv.first)) candidates.insert(kv.first);
    wanted = wanted_versions(config.policy, candidates);
    for (auto v = wanted.rbegin(); v != wanted.rend(); ++v) {
      if (loaded.count(*v) || fresh.count(*v)) continue;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        models_.at(name).states[*v] = VersionStatus{*v, VersionState::loading, std::nullopt, ""};
      }
      std::optional<VersionStatus> failure;
      try {
        auto s = std::make_shared<Servable>(load_servable(name, *v, on_disk.at(*v), session_options_));
        if (on_load_) on_load_(*s);
        fresh[*v] = std::move(s);
        std::cerr << "sluice serve: loaded model '" << name << "' version " << *v << " from '" << on_disk.at(*v)
                  << "'\n";
      } catch (const Error& e) {
        failure = VersionStatus{*v, VersionState::end, e.code(), e.what()};
      } catch (const std::exception& e) {
        failure = VersionStatus{*v, VersionState::end, ErrorCode::internal, e.what()};
      }
      if (failure) {
        std::cerr << "sluice serve: model '" << name << "' version " << *v
                  << " failed to load: " << failure->error_message << "\n";
        std::lock_guard<std::mutex> lock(mutex_);
        models_.at(name).states[*v] = *failure;
        failed.insert(*v);
        retry = true;
        break;
      }
    }
  }
  // Publish: new versions in, unwanted ones out, in one swap. Requests holding an old
  // handle finish on it; its memory goes with the last handle.
  std::lock_guard<std::mutex> lock(mutex_);
  Model& m = models_.at(name);
  bool changed = !fresh.empty();
  for (auto& kv : fresh) {
    m.loaded[kv.first] = kv.second;
    m.states[kv.first] = VersionStatus{kv.first, VersionState::available, std::nullopt, ""};
  }
  for (auto l = m.loaded.begin(); l != m.loaded.end();) {
    if (wanted.count(l->first)) {
      ++l;
      continue;
    }
    m.states[l->first] = VersionStatus{l->first, VersionState::end, std::nullopt, ""};
    std::cerr << "sluice serve: unloaded model '" << name << "' version " << l->first << "\n";
    l = m.loaded.erase(l);
    changed = true;
  }
  // A failed version whose folder is gone is forgotten (it may come back, then it is retried).
  for (auto s = m.states.begin(); s != m.states.end();) {
    if (s->second.error && !on_disk.count(s->first)) s = m.states.erase(s);
    else ++s;
  }
  if (changed) publish_locked();
}

void ModelManager::start_polling(std::chrono::milliseconds interval) {
  stop_polling();
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stopping_ = false;
  }
  poller_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(stop_mutex_);
    while (!stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      poll();
      lock.lock();
    }
  });
}

void ModelManager::stop_polling() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

ServableHandle ModelManager::find(const std::string& name, std::optional<int64_t> version,
                                  const std::optional<std::string>& label) const {
  if (version && label)
    throw InvalidArgument(detail::str_cat("Both model version (", *version, ") and model version label (", *label,
                                          ") cannot be supplied."));
  if (label) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto m = models_.find(name);
    if (m == models_.end()) throw NotFound("Servable not found for request: Latest(" + name + ")");
    auto l = m->second.config.version_labels.find(*label);
    if (l == m->second.config.version_labels.end())
      throw InvalidArgument("Unrecognized servable version label: " + *label);
    version = l->second;
  }
  const auto snap = snapshot();
  auto m = snap->find(name);
  if (version) {
    if (m != snap->end()) {
      auto v = m->second.find(*version);
      if (v != m->second.end()) return v->second;
    }
    throw NotFound(detail::str_cat("Servable not found for request: Specific(", name, ", ", *version, ")"));
  }
  if (m == snap->end() || m->second.empty()) throw NotFound("Servable not found for request: Latest(" + name + ")");
  return m->second.rbegin()->second;
}

std::vector<VersionStatus> ModelManager::status(const std::string& name, std::optional<int64_t> version) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto m = models_.find(name);
  if (m == models_.end() || m->second.states.empty())
    throw NotFound("Could not find any versions of model " + name);
  std::vector<VersionStatus> out;
  if (version) {
    auto s = m->second.states.find(*version);
    if (s == m->second.states.end())
      throw NotFound(detail::str_cat("Could not find version ", *version, " of model ", name));
    out.push_back(s->second);
    return out;
  }
  for (auto s = m->second.states.rbegin(); s != m->second.states.rend(); ++s) out.push_back(s->second);
  return out;
}

std::vector<std::string> ModelManager::model_names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& kv : models_) out.push_back(kv.first);
  return out;
}

std::vector<ServableHandle> ModelManager::available() const {
  const auto snap = snapshot();
  std::vector<ServableHandle> out;
  for (const auto& m : *snap)
    for (auto v = m.second.rbegin(); v != m.second.rend(); ++v) out.push_back(v->second);
  return out;
}

}  // namespace sluice::serving
