// Importing TensorFlow 1.x models, with no TensorFlow installed: frozen GraphDefs (.pb),
// MetaGraphs (.meta, with a TF checkpoint for the weights) and SavedModels. Everything is
// read into an ordinary Sluice Graph, so scopes, input maps, freezing, bundles and serving
// work on them as on Sluice's own files. The op mapping is in docs/tf_ops.md; formats in
// docs/formats.md.
//
//   Graph g; Scope root(g);
//   Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 1});
//   Output pred = io::import_tf_graph_def(g, "frozen.pb", {"model_001", {{"X:0", x}}, {"pred:0"}}).tensors[0];
//
//   // The seed workflow: one .meta imported N times, each restored from its own checkpoint.
//   io::import_tf_meta_graph(g, "model.meta", {"model_001"});
//   io::import_tf_meta_graph(g, "model.meta", {"model_002"});
//   Session sess(g);
//   io::restore_into_scope(sess, "ckpt_a/model", "model_001");
//   io::restore_into_scope(sess, "ckpt_b/model", "model_002");
//
//   io::LoadedModel m = io::load_model("half_plus_two/00000123");   // a SavedModel folder
//   m.run("serving_default", {{"x", Tensor::from_vector<float>({1, 2}, {2, 1})}});
#pragma once

#include <map>
#include <string>
#include <vector>

#include "../bundle.h"
#include "../graph_io.h"

namespace sluice::io {

// ---- frozen GraphDefs ----

// Imports the GraphDef (binary protobuf) in `path` into `into`, with Sluice's import
// options: node names kept under `prefix` ("pred:0" or "model_001/pred:0" resolve), TF
// tensors replaced by `input_map` (any tensor, not only placeholders: {"Mfcc:0", x} skips
// an audio front end), `return_elements` resolved ("name:index" tensors, "name" ops).
// Only the part of the graph the return elements need is imported (all of it when there
// are none); input-mapped tensors cut the graph there. All or nothing: every check runs
// before `into` changes. Imported variables join the global-variables collection (so
// Saver and restore_into_scope find them); devices are not kept (Sluice runs on the CPU).
//
// Errors (naming the file and node): Unimplemented listing every unsupported TF op type
// with its first node, before anything is built; InvalidArgument for a cycle, a dangling
// input, a duplicate name, a bad shape or dtype, an attr of the wrong kind, shape-function
// failures; NotFound for unknown input-map keys and return elements; AlreadyExists for
// names taken in `into`; DataLoss for a file that is not a valid GraphDef.
ImportResult import_tf_graph_def(Graph& into, const std::string& path, const ImportOptions& options = {});
// The same from the file's bytes (`what` names it in messages).
ImportResult import_tf_graph_def_bytes(Graph& into, const std::string& bytes, const ImportOptions& options = {},
                                       const std::string& what = "GraphDef");

// ---- MetaGraphs ----

struct TfSaverInfo {
  std::string filename_tensor_name;  // as in the file (no import prefix)
  std::string save_tensor_name;
  std::string restore_op_name;
  int version = 0;  // TF's CheckpointFormatVersion: 1 V1, 2 V2
  bool sharded = false;
  int max_to_keep = 0;
};

struct TfMetaGraphImport {
  ImportResult result;                // return elements (and signatures, with the prefix applied)
  std::vector<std::string> tags;      // MetaInfoDef tags
  // Collections as imported: key -> names of the imported operations they hold (with the
  // prefix). "variables" / "trainable_variables" also joined `into`'s collections.
  std::map<std::string, std::vector<std::string>> collections;
  TfSaverInfo saver;
  // Without return elements, everything that can be imported is; the parts that cannot
  // (typically the saver's SaveV2/RestoreV2 and gradient machinery) are left out and
  // listed here: op type -> first node.
  std::map<std::string, std::string> skipped;
};

// Imports the MetaGraphDef in `path` (a .meta file): its graph (as import_tf_graph_def,
// except that without return elements the parts using unsupported ops are skipped and
// listed rather than failing), its variables with their initializers and collections, its
// signatures and saver information. Restore weights with restore_into_scope(sess,
// checkpoint_prefix, options.prefix) or io::Saver.
TfMetaGraphImport import_tf_meta_graph(Graph& into, const std::string& path, const ImportOptions& options = {});

// ---- SavedModels ----

struct TfTensorInfo {
  std::string name;      // "x:0"
  std::string dtype;     // TF's name: "DT_FLOAT"
  Shape shape;
};
struct TfSignatureInfo {
  std::string method_name;  // "tensorflow/serving/predict", ...
  std::map<std::string, TfTensorInfo> inputs;
  std::map<std::string, TfTensorInfo> outputs;
  // Why Sluice cannot run it ("" when it can): the unsupported op types it needs.
  std::string unsupported;
};
struct TfMetaGraphInfo {
  std::vector<std::string> tags;
  std::map<std::string, TfSignatureInfo> signatures;
};
// What `saved_model_cli show --dir DIR --all` tells: every MetaGraph's tags and signatures.
struct TfSavedModelInfo {
  std::string dir;
  std::vector<TfMetaGraphInfo> meta_graphs;
  // saved_model_cli's layout ("MetaGraphDef with tag-set: 'serve' contains the following
  // SignatureDefs: ...").
  std::string to_string() const;
};

// True when `dir` holds a saved_model.pb.
bool is_tf_saved_model(const std::string& dir);
// Reads saved_model.pb without importing anything. NotFound / DataLoss naming the file.
TfSavedModelInfo inspect_tf_saved_model(const std::string& dir);

// Loads a TF 1.x SavedModel: the MetaGraph tagged exactly `tags` (TF's loader matches the
// tag set), the part of its graph its signatures need, the variables restored from
// `dir`/variables/variables, the SignatureDefs as signatures (input and output keys ->
// tensors). Signatures that need unsupported ops are left out (inspect_tf_saved_model says
// why); Unimplemented when none is left. io::load_model(dir) calls this for a folder with
// a saved_model.pb. Errors: NotFound (no such tag set, naming those there are), DataLoss
// (corrupt files), Unimplemented, InvalidArgument as import_tf_graph_def.
LoadedModel load_tf_saved_model(const std::string& dir, const std::vector<std::string>& tags = {"serve"},
                                SessionOptions options = {});

// ---- the op table ----

// Every TensorFlow op type the importers map, sorted.
std::vector<std::string> tf_supported_op_types();
// docs/tf_ops.md, generated from the op table (TF op -> Sluice op(s), attrs, dtypes).
std::string tf_op_table_markdown();

}  // namespace sluice::io
