// Regularizers (kernel / bias / activity penalties added to the loss) and constraints
// (projections after each update), checked against hand computation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "runtime/sluice.h"
#include "test_util.h"

using namespace sluice;

namespace {

using sluice::testing::random_tensor;

constexpr int N = 4, IN = 2, U = 3;

// Dense(U) on x [N, IN], mse against y: predictions, the data loss and its gradients.
struct HandDense {
  std::vector<double> pred, gk, gb;
  double loss = 0;
  HandDense(const Tensor& x, const Tensor& y, const Tensor& k, const Tensor& b)
      : pred(N * U), gk(IN * U, 0.0), gb(U, 0.0) {
    for (int i = 0; i < N; ++i)
      for (int u = 0; u < U; ++u) {
        double p = b.data<float>()[u];
        for (int j = 0; j < IN; ++j) p += x.data<float>()[i * IN + j] * k.data<float>()[j * U + u];
        pred[i * U + u] = p;
        const double d = p - y.data<float>()[i * U + u];
        loss += d * d / (N * U);
        // d/dp of mean over units then batch: 2 d / (N U)
        for (int j = 0; j < IN; ++j) gk[j * U + u] += 2 * d / (N * U) * x.data<float>()[i * IN + j];
        gb[u] += 2 * d / (N * U);
      }
  }
};

double sign(double v) { return v > 0 ? 1 : v < 0 ? -1 : 0; }

}  // namespace

TEST(Regularizers, PenaltiesAreAddedToTheLossAndTheGradient) {
  const Tensor x = random_tensor({N, IN}, 1), y = random_tensor({N, U}, 2);
  const Tensor k = random_tensor({IN, U}, 3), b = random_tensor({U}, 4);
  layers::WeightOptions o;
  o.kernel_regularizer = regularizers::l1_l2(0.01, 0.02);
  o.bias_regularizer = regularizers::l2(0.05);
  o.activity_regularizer = regularizers::l1(0.1);
  models::Sequential model({layers::with_options(layers::Dense(U), o)});
  model.build({IN});
  const double lr = 0.1;
  model.compile(models::sgd(lr), "mse");
  model.set_weights({k, b});

  const HandDense h(x, y, k, b);
  double kernel_pen = 0, bias_pen = 0, act_pen = 0;
  for (int i = 0; i < IN * U; ++i) {
    const double w = k.data<float>()[i];
    kernel_pen += 0.01 * std::abs(w) + 0.02 * w * w;
  }
  for (int u = 0; u < U; ++u) bias_pen += 0.05 * b.data<float>()[u] * b.data<float>()[u];
  for (double p : h.pred) act_pen += 0.1 * std::abs(p) / N;  // divided by the batch size
  const double expected = h.loss + kernel_pen + bias_pen + act_pen;
  EXPECT_NEAR(model.test_on_batch({x}, {y}).at("loss"), expected, 1e-5);
  EXPECT_NEAR(model.evaluate(x, y).at("loss"), expected, 1e-5);

  // One SGD step: w -= lr (data grad + l1 sign(w) + 2 l2 w + activity grad).
  model.train_on_batch({x}, {y});
  const std::vector<Tensor> w1 = model.get_weights();
  for (int j = 0; j < IN; ++j)
    for (int u = 0; u < U; ++u) {
      const double w = k.data<float>()[j * U + u];
      double act = 0;  // d/dw of 0.1/N sum |p_iu| = 0.1/N sum sign(p_iu) x_ij
      for (int i = 0; i < N; ++i) act += 0.1 / N * sign(h.pred[i * U + u]) * x.data<float>()[i * IN + j];
      const double g = h.gk[j * U + u] + 0.01 * sign(w) + 2 * 0.02 * w + act;
      EXPECT_NEAR(w1[0].data<float>()[j * U + u], w - lr * g, 1e-5) << j << "," << u;
    }
  for (int u = 0; u < U; ++u) {
    const double bu = b.data<float>()[u];
    double act = 0;
    for (int i = 0; i < N; ++i) act += 0.1 / N * sign(h.pred[i * U + u]);
    EXPECT_NEAR(w1[1].data<float>()[u], bu - lr * (h.gb[u] + 2 * 0.05 * bu + act), 1e-5) << u;
  }
}

TEST(Regularizers, OnlyTheModelsOwnLayersCount) {
  // Two functional models in one graph: each adds only its own layers' penalties.
  Graph g;
  Scope root(g);
  Output in = ops::placeholder(root.named("x"), DType::f32, {-1, IN});
  layers::Dense a(U), b2(U);
  a.set_kernel_regularizer(regularizers::l2(1.0));
  b2.set_kernel_regularizer(regularizers::l2(100.0));
  Output ya = a(root, in);
  Output yb = b2(root, in);
  models::Model ma(in, ya, "ma");
  ma.compile(models::sgd(0.1), "mse");
  const Tensor x = random_tensor({N, IN}, 5), y = random_tensor({N, U}, 6);
  const std::vector<Tensor> w = ma.get_weights();
  const HandDense h(x, y, w[0], w[1]);
  double pen = 0;
  for (int i = 0; i < IN * U; ++i) pen += w[0].data<float>()[i] * w[0].data<float>()[i];
  EXPECT_NEAR(ma.test_on_batch({x}, {y}).at("loss"), h.loss + pen, 1e-5);
  (void)yb;
}

TEST(Constraints, ProjectAfterEachUpdate) {
  const Tensor x = random_tensor({N, IN}, 7), y = random_tensor({N, U}, 8, 2, 4);
  const Tensor k = random_tensor({IN, U}, 9), b = random_tensor({U}, 10);
  const double lr = 0.5;
  for (int mode = 0; mode < 4; ++mode) {
    layers::WeightOptions o;
    if (mode == 0) o.kernel_constraint = constraints::max_norm(0.3);
    if (mode == 1) o.kernel_constraint = constraints::non_neg();
    if (mode == 2) o.kernel_constraint = constraints::unit_norm();
    if (mode == 3) o.kernel_constraint = constraints::min_max_norm(0.5, 0.8, 0.5);
    o.bias_constraint = constraints::non_neg();
    models::Sequential model({layers::with_options(layers::Dense(U), o)});
    model.build({IN});
    model.compile(models::sgd(lr), "mse");
    model.set_weights({k, b});
    const HandDense h(x, y, k, b);
    model.train_on_batch({x}, {y});
    const std::vector<Tensor> w1 = model.get_weights();
    std::vector<double> w(IN * U);
    for (int i = 0; i < IN * U; ++i) w[i] = k.data<float>()[i] - lr * h.gk[i];
    for (int u = 0; u < U; ++u) {  // axis 0: the norm of each unit's column
      double n = 0;
      for (int j = 0; j < IN; ++j) n += w[j * U + u] * w[j * U + u];
      n = std::sqrt(n);
      for (int j = 0; j < IN; ++j) {
        double e = w[j * U + u];
        if (mode == 0) e = e * std::min(n, 0.3) / (1e-7 + n);
        if (mode == 1) e = e >= 0 ? e : 0;
        if (mode == 2) e = e / (1e-7 + n);
        if (mode == 3) e = e * (0.5 * std::max(0.5, std::min(n, 0.8)) + 0.5 * n) / (1e-7 + n);
        EXPECT_NEAR(w1[0].data<float>()[j * U + u], e, 1e-5) << "mode " << mode;
      }
      const double bu = b.data<float>()[u] - lr * h.gb[u];
      EXPECT_NEAR(w1[1].data<float>()[u], bu >= 0 ? bu : 0, 1e-6);
    }
  }
}

TEST(Constraints, HoldThroughFitAndSaveLoad) {
  const Tensor x = random_tensor({64, IN}, 11), y = random_tensor({64, U}, 12, -3, 3);
  layers::WeightOptions o;
  o.kernel_constraint = constraints::non_neg();
  models::Sequential model({layers::with_options(layers::Dense(U), o)});
  model.build({IN});
  model.compile(models::adam(0.05), "mse");
  models::FitOptions f;
  f.epochs = 3;
  f.batch_size = 16;
  f.verbose = 0;
  model.fit(x, y, f);
  const Tensor k = model.get_weights()[0];
  int zeros = 0;
  for (int i = 0; i < IN * U; ++i) {
    EXPECT_GE(k.data<float>()[i], 0.0f);
    zeros += k.data<float>()[i] == 0.0f;
  }
  EXPECT_GT(zeros, 0) << "targets in [-3, 3] should push some weights below zero";
  const std::string dir = ::testing::TempDir() + "/constrained_model";
  model.save(dir);
  models::Model loaded = models::load_model(dir);
  loaded.fit(x, y, f);
  const Tensor k2 = loaded.get_weights()[0];
  for (int i = 0; i < IN * U; ++i) EXPECT_GE(k2.data<float>()[i], 0.0f);
}

TEST(Regularizers, BadUseIsATypedError) {
  layers::Dense d(2);
  Graph g;
  Scope root(g);
  d(root, ops::placeholder(root, DType::f32, {-1, 3}));
  EXPECT_THROW(d.set_kernel_regularizer(regularizers::l2()), FailedPrecondition);
  EXPECT_THROW(d.set_bias_constraint(constraints::non_neg()), FailedPrecondition);
  EXPECT_THROW(constraints::max_norm(-1), InvalidArgument);
  EXPECT_THROW(constraints::min_max_norm(2, 1), InvalidArgument);
  layers::Dense e(2);
  e.set_kernel_constraint(constraints::max_norm(1, {5}));
  EXPECT_THROW(e(root, ops::placeholder(root, DType::f32, {-1, 3})), InvalidArgument);
}

TEST(FrozenLayers, BatchNormTrainableFalseRunsInInferenceModeInFit) {
  const Tensor x = random_tensor({16, 3}, 21), y = random_tensor({16, 1}, 22);
  auto make = [](bool frozen) {
    layers::BatchNormalization bn;
    bn.set_trainable(!frozen);
    auto m = std::make_unique<models::Sequential>(std::vector<models::LayerRef>{
        layers::Dense(4), std::move(bn), layers::Dense(1)});
    m->graph().set_random_seed(4);
    m->build({3});
    m->compile(models::sgd(0.1), "mse");
    return m;
  };
  const Tensor gamma = Tensor::from_vector(std::vector<float>{1.5f, 0.5f, 2.0f, 1.0f}, Shape{4});
  const Tensor beta = Tensor::from_vector(std::vector<float>{0.1f, -0.2f, 0.3f, 0.0f}, Shape{4});
  const Tensor mean = Tensor::from_vector(std::vector<float>{0.2f, -0.1f, 0.0f, 0.4f}, Shape{4});
  const Tensor var = Tensor::from_vector(std::vector<float>{0.5f, 2.0f, 1.0f, 0.8f}, Shape{4});
  for (bool frozen : {true, false}) {
    auto m = make(frozen);
    std::vector<Tensor> w = m->get_weights();  // dense kernel, bias; gamma, beta, mean, var; dense
    w[2] = gamma, w[3] = beta, w[4] = mean, w[5] = var;
    m->set_weights(w);
    const double inference_loss = m->test_on_batch({x}, {y}).at("loss");
    const double training_loss = m->train_on_batch({x}, {y}).at("loss");  // before its update
    const std::vector<Tensor> after = m->get_weights();
    if (frozen) {
      // Inference mode in training: the same loss; gamma, beta and the moving statistics kept.
      EXPECT_DOUBLE_EQ(training_loss, inference_loss);
      for (int i = 2; i < 6; ++i)
        for (int c = 0; c < 4; ++c) EXPECT_EQ(after[i].data<float>()[c], w[i].data<float>()[c]) << i;
      EXPECT_NE(after[0].data<float>()[0], w[0].data<float>()[0]) << "the other layers still train";
      // Summary: gamma and beta count as non-trainable (4 weights of 4 channels).
      int64_t trainable = 0;
      for (const auto& l : m->layers()) trainable += l.trainable_params;
      EXPECT_EQ(m->count_params() - trainable, 16);
    } else {
      EXPECT_GT(std::abs(training_loss - inference_loss), 1e-4);  // batch statistics
      EXPECT_NE(after[4].data<float>()[0], w[4].data<float>()[0]);  // moving mean updated
      EXPECT_NE(after[2].data<float>()[0], w[2].data<float>()[0]);  // gamma trained
    }
  }
  layers::BatchNormalization built;
  Graph g;
  Scope root(g);
  built(root, ops::placeholder(root, DType::f32, {-1, 2}));
  EXPECT_THROW(built.set_trainable(false), FailedPrecondition);
}

// Keras projects only what its optimizer updates: a frozen layer's constrained weight keeps
// its values (negative ones under non_neg) while the rest of the model trains.
TEST(Constraints, FrozenWeightsAreNotProjected) {
  const Tensor x = random_tensor({N, IN}, 13), y = random_tensor({N, U}, 14);
  layers::WeightOptions o;
  o.kernel_constraint = constraints::non_neg();
  o.bias_constraint = constraints::non_neg();
  layers::Dense frozen = layers::with_options(layers::Dense(U), o);
  frozen.set_trainable(false);
  models::Sequential model({std::move(frozen), layers::with_options(layers::Dense(U), o)});
  model.build({IN});
  std::vector<Tensor> w = model.get_weights();  // frozen kernel, bias, head kernel, bias
  for (int i = 0; i < IN * U; ++i) w[0].data<float>()[i] = i % 2 ? 0.5f : -0.5f;
  for (int i = 0; i < U; ++i) w[1].data<float>()[i] = -0.25f;
  model.set_weights(w);
  model.compile(models::sgd(0.1), "mse");
  for (int s = 0; s < 3; ++s) model.train_on_batch({x}, {y});
  const std::vector<Tensor> after = model.get_weights();
  for (int i = 0; i < IN * U; ++i) EXPECT_EQ(after[0].data<float>()[i], w[0].data<float>()[i]) << i;
  for (int i = 0; i < U; ++i) EXPECT_EQ(after[1].data<float>()[i], -0.25f) << i;
  // The trained head is projected.
  for (int i = 0; i < U * U; ++i) EXPECT_GE(after[2].data<float>()[i], 0.0f) << i;
}
