// `sluice graph MODEL -o out.svg|.png|.dot [--depth K]`: the graph as a Graphviz picture.
#include <fstream>
#include <functional>
#include <iostream>
#include <set>

#include "command.h"
#include "model_util.h"
#include "tool_util.h"

namespace sluice::cli {
namespace {

struct GraphOptions {
  std::string model, out;
  int depth = 0;
};

enum class Kind { io, variable, state, nn, math, other };

Kind kind_of(const std::string& op) {
  static const std::set<std::string> io = {"Placeholder", "PlaceholderWithDefault"};
  static const std::set<std::string> nn = {
      "Conv2D",  "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative", "Conv2DTranspose",
      "MatMul",  "BatchMatMul", "BiasAdd", "Relu", "Relu6", "Elu", "LeakyRelu", "Gelu", "Sigmoid", "Tanh",
      "Softmax", "LogSoftmax", "Softplus", "MaxPool", "AvgPool", "FusedBatchNorm", "LayerNorm", "LRN", "Dropout",
      "LSTM", "GRU", "SimpleRNN", "Resize", "ResizeBilinear", "ResizeNearestNeighbor"};
  static const std::set<std::string> array = {
      "Const", "Identity", "Reshape", "DynamicReshape", "Transpose", "Concat", "Split", "SplitV", "Slice",
      "StridedSlice", "Pack", "Unpack", "Gather", "Shape", "Size", "Fill", "Squeeze", "ExpandDims", "Tile",
      "Pad", "Cast", "StopGradient", "ZerosLike", "OnesLike", "Range", "NoOp"};
  if (io.count(op)) return Kind::io;
  if (op == "VariableV2") return Kind::variable;
  if (op.rfind("Assign", 0) == 0 || op.rfind("Apply", 0) == 0) return Kind::state;
  if (nn.count(op)) return Kind::nn;
  if (array.count(op)) return Kind::other;
  if (op.size() > 4 && op.compare(op.size() - 4, 4, "Grad") == 0) return Kind::nn;
  return Kind::math;
}

const char* fill_of(Kind k) {
  switch (k) {
    case Kind::io: return "#fde68a";        // yellow: inputs
    case Kind::variable: return "#86efac";  // green: variables
    case Kind::state: return "#fdba74";     // orange: assignments and optimizer updates
    case Kind::nn: return "#93c5fd";        // blue: layers' ops
    case Kind::math: return "#e9d5ff";      // violet: math
    case Kind::other: return "#e5e7eb";     // grey: constants, shapes, plumbing
  }
  return "white";
}

std::string quote(const std::string& s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    r += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return r + "\"";
}

std::string edge_label(const Output& o) {
  return short_dtype(o.dtype()) + o.shape().to_string();
}

std::vector<std::string> scope_path(const std::string& name) {
  std::vector<std::string> parts;
  for (size_t b = 0, e; (e = name.find('/', b)) != std::string::npos; b = e + 1) parts.push_back(name.substr(0, e));
  return parts;  // "a/b/Op" -> {"a", "a/b"}
}

}  // namespace

std::string graph_to_dot(const Graph& graph, int depth, const std::string& title) {
  const std::vector<Operation> ops = graph.operations();
  const std::string lp = learning_phase_name(graph);
  std::set<std::string> updates;
  for (const Operation& u : graph.update_ops()) updates.insert(u.name());

  // Each op is drawn as itself or as the box of its scope at level depth + 1.
  std::map<const Node*, std::string> element;
  struct Box {
    int count = 0;
    std::map<Kind, int> kinds;
    bool learning_phase = false, update = false;
  };
  std::map<std::string, Box> boxes;
  std::set<std::string> clusters;  // scopes drawn as clusters
  for (const Operation& op : ops) {
    const std::vector<std::string> path = scope_path(op.name());
    if (static_cast<int>(path.size()) > depth) {
      const std::string box = path[static_cast<size_t>(depth)];
      element[op.node()] = "scope:" + box;
      Box& b = boxes[box];
      ++b.count;
      ++b.kinds[kind_of(op.type())];
      b.learning_phase |= op.name() == lp;
      b.update |= updates.count(op.name()) > 0;
      for (int i = 0; i < depth; ++i) clusters.insert(path[static_cast<size_t>(i)]);
    } else {
      element[op.node()] = "op:" + op.name();
      for (const std::string& s : path) clusters.insert(s);
    }
  }

  // Elements grouped by their enclosing cluster.
  std::map<std::string, std::vector<std::string>> members;  // cluster ("" = top) -> DOT statements
  auto parent_of = [](const std::string& name) {
    const size_t slash = name.rfind('/');
    return slash == std::string::npos ? std::string() : name.substr(0, slash);
  };
  for (const auto& [name, b] : boxes) {
    // A scope is coloured by what it is for: a layer (nn ops) over its variables, over state
    // updates, over math.
    Kind main = Kind::other;
    for (Kind k : {Kind::math, Kind::io, Kind::variable, Kind::state, Kind::nn})
      if (b.kinds.count(k)) main = k;
    const size_t slash = name.rfind('/');
    std::string label = (slash == std::string::npos ? name : name.substr(slash + 1)) + "\n(" +
                        std::to_string(b.count) + " ops)";
    if (b.learning_phase) label += "\nlearning phase";
    if (b.update) label += "\nupdate ops";
    std::string stmt = quote("scope:" + name) + " [shape=box3d, style=\"filled\", fillcolor=" +
                       quote(fill_of(main)) + ", label=" + quote(label);
    if (b.learning_phase || b.update) stmt += ", color=\"#dc2626\", penwidth=2";
    members[parent_of(name)].push_back(stmt + "];");
  }
  for (const Operation& op : ops) {
    const std::string& e = element[op.node()];
    if (e.compare(0, 3, "op:") != 0) continue;
    const size_t slash = op.name().rfind('/');
    std::string label = (slash == std::string::npos ? op.name() : op.name().substr(slash + 1));
    if (label != op.type()) label += "\n" + op.type();
    std::string stmt = quote(e) + " [label=" + quote(op.name() == lp ? "learning phase\n" + label : label) +
                       ", fillcolor=" + quote(fill_of(kind_of(op.type())));
    if (op.name() == lp) stmt += ", shape=doubleoctagon, color=\"#dc2626\", penwidth=2";
    if (updates.count(op.name())) stmt += ", color=\"#dc2626\", penwidth=2, xlabel=\"update\"";
    members[parent_of(op.name())].push_back(stmt + "];");
  }

  std::string dot = "digraph sluice {\n  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, label=" + quote(title) +
                    ", labelloc=t];\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
                    "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#6b7280\"];\n";
  // Clusters nest by name; emit them recursively from the top.
  std::map<std::string, std::vector<std::string>> children;
  for (const std::string& c : clusters) children[parent_of(c)].push_back(c);
  int id = 0;
  std::function<void(const std::string&, const std::string&)> emit = [&](const std::string& scope, const std::string& indent) {
    for (const std::string& s : members[scope]) dot += indent + s + "\n";
    for (const std::string& c : children[scope]) {
      const size_t slash = c.rfind('/');
      dot += indent + "subgraph cluster_" + std::to_string(id++) + " {\n" + indent + "  label=" +
             quote(slash == std::string::npos ? c : c.substr(slash + 1)) +
             "; style=\"rounded\"; color=\"#9ca3af\";\n";
      emit(c, indent + "  ");
      dot += indent + "}\n";
    }
  };
  emit("", "  ");

  // Edges between drawn elements, once each, labelled with the tensor's dtype and shape.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> edges;
  std::set<std::pair<std::string, std::string>> control;
  for (const Operation& op : ops) {
    const std::string& to = element[op.node()];
    for (int i = 0; i < op.num_inputs(); ++i) {
      const Output in = op.input(i);
      const std::string& from = element[in.node()];
      if (from != to) edges[{from, to}].insert(edge_label(in));
    }
    for (const Operation& c : op.control_inputs()) {
      const std::string& from = element[c.node()];
      if (from != to && !edges.count({from, to})) control.insert({from, to});
    }
  }
  for (const auto& [ft, labels] : edges) {
    std::string label = *labels.begin();
    if (labels.size() > 1) label += " (+" + std::to_string(labels.size() - 1) + ")";
    dot += "  " + quote(ft.first) + " -> " + quote(ft.second) + " [label=" + quote(label) + "];\n";
  }
  for (const auto& ft : control)
    if (!edges.count(ft)) dot += "  " + quote(ft.first) + " -> " + quote(ft.second) + " [style=dashed];\n";
  return dot + "}\n";
}

namespace {

void draw(const GraphOptions& o) {
  const std::unique_ptr<Model> m = open_model(o.model);
  const std::string dot = graph_to_dot(m->graph, o.depth, o.model);
  render_dot(dot, o.out);
  std::cout << "wrote " << o.out << " (" << m->graph.num_operations() << " ops, depth " << o.depth << ")\n";
}

void add_graph(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("graph", "Draw a model's graph (Graphviz)");
  sub->footer(
      "Name scopes are clusters; scopes deeper than --depth are collapsed into one box each\n"
      "(depth 0: one box per top-level scope, as TensorBoard starts). Edges carry dtype and shape;\n"
      "colours: yellow inputs, green variables, orange state updates, blue nn ops, violet math,\n"
      "grey constants and plumbing; the learning-phase flag and update ops are outlined in red.\n"
      ".svg and .png need Graphviz's `dot` program; .dot is written as is.\n\n"
      "Examples:\n"
      "  sluice graph export/mnist -o mnist.svg\n"
      "  sluice graph model.meta -o model.png --depth 2\n"
      "  sluice graph frozen.pb -o frozen.dot --depth 9");
  auto o = std::make_shared<GraphOptions>();
  sub->add_option("model", o->model, "any model `sluice inspect` reads")->required();
  sub->add_option("-o,--output", o->out, "out.svg, out.png or out.dot")->required();
  sub->add_option("--depth", o->depth, "scope levels drawn open (default 0)")->check(CLI::NonNegativeNumber);
  sub->callback([o] { draw(*o); });
}
SLUICE_CLI_COMMAND(add_graph);

}  // namespace
}  // namespace sluice::cli
