// models::Model / Sequential: fit against the hand-written loop, summary, predict,
// evaluate, class weights, gradient clipping, functional models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "runtime/sluice.h"
#include "test_util.h"

using namespace sluice;

namespace {

std::string fashion_dir() {
  const char* env = std::getenv("SLUICE_DATA");
  return env ? env : io::kDefaultFashionMnistDir;
}

bool have_fashion() {
  return std::filesystem::exists(fashion_dir() + "/train-images-idx3-ubyte.gz") ||
         std::filesystem::exists(fashion_dir() + "/train-images-idx3-ubyte");
}

using sluice::testing::same_bits;

using sluice::testing::random_tensor;

// One-hot labels of a linear rule on x (a learnable 3-class task).
Tensor rule_labels(const Tensor& x) {
  const int64_t n = x.dim(0), f = x.dim(1);
  Tensor y(DType::f32, Shape{n, 3});
  std::memset(y.raw_data(), 0, y.num_bytes());
  for (int64_t i = 0; i < n; ++i) {
    const float* r = x.data<float>() + i * f;
    const float s = r[0] + 0.5f * r[1] - r[2];
    y.data<float>()[i * 3 + (s < -0.3f ? 0 : s < 0.3f ? 1 : 2)] = 1;
  }
  return y;
}

// fit() against the loop every example writes by hand (mnist_cnn.cpp): same weights,
// same batches, Adam, learning phase true, batch-norm updates through minimize().
void check_fit_matches_hand_loop(bool shuffle) {
  if (!have_fashion()) GTEST_SKIP() << "Fashion-MNIST not found in " << fashion_dir();
  const io::MnistData data = io::load_mnist(fashion_dir());
  const int64_t n = 1000, batch = 128;  // 7 full batches and a partial one of 104
  const Tensor x = io::slice_rows(io::scale_images(data.train_images, {784}), 0, n);
  const Tensor y = io::slice_rows(io::one_hot_labels(data.train_labels, 10), 0, n);

  models::Sequential model({layers::Dense(64, Activation::relu), layers::BatchNormalization(),
                            layers::Dense(10, Activation::softmax)});
  model.build({784});
  model.compile(models::adam(0.002), "categorical_crossentropy", {"accuracy"});
  const std::vector<Tensor> initial = model.get_weights();
  models::FitOptions opt;
  opt.batch_size = batch;
  opt.epochs = 2;
  opt.shuffle = shuffle;
  opt.seed = 7;
  opt.verbose = 0;
  const models::History h = model.fit(x, y, opt);

  // The hand-written loop.
  Graph g;
  Scope root(g);
  Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 784});
  Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
  layers::Dense d1(64, Activation::relu), d2(10, Activation::softmax);
  layers::BatchNormalization bn;
  Output preds = d2(root, bn(root, d1(root, img)));
  Output loss = ops::mean(root, losses::categorical_crossentropy(root, labels, preds));
  Output acc = metrics::accuracy(root, labels, preds);
  optimizers::Adam adam(0.002);
  Operation train = adam.minimize(root, loss);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  d1.set_weights(sess, {initial[0], initial[1]});
  bn.set_weights(sess, {initial[2], initial[3], initial[4], initial[5]});
  d2.set_weights(sess, {initial[6], initial[7]});
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(7);
  for (int epoch = 0; epoch < 2; ++epoch) {
    if (shuffle) std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0, correct = 0;
    for (int64_t b = 0; b < n; b += batch) {
      const int64_t e = std::min(n, b + batch);
      auto r = sess.run({{img, io::gather_rows(x, order, b, e)},
                         {labels, io::gather_rows(y, order, b, e)},
                         {learning_phase(g), Tensor(true)}},
                        {loss, acc}, {train});
      loss_sum += static_cast<double>(r[0].scalar<float>()) * static_cast<double>(e - b);
      correct += static_cast<double>(r[1].scalar<float>() * static_cast<float>(e - b));
    }
    EXPECT_EQ(h.history.at("loss")[epoch], loss_sum / n) << "epoch " << epoch;
    EXPECT_NEAR(h.history.at("accuracy")[epoch], correct / n, 1e-6) << "epoch " << epoch;
  }
  const std::vector<Tensor> mine = model.get_weights();
  std::vector<Tensor> theirs = d1.get_weights(sess);
  for (const auto& t : bn.get_weights(sess)) theirs.push_back(t);
  for (const auto& t : d2.get_weights(sess)) theirs.push_back(t);
  ASSERT_EQ(mine.size(), theirs.size());
  for (size_t i = 0; i < mine.size(); ++i) EXPECT_TRUE(same_bits(mine[i], theirs[i])) << "weight " << i;
  // The moving statistics moved (the update ops ran) and the loss fell.
  EXPECT_FALSE(same_bits(mine[4], initial[4]));
  EXPECT_LT(h.history.at("loss")[1], h.history.at("loss")[0]);
}

}  // namespace

TEST(Models, FitReproducesHandWrittenLoopBitIdentically) { check_fit_matches_hand_loop(false); }
TEST(Models, FitWithShuffleSeedReproducesHandWrittenLoop) { check_fit_matches_hand_loop(true); }

TEST(Models, SummaryMatchesCheckedInTable) {
  models::Sequential model({layers::Conv2D(32, {3, 3}, {1, 1}, Padding::valid, Activation::relu),
                            layers::Conv2D(64, {3, 3}, {1, 1}, Padding::valid, Activation::relu),
                            layers::MaxPooling2D({2, 2}), layers::Dropout(0.25), layers::Flatten(),
                            layers::Dense(128, Activation::relu), layers::Dropout(0.5),
                            layers::Dense(10, Activation::softmax)});
  model.build({28, 28, 1});
  std::ifstream f(std::string(SLUICE_SOURCE_DIR) + "/tests/data/keras_cnn_summary.txt");
  ASSERT_TRUE(f.good());
  std::stringstream expected;
  expected << f.rdbuf();
  EXPECT_EQ(model.summary_string(), expected.str());
  EXPECT_EQ(model.count_params(), 1199882);  // Keras' mnist_cnn
}

TEST(Models, SummaryCountsNonTrainableAndRejectsUnbuilt) {
  models::Sequential model({layers::Dense(4), layers::BatchNormalization()});
  EXPECT_THROW(model.summary_string(), FailedPrecondition);
  model.build({3});
  const std::string s = model.summary_string();
  EXPECT_NE(s.find("Total params: 32"), std::string::npos) << s;  // 16 + 4 * 4
  EXPECT_NE(s.find("Trainable params: 24"), std::string::npos) << s;
  EXPECT_NE(s.find("Non-trainable params: 8"), std::string::npos) << s;
  EXPECT_THROW(model.add(layers::Dense(2)), FailedPrecondition);
}

TEST(Models, SummaryNamesReLULayersAsKerasDoes) {
  // Keras' snake-case name "re_lu" must come back as the class name ReLU, not "ReLu".
  models::Sequential model({layers::Dense(4), layers::ReLU()});
  model.build({3});
  const std::string s = model.summary_string();
  EXPECT_NE(s.find("re_lu (ReLU)"), std::string::npos) << s;
  EXPECT_EQ(s.find("ReLu"), std::string::npos) << s;
}

TEST(Models, FunctionalModelWithTwoInputsAndSharedLayer) {
  Graph g;
  Scope root(g);
  Output a = ops::placeholder(root.named("a"), DType::f32, {-1, 3});
  Output b = ops::placeholder(root.named("b"), DType::f32, {-1, 3});
  layers::Dense shared(4, Activation::tanh, true, "shared");
  layers::Dense head(3, Activation::softmax, true, "head");
  Output merged = ops::concat(root, {shared(root, a), shared(root, b)}, 1);
  Output out = head(root, merged);
  models::Model model({a, b}, {out}, "two_inputs");
  const std::string s = model.summary_string();
  EXPECT_NE(s.find("a (InputLayer)"), std::string::npos) << s;
  EXPECT_NE(s.find("shared (Dense)"), std::string::npos) << s;
  EXPECT_NE(s.find("Connected to"), std::string::npos) << s;
  EXPECT_NE(s.find("b[0][0]"), std::string::npos) << s;
  EXPECT_NE(s.find("Total params: 43"), std::string::npos) << s;  // 16 + 27
  ASSERT_EQ(model.layers().size(), 4u);
  EXPECT_EQ(model.layers()[3].inbound, std::vector<std::string>{"shared"});

  model.compile(models::adam(0.05), "categorical_crossentropy", {"accuracy"});
  const Tensor xa = random_tensor({256, 3}, 1), xb = random_tensor({256, 3}, 2);
  const Tensor y = rule_labels(xa);
  models::FitOptions opt;
  opt.epochs = 15;
  opt.verbose = 0;
  opt.batch_size = 32;
  const models::History h = model.fit({xa, xb}, {y}, opt);
  EXPECT_EQ(h.epoch.size(), 15u);
  EXPECT_GT(h.history.at("accuracy").back(), 0.85);
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());
  const std::vector<Tensor> p = model.predict({xa, xb}, 50);
  EXPECT_EQ(p[0].shape(), Shape({256, 3}));
}

TEST(Models, PredictBatchesWithPartialLastBatch) {
  models::Sequential model({layers::Dense(5, Activation::relu), layers::Dense(2)});
  const Tensor x = random_tensor({23, 4}, 3);
  const Tensor all = model.predict(x, 100);  // builds from the data
  const Tensor batched = model.predict(x, 7);  // 7, 7, 7, 2
  EXPECT_EQ(batched.shape(), Shape({23, 2}));
  const Tensor direct =
      model.session().run({{model.inputs()[0], x}}, {model.outputs()[0]})[0];
  EXPECT_TRUE(same_bits(all, direct));
  for (int64_t i = 0; i < 46; ++i)
    EXPECT_NEAR(batched.data<float>()[i], direct.data<float>()[i], 1e-6f);
  EXPECT_THROW(model.predict(x, 0), InvalidArgument);
  EXPECT_THROW(model.predict(random_tensor({3, 5}, 1), 2), InvalidArgument);
}

TEST(Models, EvaluateAndTestOnBatchMatchHandComputation) {
  models::Sequential model({layers::Dense(3, Activation::softmax)});
  model.build({4});
  model.compile(models::sgd(0.1), "categorical_crossentropy", {"accuracy", "top_k_categorical_accuracy"});
  const Tensor x = random_tensor({10, 4}, 5);
  const Tensor y = rule_labels(x);
  const Tensor p = model.predict(x);
  double ce = 0, correct = 0;
  for (int i = 0; i < 10; ++i) {
    int best = 0, truth = 0;
    for (int c = 0; c < 3; ++c) {
      if (p.data<float>()[i * 3 + c] > p.data<float>()[i * 3 + best]) best = c;
      if (y.data<float>()[i * 3 + c] == 1) truth = c;
    }
    ce -= std::log(static_cast<double>(p.data<float>()[i * 3 + truth]));
    correct += best == truth;
  }
  models::EvaluateOptions eo;
  eo.batch_size = 3;  // 3, 3, 3, 1: running means weighted by batch size
  const models::Logs l = model.evaluate(x, y, eo);
  EXPECT_NEAR(l.at("loss"), ce / 10, 1e-5);
  EXPECT_NEAR(l.at("accuracy"), correct / 10, 1e-7);
  EXPECT_NEAR(l.at("top_k_categorical_accuracy"), 1.0, 1e-7);  // 3 classes, k = 5
  const models::Logs t = model.test_on_batch({x}, {y});
  EXPECT_NEAR(t.at("loss"), ce / 10, 1e-5);
  EXPECT_EQ(model.metrics_names(),
            (std::vector<std::string>{"loss", "accuracy", "top_k_categorical_accuracy"}));
  // A train step changes the weights; evaluating does not.
  const std::vector<Tensor> w0 = model.get_weights();
  model.evaluate(x, y);
  EXPECT_TRUE(same_bits(w0[0], model.get_weights()[0]));
  model.train_on_batch({x}, {y});
  EXPECT_FALSE(same_bits(w0[0], model.get_weights()[0]));
  EXPECT_EQ(model.iterations(), 1);
}

// A sequence output [N, T, F] (TimeDistributed at the end): mse and mae are the means over all
// N T F values, as Keras gives them.
TEST(Models, SequenceOutputLossIsTheMeanOverAllSteps) {
  for (const char* loss : {"mse", "mae"}) {
    models::Sequential model({layers::TimeDistributed(std::make_shared<layers::Dense>(2))});
    model.build({3, 4});
    model.compile(models::sgd(0.1), loss);
    const Tensor x = random_tensor({5, 3, 4}, 7), y = random_tensor({5, 3, 2}, 8);
    const Tensor p = model.predict(x);
    double want = 0;
    for (int64_t i = 0; i < p.num_elements(); ++i) {
      const double d = p.data<float>()[i] - y.data<float>()[i];
      want += (loss[1] == 's' ? d * d : std::fabs(d)) / static_cast<double>(p.num_elements());
    }
    EXPECT_NEAR(model.test_on_batch({x}, {y}).at("loss"), want, 1e-6) << loss;
  }
}

TEST(Models, ClassWeightsScaleTheLoss) {
  models::Sequential model({layers::Dense(3, Activation::softmax)});
  model.build({4});
  model.compile(models::sgd(0.0001), "sparse_categorical_crossentropy", {"accuracy"});
  const Tensor x = random_tensor({6, 4}, 9);
  Tensor ids(DType::i32, Shape{6});
  for (int i = 0; i < 6; ++i) ids.data<int32_t>()[i] = i % 3;
  const Tensor p = model.predict(x);
  const std::map<int64_t, double> cw = {{0, 1.0}, {1, 2.0}, {2, 0.5}};
  double expected = 0;
  for (int i = 0; i < 6; ++i)
    expected -= cw.at(i % 3) * std::log(static_cast<double>(p.data<float>()[i * 3 + i % 3]));
  const models::Logs l = model.train_on_batch({x}, {ids}, cw);  // the loss before the step
  EXPECT_NEAR(l.at("loss"), expected / 6, 1e-5);
}

TEST(Models, GradientClippingMatchesHandComputation) {
  // y = x w (no bias), mse: grad = 2/N x^T (x w - y); SGD lr 1: w1 = w0 - clip(grad).
  const Tensor x = random_tensor({8, 3}, 11), y = random_tensor({8, 1}, 12, 3, 5);
  for (int mode = 0; mode < 3; ++mode) {
    models::Sequential model({layers::Dense(1, Activation::linear, false)});
    model.build({3});
    models::OptimizerConfig o = models::sgd(1.0);
    if (mode == 0) o.clipvalue = 0.5;
    if (mode == 1) o.clipnorm = 0.7;
    if (mode == 2) o.global_clipnorm = 0.3;
    model.compile(o, "mse");
    const Tensor w0 = model.get_weights()[0];
    double grad[3] = {0, 0, 0};
    for (int i = 0; i < 8; ++i) {
      double pred = 0;
      for (int j = 0; j < 3; ++j) pred += x.data<float>()[i * 3 + j] * w0.data<float>()[j];
      for (int j = 0; j < 3; ++j)
        grad[j] += 2.0 / 8 * (pred - y.data<float>()[i]) * x.data<float>()[i * 3 + j];
    }
    const double norm = std::sqrt(grad[0] * grad[0] + grad[1] * grad[1] + grad[2] * grad[2]);
    model.train_on_batch({x}, {y});
    const Tensor w1 = model.get_weights()[0];
    for (int j = 0; j < 3; ++j) {
      double g = grad[j];
      if (mode == 0) g = std::max(-0.5, std::min(0.5, g));
      if (mode == 1) g = g * 0.7 / std::max(norm, 0.7);
      if (mode == 2) g = g * 0.3 / std::max(norm, 0.3);
      EXPECT_NEAR(w1.data<float>()[j], w0.data<float>()[j] - g, 2e-5) << "mode " << mode << " j " << j;
    }
  }
}

TEST(Models, CompileRejectsBadArguments) {
  models::Sequential model({layers::Dense(2)});
  EXPECT_THROW(model.compile(models::adam(), "mse"), FailedPrecondition);  // not built
  model.build({2});
  EXPECT_THROW(model.compile(models::adam(), "hinge_loss"), InvalidArgument);
  EXPECT_THROW(model.compile(models::adam(), "mse", {"nonsense"}), InvalidArgument);
  EXPECT_THROW(model.compile(models::adam(-1), "mse"), InvalidArgument);
  EXPECT_THROW(model.fit(random_tensor({4, 2}, 1), random_tensor({4, 2}, 2)), FailedPrecondition);
  model.compile(models::adam(), "mse", {"mae"});
  EXPECT_THROW(model.compile(models::adam(), "mse"), FailedPrecondition);
  models::FitOptions bad;
  bad.batch_size = 0;
  EXPECT_THROW(model.fit(random_tensor({4, 2}, 1), random_tensor({4, 2}, 2), bad), InvalidArgument);
  EXPECT_THROW(model.fit(random_tensor({4, 2}, 1), random_tensor({5, 2}, 2)), InvalidArgument);
}

TEST(Models, LearningRateSchedulesFollowKerasFormulas) {
  const double lr0 = 0.1;
  struct Case {
    models::LearningRateSchedule s;
    std::function<double(int64_t)> f;
  };
  const double pi = std::acos(-1.0);
  std::vector<Case> cases = {
      {models::exponential_decay(3, 0.5), [&](int64_t k) { return lr0 * std::pow(0.5, k / 3.0); }},
      {models::exponential_decay(3, 0.5, true), [&](int64_t k) { return lr0 * std::pow(0.5, k / 3); }},
      {models::piecewise_constant_decay({2, 5}, {0.1, 0.05, 0.01}),
       [](int64_t k) { return k <= 2 ? 0.1 : k <= 5 ? 0.05 : 0.01; }},
      {models::polynomial_decay(4, 0.02, 2.0),
       [&](int64_t k) { return (lr0 - 0.02) * std::pow(1 - std::min<int64_t>(k, 4) / 4.0, 2) + 0.02; }},
      {models::cosine_decay(5, 0.1, 0.3, 2),
       [&](int64_t k) {
         if (k < 2) return lr0 + (0.3 - lr0) * k / 2.0;
         const double t = std::min<int64_t>(k - 2, 5);
         return 0.3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(pi * t / 5)));
       }},
  };
  const Tensor x = random_tensor({4, 3}, 1), y = rule_labels(x);
  for (size_t i = 0; i < cases.size(); ++i) {
    models::Sequential model({layers::Dense(3, Activation::softmax)});
    model.build({3});
    models::OptimizerConfig o = models::sgd(lr0);
    o.schedule = cases[i].s;
    model.compile(o, "categorical_crossentropy");
    for (int64_t k = 0; k < 9; ++k) {
      EXPECT_NEAR(model.current_learning_rate(), cases[i].f(k), 1e-6) << "case " << i << " step " << k;
      model.train_on_batch({x}, {y});
    }
    EXPECT_NEAR(model.learning_rate(), lr0, 1e-7);
  }
  models::Sequential bad({layers::Dense(1)});
  bad.build({1});
  models::OptimizerConfig o = models::sgd(0.1);
  o.schedule = models::piecewise_constant_decay({2}, {0.1});
  EXPECT_THROW(bad.compile(o, "mse"), InvalidArgument);
}

TEST(Models, ScheduledRateDrivesTheUpdate) {
  // One SGD step on mse of Dense(1, no bias): w1 = w0 - rate * grad; rate from the schedule.
  const Tensor x = random_tensor({4, 2}, 3), y = random_tensor({4, 1}, 4);
  models::Sequential a({layers::Dense(1, Activation::linear, false)}), b({layers::Dense(1, Activation::linear, false)});
  a.build({2});
  b.build({2});
  b.set_weights(a.get_weights());
  models::OptimizerConfig oa = models::sgd(0.1), ob = models::sgd(0.1);
  ob.schedule = models::piecewise_constant_decay({100}, {0.025, 0.0});  // a quarter of the rate
  a.compile(oa, "mse");
  b.compile(ob, "mse");
  const Tensor w0 = a.get_weights()[0];
  a.train_on_batch({x}, {y});
  b.train_on_batch({x}, {y});
  const Tensor wa = a.get_weights()[0], wb = b.get_weights()[0];
  for (int j = 0; j < 2; ++j) {
    const double da = wa.data<float>()[j] - w0.data<float>()[j], db = wb.data<float>()[j] - w0.data<float>()[j];
    EXPECT_NEAR(db, da / 4, 1e-6);
  }
}
