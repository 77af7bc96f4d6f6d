// Marks a stretch in which the calling thread waits instead of computing (a request waiting
// for its batch to fill or run). On a worker of the HTTP loop (http_loop.h) it lets the loop
// run another worker meanwhile: the loop keeps as many workers computing as there are cores,
// and a worker that waits must not count. Anywhere else it does nothing.
//
//   { WorkerWait waiting; cv.wait(lock, ...); }
#pragma once

namespace sluice::serving {

class WorkerWait {
 public:
  WorkerWait();
  ~WorkerWait();
  WorkerWait(const WorkerWait&) = delete;
  WorkerWait& operator=(const WorkerWait&) = delete;

  // What a WorkerWait on this thread calls (set by the loop on each of its workers; nullptr:
  // nothing).
  struct Hooks {
    void (*begin)(void* owner);
    void (*end)(void* owner);
    void* owner;
  };
  static void set_thread_hooks(const Hooks* hooks);

 private:
  const Hooks* hooks_;
};

}  // namespace sluice::serving
