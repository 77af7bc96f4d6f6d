// `sluice inspect PATH [--json] [--stats]`: what a model, checkpoint or array file holds.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "command.h"
#include "model_util.h"

namespace sluice::cli {
namespace {

using Json = nlohmann::ordered_json;

struct InspectOptions {
  std::string path;
  bool json = false;
  bool stats = false;
};

Json tensor_json(const std::string& name, const std::string& kind, DType dtype, const Shape& shape,
                 const Tensor* value, bool stats) {
  Json t;
  t["name"] = name;
  t["kind"] = kind;
  t["dtype"] = dtype_name(dtype);
  t["shape"] = shape_dims(shape);
  const int64_t n = shape.is_fully_defined() ? shape.num_elements() : -1;
  t["size"] = n;
  // String tensors have no fixed element size (a TF signature may now have string inputs): -1.
  t["bytes"] = n < 0 || dtype == DType::string ? -1 : n * static_cast<int64_t>(dtype_size(dtype));
  if (stats && value && value->valid() && dtype != DType::string) {
    const TensorStats s = tensor_stats(*value);
    t["stats"] = {{"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"std", s.std},
                  {"nan", s.nan},  {"inf", s.inf}};
  }
  return t;
}

Json output_json(const Output& o) {
  return {{"name", o.name()}, {"dtype", dtype_name(o.dtype())}, {"shape", shape_dims(o.shape())}};
}

Json signatures_json(const std::map<std::string, io::Signature>& sigs) {
  Json j = Json::object();
  for (const auto& [name, sig] : sigs) {
    Json s;
    s["inputs"] = Json::object();
    s["outputs"] = Json::object();
    for (const auto& [k, o] : sig.inputs) s["inputs"][k] = output_json(o);
    for (const auto& [k, o] : sig.outputs) s["outputs"][k] = output_json(o);
    j[name] = s;
  }
  return j;
}

// SavedModel signatures as saved_model.pb declares them (also those Sluice cannot run).
Json saved_model_signatures_json(const io::TfSavedModelInfo& info) {
  Json j = Json::object();
  for (const auto& mg : info.meta_graphs) {
    std::string tags;
    for (const auto& t : mg.tags) tags += (tags.empty() ? "" : ",") + t;
    for (const auto& [name, sig] : mg.signatures) {
      Json s;
      s["tags"] = tags;
      s["method_name"] = sig.method_name;
      s["inputs"] = Json::object();
      s["outputs"] = Json::object();
      for (const auto& [k, t] : sig.inputs)
        s["inputs"][k] = {{"name", t.name}, {"dtype", t.dtype}, {"shape", shape_dims(t.shape)}};
      for (const auto& [k, t] : sig.outputs)
        s["outputs"][k] = {{"name", t.name}, {"dtype", t.dtype}, {"shape", shape_dims(t.shape)}};
      if (!sig.unsupported.empty()) s["unsupported"] = sig.unsupported;
      j[mg.tags.size() == 1 && mg.tags[0] == "serve" ? name : tags + ":" + name] = s;
    }
  }
  return j;
}

void add_checkpoint_tensors(Json& doc, const std::string& path, bool stats) {
  const io::CheckpointReader reader(path);
  for (const io::VariableInfo& v : reader.variables()) {
    Tensor value;
    if (stats) value = reader.read(v.name);
    doc["tensors"].push_back(tensor_json(v.name, "variable", v.dtype, v.shape, &value, stats));
  }
}

void add_model(Json& doc, const Model& m, bool stats) {
  const std::vector<Operation> ops = m.graph.operations();
  std::set<std::string> trainable;
  for (const Operation& v : m.graph.trainable_variables()) trainable.insert(v.name());
  std::set<const Node*> consumed;
  std::map<std::string, int64_t> histogram;
  Json inputs = Json::array();
  for (const Operation& op : ops) {
    ++histogram[op.type()];
    for (int i = 0; i < op.num_inputs(); ++i) consumed.insert(op.input(i).node());
    for (const Operation& c : op.control_inputs()) consumed.insert(c.node());
    if (op.type() == "Placeholder" || op.type() == "PlaceholderWithDefault")
      inputs.push_back(output_json(op.output(0)));
  }
  int64_t params = 0, trainable_params = 0;
  for (const Operation& op : ops) {
    const bool variable = op.type() == "VariableV2";
    if (!variable && op.type() != "Const") continue;
    const Output o = op.output(0);
    Tensor value;
    if (variable && m.session->is_variable_initialized(op.name())) {
      value = m.session->variable_value(op.name());
    } else if (!variable) {
      value = op.node()->attr<Tensor>("value");
    }
    const Shape shape = value.valid() ? value.shape() : o.shape();
    Json t = tensor_json(op.name(), variable ? "variable" : "constant", o.dtype(), shape, &value, stats);
    if (variable) t["trainable"] = trainable.count(op.name()) > 0;
    const int64_t n = t["size"].get<int64_t>();
    if (n > 0 && (variable || is_floating(o.dtype()))) params += n;
    if (n > 0 && trainable.count(op.name())) trainable_params += n;
    doc["tensors"].push_back(t);
  }
  Json outputs = Json::array();
  for (const Operation& op : ops) {
    const OpDef* def = OpRegistry::global().find(op.type());
    if (consumed.count(op.node()) || op.num_outputs() == 0 || !def || def->stateful || def->mutates_variables ||
        op.type() == "Const")
      continue;
    outputs.push_back(output_json(op.output(0)));
  }
  doc["parameters"] = params;
  doc["trainable_parameters"] = trainable_params;
  doc["num_nodes"] = static_cast<int64_t>(ops.size());
  std::vector<std::pair<std::string, int64_t>> sorted(histogram.begin(), histogram.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  doc["ops"] = Json::object();
  for (const auto& [type, count] : sorted) doc["ops"][type] = count;
  doc["inputs"] = inputs;
  doc["outputs"] = outputs;
  doc["learning_phase"] = learning_phase_name(m.graph);
  if (!doc.contains("signatures")) doc["signatures"] = signatures_json(m.signatures);
  if (!m.skipped.empty()) doc["skipped"] = m.skipped;
  doc["weights"] = m.weights;
}

Json inspect(const InspectOptions& o) {
  const Detected d = detect_format(o.path);
  Json doc;
  doc["path"] = o.path;
  doc["format"] = format_name(d.format);
  doc["tensors"] = Json::array();
  switch (d.format) {
    case Format::sluice_checkpoint:
    case Format::tf_checkpoint:
      if (d.path != o.path) doc["checkpoint"] = d.path;
      add_checkpoint_tensors(doc, d.path, o.stats);
      break;
    case Format::npy: {
      const Tensor t = io::read_npy(d.path);
      doc["tensors"].push_back(tensor_json(std::filesystem::path(d.path).stem().string(), "array",
                                           t.dtype(), t.shape(), &t, o.stats));
      break;
    }
    case Format::npz:
      for (const auto& [name, t] : io::read_npz(d.path))
        doc["tensors"].push_back(tensor_json(name, "array", t.dtype(), t.shape(), &t, o.stats));
      break;
    case Format::tf_saved_model: {
      doc["signatures"] = saved_model_signatures_json(io::inspect_tf_saved_model(d.path));
      std::unique_ptr<Model> m;
      try {
        m = open_model(d.path);
      } catch (const Error& e) {
        // Still say what the folder holds: its signatures and the weights' checkpoint.
        doc["load_error"] = e.what();
        const std::string ckpt = (std::filesystem::path(d.path) / "variables" / "variables").string();
        if (io::is_tf_checkpoint(ckpt)) add_checkpoint_tensors(doc, ckpt, o.stats);
        break;
      }
      add_model(doc, *m, o.stats);
      break;
    }
    default:
      add_model(doc, *open_model(d.path), o.stats);
  }
  if (!doc.contains("parameters")) {
    int64_t n = 0;
    for (const auto& t : doc["tensors"]) n += std::max<int64_t>(t["size"].get<int64_t>(), 0);
    doc["parameters"] = n;
  }
  return doc;
}

std::string shape_text(const Json& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = dims[i].get<int64_t>();
    s += (i ? "," : "") + (d < 0 ? std::string("?") : std::to_string(d));
  }
  return s + "]";
}

void print_text(const Json& doc) {
  std::cout << doc["format"].get<std::string>() << ": " << doc["path"].get<std::string>() << "\n";
  if (doc.contains("load_error")) std::cout << "cannot be loaded: " << doc["load_error"].get<std::string>() << "\n";
  if (doc.contains("num_nodes")) {
    std::cout << "graph: " << doc["num_nodes"].get<int64_t>() << " nodes";
    const std::string lp = doc["learning_phase"].get<std::string>();
    if (!lp.empty()) std::cout << ", learning phase '" << lp << "'";
    std::cout << "\n";
  }
  if (doc.contains("signatures")) {
    std::cout << "signatures:" << (doc["signatures"].empty() ? " none" : "") << "\n";
    for (const auto& [name, s] : doc["signatures"].items()) {
      std::cout << "  " << name;
      if (s.contains("method_name")) std::cout << " (" << s["method_name"].get<std::string>() << ")";
      std::cout << "\n";
      for (const char* side : {"inputs", "outputs"}) {
        std::cout << "    " << side << ":\n";
        for (const auto& [k, t] : s[side].items())
          std::cout << "      " << k << ": " << t["name"].get<std::string>() << " "
                    << t["dtype"].get<std::string>() << " " << shape_text(t["shape"]) << "\n";
      }
      if (s.contains("unsupported")) std::cout << "    not runnable: " << s["unsupported"].get<std::string>() << "\n";
    }
  }
  for (const char* side : {"inputs", "outputs"}) {
    if (!doc.contains(side) || doc[side].empty()) continue;
    std::cout << "graph " << side << ":";
    for (const auto& t : doc[side])
      std::cout << " " << t["name"].get<std::string>() << " " << t["dtype"].get<std::string>()
                << shape_text(t["shape"]) << ";";
    std::cout << "\n";
  }
  int64_t bytes = 0;
  size_t name_w = 4;
  for (const auto& t : doc["tensors"]) {
    bytes += std::max<int64_t>(t["bytes"].get<int64_t>(), 0);
    name_w = std::max(name_w, t["name"].get<std::string>().size());
  }
  std::cout << "tensors: " << doc["tensors"].size() << " (" << with_commas(doc["parameters"].get<int64_t>())
            << " parameters, " << human_bytes(static_cast<double>(bytes)) << ")\n";
  for (const auto& t : doc["tensors"]) {
    std::printf("  %-9s %-*s %-8s %-16s %12s", t["kind"].get<std::string>().c_str(), static_cast<int>(name_w),
                t["name"].get<std::string>().c_str(), t["dtype"].get<std::string>().c_str(),
                shape_text(t["shape"]).c_str(), with_commas(t["size"].get<int64_t>()).c_str());
    if (t.contains("stats")) {
      const Json& s = t["stats"];
      std::printf("  min %-11.5g max %-11.5g mean %-11.5g std %-11.5g nan %lld inf %lld", s["min"].get<double>(),
                  s["max"].get<double>(), s["mean"].get<double>(), s["std"].get<double>(),
                  static_cast<long long>(s["nan"].get<int64_t>()), static_cast<long long>(s["inf"].get<int64_t>()));
    }
    std::printf("\n");
  }
  std::fflush(stdout);
  if (doc.contains("ops")) {
    std::cout << "ops:";
    for (const auto& [type, count] : doc["ops"].items()) std::cout << " " << type << " " << count.get<int64_t>() << ";";
    std::cout << "\n";
  }
  if (doc.contains("skipped") && !doc["skipped"].empty()) {
    std::cout << "not imported (unsupported op -> first node):";
    for (const auto& [type, node] : doc["skipped"].items()) std::cout << " " << type << " -> " << node.get<std::string>() << ";";
    std::cout << "\n";
  }
}

void add_inspect(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("inspect", "Print what a model, checkpoint or array file holds");
  sub->footer(
      "Formats (detected): Sluice checkpoints, graph files and bundles; .npy/.npz; TensorFlow\n"
      "checkpoints (prefix, .index or folder), GraphDefs (.pb), MetaGraphs (.meta), SavedModels;\n"
      "ONNX (.onnx).\n\n"
      "Examples:\n"
      "  sluice inspect export/mnist             # a bundle: signatures, variables, op histogram\n"
      "  sluice inspect weights.npz --stats      # min/max/mean/std, NaN/Inf counts per array\n"
      "  sluice inspect model.onnx --json | jq .signatures");
  auto opts = std::make_shared<InspectOptions>();
  sub->add_option("path", opts->path, "model, checkpoint or array file (or folder)")->required();
  sub->add_flag("--json", opts->json, "print one JSON document");
  sub->add_flag("--stats", opts->stats, "per-tensor min/max/mean/std and NaN/Inf counts");
  sub->callback([opts] {
    const Json doc = inspect(*opts);
    if (opts->json) {
      std::cout << doc.dump(2) << "\n";
    } else {
      print_text(doc);
    }
  });
}
SLUICE_CLI_COMMAND(add_inspect);

}  // namespace
}  // namespace sluice::cli
