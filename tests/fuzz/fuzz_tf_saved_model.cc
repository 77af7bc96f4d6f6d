// libFuzzer target: TensorFlow SavedModels (io/tf/tf_import.h). The input is a
// saved_model.pb, written into a scratch folder (without variables/) and read by
// inspect_tf_saved_model and load_model; a model that loads is run once per signature with
// small random inputs. Every failure must be a typed sluice::Error other than Internal.
#include "fuzz_util.h"

namespace sluice::fuzz::tf_saved_model {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  const std::string dir = scratch_dir() + "/saved_model";
  std::filesystem::create_directories(dir);
  if (!write_file(dir + "/saved_model.pb", std::string(reinterpret_cast<const char*>(data), size))) return 0;
  try {
    const io::TfSavedModelInfo info = io::inspect_tf_saved_model(dir);
    (void)info.to_string();
  } catch (const Error& e) {
    expect_typed(e);
  }
  try {
    io::LoadedModel m = io::load_model(dir);
    Bytes in(nullptr, 0);
    for (const auto& [name, sig] : m.signatures()) {
      std::map<std::string, Tensor> inputs;
      bool ok = true;
      for (const auto& [key, x] : sig.inputs) {
        Shape shape;
        ok = ok && x.dtype() != DType::string && concrete_shape(x.shape(), in, &shape);
        if (ok) inputs[key] = random_tensor(x.dtype(), shape, size);
      }
      if (!ok) continue;
      try {
        m.run(name, inputs);
      } catch (const Error& e) {
        expect_typed(e);
      }
    }
  } catch (const Error& e) {
    expect_typed(e);
  }
  return 0;
}

}  // namespace sluice::fuzz::tf_saved_model

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::tf_saved_model::run(data, size);
}
#endif
