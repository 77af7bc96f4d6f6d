// The fused activation kernels (forward and backward) on 1M float32 elements, and
// batch_matmul on many small and a few large products. Each checks sampled results against
// a double-precision reference once, then times one session run.
#include "bench_util.h"

namespace sluice::bench {
namespace {

constexpr int64_t kN = 1 << 20;

double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_grad_ref(double x) {
  return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
}

struct Activation {
  const char* name;
  Output (*build)(const Scope&, const Output&);
  double (*forward)(double);
  double (*backward)(double);  // derivative
};
const Activation kActivations[] = {
    {"gelu", [](const Scope& s, const Output& x) { return ops::gelu(s, x); }, gelu_ref, gelu_grad_ref},
    {"elu", [](const Scope& s, const Output& x) { return ops::elu(s, x); },
     [](double x) { return x > 0 ? x : std::expm1(x); }, [](double x) { return x > 0 ? 1 : std::exp(x); }},
    {"softplus", [](const Scope& s, const Output& x) { return ops::softplus(s, x); },
     [](double x) { return std::log1p(std::exp(x)); }, [](double x) { return 1 / (1 + std::exp(-x)); }},
    {"relu6", [](const Scope& s, const Output& x) { return ops::relu6(s, x); },
     [](double x) { return std::min(std::max(x, 0.0), 6.0); }, [](double x) { return x > 0 && x < 6 ? 1.0 : 0.0; }},
    {"leaky_relu", [](const Scope& s, const Output& x) { return ops::leaky_relu(s, x); },
     [](double x) { return x > 0 ? x : 0.2 * x; }, [](double x) { return x > 0 ? 1.0 : 0.2; }},
};

// range(0): activation index; range(1): 1 = forward and backward; range(2): threads.
void activation(benchmark::State& state) {
  const Activation& a = kActivations[state.range(0)];
  const bool backward = state.range(1) != 0;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {kN});
  Output y = a.build(root, x);
  Output out = backward ? gradients(root, {y}, {x})[0] : y;
  Session sess(g, SessionOptions{static_cast<int>(state.range(2))});
  const Tensor xv = random_tensor({kN}, 5, 8.0f);
  const Tensor r = sess.run({{x, xv}}, {out})[0];
  std::vector<double> got, want;
  for (int64_t i = 0; i < kN; i += 4099) {
    got.push_back(r.data<float>()[i]);
    const double v = xv.data<float>()[i];
    want.push_back(backward ? a.backward(v) : a.forward(v));
  }
  if (!verify(state, got, want, 1e-5, a.name)) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {out}));
  set_rate(state, "Gelem/s", kN / 1e9);
  state.SetLabel(std::string(a.name) + (backward ? " fwd+bwd" : " fwd"));
}
const bool act = add("Activation", activation,
                     {{0, 0, 1}, {0, 1, 1}, {1, 0, 1}, {1, 1, 1}, {2, 0, 1}, {2, 1, 1}, {3, 0, 1}, {4, 0, 1},
                      {0, 0, 2}, {0, 1, 2}, {1, 0, 2}, {2, 0, 2}, {3, 0, 2}, {4, 0, 2}});

// range: batch, m, k, n, threads. a [batch, m, k] x b [k, n] (b broadcast over the batch).
void batch_matmul(benchmark::State& state) {
  const int64_t batch = state.range(0), m = state.range(1), k = state.range(2), n = state.range(3);
  Graph g;
  Scope root(g);
  Output a = ops::placeholder(root.named("a"), DType::f32, {batch, m, k});
  Output b = ops::placeholder(root.named("b"), DType::f32, {k, n});
  Output y = ops::batch_matmul(root, a, b);
  Session sess(g, SessionOptions{static_cast<int>(state.range(4))});
  const Tensor av = random_tensor({batch, m, k}, 1), bv = random_tensor({k, n}, 2);
  const Tensor r = sess.run({{a, av}, {b, bv}}, {y})[0];
  std::mt19937 rng(3);
  std::vector<double> got, want;
  for (int s = 0; s < 64; ++s) {
    const int64_t bi = rng() % batch, i = rng() % m, j = rng() % n;
    double acc = 0;
    for (int64_t p = 0; p < k; ++p)
      acc += static_cast<double>(av.data<float>()[(bi * m + i) * k + p]) * bv.data<float>()[p * n + j];
    got.push_back(r.data<float>()[(bi * m + i) * n + j]);
    want.push_back(acc);
  }
  if (!verify(state, got, want, 1e-4, "batch_matmul")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{a, av}, {b, bv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * batch * m * k * n / 1e9);
}
const bool bmm = add("BatchMatMul", batch_matmul,
                     {{256, 32, 64, 32, 1}, {8, 256, 512, 256, 1}, {256, 32, 64, 32, 2}, {8, 256, 512, 256, 2}});

}  // namespace
}  // namespace sluice::bench
