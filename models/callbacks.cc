#include "callbacks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "../io/saver.h"

namespace sluice::models {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool greater_is_better(Mode mode, const std::string& monitor) {
  if (mode == Mode::max) return true;
  if (mode == Mode::min) return false;
  for (const char* k : {"acc", "precision", "recall", "auc"})
    if (monitor.find(k) != std::string::npos) return true;
  return false;
}

const double* find_log(const Logs& logs, const std::string& key) {
  auto it = logs.find(key);
  return it == logs.end() ? nullptr : &it->second;
}

void warn_missing(const char* who, const std::string& monitor, const Logs& logs) {
  std::string have;
  for (const auto& kv : logs) have += (have.empty() ? "" : ", ") + kv.first;
  std::fprintf(stderr, "warning: %s: metric '%s' is not in the logs (%s)\n", who, monitor.c_str(),
               have.c_str());
}

}  // namespace

// ---- History ----

void History::on_train_begin(const Logs&) {
  // Keras keeps the history across fit calls on the same History; fit() makes a new one.
}

void History::on_epoch_end(int e, const Logs& logs) {
  epoch.push_back(e);
  for (const auto& kv : logs) history[kv.first].push_back(kv.second);
}

// ---- ProgbarLogger ----

ProgbarLogger::ProgbarLogger(int verbose, int epochs, int64_t steps, int64_t batch_size,
                             std::FILE* out)
    : verbose_(verbose), epochs_(epochs), steps_(std::max<int64_t>(steps, 1)),
      batch_size_(batch_size), out_(out), bar_(std::max(epochs, 1), std::max<int64_t>(steps, 1), out) {}

void ProgbarLogger::on_epoch_begin(int epoch, const Logs&) {
  epoch_ = epoch + 1;
  t0_ = now_seconds();
  done_ = 0;
}

void ProgbarLogger::on_train_batch_end(int64_t batch, const Logs& logs) {
  done_ = batch + 1;
  last_loss_ = logs.count("loss") ? logs.at("loss") : 0.0;
  if (verbose_ == 1 && bar_.is_terminal()) {
    const double secs = std::max(now_seconds() - t0_, 1e-9);
    bar_.update(epoch_, done_, last_loss_, static_cast<double>(done_ * batch_size_) / secs);
  }
}

void ProgbarLogger::on_epoch_end(int epoch, const Logs& logs) {
  const double secs = std::max(now_seconds() - t0_, 1e-9);
  std::string rest;
  char buf[64];
  for (const auto& kv : logs) {
    if (verbose_ == 1 && kv.first == "loss") continue;  // the bar shows it
    std::snprintf(buf, sizeof buf, " - %s: %.4f", kv.first.c_str(), kv.second);
    rest += buf;
  }
  if (verbose_ == 1) {
    bar_.end_epoch(epoch + 1, done_, last_loss_, static_cast<double>(done_ * batch_size_) / secs);
    if (!rest.empty()) std::fprintf(out_, "  %s\n", rest.c_str() + 3);
  } else {
    std::fprintf(out_, "epoch %d/%d - %.1fs%s\n", epoch + 1, epochs_, secs, rest.c_str());
  }
  std::fflush(out_);
}

// ---- ModelCheckpoint ----

ModelCheckpoint::ModelCheckpoint(std::string filepath, std::string monitor, bool save_best_only,
                                 Mode mode, bool save_weights_only, int verbose)
    : filepath_(std::move(filepath)), monitor_(std::move(monitor)),
      save_best_only_(save_best_only), save_weights_only_(save_weights_only),
      greater_(greater_is_better(mode, monitor_)), verbose_(verbose),
      best_(greater_ ? -std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::infinity()) {}

std::string ModelCheckpoint::path_for(int epoch) const {
  std::string p = filepath_;
  char num[32];
  for (const std::string& pat : {std::string("{epoch:02d}"), std::string("{epoch}")}) {
    std::snprintf(num, sizeof num, pat == "{epoch}" ? "%d" : "%02d", epoch + 1);
    for (size_t at; (at = p.find(pat)) != std::string::npos;) p.replace(at, pat.size(), num);
  }
  return p;
}

void ModelCheckpoint::on_epoch_end(int epoch, const Logs& logs) {
  const std::string path = path_for(epoch);
  if (save_best_only_) {
    const double* v = find_log(logs, monitor_);
    if (!v) {
      warn_missing("ModelCheckpoint", monitor_, logs);
      return;
    }
    const bool better = greater_ ? *v > best_ : *v < best_;
    if (!better) return;
    if (verbose_)
      std::printf("epoch %d: %s improved from %.5f to %.5f, saving model to %s\n", epoch + 1,
                  monitor_.c_str(), best_, *v, path.c_str());
    best_ = *v;
  }
  if (save_weights_only_) {
    std::vector<Operation> vars;
    for (const auto& l : model().layers())
      for (const auto& w : l.weights) vars.push_back(model().graph().operation(w));
    io::Saver(vars).save(model().session(), path);
  } else {
    model().save(path, true);
  }
}

// ---- EarlyStopping ----

EarlyStopping::EarlyStopping(std::string monitor, double min_delta, int patience, Mode mode,
                             bool restore_best_weights, int verbose)
    : monitor_(std::move(monitor)), min_delta_(std::abs(min_delta)), patience_(patience),
      verbose_(verbose), greater_(greater_is_better(mode, monitor_)),
      restore_(restore_best_weights) {}

void EarlyStopping::on_train_begin(const Logs&) {
  wait_ = 0;
  stopped_epoch_ = 0;
  best_epoch_ = 0;
  best_ = greater_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(int epoch, const Logs& logs) {
  const double* v = find_log(logs, monitor_);
  if (!v) {
    warn_missing("EarlyStopping", monitor_, logs);
    return;
  }
  // Improved: better than the best by more than min_delta (Keras' _is_improvement).
  const bool improved = greater_ ? *v - min_delta_ > best_ : *v + min_delta_ < best_;
  ++wait_;
  if (improved) {
    best_ = *v;
    best_epoch_ = epoch;
    wait_ = 0;
    if (restore_) best_weights_ = model().get_weights();
  }
  if (wait_ >= patience_ && epoch > 0) {
    stopped_epoch_ = epoch;
    model().stop_training = true;
    if (restore_ && !best_weights_.empty()) {
      if (verbose_) std::printf("restoring model weights from the end of the best epoch: %d\n", best_epoch_ + 1);
      model().set_weights(best_weights_);
    }
  }
}

void EarlyStopping::on_train_end(const Logs&) {
  if (stopped_epoch_ > 0 && verbose_) std::printf("epoch %d: early stopping\n", stopped_epoch_ + 1);
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(std::string monitor, double factor, int patience, Mode mode,
                                     double min_delta, int cooldown, double min_lr, int verbose)
    : monitor_(std::move(monitor)), factor_(factor), min_delta_(min_delta), min_lr_(min_lr),
      patience_(patience), cooldown_(cooldown), verbose_(verbose),
      greater_(greater_is_better(mode, monitor_)) {
  SLUICE_REQUIRE(factor < 1.0 && factor >= 0, InvalidArgument,
                 "ReduceLROnPlateau: factor must be in [0, 1), got ", factor);
}

void ReduceLROnPlateau::on_train_begin(const Logs&) {
  wait_ = 0;
  cooldown_counter_ = 0;
  best_ = greater_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

void ReduceLROnPlateau::on_epoch_end(int epoch, const Logs& logs) {
  const double* v = find_log(logs, monitor_);
  if (!v) {
    warn_missing("ReduceLROnPlateau", monitor_, logs);
    return;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  const bool improved = greater_ ? *v > best_ + min_delta_ : *v < best_ - min_delta_;
  if (improved) {
    best_ = *v;
    wait_ = 0;
  } else if (cooldown_counter_ == 0) {
    if (++wait_ >= patience_) {
      const double old_lr = model().learning_rate();
      if (old_lr > min_lr_) {
        const double new_lr = std::max(old_lr * factor_, min_lr_);
        model().set_learning_rate(new_lr);
        if (verbose_)
          std::printf("epoch %d: ReduceLROnPlateau reducing learning rate to %g\n", epoch + 1, new_lr);
        cooldown_counter_ = cooldown_;
        wait_ = 0;
      }
    }
  }
}

// ---- LearningRateScheduler ----

LearningRateScheduler::LearningRateScheduler(std::function<double(int, double)> schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  SLUICE_REQUIRE(static_cast<bool>(schedule_), InvalidArgument, "LearningRateScheduler: empty schedule");
}

void LearningRateScheduler::on_epoch_begin(int epoch, const Logs&) {
  const double lr = schedule_(epoch, model().learning_rate());
  SLUICE_REQUIRE(std::isfinite(lr) && lr >= 0, InvalidArgument,
                 "LearningRateScheduler: the schedule returned ", lr, " for epoch ", epoch);
  model().set_learning_rate(lr);
  if (verbose_) std::printf("epoch %d: LearningRateScheduler setting learning rate to %g\n", epoch + 1, lr);
}

// ---- CSVLogger ----

CSVLogger::CSVLogger(std::string filename, char separator, bool append)
    : filename_(std::move(filename)), sep_(separator), append_(append) {}

CSVLogger::~CSVLogger() {
  if (file_) std::fclose(file_);
}

void CSVLogger::on_train_begin(const Logs&) {
  if (file_) std::fclose(file_);
  file_ = std::fopen(filename_.c_str(), append_ ? "a" : "w");
  SLUICE_REQUIRE(file_ != nullptr, NotFound, "CSVLogger: cannot open '", filename_, "' for writing");
  keys_.clear();
}

void CSVLogger::on_epoch_end(int epoch, const Logs& logs) {
  if (!file_) return;
  if (keys_.empty()) {
    for (const auto& kv : logs) keys_.push_back(kv.first);  // std::map: sorted, as Keras
    std::fprintf(file_, "epoch");
    for (const auto& k : keys_) std::fprintf(file_, "%c%s", sep_, k.c_str());
    std::fprintf(file_, "\n");
  }
  std::fprintf(file_, "%d", epoch);
  for (const auto& k : keys_) {
    const double* v = find_log(logs, k);
    if (v) std::fprintf(file_, "%c%.17g", sep_, *v);
    else std::fprintf(file_, "%cNA", sep_);
  }
  std::fprintf(file_, "\n");
  std::fflush(file_);
}

void CSVLogger::on_train_end(const Logs&) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
}

// ---- JsonLogger ----

JsonLogger::JsonLogger(std::string filename, bool append) : filename_(std::move(filename)), append_(append) {}

JsonLogger::~JsonLogger() {
  if (file_) std::fclose(file_);
}

void JsonLogger::on_train_begin(const Logs&) {
  if (file_) std::fclose(file_);
  file_ = std::fopen(filename_.c_str(), append_ ? "a" : "w");
  SLUICE_REQUIRE(file_ != nullptr, NotFound, "JsonLogger: cannot open '", filename_, "' for writing");
}

void JsonLogger::on_epoch_begin(int, const Logs&) {
  lr_ = model().current_learning_rate();
  t0_ = now_seconds();
}

void JsonLogger::on_epoch_end(int epoch, const Logs& logs) {
  if (!file_) return;
  auto number = [](double v) {
    char buf[40];
    if (!std::isfinite(v)) return std::string("null");
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf);
  };
  std::string line = "{\"epoch\": " + std::to_string(epoch + 1);
  for (const auto& kv : logs) {
    if (kv.first == "lr" || kv.first == "seconds" || kv.first == "epoch") continue;
    std::string key;  // JSON string escaping (log keys are metric names)
    for (char ch : kv.first) {
      if (ch == '"' || ch == '\\') key += '\\';
      if (static_cast<unsigned char>(ch) >= 0x20) key += ch;
    }
    line += ", \"" + key + "\": " + number(kv.second);
  }
  line += ", \"lr\": " + number(lr_) + ", \"seconds\": " + number(now_seconds() - t0_) + "}\n";
  std::fputs(line.c_str(), file_);
  std::fflush(file_);
}

void JsonLogger::on_train_end(const Logs&) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
}

// ---- TerminateOnNaN ----

void TerminateOnNaN::on_train_batch_end(int64_t batch, const Logs& logs) {
  const double* v = find_log(logs, "loss");
  if (v && !std::isfinite(*v)) {
    std::printf("batch %lld: invalid loss, terminating training\n", static_cast<long long>(batch));
    model().stop_training = true;
  }
}

}  // namespace sluice::models
