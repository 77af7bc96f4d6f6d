// Graph building: 100,000 ops with default names ("Neg", "Neg_1", ..., "Neg_99999"). Unique
// names used to be found by trying base, base_1, base_2, ... from the start, which made this
// quadratic (10,000 ops: 4.5 s); a per-base counter makes each name O(1) (issue 10).
#include "bench_util.h"

namespace sluice::bench {
namespace {

struct Built {
  Graph g;
  Output x, y;
};

Built build_chain(int64_t n) {
  Built b;
  Scope root(b.g);
  b.x = ops::placeholder(root.named("x"), DType::f32, {4});
  b.y = b.x;
  for (int64_t i = 0; i < n; ++i) b.y = ops::neg(root, b.y);
  return b;
}

void graph_build_default_names(benchmark::State& state) {
  const int64_t n = state.range(0);
  {
    // Check once: the names are TensorFlow's, and the chain computes (-1)^n x.
    Built b = build_chain(n);
    const bool names_ok = b.y.op().name() == "Neg_" + std::to_string(n - 1) &&
                          b.g.find_operation("Neg") && b.g.find_operation("Neg_1");
    Session sess(b.g, SessionOptions{1});
    const Tensor y = sess.run({{b.x, Tensor({1.0f, -2.0f, 3.0f, 0.5f})}}, {b.y})[0];
    const double sign = n % 2 ? -1.0 : 1.0;
    std::vector<double> got = as_doubles(y), want = {sign, -2 * sign, 3 * sign, 0.5 * sign};
    got.push_back(names_ok ? 1.0 : 0.0);
    want.push_back(1.0);
    if (!verify(state, got, want, 0.0, "graph building")) return;
  }
  for (auto _ : state) {
    Built b = build_chain(n);
    benchmark::DoNotOptimize(b.y);
  }
  state.counters["ops/s"] = benchmark::Counter(static_cast<double>(n),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
const bool graph_build = add("GraphBuild_DefaultNames", graph_build_default_names, {{100000, 1}});

}  // namespace
}  // namespace sluice::bench
