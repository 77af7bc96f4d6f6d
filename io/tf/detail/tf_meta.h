// Internal: MetaGraphDef import shared by import_tf_meta_graph and SavedModels.
#pragma once

#include "../tf_import.h"
#include "tf_importer.h"

namespace sluice::io::tf {

TfMetaGraphImport import_meta_graph_def(Graph& into, const tfproto::MetaGraphDef& meta, const ImportOptions& options,
                                        const std::string& what);
Output resolve_tensor(const Graph& into, const std::string& prefix, const std::string& name);

}  // namespace sluice::io::tf
