// Session: runs a Graph. It is bound to one graph, owns that graph's variable values (two
// sessions on one graph hold separate weights), and is safe to call from many threads at
// once. run() prunes the graph to what the fetches and targets need, caches the compiled
// plan per (feeds, fetches, targets), and executes it.
//
//   Session sess(g);
//   sess.run({}, {}, {ops::global_variables_initializer(root)});
//   auto r = sess.run({{img, batch}}, {preds});            // handles...
//   auto s = sess.run({{"img:0", batch}}, {"preds:0"});    // ...or names
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../graph/graph.h"
#include "tensor.h"
#include "thread_pool.h"

namespace sluice {

// A tensor named by handle or by "op_name:index" (or "op_name" for index 0).
class TensorRef {
 public:
  TensorRef(const Output& output) : output_(output) {}        // NOLINT
  TensorRef(const char* name) : name_(name) {}                 // NOLINT
  TensorRef(std::string name) : name_(std::move(name)) {}      // NOLINT
  // The Output in `graph`; throws NotFound for an unknown name and InvalidArgument for a
  // handle of another graph.
  Output resolve(const Graph& graph) const;

 private:
  Output output_;
  std::string name_;
};

// An operation named by handle (an Output stands for its op) or by name.
class OpRef {
 public:
  OpRef(const Operation& op) : op_(op) {}                      // NOLINT
  OpRef(const Output& output) : op_(output.op()) {}            // NOLINT
  OpRef(const char* name) : name_(name) {}                     // NOLINT
  OpRef(std::string name) : name_(std::move(name)) {}          // NOLINT
  Operation resolve(const Graph& graph) const;

 private:
  Operation op_;
  std::string name_;
};

using FeedList = std::vector<std::pair<TensorRef, Tensor>>;

// What Session::run fetches: a braced list of handles and names, or a vector of Outputs,
// TensorRefs or names.
//   sess.run(feeds, {probs, "loss:0"});   std::vector<Output> outs = ...; sess.run(feeds, outs);
class FetchList {
 public:
  FetchList() = default;
  FetchList(std::initializer_list<TensorRef> refs) : refs_(refs) {}        // NOLINT
  FetchList(std::vector<TensorRef> refs) : refs_(std::move(refs)) {}       // NOLINT
  FetchList(const std::vector<Output>& outputs) : refs_(outputs.begin(), outputs.end()) {}  // NOLINT
  FetchList(const std::vector<std::string>& names) : refs_(names.begin(), names.end()) {}   // NOLINT
  const std::vector<TensorRef>& refs() const { return refs_; }

 private:
  std::vector<TensorRef> refs_;
};

// What Session::run runs as targets: a braced list, or a vector of Operations, Outputs (their
// ops), OpRefs or names.
class TargetList {
 public:
  TargetList() = default;
  TargetList(std::initializer_list<OpRef> refs) : refs_(refs) {}           // NOLINT
  TargetList(std::vector<OpRef> refs) : refs_(std::move(refs)) {}          // NOLINT
  TargetList(const std::vector<Operation>& ops) : refs_(ops.begin(), ops.end()) {}      // NOLINT
  TargetList(const std::vector<Output>& outputs) : refs_(outputs.begin(), outputs.end()) {}  // NOLINT
  TargetList(const std::vector<std::string>& names) : refs_(names.begin(), names.end()) {}   // NOLINT
  const std::vector<OpRef>& refs() const { return refs_; }

 private:
  std::vector<OpRef> refs_;
};

struct SessionOptions {
  // Threads for intra-op parallelism, the calling thread included. 0 shares the
  // process-wide pool (one thread per core) with every other session that asks for 0.
  int num_threads = 0;
  // Time every kernel and keep per-op-type totals (Session::op_timings); costs two clock
  // reads per op.
  bool collect_op_timings = false;
  // With collect_op_timings: keep the totals per node instead of per op type (as
  // TensorFlow's RunMetadata step stats), e.g. to see which layer of a model is slow.
  bool op_timings_by_node = false;
  // After every op, check its float outputs (and every fed float value) for NaN and Inf, as
  // tf.add_check_numerics_ops does: the run fails with InvalidArgument naming the first op,
  // in execution order, whose output holds one, e.g. "node 'loss/Log' (Log): loss/Log:0 :
  // Tensor had NaN values" (ops::check_numerics' text). Costs one pass over each output.
  bool check_numerics = false;
  // Run nodes placed on a device this process does not have (a GPU, another task) on the
  // CPU instead of failing at Session creation (as TensorFlow's allow_soft_placement).
  bool allow_soft_placement = false;
};

// Time spent in one op type (or one node, with op_timings_by_node) across all runs of a
// session (collect_op_timings).
struct OpTiming {
  std::string op_type;
  std::string node;  // empty unless op_timings_by_node
  int64_t calls = 0;
  double seconds = 0;
};

class Session {
 public:
  // Fails (InvalidArgument) when a node of the graph is placed on a device this process
  // does not have, naming the node and the device, unless options.allow_soft_placement.
  explicit Session(const Graph& graph, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Feeds `feeds`, runs what `fetches` and `targets` need, returns the fetched values in
  // order. Errors (all sluice::Error): a needed placeholder not fed; a fed value of the
  // wrong dtype or shape; an unknown name; an uninitialised variable; a handle of another
  // graph ("Tensor 'x:0' is not an element of this graph."); any kernel error, prefixed
  // with the node and op that raised it; a NaN or Inf with options.check_numerics.
  std::vector<Tensor> run(const FeedList& feeds, const FetchList& fetches,
                          const TargetList& targets = {});

  const Graph& graph() const;
  ThreadPool& thread_pool() const;
  // Per-op-type (or per-node) kernel times, largest first (empty unless collect_op_timings
  // was set).
  std::vector<OpTiming> op_timings() const;

  // Variable values held by this session, by variable op name.
  bool is_variable_initialized(const std::string& name) const;
  Tensor variable_value(const std::string& name) const;  // FailedPrecondition if not set
  // Sets a variable (dtype and shape must match its declaration); marks it initialised.
  void set_variable_value(const std::string& name, const Tensor& value);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
