// W4a/W4b LSTM forward and W4c LSTM forward + backward (../shared/bench/WORKLOADS.md),
// through layers::LSTM in a graph and a session: the input fed each call, the results
// fetched. Forward results are checked once against a plain double-precision LSTM loop
// (a sample of batch rows for W4b: rows are independent); W4c's gradients against
// float64 autodiff of the same network composed from primitive ops (matmul, split,
// sigmoid, tanh), which shares nothing with the fused LSTM and LSTMGrad kernels.
#include <algorithm>
#include <cmath>
#include <memory>

#include "bench_util.h"

namespace sluice::bench {
namespace {

struct LstmDims {
  int64_t batch, time, features, units;
};

// h_1 .. h_T of Keras' LSTM (gates i, f, c, o) for the batch rows `rows`, accumulated in
// double: [rows.size(), T, U].
std::vector<double> lstm_reference(const LstmDims& d, const Tensor& x, const Tensor& kernel, const Tensor& recurrent,
                                   const Tensor& bias, const std::vector<int64_t>& rows) {
  const int64_t u = d.units, g = 4 * u;
  const float* xp = x.data<float>();
  const float* kp = kernel.data<float>();
  const float* rp = recurrent.data<float>();
  auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  std::vector<double> out;
  out.reserve(rows.size() * d.time * u);
  std::vector<double> h(u), c(u), z(g);
  for (int64_t row : rows) {
    std::fill(h.begin(), h.end(), 0.0);
    std::fill(c.begin(), c.end(), 0.0);
    for (int64_t t = 0; t < d.time; ++t) {
      for (int64_t j = 0; j < g; ++j) z[j] = bias.data<float>()[j];
      for (int64_t k = 0; k < d.features; ++k) {
        const double xv = xp[(row * d.time + t) * d.features + k];
        for (int64_t j = 0; j < g; ++j) z[j] += xv * kp[k * g + j];
      }
      for (int64_t k = 0; k < u; ++k) {
        const double hv = h[k];
        for (int64_t j = 0; j < g; ++j) z[j] += hv * rp[k * g + j];
      }
      for (int64_t j = 0; j < u; ++j) {
        c[j] = sigmoid(z[u + j]) * c[j] + sigmoid(z[j]) * std::tanh(z[2 * u + j]);
        h[j] = sigmoid(z[3 * u + j]) * std::tanh(c[j]);
      }
      out.insert(out.end(), h.begin(), h.end());
    }
  }
  return out;
}

// The layer W4 benchmarks: Keras' initializers with fixed seeds, and a random bias (the
// forget quarter still starts at 1) so the reference sees every gate's bias.
std::unique_ptr<layers::LSTM> make_lstm(int64_t units, bool return_sequences) {
  return std::make_unique<layers::LSTM>(units, return_sequences, false, "", true, Initializer::glorot_uniform(21),
                                        Initializer::orthogonal(1.0, 22), Initializer::random_uniform(-0.1, 0.1, 23));
}

// ---- W4a / W4b: forward ----
void lstm_forward(benchmark::State& state, const LstmDims& d, bool return_sequences, int check_rows,
                  const char* what) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.time, d.features});
  auto lstm = make_lstm(d.units, return_sequences);
  Output y = (*lstm)(root, x);
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor({d.batch, d.time, d.features}, 24);
  const std::vector<Tensor> w = sess.run({}, {lstm->kernel(), lstm->recurrent_kernel(), lstm->bias()});
  const Tensor out = sess.run({{x, xv}}, {y})[0];
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < d.batch; r += std::max<int64_t>(1, d.batch / check_rows)) rows.push_back(r);
  rows.back() = d.batch - 1;  // the last row too
  const std::vector<double> ref = lstm_reference(d, xv, w[0], w[1], w[2], rows);
  std::vector<double> got, want;
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t t = return_sequences ? 0 : d.time - 1; t < d.time; ++t)
      for (int64_t j = 0; j < d.units; ++j) {
        want.push_back(ref[(i * d.time + t) * d.units + j]);
        got.push_back(return_sequences ? out.data<float>()[(rows[i] * d.time + t) * d.units + j]
                                       : out.data<float>()[rows[i] * d.units + j]);
      }
  if (!verify(state, got, want, 1e-4, what)) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
}

void w4a_lstm(benchmark::State& state) { lstm_forward(state, {64, 20, 64, 32}, false, 64, "W4a LSTM"); }
const bool w4a = add("W4a_Lstm", w4a_lstm, {{1}, {2}});

void w4b_lstm(benchmark::State& state) { lstm_forward(state, {32, 50, 128, 256}, true, 4, "W4b LSTM"); }
const bool w4b = add("W4b_Lstm", w4b_lstm, {{1}, {2}});

// verify() with the tolerance relative to the largest reference value of the tensor.
bool verify_scaled(benchmark::State& state, const Tensor& got_t, const Tensor& want_t, double rtol,
                   const std::string& what) {
  std::vector<double> got = as_doubles(got_t), want = as_doubles(want_t);
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  for (double& v : got) v /= scale;
  for (double& v : want) v /= scale;
  return verify(state, got, want, rtol, what);
}

// d sum(h_1 .. h_T) / d {x, kernel, recurrent_kernel, bias}, float64, by autodiff of the
// LSTM written with primitive ops and unrolled over time.
std::vector<Tensor> composed_lstm_gradients(const LstmDims& d, const std::vector<Tensor>& inputs, int threads) {
  Graph g;
  Scope s(g);
  const int64_t u = d.units;
  Output x = ops::placeholder(s.named("x"), DType::f64, {d.batch, d.time, d.features});
  Output kernel = ops::placeholder(s.named("kernel"), DType::f64, {d.features, 4 * u});
  Output recurrent = ops::placeholder(s.named("recurrent_kernel"), DType::f64, {u, 4 * u});
  Output bias = ops::placeholder(s.named("bias"), DType::f64, {4 * u});
  Output h = ops::fill(s, DType::f64, {d.batch, u}, 0.0), c = h;
  std::vector<Output> sums;
  for (int64_t t = 0; t < d.time; ++t) {
    Output xt = ops::reshape(s, ops::slice(s, x, {0, t, 0}, {d.batch, 1, d.features}), {d.batch, d.features});
    Output z = ops::add(s, ops::add(s, ops::matmul(s, xt, kernel), ops::matmul(s, h, recurrent)), bias);
    const std::vector<Output> gate = ops::split(s, z, 4, 1);  // i, f, c~, o
    c = ops::add(s, ops::mul(s, ops::sigmoid(s, gate[1]), c),
                 ops::mul(s, ops::sigmoid(s, gate[0]), ops::tanh(s, gate[2])));
    h = ops::mul(s, ops::sigmoid(s, gate[3]), ops::tanh(s, c));
    sums.push_back(ops::sum(s, h));
  }
  const std::vector<Output> grads = gradients(s, {ops::add_n(s, sums)}, {x, kernel, recurrent, bias});
  Session sess(g, SessionOptions{threads});
  return sess.run({{x, inputs[0].cast(DType::f64)},
                   {kernel, inputs[1].cast(DType::f64)},
                   {recurrent, inputs[2].cast(DType::f64)},
                   {bias, inputs[3].cast(DType::f64)}},
                  {grads[0], grads[1], grads[2], grads[3]});
}

// ---- W4c: W4b forward + gradients of sum(outputs) wrt the input and all weights ----
void w4c_lstm_train(benchmark::State& state) {
  const LstmDims d{32, 50, 128, 256};
  const int threads = static_cast<int>(state.range(0));
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.time, d.features});
  auto lstm = make_lstm(d.units, true);
  Output loss = ops::sum(root, (*lstm)(root, x));
  const std::vector<Output> grads =
      gradients(root, {loss}, {x, lstm->kernel(), lstm->recurrent_kernel(), lstm->bias()});
  Session sess(g, SessionOptions{threads});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor({d.batch, d.time, d.features}, 25);
  const std::vector<Tensor> w = sess.run({}, {lstm->kernel(), lstm->recurrent_kernel(), lstm->bias()});
  const std::vector<Tensor> got = sess.run({{x, xv}}, {grads[0], grads[1], grads[2], grads[3]});
  const std::vector<Tensor> want = composed_lstm_gradients(d, {xv, w[0], w[1], w[2]}, threads);
  const char* names[] = {"W4c LSTM grad wrt input", "W4c LSTM grad wrt kernel", "W4c LSTM grad wrt recurrent_kernel",
                         "W4c LSTM grad wrt bias"};
  for (int i = 0; i < 4; ++i)
    if (!verify_scaled(state, got[i], want[i], 1e-4, names[i])) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {grads[0], grads[1], grads[2], grads[3]}));
}
const bool w4c = add("W4c_LstmTrain", w4c_lstm_train, {{1}, {2}});

}  // namespace
}  // namespace sluice::bench
