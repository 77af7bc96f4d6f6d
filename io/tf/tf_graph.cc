// Frozen GraphDefs and MetaGraphs: file reading, then the shared importer.
#include "../../graph/graph_data.h"
#include "detail/tf_convert.h"
#include "detail/tf_meta.h"
#include "tf_import.h"

namespace sluice::io {

ImportResult import_tf_graph_def_bytes(Graph& into, const std::string& bytes, const ImportOptions& options,
                                       const std::string& what) {
  tfproto::GraphDef def;
  tf::parse_proto(bytes, &def, what);
  const tf::ParsedGraph pg = tf::parse_graph(def, what);
  return tf::import_parsed(into, pg, options, {}, false, true).result;
}

ImportResult import_tf_graph_def(Graph& into, const std::string& path, const ImportOptions& options) {
  const std::string what = "GraphDef '" + path + "'";
  return import_tf_graph_def_bytes(into, tf::read_file(path, what), options, what);
}

std::vector<std::string> tf_supported_op_types() {
  std::vector<std::string> ops;
  for (const tf::OpEntry& e : tf::op_table()) ops.push_back(e.tf_op);
  return ops;
}

std::string tf_op_table_markdown() { return tf::tf_ops_markdown(); }

namespace tf {

// Resolves a TF tensor name of an imported graph in `into` (the node carrying the name has
// TF's outputs); an invalid Output when it was not imported.
Output resolve_tensor(const Graph& into, const std::string& prefix, const std::string& name) {
  const auto [node, idx] = detail::parse_tensor_name(name, true, "tensor name");
  const std::optional<Operation> op = into.find_operation(prefix.empty() ? node : prefix + "/" + node);
  if (!op || idx >= op->num_outputs()) return Output();
  return op->output(idx);
}

// Applies a MetaGraph's collections to the imported graph; returns them by key.
std::map<std::string, std::vector<std::string>> import_collections(Graph& into, const tfproto::MetaGraphDef& meta,
                                                                   const TfImportOutput& imported) {
  std::map<std::string, std::vector<std::string>> out;
  auto op_of = [&](const std::string& name) -> Operation {
    const std::string node = name.substr(0, name.rfind(':') == std::string::npos ? name.size() : name.rfind(':'));
    auto it = imported.ops.find(node);
    return it == imported.ops.end() ? Operation() : it->second;
  };
  for (const auto& [key, col] : meta.collection_def()) {
    if (key == collections::kGlobalVariables || key == collections::kTrainableVariables) {
      if (!col.has_bytes_list()) continue;
      for (const std::string& bytes : col.bytes_list().value()) {
        tfproto::VariableDef v;
        try {
          parse_proto(bytes, &v, "collection '" + key + "'");
        } catch (const DataLoss&) {
          continue;  // not a VariableDef: nothing Sluice can use
        }
        const Operation var = op_of(v.variable_name());
        if (!var.valid() || var.type() != "VariableV2") continue;
        into.add_to_collection(key, var);
        out[key].push_back(var.name());
        const Operation init = op_of(v.initializer_name());
        if (init.valid() && !into.variable_initializer(var).valid()) into.set_variable_initializer(var, init);
      }
    } else if (col.has_node_list()) {
      for (const std::string& name : col.node_list().value()) {
        const Operation op = op_of(name);
        if (!op.valid()) continue;
        into.add_to_collection(key, op);
        out[key].push_back(op.name());
      }
    }
  }
  return out;
}

TfMetaGraphImport import_meta_graph_def(Graph& into, const tfproto::MetaGraphDef& meta, const ImportOptions& options,
                                        const std::string& what) {
  const ParsedGraph pg = parse_graph(meta.graph_def(), what);
  const bool has_variable_collection = meta.collection_def().count(collections::kGlobalVariables) > 0;
  TfImportOutput imported = import_parsed(into, pg, options, {}, true, !has_variable_collection);
  TfMetaGraphImport r;
  r.result = std::move(imported.result);
  r.skipped = std::move(imported.skipped);
  r.tags.assign(meta.meta_info_def().tags().begin(), meta.meta_info_def().tags().end());
  r.collections = import_collections(into, meta, imported);
  const auto& s = meta.saver_def();
  r.saver = TfSaverInfo{s.filename_tensor_name(), s.save_tensor_name(), s.restore_op_name(), s.version(), s.sharded(),
                        s.max_to_keep()};
  for (const auto& [name, sig] : meta.signature_def()) {
    Signature out;
    bool complete = true;
    for (const auto* side : {&sig.inputs(), &sig.outputs()}) {
      for (const auto& [key, info] : *side) {
        Output t = resolve_tensor(into, options.prefix, info.name());
        auto m = options.input_map.find(info.name());
        if (m != options.input_map.end()) t = m->second;
        if (!t.valid()) complete = false;
        (side == &sig.inputs() ? out.inputs : out.outputs)[key] = t;
      }
    }
    if (complete) r.result.signatures[name] = std::move(out);
  }
  return r;
}

}  // namespace tf

TfMetaGraphImport import_tf_meta_graph(Graph& into, const std::string& path, const ImportOptions& options) {
  const std::string what = "MetaGraph '" + path + "'";
  tfproto::MetaGraphDef meta;
  tf::parse_proto(tf::read_file(path, what), &meta, what);
  return tf::import_meta_graph_def(into, meta, options, what);
}

}  // namespace sluice::io
