// Runs the registered benchmarks. `--smoke` runs each once (ctest uses it so benchmarks
// cannot rot); other flags go to Google Benchmark. Exits non-zero if any benchmark's result
// disagreed with its reference.
#include <cstring>

#include "bench_util.h"

int main(int argc, char** argv) {
  bool smoke = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      smoke = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  for (const auto& e : sluice::bench::registry()) {
    auto* b = benchmark::RegisterBenchmark(e.name.c_str(), e.fn);
    for (const auto& a : e.args) b->Args(a);
    b->Unit(benchmark::kMillisecond)->UseRealTime();
    if (smoke) b->Iterations(1);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return sluice::bench::verification_failed() ? 1 : 0;
}
