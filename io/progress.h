// A Keras-style training progress bar for console programs:
//
//   epoch 2/10 [=============>................] 600/1200 - loss 0.4123 - 5120 examples/s
//
// On a terminal the line is redrawn in place; when the output is a file or a pipe only the
// line that ends each epoch is written, so logs stay one line per epoch.
#pragma once

#include <cstdint>
#include <cstdio>

namespace sluice::io {

class ProgressBar {
 public:
  // `epochs` and `steps_per_epoch` (> 0) fix the "epoch e/E" and "done/total" parts; the bar
  // writes to `out` (stdout by default).
  ProgressBar(int epochs, int64_t steps_per_epoch, std::FILE* out = stdout);

  // Redraws the bar after `done` steps of `epoch` (terminals only; otherwise nothing).
  // `mean_loss` is the running mean of the epoch's losses, `examples_per_second` its rate.
  void update(int epoch, int64_t done, double mean_loss, double examples_per_second) const;

  // Writes the epoch's last state (done may be short of steps_per_epoch when training stops
  // early) and ends the line, on terminals and files alike.
  void end_epoch(int epoch, int64_t done, double mean_loss, double examples_per_second) const;

  bool is_terminal() const { return tty_; }

 private:
  void draw(int epoch, int64_t done, double mean_loss, double examples_per_second, bool end) const;

  int epochs_;
  int64_t steps_;
  std::FILE* out_;
  bool tty_;
};

}  // namespace sluice::io
