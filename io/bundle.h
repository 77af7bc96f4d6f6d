// Model bundles: a folder holding a graph file with named signatures and a checkpoint of
// the variables it needs, which another program loads and runs by signature name without
// knowing any op names (TensorFlow's SavedModel idea). Layout in docs/formats.md ("Model
// bundles").
//
//   io::save_model("export/mlp", sess, {{"serving_default", {{{"image", img}}, {{"scores", probs}}}}});
//   ...
//   io::LoadedModel model = io::load_model("export/mlp");        // another process
//   Tensor scores = model.run("serving_default", {{"image", batch}}).at("scores");
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../runtime/session.h"
#include "graph_io.h"

namespace sluice::io {

// File names inside a bundle folder.
inline constexpr const char* kBundleGraphFile = "graph.json";
inline constexpr const char* kBundleVariablesFile = "variables.ckpt";

// Writes a bundle of `session`'s graph to the folder `dir`: the graph pruned to what the
// signatures need (data, reference and control inputs of their outputs and inputs), with
// the signatures stored by tensor name, and the session's current values of the variables
// in that graph. The folder is assembled under a temporary name next to `dir` and renamed
// into place once complete and flushed to disk, so `dir` is either absent or a whole
// bundle, whatever happens mid-save.
//
// Errors: InvalidArgument (no signatures, a signature without outputs or with an empty
// key, a tensor of another graph), FailedPrecondition (a needed variable is not
// initialised), AlreadyExists (`dir` exists and is not an empty folder: bundles are never
// overwritten in place), NotFound (the parent folder does not exist), and I/O errors.
void save_model(const std::string& dir, const Session& session,
                const std::map<std::string, Signature>& signatures);

// A loaded bundle: owns its Graph, a Session with the variables restored, and the
// signatures resolved to tensors of that graph. Movable, not copyable. run() is safe to
// call from many threads at once.
class LoadedModel {
 public:
  LoadedModel(LoadedModel&&) noexcept;
  LoadedModel& operator=(LoadedModel&&) noexcept;
  ~LoadedModel();

  const Graph& graph() const { return graph_; }
  Session& session() const { return *session_; }
  const std::map<std::string, Signature>& signatures() const { return signatures_; }
  std::vector<std::string> signature_names() const;
  // NotFound naming the signatures there are.
  const Signature& signature(const std::string& name) const;

  // Feeds `inputs` (keys exactly the signature's input keys) and returns every output of
  // the signature by key. Errors: NotFound (unknown signature), InvalidArgument (a missing
  // or unexpected input key, a value whose dtype or shape the signature does not accept),
  // naming the signature, the key and both dtypes/shapes; kernel errors as Session::run.
  std::map<std::string, Tensor> run(const std::string& signature,
                                    const std::map<std::string, Tensor>& inputs) const;

  // Where the model was loaded from (a bundle folder, a SavedModel folder, a model file).
  const std::string& source() const { return dir_; }

  // Assembles a model from parts (what the importers of other formats build): `session` must
  // be a session on `graph` with the variables restored, and every signature tensor must be
  // a tensor of `graph`. InvalidArgument otherwise, naming the signature and key.
  static LoadedModel from_parts(std::string source, Graph graph, std::unique_ptr<Session> session,
                                std::map<std::string, Signature> signatures);

 private:
  friend LoadedModel load_model(const std::string& dir, SessionOptions options);
  LoadedModel() = default;

  std::string dir_;
  Graph graph_;
  std::unique_ptr<Session> session_;
  std::map<std::string, Signature> signatures_;
};

// Loads the bundle in `dir`; a path ending in ".onnx" that is a file loads that ONNX model
// instead (io::load_onnx_model, io/onnx/onnx_import.h), and a folder holding a TensorFlow
// SavedModel (saved_model.pb) is loaded by io::load_tf_saved_model(dir, {"serve"})
// (io/tf/tf_import.h). Errors: NotFound (no folder, or a folder without the bundle's
// files), DataLoss / Unimplemented for a corrupt or newer graph file or checkpoint (naming
// the file), NotFound / InvalidArgument when the checkpoint lacks a variable of the graph
// or disagrees with its dtype or shape.
LoadedModel load_model(const std::string& dir, SessionOptions options = {});

}  // namespace sluice::io
