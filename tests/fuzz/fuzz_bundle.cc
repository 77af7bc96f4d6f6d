// libFuzzer target: model bundles (io/bundle.h). The input is a bundle folder flattened:
// graph.json, a NUL byte (JSON text cannot hold one), then variables.ckpt. The two files
// are written into a folder of this process (the checkpoint with its checksums recomputed,
// see fix_checkpoint_checksums: fuzz_checkpoint covers the checksum checks themselves),
// then load_model reads the folder and every signature runs on random inputs of its
// declared dtypes and shapes (unknown dims 1..3), plus one call with a missing and one with
// an unexpected input key. Every failure must be a typed sluice::Error other than Internal;
// a successful run returns exactly the signature's output keys with the declared dtypes.
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string_view>

#include "fuzz_util.h"

namespace sluice::fuzz::bundle {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

inline void run_signatures(const io::LoadedModel& model, uint64_t seed) {
  for (const std::string& name : model.signature_names()) {
    const io::Signature& sig = model.signature(name);
    uint8_t seed_bytes[8];
    std::memcpy(seed_bytes, &seed, 8);
    Bytes in(seed_bytes, 8);
    std::map<std::string, Tensor> inputs;
    bool feedable = true;
    for (const auto& [key, x] : sig.inputs) {
      Shape shape;
      if (!concrete_shape(x.shape(), in, &shape)) {
        feedable = false;
        break;
      }
      inputs[key] = random_tensor(x.dtype(), shape, seed++);
    }
    if (!feedable) continue;
    try {
      const std::map<std::string, Tensor> out = model.run(name, inputs);
      SLUICE_FUZZ_CHECK(out.size() == sig.outputs.size());
      for (const auto& [key, y] : sig.outputs) {
        const auto it = out.find(key);
        SLUICE_FUZZ_CHECK(it != out.end() && it->second.dtype() == y.dtype());
        SLUICE_FUZZ_CHECK(y.shape().compatible_with(it->second.shape()));
      }
    } catch (const Error& e) {
      expect_typed(e);
    }
    // Bad calls are InvalidArgument, whatever the model.
    if (!inputs.empty()) {
      std::map<std::string, Tensor> missing = inputs;
      missing.erase(missing.begin());
      try {
        model.run(name, missing);
        SLUICE_FUZZ_CHECK(false);
      } catch (const InvalidArgument&) {
      }
    }
    const std::string odd_key = "\x01not an input";
    if (!sig.inputs.count(odd_key)) {
      std::map<std::string, Tensor> unexpected = inputs;
      unexpected[odd_key] = Tensor(1.0f);
      try {
        model.run(name, unexpected);
        SLUICE_FUZZ_CHECK(false);
      } catch (const InvalidArgument&) {
      }
    }
  }
  const std::string odd_name = "\x01no such signature";
  if (!model.signatures().count(odd_name)) {
    try {
      model.run(odd_name, {});
      SLUICE_FUZZ_CHECK(false);
    } catch (const NotFound&) {
    }
  }
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t nul = all.find('\0');
  const std::string graph(all.substr(0, nul));
  const std::string ckpt = nul == std::string_view::npos ? std::string() : std::string(all.substr(nul + 1));

  const std::string dir = scratch_dir() + "/bundle";
  static const bool made = [&] {
    std::filesystem::create_directories(dir);
    return true;
  }();
  (void)made;
  SLUICE_FUZZ_CHECK(write_file(dir + "/" + io::kBundleGraphFile, graph));
  SLUICE_FUZZ_CHECK(write_file(dir + "/" + io::kBundleVariablesFile, fix_checkpoint_checksums(ckpt)));

  std::optional<io::LoadedModel> model;
  try {
    model.emplace(io::load_model(dir, SessionOptions{1}));
  } catch (const Error& e) {
    expect_typed(e);
    return 0;
  }
  SLUICE_FUZZ_CHECK(!model->signature_names().empty());
  run_signatures(*model, std::hash<std::string_view>()(all));
  return 0;
}

}  // namespace sluice::fuzz::bundle

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::bundle::run(data, size);
}
#endif
