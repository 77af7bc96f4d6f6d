// GEMM with a constant right operand: the OpenBLAS wrapper (gemm::gemm, which repacks B on
// every call) against Sluice's micro-kernel on B packed once (gemm::gemm_packed), on the
// shapes inference meets: the served MNIST MLP's first layer at batch 1 and 8, and the
// im2col products of resnet18 / mobilenet_v2 convolutions at batch 1.
// Arguments: m, n, k, path (0: gemm::gemm, 1: prepacked, 2: prepacked with a convolution's
// finish: a bias row and a clamp to [0, 6] as MobileNetV2's Clip), threads (always 1 here).
#include <algorithm>

#include "bench_util.h"
#include "ops/gemm.h"
#include "ops/gemm_packed.h"

namespace sluice::bench {
namespace {

void gemm_prepacked_bench(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const int64_t path = state.range(3);
  const Tensor a = random_tensor({m, k}, 1), b = random_tensor({k, n}, 2),
               bias = random_tensor({n}, 3);
  Tensor c(DType::f32, {m, n});
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* cp = c.data<float>();
  const gemm::PackedMatrix<float> pb(false, k, n, 1, bp, n);
  gemm::Finish<float> finish;
  if (path == 2)
    finish.bias = bias.data<float>(), finish.clamp = true, finish.lo = 0.0f, finish.hi = 6.0f;
  auto run = [&] {
    if (path != 0) {
      gemm::gemm_packed<float>(m, ap, k, pb, 0, 0, n, 0.0f, cp, n, finish);
    } else {
      gemm::gemm<float>(false, false, m, n, k, 1.0f, ap, k, bp, n, 0.0f, cp, n, nullptr);
    }
  };
  run();
  std::mt19937 rng(3);
  std::vector<double> got, want;
  for (int s = 0; s < 64; ++s) {
    const int64_t i = rng() % m, j = rng() % n;
    double acc = 0;
    for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(ap[i * k + p]) * bp[p * n + j];
    if (path == 2) acc = std::min(std::max(acc + bias.data<float>()[j], 0.0), 6.0);
    got.push_back(cp[i * n + j]);
    want.push_back(acc);
  }
  if (!verify(state, got, want, 1e-4, "GEMM prepacked")) return;
  for (auto _ : state) run();
  set_rate(state, "GFLOP/s", 2.0 * m * n * k / 1e9);
}
const bool gp = add("GemmPrepacked", gemm_prepacked_bench,
                    {{1, 128, 784, 0, 1}, {1, 128, 784, 1, 1},        // MLP layer 1, batch 1
                     {8, 128, 784, 0, 1}, {8, 128, 784, 1, 1},        // batch 8
                     {204, 64, 576, 0, 1}, {204, 64, 576, 1, 1},      // resnet18 layer1 block
                     {196, 256, 2304, 0, 1}, {196, 256, 2304, 1, 1},  // layer3 3x3, 14x14
                     {49, 512, 4608, 0, 1}, {49, 512, 4608, 1, 1},    // layer4 3x3, 7x7
                     {512, 96, 16, 0, 1}, {512, 96, 16, 1, 1},        // mobilenet_v2 pointwise
                     {49, 1280, 320, 0, 1}, {49, 1280, 320, 1, 1},    // mobilenet_v2 last 1x1
                     {256, 16, 64, 0, 1}, {256, 16, 64, 1, 1},        // squeezenet squeeze
                     {256, 64, 16, 0, 1}, {256, 64, 16, 1, 1},        // squeezenet expand 1x1
                     {256, 48, 384, 0, 1}, {256, 48, 384, 1, 1},      // squeezenet fire7 squeeze
                     {256, 256, 64, 0, 1}, {256, 256, 64, 1, 1},      // squeezenet fire9 expand
                     {256, 144, 24, 0, 1}, {256, 144, 24, 1, 1},      // mobilenet_v2 expand
                     {256, 24, 144, 0, 1}, {256, 24, 144, 1, 1},      // mobilenet_v2 project
                     // mobilenet_v2's 1x1 products with a bias and a clamp (path 2):
                     {3136, 96, 16, 2, 1}, {3136, 144, 24, 2, 1},  // expansions, 6 and 9 strips
                     {784, 192, 32, 2, 1},                         // expansion, 12 strips
                     {3136, 24, 144, 2, 1}, {49, 160, 576, 2, 1},  // projections to 24, 160
                     {64, 1024, 1024, 0, 1}, {64, 1024, 1024, 1, 1}});  // W2 Dense shape

}  // namespace
}  // namespace sluice::bench
