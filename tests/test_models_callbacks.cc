// models:: callbacks (Keras' order and semantics) and save / load_model (resumed training).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/sluice.h"
#include "test_util.h"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

using sluice::testing::random_tensor;

using sluice::testing::same_bits;

Tensor targets_of(const Tensor& x) {  // y = x0 - 2 x1 + 0.5
  Tensor y(DType::f32, Shape{x.dim(0), 1});
  for (int64_t i = 0; i < x.dim(0); ++i)
    y.data<float>()[i] = x.data<float>()[i * 2] - 2 * x.data<float>()[i * 2 + 1] + 0.5f;
  return y;
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("sluice_models_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

class Recorder : public models::Callback {
 public:
  std::vector<std::string> events;
  void on_train_begin(const models::Logs&) override { events.push_back("train_begin"); }
  void on_train_end(const models::Logs&) override { events.push_back("train_end"); }
  void on_epoch_begin(int e, const models::Logs&) override { events.push_back("epoch_begin " + std::to_string(e)); }
  void on_epoch_end(int e, const models::Logs& l) override {
    events.push_back("epoch_end " + std::to_string(e) + (l.count("val_loss") ? " val" : ""));
  }
  void on_train_batch_begin(int64_t b, const models::Logs&) override { events.push_back("batch_begin " + std::to_string(b)); }
  void on_train_batch_end(int64_t b, const models::Logs&) override { events.push_back("batch_end " + std::to_string(b)); }
  void on_test_begin(const models::Logs&) override { events.push_back("test_begin"); }
  void on_test_end(const models::Logs&) override { events.push_back("test_end"); }
  void on_test_batch_begin(int64_t b, const models::Logs&) override { events.push_back("test_batch_begin " + std::to_string(b)); }
  void on_test_batch_end(int64_t b, const models::Logs&) override { events.push_back("test_batch_end " + std::to_string(b)); }
};

std::unique_ptr<models::Sequential> regression_model(double lr = 0.05) {
  auto m = std::make_unique<models::Sequential>(
      std::vector<models::LayerRef>{layers::Dense(8, Activation::tanh), layers::Dense(1)});
  m->build({2});
  m->compile(models::adam(lr), "mse", {"mae"});
  return m;
}

}  // namespace

TEST(ModelCallbacks, HooksFireInKerasOrder) {
  auto model = regression_model();
  auto rec = std::make_shared<Recorder>();
  auto second = std::make_shared<models::LambdaCallback>();
  second->on_epoch_end_fn = [&](int e, const models::Logs&) {
    rec->events.push_back("second epoch_end " + std::to_string(e));
  };
  const Tensor x = random_tensor({8, 2}, 1);
  models::FitOptions opt;
  opt.batch_size = 4;
  opt.epochs = 2;
  opt.verbose = 0;
  opt.validation_data = {random_tensor({3, 2}, 2), targets_of(random_tensor({3, 2}, 2))};
  opt.callbacks = {rec, second};
  model->fit(x, targets_of(x), opt);
  std::vector<std::string> expected = {"train_begin"};
  for (int e = 0; e < 2; ++e) {
    const std::string s = std::to_string(e);
    for (const char* ev : {"epoch_begin ", "batch_begin 0", "batch_end 0", "batch_begin 1",
                           "batch_end 1", "test_begin", "test_batch_begin 0", "test_batch_end 0",
                           "test_end", "epoch_end "})
      expected.push_back(std::string(ev) + (std::string(ev).back() == ' ' ? s : ""));
    expected.back() += " val";
    expected.push_back("second epoch_end " + s);  // user callbacks in the order given
  }
  expected.push_back("train_end");
  EXPECT_EQ(rec->events, expected);
}

TEST(ModelCallbacks, HistoryHoldsRunningMeansOfTheEpoch) {
  auto model = regression_model();
  const Tensor x = random_tensor({10, 2}, 3), y = targets_of(x);
  std::vector<double> batch_losses;
  auto lambda = std::make_shared<models::LambdaCallback>();
  lambda->on_batch_end_fn = [&](int64_t, const models::Logs& l) { batch_losses.push_back(l.at("loss")); };
  // Each batch's loss before its step: test_on_batch on the same weights.
  std::vector<double> manual;
  auto probe = std::make_shared<models::LambdaCallback>();
  probe->on_batch_begin_fn = [&](int64_t b, const models::Logs&) {
    const int64_t lo = b * 4, hi = std::min<int64_t>(10, lo + 4);
    manual.push_back(probe->model()
                         .test_on_batch({io::slice_rows(x, lo, hi)}, {io::slice_rows(y, lo, hi)})
                         .at("loss"));
  };
  models::FitOptions opt;
  opt.batch_size = 4;
  opt.shuffle = false;
  opt.verbose = 0;
  opt.callbacks = {probe, lambda};
  const models::History h = model->fit(x, y, opt);
  ASSERT_EQ(manual.size(), 3u);
  const double mean = (manual[0] * 4 + manual[1] * 4 + manual[2] * 2) / 10;
  EXPECT_NEAR(h.history.at("loss")[0], mean, 1e-6);
  EXPECT_NEAR(batch_losses[1], (manual[0] + manual[1]) / 2, 1e-6);  // running mean so far
}

TEST(ModelCallbacks, EarlyStoppingRestoresBestWeights) {
  // SGD with a far too large step diverges: epoch 0 has the best loss.
  models::Sequential model({layers::Dense(1)});
  model.build({2});
  model.compile(models::sgd(1.5), "mse");
  const Tensor x = random_tensor({16, 2}, 4, 1, 2), y = targets_of(x);
  std::vector<std::vector<Tensor>> weights_at_end;
  auto keep = std::make_shared<models::LambdaCallback>();
  keep->on_epoch_end_fn = [&](int, const models::Logs&) { weights_at_end.push_back(keep->model().get_weights()); };
  auto stop = std::make_shared<models::EarlyStopping>("loss", 0, 2, models::Mode::auto_, true);
  models::FitOptions opt;
  opt.batch_size = 4;
  opt.epochs = 20;
  opt.verbose = 0;
  opt.callbacks = {keep, stop};
  const models::History h = model.fit(x, y, opt);
  ASSERT_EQ(h.epoch.size(), 3u) << "patience 2: stops at epoch 2";
  EXPECT_LT(h.history.at("loss")[0], h.history.at("loss")[1]);
  EXPECT_EQ(stop->stopped_epoch(), 2);
  EXPECT_EQ(stop->best_epoch(), 0);
  const std::vector<Tensor> now = model.get_weights();
  for (size_t i = 0; i < now.size(); ++i) {
    EXPECT_TRUE(same_bits(now[i], weights_at_end[0][i]));
    EXPECT_FALSE(same_bits(now[i], weights_at_end[2][i]));
  }
}

TEST(ModelCallbacks, EarlyStoppingMinDeltaAndMaxMode) {
  auto model = regression_model(0.01);
  const Tensor x = random_tensor({32, 2}, 5), y = targets_of(x);
  models::FitOptions opt;
  opt.epochs = 10;
  opt.verbose = 0;
  // The loss improves each epoch, but never by 1e6: stops after patience 1 at epoch 1.
  opt.callbacks = {std::make_shared<models::EarlyStopping>("loss", 1e6, 1)};
  EXPECT_EQ(model->fit(x, y, opt).epoch.size(), 2u);
  // Max mode: an improvement must exceed the best by min_delta; none does after epoch 0.
  opt.callbacks = {std::make_shared<models::EarlyStopping>("loss", 1e6, 3, models::Mode::max)};
  EXPECT_EQ(model->fit(x, y, opt).epoch.size(), 4u);
}

TEST(ModelCallbacks, ModelCheckpointSavesBestOnly) {
  const fs::path dir = temp_dir("ckpt");
  models::Sequential model({layers::Dense(1)});
  model.build({2});
  model.compile(models::sgd(1.5), "mse");  // diverges: only epoch 0 is "best"
  const Tensor x = random_tensor({16, 2}, 4, 1, 2), y = targets_of(x);
  auto ck = std::make_shared<models::ModelCheckpoint>((dir / "best").string(), "loss", true);
  auto every = std::make_shared<models::ModelCheckpoint>((dir / "e{epoch:02d}").string(), "loss");
  std::vector<Tensor> w0;
  auto keep = std::make_shared<models::LambdaCallback>();
  keep->on_epoch_end_fn = [&](int e, const models::Logs&) {
    if (e == 0) w0 = keep->model().get_weights();
  };
  models::FitOptions opt;
  opt.batch_size = 4;
  opt.epochs = 3;
  opt.verbose = 0;
  opt.callbacks = {keep, ck, every};
  model.fit(x, y, opt);
  EXPECT_TRUE(fs::exists(dir / "e01") && fs::exists(dir / "e02") && fs::exists(dir / "e03"));
  models::Model best = models::load_model((dir / "best").string());
  const std::vector<Tensor> wb = best.get_weights();
  ASSERT_EQ(wb.size(), w0.size());
  for (size_t i = 0; i < wb.size(); ++i) EXPECT_TRUE(same_bits(wb[i], w0[i]));
  // The bundle also serves through io::load_model.
  io::LoadedModel served = io::load_model((dir / "best").string());
  EXPECT_EQ(served.signature_names(), std::vector<std::string>{"serving_default"});
  fs::remove_all(dir);
}

TEST(ModelCallbacks, LearningRateCallbacks) {
  auto model = regression_model(0.1);
  const Tensor x = random_tensor({8, 2}, 6), y = targets_of(x);
  std::vector<double> seen;
  auto probe = std::make_shared<models::LambdaCallback>();
  probe->on_epoch_begin_fn = [&](int, const models::Logs&) { seen.push_back(probe->model().learning_rate()); };
  models::FitOptions opt;
  opt.epochs = 3;
  opt.verbose = 0;
  opt.callbacks = {std::make_shared<models::LearningRateScheduler>(
                       [](int epoch, double) { return 0.1 / (1 + epoch); }),
                   probe};
  model->fit(x, y, opt);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_NEAR(seen[0], 0.1, 1e-7);
  EXPECT_NEAR(seen[2], 0.1 / 3, 1e-7);
  // ReduceLROnPlateau with a min_delta no epoch beats: halves after every 2 epochs.
  model->set_learning_rate(0.08);
  opt.epochs = 4;
  opt.callbacks = {std::make_shared<models::ReduceLROnPlateau>("loss", 0.5, 2, models::Mode::min,
                                                               1e6, 0, 0.03)};
  model->fit(x, y, opt);
  // Epoch 0 sets the best; epochs 1-2 do not improve -> 0.04; epochs 3 (+1 wait) -> no change yet.
  EXPECT_NEAR(model->learning_rate(), 0.04, 1e-7);
  opt.epochs = 6;
  model->fit(x, y, opt);  // 0.04 -> 0.03 (min_lr), not below
  EXPECT_NEAR(model->learning_rate(), 0.03, 1e-7);
}

TEST(ModelCallbacks, CSVLoggerAndTerminateOnNaN) {
  const fs::path dir = temp_dir("csv");
  auto model = regression_model();
  const Tensor x = random_tensor({8, 2}, 7), y = targets_of(x);
  models::FitOptions opt;
  opt.epochs = 2;
  opt.verbose = 0;
  opt.validation_split = 0.25;
  opt.callbacks = {std::make_shared<models::CSVLogger>((dir / "log.csv").string())};
  const models::History h = model->fit(x, y, opt);
  std::ifstream f(dir / "log.csv");
  std::string header, row0, row1;
  std::getline(f, header);
  std::getline(f, row0);
  std::getline(f, row1);
  EXPECT_EQ(header, "epoch,loss,mae,val_loss,val_mae");
  double loss1 = 0;
  ASSERT_EQ(std::sscanf(row1.c_str(), "1,%lf", &loss1), 1);
  EXPECT_EQ(loss1, h.history.at("loss")[1]);

  Tensor bad = x;
  Tensor ybad = targets_of(x);
  ybad.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  opt.validation_split = 0;
  opt.batch_size = 2;
  opt.epochs = 5;
  opt.shuffle = false;
  int batches = 0;
  auto count = std::make_shared<models::LambdaCallback>();
  count->on_batch_end_fn = [&](int64_t, const models::Logs&) { ++batches; };
  opt.callbacks = {count, std::make_shared<models::TerminateOnNaN>()};
  const models::History hn = model->fit(bad, ybad, opt);
  EXPECT_EQ(batches, 3);  // the NaN is in batch 2 (rows 4-5)
  EXPECT_EQ(hn.epoch.size(), 1u);
  fs::remove_all(dir);
}

TEST(ModelCallbacks, JsonLogWritesOneLinePerEpochForSluicePlot) {
  const fs::path dir = temp_dir("jsonlog");
  const std::string path = (dir / "run.jsonl").string();
  auto model = regression_model();
  const Tensor x = random_tensor({16, 2}, 9), y = targets_of(x);
  models::FitOptions opt;
  opt.epochs = 3;
  opt.verbose = 0;
  opt.batch_size = 4;
  opt.validation_split = 0.25;
  opt.log = path;
  // Halve the rate each epoch: "lr" must follow.
  opt.callbacks = {std::make_shared<models::LearningRateScheduler>(
      [](int epoch, double lr) { return epoch == 0 ? lr : lr / 2; })};
  const double lr0 = model->learning_rate();
  const models::History h = model->fit(x, y, opt);
  auto read = [&]() {
    std::vector<nlohmann::json> rows;
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line)) rows.push_back(nlohmann::json::parse(line));  // throws if not JSON
    return rows;
  };
  std::vector<nlohmann::json> rows = read();
  ASSERT_EQ(rows.size(), 3u);
  for (int e = 0; e < 3; ++e) {
    const nlohmann::json& r = rows[static_cast<size_t>(e)];
    EXPECT_EQ(r.at("epoch").get<int>(), e + 1);  // `sluice plot` counts epochs from 1
    for (const char* k : {"loss", "mae", "val_loss", "val_mae"})
      EXPECT_NEAR(r.at(k).get<double>(), h.history.at(k)[static_cast<size_t>(e)],
                  1e-8 * std::abs(h.history.at(k)[static_cast<size_t>(e)]) + 1e-12) << k;
    EXPECT_NEAR(r.at("lr").get<double>(), lr0 / (1 << e), 1e-9);
    EXPECT_GE(r.at("seconds").get<double>(), 0.0);
    EXPECT_LT(r.at("seconds").get<double>(), 60.0);
  }
  // A resumed fit appends; a fresh one truncates.
  opt.initial_epoch = 3;
  opt.epochs = 4;
  opt.callbacks.clear();
  model->fit(x, y, opt);
  rows = read();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3].at("epoch").get<int>(), 4);
  opt.initial_epoch = 0;
  opt.epochs = 1;
  model->fit(x, y, opt);
  EXPECT_EQ(read().size(), 1u);
  opt.log = (dir / "missing" / "run.jsonl").string();
  EXPECT_THROW(model->fit(x, y, opt), NotFound);
  fs::remove_all(dir);
}

TEST(ModelSaving, ResumedFitContinuesTheSameTrajectory) {
  const fs::path dir = temp_dir("resume");
  const Tensor x = random_tensor({40, 2}, 8), y = targets_of(x);
  models::FitOptions opt;
  opt.batch_size = 8;
  opt.seed = 99;
  opt.verbose = 0;
  opt.epochs = 4;
  auto a = regression_model();
  const std::vector<Tensor> init = a->get_weights();
  const models::History full = a->fit(x, y, opt);

  auto b = regression_model();
  b->set_weights(init);
  opt.epochs = 2;
  b->fit(x, y, opt);
  b->save((dir / "m").string());
  models::Model c = models::load_model((dir / "m").string());
  EXPECT_EQ(c.iterations(), 10);
  EXPECT_EQ(c.summary_string(), b->summary_string());
  opt.initial_epoch = 2;
  opt.epochs = 4;
  const models::History rest = c.fit(x, y, opt);
  ASSERT_EQ(rest.epoch, (std::vector<int>{2, 3}));
  EXPECT_EQ(rest.history.at("loss")[0], full.history.at("loss")[2]);
  EXPECT_EQ(rest.history.at("loss")[1], full.history.at("loss")[3]);
  const std::vector<Tensor> wa = a->get_weights(), wc = c.get_weights();
  ASSERT_EQ(wa.size(), wc.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(same_bits(wa[i], wc[i])) << i;
  EXPECT_EQ(c.iterations(), 20);
  // Overwriting replaces the folder; a folder that is not a model is never overwritten.
  c.save((dir / "m").string());
  fs::create_directories(dir / "other");
  std::ofstream(dir / "other" / "x.txt") << "keep";
  EXPECT_THROW(c.save((dir / "other").string()), AlreadyExists);
  EXPECT_THROW(c.save((dir / "m").string(), false), AlreadyExists);
  fs::remove_all(dir);
}

TEST(ModelSaving, LoadModelRejectsBadFolders) {
  const fs::path dir = temp_dir("bad");
  EXPECT_THROW(models::load_model((dir / "absent").string()), NotFound);
  EXPECT_THROW(models::load_model(dir.string()), NotFound);
  auto m = regression_model();
  m->save((dir / "m").string());
  std::ofstream(dir / "m" / "model.json") << "{ not json";
  EXPECT_THROW(models::load_model((dir / "m").string()), DataLoss);
  std::ofstream(dir / "m" / "model.json") << "{\"format\": \"other\"}";
  EXPECT_THROW(models::load_model((dir / "m").string()), DataLoss);
  fs::remove_all(dir);
}
