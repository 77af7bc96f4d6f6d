// W3a/W3b Conv2D forward and W3c Conv2D forward + both gradients
// (../shared/bench/WORKLOADS.md), through a graph and a session as a user runs them: the
// input (and W3c's output gradient) fed each call, the results fetched. Each checks its
// result against plain double-precision loops once (a sample of outputs for the big
// shapes), then times.
#include <algorithm>

#include "bench_util.h"

namespace sluice::bench {
namespace {

// NHWC image and HWIO filter dims for the reference loops (stride 1, SAME, odd K).
struct ConvDims {
  int64_t n, h, w, c, k, f;
  int64_t pad() const { return (k - 1) / 2; }  // SAME with stride 1: (K-1)/2 on top/left
};

// output[n, oy, ox, f] of conv2d(x, w), SAME, stride 1, accumulated in double.
double conv_at(const ConvDims& d, const float* x, const float* w, int64_t n, int64_t oy, int64_t ox, int64_t f) {
  double acc = 0;
  for (int64_t i = 0; i < d.k; ++i) {
    const int64_t iy = oy - d.pad() + i;
    if (iy < 0 || iy >= d.h) continue;
    for (int64_t j = 0; j < d.k; ++j) {
      const int64_t ix = ox - d.pad() + j;
      if (ix < 0 || ix >= d.w) continue;
      for (int64_t c = 0; c < d.c; ++c)
        acc += static_cast<double>(x[((n * d.h + iy) * d.w + ix) * d.c + c]) * w[((i * d.k + j) * d.c + c) * d.f + f];
    }
  }
  return acc;
}

// d(sum(y * gy)) / dx[n, iy, ix, c] = sum_{i,j,f} gy[n, iy + pad - i, ix + pad - j, f] w[i, j, c, f].
double conv_dx_at(const ConvDims& d, const float* gy, const float* w, int64_t n, int64_t iy, int64_t ix, int64_t c) {
  double acc = 0;
  for (int64_t i = 0; i < d.k; ++i) {
    const int64_t oy = iy + d.pad() - i;
    if (oy < 0 || oy >= d.h) continue;
    for (int64_t j = 0; j < d.k; ++j) {
      const int64_t ox = ix + d.pad() - j;
      if (ox < 0 || ox >= d.w) continue;
      for (int64_t f = 0; f < d.f; ++f)
        acc += static_cast<double>(gy[((n * d.h + oy) * d.w + ox) * d.f + f]) * w[((i * d.k + j) * d.c + c) * d.f + f];
    }
  }
  return acc;
}

// d(sum(y * gy)) / dw[i, j, c, f] = sum_{n,oy,ox} x[n, oy - pad + i, ox - pad + j, c] gy[n, oy, ox, f].
double conv_dw_at(const ConvDims& d, const float* x, const float* gy, int64_t i, int64_t j, int64_t c, int64_t f) {
  double acc = 0;
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t oy = 0; oy < d.h; ++oy) {
      const int64_t iy = oy - d.pad() + i;
      if (iy < 0 || iy >= d.h) continue;
      for (int64_t ox = 0; ox < d.w; ++ox) {
        const int64_t ix = ox - d.pad() + j;
        if (ix < 0 || ix >= d.w) continue;
        acc += static_cast<double>(x[((n * d.h + iy) * d.w + ix) * d.c + c]) * gy[((n * d.h + oy) * d.w + ox) * d.f + f];
      }
    }
  return acc;
}

// verify() with the tolerance relative to the largest reference value: for sums of many
// terms of both signs (filter gradients) an entry near zero carries the rounding of all.
bool verify_scaled(benchmark::State& state, std::vector<double> got, std::vector<double> want, double rtol,
                   const std::string& what) {
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  for (double& v : got) v /= scale;
  for (double& v : want) v /= scale;
  return verify(state, got, want, rtol, what);
}

// A sampled position in [0, size): a quarter of the samples on each border, so the
// padding is always exercised.
int64_t sample_pos(std::mt19937& rng, int s, int64_t size) {
  switch (s % 4) {
    case 0: return 0;
    case 1: return size - 1;
    default: return static_cast<int64_t>(rng() % static_cast<uint32_t>(size));
  }
}

// Checks `samples` entries of y [n,h,w,f] (all of them when samples <= 0) against conv_at.
bool check_forward(benchmark::State& state, const ConvDims& d, const Tensor& x, const Tensor& w, const Tensor* bias,
                   bool relu, const Tensor& y, int samples, const char* what) {
  std::vector<double> got, want;
  auto one = [&](int64_t n, int64_t oy, int64_t ox, int64_t f) {
    double v = conv_at(d, x.data<float>(), w.data<float>(), n, oy, ox, f);
    if (bias != nullptr) v += bias->data<float>()[f];
    if (relu && v < 0) v = 0;
    want.push_back(v);
    got.push_back(y.data<float>()[((n * d.h + oy) * d.w + ox) * d.f + f]);
  };
  if (samples <= 0) {
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t oy = 0; oy < d.h; ++oy)
        for (int64_t ox = 0; ox < d.w; ++ox)
          for (int64_t f = 0; f < d.f; ++f) one(n, oy, ox, f);
  } else {
    std::mt19937 rng(17);
    for (int s = 0; s < samples; ++s)
      one(rng() % d.n, sample_pos(rng, s, d.h), sample_pos(rng, s / 4, d.w), rng() % d.f);
  }
  return verify(state, got, want, 1e-4, what);
}

// ---- W3a: x[64,28,28,1] -> Conv2D(32, 3x3, SAME, relu) with bias, as layers::Conv2D builds it ----
void w3a_conv(benchmark::State& state) {
  const ConvDims d{64, 28, 28, 1, 3, 32};
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.h, d.w, d.c});
  // A non-zero bias so the reference sees it (Keras' default is zeros).
  layers::Conv2D conv(d.f, {3, 3}, {1, 1}, Padding::same, Activation::relu, true, "", {1, 1},
                      Initializer::glorot_uniform(7), Initializer::random_uniform(-0.1, 0.1, 8));
  Output y = conv(root, x);
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor({d.n, d.h, d.w, d.c}, 11);
  const Tensor w = sess.run({}, {conv.kernel()})[0], b = sess.run({}, {conv.bias()})[0];
  // Small enough (14M multiply-adds) to check every output.
  if (!check_forward(state, d, xv, w, &b, true, sess.run({{x, xv}}, {y})[0], 0, "W3a Conv")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * d.n * d.h * d.w * d.f * d.k * d.k * d.c / 1e9);
}
const bool w3a = add("W3a_Conv", w3a_conv, {{1}, {2}});

// ---- W3b: x[8,56,56,64] -> conv2d 64 filters 3x3 SAME, no bias ----
void w3b_conv(benchmark::State& state) {
  const ConvDims d{8, 56, 56, 64, 3, 64};
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.h, d.w, d.c});
  layers::Conv2D conv(d.f, {3, 3}, {1, 1}, Padding::same, Activation::linear, false, "", {1, 1},
                      Initializer::glorot_uniform(7));
  Output y = conv(root, x);
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor({d.n, d.h, d.w, d.c}, 12);
  const Tensor w = sess.run({}, {conv.kernel()})[0];
  if (!check_forward(state, d, xv, w, nullptr, false, sess.run({{x, xv}}, {y})[0], 2048, "W3b Conv")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * d.n * d.h * d.w * d.f * d.k * d.k * d.c / 1e9);
}
const bool w3b = add("W3b_Conv", w3b_conv, {{1}, {2}});

// ---- W3c: W3b forward + grad wrt input + grad wrt filter, for a fed output gradient gy ----
void w3c_conv_train(benchmark::State& state) {
  const ConvDims d{8, 56, 56, 64, 3, 64};
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.h, d.w, d.c});
  Output gy = ops::placeholder(root.named("gy"), DType::f32, {-1, d.h, d.w, d.f});
  layers::Conv2D conv(d.f, {3, 3}, {1, 1}, Padding::same, Activation::linear, false, "", {1, 1},
                      Initializer::glorot_uniform(7));
  Output y = conv(root, x);
  // The gradients of sum(y * gy) (gradients' grad_ys). Neither needs y's value, so y is
  // fetched too: the step does the forward pass as PyTorch's does.
  const std::vector<Output> grads = gradients(root, {y}, {x, conv.kernel()}, {gy});
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xv = random_tensor({d.n, d.h, d.w, d.c}, 13), gyv = random_tensor({d.n, d.h, d.w, d.f}, 14);
  const Tensor w = sess.run({}, {conv.kernel()})[0];
  const FeedList feeds{{x, xv}, {gy, gyv}};
  const std::vector<Tensor> r = sess.run(feeds, {y, grads[0], grads[1]});
  if (!check_forward(state, d, xv, w, nullptr, false, r[0], 1024, "W3c Conv forward")) return;
  std::mt19937 rng(19);
  std::vector<double> got, want;
  for (int s = 0; s < 1024; ++s) {  // dx
    const int64_t n = rng() % d.n, iy = sample_pos(rng, s, d.h), ix = sample_pos(rng, s / 4, d.w), c = rng() % d.c;
    want.push_back(conv_dx_at(d, gyv.data<float>(), w.data<float>(), n, iy, ix, c));
    got.push_back(r[1].data<float>()[((n * d.h + iy) * d.w + ix) * d.c + c]);
  }
  if (!verify(state, got, want, 1e-4, "W3c Conv grad wrt input")) return;
  got.clear();
  want.clear();
  for (int s = 0; s < 48; ++s) {  // dw: 25k terms each
    const int64_t i = rng() % d.k, j = rng() % d.k, c = rng() % d.c, f = rng() % d.f;
    want.push_back(conv_dw_at(d, xv.data<float>(), gyv.data<float>(), i, j, c, f));
    got.push_back(r[2].data<float>()[((i * d.k + j) * d.c + c) * d.f + f]);
  }
  if (!verify_scaled(state, got, want, 1e-4, "W3c Conv grad wrt filter")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run(feeds, {y, grads[0], grads[1]}));
  set_rate(state, "GFLOP/s", 3 * 2.0 * d.n * d.h * d.w * d.f * d.k * d.k * d.c / 1e9);
}
const bool w3c = add("W3c_ConvTrain", w3c_conv_train, {{1}, {2}});

}  // namespace
}  // namespace sluice::bench
