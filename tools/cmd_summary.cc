// `sluice summary MODEL`: the Keras-style layer table (name, type, output shape, parameters).
//
// A graph records ops, not layers, so layers are recovered from their name scopes: a layer
// is a scope that directly holds weights (variables, or the constants a frozen layer left:
// kernel, bias, ...) or that is named as Sluice's layers name themselves (dense, conv2d_1,
// dropout, flatten, ...). Its output is the last of its tensors read outside the scope.
#include <cstdio>
#include <iostream>
#include <regex>
#include <set>

#include "command.h"
#include "model_util.h"

namespace sluice::cli {
namespace {

struct LayerRow {
  std::string name, type;
  Output output;
  int64_t params = 0, trainable = 0;
  size_t first = 0;  // position of its first op, for ordering
};

std::string scope_of(const std::string& name) {
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

bool is_weight_leaf(const std::string& leaf) {
  static const std::set<std::string> leaves = {"kernel",        "bias",          "gamma",          "beta",
                                               "moving_mean",   "moving_variance", "embeddings",   "recurrent_kernel",
                                               "depthwise_kernel", "pointwise_kernel"};
  return leaves.count(leaf) > 0;
}

std::string layer_type(const std::string& scope, const std::set<std::string>& op_types) {
  static const std::vector<std::pair<std::string, std::string>> by_op = {
      {"LSTM", "LSTM"}, {"GRU", "GRU"}, {"SimpleRNN", "SimpleRNN"}, {"FusedConv2D", "Conv2D"}, {"Conv2D", "Conv2D"},
      {"DepthwiseConv2dNative", "DepthwiseConv2D"}, {"Conv2DTranspose", "Conv2DTranspose"},
      {"FusedBatchNorm", "BatchNormalization"}, {"LayerNorm", "LayerNormalization"}, {"MatMul", "Dense"},
      {"Gather", "Embedding"}, {"MaxPool", "MaxPooling2D"}, {"AvgPool", "AveragePooling2D"}, {"Dropout", "Dropout"}};
  for (const auto& [op, type] : by_op)
    if (op_types.count(op)) return type;
  static const std::vector<std::pair<std::string, std::string>> by_name = {
      {"flatten", "Flatten"}, {"global_average_pooling2d", "GlobalAveragePooling2D"}, {"bidirectional", "Bidirectional"}};
  const std::string leaf = scope.substr(scope.rfind('/') + 1);
  for (const auto& [prefix, type] : by_name)
    if (leaf.rfind(prefix, 0) == 0) return type;
  return "Layer";
}

std::string keras_shape(const Shape& s) {
  if (!s.known_rank()) return "?";
  std::string r = "(";
  for (int i = 0; i < s.rank(); ++i) r += (i ? ", " : "") + (s.dim(i) < 0 ? std::string("None") : std::to_string(s.dim(i)));
  return r + (s.rank() == 1 ? ",)" : ")");
}

std::vector<LayerRow> find_layers(const Model& m) {
  static const std::regex layer_name(
      "(dense|conv2d|max_pooling2d|average_pooling2d|global_average_pooling2d|dropout|flatten|batch_normalization|"
      "lstm|gru|simple_rnn|embedding|bidirectional)(_[0-9]+)?");
  const std::vector<Operation> ops = m.graph.operations();
  std::set<std::string> trainable;
  for (const Operation& v : m.graph.trainable_variables()) trainable.insert(v.name());
  std::map<std::string, LayerRow> layers;
  auto layer = [&](const std::string& scope, size_t pos) -> LayerRow& {
    LayerRow& row = layers[scope];
    if (row.name.empty()) {
      row.name = scope;
      row.first = pos;
    }
    return row;
  };
  for (size_t i = 0; i < ops.size(); ++i) {
    const Operation& op = ops[i];
    const std::string scope = scope_of(op.name()), leaf = op.name().substr(scope.size() + (scope.empty() ? 0 : 1));
    if (scope.empty() || scope.rfind("gradients", 0) == 0) continue;
    // Optimizer slots ("conv2d/kernel/Adam") sit under their variable's name: not a layer.
    const std::optional<Operation> owner = m.graph.find_operation(scope);
    if (owner && owner->type() == "VariableV2") continue;
    const bool weight = op.type() == "VariableV2" || (op.type() == "Const" && is_weight_leaf(leaf));
    if (weight) {
      const int64_t n = op.output(0).shape().is_fully_defined() ? op.output(0).shape().num_elements() : 0;
      LayerRow& row = layer(scope, i);
      row.params += n;
      if (trainable.count(op.name())) row.trainable += n;
    } else {
      const std::string leaf_scope = scope.substr(scope.rfind('/') + 1);
      if (std::regex_match(leaf_scope, layer_name)) layer(scope, i);
    }
  }
  // Per layer: its op types, and its output (the last tensor read by an op outside it that is
  // not part of training: gradients, optimizer updates, variable machinery).
  std::map<std::string, std::set<std::string>> types;
  for (const Operation& op : ops) {
    for (auto& [scope, row] : layers)
      if (op.name().rfind(scope + "/", 0) == 0) types[scope].insert(op.type());
    const std::string consumer_scope = scope_of(op.name());
    if (op.name().rfind("gradients", 0) == 0 || op.type().rfind("Assign", 0) == 0 || op.type().rfind("Apply", 0) == 0)
      continue;
    for (int i = 0; i < op.num_inputs(); ++i) {
      const Output in = op.input(i);
      const std::string in_name = Operation(in.node()).name();
      const std::string in_type = Operation(in.node()).type();
      if (in_type == "VariableV2" || in_type == "Const") continue;
      for (auto& [scope, row] : layers)
        if (in_name.rfind(scope + "/", 0) == 0 && op.name().rfind(scope + "/", 0) != 0) row.output = in;
    }
  }
  std::vector<LayerRow> rows;
  for (auto& [scope, row] : layers) {
    row.type = layer_type(scope, types[scope]);
    const bool found = row.output.valid();
    if (!found) {
      // Nothing outside reads it (the model's last layer with no loss): its last op.
      for (const Operation& op : ops)
        if (op.name().rfind(scope + "/", 0) == 0 && op.num_outputs() > 0 && op.type() != "VariableV2" &&
            op.type() != "Const" && op.type().rfind("Assign", 0) != 0)
          row.output = op.output(0);
    }
    // A scope that only holds variables nothing outside reads (an optimizer's) is no layer.
    const std::string leaf = scope.substr(scope.rfind('/') + 1);
    if (!found && !std::regex_match(leaf, layer_name)) continue;
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end(), [](const LayerRow& a, const LayerRow& b) { return a.first < b.first; });
  return rows;
}

void summarize(const std::string& path) {
  const std::unique_ptr<Model> m = open_model(path);
  const std::vector<LayerRow> rows = find_layers(*m);
  SLUICE_REQUIRE(!rows.empty(), InvalidArgument, "'", path,
                 "' has no layers (no name scope holds weights or is named like a layer); see `sluice inspect`");
  size_t name_w = 12, type_w = 10, shape_w = 12;
  for (const LayerRow& r : rows) {
    name_w = std::max(name_w, r.name.size());
    type_w = std::max(type_w, r.type.size() + 2);
    shape_w = std::max(shape_w, keras_shape(r.output.valid() ? r.output.shape() : Shape::unknown_rank()).size());
  }
  const int nw = static_cast<int>(name_w + 2), tw = static_cast<int>(type_w + 2), sw = static_cast<int>(shape_w + 2);
  const std::string rule(name_w + type_w + shape_w + 20, '_'), thick(rule.size(), '=');
  std::printf("Model: \"%s\" (%s)\n%s\n", path.c_str(), format_name(m->source.format), rule.c_str());
  std::printf("%-*s%-*s%-*s%s\n%s\n", nw + tw, " Layer (type)", sw, "Output Shape", 0, "", "Param #", thick.c_str());
  int64_t total = 0, trainable = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const LayerRow& r = rows[i];
    const std::string lt = " " + r.name + " (" + r.type + ")";
    std::printf("%-*s%-*s%s\n", nw + tw, lt.c_str(), sw,
                keras_shape(r.output.valid() ? r.output.shape() : Shape::unknown_rank()).c_str(),
                with_commas(r.params).c_str());
    std::printf("%s\n", i + 1 == rows.size() ? thick.c_str() : "");
    total += r.params;
    trainable += r.trainable;
  }
  const bool has_variables = !m->graph.global_variables().empty();
  std::printf("Total params: %s\n", with_commas(total).c_str());
  if (has_variables) {
    std::printf("Trainable params: %s\nNon-trainable params: %s\n", with_commas(trainable).c_str(),
                with_commas(total - trainable).c_str());
  }
  std::printf("%s\n", rule.c_str());
}

void add_summary(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("summary", "Print the Keras-style layer table of a model built with layers");
  sub->footer(
      "Layers are recovered from name scopes (a scope holding weights, or named as Sluice's\n"
      "layers are: dense, conv2d_1, dropout, ...); the output shape is that of the layer's last\n"
      "tensor read outside it.\n\n"
      "Examples:\n"
      "  sluice summary export/mnist\n"
      "  sluice summary cnn_graph.json");
  auto path = std::make_shared<std::string>();
  sub->add_option("model", *path, "any model `sluice inspect` reads")->required();
  sub->callback([path] { summarize(*path); });
}
SLUICE_CLI_COMMAND(add_summary);

}  // namespace
}  // namespace sluice::cli
