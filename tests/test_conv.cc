// Convolution and pooling: forward results and gradients against naive references written
// here (plain loops, nothing shared with the kernels), the kernels' code paths against each
// other, threaded against single-threaded, the layers, and every bad-input error.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <functional>
#include <random>

#include "ops/conv_lowering.h"
#include "ops/gemm_packed.h"
#include "test_util.h"

namespace sluice {
namespace {

using Ints = std::vector<int64_t>;

// ---------------------------------------------------------------------------------------
// Naive references. Sizes follow TensorFlow's rules, written out again here.

struct RefDim {
  int64_t out, pad;
};
RefDim ref_dim(int64_t in, int64_t k, int64_t s, int64_t d, bool same) {
  const int64_t eff = (k - 1) * d + 1;
  if (!same) return {(in - eff + s) / s, 0};
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>(0, (out - 1) * s + eff - in);
  return {out, total / 2};
}

struct ConvCase {
  std::string name;
  int64_t n, h, w, c, kh, kw, f, sh, sw, dh, dw;
  bool same;
};

std::ostream& operator<<(std::ostream& os, const ConvCase& c) { return os << c.name; }

using sluice::testing::random_tensor;

// Flat index helpers for NHWC / HWIO.
int64_t at4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t B, int64_t C, int64_t D) {
  return ((a * B + b) * C + c) * D + d;
}

// y[n, oy, ox, f] = sum over the window; accumulates in double.
std::vector<double> naive_conv(const ConvCase& k, const Tensor& x, const Tensor& w) {
  const RefDim ry = ref_dim(k.h, k.kh, k.sh, k.dh, k.same),
               rx = ref_dim(k.w, k.kw, k.sw, k.dw, k.same);
  std::vector<double> y(static_cast<size_t>(k.n * ry.out * rx.out * k.f), 0.0);
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t oy = 0; oy < ry.out; ++oy)
      for (int64_t ox = 0; ox < rx.out; ++ox)
        for (int64_t f = 0; f < k.f; ++f) {
          double acc = 0;
          for (int64_t i = 0; i < k.kh; ++i)
            for (int64_t j = 0; j < k.kw; ++j) {
              const int64_t iy = oy * k.sh - ry.pad + i * k.dh, ix = ox * k.sw - rx.pad + j * k.dw;
              if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
              for (int64_t c = 0; c < k.c; ++c)
                acc += x.as_double(at4(n, iy, ix, c, k.h, k.w, k.c)) *
                       w.as_double(at4(i, j, c, f, k.kw, k.c, k.f));
            }
          y[static_cast<size_t>(at4(n, oy, ox, f, ry.out, rx.out, k.f))] = acc;
        }
  return y;
}

// The gradients of sum(y * dy) with respect to x and w, by scattering every product.
void naive_conv_grads(const ConvCase& k, const Tensor& x, const Tensor& w, const Tensor& dy,
                      std::vector<double>& dx, std::vector<double>& dw) {
  const RefDim ry = ref_dim(k.h, k.kh, k.sh, k.dh, k.same),
               rx = ref_dim(k.w, k.kw, k.sw, k.dw, k.same);
  dx.assign(static_cast<size_t>(x.num_elements()), 0.0);
  dw.assign(static_cast<size_t>(w.num_elements()), 0.0);
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t oy = 0; oy < ry.out; ++oy)
      for (int64_t ox = 0; ox < rx.out; ++ox)
        for (int64_t f = 0; f < k.f; ++f) {
          const double g = dy.as_double(at4(n, oy, ox, f, ry.out, rx.out, k.f));
          for (int64_t i = 0; i < k.kh; ++i)
            for (int64_t j = 0; j < k.kw; ++j) {
              const int64_t iy = oy * k.sh - ry.pad + i * k.dh, ix = ox * k.sw - rx.pad + j * k.dw;
              if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
              for (int64_t c = 0; c < k.c; ++c) {
                const int64_t xi = at4(n, iy, ix, c, k.h, k.w, k.c),
                              wi = at4(i, j, c, f, k.kw, k.c, k.f);
                dx[static_cast<size_t>(xi)] += g * w.as_double(wi);
                dw[static_cast<size_t>(wi)] += g * x.as_double(xi);
              }
            }
        }
}

void expect_near_all(const Tensor& got, const std::vector<double>& want, double tol,
                     const std::string& what) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size())) << what;
  double worst = 0;
  int64_t worst_i = 0;
  for (int64_t i = 0; i < got.num_elements(); ++i) {
    const double err = std::fabs(got.as_double(i) - want[static_cast<size_t>(i)]) /
                       std::max(1.0, std::fabs(want[static_cast<size_t>(i)]));
    if (err > worst) worst = err, worst_i = i;
  }
  EXPECT_LT(worst, tol) << what << ": element " << worst_i << " is " << got.as_double(worst_i)
                        << ", want " << want[static_cast<size_t>(worst_i)];
}

Padding pad_of(const ConvCase& k) { return k.same ? Padding::same : Padding::valid; }

// ---------------------------------------------------------------------------------------
// Conv2D forward and both gradients against the naive reference, f32 and f64.

class ConvAgainstNaive : public ::testing::TestWithParam<ConvCase> {};

void check_conv_case(const ConvCase& k, DType dtype, int threads) {
  const double tol = dtype == DType::f32 ? 2e-5 : 1e-12;
  const Tensor xv = random_tensor(dtype, {k.n, k.h, k.w, k.c}, 1);
  const Tensor wv = random_tensor(dtype, {k.kh, k.kw, k.c, k.f}, 2);
  const Tensor bv = random_tensor(dtype, {k.f}, 3);
  const RefDim ry = ref_dim(k.h, k.kh, k.sh, k.dh, k.same),
               rx = ref_dim(k.w, k.kw, k.sw, k.dw, k.same);
  const Tensor dyv = random_tensor(dtype, {k.n, ry.out, rx.out, k.f}, 4);

  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), dtype, {-1, -1, -1, k.c});
  Output w = ops::constant(s, wv), b = ops::constant(s, bv), dy = ops::constant(s, dyv);
  const Ints st{k.sh, k.sw}, dl{k.dh, k.dw};
  Output y = ops::conv2d(s, x, w, st, pad_of(k), dl);
  Output fused = ops::fused_conv2d(s, x, w, b, st, pad_of(k), dl, true);
  Output dx = ops::conv2d_backprop_input(s, x, w, dy, st, pad_of(k), dl);
  Output dw = ops::conv2d_backprop_filter(s, x, w, dy, st, pad_of(k), dl);
  Session sess(g, SessionOptions{threads});
  auto r = sess.run({{x, xv}}, {y, fused, dx, dw});

  const std::string what = k.name + " " + dtype_name(dtype);
  ASSERT_EQ(r[0].shape(), (Shape{k.n, ry.out, rx.out, k.f})) << what;
  const std::vector<double> want = naive_conv(k, xv, wv);
  expect_near_all(r[0], want, tol, what + " forward");
  std::vector<double> want_fused = want;
  for (size_t i = 0; i < want_fused.size(); ++i)
    want_fused[i] = std::max(0.0, want[i] + bv.as_double(static_cast<int64_t>(i % k.f)));
  expect_near_all(r[1], want_fused, tol, what + " fused bias+relu");
  std::vector<double> want_dx, want_dw;
  naive_conv_grads(k, xv, wv, dyv, want_dx, want_dw);
  ASSERT_EQ(r[2].shape(), xv.shape()) << what;
  ASSERT_EQ(r[3].shape(), wv.shape()) << what;
  expect_near_all(r[2], want_dx, tol, what + " backprop input");
  expect_near_all(r[3], want_dw, tol * 10, what + " backprop filter");
}

TEST_P(ConvAgainstNaive, Float32) { check_conv_case(GetParam(), DType::f32, 1); }
TEST_P(ConvAgainstNaive, Float64) { check_conv_case(GetParam(), DType::f64, 1); }
TEST_P(ConvAgainstNaive, Float32ThreeThreads) { check_conv_case(GetParam(), DType::f32, 3); }

// name, n, h, w, c, kh, kw, f, sh, sw, dh, dw, same
INSTANTIATE_TEST_SUITE_P(
    Cases, ConvAgainstNaive,
    ::testing::Values(ConvCase{"same_s1_odd", 2, 7, 7, 3, 3, 3, 4, 1, 1, 1, 1, true},
                      ConvCase{"same_s1_even", 2, 8, 6, 3, 3, 3, 5, 1, 1, 1, 1, true},
                      ConvCase{"valid_s1_odd", 2, 7, 9, 3, 3, 3, 4, 1, 1, 1, 1, false},
                      ConvCase{"valid_s1_even", 3, 8, 6, 2, 3, 2, 4, 1, 1, 1, 1, false},
                      ConvCase{"same_s2_odd", 2, 7, 7, 3, 3, 3, 4, 2, 2, 1, 1, true},
                      ConvCase{"same_s2_even", 2, 8, 6, 3, 3, 3, 4, 2, 2, 1, 1, true},
                      ConvCase{"valid_s2_odd", 2, 9, 7, 3, 3, 3, 4, 2, 2, 1, 1, false},
                      ConvCase{"valid_s2_even", 2, 8, 8, 3, 3, 3, 4, 2, 2, 1, 1, false},
                      ConvCase{"same_even_kernel", 2, 6, 7, 2, 2, 4, 3, 1, 1, 1, 1, true},
                      ConvCase{"same_s3_even_kernel", 2, 8, 7, 2, 4, 2, 3, 3, 2, 1, 1, true},
                      ConvCase{"dilated_same", 2, 9, 8, 3, 3, 3, 4, 1, 1, 2, 2, true},
                      ConvCase{"dilated_valid", 2, 9, 10, 2, 3, 2, 3, 1, 1, 2, 3, false},
                      ConvCase{"dilated_strided", 1, 11, 9, 2, 3, 3, 2, 2, 1, 2, 2, true},
                      ConvCase{"pointwise", 3, 5, 4, 6, 1, 1, 7, 1, 1, 1, 1, true},
                      ConvCase{"pointwise_strided", 2, 5, 6, 3, 1, 1, 4, 2, 2, 1, 1, false},
                      ConvCase{"kernel_covers_input", 2, 3, 4, 2, 3, 4, 5, 1, 1, 1, 1, false},
                      ConvCase{"kernel_wider_than_input_same", 2, 2, 3, 2, 5, 5, 3, 1, 1, 1, 1,
                               true},
                      ConvCase{"one_channel_many_blocks", 4, 28, 28, 1, 3, 3, 8, 1, 1, 1, 1, true},
                      ConvCase{"wide_same_odd", 2, 9, 7, 16, 3, 3, 17, 1, 1, 1, 1, true},
                      ConvCase{"wide_valid_even", 2, 10, 8, 20, 3, 3, 16, 1, 1, 1, 1, false},
                      ConvCase{"wide_same_s2", 2, 10, 9, 16, 3, 3, 16, 2, 2, 1, 1, true},
                      ConvCase{"many_blocks_s2", 3, 30, 30, 16, 3, 3, 8, 2, 2, 1, 1, true}),
    [](const auto& info) { return info.param.name; });

TEST(Conv2D, HandComputedSamePaddingPutsTheExtraRowAtTheBottom) {
  // 3x3 input 1..9, 2x2 filter of ones, SAME stride 1: the total padding of 1 goes to the
  // bottom and right, so out[i][j] = x[i][j] + x[i][j+1] + x[i+1][j] + x[i+1][j+1].
  Graph g;
  Scope s(g);
  Output x = ops::constant(
      s, Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1}));
  Output w = ops::constant(s, Tensor::ones(DType::f32, {2, 2, 1, 1}));
  Output same = ops::conv2d(s, x, w, {1, 1}, Padding::same);
  Output same2 = ops::conv2d(s, x, w, {2, 2}, Padding::same);
  Output valid2 = ops::conv2d(s, x, w, {2, 2}, Padding::valid);
  EXPECT_EQ(same.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(same2.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_EQ(valid2.shape(), (Shape{1, 1, 1, 1}));
  Session sess(g);
  auto r = sess.run({}, {same, same2, valid2});
  EXPECT_EQ(r[0].to_vector<float>(), (std::vector<float>{12, 16, 9, 24, 28, 15, 15, 17, 9}));
  EXPECT_EQ(r[1].to_vector<float>(), (std::vector<float>{12, 9, 15, 9}));
  EXPECT_EQ(r[2].to_vector<float>(), (std::vector<float>{12}));
}

TEST(Conv2D, OutputSizesFollowTensorFlow) {
  const Padding S = Padding::same, V = Padding::valid;
  // (in, k, stride, dilation, padding) -> (out, pad_before)
  struct Row {
    int64_t in, k, s, d;
    Padding p;
    int64_t out, pad;
  };
  for (const Row& r :
       {Row{28, 3, 1, 1, V, 26, 0}, Row{28, 3, 1, 1, S, 28, 1}, Row{7, 3, 2, 1, S, 4, 1},
        Row{8, 3, 2, 1, S, 4, 0}, Row{8, 3, 2, 1, V, 3, 0}, Row{9, 3, 1, 2, V, 5, 0},
        Row{9, 3, 1, 2, S, 9, 2}, Row{5, 4, 1, 1, S, 5, 1}, Row{0, 3, 1, 1, S, 0, 1}}) {
    const WindowDim d = window_dim(r.in, r.k, r.s, r.d, r.p);
    EXPECT_EQ(d.out, r.out) << r.in << " " << r.k << " " << r.s << " " << r.d;
    EXPECT_EQ(d.pad_before, r.pad) << r.in << " " << r.k << " " << r.s << " " << r.d;
  }
}

TEST(Conv2D, ZeroBatchGivesEmptyResults) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {-1, 5, 5, 2});
  Output w = ops::constant(s, random_tensor(DType::f32, {3, 3, 2, 4}, 1));
  Output y = ops::conv2d(s, x, w, {1, 1}, Padding::same);
  Output dw = gradients(s, {ops::sum(s, y)}, {w})[0];
  Session sess(g);
  auto r = sess.run({{x, Tensor::zeros(DType::f32, {0, 5, 5, 2})}}, {y, dw});
  EXPECT_EQ(r[0].shape(), (Shape{0, 5, 5, 4}));
  EXPECT_EQ(r[1].shape(), (Shape{3, 3, 2, 4}));
  for (float v : r[1].to_vector<float>()) EXPECT_EQ(v, 0.0f);
}

// Zero input channels or zero filters: a convolution over no channels is all zeros (an empty
// sum); zero filters give an empty output (the depthwise convolution has none: with channels
// its values are real). Forward and both gradients, on 1 and 2 threads,
// through the plain, fused, depthwise and transposed convolutions.
TEST(Conv2D, ZeroChannelsOrFiltersGiveZerosOrEmptyResults) {
  for (const auto& [c, f] : {std::pair<int64_t, int64_t>{0, 4}, {3, 0}}) {
    for (int threads : {1, 2}) {
      Graph g;
      Scope s(g);
      Output x = ops::placeholder(s, DType::f32, {-1, 6, 5, -1});
      Output w = ops::placeholder(s, DType::f32, {3, 3, -1, -1});
      Output b = ops::constant(s, Tensor::zeros(DType::f32, {f}));
      Output dw_filter = ops::placeholder(s, DType::f32, {3, 3, -1, 2});
      const std::vector<Output> ys = {
          ops::conv2d(s, x, w, {1, 1}, Padding::same),
          ops::fused_conv2d(s, x, w, b, {2, 2}, Padding::valid, {1, 1}, true),
          ops::conv2d(s, x, w, {1, 1}, Padding::valid, {2, 1}),
          ops::depthwise_conv2d(s, x, dw_filter, {1, 1}, Padding::same),
          ops::conv2d_transpose(s, ops::conv2d(s, x, w, {1, 1}, Padding::same), w, {2, 2},
                                Padding::same)};
      Output loss = ops::sum(s, ys[0]);
      for (size_t i = 1; i < ys.size(); ++i)
        loss = ops::add(s, loss, ops::sum(s, ops::square(s, ys[i])));
      const auto grads = gradients(s, {loss}, {x, w, dw_filter});
      std::vector<Output> fetch = ys;
      fetch.insert(fetch.end(), grads.begin(), grads.end());
      Session sess(g, SessionOptions{threads});
      const auto r = sess.run({{x, random_tensor(DType::f32, {2, 6, 5, c}, 3)},
                               {w, random_tensor(DType::f32, {3, 3, c, f}, 4)},
                               {dw_filter, random_tensor(DType::f32, {3, 3, c, 2}, 5)}},
                              fetch);
      const std::vector<Shape> want = {{2, 6, 5, f},   {2, 2, 2, f}, {2, 2, 3, f}, {2, 6, 5, 2 * c},
                                       {2, 12, 10, c}, {2, 6, 5, c}, {3, 3, c, f}, {3, 3, c, 2}};
      ASSERT_EQ(r.size(), want.size());
      for (size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r[i].shape(), want[i]) << "fetch " << i << " c " << c << " f " << f;
        if (c > 0 && (i == 3 || i == 5 || i == 7)) continue;  // the depthwise one ignores f
        for (int64_t k = 0; k < r[i].num_elements(); ++k)
          ASSERT_EQ(r[i].as_double(k), 0.0) << "fetch " << i << " element " << k;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Code paths against each other, and threads against one thread.

conv::ConvGeometry geometry_of(const ConvCase& k) {
  const RefDim ry = ref_dim(k.h, k.kh, k.sh, k.dh, k.same),
               rx = ref_dim(k.w, k.kw, k.sw, k.dw, k.same);
  conv::ConvGeometry g;
  g.n = k.n, g.h = k.h, g.w = k.w, g.c = k.c, g.kh = k.kh, g.kw = k.kw, g.f = k.f;
  g.sh = k.sh, g.sw = k.sw, g.dh = k.dh, g.dw = k.dw;
  g.oh = ry.out, g.ow = rx.out, g.pad_top = ry.pad, g.pad_left = rx.pad;
  return g;
}

// Runs each forward path on the same random data and compares it with the im2col path.
template <class T>
void forward_paths_case(const ConvCase& k, bool relu) {
  const DType dtype = dtype_v<T>;
  const double tol = dtype == DType::f32 ? 1e-4 : 1e-12;
  ThreadPool pool(2);
  const conv::ConvGeometry g = geometry_of(k);
  const Tensor x = random_tensor(dtype, {k.n, k.h, k.w, k.c}, 9);
  const Tensor w = random_tensor(dtype, {k.kh, k.kw, k.c, k.f}, 10);
  const Tensor bias = random_tensor(dtype, {k.f}, 11);
  Tensor ref(dtype, {k.n, g.oh, g.ow, k.f});
  conv::forward_im2col<T>(g, x.data<T>(), w.data<T>(), bias.data<T>(), relu, ref.data<T>(), pool);
  auto compare = [&](const char* path, auto fn) {
    Tensor out = Tensor::filled(dtype, ref.shape(), 12345);
    fn(g, x.data<T>(), w.data<T>(), bias.data<T>(), relu, out.data<T>(), pool);
    for (int64_t i = 0; i < out.num_elements(); ++i)
      ASSERT_NEAR(out.as_double(i), ref.as_double(i), tol)
          << k.name << " " << path << " " << dtype_name(dtype) << " element " << i;
  };
  compare("dispatch", conv::forward<T>);
  compare("direct", conv::forward_direct<T>);
  compare("im2col_whole", conv::forward_im2col_whole<T>);
  if (conv::winograd_applies(g)) compare("winograd", conv::forward_winograd<T>);
}

// FusedConv2D with a constant filter on a geometry that takes Winograd: the kernel uses the
// filter transformed once and cached (ops/gemm_prepacked.h), conv::forward transforms it on
// every call. The same bits, run after run, with 1 and 2 threads.
TEST(ConvPaths, CachedWinogradFilterGivesTheSameBits) {
  for (DType dtype : {DType::f32, DType::f64}) {
    const ConvCase k{"winograd_cached", 2, 17, 16, 32, 3, 3, 40, 1, 1, 1, 1, true};
    const conv::ConvGeometry g = geometry_of(k);
    ASSERT_TRUE(conv::winograd_chosen(g));
    const Tensor x = random_tensor(dtype, {k.n, k.h, k.w, k.c}, 21);
    const Tensor w = random_tensor(dtype, {k.kh, k.kw, k.c, k.f}, 22);
    const Tensor b = random_tensor(dtype, {k.f}, 23);
    Tensor want(dtype, {k.n, g.oh, g.ow, k.f});
    ThreadPool pool(1);
    if (dtype == DType::f32)
      conv::forward<float>(g, x.data<float>(), w.data<float>(), b.data<float>(), true, want.data<float>(), pool);
    else
      conv::forward<double>(g, x.data<double>(), w.data<double>(), b.data<double>(), true, want.data<double>(), pool);
    Graph graph;
    const Scope s(graph);
    const Output y = ops::fused_conv2d(s, ops::constant(s, x), ops::constant(s, w), ops::constant(s, b), {1, 1},
                                       Padding::same, {1, 1}, true);
    for (int threads : {1, 2}) {
      Session sess(graph, SessionOptions{threads});
      for (int run = 0; run < 2; ++run) {
        const Tensor got = sess.run({}, {y})[0];
        ASSERT_EQ(got.shape(), want.shape());
        int64_t differ = 0;
        for (int64_t i = 0; i < got.num_elements(); ++i) differ += got.as_double(i) != want.as_double(i);
        EXPECT_EQ(differ, 0) << dtype_name(dtype) << " threads " << threads << " run " << run;
      }
    }
  }
}

TEST(ConvPaths, ForwardPathsAgree) {
  // The direct path works for any geometry (it is chosen for few channels); Winograd for
  // 3x3 at stride 1 with >= 16 channels. Widths cover the direct path's register chunks
  // (64, 32, 16 floats) and remainders.
  const std::vector<ConvCase> cases = {
      {"winograd_same_odd", 2, 9, 11, 16, 3, 3, 16, 1, 1, 1, 1, true},
      {"winograd_valid_even", 3, 10, 8, 24, 3, 3, 20, 1, 1, 1, 1, false},
      {"winograd_many_tiles", 2, 30, 29, 17, 3, 3, 33, 1, 1, 1, 1, true},
      {"direct_one_channel", 3, 12, 11, 1, 3, 3, 32, 1, 1, 1, 1, true},
      {"direct_rgb_wide", 2, 9, 8, 3, 5, 5, 117, 2, 2, 1, 1, true},
      {"direct_dilated_narrow", 2, 10, 9, 2, 3, 3, 7, 1, 2, 2, 1, false},
      {"direct_interior_runs_8_4_2", 2, 5, 16, 2, 3, 3, 40, 1, 1, 1, 1, true},
      {"im2col_5x5_s2", 2, 13, 12, 8, 5, 5, 8, 2, 2, 1, 1, true},
      // Long patches onto many filters (the whole-GEMM path) and a pointwise one.
      {"whole_long_patch", 1, 7, 7, 96, 3, 3, 130, 1, 1, 1, 1, true},
      {"whole_pointwise", 2, 6, 5, 160, 1, 1, 200, 1, 1, 1, 1, false},
  };
  for (const ConvCase& k : cases)
    for (bool relu : {false, true}) {
      forward_paths_case<double>(k, relu);
      forward_paths_case<float>(k, relu);
    }
}

TEST(ConvPaths, BackpropInputPathsAgree) {
  // At stride 1 the input gradient can run as a forward convolution with the rotated
  // filter (then Winograd where it applies); col2im handles any stride.
  ThreadPool pool(2);
  for (const ConvCase& k :
       {ConvCase{"same", 2, 9, 8, 5, 3, 3, 6, 1, 1, 1, 1, true},
        ConvCase{"valid_even_kernel", 2, 8, 9, 3, 2, 4, 5, 1, 1, 1, 1, false},
        ConvCase{"dilated", 2, 10, 9, 4, 3, 3, 3, 1, 1, 2, 3, true},
        ConvCase{"winograd_same", 2, 9, 10, 16, 3, 3, 20, 1, 1, 1, 1, true},
        ConvCase{"winograd_valid", 2, 9, 10, 18, 3, 3, 16, 1, 1, 1, 1, false}}) {
    const conv::ConvGeometry g = geometry_of(k);
    const Tensor w = random_tensor(DType::f64, {k.kh, k.kw, k.c, k.f}, 7);
    const Tensor dy = random_tensor(DType::f64, {k.n, g.oh, g.ow, k.f}, 8);
    Tensor a(DType::f64, {k.n, k.h, k.w, k.c}), b(DType::f64, {k.n, k.h, k.w, k.c}),
        c(DType::f64, {k.n, k.h, k.w, k.c});
    conv::backprop_input_rotated<double>(g, w.data<double>(), dy.data<double>(), a.data<double>(),
                                         pool);
    conv::backprop_input_col2im<double>(g, w.data<double>(), dy.data<double>(), b.data<double>(),
                                        pool);
    conv::backprop_input<double>(g, w.data<double>(), dy.data<double>(), c.data<double>(), pool);
    for (int64_t i = 0; i < a.num_elements(); ++i) {
      ASSERT_NEAR(a.data<double>()[i], b.data<double>()[i], 1e-12) << k.name << " element " << i;
      ASSERT_NEAR(c.data<double>()[i], b.data<double>()[i], 1e-12) << k.name << " element " << i;
    }
  }
}

TEST(ConvPaths, BackpropFilterPathsAgree) {
  ThreadPool pool(2);
  for (const ConvCase& k :
       {ConvCase{"winograd_same", 2, 9, 10, 16, 3, 3, 16, 1, 1, 1, 1, true},
        ConvCase{"winograd_valid_many_tiles", 3, 31, 26, 16, 3, 3, 24, 1, 1, 1, 1, false}}) {
    const conv::ConvGeometry g = geometry_of(k);
    ASSERT_TRUE(conv::winograd_applies(g));
    for (DType dtype : {DType::f64, DType::f32}) {
      const Tensor x = random_tensor(dtype, {k.n, k.h, k.w, k.c}, 12);
      const Tensor dy = random_tensor(dtype, {k.n, g.oh, g.ow, k.f}, 13);
      Tensor a(dtype, {3, 3, k.c, k.f}), b(dtype, {3, 3, k.c, k.f});
      if (dtype == DType::f64) {
        conv::backprop_filter_winograd<double>(g, x.data<double>(), dy.data<double>(),
                                               a.data<double>(), pool);
        conv::backprop_filter_im2col<double>(g, x.data<double>(), dy.data<double>(),
                                             b.data<double>(), pool);
      } else {
        conv::backprop_filter_winograd<float>(g, x.data<float>(), dy.data<float>(), a.data<float>(),
                                              pool);
        conv::backprop_filter_im2col<float>(g, x.data<float>(), dy.data<float>(), b.data<float>(),
                                            pool);
      }
      const double tol = dtype == DType::f32 ? 1e-3 : 1e-10;  // sums of thousands of products
      for (int64_t i = 0; i < a.num_elements(); ++i)
        ASSERT_NEAR(a.as_double(i), b.as_double(i), tol * std::max(1.0, std::fabs(b.as_double(i))))
            << k.name << " " << dtype_name(dtype) << " element " << i;
    }
  }
}

TEST(ConvThreads, ResultsDoNotDependOnTheNumberOfThreads) {
  // Each configuration is large enough for many blocks and several partial filter-gradient
  // sums; together they take every code path (direct, im2col, Winograd, rotated, col2im).
  struct Config {
    Shape x, w;
    Ints strides;
  };
  for (const Config& c : {Config{{6, 24, 20, 8}, {3, 3, 8, 16}, {1, 1}},
                          Config{{6, 24, 20, 8}, {3, 3, 8, 16}, {2, 2}},
                          Config{{4, 20, 18, 16}, {3, 3, 16, 24}, {1, 1}},
                          Config{{8, 28, 28, 1}, {3, 3, 1, 32}, {1, 1}}}) {
    const Tensor xv = random_tensor(DType::f32, c.x, 21);
    const Tensor wv = random_tensor(DType::f32, c.w, 22);
    auto run = [&](int threads) {
      Graph g;
      Scope s(g);
      Output x = ops::placeholder(s, DType::f32, {-1, c.x.dim(1), c.x.dim(2), c.x.dim(3)});
      Output w = ops::constant(s, wv);
      Output y = ops::conv2d(s, x, w, c.strides, Padding::same);
      Output p = ops::max_pool(s, y, {3, 3}, {2, 2}, Padding::same);
      Output a = ops::avg_pool(s, y, {3, 3}, {1, 1}, Padding::same);
      Output loss = ops::add(s, ops::sum(s, ops::square(s, p)), ops::sum(s, ops::square(s, a)));
      auto grads = gradients(s, {loss}, {x, w});
      Session sess(g, SessionOptions{threads});
      return sess.run({{x, xv}}, {y, p, a, grads[0], grads[1]});
    };
    auto one = run(1), four = run(4);
    for (size_t i = 0; i < one.size(); ++i)
      EXPECT_TRUE(one[i].equals(four[i]))
          << "output " << i << " for input " << c.x << ", filter " << c.w;
  }
}

// ---------------------------------------------------------------------------------------
// Pooling against naive references.

struct PoolCase {
  std::string name;
  int64_t n, h, w, c, kh, kw, sh, sw;
  bool same;
};
std::ostream& operator<<(std::ostream& os, const PoolCase& c) { return os << c.name; }

// Windows of output (oy, ox), clipped: calls f(iy, ix) for every real element in
// row-major order.
template <class F>
void for_window(const PoolCase& p, int64_t oy, int64_t ox, F&& f) {
  const RefDim ry = ref_dim(p.h, p.kh, p.sh, 1, p.same), rx = ref_dim(p.w, p.kw, p.sw, 1, p.same);
  for (int64_t i = 0; i < p.kh; ++i)
    for (int64_t j = 0; j < p.kw; ++j) {
      const int64_t iy = oy * p.sh - ry.pad + i, ix = ox * p.sw - rx.pad + j;
      if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) f(iy, ix);
    }
}

// Forward max/avg and their gradients for dy, by the definitions.
void naive_pool(const PoolCase& p, const Tensor& x, const Tensor& dy, std::vector<double>& ymax,
                std::vector<double>& yavg, std::vector<double>& dxmax, std::vector<double>& dxavg) {
  const RefDim ry = ref_dim(p.h, p.kh, p.sh, 1, p.same), rx = ref_dim(p.w, p.kw, p.sw, 1, p.same);
  ymax.assign(static_cast<size_t>(p.n * ry.out * rx.out * p.c), 0);
  yavg = ymax;
  dxmax.assign(static_cast<size_t>(x.num_elements()), 0);
  dxavg = dxmax;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t oy = 0; oy < ry.out; ++oy)
      for (int64_t ox = 0; ox < rx.out; ++ox)
        for (int64_t c = 0; c < p.c; ++c) {
          double best = -INFINITY, sum = 0;
          int64_t best_i = -1, count = 0;
          for_window(p, oy, ox, [&](int64_t iy, int64_t ix) {
            const int64_t i = at4(n, iy, ix, c, p.h, p.w, p.c);
            if (x.as_double(i) > best) best = x.as_double(i), best_i = i;
            sum += x.as_double(i);
            ++count;
          });
          const int64_t o = at4(n, oy, ox, c, ry.out, rx.out, p.c);
          ymax[static_cast<size_t>(o)] = best;
          yavg[static_cast<size_t>(o)] = sum / static_cast<double>(count);
          dxmax[static_cast<size_t>(best_i)] += dy.as_double(o);
          for_window(p, oy, ox, [&](int64_t iy, int64_t ix) {
            dxavg[static_cast<size_t>(at4(n, iy, ix, c, p.h, p.w, p.c))] +=
                dy.as_double(o) / static_cast<double>(count);
          });
        }
}

class PoolAgainstNaive : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolAgainstNaive, ForwardAndGradients) {
  const PoolCase& p = GetParam();
  for (DType dtype : {DType::f32, DType::f64}) {
    const double tol = dtype == DType::f32 ? 1e-5 : 1e-12;
    const RefDim ry = ref_dim(p.h, p.kh, p.sh, 1, p.same), rx = ref_dim(p.w, p.kw, p.sw, 1, p.same);
    const Tensor xv = random_tensor(dtype, {p.n, p.h, p.w, p.c}, 31);
    const Tensor dyv = random_tensor(dtype, {p.n, ry.out, rx.out, p.c}, 32);
    Graph g;
    Scope s(g);
    Output x = ops::placeholder(s, dtype, {-1, p.h, p.w, p.c});
    const Padding pad = p.same ? Padding::same : Padding::valid;
    Output mx = ops::max_pool(s, x, {p.kh, p.kw}, {p.sh, p.sw}, pad);
    Output av = ops::avg_pool(s, x, {p.kh, p.kw}, {p.sh, p.sw}, pad);
    Output dy = ops::constant(s, dyv);
    Output dmx = gradients(s, {mx}, {x}, {dy})[0];
    Output dav = gradients(s, {av}, {x}, {dy})[0];
    Session sess(g, SessionOptions{2});
    auto r = sess.run({{x, xv}}, {mx, av, dmx, dav});
    std::vector<double> ymax, yavg, dxmax, dxavg;
    naive_pool(p, xv, dyv, ymax, yavg, dxmax, dxavg);
    ASSERT_EQ(r[0].shape(), (Shape{p.n, ry.out, rx.out, p.c}));
    expect_near_all(r[0], ymax, tol, p.name + " max");
    expect_near_all(r[1], yavg, tol, p.name + " avg");
    expect_near_all(r[2], dxmax, tol, p.name + " max grad");
    expect_near_all(r[3], dxavg, tol, p.name + " avg grad");
  }
}

// name, n, h, w, c, kh, kw, sh, sw, same
INSTANTIATE_TEST_SUITE_P(
    Cases, PoolAgainstNaive,
    ::testing::Values(PoolCase{"valid_2x2_s2_even", 2, 8, 6, 3, 2, 2, 2, 2, false},
                      PoolCase{"valid_2x2_s2_odd", 2, 7, 9, 3, 2, 2, 2, 2, false},
                      PoolCase{"same_2x2_s2_odd", 2, 7, 9, 3, 2, 2, 2, 2, true},
                      PoolCase{"same_3x3_s2_even", 2, 8, 6, 4, 3, 3, 2, 2, true},
                      PoolCase{"same_3x3_s1_odd", 2, 7, 5, 2, 3, 3, 1, 1, true},
                      PoolCase{"valid_3x3_s1_overlapping", 3, 6, 7, 2, 3, 3, 1, 1, false},
                      PoolCase{"same_3x2_s3x1", 2, 8, 7, 3, 3, 2, 3, 1, true},
                      PoolCase{"valid_window_covers_input", 2, 4, 3, 5, 4, 3, 1, 1, false}),
    [](const auto& info) { return info.param.name; });

TEST(Pool, HandComputedSameAverageCountsOnlyRealElements) {
  // 3x3 input 1..9, 2x2 windows, stride 2, SAME: the windows on the bottom and right edges
  // hold 2 or 1 real elements and average over those only (TensorFlow).
  Graph g;
  Scope s(g);
  Output x = ops::constant(
      s, Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1}));
  Output av = ops::avg_pool(s, x, {2, 2}, {2, 2}, Padding::same);
  Output mx = ops::max_pool(s, x, {2, 2}, {2, 2}, Padding::same);
  Output gav = ops::global_avg_pool(s, x);
  Session sess(g);
  auto r = sess.run({}, {av, mx, gav});
  EXPECT_EQ(r[0].to_vector<float>(), (std::vector<float>{3, 4.5f, 7.5f, 9}));
  EXPECT_EQ(r[1].to_vector<float>(), (std::vector<float>{5, 6, 8, 9}));
  EXPECT_EQ(r[2].shape(), (Shape{1, 1}));
  EXPECT_EQ(r[2].to_vector<float>(), (std::vector<float>{5}));
}

TEST(Pool, MaxPoolGradientGoesToTheFirstMaximumOnTies) {
  Graph g;
  Scope s(g);
  // One 2x2 window of equal values, one with the max at the end, one with a later tie.
  Output x = ops::constant(s, Tensor::from_vector(std::vector<double>{1, 1, 0, 5, 3, 3,  //
                                                                      1, 1, 0, 5, 0, 3},
                                                  {1, 2, 6, 1}));
  Output y = ops::max_pool(s, x, {2, 2}, {2, 2});
  Output dx = gradients(s, {ops::sum(s, y)}, {x})[0];
  Session sess(g);
  auto r = sess.run({}, {y, dx});
  EXPECT_EQ(r[0].to_vector<double>(), (std::vector<double>{1, 5, 3}));
  EXPECT_EQ(r[1].to_vector<double>(), (std::vector<double>{1, 0, 0, 1, 1, 0,  //
                                                           0, 0, 0, 0, 0, 0}));
}

TEST(Pool, GlobalAveragePoolAgainstNaive) {
  const Tensor xv = random_tensor(DType::f64, {3, 5, 4, 6}, 41);
  Graph g;
  Scope s(g);
  Output y = ops::global_avg_pool(s, ops::constant(s, xv));
  EXPECT_EQ(y.shape(), (Shape{3, 6}));
  EXPECT_EQ(y.op().name(), "global_avg_pool");
  Session sess(g);
  const Tensor r = sess.run({}, {y})[0];
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 6; ++c) {
      double sum = 0;
      for (int64_t i = 0; i < 5 * 4; ++i) sum += xv.as_double(at4(n, i / 4, i % 4, c, 5, 4, 6));
      EXPECT_NEAR(r.at<double>({n, c}), sum / 20, 1e-12);
    }
}

// ---------------------------------------------------------------------------------------
// Layers.

TEST(ConvLayers, NamesShapesAndWeights) {
  Graph g;
  Scope root(g);
  Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 28, 28, 1});
  layers::Conv2D c1(32, {3, 3}, {1, 1}, Padding::same, Activation::relu);
  layers::Conv2D c2(64, {3, 3}, {2, 2}, Padding::valid, Activation::tanh, false, "second");
  layers::MaxPooling2D pool;
  layers::AveragePooling2D avg({3, 3}, {1, 1}, Padding::same);
  layers::GlobalAveragePooling2D gap;
  Scope block = root.sub("block1");
  Output h = c1(block, img);
  EXPECT_EQ(h.shape(), (Shape{-1, 28, 28, 32}));
  h = c2(block, h);
  EXPECT_EQ(h.shape(), (Shape{-1, 13, 13, 64}));
  h = pool(root, h);
  EXPECT_EQ(h.shape(), (Shape{-1, 6, 6, 64}));
  h = avg(root, h);
  EXPECT_EQ(h.shape(), (Shape{-1, 6, 6, 64}));
  Output out = gap(root, h);
  EXPECT_EQ(out.shape(), (Shape{-1, 64}));
  EXPECT_EQ(c1.name(), "block1/conv2d");
  EXPECT_EQ(c2.name(), "block1/second");
  EXPECT_EQ(pool.name(), "max_pooling2d");
  EXPECT_EQ(avg.name(), "average_pooling2d");
  EXPECT_EQ(gap.name(), "global_average_pooling2d");
  ASSERT_EQ(c1.weights().size(), 2u);
  EXPECT_EQ(c1.weights()[0].name(), "block1/conv2d/kernel");
  EXPECT_EQ(c1.weights()[1].name(), "block1/conv2d/bias");
  EXPECT_EQ(c1.kernel().shape(), (Shape{3, 3, 1, 32}));
  EXPECT_EQ(c1.bias().shape(), (Shape{32}));
  ASSERT_EQ(c2.weights().size(), 1u);  // no bias
  EXPECT_EQ(c2.kernel().shape(), (Shape{3, 3, 32, 64}));
  EXPECT_FALSE(c2.bias().valid());
  layers::Conv2D c3(8, {3, 3});
  c3(root, img);
  layers::Conv2D c4(8, {3, 3});
  c4(root, img);
  EXPECT_EQ(c3.name(), "conv2d");
  EXPECT_EQ(c4.name(), "conv2d_1");
  EXPECT_EQ(g.trainable_variables().size(), 7u);
  // Runs: the shapes above hold at run time.
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  auto r = sess.run({{img, random_tensor(DType::f32, {2, 28, 28, 1}, 5)}}, {out});
  EXPECT_EQ(r[0].shape(), (Shape{2, 64}));
}

TEST(ConvLayers, LayerMatchesTheOpsItStandsFor) {
  // Fused (relu + bias) and unfused (tanh, dilation) layers against explicit op graphs.
  const Tensor xv = random_tensor(DType::f64, {2, 9, 8, 3}, 51);
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f64, {-1, 9, 8, 3});
  layers::Conv2D relu(4, {3, 2}, {2, 1}, Padding::same, Activation::relu, true, "", {1, 1},
                      Initializer::glorot_uniform(3), Initializer::random_uniform(-1, 1, 4));
  layers::Conv2D tanh(5, {2, 3}, {1, 1}, Padding::valid, Activation::tanh, true, "", {2, 2},
                      Initializer::glorot_uniform(5), Initializer::random_uniform(-1, 1, 6));
  Output a = relu(root, x), b = tanh(root, x);
  Output a_ref = ops::relu(
      root,
      ops::bias_add(root, ops::conv2d(root, x, relu.kernel(), {2, 1}, Padding::same), relu.bias()));
  Output b_ref = ops::tanh(
      root, ops::bias_add(root, ops::conv2d(root, x, tanh.kernel(), {1, 1}, Padding::valid, {2, 2}),
                          tanh.bias()));
  EXPECT_EQ(a.op().type(), "FusedConv2D");
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  auto r = sess.run({{x, xv}}, {a, a_ref, b, b_ref});
  for (int i : {0, 2}) {
    ASSERT_EQ(r[i].shape(), r[i + 1].shape());
    for (int64_t j = 0; j < r[i].num_elements(); ++j)
      EXPECT_NEAR(r[i].as_double(j), r[i + 1].as_double(j), 1e-12);
  }
}

TEST(ConvLayers, CallingTwiceSharesWeightsAndSumsGradients) {
  const Tensor x1v = random_tensor(DType::f64, {2, 6, 6, 2}, 61),
               x2v = random_tensor(DType::f64, {3, 5, 7, 2}, 62);
  Graph g;
  Scope root(g);
  Output x1 = ops::placeholder(root, DType::f64, {-1, -1, -1, 2});
  Output x2 = ops::placeholder(root, DType::f64, {-1, -1, -1, 2});
  layers::Conv2D conv(3, {3, 3}, {1, 1}, Padding::same, Activation::relu, true, "shared");
  Output y1 = conv(root, x1), y2 = conv(root, x2);
  EXPECT_EQ(g.trainable_variables().size(), 2u);
  Output l1 = ops::sum(root, ops::square(root, y1)), l2 = ops::sum(root, ops::square(root, y2));
  auto both = gradients(root, {ops::add(root, l1, l2)}, {conv.kernel(), conv.bias()});
  auto g1 = gradients(root, {l1}, {conv.kernel(), conv.bias()});
  auto g2 = gradients(root, {l2}, {conv.kernel(), conv.bias()});
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  auto r = sess.run({{x1, x1v}, {x2, x2v}}, {both[0], both[1], g1[0], g1[1], g2[0], g2[1]});
  for (int i = 0; i < 2; ++i)
    for (int64_t j = 0; j < r[i].num_elements(); ++j)
      EXPECT_NEAR(r[i].as_double(j), r[2 + i].as_double(j) + r[4 + i].as_double(j), 1e-10);
  EXPECT_GT(std::fabs(r[2].as_double(0)), 0.0);
  EXPECT_GT(std::fabs(r[4].as_double(0)), 0.0);
}

// ---------------------------------------------------------------------------------------
// Bad input: typed errors that name the node and the shapes.

template <class E = InvalidArgument>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong error type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error";
  return "";
}

void expect_contains(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

TEST(ConvErrors, BuildTimeShapeAndAttrErrors) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::f32, {2, 5, 5, 3});
  Output w = ops::placeholder(s.named("w"), DType::f32, {3, 3, 3, 4});
  auto conv = [&](Output in, Output f, Ints st, Padding p, Ints dl) {
    return [=, &s] { ops::conv2d(s.named("myconv"), in, f, st, p, dl); };
  };
  expect_contains(
      error_of(conv(ops::placeholder(s, DType::f32, {5, 5, 3}), w, {1, 1}, Padding::same, {1, 1})),
      {"'myconv' (Conv2D)", "input must be 4-D", "[5,5,3]"});
  expect_contains(
      error_of(conv(x, ops::placeholder(s, DType::f32, {3, 3, 3}), {1, 1}, Padding::same, {1, 1})),
      {"'myconv", "filter must be 4-D", "[3,3,3]"});
  expect_contains(error_of(conv(x, ops::placeholder(s, DType::f32, {3, 3, 2, 4}), {1, 1},
                                Padding::same, {1, 1})),
                  {"'myconv", "in_channels", "input [2,5,5,3]", "filter [3,3,2,4]"});
  expect_contains(error_of(conv(x, ops::placeholder(s, DType::f32, {7, 3, 3, 4}), {1, 1},
                                Padding::valid, {1, 1})),
                  {"'myconv", "rows", "empty", "input [2,5,5,3]", "filter [7,3,3,4]"});
  expect_contains(error_of(conv(x, w, {1, 1}, Padding::valid, {3, 1})),  // dilated 3x3 spans 7 rows
                  {"'myconv", "effective window size 7", "[2,5,5,3]"});
  expect_contains(error_of(conv(x, w, {0, 1}, Padding::same, {1, 1})),
                  {"'myconv", "strides must be positive", "[0,1]"});
  expect_contains(error_of(conv(x, w, {1, -2}, Padding::same, {1, 1})),
                  {"strides must be positive"});
  expect_contains(error_of(conv(x, w, {1, 1}, Padding::same, {0, 1})),
                  {"dilations must be positive"});
  expect_contains(error_of(conv(x, w, {1, 1, 1, 1}, Padding::same, {1, 1})),
                  {"strides must have 2 entries", "[1,1,1,1]"});
  expect_contains(error_of(conv(x, w, {1}, Padding::same, {1, 1})),
                  {"strides must have 2 entries"});
  expect_contains(error_of(conv(x, w, {1, 1}, Padding::same, {1, 1, 1})),
                  {"dilations must have 2 entries"});
  expect_contains(
      error_of(conv(ops::placeholder(s, DType::i32, {2, 5, 5, 3}),
                    ops::placeholder(s, DType::i32, {3, 3, 3, 4}), {1, 1}, Padding::same, {1, 1})),
      {"'myconv", "float32 or float64", "int32"});
  expect_contains(error_of(conv(x, ops::placeholder(s, DType::f64, {3, 3, 3, 4}), {1, 1},
                                Padding::same, {1, 1})),
                  {"'myconv", "same dtype", "float32", "float64"});
  expect_contains(error_of([&] {
                    ops::fused_conv2d(s.named("fc"), x, w, ops::placeholder(s, DType::f32, {5}),
                                      {1, 1}, Padding::same);
                  }),
                  {"'fc' (FusedConv2D)", "bias must be [F] = [4]", "[5]"});
  // Backprop ops check out_backprop against the convolution they invert.
  expect_contains(error_of([&] {
                    ops::conv2d_backprop_input(s.named("bi"), x, w,
                                               ops::placeholder(s, DType::f32, {2, 5, 4, 4}),
                                               {1, 1}, Padding::same);
                  }),
                  {"'bi' (Conv2DBackpropInput)", "out_backprop [2,5,4,4]", "gives [2,5,5,4]"});
  expect_contains(error_of([&] {
                    ops::conv2d_backprop_filter(s.named("bf"), x, w,
                                                ops::placeholder(s, DType::f32, {2, 3, 3, 5}),
                                                {1, 1}, Padding::valid);
                  }),
                  {"'bf' (Conv2DBackpropFilter)", "out_backprop [2,3,3,5]", "gives [2,3,3,4]"});
  // Imported graphs never went through the builders: an unknown padding name is an error.
  expect_contains(
      error_of([&] {
        NodeBuilder(s.named("raw"), "Conv2D").input(x).input(w).attr("padding", "FULL").finish();
      }),
      {"'raw' (Conv2D)", "padding must be \"SAME\", \"VALID\"", "FULL"});
}

TEST(ConvErrors, RunTimeErrorsWithUnknownDims) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s.named("x"), DType::f32, {-1, -1, -1, -1});
  Output w = ops::constant(s, random_tensor(DType::f32, {3, 3, 2, 4}, 1));
  Output y = ops::conv2d(s.named("conv"), x, w, {1, 1}, Padding::valid);
  Output p = ops::max_pool(s.named("pool"), x, {3, 3}, {1, 1});
  EXPECT_EQ(y.shape(), (Shape{-1, -1, -1, 4}));
  auto grads = gradients(s, {ops::sum(s, y)}, {x, w});
  Session sess(g);
  expect_contains(error_of([&] {
                    sess.run({{x, Tensor::zeros(DType::f32, {1, 5, 5, 3})}}, {y});
                  }),
                  {"'conv' (Conv2D)", "in_channels", "input [1,5,5,3]", "filter [3,3,2,4]"});
  expect_contains(error_of([&] {
                    sess.run({{x, Tensor::zeros(DType::f32, {1, 2, 5, 2})}}, {y});
                  }),
                  {"'conv' (Conv2D)", "rows", "empty", "input [1,2,5,2]"});
  expect_contains(error_of([&] {
                    sess.run({{x, Tensor::zeros(DType::f32, {1, 5, 2, 2})}}, {grads[0]});
                  }),
                  {"(Conv2D", "cols", "input [1,5,2,2]"});
  expect_contains(error_of([&] {
                    sess.run({{x, Tensor::zeros(DType::f32, {1, 2, 2, 2})}}, {p});
                  }),
                  {"'pool' (MaxPool)", "rows", "input [1,2,2,2]"});
  // Valid feeds run.
  auto r = sess.run({{x, Tensor::zeros(DType::f32, {2, 5, 6, 2})}}, {y, grads[0], grads[1], p});
  EXPECT_EQ(r[0].shape(), (Shape{2, 3, 4, 4}));
  EXPECT_EQ(r[1].shape(), (Shape{2, 5, 6, 2}));
  EXPECT_EQ(r[2].shape(), (Shape{3, 3, 2, 4}));
  EXPECT_EQ(r[3].shape(), (Shape{2, 3, 4, 2}));
}

TEST(PoolErrors, BuildTimeErrors) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2, 5, 5, 3});
  auto mp = [&](Output in, Ints k, Ints st, Padding p) {
    return [=, &s] { ops::max_pool(s.named("mp"), in, k, st, p); };
  };
  expect_contains(
      error_of(mp(ops::placeholder(s, DType::f32, {5, 5, 3}), {2, 2}, {2, 2}, Padding::valid)),
      {"'mp' (MaxPool)", "4-D", "[5,5,3]"});
  expect_contains(error_of(mp(x, {2}, {2, 2}, Padding::valid)),
                  {"'mp", "ksize must have 2 entries", "[2]"});
  expect_contains(error_of(mp(x, {2, 2}, {1, 2, 2, 1}, Padding::valid)),
                  {"strides must have 2 entries"});
  expect_contains(error_of(mp(x, {0, 2}, {2, 2}, Padding::valid)), {"ksize must be positive"});
  expect_contains(error_of(mp(x, {2, 2}, {2, -1}, Padding::valid)), {"strides must be positive"});
  expect_contains(error_of(mp(x, {6, 2}, {1, 1}, Padding::valid)),
                  {"'mp", "rows", "empty", "input [2,5,5,3]"});
  expect_contains(
      error_of(mp(ops::placeholder(s, DType::i64, {2, 5, 5, 3}), {2, 2}, {2, 2}, Padding::valid)),
      {"'mp", "int64"});
  expect_contains(error_of([&] {
                    ops::avg_pool(s.named("ap"), x, {2, 2}, {0, 0}, Padding::same);
                  }),
                  {"'ap' (AvgPool)", "strides must be positive"});
  expect_contains(error_of([&] {
                    ops::global_avg_pool(s, ops::placeholder(s.named("flat"), DType::f32, {2, 5}));
                  }),
                  {"'flat:0'", "4-D", "[2,5]"});
  expect_contains(
      error_of([&] {
        ops::global_avg_pool(s, ops::placeholder(s.named("ints"), DType::i32, {2, 5, 5, 1}));
      }),
      {"'ints:0'", "int32"});
  // Gradient ops check the gradient's shape.
  expect_contains(error_of([&] {
                    NodeBuilder(s.named("mpg"), "MaxPoolGrad")
                        .input(x)
                        .input(ops::placeholder(s, DType::f32, {2, 3, 3, 3}))
                        .finish();
                  }),
                  {"'mpg' (MaxPoolGrad)", "[2,3,3,3]", "pooled shape [2,2,2,3]"});
}

TEST(ConvLayerErrors, ConstructorsAndBuild) {
  EXPECT_THROW(layers::Conv2D(0, {3, 3}), InvalidArgument);
  expect_contains(error_of([] { layers::Conv2D(8, {3}); }),
                  {"Conv2D", "kernel_size must have 2 positive entries", "[3]"});
  expect_contains(error_of([] { layers::Conv2D(8, {3, 3}, {1, 0}); }), {"strides"});
  expect_contains(
      error_of([] {
        layers::Conv2D(8, {3, 3}, {1, 1}, Padding::same, Activation::relu, true, "", {1, 2, 3});
      }),
      {"dilation_rate"});
  expect_contains(
      error_of([] {
        layers::Conv2D(8, {3, 3}, {2, 2}, Padding::same, Activation::relu, true, "", {2, 2});
      }),
      {"strides > 1 [2,2]", "dilation_rate > 1 [2,2]"});
  expect_contains(error_of([] { layers::MaxPooling2D({2, 2, 2}); }), {"MaxPooling2D", "pool_size"});
  expect_contains(error_of([] {
                    layers::AveragePooling2D({2, 2}, {0, 1});
                  }),
                  {"AveragePooling2D", "strides"});
  Graph g;
  Scope root(g);
  layers::Conv2D conv(8, {3, 3});
  expect_contains(error_of([&] {
                    conv(root, ops::placeholder(root, DType::f32, {-1, 28, 28}));
                  }),
                  {"Conv2D layer 'conv2d'", "4-D", "[?,28,28]"});
  layers::Conv2D conv2(8, {3, 3});
  expect_contains(error_of([&] {
                    conv2(root, ops::placeholder(root, DType::f32, {-1, 28, 28, -1}));
                  }),
                  {"known C", "[?,28,28,?]"});
  layers::Conv2D conv3(8, {3, 3});
  conv3(root, ops::placeholder(root, DType::f32, {-1, 28, 28, 1}));
  expect_contains(error_of([&] {
                    conv3(root, ops::placeholder(root, DType::f32, {-1, 28, 28, 3}));
                  }),
                  {"built for inputs [N,H,W,1]", "[?,28,28,3]"});
  layers::Conv2D conv4(8, {3, 3});
  expect_contains(error_of([&] {
                    conv4(root, ops::placeholder(root, DType::i32, {-1, 28, 28, 1}));
                  }),
                  {"float inputs", "int32"});
}

}  // namespace
}  // namespace sluice
