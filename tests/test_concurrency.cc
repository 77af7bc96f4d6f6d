// Concurrency stress tests (issue 6): one session from many threads, several models from
// several threads, concurrent training on one session. Every inference result must be
// bit-identical to the same run done alone, on one thread, before any concurrency.
// Also built under ThreadSanitizer by .ci/run.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <atomic>
#include <cmath>
#include <random>
#include <thread>

namespace sluice {
namespace {

Tensor random_input(const Shape& shape, uint32_t seed) {
  Tensor t(DType::f32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// A model: a graph, an initialised session, its input and output, and feeds to try.
struct Model {
  Graph graph;
  std::unique_ptr<Session> session;
  Output input, output;
  std::vector<Tensor> feeds;
  std::vector<Tensor> alone;  // outputs computed one by one before any concurrency

  void finish(int num_feeds, const Shape& feed_shape, uint32_t seed) {
    session = std::make_unique<Session>(graph);
    session->run({}, {}, {ops::global_variables_initializer(Scope(graph))});
    for (int i = 0; i < num_feeds; ++i) feeds.push_back(random_input(feed_shape, seed + i));
    for (const Tensor& f : feeds) alone.push_back(session->run({{input, f}}, {output})[0]);
  }
  bool matches(int i) const { return session->run({{input, feeds[i]}}, {output})[0].equals(alone[i]); }
};

std::unique_ptr<Model> mlp_model(int64_t seed) {
  auto m = std::make_unique<Model>();
  m->graph.set_random_seed(seed);
  Scope root(m->graph);
  m->input = ops::placeholder(root.named("x"), DType::f32, {-1, 64});
  layers::Dense h(32, Activation::relu), out(10, Activation::softmax);
  layers::Dropout drop(0.5);  // inference: identity (learning phase not fed)
  m->output = out(root, drop(root, h(root, m->input)));
  m->finish(16, {8, 64}, 100);
  return m;
}

std::unique_ptr<Model> cnn_model(int64_t seed) {
  auto m = std::make_unique<Model>();
  m->graph.set_random_seed(seed);
  Scope root(m->graph);
  m->input = ops::placeholder(root.named("x"), DType::f32, {-1, 12, 12, 3});
  layers::Conv2D conv(8, {3, 3}, {1, 1}, Padding::same, Activation::relu);
  layers::BatchNormalization bn;
  layers::MaxPooling2D pool;
  layers::Flatten flat;
  layers::Dense out(5, Activation::softmax);
  m->output = out(root, flat(root, pool(root, bn(root, conv(root, m->input)))));
  m->finish(8, {4, 12, 12, 3}, 200);
  return m;
}

std::unique_ptr<Model> lstm_model(int64_t seed) {
  auto m = std::make_unique<Model>();
  m->graph.set_random_seed(seed);
  Scope root(m->graph);
  m->input = ops::placeholder(root.named("x"), DType::f32, {-1, 6, 5});
  layers::LSTM lstm(7);
  layers::Dense out(3);
  m->output = out(root, lstm(root, m->input));
  m->finish(8, {4, 6, 5}, 300);
  return m;
}

TEST(Concurrency, OneSessionFromEightThreadsThousandRunsEach) {
  auto m = mlp_model(1);
  std::atomic<int> wrong{0}, runs{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 1000; ++i) {
        if (!m->matches(static_cast<int>(rng() % m->feeds.size()))) ++wrong;
        ++runs;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(runs.load(), 8000);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Concurrency, FourModelsFromFourThreadsAtOnce) {
  std::vector<std::unique_ptr<Model>> models;
  models.push_back(mlp_model(1));
  models.push_back(mlp_model(2));  // same architecture and names, other weights
  models.push_back(cnn_model(3));
  models.push_back(lstm_model(4));
  EXPECT_FALSE(models[0]->alone[0].equals(models[1]->alone[0]));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 150; ++i) {
        // Each thread mostly serves "its" model but also the others: sessions are shared.
        const size_t which = rng() % 4 == 0 ? rng() % 4 : static_cast<size_t>(t);
        const Model& m = *models[which];
        if (!m.matches(static_cast<int>(rng() % m.feeds.size()))) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Concurrency, SessionsWithTheirOwnPoolsAndTheSharedPool) {
  // Two sessions of one graph, one on the process-wide pool and one with a private pool,
  // run at once: same answers.
  Graph g;
  g.set_random_seed(9);
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 256});
  layers::Dense d(512, Activation::tanh);
  Output y = ops::sum(root, d(root, x), {1});
  Session shared(g), own(g, SessionOptions{2});
  shared.run({}, {}, {ops::global_variables_initializer(root)});
  for (const Operation& v : g.global_variables()) own.set_variable_value(v.name(), shared.variable_value(v.name()));
  const Tensor in = random_input({64, 256}, 5);
  const Tensor want = shared.run({{x, in}}, {y})[0];
  std::atomic<int> wrong{0};
  std::thread a([&] {
    for (int i = 0; i < 100; ++i)
      if (!shared.run({{x, in}}, {y})[0].equals(want)) ++wrong;
  });
  std::thread b([&] {
    for (int i = 0; i < 100; ++i)
      if (!own.run({{x, in}}, {y})[0].equals(want)) ++wrong;
  });
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Concurrent training on one session: each optimizer update locks the variables it writes
// (TensorFlow's use_locking=True), so every step is applied whole; steps from different
// threads interleave in some order. Nothing crashes or tears, and Adam's step counter counts
// every step exactly once.
TEST(Concurrency, ConcurrentTrainingOnOneSession) {
  Graph g;
  g.set_random_seed(11);
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 16});
  Output y = ops::placeholder(root.named("y"), DType::f32, {-1, 1});
  layers::Dense h(32, Activation::relu), out(1);
  Output loss = ops::mean(root, losses::mean_squared_error(root, y, out(root, h(root, x))));
  optimizers::Adam adam(0.01);
  Operation train = adam.minimize(root, loss);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  // Target: y = sum(x) / 4.
  auto batch = [](uint32_t seed) {
    Tensor xb = random_input({32, 16}, seed), yb(DType::f32, {32, 1});
    for (int i = 0; i < 32; ++i) {
      float s = 0;
      for (int j = 0; j < 16; ++j) s += xb.data<float>()[i * 16 + j];
      yb.data<float>()[i] = s / 4;
    }
    return std::make_pair(xb, yb);
  };
  const auto [x0, y0] = batch(999);
  const float before = sess.run({{x, x0}, {y, y0}}, {loss})[0].scalar<float>();
  std::vector<std::thread> threads;
  constexpr int kThreads = 4, kSteps = 150;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSteps; ++i) {
        const auto [xb, yb] = batch(static_cast<uint32_t>(t * 1000 + i));
        sess.run({{x, xb}, {y, yb}}, {}, {train});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sess.variable_value("Adam/iterations").scalar<int64_t>(), kThreads * kSteps);
  const float after = sess.run({{x, x0}, {y, y0}}, {loss})[0].scalar<float>();
  EXPECT_TRUE(std::isfinite(after));
  EXPECT_LT(after, 0.5f * before) << "before " << before;
  for (const Operation& v : g.trainable_variables())
    for (float w : sess.variable_value(v.name()).to_vector<float>()) ASSERT_TRUE(std::isfinite(w));
}

}  // namespace
}  // namespace sluice
