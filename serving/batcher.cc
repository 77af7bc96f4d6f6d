#include "batcher.h"

#include <cstring>
#include <exception>
#include <vector>

#include "worker_wait.h"

namespace sluice::serving {

struct Batcher::Task {
  const std::map<std::string, Tensor>* inputs;
  int64_t rows;
  std::map<std::string, Tensor> outputs;
  std::exception_ptr error;
};

struct Batcher::Batch {
  std::vector<Task*> tasks;
  int64_t rows = 0;
  bool done = false;
  std::condition_variable cv;
};

Batcher::Batcher(const io::LoadedModel& model, std::string signature, BatchOptions options)
    : model_(model), signature_(std::move(signature)), options_(options) {
  SLUICE_REQUIRE(options_.max_batch_size >= 1, InvalidArgument, "max_batch_size must be >= 1, got ",
                 options_.max_batch_size);
}

int64_t Batcher::batches_run() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batches_;
}
int64_t Batcher::rows_run() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rows_;
}

std::map<std::string, Tensor> Batcher::run(const std::map<std::string, Tensor>& inputs, int64_t rows) {
  if (rows < 1 || rows > options_.max_batch_size) return model_.run(signature_, inputs);
  Task task{&inputs, rows, {}, nullptr};
  std::unique_lock<std::mutex> lock(mutex_);
  std::shared_ptr<Batch> batch = open_;
  const bool leader = !batch || batch->rows + rows > options_.max_batch_size;
  if (leader) {
    batch = std::make_shared<Batch>();
    open_ = batch;
  }
  batch->tasks.push_back(&task);
  batch->rows += rows;
  if (leader) {
    const auto deadline = std::chrono::steady_clock::now() + options_.batch_timeout;
    {
      WorkerWait waiting;  // an HTTP worker waiting here lets another one take requests
      batch->cv.wait_until(lock, deadline, [&] { return batch->rows >= options_.max_batch_size; });
    }
    if (open_ == batch) open_.reset();  // closed: later requests start a new batch
    ++batches_;
    rows_ += batch->rows;
    lock.unlock();
    execute(*batch);
    lock.lock();
    batch->done = true;
    batch->cv.notify_all();
  } else {
    if (batch->rows >= options_.max_batch_size) batch->cv.notify_all();  // full: wake the leader
    WorkerWait waiting;
    batch->cv.wait(lock, [&] { return batch->done; });
  }
  lock.unlock();
  if (task.error) std::rethrow_exception(task.error);
  return std::move(task.outputs);
}

namespace {

// The merged inputs, or an empty map when the tasks' inputs cannot be stacked.
std::map<std::string, Tensor> merge(const std::vector<std::map<std::string, Tensor> const*>& parts, int64_t rows) {
  std::map<std::string, Tensor> merged;
  const auto& first = *parts[0];
  for (const auto& kv : first) {
    const Tensor& t0 = kv.second;
    if (t0.rank() < 1 || t0.dtype() == DType::string) return {};
    for (const auto* p : parts) {
      auto it = p->find(kv.first);
      if (p->size() != first.size() || it == p->end()) return {};
      const Tensor& t = it->second;
      if (t.dtype() != t0.dtype() || t.rank() != t0.rank()) return {};
      for (int d = 1; d < t.rank(); ++d)
        if (t.dim(d) != t0.dim(d)) return {};
    }
    Tensor out(t0.dtype(), t0.shape().with_dim(0, rows));
    auto* dst = static_cast<unsigned char*>(out.raw_data());
    for (const auto* p : parts) {
      const Tensor& t = p->at(kv.first);
      if (t.num_bytes()) std::memcpy(dst, t.raw_data(), t.num_bytes());
      dst += t.num_bytes();
    }
    merged.emplace(kv.first, std::move(out));
  }
  return merged;
}

}  // namespace

void Batcher::execute(Batch& batch) {
  auto run_each = [&] {
    for (Task* t : batch.tasks) {
      try {
        t->outputs = model_.run(signature_, *t->inputs);
      } catch (...) {
        t->error = std::current_exception();
      }
    }
  };
  if (batch.tasks.size() == 1) return run_each();
  std::vector<const std::map<std::string, Tensor>*> parts;
  for (Task* t : batch.tasks) parts.push_back(t->inputs);
  std::map<std::string, Tensor> merged = merge(parts, batch.rows);
  if (merged.empty()) return run_each();
  std::map<std::string, Tensor> outputs;
  try {
    outputs = model_.run(signature_, merged);
  } catch (...) {
    return run_each();  // one bad request must not fail the others: each gets its own answer
  }
  for (const auto& kv : outputs)
    if (kv.second.rank() < 1 || kv.second.dim(0) != batch.rows || kv.second.dtype() == DType::string)
      return run_each();  // not batch-major: slicing would be wrong
  int64_t row = 0;
  for (Task* t : batch.tasks) {
    for (const auto& kv : outputs) {
      const Tensor& all = kv.second;
      const size_t row_bytes = all.num_bytes() / static_cast<size_t>(batch.rows);
      Tensor part(all.dtype(), all.shape().with_dim(0, t->rows));
      if (part.num_bytes())
        std::memcpy(part.raw_data(), static_cast<const unsigned char*>(all.raw_data()) + row * row_bytes,
                    part.num_bytes());
      t->outputs.emplace(kv.first, std::move(part));
    }
    row += t->rows;
  }
}

}  // namespace sluice::serving
