// A fixed-size pool of worker threads for intra-op parallelism. Work is split into
// contiguous chunks whose boundaries depend only on (n, grain, num_threads), so a kernel
// that combines per-chunk partial results in chunk order is deterministic however the
// chunks happen to be scheduled.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice {

class ThreadPool {
 public:
  // `num_threads` is the total parallelism, the calling thread included (so 1 means no
  // worker threads). 0 means one per hardware thread.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Number of chunks parallel_for(n, grain, ...) uses: min(num_threads, ceil(n / grain)).
  int num_chunks(int64_t n, int64_t grain) const;

  // Runs fn(begin, end) over num_chunks(n, grain) contiguous chunks of [0, n), the caller
  // taking part; returns when all are done. The first exception thrown by a chunk is
  // re-thrown here. Calls made from inside a chunk run inline (no nested parallelism).
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
  // Same, with the chunk index: fn(chunk, begin, end), chunk in [0, num_chunks(n, grain)).
  void parallel_chunks(int64_t n, int64_t grain,
                       const std::function<void(int, int64_t, int64_t)>& fn);

  // The process-wide pool (one thread per hardware thread), created on first use.
  static ThreadPool& shared();
  static int hardware_threads();

 private:
  struct Job;
  void worker_loop(int index);
  static void run_chunks(Job& job, int participant);

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::atomic<int> queued_{0};  // queue_.size(), readable without the lock
  int sleeping_ = 0;            // workers blocked on cv_ (guarded by mu_)
  bool stop_ = false;
};

}  // namespace sluice
