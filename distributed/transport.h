// The wire under the collective engine (distributed/engine.h): point-to-point messages for
// negotiation and three data collectives, each bounded by a deadline. Two implementations:
// MPI (OpenMPI, when the process was started by mpirun) and a single-process one (size 1),
// so the engine, the ops and the optimizer run unchanged without mpirun.
//
// Every call is made from the engine's background thread only (MPI_THREAD_FUNNELED: the
// thread that initialised MPI is the only one that calls it). A call that cannot complete
// before its deadline throws TransportTimeout; nothing here blocks without a bound.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../runtime/dtype.h"
#include "../runtime/error.h"

namespace sluice::distributed::detail {

using Clock = std::chrono::steady_clock;

// A peer did not answer (or a collective did not finish) before the deadline.
class TransportTimeout : public FailedPrecondition {
 public:
  explicit TransportTimeout(const std::string& message) : FailedPrecondition(message) {}
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::string description() const = 0;  // "OpenMPI 4.1.4, 2 ranks" / "single process"

  // Negotiation. Every rank but 0 sends `message` to rank 0; rank 0 returns all ranks'
  // messages (its own first), the others return an empty vector. Rank 0's timeout names the
  // ranks that sent nothing.
  virtual std::vector<std::string> gather_to_root(const std::string& message,
                                                  Clock::time_point deadline) = 0;
  // Rank 0 sends `message` to every other rank (to `only_ranks` when non-empty); the others
  // receive it into `message`.
  virtual void broadcast_from_root(std::string& message, Clock::time_point deadline,
                                   const std::vector<int>& only_ranks = {}) = 0;

  // In-place elementwise sum of `count` elements of `dtype` across ranks.
  virtual void allreduce_sum(void* data, int64_t count, DType dtype, Clock::time_point deadline) = 0;
  // `bytes` bytes from rank `root` to every rank.
  virtual void broadcast(void* data, int64_t bytes, int root, Clock::time_point deadline) = 0;
  // Concatenation of every rank's bytes (rank order) into `out`; counts[r] bytes from rank r.
  virtual void allgather(const void* mine, void* out, const std::vector<int64_t>& counts,
                         Clock::time_point deadline) = 0;
  // Ends MPI (collective); skipped after a failure, when a peer may never join.
  virtual void finalize() = 0;
};

// The MPI transport when this process was started by mpirun (or another MPI launcher:
// OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_RANK in the environment), else nullptr.
// Initialises MPI on the calling thread.
std::unique_ptr<Transport> make_mpi_transport();
// Size 1: every collective is the identity.
std::unique_ptr<Transport> make_local_transport();

}  // namespace sluice::distributed::detail
