// Data-parallel training on MPI (OpenMPI), Horovod-style: the same program runs on N
// processes (`mpirun -np N prog`), each on its share of the data; gradients are averaged by
// allreduce before they are applied, and rank 0's initial weights are broadcast.
//
//   distributed::init();                                              // 1
//   Operation train = optimizers::Distributed(optimizers::Adam(1e-3)).minimize(root, loss);  // 2
//   sess.run({}, {}, {ops::global_variables_initializer(root)});
//   distributed::broadcast_variables(sess);                           // 3
//
// Collectives are matched across ranks by name (the node's name: graphs built the same
// way on every rank name their nodes the same), never by execution order. A background
// thread per process negotiates with rank 0 every cycle (default 1 ms) which named
// collectives every rank has submitted, fuses ready allreduces into one buffer (default
// 64 MB) and runs them while the submitting thread goes on with the backward pass.
//
// Without mpirun (or with MPI absent at run time) everything works with size() == 1.
// Errors: a rank that exits, crashes or hangs makes the others fail with
// FailedPrecondition within Options::timeout_seconds; ranks that disagree about a
// collective's kind, dtype or shape, or whose collectives never match (different names),
// fail with InvalidArgument naming the first difference.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../graph/optimizers.h"
#include "../graph/scope.h"
#include "../runtime/session.h"

namespace sluice::distributed {

struct Options {
  // Allreduces waiting in the same cycle are packed into one buffer up to this many bytes
  // (Horovod's HOROVOD_FUSION_THRESHOLD). 0 disables fusion. Env SLUICE_FUSION_THRESHOLD.
  int64_t fusion_threshold_bytes = 64 << 20;
  // Negotiation period (Horovod's HOROVOD_CYCLE_TIME). Env SLUICE_CYCLE_TIME_MS.
  double cycle_time_ms = 1.0;
  // A peer that does not answer for this long is declared failed. Env SLUICE_MPI_TIMEOUT.
  double timeout_seconds = 60.0;
  // Every rank blocked on collectives that no other rank submitted for this long: the
  // graphs disagree (different names); fail naming them. Env SLUICE_MISMATCH_SECONDS.
  double mismatch_seconds = 2.0;
  // Rank 0 writes a Chrome-trace JSON timeline here at shutdown (chrome://tracing,
  // ui.perfetto.dev), as HOROVOD_TIMELINE. Env SLUICE_TIMELINE.
  std::string timeline_path;
};

// Starts the engine (and MPI when started by mpirun). Idempotent: later calls return at
// once. Ops and helpers below call it with default options when needed. Env variables
// override `options`.
void init(const Options& options = {});
// Ends the engine: waits for in-flight collectives, tells the other ranks, finalises MPI
// and writes the timeline. Collectives afterwards (on any rank) fail with
// FailedPrecondition. Called automatically at exit.
void shutdown();
bool initialized();
int rank();        // 0 .. size()-1
int size();        // number of processes (1 without mpirun)
int local_rank();  // rank among the processes on this machine
int local_size();
std::string description();  // "Open MPI v4.1.4, 2 ranks" or "single process ..."

enum class ReduceOp { sum, average };

// ---- graph ops (each names itself: the collective's name is the node's name) ----

// x [any] -> [same shape]: the elementwise sum (or average) of x over all ranks. Numeric
// dtypes. d/dx = allreduce(dy) with the same op (every rank's output depends on every x).
Output allreduce(const Scope& scope, const Output& x, ReduceOp op = ReduceOp::average);
// As above, but the collective only runs when `enabled` (bool scalar, equal on every rank)
// is true at run time; false: x passes through unchanged (synchronized batch norm's
// statistics in inference runs, where a single rank may evaluate alone).
Output allreduce_if(const Scope& scope, const Output& x, const Output& enabled,
                    ReduceOp op = ReduceOp::average);
// x [any] -> [same shape]: root's x on every rank (shapes must agree). d/dx on the root is
// the sum of dy over ranks, 0 elsewhere.
Output broadcast(const Scope& scope, const Output& x, int root = 0);
// x [n_r, ...] -> [sum_r n_r, ...]: every rank's x concatenated in rank order along dim 0
// (n_r may differ per rank; the other dims must agree). d/dx = rank r's rows of
// allreduce_sum(dy).
Output allgather(const Scope& scope, const Output& x);

// ---- variables, checkpoints, data ----

// Sets every global variable of the session's graph to root's value. Call after the
// initializer (or a restore) on every rank. Ranks whose variables differ in name, dtype
// or shape fail with InvalidArgument naming the first difference.
void broadcast_variables(Session& session, int root = 0);
// Saves every global variable to `path` on rank 0 only (io::Saver); every rank returns
// after the file is complete, and all fail if the save failed.
void save_checkpoint(Session& session, const std::string& path);
// Restores `path` on rank `root` and broadcasts it, so every rank holds the checkpoint's
// values (the file need only exist on the root's machine).
void restore_checkpoint(Session& session, const std::string& path, int root = 0);

// Rank r's share of each epoch's shuffled order of `num_examples` examples: the order is
// shuffled with (seed, epoch) identically on every rank, and rank r takes positions r,
// r + N, r + 2N, ... (as PyTorch's DistributedSampler), so the k-th mini-batch of size b of
// every rank together form the k-th mini-batch of size N*b of the full order. Every rank
// gets the same count: ceil(n / N), wrapping around to the start of the order, or
// floor(n / N) with drop_remainder. The result feeds io::gather_rows as any order does.
std::vector<int64_t> shard_order(int64_t num_examples, uint64_t seed, int64_t epoch,
                                 bool drop_remainder = false);
std::vector<int64_t> shard_order(int64_t num_examples, uint64_t seed, int64_t epoch, int rank,
                                 int size, bool drop_remainder = false);
// The same epoch order every rank computes before sharding (std::shuffle of 0..n-1 with
// std::mt19937_64(seed * 1000003 + epoch)).
std::vector<int64_t> epoch_order(int64_t num_examples, uint64_t seed, int64_t epoch);

// ---- measurements ----

// Since the last reset: what the engine did on this rank.
struct Stats {
  int64_t tensors = 0;           // collectives completed
  int64_t fused_batches = 0;     // data transfers (one per fused buffer)
  int64_t bytes = 0;             // bytes reduced/broadcast/gathered
  double collective_seconds = 0; // background thread busy in data transfers
  double wait_seconds = 0;       // graph threads blocked waiting for results
  // Transfer time while no graph thread was waiting: hidden behind computation.
  double overlapped_seconds = 0;
};
Stats stats();
void reset_stats();

}  // namespace sluice::distributed

namespace sluice::optimizers {

// Wraps an optimizer so every gradient is averaged across ranks (distributed::allreduce,
// fused and started as soon as computed) before the wrapped optimizer applies it. With
// size() == 1 the gradients pass unchanged (no collective ops are built).
//   auto opt = optimizers::Distributed(optimizers::SGD(0.1));
//   Operation train = opt.minimize(root, loss);
class DistributedOptimizer {
 public:
  explicit DistributedOptimizer(std::shared_ptr<Optimizer> inner,
                                distributed::ReduceOp op = distributed::ReduceOp::average);
  GradsAndVars compute_gradients(const Scope& scope, const Output& loss,
                                 const std::vector<Operation>& var_list = {}) const;
  Operation apply_gradients(const Scope& scope, const GradsAndVars& grads_and_vars);
  Operation minimize(const Scope& scope, const Output& loss,
                     const std::vector<Operation>& var_list = {});
  Optimizer& inner() { return *inner_; }

 private:
  std::shared_ptr<Optimizer> inner_;
  distributed::ReduceOp op_;
};

// Distributed(SGD(0.1)), Distributed(my_adam): the optimizer is copied (build nothing with
// it before wrapping).
template <class Opt>
DistributedOptimizer Distributed(Opt opt,
                                 distributed::ReduceOp op = distributed::ReduceOp::average) {
  static_assert(std::is_base_of_v<Optimizer, Opt>, "Distributed() wraps an optimizers::Optimizer");
  return DistributedOptimizer(std::make_shared<Opt>(std::move(opt)), op);
}

}  // namespace sluice::optimizers
