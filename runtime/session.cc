#include "session.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <queue>
#include <shared_mutex>
#include <unordered_map>

#include "../graph/device.h"
#include "../graph/graph_data.h"
#include "denormal.h"
#include "../ops/numerics_ops.h"
#include "../ops/registry.h"

namespace sluice {

// ---- name resolution ----

namespace {
std::string placeholder_hint(const Output& x) {
  return detail::str_cat("placeholder tensor '", x.node()->name, "' with dtype ",
                         dtype_name(x.dtype()), " and shape ", x.shape().to_string());
}
}  // namespace

Output TensorRef::resolve(const Graph& graph) const {
  if (!name_.empty()) return graph.tensor(name_);
  SLUICE_REQUIRE(output_.valid(), InvalidArgument, "an empty Output handle was fed or fetched");
  SLUICE_REQUIRE(output_.node()->graph == graph.data(), InvalidArgument, "Tensor '",
                 output_.name(), "' is not an element of this graph.");
  return output_;
}

Operation OpRef::resolve(const Graph& graph) const {
  if (!name_.empty()) return graph.operation(name_);
  SLUICE_REQUIRE(op_.valid(), InvalidArgument, "an empty Operation handle was given as a target");
  SLUICE_REQUIRE(op_.node()->graph == graph.data(), InvalidArgument, "Operation '",
                 op_.name(), "' is not an element of this graph.");
  return op_;
}

// ---- the compiled plan ----

namespace {

// Sluice has one device, this process's CPU. A node placed elsewhere fails unless soft
// placement is allowed (then it runs on the CPU).
void check_placement(const Node& n, bool allow_soft_placement) {
  if (n.device.empty() || allow_soft_placement) return;
  if (DeviceSpec::parse(n.device).is_local_cpu()) return;
  throw InvalidArgument(detail::str_cat(
      "Cannot assign a device for ", n.describe(), ": device '", n.device,
      "' does not exist in this process (available: ", kLocalCpuDevice,
      "); set SessionOptions::allow_soft_placement to run it on the CPU"));
}

struct Step {
  const Node* node = nullptr;
  KernelFn kernel = nullptr;
  int first_input = 0;    // into Plan::input_slots / Plan::input_vars
  int num_inputs = 0;
  int first_output = 0;   // output j goes to slot first_output + j
  int num_outputs = 0;
  int first_release = 0;  // into Plan::releases
  int num_release = 0;
  uint32_t forwardable = 0;  // bit i: input i may be reused in place
  NodeState* state = nullptr;
  // A Const's value, taken once here: a run hands it out without calling the kernel (a
  // model's weights are a hundred or more Const steps per run). The output check after each
  // step covers it as it covers a kernel's output.
  Tensor constant;
};

struct Plan {
  std::vector<Step> steps;
  std::vector<int> input_slots;              // -1 for a ref input
  std::vector<VariableSlot*> input_vars;     // non-null for ref inputs (and VariableV2 reads)
  std::vector<int> releases;
  std::vector<int> feed_slots;               // per feed, in the caller's order
  std::vector<Output> feed_outputs;
  std::vector<int> fetch_slots;
  int num_slots = 0;
  int max_inputs = 1;
};

}  // namespace

struct Session::Impl {
  Graph graph;
  std::unique_ptr<ThreadPool> own_pool;
  ThreadPool* pool = nullptr;

  // Plans by key: the (node id, output index) of every feed and fetch, and the node id of
  // every target, in order, with separators.
  struct KeyHash {
    size_t operator()(const std::vector<int64_t>& k) const {
      uint64_t h = 1469598103934665603ull;  // FNV-1a over the words
      for (int64_t v : k) h = (h ^ static_cast<uint64_t>(v)) * 1099511628211ull;
      return static_cast<size_t>(h);
    }
  };
  std::shared_mutex plans_mu;
  std::unordered_map<std::vector<int64_t>, std::shared_ptr<const Plan>, KeyHash> plans;

  bool profile = false;
  bool profile_by_node = false;
  bool check_numerics = false;
  bool allow_soft_placement = false;
  mutable std::mutex timings_mu;
  std::map<std::string, OpTiming> timings;

  mutable std::mutex state_mu;
  std::unordered_map<const Node*, std::unique_ptr<VariableSlot>> variables;
  std::unordered_map<const Node*, std::unique_ptr<NodeState>> node_states;

  VariableSlot* variable_slot(const Node* var) {
    std::lock_guard<std::mutex> lock(state_mu);
    auto& slot = variables[var];
    if (!slot) {
      slot = std::make_unique<VariableSlot>();
      slot->node = var;
    }
    return slot.get();
  }

  NodeState* node_state(const Node* n) {
    std::lock_guard<std::mutex> lock(state_mu);
    auto& s = node_states[n];
    if (!s) s = std::make_unique<NodeState>();
    return s.get();
  }

  std::shared_ptr<const Plan> compile(const std::vector<Output>& feeds,
                                      const std::vector<Output>& fetches,
                                      const std::vector<Operation>& targets);
  std::shared_ptr<const Plan> plan_for(const std::vector<Output>& feeds,
                                       const std::vector<Output>& fetches,
                                       const std::vector<Operation>& targets);
};

std::shared_ptr<const Plan> Session::Impl::plan_for(const std::vector<Output>& feeds,
                                                    const std::vector<Output>& fetches,
                                                    const std::vector<Operation>& targets) {
  std::vector<int64_t> key;
  key.reserve(feeds.size() + fetches.size() + targets.size() + 2);
  auto word = [](const Output& o) { return int64_t{o.node()->id} << 32 | o.index(); };
  for (const Output& f : feeds) key.push_back(word(f));
  key.push_back(-1);
  for (const Output& f : fetches) key.push_back(word(f));
  key.push_back(-2);
  for (const Operation& t : targets) key.push_back(t.node()->id);
  {
    std::shared_lock<std::shared_mutex> lock(plans_mu);
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
  }
  auto plan = compile(feeds, fetches, targets);
  std::unique_lock<std::shared_mutex> lock(plans_mu);
  return plans.emplace(key, std::move(plan)).first->second;
}

std::shared_ptr<const Plan> Session::Impl::compile(const std::vector<Output>& feeds,
                                                   const std::vector<Output>& fetches,
                                                   const std::vector<Operation>& targets) {
  auto plan = std::make_shared<Plan>();
  std::map<Output, int> fed;  // fed output -> feed index
  for (size_t i = 0; i < feeds.size(); ++i) {
    SLUICE_REQUIRE(fed.emplace(feeds[i], static_cast<int>(i)).second, InvalidArgument,
                   "Tensor '", feeds[i].name(), "' is fed more than once");
  }

  // 1. Needed nodes: walk back from fetches and targets, stopping at fed tensors and at
  //    ref inputs (a variable written through a ref input need not be read first).
  std::vector<const Node*> stack;
  std::unordered_map<const Node*, bool> needed;
  auto need = [&](const Node* n) {
    if (needed.emplace(n, true).second) stack.push_back(n);
  };
  for (const Output& f : fetches)
    if (!fed.count(f)) need(f.node());
  for (const Operation& t : targets) need(t.node());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      if (n->def->is_ref_input(static_cast<int>(i))) continue;
      if (!fed.count(n->inputs[i])) need(n->inputs[i].node());
    }
    for (const Node* c : n->control_inputs) need(c);
  }

  // 2. Order: Kahn's algorithm, lowest node id first, with variable-writing ops held back
  //    until nothing else is ready, so reads that do not feed an update run before it.
  std::unordered_map<const Node*, int> pending;
  std::unordered_map<const Node*, std::vector<const Node*>> consumers;
  for (const auto& entry : needed) {
    const Node* n = entry.first;  // not a structured binding: the lambda below captures it
    int deps = 0;
    auto add_dep = [&](const Node* src) {
      if (needed.count(src)) {
        ++deps;
        consumers[src].push_back(n);
      }
    };
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      if (n->def->is_ref_input(static_cast<int>(i)) || fed.count(n->inputs[i])) continue;
      add_dep(n->inputs[i].node());
    }
    for (const Node* c : n->control_inputs) add_dep(c);
    pending[n] = deps;
  }
  //    Ops marked run_early (they start background work) go before everything else.
  auto later = [](const Node* a, const Node* b) {
    const bool ea = a->def->run_early, eb = b->def->run_early;
    if (ea != eb) return eb;
    const bool ma = a->def->mutates_variables, mb = b->def->mutates_variables;
    return ma != mb ? ma : a->id > b->id;
  };
  std::priority_queue<const Node*, std::vector<const Node*>, decltype(later)> ready(later);
  for (const auto& [n, deps] : pending)
    if (deps == 0) ready.push(n);
  std::vector<const Node*> order;
  while (!ready.empty()) {
    const Node* n = ready.top();
    ready.pop();
    order.push_back(n);
    for (const Node* c : consumers[n])
      if (--pending[c] == 0) ready.push(c);
  }
  SLUICE_REQUIRE(order.size() == needed.size(), Internal, "cycle in graph");

  // 3. Slots: one per fed tensor, then one per output of every step.
  std::map<Output, int> slot_of;
  for (const Output& f : feeds) {
    const int s = plan->num_slots++;
    slot_of[f] = s;
    plan->feed_slots.push_back(s);
  }
  plan->feed_outputs = feeds;
  for (const Node* n : order) {
    if (n->def->name == "Placeholder") {
      throw InvalidArgument("You must feed a value for " + placeholder_hint(Output(const_cast<Node*>(n), 0)));
    }
    SLUICE_REQUIRE(n->def->kernel, Unimplemented, n->describe(), ": op has no CPU kernel");
    check_placement(*n, allow_soft_placement);  // for nodes added after the Session was made
    Step st;
    st.node = n;
    st.kernel = n->def->kernel;
    st.num_outputs = static_cast<int>(n->output_dtypes.size());
    st.first_output = plan->num_slots;
    plan->num_slots += st.num_outputs;
    for (int j = 0; j < st.num_outputs; ++j) slot_of[Output(const_cast<Node*>(n), j)] = st.first_output + j;
    st.first_input = static_cast<int>(plan->input_slots.size());
    st.num_inputs = static_cast<int>(n->inputs.size());
    if (n->def->name == "VariableV2") {
      plan->input_slots.push_back(-1);
      plan->input_vars.push_back(variable_slot(n));
      st.num_inputs = 0;
    } else {
      for (int i = 0; i < st.num_inputs; ++i) {
        if (n->def->is_ref_input(i)) {
          plan->input_slots.push_back(-1);
          plan->input_vars.push_back(variable_slot(n->inputs[i].node()));
        } else {
          plan->input_slots.push_back(slot_of.at(n->inputs[i]));
          plan->input_vars.push_back(nullptr);
        }
      }
    }
    if (n->def->stateful) st.state = node_state(n);
    if (n->def->name == "Const" && st.num_outputs == 1) st.constant = n->attr<Tensor>("value");
    plan->max_inputs = std::max(plan->max_inputs, st.num_inputs);
    plan->steps.push_back(st);
  }
  for (const Output& f : fetches) plan->fetch_slots.push_back(slot_of.at(f));

  // 4. Lifetimes: release each slot after its last reader; fetched slots live to the end.
  std::vector<int> last_use(plan->num_slots, -1);
  std::vector<int> uses_in_last(plan->num_slots, 0);
  std::vector<bool> fetched(plan->num_slots, false);
  for (int s : plan->fetch_slots) fetched[s] = true;
  for (int si = 0; si < static_cast<int>(plan->steps.size()); ++si) {
    const Step& st = plan->steps[si];
    for (int i = 0; i < st.num_inputs; ++i) {
      const int s = plan->input_slots[st.first_input + i];
      if (s < 0) continue;
      if (last_use[s] != si) uses_in_last[s] = 0;
      last_use[s] = si;
      ++uses_in_last[s];
    }
  }
  std::vector<int> producer(plan->num_slots, -1);
  for (int si = 0; si < static_cast<int>(plan->steps.size()); ++si) {
    const Step& st = plan->steps[si];
    for (int j = 0; j < st.num_outputs; ++j) producer[st.first_output + j] = si;
  }
  std::vector<std::vector<int>> release_at(plan->steps.size());
  std::vector<bool> is_feed(plan->num_slots, false);
  for (int s : plan->feed_slots) is_feed[s] = true;
  for (int s = 0; s < plan->num_slots; ++s) {
    if (fetched[s]) continue;
    if (last_use[s] >= 0) {
      release_at[last_use[s]].push_back(s);
    } else if (producer[s] >= 0) {
      release_at[producer[s]].push_back(s);  // never read: drop right after it is made
    }
  }
  for (int si = 0; si < static_cast<int>(plan->steps.size()); ++si) {
    Step& st = plan->steps[si];
    st.first_release = static_cast<int>(plan->releases.size());
    st.num_release = static_cast<int>(release_at[si].size());
    plan->releases.insert(plan->releases.end(), release_at[si].begin(), release_at[si].end());
    for (int i = 0; i < st.num_inputs && i < 32; ++i) {
      const int s = plan->input_slots[st.first_input + i];
      if (s >= 0 && last_use[s] == si && uses_in_last[s] == 1 && !fetched[s] && !is_feed[s])
        st.forwardable |= 1u << i;
    }
  }
  return plan;
}

// ---- Session ----

Session::Session(const Graph& graph, SessionOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->graph = graph;
  if (options.num_threads > 0) {
    impl_->own_pool = std::make_unique<ThreadPool>(options.num_threads);
    impl_->pool = impl_->own_pool.get();
  } else {
    impl_->pool = &ThreadPool::shared();
  }
  impl_->profile = options.collect_op_timings;
  impl_->profile_by_node = options.op_timings_by_node;
  impl_->check_numerics = options.check_numerics;
  impl_->allow_soft_placement = options.allow_soft_placement;
  for (const Operation& op : graph.operations()) check_placement(*op.node(), options.allow_soft_placement);
}

std::vector<OpTiming> Session::op_timings() const {
  std::lock_guard<std::mutex> lock(impl_->timings_mu);
  std::vector<OpTiming> r;
  for (const auto& kv : impl_->timings) r.push_back(kv.second);
  std::sort(r.begin(), r.end(), [](const OpTiming& a, const OpTiming& b) { return a.seconds > b.seconds; });
  return r;
}

Session::~Session() = default;

const Graph& Session::graph() const { return impl_->graph; }
ThreadPool& Session::thread_pool() const { return *impl_->pool; }

std::vector<Tensor> Session::run(const FeedList& feeds, const FetchList& fetch_list,
                                 const TargetList& target_list) {
  const std::vector<TensorRef>& fetches = fetch_list.refs();
  const std::vector<OpRef>& targets = target_list.refs();
  Impl& im = *impl_;
  std::vector<Output> feed_outputs, fetch_outputs;
  std::vector<Operation> target_ops;
  feed_outputs.reserve(feeds.size());
  for (const auto& f : feeds) feed_outputs.push_back(f.first.resolve(im.graph));
  fetch_outputs.reserve(fetches.size());
  for (const auto& f : fetches) fetch_outputs.push_back(f.resolve(im.graph));
  for (const auto& t : targets) target_ops.push_back(t.resolve(im.graph));

  // Check fed values against the static dtype and shape of what they replace.
  for (size_t i = 0; i < feeds.size(); ++i) {
    const Output& x = feed_outputs[i];
    const Tensor& v = feeds[i].second;
    SLUICE_REQUIRE(v.valid(), InvalidArgument, "the value fed for Tensor '", x.name(),
                   "' is an empty Tensor handle");
    SLUICE_REQUIRE(v.dtype() == x.dtype(), InvalidArgument, "Cannot feed a value of dtype ",
                   dtype_name(v.dtype()), " for Tensor '", x.name(), "', which has dtype ",
                   dtype_name(x.dtype()));
    SLUICE_REQUIRE(x.shape().compatible_with(v.shape()), InvalidArgument,
                   "Cannot feed value of shape ", v.shape().to_string(), " for Tensor '",
                   x.name(), "', which has shape ", x.shape().to_string());
    if (im.check_numerics) {
      const NonFiniteValues found = find_non_finite(v, im.pool);
      SLUICE_REQUIRE(!found.any(), InvalidArgument, "the value fed for Tensor '", x.name(),
                     "': ", non_finite_message(x.name(), found));
    }
  }

  auto plan = im.plan_for(feed_outputs, fetch_outputs, target_ops);
  const ScopedFlushDenormal flush_denormals;

  std::vector<Tensor> slots(plan->num_slots);
  for (size_t i = 0; i < feeds.size(); ++i) slots[plan->feed_slots[i]] = feeds[i].second;
  std::vector<const Tensor*> in_ptrs(plan->max_inputs);
  std::vector<double> step_seconds(im.profile ? plan->steps.size() : 0);
  for (size_t si = 0; si < plan->steps.size(); ++si) {
    const Step& st = plan->steps[si];
    const auto t0 = im.profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    for (int i = 0; i < st.num_inputs; ++i) {
      const int s = plan->input_slots[st.first_input + i];
      in_ptrs[i] = s >= 0 ? &slots[s] : nullptr;
    }
    Tensor* outs = slots.data() + st.first_output;
    if (st.constant.valid()) {
      outs[0] = st.constant;
    } else {
      KernelContext ctx(*st.node, in_ptrs.data(), outs, plan->input_vars.data() + st.first_input,
                        st.state, *im.pool, st.forwardable);
      try {
        st.kernel(ctx);
      } catch (const Error& e) {
        throw_error(e.code(), st.node->describe() + ": " + e.what());
      } catch (const std::bad_alloc&) {
        throw ResourceExhausted(st.node->describe() + ": out of memory");
      }
    }
    if (im.profile) step_seconds[si] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int j = 0; j < st.num_outputs; ++j) {
      const Tensor& o = outs[j];
      if (!o.valid() || o.dtype() != st.node->output_dtypes[j] ||
          !st.node->output_shapes[j].compatible_with(o.shape())) {
        throw Internal(detail::str_cat(st.node->describe(), ": kernel produced ",
                                       o.valid() ? o.summary() : "nothing", " for output ", j,
                                       " declared ", dtype_name(st.node->output_dtypes[j]),
                                       st.node->output_shapes[j].to_string()));
      }
      if (im.check_numerics) {
        const NonFiniteValues found = find_non_finite(o, im.pool);
        if (found.any())
          throw InvalidArgument(st.node->describe() + ": " +
                                non_finite_message(st.node->name + ":" + std::to_string(j), found));
      }
    }
    for (int r = 0; r < st.num_release; ++r) slots[plan->releases[st.first_release + r]] = Tensor();
  }
  if (im.profile) {
    std::lock_guard<std::mutex> lock(im.timings_mu);
    for (size_t si = 0; si < plan->steps.size(); ++si) {
      const Node& node = *plan->steps[si].node;
      OpTiming& t = im.timings[im.profile_by_node ? node.name : node.op_type()];
      t.op_type = node.op_type();
      if (im.profile_by_node) t.node = node.name;
      ++t.calls;
      t.seconds += step_seconds[si];
    }
  }
  std::vector<Tensor> result;
  result.reserve(plan->fetch_slots.size());
  for (int s : plan->fetch_slots) result.push_back(slots[s]);
  return result;
}

// ---- variables ----

namespace {
const Node* find_variable(const Graph& g, const std::string& name) {
  Operation op = g.operation(name);
  SLUICE_REQUIRE(op.type() == "VariableV2", InvalidArgument, "'", name, "' is a ", op.type(),
                 ", not a variable");
  return op.node();
}
}  // namespace

bool Session::is_variable_initialized(const std::string& name) const {
  VariableSlot* slot = impl_->variable_slot(find_variable(impl_->graph, name));
  std::lock_guard<std::mutex> lock(slot->mu);
  return slot->initialized;
}

Tensor Session::variable_value(const std::string& name) const {
  VariableSlot* slot = impl_->variable_slot(find_variable(impl_->graph, name));
  std::lock_guard<std::mutex> lock(slot->mu);
  SLUICE_REQUIRE(slot->initialized, FailedPrecondition,
                 "Attempting to use uninitialized value ", name);
  return slot->value;
}

void Session::set_variable_value(const std::string& name, const Tensor& value) {
  const Node* var = find_variable(impl_->graph, name);
  SLUICE_REQUIRE(value.valid() && value.dtype() == var->output_dtypes[0] &&
                     value.shape() == var->output_shapes[0],
                 InvalidArgument, "cannot set variable '", name, "' of ",
                 dtype_name(var->output_dtypes[0]), var->output_shapes[0].to_string(),
                 " to a value of ", value.valid() ? value.summary() : "<empty>");
  VariableSlot* slot = impl_->variable_slot(var);
  std::lock_guard<std::mutex> lock(slot->mu);
  slot->value = value.clone();
  slot->initialized = true;
}

}  // namespace sluice
