// Model bundles: save_model writes <dir>/graph.json and <dir>/variables.ckpt through a
// temporary folder renamed into place; load_model reads them back into a fresh graph and
// session.
#include "bundle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "checkpoint.h"
#include "keras/keras_h5.h"
#include "onnx/onnx_import.h"
#include "saver.h"
#include "tf/tf_import.h"

namespace sluice::io {

namespace {

namespace fs = std::filesystem;

std::string strip_slashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string join(const std::vector<std::string>& names) {
  std::string r;
  for (const std::string& n : names) r += (r.empty() ? "'" : ", '") + n + "'";
  return r.empty() ? "none" : r;
}

}  // namespace

void save_model(const std::string& dir_in, const Session& session,
                const std::map<std::string, Signature>& signatures) {
  const std::string dir = strip_slashes(dir_in);
  SLUICE_REQUIRE(!dir.empty(), InvalidArgument, "save_model: empty folder name");
  SLUICE_REQUIRE(!signatures.empty(), InvalidArgument,
                 "save_model: a bundle needs at least one signature (e.g. \"serving_default\")");
  const Graph& graph = session.graph();
  const GraphDef full = graph_to_def(graph, signatures);

  // Keep what the signatures need: their outputs and inputs, and everything upstream.
  std::vector<std::string> roots;
  for (const auto& [name, sig] : full.signatures)
    for (const auto* side : {&sig.inputs, &sig.outputs})
      for (const auto& [key, info] : *side) roots.push_back(detail::parse_tensor_name(info.name, false, "").first);
  GraphDef def = prune_graph_def(full, roots);
  def.signatures = full.signatures;
  // Restored from the checkpoint on load: the initializers are not part of the bundle.
  def.variable_initializers.clear();

  std::vector<Operation> variables;
  std::vector<std::string> uninitialised;
  for (const NodeDef& n : def.nodes) {
    if (n.op != "VariableV2") continue;
    variables.push_back(graph.operation(n.name));
    if (!session.is_variable_initialized(n.name)) uninitialised.push_back(n.name);
  }
  SLUICE_REQUIRE(uninitialised.empty(), FailedPrecondition, "save_model: variables needed by the signatures are ",
                 "not initialised in this session: ", join(uninitialised));
  const std::string graph_text = graph_def_to_json(def);

  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    std::error_code ec;
    const bool empty_dir = S_ISDIR(st.st_mode) && fs::is_empty(dir, ec) && !ec;
    SLUICE_REQUIRE(empty_dir, AlreadyExists, "save_model: '", dir,
                   "' already exists; a bundle is written to a new (or empty) folder, never over another");
  }
  const fs::path target(dir);
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  SLUICE_REQUIRE(fs::is_directory(parent, ec), NotFound, "save_model: folder '", parent.string(), "' does not exist");
  static std::atomic<uint64_t> counter{0};
  const fs::path tmp = parent / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(counter++));
  if (::mkdir(tmp.c_str(), 0755) != 0)
    throw FailedPrecondition("save_model: cannot create '" + tmp.string() + "': " + std::strerror(errno));
  try {
    write_file_atomically((tmp / kBundleGraphFile).string(), graph_text);
    const std::string ckpt = (tmp / kBundleVariablesFile).string();
    if (variables.empty()) {
      write_checkpoint(ckpt, {});
    } else {
      Saver(variables).save(session, ckpt);
    }
    fsync_dir(tmp.string());
    // rename() replaces an empty folder atomically and refuses a non-empty one.
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      const int err = errno;
      if (err == ENOTEMPTY || err == EEXIST || err == ENOTDIR)
        throw AlreadyExists("save_model: '" + dir + "' appeared while the bundle was being written");
      throw FailedPrecondition("save_model: cannot rename '" + tmp.string() + "' to '" + dir + "': " +
                               std::strerror(err));
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  fsync_dir(parent.string());
}

// ---- LoadedModel ----

LoadedModel::LoadedModel(LoadedModel&&) noexcept = default;
LoadedModel& LoadedModel::operator=(LoadedModel&&) noexcept = default;
LoadedModel::~LoadedModel() = default;

std::vector<std::string> LoadedModel::signature_names() const {
  std::vector<std::string> names;
  for (const auto& kv : signatures_) names.push_back(kv.first);
  return names;
}

const Signature& LoadedModel::signature(const std::string& name) const {
  auto it = signatures_.find(name);
  SLUICE_REQUIRE(it != signatures_.end(), NotFound, "model '", dir_, "' has no signature '", name,
                 "' (it has ", join(signature_names()), ")");
  return it->second;
}

std::map<std::string, Tensor> LoadedModel::run(const std::string& name,
                                               const std::map<std::string, Tensor>& inputs) const {
  const Signature& sig = signature(name);
  std::vector<std::string> expected;
  for (const auto& kv : sig.inputs) expected.push_back(kv.first);
  for (const auto& [key, value] : inputs)
    SLUICE_REQUIRE(sig.inputs.count(key), InvalidArgument, "signature '", name, "': unexpected input '", key,
                   "' (its inputs are ", join(expected), ")");
  FeedList feeds;
  for (const auto& [key, x] : sig.inputs) {
    auto it = inputs.find(key);
    SLUICE_REQUIRE(it != inputs.end(), InvalidArgument, "signature '", name, "': missing input '", key,
                   "' (", dtype_name(x.dtype()), x.shape().to_string(), ")");
    const Tensor& v = it->second;
    SLUICE_REQUIRE(v.valid(), InvalidArgument, "signature '", name, "' input '", key, "' is an empty Tensor");
    SLUICE_REQUIRE(v.dtype() == x.dtype() && x.shape().compatible_with(v.shape()), InvalidArgument, "signature '",
                   name, "' input '", key, "' expects ", dtype_name(x.dtype()), x.shape().to_string(), ", got ",
                   dtype_name(v.dtype()), v.shape().to_string());
    feeds.emplace_back(x, v);
  }
  std::vector<TensorRef> fetches;
  for (const auto& kv : sig.outputs) fetches.emplace_back(kv.second);
  std::vector<Tensor> values = session_->run(feeds, fetches);
  std::map<std::string, Tensor> out;
  size_t i = 0;
  for (const auto& kv : sig.outputs) out[kv.first] = values[i++];
  return out;
}

LoadedModel LoadedModel::from_parts(std::string source, Graph graph,
                                    std::unique_ptr<Session> session,
                                    std::map<std::string, Signature> signatures) {
  SLUICE_REQUIRE(session != nullptr && session->graph() == graph, InvalidArgument,
                 "LoadedModel::from_parts: the session of '", source, "' is not on its graph");
  for (const auto& [name, sig] : signatures) {
    for (const auto* side : {&sig.inputs, &sig.outputs})
      for (const auto& [key, t] : *side)
        SLUICE_REQUIRE(t.valid() && t.graph() == graph, InvalidArgument, "LoadedModel::from_parts: signature '",
                       name, "' key '", key, "' of '", source, "' is not a tensor of the model's graph");
  }
  LoadedModel m;
  m.dir_ = std::move(source);
  m.graph_ = std::move(graph);
  m.session_ = std::move(session);
  m.signatures_ = std::move(signatures);
  return m;
}

LoadedModel load_model(const std::string& dir_in, SessionOptions options) {
  const std::string dir = strip_slashes(dir_in);
  struct stat st {};
  // An ONNX model file (io/onnx/onnx_import.h).
  if (dir.size() > 5 && dir.compare(dir.size() - 5, 5, ".onnx") == 0 && ::stat(dir.c_str(), &st) == 0 &&
      S_ISREG(st.st_mode))
    return load_onnx_model(dir, options);
  // A Keras HDF5 model file (io/keras/keras_h5.h).
  for (const char* ext : {".h5", ".hdf5", ".keras"})
    if (dir.size() > std::strlen(ext) && dir.compare(dir.size() - std::strlen(ext), std::string::npos, ext) == 0 &&
        ::stat(dir.c_str(), &st) == 0 && S_ISREG(st.st_mode) && is_hdf5_file(dir))
      return load_keras_h5(dir, options);
  SLUICE_REQUIRE(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), NotFound, "load_model: no model bundle at '",
                 dir, "' (not a folder)");
  const std::string graph_path = dir + "/" + kBundleGraphFile;
  const std::string ckpt_path = dir + "/" + kBundleVariablesFile;
  // A TensorFlow 1.x SavedModel (saved_model.pb + variables/): its "serve" MetaGraph.
  if (::stat(graph_path.c_str(), &st) != 0 && is_tf_saved_model(dir)) return load_tf_saved_model(dir, {"serve"}, options);
  for (const std::string& p : {graph_path, ckpt_path})
    SLUICE_REQUIRE(::stat(p.c_str(), &st) == 0, NotFound, "load_model: '", dir, "' is not a model bundle (no ",
                   p.substr(dir.size() + 1), ")");

  LoadedModel m;
  m.dir_ = dir;
  // read_graph applies the file's seed and learning phase; import_graph_file resolves the
  // signatures, so read through the def once and import it here.
  const std::string text = read_graph_file_text(graph_path);
  GraphDef def;
  try {
    def = graph_def_from_json(text);
  } catch (const Error& e) {
    throw_error(e.code(), "load_model: '" + graph_path + "': " + e.what());
  }
  SLUICE_REQUIRE(!def.signatures.empty(), DataLoss, "load_model: '", graph_path, "' holds no signatures");
  m.graph_.set_random_seed(def.random_seed);
  try {
    m.signatures_ = import_graph_def(m.graph_, def).signatures;
  } catch (const Error& e) {
    throw_error(e.code(), "load_model: '" + graph_path + "': " + e.what());
  }
  m.session_ = std::make_unique<Session>(m.graph_, options);
  // Every variable of the graph (as save_model stored every one), whether or not it is in
  // the global-variables collection.
  std::vector<Operation> vars;
  for (const Operation& op : m.graph_.operations())
    if (op.type() == "VariableV2") vars.push_back(op);
  if (!vars.empty()) {
    Saver(vars).restore(*m.session_, ckpt_path);
  } else {
    read_checkpoint(ckpt_path);  // still validated: a damaged bundle is reported, not ignored
  }
  return m;
}

}  // namespace sluice::io
