#include "gradients.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/registry.h"

namespace sluice {

namespace {

void check_member(const Scope& scope, const Output& t, const char* what) {
  SLUICE_REQUIRE(t.valid(), InvalidArgument, "gradients: an empty Output among the ", what);
  SLUICE_REQUIRE(t.node()->graph == scope.graph().data(), InvalidArgument, "Tensor '", t.name(),
                 "' is not an element of this graph (gradients ", what, ")");
}

}  // namespace

std::vector<Output> gradients(const Scope& scope, const std::vector<Output>& ys,
                              const std::vector<Output>& xs, const std::vector<Output>& grad_ys) {
  for (const Output& y : ys) check_member(scope, y, "ys");
  for (const Output& x : xs) check_member(scope, x, "xs");
  for (const Output& g : grad_ys) check_member(scope, g, "grad_ys");
  SLUICE_REQUIRE(grad_ys.empty() || grad_ys.size() == ys.size(), InvalidArgument, "gradients: ",
                 grad_ys.size(), " grad_ys for ", ys.size(), " ys");
  for (const Output& y : ys)
    SLUICE_REQUIRE(is_floating(y.dtype()), InvalidArgument, "gradients: y '", y.name(),
                   "' has dtype ", dtype_name(y.dtype()), "; only float tensors can be differentiated");
  for (size_t i = 0; i < grad_ys.size(); ++i) {
    const Output &gy = grad_ys[i], &y = ys[i];
    SLUICE_REQUIRE(gy.dtype() == y.dtype(), InvalidArgument, "gradients: grad_ys[", i, "] '",
                   gy.name(), "' has dtype ", dtype_name(gy.dtype()), " but ys[", i, "] '",
                   y.name(), "' has dtype ", dtype_name(y.dtype()));
    SLUICE_REQUIRE(gy.shape().compatible_with(y.shape()), InvalidArgument, "gradients: grad_ys[",
                   i, "] '", gy.name(), "' has shape ", gy.shape().to_string(), " but ys[", i,
                   "] '", y.name(), "' has shape ", y.shape().to_string(), " (they must be equal)");
  }

  const Graph g = scope.graph();
  const std::vector<Operation> all = g.operations();

  // Nodes reachable forward from xs (through data edges)...
  std::unordered_map<const Node*, std::vector<Node*>> consumers;
  for (const Operation& op : all)
    for (const Output& in : op.node()->inputs) consumers[in.node()].push_back(op.node());
  std::unordered_set<const Node*> from_x;
  std::vector<const Node*> stack;
  for (const Output& x : xs)
    if (from_x.insert(x.node()).second) stack.push_back(x.node());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const Node* c : consumers[n])
      if (from_x.insert(c).second) stack.push_back(c);
  }
  // ...and backward from ys: the nodes on a path from an x to a y.
  std::unordered_set<const Node*> relevant;
  for (const Output& y : ys)
    if (from_x.count(y.node()) && relevant.insert(y.node()).second) stack.push_back(y.node());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const Output& in : n->inputs)
      if (from_x.count(in.node()) && relevant.insert(in.node()).second) stack.push_back(in.node());
  }

  const std::string root_name = g.unique_name(scope.prefix() + "gradients");
  const Scope gs = Scope(g).with_device(scope.device()).sub(root_name);

  std::map<Output, std::vector<Output>> pending;  // contributions per tensor
  for (size_t i = 0; i < ys.size(); ++i) {
    const Output& y = ys[i];
    Output seed = grad_ys.empty() ? ops::ones_like(gs, y) : grad_ys[i];
    const bool same_static_shape = seed.shape().is_fully_defined() && seed.shape() == y.shape();
    if (!grad_ys.empty() && !same_static_shape) {
      // Shapes known only at run time are checked then, so a [1,3] grad_ys for a [2,3] y
      // fails instead of broadcasting: SumToLike(g, y) passes only when y broadcasts to g,
      // BroadcastLike(g, y) only when g broadcasts to y; both only when the shapes are equal.
      std::string y_name = y.name();
      std::replace(y_name.begin(), y_name.end(), ':', '_');
      const Scope cs = gs.named("grad_ys_" + std::to_string(i) + "_must_have_the_shape_of_" + y_name);
      const Operation exact_shape = ops::sum_to_like(cs, seed, y).op();
      seed = ops::broadcast_like(cs.with_control_dependencies({exact_shape}), seed, y);
    }
    pending[y].push_back(seed);
  }
  auto total = [&](const Scope& s, const Output& t) -> Output {
    auto it = pending.find(t);
    if (it == pending.end() || it->second.empty()) return Output();
    return it->second.size() == 1 ? it->second[0] : ops::add_n(s, it->second);
  };

  // Node ids are a topological order (inputs always exist before their consumers), so
  // visiting relevant nodes by descending id sees every consumer before its producer.
  std::vector<const Node*> order(relevant.begin(), relevant.end());
  std::sort(order.begin(), order.end(), [](const Node* a, const Node* b) { return a->id > b->id; });
  for (const Node* n : order) {
    const bool has_float_input = std::any_of(n->inputs.begin(), n->inputs.end(), [&](const Output& in) {
      return relevant.count(in.node()) && is_floating(in.dtype());
    });
    if (!has_float_input || n->def->not_differentiable) continue;
    const Scope op_scope = gs.sub(n->name + "_grad");
    std::vector<Output> out_grads(n->output_dtypes.size());
    bool any = false;
    for (size_t j = 0; j < out_grads.size(); ++j) {
      out_grads[j] = total(op_scope, Output(const_cast<Node*>(n), static_cast<int>(j)));
      any = any || out_grads[j].valid();
    }
    if (!any) continue;
    SLUICE_REQUIRE(n->def->gradient, Unimplemented, "No gradient defined for operation '",
                   n->name, "' (op type: ", n->op_type(), ")");
    for (size_t j = 0; j < out_grads.size(); ++j)
      if (!out_grads[j].valid())
        out_grads[j] = ops::zeros_like(op_scope, Output(const_cast<Node*>(n), static_cast<int>(j)));
    const std::vector<Output> in_grads = n->def->gradient(op_scope, Operation(const_cast<Node*>(n)), out_grads);
    SLUICE_REQUIRE(in_grads.size() == n->inputs.size(), Internal, "gradient of ", n->describe(),
                   " returned ", in_grads.size(), " values for ", n->inputs.size(), " inputs");
    for (size_t i = 0; i < in_grads.size(); ++i) {
      const Output& in = n->inputs[i];
      if (!in_grads[i].valid() || !relevant.count(in.node()) || !is_floating(in.dtype())) continue;
      SLUICE_REQUIRE(in_grads[i].dtype() == in.dtype(), Internal, "gradient of ", n->describe(),
                     " for input ", i, " has dtype ", dtype_name(in_grads[i].dtype()));
      pending[in].push_back(in_grads[i]);
    }
  }

  std::vector<Output> result;
  for (const Output& x : xs) result.push_back(total(gs, x));
  return result;
}

}  // namespace sluice
