// W1 GEMM, W2 Dense forward, W8 per-op overhead, W9 single-example inference
// (../shared/bench/WORKLOADS.md). Each checks its result against a reference once, then times.
#include "bench_util.h"
#include "ops/gemm.h"

namespace sluice::bench {
namespace {

// ---- W1: C[n,n] = A[n,n] B[n,n] through the GEMM wrapper ----
void w1_gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  ThreadPool pool(threads);
  const Tensor a = random_tensor({n, n}, 1), b = random_tensor({n, n}, 2);
  Tensor c(DType::f32, {n, n});
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* cp = c.data<float>();
  auto run = [&] { gemm::gemm<float>(false, false, n, n, n, 1.0f, ap, n, bp, n, 0.0f, cp, n, &pool); };
  run();
  // Check 64 sampled entries against double-precision dot products.
  std::mt19937 rng(3);
  std::vector<double> got, want;
  for (int s = 0; s < 64; ++s) {
    const int64_t i = rng() % n, j = rng() % n;
    double acc = 0;
    for (int64_t k = 0; k < n; ++k) acc += static_cast<double>(ap[i * n + k]) * bp[k * n + j];
    got.push_back(cp[i * n + j]);
    want.push_back(acc);
  }
  if (!verify(state, got, want, 1e-4, "W1 GEMM")) return;
  for (auto _ : state) run();
  set_rate(state, "GFLOP/s", 2.0 * n * n * n / 1e9);
  state.SetLabel(gemm::backend_info());
}
const bool w1 = add("W1_GEMM", w1_gemm, {{256, 1}, {512, 1}, {1024, 1}, {2048, 1}, {256, 2}, {512, 2}, {1024, 2}, {2048, 2}});

// ---- W2: Dense forward through a graph and a session ----
void w2_dense(benchmark::State& state) {
  const int64_t batch = state.range(0), in = state.range(1), units = state.range(2);
  const bool relu = state.range(3) != 0;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, in});
  layers::Dense dense(units, relu ? Activation::relu : Activation::linear, true, "",
                      Initializer::random_uniform(-0.05, 0.05, 7), Initializer::random_uniform(-0.1, 0.1, 8));
  Output y = dense(root, x);
  Session sess(g, SessionOptions{static_cast<int>(state.range(4))});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor({batch, in}, 4);
  const Tensor out = sess.run({{x, xv}}, {y})[0];
  const Tensor w = sess.run({}, {dense.kernel()})[0], b = sess.run({}, {dense.bias()})[0];
  std::vector<double> want(static_cast<size_t>(batch * units));
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t j = 0; j < units; ++j) {
      double acc = b.data<float>()[j];
      for (int64_t k = 0; k < in; ++k) acc += static_cast<double>(xv.data<float>()[i * in + k]) * w.data<float>()[k * units + j];
      want[i * units + j] = relu && acc < 0 ? 0 : acc;
    }
  if (!verify(state, as_doubles(out), want, 1e-4, "W2 Dense")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * batch * in * units / 1e9);
}
const bool w2 = add("W2_Dense", w2_dense,
                    {{256, 784, 1024, 1, 1}, {64, 1024, 1024, 0, 1}, {256, 784, 1024, 1, 2}, {64, 1024, 1024, 0, 2}});

// ---- W8: 1000 chained adds of a [1] tensor, one run ----
void w8_overhead(benchmark::State& state) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {1});
  Output one = ops::constant(root, Tensor({1.0f}));
  Output y = x;
  for (int i = 0; i < 1000; ++i) y = ops::add(root, y, one);
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  const Tensor in({0.0f});
  if (!verify(state, as_doubles(sess.run({{x, in}}, {y})[0]), {1000.0}, 0, "W8 chain")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, in}}, {y}));
  // Reported: microseconds per op (time per iteration / 1000).
  state.counters["us_per_op"] =
      benchmark::Counter(1000.0 * 1e-6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
const bool w8 = add("W8_PerOpOverhead", w8_overhead, {{1}, {2}});

// ---- W9: the W6 MLP, batch 1, one inference run ----
void w9_inference(benchmark::State& state) {
  Graph g;
  g.set_random_seed(5);
  Scope root(g);
  Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 784});
  layers::Dense h1(128, Activation::relu), h2(128, Activation::relu), out(10, Activation::softmax);
  layers::Dropout d1(0.5), d2(0.5);
  Output probs = out(root, d2(root, h2(root, d1(root, h1(root, img)))));
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor x = random_tensor({1, 784}, 9, 0.5f);
  // Reference: the same forward pass in plain loops from the session's weights.
  std::vector<double> act(x.data<float>(), x.data<float>() + 784);
  for (layers::Dense* d : {&h1, &h2, &out}) {
    const Tensor w = sess.run({}, {d->kernel()})[0], b = sess.run({}, {d->bias()})[0];
    const int64_t in = w.dim(0), units = w.dim(1);
    std::vector<double> next(static_cast<size_t>(units));
    for (int64_t j = 0; j < units; ++j) {
      double acc = b.data<float>()[j];
      for (int64_t k = 0; k < in; ++k) acc += act[k] * w.data<float>()[k * units + j];
      next[j] = d == &out ? acc : std::max(acc, 0.0);
    }
    act = next;
  }
  double mx = act[0], sum = 0;
  for (double v : act) mx = std::max(mx, v);
  for (double& v : act) sum += (v = std::exp(v - mx));
  for (double& v : act) v /= sum;
  if (!verify(state, as_doubles(sess.run({{img, x}}, {probs})[0]), act, 1e-4, "W9 MLP")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{img, x}}, {probs}));
  state.counters["us_per_run"] =
      benchmark::Counter(1e-6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
const bool w9 = add("W9_MlpInference", w9_inference, {{1}, {2}});

}  // namespace
}  // namespace sluice::bench
