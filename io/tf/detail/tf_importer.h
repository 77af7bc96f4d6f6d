// Internal: the GraphDef importer shared by frozen graphs, MetaGraphs and SavedModels.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../../graph_io.h"
#include "tf_proto.h"

namespace sluice::io::tf {

// A GraphDef with its names resolved: inputs as (node index, output index).
struct ParsedGraph {
  struct Node {
    const tfproto::NodeDef* def = nullptr;
    std::vector<std::pair<int, int>> inputs;  // data inputs
    std::vector<int> controls;                // control inputs ("^name")
  };
  std::string what;  // "graph '<path>'", for messages
  std::vector<Node> nodes;
  std::unordered_map<std::string, int> index;
  int find(const std::string& name) const {
    auto it = index.find(name);
    return it == index.end() ? -1 : it->second;
  }
};

// Validates names (unique, well formed) and inputs (no dangling references). The GraphDef
// must outlive the result. InvalidArgument naming the node otherwise.
ParsedGraph parse_graph(const tfproto::GraphDef& graph, const std::string& what);

// Op types without a table entry in the part of the graph `roots` (node names) need, not
// looking past the tensors in `cut` ("name:index", fed instead), with the first such node
// of each (the file's order).
std::map<std::string, std::string> unsupported_ops(const ParsedGraph& g, const std::vector<std::string>& roots,
                                                   const std::vector<std::string>& cut = {});

struct TfImportOutput {
  ImportResult result;                           // return elements
  std::map<std::string, std::string> skipped;    // skip mode: op type -> first node left out
  std::map<std::string, Operation> ops;          // TF node name -> the Sluice op carrying it
};

// Imports the part of `g` that options.return_elements (and `extra_roots`) need, or all
// of it when there are none; input-mapped tensors cut the graph. All or nothing (a dry run
// on a scratch graph first). With `skip_unsupported` and no return elements, nodes that
// cannot be imported (unsupported op types and everything depending on them) are left
// out and listed in `skipped` instead of failing. Variables join `into`'s global-variables
// collection and get their "<name>/Assign" initializer when `register_variables`.
TfImportOutput import_parsed(Graph& into, const ParsedGraph& g, const ImportOptions& options,
                             const std::vector<std::string>& extra_roots, bool skip_unsupported,
                             bool register_variables);

// "Op (first node 'n'), Op2 (first node 'm')".
std::string describe_unsupported(const std::map<std::string, std::string>& ops);

}  // namespace sluice::io::tf
