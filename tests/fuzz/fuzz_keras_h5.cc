// libFuzzer target: the Keras HDF5 importer (io/keras/). The first byte picks the mode:
//   even: the rest is a whole .h5 file (libhdf5's parsing, the attribute and dataset reads);
//   odd:  the rest is a model_config JSON, written into an otherwise valid file whose
//         model_weights hold a Dense "dense" (kernel [4,2], bias [2]) and an LSTM "lstm"
//         (kernel [4,8], recurrent_kernel [2,8], bias [8]): the config parser, the layer
//         table, graph building and the weight shape checks.
// Every failure must be a typed sluice::Error other than Internal. A model that loads must
// run on zeros of its input shapes (free dims 2) when it is small, and then go through the
// save path: saved to a file, loaded again, with bit-identical outputs. Crashes inside libhdf5
// itself (mode even) are reported with the input as libhdf5 bugs (docs/fuzzing.md).
#include <cstring>
#include <optional>

#include "../../io/keras/hdf5.h"
#include "fuzz_util.h"

namespace sluice::fuzz::keras_h5 {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

// The template file with `config` as its model_config.
inline std::string write_template(const std::string& config) {
  const std::string path = scratch_dir() + "/template.h5";
  io::h5::File f = io::h5::File::create(path);
  const auto root = f.id();
  io::h5::write_string_attr(f, root, "", "keras_version", "2.4.0", io::h5::StrKind::vlen_utf8);
  io::h5::write_string_attr(f, root, "", "backend", "tensorflow", io::h5::StrKind::vlen_utf8);
  io::h5::write_string_attr(f, root, "", "model_config", config, io::h5::StrKind::vlen_ascii);
  io::h5::Handle mw = io::h5::create_group(f, root, "", "model_weights");
  io::h5::write_string_array_attr(f, mw.get(), "model_weights", "layer_names", {"dense", "lstm"});
  io::h5::Handle d = io::h5::create_group(f, mw.get(), "model_weights", "dense");
  io::h5::write_string_array_attr(f, d.get(), "dense", "weight_names", {"dense/kernel:0", "dense/bias:0"});
  io::h5::write_dataset(f, d.get(), "dense", "dense/kernel:0", Tensor::filled(DType::f32, {4, 2}, 0.5));
  io::h5::write_dataset(f, d.get(), "dense", "dense/bias:0", Tensor::filled(DType::f32, {2}, 0.25));
  io::h5::Handle l = io::h5::create_group(f, mw.get(), "model_weights", "lstm");
  io::h5::write_string_array_attr(f, l.get(), "lstm", "weight_names",
                                  {"lstm/kernel:0", "lstm/recurrent_kernel:0", "lstm/bias:0"});
  io::h5::write_dataset(f, l.get(), "lstm", "lstm/kernel:0", Tensor::filled(DType::f32, {4, 8}, 0.1));
  io::h5::write_dataset(f, l.get(), "lstm", "lstm/recurrent_kernel:0", Tensor::filled(DType::f32, {2, 8}, 0.1));
  io::h5::write_dataset(f, l.get(), "lstm", "lstm/bias:0", Tensor::filled(DType::f32, {8}, 0.0));
  f.close();
  return path;
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::optional<MemFile> mem;
  std::string path;
  if (data[0] % 2 == 0) {
    mem.emplace(rest);
    path = mem->path();
  } else {
    path = write_template(rest);
  }
  try {
    models::Model m = io::load_keras_model(path);
    if (m.count_params() > 100000) return 0;
    std::vector<Tensor> xs;
    for (const Output& in : m.inputs()) {
      std::vector<int64_t> dims = in.shape().dims();
      int64_t n = 1;
      for (auto& dim : dims) {
        if (dim < 0) dim = 2;
        n *= std::max<int64_t>(dim, 1);
      }
      if (n > 4096) return 0;
      xs.push_back(Tensor::zeros(in.dtype(), Shape(dims)));
    }
    const std::vector<Tensor> ys = m.predict(xs);
    // The save path on what loaded: written back, it loads again and computes the same.
    const std::string resaved = scratch_dir() + "/resaved.h5";
    m.save(resaved);
    models::Model back = io::load_keras_model(resaved);
    const std::vector<Tensor> again = back.predict(xs);
    SLUICE_FUZZ_CHECK(again.size() == ys.size());
    for (size_t i = 0; i < ys.size(); ++i)
      SLUICE_FUZZ_CHECK(again[i].shape() == ys[i].shape() && again[i].num_bytes() == ys[i].num_bytes() &&
                        std::memcmp(again[i].raw_data(), ys[i].raw_data(), ys[i].num_bytes()) == 0);
  } catch (const Error& e) {
    expect_typed(e);
  }
  return 0;
}

}  // namespace sluice::fuzz::keras_h5

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::keras_h5::run(data, size);
}
#endif
