// libFuzzer target: TensorFlow GraphDefs (io/tf/tf_import.h) on arbitrary bytes.
//
// Each input is imported as a frozen GraphDef into a fresh graph (everything), and into a
// graph that already holds nodes under a prefix with the first node's output returned; a
// graph that imports is then run (every Placeholder fed a small random tensor, up to four
// outputs fetched). Every failure must be a typed sluice::Error other than Internal, and a
// failed import must leave the target graph unchanged (all or nothing).
#include "fuzz_util.h"

namespace sluice::fuzz::tf_graph_def {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

inline void run_graph(const Graph& g, uint64_t seed) {
  Bytes in(nullptr, 0);
  FeedList feeds;
  std::vector<Output> outputs;
  for (const Operation& op : g.operations()) {
    for (int i = 0; i < op.num_outputs(); ++i) outputs.push_back(op.output(i));
    if (op.type() != "Placeholder") continue;
    Shape shape;
    if (!concrete_shape(op.output(0).shape(), in, &shape) || op.output(0).dtype() == DType::string) return;
    feeds.emplace_back(op.output(0), random_tensor(op.output(0).dtype(), shape, seed++));
  }
  Session sess(g, SessionOptions{1});
  try {
    sess.run(feeds, {}, {ops::global_variables_initializer(Scope(g))});
  } catch (const Error& e) {
    expect_typed(e);
  }
  for (size_t k = 0; k < outputs.size() && k < 4; ++k) {
    try {
      sess.run(feeds, {outputs[outputs.size() - 1 - k]});
    } catch (const Error& e) {
      expect_typed(e);
    }
  }
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  {
    Graph g;
    try {
      io::import_tf_graph_def_bytes(g, bytes);
      run_graph(g, size);
    } catch (const Error& e) {
      expect_typed(e);
      SLUICE_FUZZ_CHECK(g.num_operations() == 0);
    }
  }
  {
    Graph g;
    Scope root(g);
    ops::placeholder(root.named("input"), DType::f32, {-1, 2});
    ops::variable(root.named("w"), Shape{2}, DType::f32);
    const int before = g.num_operations();
    try {
      io::import_tf_graph_def_bytes(g, bytes, {"model_001", {}, {}});
    } catch (const Error& e) {
      expect_typed(e);
      SLUICE_FUZZ_CHECK(g.num_operations() == before);
    }
  }
  return 0;
}

}  // namespace sluice::fuzz::tf_graph_def

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::tf_graph_def::run(data, size);
}
#endif
