// Graph files: a readable, diffable JSON form of a Graph (nodes, attrs, collections,
// variable initializers, the learning-phase flag and named signatures), importing one into
// another graph under a name prefix with an input map, and freezing (variables become
// constants). The format is specified in docs/formats.md ("Graph files").
//
//   io::write_graph(g, "mlp.json");
//   Graph ens;
//   Output x = ops::placeholder(Scope(ens).named("input"), DType::f32, {-1, 784});
//   io::ImportOptions opt;
//   opt.prefix = "model_001";                  // names "model_001/dense/kernel", ...
//   opt.input_map = {{"input:0", x}};          // the file's "input:0" becomes x
//   opt.return_elements = {"probs:0"};
//   Output p1 = io::import_graph_file(ens, "mlp.json", opt).tensors[0];
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "../graph/graph.h"

namespace sluice {
class Session;
}

namespace sluice::io {

inline constexpr const char* kGraphFormat = "sluice-graph";
// The newest format version this build reads. Writers write version 1 unless the graph
// needs version 2 (docs/formats.md, "Graph files").
inline constexpr int kGraphFormatVersion = 2;

// Limits on what a graph file may hold. Files are untrusted input: anything past these
// raises DataLoss before memory is spent on it.
inline constexpr int64_t kMaxGraphFileBytes = int64_t{1} << 30;  // 1 GiB of JSON text
inline constexpr int kMaxGraphJsonDepth = 16;                    // nesting of [ and {
inline constexpr int64_t kMaxGraphNodes = int64_t{1} << 22;

// Named inputs and outputs of a model, as TensorFlow's SavedModel signatures:
// {"image": x} -> {"scores": y}. Keys are free-form non-empty strings.
struct Signature {
  std::map<std::string, Output> inputs;
  std::map<std::string, Output> outputs;
};

// ---- the file's content as plain data (what the JSON holds, before import) ----

struct NodeDef {
  std::string name;                         // unique in the file, no prefix
  std::string op;                           // registered op type
  std::vector<std::string> inputs;          // "node_name:index", in input order
  std::vector<std::string> control_inputs;  // node names
  std::string device;
  AttrMap attrs;                            // sorted by name
  std::vector<std::pair<DType, Shape>> outputs;  // as inferred when written; checked on import
};

struct TensorInfo {
  std::string name;  // "node_name:index"
  DType dtype = DType::f32;
  Shape shape;
};

struct SignatureDef {
  std::map<std::string, TensorInfo> inputs;
  std::map<std::string, TensorInfo> outputs;
};

struct GraphDef {
  int64_t random_seed = 0;
  std::vector<NodeDef> nodes;  // node ids order: every input names an earlier node
  std::map<std::string, std::vector<std::string>> collections;  // key -> node names
  std::map<std::string, std::string> variable_initializers;     // variable -> its Assign
  std::string learning_phase;  // node name, or empty
  std::map<std::string, SignatureDef> signatures;
};

// The plain-data form of `graph` with `signatures` (whose tensors must belong to it).
// Throws InvalidArgument for a signature tensor of another graph or an empty key.
GraphDef graph_to_def(const Graph& graph, const std::map<std::string, Signature>& signatures = {});

// JSON text of a GraphDef (pretty-printed, stable key order, ends with a newline).
// Throws InvalidArgument for strings that are not valid UTF-8 (naming node and attr) and
// Unimplemented for string-typed tensors.
std::string graph_def_to_json(const GraphDef& def);

// Parses and validates graph-file JSON: syntax, structure, every value's kind and range,
// tensor sizes against their shapes, names, and references between nodes (an input must
// name an earlier node; collections, initializers, learning phase and signatures must name
// nodes of the file). Errors: DataLoss for malformed text or structure, Unimplemented for
// a newer format version, InvalidArgument for inconsistent references, each naming the
// node and field. Op types are checked when the def is imported.
GraphDef graph_def_from_json(const std::string& text);

// graph_def_to_json(graph_to_def(graph, signatures)).
std::string graph_to_json(const Graph& graph, const std::map<std::string, Signature>& signatures = {});

// Writes graph_to_json(graph, signatures) to `path` atomically (io::AtomicFile: a
// temporary file next to it, flushed to disk, then renamed over `path`; a crash leaves the
// old file or the new one, never a mix). NotFound when the folder does not exist,
// Internal for other I/O errors, naming the path.
void write_graph(const Graph& graph, const std::string& path,
                 const std::map<std::string, Signature>& signatures = {});

// ---- import ----

struct ImportOptions {
  // Non-empty: every imported node is named "<prefix>/<name>" ("model_001/dense/kernel").
  std::string prefix;
  // Tensors of the imported graph ("input:0", or "input" for output 0) replaced by tensors
  // of the target graph wherever the imported nodes use them. Dtypes must be equal and
  // static shapes compatible. The replaced node itself is still imported (unused).
  std::map<std::string, Output> input_map;
  // Imported names, without prefix: "name:index" asks for a tensor, "name" for an
  // operation. A tensor that was input-mapped returns the tensor it was mapped to.
  std::vector<std::string> return_elements;
  // Importers of other formats (io::import_onnx): true makes the model's float weights
  // trainable variables instead of constants, so it can be fine-tuned. Graph files keep
  // their variables as they are, whatever this says.
  bool trainable = false;
};

struct ImportResult {
  std::vector<Output> tensors;        // the "name:index" return elements, in order
  std::vector<Operation> operations;  // the "name" return elements, in order
  // The file's signatures with their tensors resolved in the target graph (input map
  // applied).
  std::map<std::string, Signature> signatures;
};

// Imports `def` into `into`. All or nothing: every check (names free in `into`, op types,
// attrs, shape functions, input-map dtypes and shapes, return elements) runs before the
// first node is added, so a failed import leaves `into` unchanged.
//
// Imported variables join `into`'s collections and initializer map under their prefixed
// names. One learning phase drives the whole graph: the imported graph's learning-phase flag
// is mapped onto `into`'s flag (learning_phase(into)) when `into` has one, and becomes
// `into`'s flag when it has none yet, so importing one model N times under N prefixes gives
// N models that all follow learning_phase(into). An explicit input_map entry for the flag
// (e.g. input_map["keras_learning_phase:0"] = a constant false) still wins.
// The graph-level random seed of the file is not applied (random ops carry their seeds).
//
// Errors: NotFound (unknown op type, unknown input-map key or return element),
// AlreadyExists (an imported name already used in `into`), InvalidArgument (input-map
// dtype/shape mismatch, an Output of another graph, attr or shape errors naming the node).
ImportResult import_graph_def(Graph& into, const GraphDef& def, const ImportOptions& options = {});
// graph_def_from_json + import_graph_def.
ImportResult import_graph(Graph& into, const std::string& json_text, const ImportOptions& options = {});
// As import_graph on the file's content; errors name the path.
ImportResult import_graph_file(Graph& into, const std::string& path, const ImportOptions& options = {});

// A fresh graph holding the file (names unchanged; its random seed and learning phase set
// from the file).
Graph read_graph(const std::string& path);
// Reads a whole graph file (NotFound if missing, DataLoss past kMaxGraphFileBytes).
std::string read_graph_file_text(const std::string& path);

// ---- freezing ----

// A new graph computing `output_names` ("node" or "node:index") of `session`'s graph with
// every variable they read replaced by a Const holding the session's current value (same
// name), pruned to the nodes the outputs need (through data and control inputs): no
// initializers, no optimizer ops, no other variables. It runs in a fresh Session without
// initialisation and gives bit-identical results. Errors: NotFound (unknown output),
// FailedPrecondition (a needed variable is not initialised), InvalidArgument (an output
// needs an op that writes a variable, e.g. a training op).
Graph freeze_graph(const Session& session, const std::vector<std::string>& output_names);

// The def of `graph` reduced to what `roots` (node names) need through data, reference
// and control inputs; collections, initializers and the learning phase are kept for the
// surviving nodes, signatures are dropped. Used by freezing and model bundles.
GraphDef prune_graph_def(const GraphDef& def, const std::vector<std::string>& roots);

namespace detail {
// The reference checks graph_def_from_json runs (also run on defs built in code): node
// names valid and unique, every input "name:index" naming an earlier node (a later one
// means a cycle or a reordered file) with an index below its recorded output count, and
// collections, initializers, learning phase and signatures naming nodes of the def.
// Throws InvalidArgument naming the node and field.
void validate_graph_def(const GraphDef& def);
// Splits "name:index" ("name" means index 0 when allow_bare); throws InvalidArgument
// naming `what`.
std::pair<std::string, int> parse_tensor_name(const std::string& name, bool allow_bare,
                                              const std::string& what);
}  // namespace detail

}  // namespace sluice::io
