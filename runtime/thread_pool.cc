#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <exception>

#include "denormal.h"

namespace sluice {

namespace {
thread_local int t_inside_chunk = 0;  // > 0 while this thread runs a chunk
}

struct ThreadPool::Job {
  const std::function<void(int, int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;
  int chunks = 0;
  std::atomic<int> next{0};  // chunks claimed so far (any order)
  std::unique_ptr<std::atomic<bool>[]> taken;
  std::atomic<int> done{0};
  std::mutex mu;
  std::condition_variable cv;
  std::exception_ptr error;
};

ThreadPool::ThreadPool(int num_threads)
    : num_threads_(num_threads > 0 ? num_threads : hardware_threads()) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i - 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

ThreadPool& ThreadPool::shared() {
  static ThreadPool pool(0);
  return pool;
}

int ThreadPool::num_chunks(int64_t n, int64_t grain) const {
  if (n <= 0) return 0;
  if (grain < 1) grain = 1;
  const int64_t by_grain = (n + grain - 1) / grain;
  return static_cast<int>(std::min<int64_t>(num_threads_, by_grain));
}

// Participant p (0 = the caller, k + 1 = worker k) first takes chunk p, then any chunk
// left. Kernels that follow each other over the same data then tend to find their chunk
// in the same core's cache (a GEMM's output rows and the update that reads them).
void ThreadPool::run_chunks(Job& job, int participant) {
  auto run = [&job](int i) {
    const int64_t begin = job.n * i / job.chunks, end = job.n * (i + 1) / job.chunks;
    ++t_inside_chunk;
    try {
      (*job.fn)(i, begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.mu);
      if (!job.error) job.error = std::current_exception();
    }
    --t_inside_chunk;
    if (job.done.fetch_add(1, std::memory_order_acq_rel) + 1 == job.chunks) {
      std::lock_guard<std::mutex> lock(job.mu);
      job.cv.notify_all();
    }
  };
  auto claim = [&job](int i) {
    if (job.taken[i].exchange(true, std::memory_order_acq_rel)) return false;
    job.next.fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  if (participant < job.chunks && claim(participant)) run(participant);
  for (int i = 0; i < job.chunks && job.next.load(std::memory_order_relaxed) < job.chunks; ++i)
    if (claim(i)) run(i);
}

void ThreadPool::worker_loop(int index) {
  const ScopedFlushDenormal flush_denormals;  // workers only ever run kernels
  for (;;) {
    // Kernels come in quick succession: spin briefly before sleeping, so handing a chunk
    // to a worker costs well under a microsecond instead of a futex wake-up.
    const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    while (queued_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < spin_until) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++sleeping_;
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      --sleeping_;
      if (stop_ && queue_.empty()) return;
      job = queue_.front();
      if (job->next.load(std::memory_order_relaxed) >= job->chunks) {
        queue_.pop_front();  // every chunk already claimed
        queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
        continue;
      }
    }
    run_chunks(*job, index + 1);
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue_.empty() && queue_.front() == job) {
      queue_.pop_front();
      queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
    }
  }
}

void ThreadPool::parallel_chunks(int64_t n, int64_t grain,
                                 const std::function<void(int, int64_t, int64_t)>& fn) {
  const int chunks = num_chunks(n, grain);
  if (chunks == 0) return;
  if (chunks == 1 || t_inside_chunk > 0) {
    // Inline, but with the same chunk boundaries, so results do not depend on nesting.
    for (int i = 0; i < chunks; ++i) fn(i, n * i / chunks, n * (i + 1) / chunks);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  job->chunks = chunks;
  job->taken.reset(new std::atomic<bool>[chunks]);
  for (int i = 0; i < chunks; ++i) job->taken[i].store(false, std::memory_order_relaxed);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job);
    queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
    wake = sleeping_ > 0;
  }
  if (wake) {
    if (chunks - 1 >= static_cast<int>(workers_.size())) {
      cv_.notify_all();
    } else {
      for (int i = 1; i < chunks; ++i) cv_.notify_one();
    }
  }
  run_chunks(*job, 0);
  // Wait for chunks that workers claimed: spin briefly (they are usually short), then sleep.
  for (int spin = 0; spin < 2000 && job->done.load(std::memory_order_acquire) < chunks; ++spin) {
    std::this_thread::yield();
  }
  if (job->done.load(std::memory_order_acquire) < chunks) {
    std::unique_lock<std::mutex> lock(job->mu);
    job->cv.wait(lock, [&] { return job->done.load(std::memory_order_acquire) >= chunks; });
  }
  {
    // Drop the job if no worker got round to popping it.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (*it == job) {
        queue_.erase(it);
        queued_.store(static_cast<int>(queue_.size()), std::memory_order_release);
        break;
      }
    }
  }
  if (job->error) std::rethrow_exception(job->error);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  parallel_chunks(n, grain, [&fn](int, int64_t b, int64_t e) { fn(b, e); });
}

}  // namespace sluice
