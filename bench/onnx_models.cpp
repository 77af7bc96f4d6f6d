// Inference time of the ONNX models tests/onnx_models/export_models.py exports (resnet18,
// mobilenet_v2, squeezenet1_1, an LSTM classifier, a transformer encoder), loaded with
// io::load_model: the median wall time of `--runs` calls of the serving signature, after
// two warm-up calls, at each batch size, with `--threads` intra-op threads. Inputs are
// seeded normal values of the exported input's shape with the batch replaced. One line per
// row: "sluice <model> batch <b> threads <t> median_ms <m>". bench/onnx_compare.sh runs it
// beside ONNX Runtime (bench/onnx_ort.js) on the same files. --profile prints each row's
// slowest op types (Session::op_timings) after it, --profile-nodes N its N slowest nodes.
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace sluice;

int main(int argc, char** argv) {
  CLI::App app{"Sluice inference time of the exported ONNX models"};
  std::string dir = "build/onnx_models";
  std::vector<std::string> models{"resnet18", "mobilenet_v2", "squeezenet1_1", "lstm_classifier", "transformer_encoder"};
  std::vector<int64_t> batches{1, 8};
  int threads = 2, runs = 10;
  bool profile = false;
  int profile_nodes = 0;
  app.add_option("--models-dir", dir, "folder of <model>.onnx and <model>.input.npy");
  app.add_option("--models", models, "models to time");
  app.add_option("--batch", batches, "batch sizes");
  app.add_option("--threads", threads, "intra-op threads");
  app.add_option("--runs", runs, "timed runs per row (the median is reported)");
  app.add_flag("--profile", profile, "print the slowest op types of each row");
  app.add_option("--profile-nodes", profile_nodes, "print the N slowest nodes of each row instead");
  CLI11_PARSE(app, argc, argv);
  try {
    for (const std::string& name : models) {
      SessionOptions opt;
      opt.num_threads = threads;
      opt.collect_op_timings = profile || profile_nodes > 0;
      opt.op_timings_by_node = profile_nodes > 0;
      const Tensor example = io::read_npy(dir + "/" + name + ".input.npy");
      for (int64_t batch : batches) {
        io::LoadedModel m = io::load_model(dir + "/" + name + ".onnx", opt);
        std::vector<int64_t> dims = example.shape().dims();
        dims[0] = batch;
        const Shape shape(dims);
        std::vector<float> values(static_cast<size_t>(shape.num_elements()));
        std::mt19937 gen(7);
        std::normal_distribution<float> normal;
        for (float& v : values) v = normal(gen);
        const Tensor x = Tensor::from_vector(values, shape);
        for (int i = 0; i < 2; ++i) m.run("serving_default", {{"input", x}});
        // The warm-up runs pack the weights: leave them out of the profile.
        std::map<std::string, double> warm_up;
        for (const OpTiming& t : m.session().op_timings())
          warm_up[t.op_type + "/" + t.node] = t.seconds;
        std::vector<double> ms;
        for (int i = 0; i < runs; ++i) {
          const auto t0 = std::chrono::steady_clock::now();
          m.run("serving_default", {{"input", x}});
          ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        std::printf("sluice %s batch %lld threads %d median_ms %.3f\n", name.c_str(), static_cast<long long>(batch), threads,
                    ms[ms.size() / 2]);
        if (opt.collect_op_timings) {
          std::vector<OpTiming> t = m.session().op_timings();
          for (OpTiming& e : t) {
            e.seconds -= warm_up[e.op_type + "/" + e.node];
            e.calls -= 2;
          }
          std::sort(t.begin(), t.end(),
                    [](const OpTiming& a, const OpTiming& b) { return a.seconds > b.seconds; });
          const size_t shown = profile_nodes > 0 ? static_cast<size_t>(profile_nodes) : 6;
          for (size_t i = 0; i < std::min(t.size(), shown); ++i)
            std::printf("  %-22s %-40s %6lld calls %9.3f ms per run\n", t[i].op_type.c_str(),
                        t[i].node.c_str(), static_cast<long long>(t[i].calls),
                        1e3 * t[i].seconds / runs);
        }
        std::fflush(stdout);
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
