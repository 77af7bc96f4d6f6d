// Pooling with explicit and SAME_LOWER padding, ceil_mode, count_include_pad and
// dilations: forward values against nn_reference.h and ONNX's documented examples,
// gradients against the definitions, NaN propagation, thread independence, bad input.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <random>

#include "nn_reference.h"
#include "test_util.h"

namespace sluice {
namespace {

// Session::run takes fetches as TensorRefs.
std::vector<TensorRef> refs(const std::vector<Output>& v) { return {v.begin(), v.end()}; }


using Ints = std::vector<int64_t>;
using reference::Vec;

using sluice::testing::random_tensor;

Tensor iota(const Shape& shape) {  // 1, 2, 3, ...
  Tensor t(DType::f32, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = static_cast<float>(i + 1);
  return t;
}

struct Case {
  std::string name;
  int64_t n, h, w, c, kh, kw, sh, sw, dh, dw;
  std::string padding;
  int64_t pt, pb, pl, pr;
  bool ceil_mode, count_include_pad;
};
std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

Pads pads_of(const Case& k) {
  if (k.padding == "EXPLICIT") return Pads::explicit_pads(k.pt, k.pb, k.pl, k.pr);
  return Pads(padding_from_name(k.padding));
}

reference::Pool ref_pool(const Case& k) {
  reference::Pool p{k.n, k.h, k.w, k.c, k.kh, k.kw, k.sh, k.sw, k.dh, k.dw};
  p.rows = reference::dim_of(k.padding, k.h, k.kh, k.sh, k.dh, k.pt, k.pb, k.ceil_mode);
  p.cols = reference::dim_of(k.padding, k.w, k.kw, k.sw, k.dw, k.pl, k.pr, k.ceil_mode);
  return p;
}

// The max-pool gradient by its definition: each window's dy goes to its first largest
// element (its first NaN if it holds one).
Vec naive_max_grad(const reference::Pool& p, const Tensor& x, const Tensor& dy) {
  Vec dx(static_cast<size_t>(x.num_elements()), 0.0);
  const int64_t oh = p.rows.out, ow = p.cols.out;
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ch = 0; ch < p.c; ++ch) {
          int64_t best = -1;
          for (int64_t i = 0; i < p.kh; ++i)
            for (int64_t j = 0; j < p.kw; ++j) {
              const int64_t iy = oy * p.sh - p.rows.before + i * p.dh,
                            ix = ox * p.sw - p.cols.before + j * p.dw;
              if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
              const int64_t at = reference::idx4(b, iy, ix, ch, p.h, p.w, p.c);
              if (best < 0) {
                best = at;
              } else if (!std::isnan(x.as_double(best)) &&
                         (std::isnan(x.as_double(at)) || x.as_double(at) > x.as_double(best))) {
                best = at;
              }
            }
          if (best >= 0)
            dx[static_cast<size_t>(best)] += dy.as_double(reference::idx4(b, oy, ox, ch, oh, ow, p.c));
        }
  return dx;
}

class PoolOptionsAgainstNaive : public ::testing::TestWithParam<Case> {};

TEST_P(PoolOptionsAgainstNaive, ForwardAndGradients) {
  const Case& k = GetParam();
  const reference::Pool p = ref_pool(k);
  for (DType dtype : {DType::f32, DType::f64}) {
    const double tol = dtype == DType::f32 ? 1e-5 : 1e-12;
    const Tensor xv = random_tensor(dtype, {k.n, k.h, k.w, k.c}, 31);
    const Tensor dyv = random_tensor(dtype, {k.n, p.rows.out, p.cols.out, k.c}, 32);
    Graph g;
    Scope s(g);
    Output x = ops::placeholder(s, dtype, {-1, k.h, k.w, k.c});
    Output mx = ops::max_pool(s, x, {k.kh, k.kw}, {k.sh, k.sw}, pads_of(k), {k.dh, k.dw}, k.ceil_mode);
    const bool undilated = k.dh == 1 && k.dw == 1;
    Output av = undilated ? ops::avg_pool(s, x, {k.kh, k.kw}, {k.sh, k.sw}, pads_of(k),
                                          k.count_include_pad, k.ceil_mode)
                          : mx;
    ASSERT_EQ(mx.shape(), (Shape{-1, p.rows.out, p.cols.out, k.c})) << k.name;
    Output dy = ops::constant(s, dyv);
    Output dmx = gradients(s, {mx}, {x}, {dy})[0];
    Output dav = gradients(s, {av}, {x}, {dy})[0];
    Session sess(g, SessionOptions{2});
    auto r = sess.run({{x, xv}}, {mx, av, dmx, dav});
    Vec ymax, yavg;
    reference::pool(p, xv, k.count_include_pad, ymax, yavg);
    const std::string what = k.name + " " + dtype_name(dtype);
    for (int64_t i = 0; i < r[0].num_elements(); ++i)
      ASSERT_NEAR(r[0].as_double(i), ymax[static_cast<size_t>(i)], tol) << what << " max " << i;
    const Vec dmax = naive_max_grad(p, xv, dyv);
    for (int64_t i = 0; i < r[2].num_elements(); ++i)
      ASSERT_NEAR(r[2].as_double(i), dmax[static_cast<size_t>(i)], tol) << what << " dmax " << i;
    if (!undilated) continue;
    for (int64_t i = 0; i < r[1].num_elements(); ++i)
      ASSERT_NEAR(r[1].as_double(i), yavg[static_cast<size_t>(i)], tol) << what << " avg " << i;
    // Average pooling is linear: <avg(x), dy> = <x, d avg>.
    double lhs = 0, rhs = 0;
    for (int64_t i = 0; i < r[1].num_elements(); ++i) lhs += r[1].as_double(i) * dyv.as_double(i);
    for (int64_t i = 0; i < xv.num_elements(); ++i) rhs += xv.as_double(i) * r[3].as_double(i);
    EXPECT_NEAR(lhs, rhs, tol * 100) << what << " avg adjoint";
  }
}

// name, n, h, w, c, kh, kw, sh, sw, dh, dw, padding, pt, pb, pl, pr, ceil, count_include_pad
INSTANTIATE_TEST_SUITE_P(
    Cases, PoolOptionsAgainstNaive,
    ::testing::Values(
        Case{"explicit_asym", 2, 7, 8, 3, 3, 3, 2, 2, 1, 1, "EXPLICIT", 1, 0, 2, 1, false, false},
        Case{"explicit_count_pad", 2, 7, 8, 3, 3, 3, 2, 2, 1, 1, "EXPLICIT", 1, 2, 1, 1, false, true},
        Case{"ceil_mode", 2, 8, 9, 2, 3, 3, 2, 2, 1, 1, "EXPLICIT", 0, 0, 0, 0, true, false},
        Case{"ceil_mode_count_pad", 1, 8, 7, 2, 3, 2, 2, 2, 1, 1, "EXPLICIT", 1, 1, 1, 0, true, true},
        Case{"ceil_mode_drops_window_in_padding", 1, 5, 5, 2, 2, 2, 2, 2, 1, 1, "EXPLICIT", 1, 1, 1, 1,
             true, true},
        Case{"same_lower", 2, 8, 7, 3, 3, 2, 2, 2, 1, 1, "SAME_LOWER", 0, 0, 0, 0, false, false},
        Case{"same_count_pad", 1, 7, 7, 2, 3, 3, 2, 2, 1, 1, "SAME", 0, 0, 0, 0, false, true},
        Case{"dilated_max", 2, 9, 8, 3, 3, 2, 1, 2, 2, 3, "EXPLICIT", 1, 2, 0, 1, false, false},
        Case{"dilated_same", 1, 8, 8, 2, 2, 2, 2, 2, 2, 2, "SAME", 0, 0, 0, 0, false, false},
        Case{"dilated_ceil", 1, 10, 9, 2, 3, 3, 3, 2, 2, 1, "EXPLICIT", 0, 0, 0, 0, true, false},
        // Channels in blocks of four vectors (64 floats or 32 doubles with AVX-512), then a tail.
        Case{"many_channels", 2, 7, 8, 69, 3, 3, 2, 2, 1, 1, "EXPLICIT", 1, 0, 2, 1, true, false}),
    [](const auto& info) { return info.param.name; });

// ONNX's own examples (onnx/backend/test/case/node/{maxpool,averagepool}.py).
TEST(PoolOnnx, DocumentedExamples) {
  Graph g;
  Scope s(g);
  Output x4 = ops::constant(s, iota({1, 4, 4, 1}));
  Output x5 = ops::constant(s, iota({1, 5, 5, 1}));
  const Pads none = Pads::explicit_pads(0, 0, 0, 0);
  std::vector<Output> outs = {
      // maxpool_2d_ceil / averagepool_2d_ceil: 4x4, kernel 3, stride 2, ceil_mode
      ops::max_pool(s, x4, {3, 3}, {2, 2}, none, {1, 1}, true),
      ops::avg_pool(s, x4, {3, 3}, {2, 2}, none, false, true),
      // maxpool_2d_dilations: kernel 2, stride 1, dilations 2
      ops::max_pool(s, x4, {2, 2}, {1, 1}, none, {2, 2}),
      // *_2d_precomputed_same_upper: 5x5, kernel 3, stride 2
      ops::max_pool(s, x5, {3, 3}, {2, 2}, Padding::same),
      ops::avg_pool(s, x5, {3, 3}, {2, 2}, Padding::same),
      // averagepool_2d_precomputed_pads_count_include_pad: kernel 5, pads 2
      ops::avg_pool(s, x5, {5, 5}, {1, 1}, Pads::explicit_pads(2, 2, 2, 2), true),
  };
  Session sess(g);
  auto r = sess.run({}, refs(outs));
  EXPECT_EQ(r[0].to_vector<float>(), (std::vector<float>{11, 12, 15, 16}));
  EXPECT_EQ(r[1].to_vector<float>(), (std::vector<float>{6, 7.5f, 12, 13.5f}));
  EXPECT_EQ(r[2].to_vector<float>(), (std::vector<float>{11, 12, 15, 16}));
  EXPECT_EQ(r[3].to_vector<float>(), (std::vector<float>{7, 9, 10, 17, 19, 20, 22, 24, 25}));
  EXPECT_EQ(r[4].to_vector<float>(), (std::vector<float>{4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22}));
  const std::vector<float> want = {2.5200f, 3.6000f, 4.8000f, 4.0800f, 3.2400f, 4.5600f, 6.4000f,
                                   8.4000f, 7.0400f, 5.5200f, 7.2000f, 10.0000f, 13.0000f, 10.8000f,
                                   8.4000f, 6.9600f, 9.6000f, 12.4000f, 10.2400f, 7.9200f, 6.1200f,
                                   8.4000f, 10.8000f, 8.8800f, 6.8400f};
  ASSERT_EQ(r[5].num_elements(), 25);
  for (int i = 0; i < 25; ++i) EXPECT_NEAR(r[5].to_vector<float>()[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 1e-5);
}

TEST(Pool, NaNInTheWindowGivesNaNAndTakesTheGradient) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Graph g;
  Scope s(g);
  // Windows (2x2, stride 2): [NaN 5; 1 2] -> NaN; [3 4; 9 NaN] -> NaN; [7 8; 6 5] -> 8.
  Output x = ops::placeholder(s, DType::f64, {1, 2, 6, 1});
  Output mx = ops::max_pool(s, x, {2, 2}, {2, 2});
  Output av = ops::avg_pool(s, x, {2, 2}, {2, 2});
  Output dx = gradients(s, {ops::sum(s, mx)}, {x})[0];
  Session sess(g);
  auto r = sess.run({{x, Tensor::from_vector(std::vector<double>{nan, 5, 3, 4, 7, 8,  //
                                                                 1, 2, 9, nan, 6, 5},
                                             {1, 2, 6, 1})}},
                    {mx, av, dx});
  const auto m = r[0].to_vector<double>();
  EXPECT_TRUE(std::isnan(m[0]));
  EXPECT_TRUE(std::isnan(m[1]));
  EXPECT_EQ(m[2], 8);
  EXPECT_TRUE(std::isnan(r[1].to_vector<double>()[0]));
  EXPECT_EQ(r[2].to_vector<double>(), (std::vector<double>{1, 0, 0, 0, 0, 1,  //
                                                           0, 0, 0, 1, 0, 0}));
}

// NaNs in every lane position of the vector blocks and of the tail: a channel whose window
// holds a NaN gives NaN, the others their maximum (ties of -0 and +0 keep the first).
TEST(Pool, NaNInAnyChannelOfManyGivesNaN) {
  for (DType dtype : {DType::f32, DType::f64}) {
    const int64_t C = 150;
    std::vector<double> v(static_cast<size_t>(4 * C));
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t c = 0; c < C; ++c)
        v[static_cast<size_t>(t * C + c)] = std::sin(0.37 * static_cast<double>(t * C + c));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (int64_t c = 0; c < C; c += 7) v[static_cast<size_t>((c % 4) * C + c)] = nan;  // tap c % 4
    v[static_cast<size_t>(0 * C + 1)] = -0.0, v[static_cast<size_t>(1 * C + 1)] = 0.0;
    v[static_cast<size_t>(2 * C + 1)] = -1, v[static_cast<size_t>(3 * C + 1)] = -1;
    Graph g;
    Scope s(g);
    const Tensor x = Tensor::from_vector(v, {1, 2, 2, C}).cast(dtype);
    Output mx = ops::max_pool(s, ops::constant(s, x), {2, 2}, {2, 2});
    const Tensor r = Session(g).run({}, {mx})[0];
    ASSERT_EQ(r.shape(), Shape({1, 1, 1, C}));
    for (int64_t c = 0; c < C; ++c) {
      if (c % 7 == 0) {
        EXPECT_TRUE(std::isnan(r.as_double(c))) << dtype_name(dtype) << " channel " << c;
        continue;
      }
      double best = -std::numeric_limits<double>::infinity();
      for (int64_t t = 0; t < 4; ++t) best = std::max(best, x.as_double(t * C + c));
      EXPECT_EQ(r.as_double(c), best) << dtype_name(dtype) << " channel " << c;
    }
    EXPECT_TRUE(std::signbit(r.as_double(1)));  // -0 came first
  }
}

TEST(Pool, GlobalMaxPool) {
  const Tensor xv = random_tensor(DType::f64, {3, 5, 4, 6}, 41);
  Graph g;
  Scope s(g);
  Output y = ops::global_max_pool(s, ops::constant(s, xv));
  Output k = ops::global_max_pool(s, ops::constant(s, xv), true);
  Output ka = ops::global_avg_pool(s, ops::constant(s, xv), true);
  EXPECT_EQ(y.shape(), (Shape{3, 6}));
  EXPECT_EQ(k.shape(), (Shape{3, 1, 1, 6}));
  EXPECT_EQ(ka.shape(), (Shape{3, 1, 1, 6}));
  EXPECT_EQ(y.op().name(), "global_max_pool");
  Session sess(g);
  auto r = sess.run({}, {y, k});
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 6; ++c) {
      double best = -INFINITY;
      for (int64_t i = 0; i < 20; ++i) best = std::max(best, xv.as_double(reference::idx4(n, i / 4, i % 4, c, 5, 4, 6)));
      EXPECT_EQ(r[0].at<double>({n, c}), best);
      EXPECT_EQ(r[1].as_double(n * 6 + c), best);
    }
}

TEST(Pool, ResultsDoNotDependOnTheNumberOfThreads) {
  const Tensor xv = random_tensor(DType::f32, {6, 23, 21, 16}, 51);
  auto run = [&](int threads) {
    Graph g;
    Scope s(g);
    Output x = ops::placeholder(s, DType::f32, {-1, 23, 21, 16});
    Output p = ops::max_pool(s, x, {3, 3}, {2, 2}, Pads::explicit_pads(1, 1, 1, 1), {1, 1}, true);
    Output a = ops::avg_pool(s, x, {3, 3}, {2, 2}, Pads::explicit_pads(1, 0, 1, 0), true, true);
    Output loss = ops::add(s, ops::sum(s, ops::square(s, p)), ops::sum(s, ops::square(s, a)));
    Session sess(g, SessionOptions{threads});
    return sess.run({{x, xv}}, {p, a, gradients(s, {loss}, {x})[0]});
  };
  auto one = run(1), four = run(4);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(one[i].equals(four[i])) << i;
}

// Zero channels or zero images (a fuzzed TensorFlow GraphDef: an NCHW MaxPool of a [1,0,4,4]
// placeholder divided by the channel count): every pooling op and its gradient gives an
// empty result of the right shape, on 1 and 2 threads.
TEST(Pool, EmptyInputsGiveEmptyOutputs) {
  for (const Shape& shape : {Shape{2, 6, 5, 0}, Shape{0, 6, 5, 3}}) {
    for (int threads : {1, 2}) {
      Graph g;
      Scope s(g);
      Output x = ops::placeholder(s, DType::f32, {-1, 6, 5, -1});
      std::vector<Output> ys = {
          ops::max_pool(s, x, {2, 2}, {2, 2}),
          ops::max_pool(s, x, {3, 3}, {1, 2}, Pads::explicit_pads(1, 1, 1, 1), {2, 1}, true),
          ops::avg_pool(s, x, {2, 2}, {1, 1}, Padding::same, true), ops::global_max_pool(s, x),
          ops::global_avg_pool(s, x, true)};
      Output loss = ops::sum(s, ops::square(s, ys[0]));
      for (size_t i = 1; i < ys.size(); ++i)
        loss = ops::add(s, loss, ops::sum(s, ops::square(s, ys[i])));
      std::vector<Output> fetch = ys;
      fetch.push_back(gradients(s, {loss}, {x})[0]);
      Session sess(g, SessionOptions{threads});
      const auto r = sess.run({{x, Tensor::zeros(DType::f32, shape)}}, fetch);
      const int64_t n = shape[0], c = shape[3];
      EXPECT_EQ(r[0].shape(), (Shape{n, 3, 2, c}));
      EXPECT_EQ(r[1].shape(), (Shape{n, 4, 3, c}));
      EXPECT_EQ(r[2].shape(), (Shape{n, 6, 5, c}));
      EXPECT_EQ(r[3].shape(), (Shape{n, c}));
      EXPECT_EQ(r[4].shape(), (Shape{n, 1, 1, c}));
      EXPECT_EQ(r[5].shape(), shape);
      for (const Tensor& t : r) EXPECT_EQ(t.num_elements(), 0);
    }
  }
}

TEST(PoolErrors, PadsAndOptions) {
  using testing::contains;
  using testing::error_of;
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {2, 5, 5, 3});
  std::string m = error_of<InvalidArgument>([&] {
    ops::max_pool(s.named("mp"), x, {2, 2}, {2, 2}, Pads::explicit_pads(2, 0, 0, 0));
  });
  EXPECT_TRUE(contains(m, "'mp' (MaxPool)") && contains(m, "smaller than the window")) << m;
  m = error_of<InvalidArgument>([&] {
    ops::avg_pool(s.named("ap"), x, {2, 2}, {2, 2}, Pads::explicit_pads(0, -1, 0, 0));
  });
  EXPECT_TRUE(contains(m, "non-negative")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::max_pool(s.named("md"), x, {2, 2}, {1, 1}, Padding::valid, {0, 1}); });
  EXPECT_TRUE(contains(m, "dilations must be positive")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::max_pool(s.named("mv"), x, {3, 3}, {1, 1}, Padding::valid, {3, 1}); });
  EXPECT_TRUE(contains(m, "effective window size 7")) << m;
  m = error_of<InvalidArgument>(
      [&] { ops::global_max_pool(s, ops::placeholder(s.named("flat"), DType::f32, {2, 5})); });
  EXPECT_TRUE(contains(m, "'flat:0'") && contains(m, "4-D")) << m;
}

}  // namespace
}  // namespace sluice
