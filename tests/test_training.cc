// Layers, optimizers, losses and metrics; and a real training run on a slice of the data.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <cstdlib>

namespace sluice {
namespace {

TEST(Layers, DenseNamesWeightsAfterScopeAndLayer) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 5});
  layers::Dense a(3), b(4, Activation::relu, true, "mylayer"), c(2);
  Output h = a(root.sub("block1"), x);
  h = b(root.sub("block1"), h);
  h = c(root, h);
  EXPECT_EQ(a.name(), "block1/dense");
  EXPECT_EQ(b.name(), "block1/mylayer");
  EXPECT_EQ(c.name(), "dense");
  ASSERT_EQ(a.trainable_weights().size(), 2u);
  EXPECT_EQ(a.trainable_weights()[0].name(), "block1/dense/kernel");
  EXPECT_EQ(a.trainable_weights()[1].name(), "block1/dense/bias");
  EXPECT_EQ(b.weights()[0].name(), "block1/mylayer/kernel");
  EXPECT_EQ(h.shape(), (Shape{-1, 2}));
  layers::Dense d(3);
  d(root, x);
  EXPECT_EQ(d.name(), "dense_1");
  layers::Dense dup(3, Activation::linear, true, "mylayer");
  EXPECT_THROW(dup(root.sub("block1"), x), AlreadyExists);
  layers::Dense bad(3);
  EXPECT_THROW(bad(root, ops::placeholder(root, DType::f32, {-1, -1})), InvalidArgument);
  EXPECT_THROW(a(root, ops::placeholder(root, DType::f32, {-1, 7})), InvalidArgument);
}

TEST(Layers, CallingTwiceSharesWeightsAndSumsGradients) {
  Graph g;
  Scope root(g);
  Output x1 = ops::placeholder(root.named("x1"), DType::f64, {-1, 2});
  Output x2 = ops::placeholder(root.named("x2"), DType::f64, {-1, 2});
  layers::Dense shared(1, Activation::linear, false, "", Initializer::constant(Tensor{{2.0}, {3.0}}));
  Output y1 = shared(root, x1), y2 = shared(root, x2);
  EXPECT_EQ(g.trainable_variables().size(), 1u);
  Output loss = ops::add(root, ops::sum(root, y1), ops::sum(root, y2));
  Output dk = gradients(root, {loss}, {shared.kernel()})[0];
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  auto r = sess.run({{x1, Tensor{{1.0, 10.0}}}, {x2, Tensor{{100.0, 1000.0}}}}, {y1, y2, dk});
  EXPECT_EQ(r[0].scalar<double>(), 32.0);
  EXPECT_EQ(r[1].scalar<double>(), 3200.0);
  EXPECT_EQ(r[2].to_vector<double>(), (std::vector<double>{101.0, 1010.0}));  // both paths summed
}

TEST(Layers, DenseOnRank3AndFlatten) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {-1, 3, 4});
  layers::Dense d(2, Activation::linear, true, "", Initializer::ones());
  layers::Flatten f;
  Output y = d(root, x);
  Output z = f(root, x);
  EXPECT_EQ(y.shape(), (Shape{-1, 3, 2}));
  EXPECT_EQ(z.shape(), (Shape{-1, 12}));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  Tensor in = Tensor::ones(DType::f32, {2, 3, 4});
  auto r = sess.run({{x, in}}, {y, z});
  EXPECT_EQ(r[0].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(r[0].at<float>({1, 2, 1}), 4.0f);
  EXPECT_EQ(r[1].shape(), (Shape{2, 12}));
}

TEST(Layers, DropoutFollowsTheLearningPhase) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root, DType::f32, {-1, 100});
  layers::Dropout drop(0.5, 42);
  Output y = drop(root, x);
  Session sess(g);
  Tensor in = Tensor::ones(DType::f32, {4, 100});
  EXPECT_TRUE(sess.run({{x, in}}, {y})[0].equals(in));  // default: inference, identity
  Tensor t = sess.run({{x, in}, {learning_phase(g), Tensor(true)}}, {y})[0];
  int zeros = 0;
  for (float v : t.to_vector<float>()) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f);
    zeros += v == 0.0f;
  }
  EXPECT_GT(zeros, 150);
  EXPECT_LT(zeros, 250);
}

// One step of each optimizer on loss = sum(w * g) (so dL/dw = g exactly), checked
// against the update rule computed by hand.
struct StepFixture {
  Graph g;
  Scope root{g};
  Output w, loss;
  Tensor grad = Tensor({0.5f, -1.0f});
  StepFixture() {
    w = ops::variable(root.named("w"), {2}, DType::f32, Initializer::constant(Tensor({1.0f, 2.0f})));
    loss = ops::sum(root, ops::mul(root, w, ops::constant(root, grad)));
  }
  std::vector<float> run_steps(optimizers::Optimizer& opt, int steps) {
    Operation train = opt.minimize(root, loss);
    Session sess(g);
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    for (int i = 0; i < steps; ++i) sess.run({}, {}, {train});
    return sess.run({}, {w})[0].to_vector<float>();
  }
};

TEST(Optimizers, SgdMomentumNesterovAdamRmspropFollowTheirRules) {
  {
    StepFixture f;
    optimizers::SGD sgd(0.1);
    auto w = f.run_steps(sgd, 2);
    EXPECT_NEAR(w[0], 1.0 - 2 * 0.1 * 0.5, 1e-6);
    EXPECT_NEAR(w[1], 2.0 + 2 * 0.1, 1e-6);
  }
  {
    StepFixture f;
    optimizers::SGD mom(0.1, 0.9);
    auto w = f.run_steps(mom, 2);
    // accum: g, then 0.9 g + g = 1.9 g; w -= 0.1 (g + 1.9 g) = 0.29 g
    EXPECT_NEAR(w[0], 1.0 - 0.29 * 0.5, 1e-6);
    EXPECT_NEAR(w[1], 2.0 + 0.29, 1e-6);
  }
  {
    StepFixture f;
    optimizers::SGD nes(0.1, 0.9, true);
    auto w = f.run_steps(nes, 1);
    // accum = g; w -= 0.1 (g + 0.9 g) = 0.19 g
    EXPECT_NEAR(w[0], 1.0 - 0.19 * 0.5, 1e-6);
  }
  {
    StepFixture f;
    optimizers::Adam adam(0.01);
    auto w = f.run_steps(adam, 3);
    // With a constant gradient, bias-corrected m/sqrt(v) = sign(g) (up to epsilon) each step.
    EXPECT_NEAR(w[0], 1.0 - 3 * 0.01, 1e-5);
    EXPECT_NEAR(w[1], 2.0 + 3 * 0.01, 1e-5);
  }
  {
    StepFixture f;
    optimizers::RMSprop rms(0.01);
    auto w = f.run_steps(rms, 1);
    // ms = 0.1 g^2; w -= 0.01 g / sqrt(0.1 g^2) = 0.01 sign(g) / sqrt(0.1)
    EXPECT_NEAR(w[0], 1.0 - 0.01 / std::sqrt(0.1), 1e-5);
  }
}

TEST(Optimizers, LearningRateCanBeFed) {
  StepFixture f;
  Output lr = ops::placeholder(f.root.named("lr"), DType::f32, {});
  optimizers::SGD sgd(lr);
  Operation train = sgd.minimize(f.root, f.loss);
  Session sess(f.g);
  sess.run({}, {}, {ops::global_variables_initializer(f.root)});
  sess.run({{lr, Tensor(1.0f)}}, {}, {train});
  sess.run({{lr, Tensor(0.0f)}}, {}, {train});
  EXPECT_NEAR(sess.run({}, {f.w})[0].to_vector<float>()[0], 0.5, 1e-6);
  EXPECT_THROW(sess.run({}, {}, {train}), InvalidArgument);  // lr not fed
}

TEST(Optimizers, NoGradientIsAClearError) {
  Graph g;
  Scope root(g);
  ops::variable(root.named("w"), {2}, DType::f32);
  Output unrelated = ops::sum(root, ops::constant(root, Tensor({1.0f})));
  optimizers::SGD sgd(0.1);
  try {
    sgd.minimize(root, unrelated);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("No gradients provided for any variable"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("w"), std::string::npos);
  }
}

TEST(Losses, ValuesMatchKeras) {
  Graph g;
  Scope root(g);
  Output t = ops::constant(root, Tensor{{0.0f, 1.0f, 0.0f}, {1.0f, 0.0f, 0.0f}});
  Output p = ops::constant(root, Tensor{{0.2f, 0.7f, 0.1f}, {0.0f, 0.5f, 0.5f}});
  Output cce = losses::categorical_crossentropy(root, t, p);
  Output logits = ops::constant(root, Tensor{{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 0.0f}});
  Output cce_logits = losses::categorical_crossentropy(root, t, logits, true);
  Output cce_softmax = losses::categorical_crossentropy(root, t, ops::softmax(root, logits));
  Output sparse = losses::sparse_categorical_crossentropy(root, ops::constant(root, Tensor({1, 0})), logits, true);
  Output mse = losses::mean_squared_error(root, t, p);
  Output acc = metrics::accuracy(root, t, p);
  Output sacc = metrics::sparse_accuracy(root, ops::constant(root, Tensor({1, 2})), p);
  Session sess(g);
  auto r = sess.run({}, {cce, cce_logits, cce_softmax, sparse, mse, acc, sacc});
  EXPECT_NEAR(r[0].at<float>({0}), -std::log(0.7), 1e-6);
  EXPECT_NEAR(r[0].at<float>({1}), -std::log(1e-7), 1e-3);  // clipped, as Keras
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(r[1].at<float>({0}), lse - 2.0, 1e-5);
  EXPECT_NEAR(r[1].at<float>({1}), std::log(3.0), 1e-5);
  EXPECT_TRUE(r[2].equals(r[1]));  // softmax output: the logits are used
  EXPECT_TRUE(r[3].equals(r[1]));
  EXPECT_NEAR(r[4].at<float>({0}), (0.04 + 0.09 + 0.01) / 3, 1e-6);
  EXPECT_FLOAT_EQ(r[5].scalar<float>(), 0.5f);
  EXPECT_FLOAT_EQ(r[6].scalar<float>(), 0.5f);  // row 2: argmax 1 (first of a tie), label 2
}

std::string data_dir() {
  const char* d = std::getenv("SLUICE_DATA");
  return d ? d : io::kDefaultFashionMnistDir;
}

// A few hundred steps of the MLP of the example on a 6000-image slice of the real data:
// the loss must drop well below where it started, and test accuracy must be far above chance.
TEST(Training, MlpOnRealDataLowersTheLoss) {
  const io::MnistData data = io::load_mnist(data_dir());
  const int64_t n = 6000;
  Tensor x(DType::f32, {n, 784}), y = Tensor::zeros(DType::f32, {n, 10});
  for (int64_t i = 0; i < n * 784; ++i) x.data<float>()[i] = data.train_images.data<uint8_t>()[i] / 255.0f;
  for (int64_t i = 0; i < n; ++i) y.data<float>()[i * 10 + data.train_labels.data<uint8_t>()[i]] = 1.0f;

  Graph g;
  g.set_random_seed(3);
  Scope root(g);
  Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 784});
  Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
  layers::Dense h1(128, Activation::relu), h2(128, Activation::relu), out(10, Activation::softmax);
  layers::Dropout d1(0.5), d2(0.5);
  Output preds = out(root, d2(root, h2(root, d1(root, h1(root, img)))));
  Output loss = ops::mean(root, losses::categorical_crossentropy(root, labels, preds));
  Output acc = metrics::accuracy(root, labels, preds);
  optimizers::Adam adam(0.001);
  Operation train = adam.minimize(root, loss);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});

  const float initial = sess.run({{img, x}, {labels, y}}, {loss})[0].scalar<float>();
  const int64_t batch = 50;
  for (int step = 0; step < 360; ++step) {
    const int64_t b = (step * batch) % n;
    Tensor xb(DType::f32, {batch, 784}), yb(DType::f32, {batch, 10});
    std::copy_n(x.data<float>() + b * 784, batch * 784, xb.data<float>());
    std::copy_n(y.data<float>() + b * 10, batch * 10, yb.data<float>());
    sess.run({{img, xb}, {labels, yb}, {learning_phase(g), Tensor(true)}}, {}, {train});
  }
  const float final_loss = sess.run({{img, x}, {labels, y}}, {loss})[0].scalar<float>();
  EXPECT_GT(initial, 2.0f);  // about ln(10) untrained
  EXPECT_LT(final_loss, 0.7f * initial) << "initial " << initial;
  EXPECT_LT(final_loss, 0.8f);

  Tensor tx(DType::f32, {2000, 784}), ty = Tensor::zeros(DType::f32, {2000, 10});
  for (int64_t i = 0; i < 2000 * 784; ++i) tx.data<float>()[i] = data.test_images.data<uint8_t>()[i] / 255.0f;
  for (int64_t i = 0; i < 2000; ++i) ty.data<float>()[i * 10 + data.test_labels.data<uint8_t>()[i]] = 1.0f;
  EXPECT_GT(sess.run({{img, tx}, {labels, ty}}, {acc})[0].scalar<float>(), 0.70f);
}

}  // namespace
}  // namespace sluice
