// `sluice version`: the library version and what this build can read.
#include <iostream>

#include "command.h"

namespace sluice::cli {
namespace {

void add_version(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("version", "Print the version and the formats this build reads");
  sub->callback([] {
    std::cout << "sluice " << SLUICE_VERSION << "\n"
              << "reads: Sluice checkpoints, graph files and bundles; .npz/.npy; TensorFlow 1.x "
                 "checkpoints, GraphDefs, MetaGraphs and SavedModels; ONNX models\n";
  });
}
SLUICE_CLI_COMMAND(add_version);

}  // namespace
}  // namespace sluice::cli
