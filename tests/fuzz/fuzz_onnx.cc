// libFuzzer target: the ONNX importer (io/onnx/onnx_import.h) on arbitrary bytes, read as a
// model file and as a TensorProto file. Every failure must be a typed sluice::Error other
// than Internal; beyond that:
//   - a failed import leaves the target graph unchanged (all or nothing), checked on a graph
//     that already holds nodes, under a prefix;
//   - an import that succeeds runs: every signature input is fed a small random tensor of
//     its dtype and (made concrete) shape and every output is fetched, one run each;
//   - importing the same bytes twice under two prefixes gives graphs of the same size.
#include <optional>

#include "fuzz_util.h"

namespace sluice::fuzz::onnx_model {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

inline void run_model(const Graph& g, const io::Signature& sig, Bytes& control) {
  FeedList feeds;
  for (const auto& [key, x] : sig.inputs) {
    if (x.dtype() == DType::string) return;
    Shape shape;
    if (!concrete_shape(x.shape(), control, &shape)) return;
    feeds.emplace_back(x, random_tensor(x.dtype(), shape, control.u64()));
  }
  Session sess(g, SessionOptions{1});
  for (const auto& [key, y] : sig.outputs) {
    try {
      const std::vector<Tensor> r = sess.run(feeds, {y});
      SLUICE_FUZZ_CHECK(r.size() == 1 && r[0].dtype() == y.dtype() && y.shape().compatible_with(r[0].shape()));
    } catch (const Error& e) {
      expect_typed(e);
    }
  }
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // Feeds are drawn from the input's last bytes, which protobuf parsing rarely depends on.
  Bytes control(data + size - std::min<size_t>(size, 16), std::min<size_t>(size, 16));

  Graph g;
  Scope root(g);
  ops::placeholder(root.named("input"), DType::f32, {-1, 4});
  const int before = g.num_operations();
  std::optional<io::ImportResult> r;
  try {
    r = io::import_onnx_bytes(g, bytes, {"m1", {}, {}}, "fuzz.onnx");
  } catch (const Error& e) {
    expect_typed(e);
    SLUICE_FUZZ_CHECK(g.num_operations() == before);
  }
  if (r) {
    const int one = g.num_operations() - before;
    const io::ImportResult r2 = io::import_onnx_bytes(g, bytes, {"m2", {}, {}}, "fuzz.onnx");
    SLUICE_FUZZ_CHECK(g.num_operations() - before == 2 * one);
    SLUICE_FUZZ_CHECK(r->signatures.count("serving_default") == 1);
    run_model(g, r->signatures.at("serving_default"), control);
  }

  MemFile file(bytes);
  try {
    const Tensor t = io::read_onnx_tensor(file.path());
    SLUICE_FUZZ_CHECK(t.valid());
  } catch (const Error& e) {
    expect_typed(e);
  }
  return 0;
}

}  // namespace sluice::fuzz::onnx_model

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::onnx_model::run(data, size);
}
#endif
