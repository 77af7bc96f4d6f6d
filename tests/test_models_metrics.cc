// The AUC metric (Keras' AUC(): 200 thresholds, ROC, trapezoidal interpolation), accumulated
// over batches, against Keras' documented example and an independent computation.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "runtime/sluice.h"

using namespace sluice;

namespace {

// A model whose output is its input: Dense(1) without bias, kernel 1.
std::unique_ptr<models::Sequential> identity_model() {
  auto m = std::make_unique<models::Sequential>(
      std::vector<models::LayerRef>{layers::Dense(1, Activation::linear, false)});
  m->build({1});
  m->compile(models::sgd(0.1), "binary_crossentropy", {"auc", "accuracy"});
  m->set_weights({Tensor::from_vector(std::vector<float>{1.0f}, Shape{1, 1})});
  return m;
}

Tensor column(const std::vector<float>& v) {
  return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size()), 1});
}

// Keras' algorithm written out independently: confusion counts at each threshold (pred >
// threshold), then trapezoids over (fp rate, tp rate).
double keras_auc(const std::vector<float>& pred, const std::vector<float>& truth) {
  const int T = 200;
  std::vector<double> th = {-1e-7};
  for (int i = 1; i <= T - 2; ++i) th.push_back(static_cast<float>(i / 199.0));
  th.push_back(static_cast<float>(1.0 + 1e-7));
  std::vector<double> tpr, fpr;
  double pos = 0, neg = 0;
  for (float t : truth) (t > 0.5f ? pos : neg) += 1;
  for (double t : th) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < pred.size(); ++i)
      if (pred[i] > static_cast<float>(t)) (truth[i] > 0.5f ? tp : fp) += 1;
    tpr.push_back(tp / pos);
    fpr.push_back(fp / neg);
  }
  double auc = 0;
  for (int i = 0; i + 1 < T; ++i) auc += (fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2;
  return auc;
}

}  // namespace

TEST(ModelMetrics, AucMatchesKerasDocumentedExample) {
  // keras.metrics.AUC: y_true [0, 0, 1, 1], y_pred [0, 0.5, 0.3, 0.9] -> 0.75.
  auto m = identity_model();
  const models::Logs l = m->evaluate(column({0, 0.5f, 0.3f, 0.9f}), column({0, 0, 1, 1}));
  EXPECT_NEAR(l.at("auc"), 0.75, 1e-6);
  EXPECT_NEAR(l.at("accuracy"), 0.75, 1e-6);  // 0, 0.5 (not > 0.5) and 0.9 right, 0.3 wrong
}

TEST(ModelMetrics, AucAccumulatesOverBatches) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> pred, truth;
  for (int i = 0; i < 300; ++i) {
    const float t = u(rng) < 0.4f ? 1.0f : 0.0f;
    truth.push_back(t);
    pred.push_back(std::min(1.0f, std::max(0.0f, 0.35f * t + 0.65f * u(rng))));  // informative
  }
  auto m = identity_model();
  models::EvaluateOptions eo;
  eo.batch_size = 7;  // 43 batches: the counts must be summed, not the per-batch AUCs averaged
  const double auc = m->evaluate(column(pred), column(truth), eo).at("auc");
  EXPECT_NEAR(auc, keras_auc(pred, truth), 1e-6);
  // The exact ROC AUC (Mann-Whitney) is close: the thresholds are 1/199 apart.
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < pred.size(); ++i)
    for (size_t j = 0; j < pred.size(); ++j)
      if (truth[i] > 0.5f && truth[j] < 0.5f) {
        pairs += 1;
        wins += pred[i] > pred[j] ? 1 : pred[i] == pred[j] ? 0.5 : 0;
      }
  EXPECT_NEAR(auc, wins / pairs, 0.01);
  EXPECT_GT(auc, 0.7);
  // Through fit's history and a save / load_model round trip too.
  models::FitOptions fo;
  fo.verbose = 0;
  fo.epochs = 1;
  fo.batch_size = 50;
  fo.shuffle = false;
  fo.validation_data = {column(pred), column(truth)};
  const models::History h = m->fit(column(pred), column(truth), fo);
  EXPECT_GT(h.history.at("auc")[0], 0.7);
  const std::string dir = ::testing::TempDir() + "/auc_model";
  m->save(dir);
  models::Model loaded = models::load_model(dir);
  EXPECT_NEAR(loaded.evaluate(column(pred), column(truth), eo).at("auc"),
              m->evaluate(column(pred), column(truth), eo).at("auc"), 1e-12);
}
