// graph/layers_ext.h: each layer's forward values against a direct host computation, and
// its gradients (to the input and to every weight) against central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "runtime/sluice.h"

using namespace sluice;

namespace {

Tensor rnd(const Shape& s, uint64_t seed) {
  Tensor t(DType::f64, s);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(-1, 1);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<double>()[i] = d(rng);
  return t;
}

// A layer applied to f64 inputs with random weights, plus the checks.
struct Harness {
  Graph g;
  Scope root{g};
  std::vector<Output> xs;
  std::vector<Tensor> x_values;
  Output y;
  std::unique_ptr<Session> sess;
  std::vector<Tensor> weights;

  void build(const std::vector<Shape>& shapes, const std::function<Output(const Scope&, const std::vector<Output>&)>& f,
             layers::Layer& layer) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      xs.push_back(ops::placeholder(root.named("x" + std::to_string(i)), DType::f64, shapes[i]));
      x_values.push_back(rnd(shapes[i], 100 + i));
    }
    y = f(root, xs);
    sess = std::make_unique<Session>(g, SessionOptions{1});
    sess->run({}, {}, {ops::global_variables_initializer(root)});
    uint64_t seed = 7;
    for (const Tensor& w : layer.get_weights(*sess)) weights.push_back(rnd(w.shape(), seed++));
    layer.set_weights(*sess, weights);
    layer_ = &layer;
  }
  FeedList feeds() const {
    FeedList f;
    for (size_t i = 0; i < xs.size(); ++i) f.push_back({xs[i], x_values[i]});
    return f;
  }
  Tensor forward() { return sess->run(feeds(), {y})[0]; }

  // d sum(y * r) / d(every input and weight element) vs central differences.
  void check_gradients(double tol = 1e-6) {
    const Tensor y0 = forward();
    const Tensor r = rnd(y0.shape(), 99);
    Output loss = ops::sum(root, ops::mul(root, y, ops::constant(root, r)));
    std::vector<Output> wrt = xs;
    for (const auto& w : layer_->weights()) wrt.push_back(w.output(0));
    std::vector<Output> grads = gradients(root, {loss}, wrt);
    auto value = [&] { return sess->run(feeds(), {loss})[0].scalar<double>(); };
    const std::vector<Tensor> analytic = sess->run(feeds(), grads);
    const double h = 1e-6;
    for (size_t k = 0; k < wrt.size(); ++k) {
      const bool is_input = k < xs.size();
      Tensor& base = is_input ? x_values[k] : weights[k - xs.size()];
      for (int64_t i = 0; i < base.num_elements(); ++i) {
        const double keep = base.data<double>()[i];
        auto set = [&](double v) {
          base.data<double>()[i] = v;
          if (!is_input) layer_->set_weights(*sess, weights);
        };
        set(keep + h);
        const double up = value();
        set(keep - h);
        const double down = value();
        set(keep);
        const double numeric = (up - down) / (2 * h);
        ASSERT_NEAR(analytic[k].data<double>()[i], numeric, tol * std::max(1.0, std::abs(numeric)))
            << (is_input ? "input " : "weight ") << k << " element " << i;
      }
    }
  }

 private:
  layers::Layer* layer_ = nullptr;
};

Output one(layers::Layer& l, const Scope& s, const std::vector<Output>& x) { return l(s, x[0]); }

double at(const Tensor& t, std::initializer_list<int64_t> idx) {
  const std::vector<int64_t> d = t.shape().dims();
  int64_t flat = 0, k = 0;
  for (int64_t i : idx) flat = flat * d[static_cast<size_t>(k++)] + i;
  return t.data<double>()[flat];
}

void expect_all_near(const Tensor& a, const std::vector<double>& b, double tol = 1e-9) {
  ASSERT_EQ(a.num_elements(), static_cast<int64_t>(b.size()));
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(a.data<double>()[i], b[i], tol) << i;
}

}  // namespace

TEST(LayersExt, Conv1D) {
  layers::Conv1D conv(3, 2, 1, Padding::valid, Activation::linear);
  Harness h;
  h.build({Shape{2, 5, 4}}, [&](const Scope& s, const std::vector<Output>& x) { return one(conv, s, x); }, conv);
  EXPECT_EQ(conv.weights()[0].name(), "conv1d/kernel");
  const Tensor y = h.forward();
  ASSERT_EQ(y.shape(), Shape({2, 4, 3}));
  std::vector<double> ref;
  const Tensor &x = h.x_values[0], &k = h.weights[0], &b = h.weights[1];
  for (int n = 0; n < 2; ++n)
    for (int t = 0; t < 4; ++t)
      for (int f = 0; f < 3; ++f) {
        double v = b.data<double>()[f];
        for (int j = 0; j < 2; ++j)
          for (int c = 0; c < 4; ++c) v += at(x, {n, t + j, c}) * at(k, {j, c, f});
        ref.push_back(v);
      }
  expect_all_near(y, ref);
  h.check_gradients();
}

TEST(LayersExt, Conv2DTranspose) {
  layers::Conv2DTranspose conv(2, {2, 2}, {2, 2});
  Harness h;
  h.build({Shape{1, 2, 3, 3}}, [&](const Scope& s, const std::vector<Output>& x) { return one(conv, s, x); }, conv);
  EXPECT_EQ(conv.weights()[0].node()->output_shapes[0], Shape({2, 2, 2, 3}));  // [KH,KW,F,C]
  const Tensor y = h.forward();
  ASSERT_EQ(y.shape(), Shape({1, 4, 6, 2}));
  std::vector<double> ref(48, 0.0);
  const Tensor &x = h.x_values[0], &k = h.weights[0], &b = h.weights[1];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int di = 0; di < 2; ++di)
        for (int dj = 0; dj < 2; ++dj)
          for (int f = 0; f < 2; ++f)
            for (int c = 0; c < 3; ++c)
              ref[((2 * i + di) * 6 + 2 * j + dj) * 2 + f] += at(x, {0, i, j, c}) * at(k, {di, dj, f, c});
  for (size_t p = 0; p < ref.size(); ++p) ref[p] += b.data<double>()[p % 2];
  expect_all_near(y, ref);
  h.check_gradients();
}

TEST(LayersExt, DepthwiseAndSeparableConv2D) {
  layers::DepthwiseConv2D dw({2, 2}, {1, 1}, Padding::valid, 2);
  Harness h;
  h.build({Shape{1, 3, 3, 2}}, [&](const Scope& s, const std::vector<Output>& x) { return one(dw, s, x); }, dw);
  EXPECT_EQ(dw.weights()[0].name(), "depthwise_conv2d/depthwise_kernel");
  const Tensor y = h.forward();
  ASSERT_EQ(y.shape(), Shape({1, 2, 2, 4}));
  std::vector<double> ref;
  const Tensor &x = h.x_values[0], &k = h.weights[0], &b = h.weights[1];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int c = 0; c < 2; ++c)
        for (int m = 0; m < 2; ++m) {
          double v = b.data<double>()[c * 2 + m];
          for (int di = 0; di < 2; ++di)
            for (int dj = 0; dj < 2; ++dj) v += at(x, {0, i + di, j + dj, c}) * at(k, {di, dj, c, m});
          ref.push_back(v);
        }
  expect_all_near(y, ref);
  h.check_gradients();

  layers::SeparableConv2D sep(3, {2, 2});
  Harness h2;
  h2.build({Shape{1, 3, 3, 2}}, [&](const Scope& s, const std::vector<Output>& x) { return one(sep, s, x); }, sep);
  EXPECT_EQ(sep.weights()[1].name(), "separable_conv2d/pointwise_kernel");
  const Tensor y2 = h2.forward();
  ASSERT_EQ(y2.shape(), Shape({1, 2, 2, 3}));
  const Tensor &x2 = h2.x_values[0], &dk = h2.weights[0], &pk = h2.weights[1], &b2 = h2.weights[2];
  std::vector<double> ref2;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int f = 0; f < 3; ++f) {
        double v = b2.data<double>()[f];
        for (int c = 0; c < 2; ++c) {
          double d = 0;
          for (int di = 0; di < 2; ++di)
            for (int dj = 0; dj < 2; ++dj) d += at(x2, {0, i + di, j + dj, c}) * at(dk, {di, dj, c, 0});
          v += d * at(pk, {0, 0, c, f});
        }
        ref2.push_back(v);
      }
  expect_all_near(y2, ref2);
  h2.check_gradients();
}

TEST(LayersExt, LayerNormalization) {
  layers::LayerNormalization ln;
  Harness h;
  h.build({Shape{3, 5}}, [&](const Scope& s, const std::vector<Output>& x) { return one(ln, s, x); }, ln);
  EXPECT_EQ(ln.weights()[0].name(), "layer_normalization/gamma");
  const Tensor y = h.forward();
  std::vector<double> ref;
  for (int n = 0; n < 3; ++n) {
    double mean = 0, var = 0;
    for (int i = 0; i < 5; ++i) mean += at(h.x_values[0], {n, i}) / 5;
    for (int i = 0; i < 5; ++i) var += std::pow(at(h.x_values[0], {n, i}) - mean, 2) / 5;
    for (int i = 0; i < 5; ++i)
      ref.push_back((at(h.x_values[0], {n, i}) - mean) / std::sqrt(var + 1e-3) * h.weights[0].data<double>()[i] +
                    h.weights[1].data<double>()[i]);
  }
  expect_all_near(y, ref);
  h.check_gradients(1e-5);
}

TEST(LayersExt, ShapeLayers) {
  {
    layers::Reshape r({3, -1});
    Harness h;
    h.build({Shape{2, 6}}, [&](const Scope& s, const std::vector<Output>& x) { return one(r, s, x); }, r);
    const Tensor y = h.forward();
    EXPECT_EQ(y.shape(), Shape({2, 3, 2}));
    h.check_gradients();
  }
  {
    layers::Permute p({2, 1});
    Harness h;
    h.build({Shape{2, 3, 4}}, [&](const Scope& s, const std::vector<Output>& x) { return one(p, s, x); }, p);
    const Tensor y = h.forward();
    ASSERT_EQ(y.shape(), Shape({2, 4, 3}));
    EXPECT_EQ(at(y, {1, 3, 2}), at(h.x_values[0], {1, 2, 3}));
    h.check_gradients();
  }
  {
    layers::RepeatVector rv(3);
    Harness h;
    h.build({Shape{2, 4}}, [&](const Scope& s, const std::vector<Output>& x) { return one(rv, s, x); }, rv);
    const Tensor y = h.forward();
    ASSERT_EQ(y.shape(), Shape({2, 3, 4}));
    EXPECT_EQ(at(y, {1, 2, 3}), at(h.x_values[0], {1, 3}));
    h.check_gradients();
  }
  {
    layers::ZeroPadding2D zp({1, 0, 2, 1});
    Harness h;
    h.build({Shape{1, 2, 2, 1}}, [&](const Scope& s, const std::vector<Output>& x) { return one(zp, s, x); }, zp);
    const Tensor y = h.forward();
    ASSERT_EQ(y.shape(), Shape({1, 3, 5, 1}));
    EXPECT_EQ(at(y, {0, 0, 2, 0}), 0.0);
    EXPECT_EQ(at(y, {0, 1, 2, 0}), at(h.x_values[0], {0, 0, 0, 0}));
    EXPECT_EQ(at(y, {0, 2, 3, 0}), at(h.x_values[0], {0, 1, 1, 0}));
    h.check_gradients();
  }
  {
    layers::UpSampling2D up({2, 3});
    Harness h;
    h.build({Shape{1, 2, 2, 2}}, [&](const Scope& s, const std::vector<Output>& x) { return one(up, s, x); }, up);
    const Tensor y = h.forward();
    ASSERT_EQ(y.shape(), Shape({1, 4, 6, 2}));
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 6; ++j) EXPECT_EQ(at(y, {0, i, j, 1}), at(h.x_values[0], {0, i / 2, j / 3, 1}));
    h.check_gradients();
  }
  {
    layers::GlobalMaxPooling2D gmp;
    Harness h;
    h.build({Shape{2, 2, 3, 2}}, [&](const Scope& s, const std::vector<Output>& x) { return one(gmp, s, x); }, gmp);
    const Tensor y = h.forward();
    ASSERT_EQ(y.shape(), Shape({2, 2}));
    double m = -10;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) m = std::max(m, at(h.x_values[0], {1, i, j, 0}));
    EXPECT_EQ(at(y, {1, 0}), m);
    h.check_gradients();
  }
  {
    layers::Activation act(Activation::tanh);
    Harness h;
    h.build({Shape{2, 3}}, [&](const Scope& s, const std::vector<Output>& x) { return one(act, s, x); }, act);
    const Tensor y = h.forward();
    EXPECT_NEAR(at(y, {1, 2}), std::tanh(at(h.x_values[0], {1, 2})), 1e-12);
    h.check_gradients();
  }
}

TEST(LayersExt, MergeLayers) {
  layers::Concatenate cat;
  layers::Add add;
  layers::Multiply mul;
  layers::Average avg;
  Harness h;
  Output yc, ya, ym, yv;
  h.build({Shape{2, 3}, Shape{2, 3}, Shape{2, 3}},
          [&](const Scope& s, const std::vector<Output>& x) {
            yc = cat(s, x);
            ya = add(s, x);
            ym = mul(s, x);
            yv = avg(s, x);
            return ops::concat(s, {ya, ym, yv, yc}, 1);
          },
          cat);
  const std::vector<Tensor> r = h.sess->run(h.feeds(), {yc, ya, ym, yv});
  ASSERT_EQ(r[0].shape(), Shape({2, 9}));
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i) {
      const double a = at(h.x_values[0], {n, i}), b = at(h.x_values[1], {n, i}), c = at(h.x_values[2], {n, i});
      EXPECT_EQ(at(r[0], {n, 3 + i}), b);
      EXPECT_NEAR(at(r[1], {n, i}), a + b + c, 1e-12);
      EXPECT_NEAR(at(r[2], {n, i}), a * b * c, 1e-12);
      EXPECT_NEAR(at(r[3], {n, i}), (a + b + c) / 3, 1e-12);
    }
  h.check_gradients();
  EXPECT_THROW(add(h.root, std::vector<Output>{h.xs[0]}), InvalidArgument);
}

TEST(LayersExt, TimeDistributedDense) {
  auto dense = std::make_shared<layers::Dense>(2);
  layers::TimeDistributed td(dense);
  Harness h;
  h.build({Shape{2, 3, 4}}, [&](const Scope& s, const std::vector<Output>& x) { return one(td, s, x); }, td);
  ASSERT_EQ(td.weights().size(), 2u);
  const Tensor y = h.forward();
  ASSERT_EQ(y.shape(), Shape({2, 3, 2}));
  std::vector<double> ref;
  for (int n = 0; n < 2; ++n)
    for (int t = 0; t < 3; ++t)
      for (int u = 0; u < 2; ++u) {
        double v = h.weights[1].data<double>()[u];
        for (int f = 0; f < 4; ++f) v += at(h.x_values[0], {n, t, f}) * at(h.weights[0], {f, u});
        ref.push_back(v);
      }
  expect_all_near(y, ref);
  h.check_gradients();
}

TEST(LayersExt, InSequentialModelSummary) {
  models::Sequential model({layers::Conv1D(4, 3, 1, Padding::same, Activation::relu),
                            layers::LayerNormalization(),
                            layers::TimeDistributed(std::make_shared<layers::Dense>(2)),
                            layers::Flatten(), layers::Dense(1)});
  model.build({6, 3});
  const std::string s = model.summary_string();
  EXPECT_NE(s.find("conv1d (Conv1D)"), std::string::npos) << s;
  EXPECT_NE(s.find("time_distributed (TimeDistri (None, 6, 2)"), std::string::npos) << s;  // cut as Keras cuts
  EXPECT_EQ(s.find("time_distributed/dense"), std::string::npos) << s;  // no row of its own
  // 3*3*4+4 + 8 + 4*2+2 + 12+1
  EXPECT_EQ(model.count_params(), 40 + 8 + 10 + 13);
}
