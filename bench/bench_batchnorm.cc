// W5 BatchNorm training-mode forward (../shared/bench/WORKLOADS.md): layers::BatchNormalization
// on x[64,56,56,64] NHWC with the learning phase fed true, so it normalises with the batch
// statistics; each call also runs the layer's moving-average updates, as a training step
// (and PyTorch's F.batch_norm(training=True)) does. Checked once against plain loops in
// double, then timed.
//
// Counters: GB/s counts the least traffic, x read once + y written once (as the PyTorch
// peer counts); of_add_bw is that rate over this machine's one-thread DRAM bandwidth for
// a[i] = b[i] + c[i] (STREAM "add", 3 arrays of 128 MiB, counted as 3 x 128 MiB per pass
// like STREAM; best of 4 passes), measured once per process and shown in the label.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "bench_util.h"

namespace sluice::bench {
namespace {

// One thread's a[i] = b[i] + c[i] bandwidth over arrays far larger than the L3, GB/s.
double dram_add_gbs() {
  static const double gbs = [] {
    const size_t n = size_t{32} << 20;  // floats: 128 MiB per array
    std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);  // written here, so the pages exist
    double best = 0;
    for (int pass = 0; pass < 4; ++pass) {
      const auto t0 = std::chrono::steady_clock::now();
      float* ap = a.data();
      const float* bp = b.data();
      const float* cp = c.data();
      for (size_t i = 0; i < n; ++i) ap[i] = bp[i] + cp[i];
      benchmark::ClobberMemory();  // the stores must happen
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, 3.0 * n * sizeof(float) / secs / 1e9);
    }
    return best;
  }();
  return gbs;
}

void w5_batchnorm(benchmark::State& state) {
  const int64_t n = 64, h = 56, w = 56, c = 64;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, h, w, c});
  layers::BatchNormalization bn;  // momentum 0.99, epsilon 1e-3 (the peer's too)
  Output y = bn(root, x);
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  // Non-trivial scale and shift (the layer starts at ones and zeros) so the check sees them.
  Tensor gamma = random_tensor({c}, 31);
  const Tensor beta = random_tensor({c}, 32);
  for (int64_t i = 0; i < c; ++i) gamma.data<float>()[i] += 1.5f;
  sess.set_variable_value(bn.gamma().op().name(), gamma);
  sess.set_variable_value(bn.beta().op().name(), beta);
  const std::vector<OpRef> updates(bn.updates().begin(), bn.updates().end());

  // x with a per-channel offset and spread, so wrong statistics would show.
  Tensor xv = random_tensor({n, h, w, c}, 33);
  const int64_t rows = n * h * w;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) xv.data<float>()[r * c + k] = xv.data<float>()[r * c + k] * (1 + k % 5) + 0.1f * k;
  const FeedList feeds{{x, xv}, {learning_phase(g), Tensor(true)}};
  const Tensor out = sess.run(feeds, {y}, updates)[0];
  const Tensor moving_mean = sess.run({}, {bn.moving_mean()})[0];

  // Reference: per-channel mean and biased variance in double, then sampled outputs.
  std::vector<double> sum(c), sum_sq(c);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      const double v = xv.data<float>()[r * c + k];
      sum[k] += v;
      sum_sq[k] += v * v;
    }
  std::vector<double> got, want;
  std::mt19937 rng(34);
  for (int s = 0; s < 8192; ++s) {
    const int64_t r = rng() % rows, k = s % c;
    const double mean = sum[k] / rows, var = sum_sq[k] / rows - mean * mean;
    want.push_back(gamma.data<float>()[k] * (xv.data<float>()[r * c + k] - mean) / std::sqrt(var + 1e-3) +
                   beta.data<float>()[k]);
    got.push_back(out.data<float>()[r * c + k]);
  }
  if (!verify(state, got, want, 1e-4, "W5 BatchNorm output")) return;
  got.clear();
  want.clear();
  for (int64_t k = 0; k < c; ++k) {  // moving_mean = 0.99 * 0 + 0.01 * batch mean after one step
    want.push_back(0.01 * sum[k] / rows);
    got.push_back(moving_mean.data<float>()[k]);
  }
  if (!verify(state, got, want, 1e-4, "W5 BatchNorm moving mean")) return;

  const double add_gbs = dram_add_gbs();
  for (auto _ : state) benchmark::DoNotOptimize(sess.run(feeds, {y}, updates));
  const double bytes = 2.0 * n * h * w * c * sizeof(float);
  set_rate(state, "GB/s", bytes / 1e9);
  set_rate(state, "of_add_bw", bytes / (add_gbs * 1e9));
  char label[96];
  std::snprintf(label, sizeof(label), "1-thread DRAM add %.1f GB/s", add_gbs);
  state.SetLabel(label);
}
const bool w5 = add("W5_BatchNorm", w5_batchnorm, {{1}, {2}});

}  // namespace
}  // namespace sluice::bench
