// Model file formats other than Sluice's own bundle folder, plugged in from above: Model::save
// and load_model hand a path with a registered extension (".h5", ".hdf5") to its format.
// io/keras registers Keras' HDF5 format at load time (keras_export.cc); models/ itself never
// includes io/keras, which builds models::Model objects and so sits above this folder.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model.h"

namespace sluice::models::detail {

struct ModelFileFormat {
  std::string name;  // "Keras HDF5", for messages
  std::function<void(const Model&, const std::string& path)> save;
  std::function<Model(const std::string& path)> load;
};

// Registers `format` for paths ending in any of `extensions` (".h5"); a later registration
// of the same extension replaces the earlier one. Thread-safe.
void register_model_file_format(const std::vector<std::string>& extensions, ModelFileFormat format);

}  // namespace sluice::models::detail
