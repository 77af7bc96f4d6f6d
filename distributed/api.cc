// init/rank/size, broadcast_variables, rank-0 checkpoints, data sharding, statistics, the
// Distributed optimizer wrapper and the hook that synchronises batch normalization.
#include <algorithm>
#include <numeric>
#include <random>

#include "../graph/normalization_layers.h"
#include "../io/saver.h"
#include "collective_ops.h"
#include "distributed.h"
#include "engine.h"

namespace sluice::distributed {

using detail::Engine;
using detail::Kind;
using detail::Request;

void init(const Options& options) {
  register_collective_ops();
  Engine::instance(&options);
}
void shutdown() {
  if (Engine::started()) Engine::instance().shutdown();
}
bool initialized() { return Engine::started(); }
int rank() { return Engine::instance().rank(); }
int size() { return Engine::instance().size(); }
int local_rank() { return Engine::instance().local_rank(); }
int local_size() { return Engine::instance().local_size(); }
std::string description() { return Engine::instance().description(); }
Stats stats() { return Engine::instance().stats(); }
void reset_stats() { Engine::instance().reset_stats(); }

namespace {

Request request(const std::string& name, Kind kind, const Tensor& t, int root = 0) {
  Request r;
  r.name = name;
  r.kind = kind;
  r.dtype = t.dtype();
  r.shape = t.shape().dims();
  r.root = root;
  r.op = ReduceOp::sum;
  return r;
}

// Every rank's `text`, through one allgather named `name`.
std::vector<std::string> allgather_strings(const std::string& name, const std::string& text) {
  Engine& e = Engine::instance();
  Tensor t(DType::u8, Shape{static_cast<int64_t>(text.size())});
  std::copy(text.begin(), text.end(), t.data<uint8_t>());
  e.submit(request(name, Kind::allgather, t), t);
  std::vector<int64_t> lengths;
  const Tensor all = e.wait(name, &lengths);
  std::vector<std::string> r;
  int64_t off = 0;
  for (int64_t n : lengths) {
    r.emplace_back(reinterpret_cast<const char*>(all.data<uint8_t>()) + off, static_cast<size_t>(n));
    off += n;
  }
  return r;
}

// Every rank learns whether `ok` held on every rank (an allreduce of failure counts).
int64_t count_failures(const std::string& name, bool ok) {
  Engine& e = Engine::instance();
  Tensor t = Tensor::from_vector<int64_t>({ok ? 0 : 1}, {1});
  e.submit(request(name, Kind::allreduce, t), t);
  return e.wait(name).data<int64_t>()[0];
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> r;
  size_t b = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == '\n') {
      if (i > b) r.push_back(s.substr(b, i - b));
      b = i + 1;
    }
  return r;
}

}  // namespace

void broadcast_variables(Session& session, int root) {
  Engine& e = Engine::instance();
  SLUICE_REQUIRE(root >= 0 && root < e.size(), InvalidArgument, "broadcast_variables: root ", root,
                 " is not a rank (size ", e.size(), ")");
  const std::vector<Operation> vars = session.graph().global_variables();
  std::string signature;
  for (const Operation& v : vars)
    signature += v.name() + " " + dtype_name(v.output(0).dtype()) + v.output(0).shape().to_string() + "\n";
  // Agree on the variables first, so a difference is named instead of deadlocking.
  const std::vector<std::string> all = allgather_strings("sluice/broadcast_variables/signature", signature);
  const std::vector<std::string> want = split_lines(all[static_cast<size_t>(root)]);
  for (int r = 0; r < e.size(); ++r) {
    const std::vector<std::string> have = split_lines(all[static_cast<size_t>(r)]);
    for (size_t i = 0; i < std::max(have.size(), want.size()); ++i) {
      const std::string a = i < want.size() ? want[i] : "(nothing)";
      const std::string b = i < have.size() ? have[i] : "(nothing)";
      SLUICE_REQUIRE(a == b, InvalidArgument, "broadcast_variables: the ranks' variables differ: variable ",
                     i, " is ", a, " on rank ", root, " but ", b, " on rank ", r);
    }
  }
  std::vector<std::string> names;
  for (const Operation& v : vars) {
    SLUICE_REQUIRE(session.is_variable_initialized(v.name()), FailedPrecondition,
                   "broadcast_variables: variable '", v.name(),
                   "' is not initialised; run the initializer (or restore) first");
    const Tensor value = session.variable_value(v.name());
    const std::string name = "sluice/broadcast_variables/" + v.name();
    e.submit(request(name, Kind::broadcast, value, root), value);
    names.push_back(name);
  }
  for (size_t i = 0; i < vars.size(); ++i) session.set_variable_value(vars[i].name(), e.wait(names[i]));
}

void save_checkpoint(Session& session, const std::string& path) {
  std::string error;
  if (rank() == 0) {
    try {
      io::Saver(session.graph()).save(session, path);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  if (count_failures("sluice/save_checkpoint/status", error.empty()) > 0) {
    SLUICE_REQUIRE(rank() != 0, FailedPrecondition, error);
    throw FailedPrecondition("save_checkpoint: rank 0 could not save '" + path + "'");
  }
}

void restore_checkpoint(Session& session, const std::string& path, int root) {
  std::string error;
  if (rank() == root) {
    try {
      io::Saver(session.graph()).restore(session, path);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  if (count_failures("sluice/restore_checkpoint/status", error.empty()) > 0) {
    SLUICE_REQUIRE(rank() != root, FailedPrecondition, error);
    throw FailedPrecondition("restore_checkpoint: rank " + std::to_string(root) +
                             " could not restore '" + path + "'");
  }
  broadcast_variables(session, root);
}

std::vector<int64_t> epoch_order(int64_t num_examples, uint64_t seed, int64_t epoch) {
  SLUICE_REQUIRE(num_examples >= 0, InvalidArgument, "epoch_order: num_examples ", num_examples, " < 0");
  std::vector<int64_t> order(static_cast<size_t>(num_examples));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

std::vector<int64_t> shard_order(int64_t num_examples, uint64_t seed, int64_t epoch, int rank,
                                 int size, bool drop_remainder) {
  SLUICE_REQUIRE(size >= 1 && rank >= 0 && rank < size, InvalidArgument, "shard_order: rank ",
                 rank, " of size ", size);
  const std::vector<int64_t> order = epoch_order(num_examples, seed, epoch);
  const int64_t per = drop_remainder ? num_examples / size : (num_examples + size - 1) / size;
  SLUICE_REQUIRE(num_examples == 0 || per > 0 || drop_remainder, InvalidArgument,
                 "shard_order: ", num_examples, " examples for ", size, " ranks");
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(per));
  for (int64_t i = 0; i < per && num_examples > 0; ++i)
    mine.push_back(order[static_cast<size_t>((i * size + rank) % num_examples)]);
  return mine;
}

std::vector<int64_t> shard_order(int64_t num_examples, uint64_t seed, int64_t epoch,
                                 bool drop_remainder) {
  return shard_order(num_examples, seed, epoch, rank(), size(), drop_remainder);
}

namespace {

// Synchronized batch normalization sums its moments over the replicas through this.
Output cross_replica_sum(const Scope& scope, const Output& x, const Output& enabled) {
  if (size() == 1) return x;
  return allreduce_if(scope, x, enabled, ReduceOp::sum);
}

const bool hook_installed = (layers::set_cross_replica_sum(cross_replica_sum), true);

}  // namespace

}  // namespace sluice::distributed

namespace sluice::optimizers {

DistributedOptimizer::DistributedOptimizer(std::shared_ptr<Optimizer> inner, distributed::ReduceOp op)
    : inner_(std::move(inner)), op_(op) {
  SLUICE_REQUIRE(inner_, InvalidArgument, "Distributed: no optimizer to wrap");
}

GradsAndVars DistributedOptimizer::compute_gradients(const Scope& scope, const Output& loss,
                                                     const std::vector<Operation>& var_list) const {
  GradsAndVars gv = inner_->compute_gradients(scope, loss, var_list);
  if (distributed::size() == 1) return gv;  // as Horovod: nothing to average
  const Scope ds = scope.without_name().with_prefix(
      scope.graph().unique_name(scope.prefix() + "DistributedOptimizer"));
  for (auto& p : gv) p.first = distributed::allreduce(ds.sub(p.second.node()->name), p.first, op_);
  return gv;
}

Operation DistributedOptimizer::apply_gradients(const Scope& scope, const GradsAndVars& grads_and_vars) {
  return inner_->apply_gradients(scope, grads_and_vars);
}

Operation DistributedOptimizer::minimize(const Scope& scope, const Output& loss,
                                         const std::vector<Operation>& var_list) {
  return apply_gradients(scope, compute_gradients(scope, loss, var_list));
}

}  // namespace sluice::optimizers
