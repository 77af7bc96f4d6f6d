#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <string>

namespace sluice::io {

ProgressBar::ProgressBar(int epochs, int64_t steps_per_epoch, std::FILE* out)
    : epochs_(epochs),
      steps_(std::max<int64_t>(steps_per_epoch, 1)),
      out_(out),
      tty_(isatty(fileno(out)) != 0) {}

void ProgressBar::update(int epoch, int64_t done, double mean_loss,
                         double examples_per_second) const {
  if (tty_) draw(epoch, done, mean_loss, examples_per_second, false);
}

void ProgressBar::end_epoch(int epoch, int64_t done, double mean_loss,
                            double examples_per_second) const {
  draw(epoch, done, mean_loss, examples_per_second, true);
}

void ProgressBar::draw(int epoch, int64_t done, double mean_loss, double examples_per_second,
                       bool end) const {
  constexpr int kWidth = 30;
  const int64_t clamped = std::clamp<int64_t>(done, 0, steps_);
  const int filled = static_cast<int>(kWidth * clamped / steps_);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), '.');
  std::fprintf(out_, "%sepoch %d/%d [%s] %lld/%lld - loss %.4f - %.0f examples/s", tty_ ? "\r" : "",
               epoch, epochs_, bar.c_str(), static_cast<long long>(done),
               static_cast<long long>(steps_), mean_loss, examples_per_second);
  if (end) std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace sluice::io
