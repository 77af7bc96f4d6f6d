// The MPI transport (OpenMPI) and the single-process one. Every MPI call is non-blocking and
// polled against a deadline, so a dead or hung peer turns into a TransportTimeout naming it
// instead of a process that waits forever (MPI itself has no timeouts).
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "transport.h"

namespace sluice::distributed::detail {

namespace {

constexpr int kTagRequest = 101;
constexpr int kTagResponse = 102;

std::string seconds_text(Clock::time_point deadline, Clock::time_point start) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", std::chrono::duration<double>(deadline - start).count());
  return buf;
}

// Polls `req` until it completes or the deadline passes. `spin`: no sleeping (data
// collectives, where MPI progresses only inside MPI_Test).
bool wait_until(MPI_Request* req, Clock::time_point deadline, bool spin) {
  int done = 0;
  for (int i = 0;; ++i) {
    MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (done) return true;
    if ((i & 63) == 0 && Clock::now() > deadline) return false;
    if (!spin) std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i32: return MPI_INT32_T;
    case DType::i64: return MPI_INT64_T;
    case DType::u8: return MPI_UINT8_T;
    case DType::i8: return MPI_INT8_T;
    case DType::i16: return MPI_INT16_T;
    case DType::u16: return MPI_UINT16_T;
    case DType::u32: return MPI_UINT32_T;
    case DType::u64: return MPI_UINT64_T;
    default: break;
  }
  throw InvalidArgument(std::string("allreduce does not support dtype ") + dtype_name(dtype));
}

int checked_int(int64_t n, const char* what) {
  SLUICE_REQUIRE(n >= 0 && n <= INT_MAX, InvalidArgument, what, " of ", n,
                 " exceeds what one MPI call can move (2^31 - 1)");
  return static_cast<int>(n);
}

class MpiTransport : public Transport {
 public:
  MpiTransport() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    // Our own communicator: the engine's messages never meet a user's.
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    std::string v(version, static_cast<size_t>(len));
    library_ = v.substr(0, v.find(','));
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string description() const override {
    return library_ + ", " + std::to_string(size_) + " ranks";
  }

  std::vector<std::string> gather_to_root(const std::string& message,
                                          Clock::time_point deadline) override {
    const auto start = Clock::now();
    if (rank_ != 0) {
      send(message, 0, kTagRequest, deadline, "rank 0 (the coordinator)");
      return {};
    }
    std::vector<std::string> all(static_cast<size_t>(size_));
    all[0] = message;
    std::vector<bool> got(static_cast<size_t>(size_), false);
    got[0] = true;
    int missing = size_ - 1;
    while (missing > 0) {
      bool progress = false;
      for (int r = 1; r < size_; ++r) {
        if (got[r]) continue;
        if (try_receive(r, kTagRequest, &all[r])) {
          got[r] = true;
          --missing;
          progress = true;
        }
      }
      if (missing == 0) break;
      if (Clock::now() > deadline) {
        std::string who;
        for (int r = 1; r < size_; ++r)
          if (!got[r]) who += (who.empty() ? "" : ", ") + std::to_string(r);
        throw TransportTimeout("rank " + who + " sent nothing for " + seconds_text(deadline, start) +
                               " s: it exited, crashed or hangs, or the network failed");
      }
      if (!progress) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    return all;
  }

  void broadcast_from_root(std::string& message, Clock::time_point deadline,
                           const std::vector<int>& only_ranks) override {
    const auto start = Clock::now();
    if (rank_ == 0) {
      for (int r = 1; r < size_; ++r) {
        if (!only_ranks.empty() &&
            std::find(only_ranks.begin(), only_ranks.end(), r) == only_ranks.end())
          continue;
        send(message, r, kTagResponse, deadline, "rank " + std::to_string(r));
      }
      return;
    }
    while (!try_receive(0, kTagResponse, &message)) {
      if (Clock::now() > deadline)
        throw TransportTimeout("rank 0 (the coordinator) did not answer for " +
                               seconds_text(deadline, start) +
                               " s: it exited, crashed or hangs, or the network failed");
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  void allreduce_sum(void* data, int64_t count, DType dtype, Clock::time_point deadline) override {
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, data, checked_int(count, "an allreduce"), mpi_type(dtype),
                   MPI_SUM, comm_, &req);
    if (!wait_until(&req, deadline, true))
      throw TransportTimeout("an allreduce of " + std::to_string(count) + " " +
                             dtype_name(dtype) + " did not complete in time: a rank exited, "
                             "crashed or hangs, or the network failed");
  }

  void broadcast(void* data, int64_t bytes, int root, Clock::time_point deadline) override {
    MPI_Request req;
    MPI_Ibcast(data, checked_int(bytes, "a broadcast"), MPI_BYTE, root, comm_, &req);
    if (!wait_until(&req, deadline, true))
      throw TransportTimeout("a broadcast from rank " + std::to_string(root) +
                             " did not complete in time: a rank exited, crashed or hangs");
  }

  void allgather(const void* mine, void* out, const std::vector<int64_t>& counts,
                 Clock::time_point deadline) override {
    std::vector<int> c(counts.size()), displ(counts.size());
    int64_t off = 0;
    for (size_t r = 0; r < counts.size(); ++r) {
      c[r] = checked_int(counts[r], "an allgather part");
      displ[r] = checked_int(off, "an allgather");
      off += counts[r];
    }
    MPI_Request req;
    MPI_Iallgatherv(mine, c[static_cast<size_t>(rank_)], MPI_BYTE, out, c.data(), displ.data(),
                    MPI_BYTE, comm_, &req);
    if (!wait_until(&req, deadline, true))
      throw TransportTimeout("an allgather did not complete in time: a rank exited, crashed or hangs");
  }

  void finalize() override {
    MPI_Comm_free(&comm_);
    MPI_Finalize();
  }

 private:
  void send(const std::string& message, int dest, int tag, Clock::time_point deadline,
            const std::string& who) {
    MPI_Request req;
    MPI_Isend(message.data(), checked_int(static_cast<int64_t>(message.size()), "a message"),
              MPI_BYTE, dest, tag, comm_, &req);
    if (!wait_until(&req, deadline, false)) {
      MPI_Cancel(&req);
      throw TransportTimeout(who + " did not take a message in time: it exited, crashed or "
                             "hangs, or the network failed");
    }
  }

  bool try_receive(int source, int tag, std::string* out) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(source, tag, comm_, &flag, &status);
    if (!flag) return false;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    out->resize(static_cast<size_t>(count));
    MPI_Recv(out->data(), count, MPI_BYTE, source, tag, comm_, MPI_STATUS_IGNORE);
    return true;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string library_;
};

class LocalTransport : public Transport {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string description() const override { return "single process (not started by mpirun)"; }
  std::vector<std::string> gather_to_root(const std::string& message, Clock::time_point) override {
    return {message};
  }
  void broadcast_from_root(std::string&, Clock::time_point, const std::vector<int>&) override {}
  void allreduce_sum(void*, int64_t, DType, Clock::time_point) override {}
  void broadcast(void*, int64_t, int, Clock::time_point) override {}
  void allgather(const void* mine, void* out, const std::vector<int64_t>& counts,
                 Clock::time_point) override {
    if (counts[0] > 0) std::memcpy(out, mine, static_cast<size_t>(counts[0]));
  }
  void finalize() override {}
};

bool started_by_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

std::unique_ptr<Transport> make_mpi_transport() {
  if (!started_by_mpi_launcher()) return nullptr;
  return std::make_unique<MpiTransport>();
}

std::unique_ptr<Transport> make_local_transport() { return std::make_unique<LocalTransport>(); }

}  // namespace sluice::distributed::detail
