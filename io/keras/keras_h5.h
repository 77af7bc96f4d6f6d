// Keras HDF5 models in and out: the files Keras' model.save("m.h5") writes (Keras 2.1 to
// tf.keras 2.x), read into a Sluice model that runs, trains, serves and exports like any
// other, and written back in Keras' layout so Keras loads what Sluice trained.
//
//   models::Model m = io::load_keras_model("cnn.h5");          // layers, weights
//   m.summary();
//   Tensor probs = m.predict(images);
//   m.fit(images, labels);            // compiled from the file's training_config (if any)
//   m.save("cnn_tuned.h5");                                    // Keras' format again
//   io::LoadedModel served = io::load_model("cnn.h5");         // signature "serving_default"
//
// The layer table (class name -> builder) is in io/keras/keras_layers.cc; the README's
// "Keras models" section lists it with the config dialects.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../../graph/layers.h"
#include "../../models/model.h"
#include "../bundle.h"

namespace sluice::io {

// A layer class the file uses that Sluice does not know: `make` gets the layer's Keras
// config (the JSON text of its "config" object) and returns a single-input layer, called
// on the layer's inbound tensor; its weights (weights(), in Keras' order) are loaded from
// the file like any other layer's.
struct KerasCustomLayer {
  std::string class_name;
  std::function<std::shared_ptr<layers::Layer>(const std::string& config_json)> make;
};

// Loads a Keras HDF5 model file (model_config + model_weights) as a functional Model named
// as in the config: one placeholder per Keras input layer (named as it, batch dim free),
// outputs in the config's output order. Weights are set from model_weights/<layer>, in
// weight_names order, each checked against the shape the config implies before it is read.
// Errors: NotFound (no file, or no model_config: a weights-only file), DataLoss (not HDF5, a
// damaged attribute/dataset, malformed or oversized config JSON), InvalidArgument (a weight
// whose shape disagrees with the config), Unimplemented (one error listing every unsupported
// layer class or option with its layer name; Lambda layers hold Python bytecode and are
// never supported). Every message names the file and the object.
// With a training_config (Adam, SGD or RMSprop; a loss Model::compile knows) the model comes
// back compiled with the file's optimizer settings, loss and known metrics, and
// optimizer_weights fill the optimizer slots and step counter (tf.keras 2.x names; Keras
// 2.1's RMSprop accumulators), so fit() resumes; otherwise it is uncompiled.
models::Model load_keras_model(const std::string& path, const std::vector<KerasCustomLayer>& custom_layers = {});

// The same model as a LoadedModel (what io::load_model returns for a ".h5"/".hdf5" file):
// signature "serving_default" with inputs keyed by the input layer names and outputs by the
// output layer names, "_1", "_2", ... appended for a layer's further outputs (TensorFlow's
// naming when it exports a Keras model: lstm, lstm_1, lstm_2 for an LSTM's output and states).
LoadedModel load_keras_h5(const std::string& path, SessionOptions options = {});

// The signature keys of outputs named by their layers (see load_keras_h5), in order.
std::vector<std::string> keras_output_keys(const std::vector<std::string>& output_layer_names);

// The Keras layer classes the importer builds (its table, sorted), besides InputLayer.
std::vector<std::string> keras_layer_classes();

// Whether `path` starts with the HDF5 signature (\x89HDF\r\n\x1a\n).
bool is_hdf5_file(const std::string& path);

// Writes `model` in Keras' HDF5 layout: root attributes keras_version, backend and
// model_config (variable-length strings, as Keras writes them), group model_weights with
// layer_names and, per layer, weight_names (fixed-length NUL-padded byte strings, an empty
// float64 array for none) and one float32 dataset per weight ("<layer>/kernel:0"). The
// model's current weights are written (so a model fine-tuned in Sluice goes back to Keras).
// A compiled model also gets training_config and optimizer_weights (tf.keras 2.x's). Works
// for models loaded from Keras files (their config is kept in the graph: any layer) and for
// models built in Sluice (the config is generated from the graph for every layer Keras can
// express; README "Keras models"); Unimplemented naming every other layer and its class,
// with no file written. Written under a temporary name and renamed into place.
void save_keras_model(const models::Model& model, const std::string& path);

}  // namespace sluice::io
