// TF 1.x SavedModels: saved_model.pb (a SavedModel message of MetaGraphDefs) and
// variables/variables.{index,data-*} (a V2 checkpoint).
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "../../ops/array_ops.h"
#include "../saver.h"
#include "tf_checkpoint.h"
#include "detail/tf_meta.h"

namespace sluice::io {

namespace {

std::string strip_slashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

tfproto::SavedModel read_saved_model(const std::string& dir) {
  const std::string path = dir + "/saved_model.pb";
  const std::string what = "SavedModel '" + path + "'";
  tfproto::SavedModel sm;
  tf::parse_proto(tf::read_file(path, what), &sm, what);
  SLUICE_REQUIRE(sm.meta_graphs_size() > 0, DataLoss, what, ": holds no MetaGraphDef");
  return sm;
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string s;
  for (const auto& t : tags) s += (s.empty() ? "" : ", ") + t;
  return s;
}

TfTensorInfo tensor_info(const tfproto::TensorInfo& t) {
  TfTensorInfo info;
  info.name = t.name();
  info.dtype = tf::tf_dtype_name(t.dtype());
  try {
    info.shape = tf::shape_from_tf(t.tensor_shape(), "tensor '" + t.name() + "'");
  } catch (const Error&) {
    info.shape = Shape::unknown_rank();
  }
  return info;
}

std::string tensor_name(const std::string& t) { return t.find(':') == std::string::npos ? t + ":0" : t; }

// The node names a signature's outputs name (its inputs are fed: the graph is cut there).
std::vector<std::string> signature_roots(const tfproto::SignatureDef& sig) {
  std::vector<std::string> roots;
  for (const auto& [key, t] : sig.outputs()) roots.push_back(detail::parse_tensor_name(t.name(), true, "signature tensor").first);
  return roots;
}
std::vector<std::string> signature_inputs(const tfproto::SignatureDef& sig) {
  std::vector<std::string> in;
  for (const auto& [key, t] : sig.inputs()) in.push_back(tensor_name(t.name()));
  return in;
}

TfMetaGraphInfo meta_graph_info(const tfproto::MetaGraphDef& meta, const tf::ParsedGraph* pg) {
  TfMetaGraphInfo info;
  info.tags.assign(meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end());
  for (const auto& [name, sig] : meta.signature_def()) {
    TfSignatureInfo s;
    s.method_name = sig.method_name();
    for (const auto& [k, t] : sig.inputs()) s.inputs[k] = tensor_info(t);
    for (const auto& [k, t] : sig.outputs()) s.outputs[k] = tensor_info(t);
    if (pg) {
      try {
        s.unsupported = tf::describe_unsupported(tf::unsupported_ops(*pg, signature_roots(sig), signature_inputs(sig)));
      } catch (const Error& e) {
        s.unsupported = e.what();
      }
    }
    info.signatures[name] = std::move(s);
  }
  return info;
}

}  // namespace

bool is_tf_saved_model(const std::string& dir) {
  struct stat st {};
  return ::stat((strip_slashes(dir) + "/saved_model.pb").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

TfSavedModelInfo inspect_tf_saved_model(const std::string& dir_in) {
  const std::string dir = strip_slashes(dir_in);
  const tfproto::SavedModel sm = read_saved_model(dir);
  TfSavedModelInfo info;
  info.dir = dir;
  for (const auto& meta : sm.meta_graphs()) {
    std::unique_ptr<tf::ParsedGraph> pg;
    try {
      pg = std::make_unique<tf::ParsedGraph>(tf::parse_graph(meta.graph_def(), "SavedModel '" + dir + "'"));
    } catch (const Error&) {
      // Still describe the signatures; loading reports the problem.
    }
    info.meta_graphs.push_back(meta_graph_info(meta, pg.get()));
  }
  return info;
}

std::string TfSavedModelInfo::to_string() const {
  std::ostringstream os;
  os << "SavedModel '" << dir << "'\n";
  for (const TfMetaGraphInfo& m : meta_graphs) {
    os << "\nMetaGraphDef with tag-set: '" << join_tags(m.tags) << "' contains the following SignatureDefs:\n";
    for (const auto& [name, s] : m.signatures) {
      os << "\nsignature_def['" << name << "']:\n  The given SavedModel SignatureDef contains the following input(s):\n";
      auto side = [&](const std::map<std::string, TfTensorInfo>& ts, const char* label) {
        for (const auto& [k, t] : ts)
          os << "    " << label << "['" << k << "'] tensor_info:\n        dtype: " << t.dtype << "\n        shape: "
             << (t.shape.known_rank() ? t.shape.to_string() : "unknown_rank") << "\n        name: " << t.name << "\n";
      };
      side(s.inputs, "inputs");
      os << "  The given SavedModel SignatureDef contains the following output(s):\n";
      side(s.outputs, "outputs");
      os << "  Method name is: " << s.method_name << "\n";
      if (!s.unsupported.empty()) os << "  Sluice cannot run it: it needs " << s.unsupported << "\n";
    }
  }
  return os.str();
}

LoadedModel load_tf_saved_model(const std::string& dir_in, const std::vector<std::string>& tags_in,
                                SessionOptions options) {
  const std::string dir = strip_slashes(dir_in);
  const std::string what = "SavedModel '" + dir + "'";
  const tfproto::SavedModel sm = read_saved_model(dir);
  const std::set<std::string> want(tags_in.begin(), tags_in.end());
  const tfproto::MetaGraphDef* meta = nullptr;
  std::string available;
  for (const auto& m : sm.meta_graphs()) {
    const std::set<std::string> have(m.meta_info_def().tags().begin(), m.meta_info_def().tags().end());
    if (have == want && !meta) meta = &m;
    available += (available.empty() ? "{" : ", {") + join_tags(std::vector<std::string>(have.begin(), have.end())) + "}";
  }
  SLUICE_REQUIRE(meta, NotFound, what, ": no MetaGraphDef with the tag set {", join_tags(tags_in), "} (it has ",
                 available, ")");
  const tf::ParsedGraph pg = tf::parse_graph(meta->graph_def(), what);

  // The signatures Sluice can run, and their tensors as return elements.
  Graph graph;
  ImportOptions opt;
  std::vector<std::string> runnable;
  std::string refused;
  for (const auto& [name, sig] : meta->signature_def()) {
    auto missing = tf::unsupported_ops(pg, signature_roots(sig), signature_inputs(sig));
    for (const auto& [key, t] : sig.inputs()) {
      if (tf::dtype_supported(t.dtype())) continue;
      missing.emplace("input dtype " + tf::tf_dtype_name(t.dtype()), t.name());
    }
    if (!missing.empty()) {
      refused += (refused.empty() ? "" : "; ") + std::string("'") + name + "' needs " + tf::describe_unsupported(missing);
      continue;
    }
    runnable.push_back(name);
    for (const auto& [key, t] : sig.inputs()) {
      // A signature input is fed: where it is not a placeholder (x = Identity(ParseExample
      // output)), a placeholder of the signature's dtype and shape replaces it, named as the
      // tensor's node when it can be.
      const std::string tn = tensor_name(t.name());
      const auto [node, idx] = detail::parse_tensor_name(tn, false, "signature input");
      const int j = pg.find(node);
      SLUICE_REQUIRE(j >= 0, InvalidArgument, what, ": signature '", name, "' input '", key, "' names no node ('",
                     tn, "')");
      if ((idx == 0 && pg.nodes[j].def->op() == "Placeholder") || opt.input_map.count(tn)) continue;
      const Scope s = Scope(graph).named(idx == 0 ? node : node + "_" + std::to_string(idx));
      Shape shape = Shape::unknown_rank();
      try {
        shape = tf::shape_from_tf(t.tensor_shape(), what);
      } catch (const Error&) {
      }
      opt.input_map[tn] = ops::placeholder(s, tf::dtype_from_tf(t.dtype(), what), shape);
    }
    for (const auto* side : {&sig.inputs(), &sig.outputs()})
      for (const auto& [key, t] : *side) opt.return_elements.push_back(tensor_name(t.name()));
  }
  SLUICE_REQUIRE(!runnable.empty(), Unimplemented, what, ": no signature Sluice can run (",
                 refused.empty() ? std::string("it has no signatures") : refused, ")");

  tf::TfImportOutput imported = tf::import_parsed(graph, pg, opt, {}, false, true);
  std::map<std::string, Signature> signatures;
  size_t k = 0;
  for (const auto& name : runnable) {
    const auto& sig = meta->signature_def().at(name);
    Signature s;
    for (const auto& [key, t] : sig.inputs()) s.inputs[key] = imported.result.tensors.at(k++);
    for (const auto& [key, t] : sig.outputs()) s.outputs[key] = imported.result.tensors.at(k++);
    signatures[name] = std::move(s);
  }
  auto session = std::make_unique<Session>(graph, options);
  std::vector<Operation> vars;
  for (const Operation& op : graph.operations())
    if (op.type() == "VariableV2") vars.push_back(op);
  if (!vars.empty()) {
    const std::string prefix = dir + "/variables/variables";
    SLUICE_REQUIRE(is_tf_checkpoint(prefix), NotFound, what, ": the graph has ", vars.size(),
                   " variables but there is no checkpoint '", prefix, ".index'");
    Saver(vars).restore(*session, prefix);
  }
  return LoadedModel::from_parts(dir, std::move(graph), std::move(session), std::move(signatures));
}

}  // namespace sluice::io
