// GRU beside the LSTM workloads (bench_lstm.cc; ../shared/bench/WORKLOADS.md W4a-c): the same
// shapes through layers::GRU (reset_after true, Keras 2 / PyTorch's formulation, and false),
// forward only and forward + gradients with respect to the input and every weight. Each is
// checked once against the same network composed from primitive ops in float64
// (tests/rnn_composite.h, which shares nothing with the fused GRU and GRUGrad kernels),
// then timed.
#include <algorithm>
#include <cmath>
#include <memory>

#include "bench_util.h"
#include "tests/rnn_composite.h"

namespace sluice::bench {
namespace {

struct GruDims {
  int64_t batch, time, features, units;
};

std::unique_ptr<layers::GRU> make_gru(int64_t units, bool return_sequences, bool reset_after) {
  layers::RecurrentConfig c;
  c.return_sequences = return_sequences;
  c.reset_after = reset_after;
  c.kernel_initializer = Initializer::glorot_uniform(31);
  c.recurrent_initializer = Initializer::orthogonal(1.0, 32);
  c.bias_initializer = Initializer::random_uniform(-0.1, 0.1, 33);
  return std::make_unique<layers::GRU>(units, c);
}

// The composed float64 GRU on the layer's weights: {sequence or last output, gradients of
// sum(output) with respect to x, kernel, recurrent_kernel, bias}.
std::vector<Tensor> composed_gru(const GruDims& d, bool reset_after, bool sequences,
                                 const std::vector<Tensor>& v, bool with_grads, int threads) {
  Graph g;
  Scope s(g);
  std::vector<Output> in;
  for (const Tensor& t : {v[0], Tensor::zeros(DType::f32, {d.batch, d.units}), v[1], v[2], v[3]})
    in.push_back(ops::placeholder(s, DType::f64, t.shape()));
  const testing::RnnCell cell = reset_after ? testing::RnnCell::gru_after : testing::RnnCell::gru_before;
  const std::vector<Output> y = testing::composite_rnn(s, cell, in, ops::RnnOptions());
  const Output out = sequences ? y[0] : y[1];
  std::vector<TensorRef> fetches = {out};
  if (with_grads)
    for (const Output& gr : gradients(s, {ops::sum(s, out)}, {in[0], in[2], in[3], in[4]})) fetches.push_back(gr);
  Session sess(g, SessionOptions{threads});
  return sess.run({{in[0], v[0].cast(DType::f64)},
                   {in[1], Tensor::zeros(DType::f64, {d.batch, d.units})},
                   {in[2], v[1].cast(DType::f64)},
                   {in[3], v[2].cast(DType::f64)},
                   {in[4], v[3].cast(DType::f64)}},
                  fetches);
}

// verify() with the tolerance relative to the largest reference value of the tensor.
bool verify_scaled(benchmark::State& state, const Tensor& got_t, const Tensor& want_t, double rtol,
                   const std::string& what) {
  std::vector<double> got = as_doubles(got_t), want = as_doubles(want_t);
  double scale = 1;
  for (double x : want) scale = std::max(scale, std::fabs(x));
  for (double& x : got) x /= scale;
  for (double& x : want) x /= scale;
  return verify(state, got, want, rtol, what);
}

// Forward (train = false) or forward + gradients of sum(output) (train = true).
void gru_run(benchmark::State& state, const GruDims& d, bool sequences, bool reset_after, bool train,
             const std::string& what) {
  const int threads = static_cast<int>(state.range(0));
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.time, d.features});
  auto gru = make_gru(d.units, sequences, reset_after);
  Output y = (*gru)(root, x);
  std::vector<TensorRef> fetches;
  if (train) {
    for (const Output& gr : gradients(root, {ops::sum(root, y)}, {x, gru->kernel(), gru->recurrent_kernel(), gru->bias()}))
      fetches.push_back(gr);
  } else {
    fetches.push_back(y);
  }
  Session sess(g, SessionOptions{threads});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor({d.batch, d.time, d.features}, 34);
  const std::vector<Tensor> w = sess.run({}, {gru->kernel(), gru->recurrent_kernel(), gru->bias()});
  const std::vector<Tensor> got = sess.run({{x, xv}}, fetches);
  const std::vector<Tensor> want = composed_gru(d, reset_after, sequences, {xv, w[0], w[1], w[2]}, train, threads);
  const char* names[] = {" output", " grad wrt input", " grad wrt kernel", " grad wrt recurrent_kernel",
                         " grad wrt bias"};
  for (size_t i = 0; i < got.size(); ++i)
    if (!verify_scaled(state, got[i], want[i + (train ? 1 : 0)], 1e-4, what + names[i + (train ? 1 : 0)])) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, fetches));
}

const GruDims kW4a{64, 20, 64, 32}, kW4b{32, 50, 128, 256};

void w4a_gru(benchmark::State& s) { gru_run(s, kW4a, false, true, false, "W4a GRU"); }
void w4b_gru(benchmark::State& s) { gru_run(s, kW4b, true, true, false, "W4b GRU"); }
void w4b_gru_before(benchmark::State& s) { gru_run(s, kW4b, true, false, false, "W4b GRU reset_after=false"); }
void w4c_gru(benchmark::State& s) { gru_run(s, kW4b, true, true, true, "W4c GRU"); }
void w4c_gru_before(benchmark::State& s) { gru_run(s, kW4b, true, false, true, "W4c GRU reset_after=false"); }

const bool registered = add("W4a_Gru", w4a_gru, {{1}, {2}}) && add("W4b_Gru", w4b_gru, {{1}, {2}}) &&
                        add("W4b_GruResetBefore", w4b_gru_before, {{1}, {2}}) &&
                        add("W4c_GruTrain", w4c_gru, {{1}, {2}}) &&
                        add("W4c_GruResetBeforeTrain", w4c_gru_before, {{1}, {2}});

}  // namespace
}  // namespace sluice::bench
