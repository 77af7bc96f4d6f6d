// Server-side batching (TF Serving's --enable_batching): concurrent requests to one signature
// of one model version are merged along dimension 0 into one Session run, up to
// max_batch_size rows or until batch_timeout_micros has passed since the first of them
// arrived, and each request gets its own rows of the outputs back.
//
// No extra threads: the first request of a batch leads it (waits for company, runs the merged
// inputs, hands every member its slice); the others wait for it. Answers equal unbatched
// ones: a batch whose inputs cannot be merged (dtypes or trailing dims differ), whose run
// fails, or whose outputs are not batch-major is run again request by request, so each
// request gets exactly the answer (or error) it would get alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <sluice/sluice.h>

namespace sluice::serving {

struct BatchOptions {
  int64_t max_batch_size = 32;                      // rows per merged run
  std::chrono::microseconds batch_timeout{1000};    // longest a batch waits to fill
};

class Batcher {
 public:
  // `model` must outlive the batcher.
  Batcher(const io::LoadedModel& model, std::string signature, BatchOptions options);

  // Runs `inputs` (every tensor with dim 0 == rows) as part of a batch and returns this
  // request's outputs. A request of more than max_batch_size rows runs alone.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs, int64_t rows);

  // Merged runs so far and the rows they held (for metrics and tests).
  int64_t batches_run() const;
  int64_t rows_run() const;

 private:
  struct Task;
  struct Batch;
  void execute(Batch& batch);

  const io::LoadedModel& model_;
  const std::string signature_;
  const BatchOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<Batch> open_;
  int64_t batches_ = 0, rows_ = 0;
};

}  // namespace sluice::serving
