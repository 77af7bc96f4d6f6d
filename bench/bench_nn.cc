// Kernels added for the importers: depthwise 3x3 convolutions at MobileNetV2's shapes (batch
// 1 and 8), the fused depthwise + bias + relu6 against the three separate ops, a grouped
// convolution (ResNeXt-like), a transposed convolution (DCGAN-like), layer normalization (a
// transformer's [batch, sequence, 512]), SqueezeNet's fire module as one op and as three, and
// the ImageNet stems on the implicit GEMM and on im2col. Most run through a graph and a
// session as a user runs them and check their result against the naive references of
// tests/nn_reference.h once; the fire module and stem pairs check each side against the
// other's bits (the stems call the two kernel paths directly), then time.
// Arguments: {batch, threads}, {threads} or {stem, batch}.
#include <algorithm>
#include <array>

#include "bench_util.h"
#include "ops/concat_conv_ops.h"
#include "ops/conv_lowering.h"
#include "ops/gemm_packed.h"
#include "tests/nn_reference.h"

namespace sluice::bench {
namespace {

// Compares a whole output with a reference (relative to the reference's largest value).
bool check_all(benchmark::State& state, const Tensor& got, const reference::Vec& want, const std::string& what) {
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  std::vector<double> g = as_doubles(got), w = want;
  for (double& v : g) v /= scale;
  for (double& v : w) v /= scale;
  return verify(state, g, w, 1e-4, what);
}

// ---- depthwise 3x3, SAME: MobileNetV2's layers ----

struct DwShape {
  int64_t h, c, stride;
};

void depthwise(benchmark::State& state, DwShape d) {
  const int64_t n = state.range(0);
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.h, d.h, d.c});
  const Tensor wv = random_tensor({3, 3, d.c, 1}, 21);
  Output y = ops::depthwise_conv2d(root, x, ops::constant(root, wv), {d.stride, d.stride}, Padding::same);
  Session sess(g, SessionOptions{static_cast<int>(state.range(1))});
  const Tensor xv = random_tensor({n, d.h, d.h, d.c}, 22);
  const Tensor out = sess.run({{x, xv}}, {y})[0];
  reference::Conv rc{n, d.h, d.h, d.c, 3, 3, d.c, d.stride, d.stride, 1, 1};
  const auto dim = reference::dim_of("SAME", d.h, 3, d.stride, 1);
  rc.pt = rc.pl = dim.before, rc.pb = rc.pr = dim.after, rc.groups = d.c;
  if (!check_all(state, out, reference::conv(rc, xv, wv), "depthwise")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * 9 * static_cast<double>(out.num_elements()) / 1e9);
  set_rate(state, "GB/s", 4.0 * static_cast<double>(xv.num_elements() + out.num_elements()) / 1e9);
}
const std::vector<std::vector<int64_t>> kBatchThreads = {{1, 1}, {1, 2}, {8, 1}, {8, 2}};
const bool dw1 = add("DW3x3_112x112x32_s1", [](benchmark::State& s) { depthwise(s, {112, 32, 1}); },
                     kBatchThreads);
const bool dw2 = add("DW3x3_112x112x96_s2", [](benchmark::State& s) { depthwise(s, {112, 96, 2}); },
                     kBatchThreads);
const bool dw3 = add("DW3x3_56x56x144_s1", [](benchmark::State& s) { depthwise(s, {56, 144, 1}); },
                     kBatchThreads);
const bool dw4 = add("DW3x3_14x14x576_s1", [](benchmark::State& s) { depthwise(s, {14, 576, 1}); },
                     kBatchThreads);

// ---- depthwise + bias + relu6: fused kernel vs three ops (56x56x144, batch 8) ----

void depthwise_relu6(benchmark::State& state, bool fused) {
  const DwShape d{56, 144, 1};
  const int64_t n = 8;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, d.h, d.h, d.c});
  const Tensor wv = random_tensor({3, 3, d.c, 1}, 31), bv = random_tensor({d.c}, 32);
  Output w = ops::constant(root, wv), b = ops::constant(root, bv);
  Output y = fused ? ops::fused_depthwise_conv2d(root, x, w, b, FusedActivation::relu6, {1, 1}, Padding::same)
                   : ops::minimum(root, ops::relu(root, ops::bias_add(root, ops::depthwise_conv2d(root, x, w, {1, 1}, Padding::same), b)),
                                  ops::scalar_like(root, x, 6.0));
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  const Tensor xv = random_tensor({n, d.h, d.h, d.c}, 33, 4.0f);
  const Tensor out = sess.run({{x, xv}}, {y})[0];
  reference::Conv rc{n, d.h, d.h, d.c, 3, 3, d.c, 1, 1, 1, 1};
  rc.pt = rc.pb = rc.pl = rc.pr = 1, rc.groups = d.c;
  reference::Vec want = reference::conv(rc, xv, wv);
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = reference::activate("relu6", want[i] + bv.as_double(static_cast<int64_t>(i % d.c)));
  if (!check_all(state, out, want, fused ? "fused depthwise relu6" : "depthwise + bias_add + relu6")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * 9 * static_cast<double>(out.num_elements()) / 1e9);
}
const bool dwf = add("DW3x3_Relu6_Fused", [](benchmark::State& s) { depthwise_relu6(s, true); }, {{1}, {2}});
const bool dwu = add("DW3x3_Relu6_ThreeOps", [](benchmark::State& s) { depthwise_relu6(s, false); }, {{1}, {2}});

// ---- grouped 3x3 convolution: ResNeXt-50 stage 2 (28x28x256, 32 groups of 8), batch 8 ----

void grouped(benchmark::State& state) {
  const int64_t n = 8, h = 28, c = 256, groups = 32;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, h, h, c});
  const Tensor wv = random_tensor({3, 3, c / groups, c}, 41, 0.2f);
  Output y = ops::conv2d(root, x, ops::constant(root, wv), {1, 1}, Padding::same, {1, 1}, groups);
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  const Tensor xv = random_tensor({n, h, h, c}, 42);
  const Tensor out = sess.run({{x, xv}}, {y})[0];
  reference::Conv rc{n, h, h, c, 3, 3, c, 1, 1, 1, 1};
  rc.pt = rc.pb = rc.pl = rc.pr = 1, rc.groups = groups;
  if (!check_all(state, out, reference::conv(rc, xv, wv), "grouped conv")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * 9 * (c / groups) * static_cast<double>(out.num_elements()) / 1e9);
}
const bool gc = add("GroupedConv_28x28x256_g32", grouped, {{1}, {2}});

// ---- transposed convolution: DCGAN generator step, 16x16x128 -> 32x32x64, 4x4 stride 2 ----

void transpose(benchmark::State& state) {
  const int64_t n = 8, h = 16, cin = 128, cout = 64;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, h, h, cin});
  const Tensor wv = random_tensor({4, 4, cout, cin}, 51, 0.1f);
  Output y = ops::conv2d_transpose(root, x, ops::constant(root, wv), {2, 2}, Pads::explicit_pads(1, 1, 1, 1));
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  const Tensor xv = random_tensor({n, h, h, cin}, 52);
  const Tensor out = sess.run({{x, xv}}, {y})[0];
  if (!check_all(state, out, reference::conv_transpose(xv, wv, 2 * h, 2 * h, 2, 2, 1, 1, 1, 1, 1),
                 "conv2d_transpose"))
    return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * 16 * cin * cout * static_cast<double>(n * h * h) / 1e9);
}
const bool tc = add("ConvTranspose_16x16x128_to_32x32x64", transpose, {{1}, {2}});

// ---- SqueezeNet's first fire module (55x55, 16 -> 64 1x1 + 64 3x3, relu): one
// FusedConcatConv2D against two FusedConv2Ds and a Concat ----

void fire_module(benchmark::State& state, bool fused) {
  const int64_t n = state.range(0), h = 55, c = 16, f = 64;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, h, h, c});
  Output w1 = ops::constant(root, random_tensor({1, 1, c, f}, 71, 0.3f)), b1 = ops::constant(root, random_tensor({f}, 72));
  Output w3 = ops::constant(root, random_tensor({3, 3, c, f}, 73, 0.1f)), b3 = ops::constant(root, random_tensor({f}, 74));
  const Pads one = Pads::explicit_pads(1, 1, 1, 1);
  const FusedActivation relu = FusedActivation::relu;
  Output unfused = ops::concat(root, {ops::fused_conv2d(root, x, w1, b1, relu, {1, 1}, Padding::valid, {1, 1}, 1),
                                      ops::fused_conv2d(root, x, w3, b3, relu, {1, 1}, one, {1, 1}, 1)}, 3);
  Output both = ops::fused_concat_conv2d(root, x, {{w1, b1, Padding::valid}, {w3, b3, one}}, relu);
  Output y = fused ? both : unfused;
  Session sess(g, SessionOptions{static_cast<int>(state.range(1))});
  const Tensor xv = random_tensor({n, h, h, c}, 75);
  const std::vector<Tensor> r = sess.run({{x, xv}}, {both, unfused});
  if (!verify(state, as_doubles(r[0]), as_doubles(r[1]), 0, "fused fire module")) return;
  for (auto _ : state) benchmark::DoNotOptimize(sess.run({{x, xv}}, {y}));
  set_rate(state, "GFLOP/s", 2.0 * 10 * c * f * static_cast<double>(n * h * h) / 1e9);
}
const bool ff = add("Fire_55x55x16_FusedConcatConv", [](benchmark::State& s) { fire_module(s, true); },
                    kBatchThreads);
const bool fu = add("Fire_55x55x16_ConvsConcat", [](benchmark::State& s) { fire_module(s, false); },
                    kBatchThreads);

// ---- the ImageNet stems (224x224x3): the implicit GEMM against im2col + GEMM, the same
// packed filter and the same bits. Arguments: {stem, batch}: 0 squeezenet 3x3/2 valid -> 64,
// 1 mobilenet_v2 3x3/2 pad 1 -> 32, 2 resnet18 7x7/2 pad 3 -> 64; 1 thread ----

void stem(benchmark::State& state, bool implicit) {
  struct Stem {
    int64_t k, f, pad;
  };
  const Stem st = std::array<Stem, 3>{{{3, 64, 0}, {3, 32, 1}, {7, 64, 3}}}[static_cast<size_t>(state.range(0))];
  conv::ConvGeometry g;
  g.n = state.range(1), g.h = g.w = 224, g.c = 3, g.kh = g.kw = st.k, g.f = st.f, g.sh = g.sw = 2;
  g.pad_top = g.pad_left = st.pad;
  g.oh = g.ow = (224 + 2 * st.pad - st.k) / 2 + 1;
  const Tensor xv = random_tensor({g.n, 224, 224, 3}, 81), wv = random_tensor({g.patch(), g.f}, 82, 0.2f);
  const Tensor bv = random_tensor({g.f}, 83);
  const gemm::PackedMatrix<float> packed(false, g.patch(), g.f, 1, wv.data<float>(), g.f);
  ThreadPool pool(1);
  const conv::Epilogue relu(conv::Epilogue::relu, 0, 0, 0);
  Tensor a(DType::f32, {g.out_pixels(), g.f}), b(DType::f32, {g.out_pixels(), g.f});
  auto run = [&](bool imp, Tensor& out) {
    if (imp) {
      conv::forward_implicit<float>(g, xv.data<float>(), packed, bv.data<float>(), relu, out.data<float>(), pool);
    } else {
      conv::forward_im2col_packed<float>(g, xv.data<float>(), packed, bv.data<float>(), relu, out.data<float>(), pool);
    }
  };
  run(true, a);
  run(false, b);
  if (!verify(state, as_doubles(a), as_doubles(b), 0, "implicit stem")) return;
  for (auto _ : state) run(implicit, a);
  set_rate(state, "GFLOP/s", 2.0 * static_cast<double>(g.patch() * g.f * g.out_pixels()) / 1e9);
}
const std::vector<std::vector<int64_t>> kStems = {{0, 1}, {0, 8}, {1, 1}, {1, 8}, {2, 1}, {2, 8}};
const bool si = add("Stem_Implicit", [](benchmark::State& s) { stem(s, true); }, kStems);
const bool sc = add("Stem_Im2col", [](benchmark::State& s) { stem(s, false); }, kStems);

// ---- layer norm: [32, 128, 512], forward and forward + backward ----

void layer_norm(benchmark::State& state, bool backward) {
  const int64_t b = 32, t = 128, d = 512;
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, t, d});
  const Tensor gv = random_tensor({d}, 61), bv = random_tensor({d}, 62);
  Output gamma = ops::constant(root, gv), beta = ops::constant(root, bv);
  Output y = ops::layer_norm(root, x, gamma, beta);
  Output dy = ops::placeholder(root.named("dy"), DType::f32, {-1, t, d});
  const std::vector<Output> grads = gradients(root, {y}, {x, gamma, beta}, {dy});
  Session sess(g, SessionOptions{static_cast<int>(state.range(0))});
  const Tensor xv = random_tensor({b, t, d}, 63), dyv = random_tensor({b, t, d}, 64);
  const FeedList feeds{{x, xv}, {dy, dyv}};
  std::vector<TensorRef> fetches = {y};
  if (backward) fetches = {y, grads[0], grads[1], grads[2]};
  const std::vector<Tensor> r = sess.run(feeds, fetches);
  if (!check_all(state, r[0], reference::layer_norm(xv, gv, bv, d, 1e-5), "layer_norm")) return;
  if (backward) {
    reference::Vec dx, dgamma, dbeta;
    reference::layer_norm_grads(xv, gv, dyv, d, 1e-5, dx, dgamma, dbeta);
    if (!check_all(state, r[1], dx, "layer_norm dx") || !check_all(state, r[2], dgamma, "layer_norm dgamma") ||
        !check_all(state, r[3], dbeta, "layer_norm dbeta"))
      return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(sess.run(feeds, fetches));
  set_rate(state, "GB/s", 4.0 * (backward ? 5 : 2) * static_cast<double>(xv.num_elements()) / 1e9);
}
const bool ln = add("LayerNorm_32x128x512", [](benchmark::State& s) { layer_norm(s, false); }, {{1}, {2}});
const bool lnb = add("LayerNorm_32x128x512_FwdBwd", [](benchmark::State& s) { layer_norm(s, true); }, {{1}, {2}});

}  // namespace
}  // namespace sluice::bench
