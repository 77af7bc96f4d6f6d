// The imported TensorFlow fc-layers graph (../shared/interop/tf2onnx/fc-layers/frozen.pb:
// 784 -> 256 relu -> 256 relu -> 10) beside the same network built natively from Sluice ops
// with the same weights, at batch 1 and 64. The import must cost nothing at run time (no
// extra Identity/Cast in the hot path): both are checked to give identical outputs, then
// timed. Skipped when the artifact is absent (set SLUICE_INTEROP to its folder).
#include <cstdlib>
#include <filesystem>

#include "bench_util.h"

namespace sluice::bench {
namespace {

std::string fc_layers_path() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("SLUICE_INTEROP")) dirs.push_back(env);
  dirs.push_back(std::string(SLUICE_BENCH_SOURCE_DIR) + "/../shared/interop");
  dirs.push_back(std::string(SLUICE_BENCH_SOURCE_DIR) + "/../../shared/interop");
  for (const auto& d : dirs)
    if (std::filesystem::exists(d + "/tf2onnx/fc-layers/frozen.pb")) return d + "/tf2onnx/fc-layers/frozen.pb";
  return "";
}

// imported = 1: the TF graph; 0: the native network with the weights read from it.
void tf_fc_layers(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const bool imported = state.range(1) == 1;
  const int threads = static_cast<int>(state.range(2));
  const std::string pb = fc_layers_path();
  if (pb.empty()) {
    state.SkipWithError("fc-layers artifact not found (set SLUICE_INTEROP)");
    return;
  }
  Graph tf_graph;
  io::import_tf_graph_def(tf_graph, pb);
  // The native twin: MatMul -> BiasAdd -> Relu per layer, weights from the TF constants.
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 784});
  Output h = x;
  std::vector<Operation> mm, ba;
  for (const Operation& op : tf_graph.operations()) {
    if (op.type() == "MatMul") mm.push_back(op);
    if (op.type() == "BiasAdd") ba.push_back(op);
  }
  for (size_t l = 0; l < mm.size(); ++l) {
    Output w = ops::constant(root, mm[l].input(1).node()->attr<Tensor>("value"));
    Output b = ops::constant(root, ba[l].input(1).node()->attr<Tensor>("value"));
    h = ops::bias_add(root, ops::matmul(root, h, w), b);
    if (l + 1 < mm.size()) h = ops::relu(root, h);
  }
  Session tf_sess(tf_graph, SessionOptions{threads});
  Session native(g, SessionOptions{threads});
  const Tensor in = random_tensor({batch, 784}, 11);
  const Tensor a = tf_sess.run({{"X:0", in}}, {"output:0"})[0];
  const Tensor b = native.run({{x, in}}, {h})[0];
  if (!verify(state, as_doubles(a), as_doubles(b), 0.0, "TF fc-layers import vs native")) return;
  if (imported) {
    for (auto _ : state) benchmark::DoNotOptimize(tf_sess.run({{"X:0", in}}, {"output:0"}));
  } else {
    for (auto _ : state) benchmark::DoNotOptimize(native.run({{x, in}}, {h}));
  }
  state.SetLabel(imported ? "imported TF graph" : "native Sluice graph");
}
const bool tf_fc = add("TF_fc_layers", tf_fc_layers, {{1, 1, 1}, {1, 0, 1}, {64, 1, 1}, {64, 0, 1}});

}  // namespace
}  // namespace sluice::bench
