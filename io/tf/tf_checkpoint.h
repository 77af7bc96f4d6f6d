// TensorFlow checkpoints. A TF 1.x checkpoint prefix ("train/model.ckpt-1000" for
// model.ckpt-1000.index + model.ckpt-1000.data-00000-of-00001) is accepted wherever Sluice
// takes a checkpoint path: io::list_variables, io::load_variable, io::read_checkpoint,
// io::Saver::restore and io::restore_into_scope read it as transparently as a Sluice
// checkpoint (names as TensorFlow saved them, e.g. "dense/kernel"). Every block of the
// index and every tensor is CRC32C-checked; see docs/formats.md ("TensorFlow checkpoints").
//
//   std::string ckpt = io::latest_checkpoint("train");      // "train/model.ckpt-1000"
//   for (const auto& v : io::list_variables(ckpt)) std::cout << v.name << "\n";
//   io::restore_into_scope(sess, ckpt, "model_001");
#pragma once

#include <string>

namespace sluice::io {

// The newest checkpoint recorded in `dir`'s TensorFlow `checkpoint` state file (its
// model_checkpoint_path, resolved against `dir` when relative). NotFound when the folder
// has no state file or the checkpoint it names has no .index file; DataLoss when the state
// file cannot be parsed.
std::string latest_checkpoint(const std::string& dir);

// True when `path` names a TensorFlow checkpoint prefix (<path>.index exists and `path`
// itself is not a file).
bool is_tf_checkpoint(const std::string& path);

}  // namespace sluice::io
