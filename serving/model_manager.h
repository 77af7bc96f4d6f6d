// The model manager: which models a server serves, which versions of each are loaded, and
// the hot reload that keeps them current. TensorFlow Serving's layout: a model's base path
// holds numeric version folders (`/models/mnist/1/`, `/models/mnist/00000123/` = version
// 123), each a Sluice bundle, a TF SavedModel folder or a folder holding one `.onnx` file,
// loaded with io::load_model.
//
//   ModelManager manager({ModelConfig{"mnist", "/models/mnist"}});
//   manager.poll();                                   // loads what the policies ask for
//   ServableHandle h = manager.find("mnist");         // the newest AVAILABLE version
//   h->model.run("serving_default", {{"image", x}});  // the version stays loaded while h lives
//
// Hot reload: poll() (called by start_polling's thread every few seconds) loads a new
// version beside the old one, then swaps the set of servable versions in one step; requests
// that hold a handle of the old version finish on it, and it is freed when the last handle
// goes. A version that fails to load is reported (state END, the error in its status) and
// the versions already loaded keep serving.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sluice/sluice.h>

namespace sluice::serving {

// Which of the version folders found under a base path to serve (TF Serving's
// ServableVersionPolicy): the newest `num_versions`, all of them, or exactly those listed.
struct VersionPolicy {
  enum class Kind { latest, all, specific };
  Kind kind = Kind::latest;
  int64_t num_versions = 1;          // for latest; >= 1
  std::set<int64_t> versions;        // for specific; not empty
};

struct ModelConfig {
  std::string name;
  std::string base_path;
  VersionPolicy policy;
  std::map<std::string, int64_t> version_labels;  // "stable" -> 1 (`/labels/stable`)
};

// Parses a model config file: JSON with TensorFlow Serving's model_config_list field names
//   {"model_config_list": [
//      {"name": "mnist", "base_path": "/models/mnist",
//       "model_version_policy": {"latest": {"num_versions": 2}}   // or {"all": {}},
//                                                                 // or {"specific": {"versions": [1, 3]}}
//       "version_labels": {"stable": 1}}]}
// Errors: InvalidArgument naming the file and the field (bad JSON, a missing or mistyped
// field, an unknown key, a duplicate model name, a non-positive num_versions), NotFound for
// a missing file.
std::vector<ModelConfig> parse_model_config(const std::string& json_text, const std::string& what);
std::vector<ModelConfig> read_model_config_file(const std::string& path);

// Folder name -> version number: only ASCII digits, leading zeros allowed ("00000123" ->
// 123); nullopt for anything else or a number beyond int64.
std::optional<int64_t> parse_version_folder(const std::string& name);

// TF Serving's ManagerState names, as the status API reports them.
enum class VersionState { start, loading, available, unloading, end };
const char* version_state_name(VersionState state);  // "START", "LOADING", "AVAILABLE", ...

struct VersionStatus {
  int64_t version = 0;
  VersionState state = VersionState::start;
  std::optional<ErrorCode> error;  // set when loading failed
  std::string error_message;
};

// One loaded version of one model. Immutable once published; shared by the requests using it.
struct Servable {
  std::string model_name;
  int64_t version = 0;
  io::LoadedModel model;
  // Method names of the signatures when the source says them (TF SavedModels); Sluice
  // bundles' signatures are all "tensorflow/serving/predict".
  std::map<std::string, std::string> method_names;
  // Extra per-version state the HTTP layer attaches (batchers), created on publication.
  std::shared_ptr<void> attachment;
};
using ServableHandle = std::shared_ptr<const Servable>;

// Loads the version in `dir` (io::load_model; a folder holding exactly one .onnx file loads
// that file). Errors as io::load_model; NotFound for an empty folder.
Servable load_servable(const std::string& model_name, int64_t version, const std::string& dir,
                        SessionOptions session_options = {});

class ModelManager {
 public:
  // Called (under no lock) for every newly loaded version before it becomes visible; the
  // HTTP layer uses it to attach batchers.
  using OnLoad = std::function<void(Servable&)>;

  // Every version's Session gets `session_options` (e.g. num_threads = 1 when concurrent
  // requests, not intra-op threads, should use the cores).
  explicit ModelManager(std::vector<ModelConfig> configs, OnLoad on_load = {}, SessionOptions session_options = {});
  ~ModelManager();  // stops polling
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // One scan of every base path: loads the versions the policy wants that are not loaded
  // (each beside the ones serving), publishes the new set atomically, then drops the
  // versions the policy no longer wants. A base path that cannot be read leaves its model's
  // versions as they are. Safe to call from any thread (scans are serialised).
  void poll();
  // A thread calling poll() every `interval` until stop_polling() or destruction.
  void start_polling(std::chrono::milliseconds interval);
  void stop_polling();

  // The servable for a request, with TF Serving's NotFound messages:
  //   "Servable not found for request: Latest(mnist)" / "...: Specific(mnist, 3)",
  //   "Unrecognized servable version label: stable".
  // Latest is the newest AVAILABLE version. InvalidArgument when both version and label are set.
  ServableHandle find(const std::string& name, std::optional<int64_t> version = std::nullopt,
                      const std::optional<std::string>& label = std::nullopt) const;

  // Version states of one model, newest first ("Could not find any versions of model x" /
  // "Could not find version 3 of model x": NotFound).
  std::vector<VersionStatus> status(const std::string& name, std::optional<int64_t> version = std::nullopt) const;

  std::vector<std::string> model_names() const;
  // Every currently available servable of every model (the status page, metrics).
  std::vector<ServableHandle> available() const;

 private:
  struct Model {
    ModelConfig config;
    std::map<int64_t, VersionStatus> states;  // every version ever seen
    std::map<int64_t, ServableHandle> loaded;
  };
  using Snapshot = std::map<std::string, std::map<int64_t, ServableHandle>>;

  void poll_model(const std::string& name);
  std::shared_ptr<const Snapshot> snapshot() const;
  void publish_locked();

  OnLoad on_load_;
  SessionOptions session_options_;
  std::mutex poll_mutex_;          // one scan at a time
  mutable std::mutex mutex_;       // models_ and snapshot_
  std::map<std::string, Model> models_;
  std::shared_ptr<const Snapshot> snapshot_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace sluice::serving
