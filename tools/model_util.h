// What the subcommands share: recognising a file's format, opening any model the library
// reads as (graph, session, signatures), reading tensors from the command line, statistics.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sluice/sluice.h>

namespace sluice::cli {

enum class Format {
  sluice_checkpoint,  // one file, "SLUICECK" magic
  sluice_graph,       // graph JSON
  sluice_bundle,      // folder with graph.json + variables.ckpt
  npz,
  npy,
  tf_checkpoint,   // prefix with .index / .data-* files (or a folder with a `checkpoint` file)
  tf_graph_def,    // binary GraphDef (.pb)
  tf_meta_graph,   // .meta
  tf_saved_model,  // folder with saved_model.pb
  onnx,            // .onnx
  keras_h5,        // Keras HDF5 model file (.h5), model.save("m.h5")
};

// "sluice-checkpoint", "sluice-graph", "sluice-bundle", "npz", "npy", "tf-checkpoint",
// "tf-graphdef", "tf-metagraph", "tf-savedmodel", "onnx", "keras-h5".
const char* format_name(Format f);
// True for the formats that hold a graph (everything but checkpoints and NumPy files).
bool is_model_format(Format f);

struct Detected {
  Format format;
  std::string path;  // normalised: a TF checkpoint's prefix, a SavedModel's folder
};
// Looks at `path` (contents first, then the file name for protobufs). NotFound when it does
// not exist; InvalidArgument "unknown format" naming the path otherwise.
Detected detect_format(const std::string& path);

// Any model as a graph with a session whose variables hold the model's values.
struct Model {
  Detected source;
  Graph graph;
  Session* session = nullptr;  // owned by `owned` or by `loaded`
  std::map<std::string, io::Signature> signatures;
  std::map<std::string, std::string> skipped;  // MetaGraph parts not imported: op type -> node
  std::string weights;  // where the variable values came from ("" none / initializers)

  std::unique_ptr<Session> owned;
  std::optional<io::LoadedModel> loaded;
};

// Opens a model of any graph format. Variables are restored (bundles, SavedModels, a
// MetaGraph with its checkpoint next to it) or, where the file holds none, initialised by
// their initializers. InvalidArgument for a checkpoint or NumPy file ("holds no graph").
std::unique_ptr<Model> open_model(const std::string& path, const SessionOptions& options = {});

// The tensor a command-line name denotes: "node:index" / "node" in the graph, or for an ONNX
// model also the ONNX value name. NotFound naming it otherwise.
Output find_tensor(const Model& model, const std::string& name);

// The learning-phase node of the graph, or "" (never creates one).
std::string learning_phase_name(const Graph& graph);

// A tensor given on the command line: "file.npy", "file.npz:array", "file.npz" (one array),
// or a JSON literal ("[[1,2]]", "3.5", "true"). Literals become `want` (f32 when the caller
// has no preference); numeric file arrays are cast to `want` when it differs.
Tensor parse_tensor_arg(const std::string& value, std::optional<DType> want);

// Per-tensor statistics over finite values; nan/inf counted separately.
struct TensorStats {
  double min = 0, max = 0, mean = 0, std = 0;
  int64_t nan = 0, inf = 0, finite = 0;
};
TensorStats tensor_stats(const Tensor& t);

// "[?,784]" as a JSON array with -1 for unknown dims (null for an unknown rank).
std::vector<int64_t> shape_dims(const Shape& s);

// Human-readable byte and count sizes: "1.2 MB", "1,234,567".
std::string human_bytes(double bytes);
std::string with_commas(int64_t n);

}  // namespace sluice::cli
