// The collective engine: one background thread per process that owns the transport (MPI),
// negotiates every cycle with rank 0 which named collectives all ranks have submitted,
// fuses ready allreduces into one buffer and runs the transfers, as Horovod's background
// loop does. Graph threads submit (MpiAllreduceAsync and friends) and later wait by name.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../runtime/tensor.h"
#include "distributed.h"
#include "transport.h"

namespace sluice::distributed::detail {

enum class Kind : uint8_t { allreduce, broadcast, allgather };
const char* kind_name(Kind kind);

// What one rank announces for one collective.
struct Request {
  std::string name;
  Kind kind = Kind::allreduce;
  ReduceOp op = ReduceOp::sum;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  int32_t root = 0;
  std::string describe() const;  // "allreduce(average) f32[3,4]"
};

// The coordinator's decision for one transfer: one collective, or several fused allreduces.
struct Response {
  Kind kind = Kind::allreduce;
  std::vector<std::string> names;
  std::vector<int64_t> first_dims;  // allgather: dim 0 of every rank's input
};

// A timeline event (Chrome trace format, microseconds since the engine started).
struct TimelineEvent {
  std::string name;
  char phase;  // 'X' span, 'i' instant
  int track;   // 1 graph threads, 2 transfers, 3 negotiation
  double ts_us, dur_us;
  std::string args;  // JSON object body
};

class Engine {
 public:
  // The running engine, started with `options` on first call.
  static Engine& instance(const Options* options = nullptr);
  static bool started();

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  const std::string& description() const { return description_; }

  // Announces a collective; the input is held until it has been sent.
  void submit(Request request, const Tensor& input);
  // A collective that completes locally with its input as result (allreduce_if disabled).
  void submit_passthrough(const std::string& name, const Tensor& input);
  // Blocks until `name` completed; returns its result. allgather: `first_dims` gets dim 0
  // of every rank's input. Throws the engine's failure.
  Tensor wait(const std::string& name, std::vector<int64_t>* first_dims = nullptr);

  void shutdown();
  Stats stats() const;
  void reset_stats();

 private:
  struct Entry {
    Request request;
    Tensor input, output;
    std::vector<int64_t> first_dims;
    bool done = false;
    double enqueued_us = 0;
  };
  struct Pending {  // rank 0: one collective being negotiated
    Request first;
    int first_rank = 0;
    std::vector<bool> have;
    std::vector<int64_t> first_dims;
    int count = 0;
  };
  struct Message {
    std::vector<Request> requests;
    bool shutdown = false, waiting = false;
  };
  struct Decision {
    std::vector<Response> responses;
    bool shutdown = false;
    std::string shutdown_ranks;  // who asked to shut down
    std::string error;  // InvalidArgument for every rank
  };

  explicit Engine(const Options& options);
  void loop();
  Decision coordinate(const std::vector<std::string>& messages);
  void execute(const Response& response);
  void fail(const std::string& message, bool invalid_argument);
  double now_us() const;
  void record(TimelineEvent event);
  void write_timeline() const;
  double overlap_with_waits(double t0, double t1);

  Options options_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false, stop_requested_ = false, stopped_ = false;
  std::string failure_;            // sticky: every later collective fails with it
  bool failure_invalid_ = false;   // InvalidArgument (graphs disagree) vs FailedPrecondition
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::vector<Request> outbox_;
  int waiters_ = 0;
  std::vector<std::pair<double, double>> wait_spans_;  // recent waits, for overlap
  double wait_started_us_ = 0;

  // Background thread only.
  std::unique_ptr<Transport> transport_;
  std::map<std::string, Pending> table_;   // rank 0
  std::vector<std::string> arrival_;       // rank 0: names in first-seen order
  double stuck_since_us_ = -1;
  std::vector<char> fusion_buffer_;

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string description_;
  std::chrono::steady_clock::time_point start_;
  Stats stats_;
  mutable std::mutex timeline_mu_;  // graph threads and the loop both record
  std::vector<TimelineEvent> timeline_;
};

}  // namespace sluice::distributed::detail
