// libFuzzer target: TensorFlow V2 checkpoints (tensor bundles) through io::CheckpointReader.
//
// Input: a little-endian u32 n, then n bytes of <prefix>.index (an SSTable), then the bytes
// of <prefix>.data-00000-of-00001. Both are written to a scratch folder and read with
// list_variables, CheckpointReader (every tensor, an absent name, read_all), load_variable
// and restore_into_scope into a graph with variables named as the listed tensors. Every
// failure must be a typed sluice::Error other than Internal, and reads that succeed agree.
#include "fuzz_util.h"

namespace sluice::fuzz::tf_checkpoint {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  if (size < 4) return 0;
  uint32_t n;
  std::memcpy(&n, data, 4);
  if (n > size - 4) n = static_cast<uint32_t>(size - 4);
  const std::string prefix = scratch_dir() + "/model";
  if (!write_file(prefix + ".index", std::string(reinterpret_cast<const char*>(data) + 4, n)) ||
      !write_file(prefix + ".data-00000-of-00001", std::string(reinterpret_cast<const char*>(data) + 4 + n, size - 4 - n)))
    return 0;
  try {
    io::CheckpointReader reader(prefix);
    std::map<std::string, Tensor> values;
    for (const auto& v : reader.variables()) {
      try {
        Tensor t = reader.read(v.name);
        SLUICE_FUZZ_CHECK(t.dtype() == v.dtype && t.shape() == v.shape);
        values[v.name] = t;
      } catch (const Error& e) {
        expect_typed(e);
      }
    }
    try {
      reader.read("no such tensor \x01");
      SLUICE_FUZZ_CHECK(false);
    } catch (const NotFound&) {
    }
    try {
      for (const auto& [name, t] : reader.read_all()) SLUICE_FUZZ_CHECK(values.count(name) && values[name].equals(t));
    } catch (const Error& e) {
      expect_typed(e);
    }
    // Restore the tensors that read fine into variables of the same names, under a scope.
    Graph g;
    Scope root(g);
    for (const auto& [name, t] : values) {
      try {
        ops::variable(root.sub("model_001").named(name), t.shape(), t.dtype());
      } catch (const Error& e) {
        expect_typed(e);  // a name Sluice does not accept as an op name
      }
    }
    if (!g.global_variables().empty()) {
      Session sess(g, SessionOptions{1});
      try {
        io::restore_into_scope(sess, prefix, "model_001");
        for (const Operation& v : g.global_variables())
          SLUICE_FUZZ_CHECK(sess.variable_value(v.name()).equals(values.at(v.name().substr(10))));
      } catch (const Error& e) {
        expect_typed(e);
      }
    }
  } catch (const Error& e) {
    expect_typed(e);
  }
  try {
    io::list_variables(prefix);
  } catch (const Error& e) {
    expect_typed(e);
  }
  return 0;
}

}  // namespace sluice::fuzz::tf_checkpoint

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::tf_checkpoint::run(data, size);
}
#endif
