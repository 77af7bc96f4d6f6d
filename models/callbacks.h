// Keras' callbacks. fit() calls them in Keras' order: ProgbarLogger (verbose != 0), the
// user's callbacks in the order given, History last; hooks per fit:
//   on_train_begin, then per epoch: on_epoch_begin, (on_train_batch_begin,
//   on_train_batch_end) per batch, with validation on_test_begin, (on_test_batch_begin,
//   on_test_batch_end)..., on_test_end, then on_epoch_end; finally on_train_end.
// A user-defined callback derives from models::Callback and overrides the hooks it needs.
#pragma once

#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../io/progress.h"
#include "model.h"

namespace sluice::models {

// "min", "max" or "auto" (max for names containing "acc", "precision", "recall" or "auc").
enum class Mode { auto_, min, max };

// The progress bar (io::ProgressBar) for verbose 1; one line per epoch for verbose 2
// ("epoch 3/10 - 4.1s - loss: 0.3120 - accuracy: 0.8871 - val_loss: ..."). Added by fit().
class ProgbarLogger : public Callback {
 public:
  ProgbarLogger(int verbose, int epochs, int64_t steps, int64_t batch_size, std::FILE* out = stdout);
  void on_epoch_begin(int epoch, const Logs& logs) override;
  void on_train_batch_end(int64_t batch, const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;

 private:
  int verbose_, epochs_;
  int64_t steps_, batch_size_, done_ = 0;
  std::FILE* out_;
  io::ProgressBar bar_;
  double t0_ = 0, last_loss_ = 0;
  int epoch_ = 0;
};

// Saves the model (Model::save; or only the weights, a checkpoint file, with
// save_weights_only) after each epoch. "{epoch}" / "{epoch:02d}" in `filepath` become the
// 1-based epoch number. With save_best_only, saves only when `monitor` improved (missing
// monitor: a warning, nothing saved).
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string filepath, std::string monitor = "val_loss",
                           bool save_best_only = false, Mode mode = Mode::auto_,
                           bool save_weights_only = false, int verbose = 0);
  void on_epoch_end(int epoch, const Logs& logs) override;
  // The path written for `epoch` (0-based).
  std::string path_for(int epoch) const;
  double best() const { return best_; }

 private:
  std::string filepath_, monitor_;
  bool save_best_only_, save_weights_only_;
  bool greater_;
  int verbose_;
  double best_;
};

// Stops training when `monitor` stopped improving by more than min_delta for `patience`
// epochs; with restore_best_weights, the best epoch's weights are restored when it stops.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", double min_delta = 0, int patience = 0,
                         Mode mode = Mode::auto_, bool restore_best_weights = false,
                         int verbose = 0);
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;
  int stopped_epoch() const { return stopped_epoch_; }  // 0: did not stop
  int best_epoch() const { return best_epoch_; }

 private:
  std::string monitor_;
  double min_delta_;
  int patience_, verbose_;
  bool greater_, restore_;
  int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  double best_ = 0;
  std::vector<Tensor> best_weights_;
};

// Multiplies the learning rate by `factor` when `monitor` has not improved for `patience`
// epochs, then waits `cooldown` epochs; never below min_lr.
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(std::string monitor = "val_loss", double factor = 0.1,
                             int patience = 10, Mode mode = Mode::auto_, double min_delta = 1e-4,
                             int cooldown = 0, double min_lr = 0, int verbose = 0);
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;

 private:
  std::string monitor_;
  double factor_, min_delta_, min_lr_;
  int patience_, cooldown_, verbose_;
  bool greater_;
  int wait_ = 0, cooldown_counter_ = 0;
  double best_ = 0;
};

// Sets the learning rate at each epoch begin to schedule(epoch, current lr).
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int, double)> schedule, int verbose = 0);
  void on_epoch_begin(int epoch, const Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
  int verbose_;
};

// Appends one CSV row per epoch ("epoch,<sorted log keys>", header first) to `filename`.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, char separator = ',', bool append = false);
  ~CSVLogger() override;
  void on_train_begin(const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;

 private:
  std::string filename_;
  char sep_;
  bool append_;
  std::FILE* file_ = nullptr;
  std::vector<std::string> keys_;
};

// Writes one JSON object per epoch to `filename` (JSON lines, what `sluice plot` reads):
//   {"epoch": 1, "loss": 0.41, "accuracy": 0.86, "val_loss": 0.45, ..., "lr": 0.001, "seconds": 12.5}
// epoch counts from 1; every log value of the epoch (sorted keys; non-finite values as
// null); "lr" the learning rate the epoch started with (Model::current_learning_rate);
// "seconds" the epoch's wall time including validation. Truncates the file at train begin
// unless `append`. FitOptions::log adds one.
class JsonLogger : public Callback {
 public:
  explicit JsonLogger(std::string filename, bool append = false);
  ~JsonLogger() override;
  void on_train_begin(const Logs& logs) override;
  void on_epoch_begin(int epoch, const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;

 private:
  std::string filename_;
  bool append_;
  std::FILE* file_ = nullptr;
  double lr_ = 0, t0_ = 0;
};

// Stops training at the first batch whose loss is NaN or infinite.
class TerminateOnNaN : public Callback {
 public:
  void on_train_batch_end(int64_t batch, const Logs& logs) override;
};

// A callback from functions (unset ones do nothing).
class LambdaCallback : public Callback {
 public:
  std::function<void(const Logs&)> on_train_begin_fn, on_train_end_fn;
  std::function<void(int, const Logs&)> on_epoch_begin_fn, on_epoch_end_fn;
  std::function<void(int64_t, const Logs&)> on_batch_begin_fn, on_batch_end_fn;
  void on_train_begin(const Logs& l) override { if (on_train_begin_fn) on_train_begin_fn(l); }
  void on_train_end(const Logs& l) override { if (on_train_end_fn) on_train_end_fn(l); }
  void on_epoch_begin(int e, const Logs& l) override { if (on_epoch_begin_fn) on_epoch_begin_fn(e, l); }
  void on_epoch_end(int e, const Logs& l) override { if (on_epoch_end_fn) on_epoch_end_fn(e, l); }
  void on_train_batch_begin(int64_t b, const Logs& l) override { if (on_batch_begin_fn) on_batch_begin_fn(b, l); }
  void on_train_batch_end(int64_t b, const Logs& l) override { if (on_batch_end_fn) on_batch_end_fn(b, l); }
};

}  // namespace sluice::models
