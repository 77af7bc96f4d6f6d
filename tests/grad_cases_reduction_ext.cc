// Gradient cases for the reductions added beside sum/mean/max/min (prod, the tensor-axes
// forms, logsumexp, l2_loss), the scans (ops/scan_ops.h) and top_k (ops/sort_ops.h).
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;
using Ints = std::vector<int64_t>;

Output axes_const(const Scope& s, Ints v) {
  return ops::constant(s, Tensor::from_vector(v, {static_cast<int64_t>(v.size())}));
}
// The same axes behind an Identity: not a Const, so the gradient takes the run-time path.
Output axes_dynamic(const Scope& s, Ints v) { return ops::identity(s, axes_const(s, v)); }

std::vector<GradCase> reduction_ext_cases() {
  std::vector<GradCase> cases = {
      {"prod_axis", {{2, 3, 4}}, [](const Scope& s, const X& x) { return ops::prod(s, x[0], {1}); }},
      {"prod_all", {{2, 3}}, [](const Scope& s, const X& x) { return ops::prod(s, x[0]); }},
      {"prod_two_axes_keepdims", {{2, 3, 4}},
       [](const Scope& s, const X& x) { return ops::prod(s, x[0], {0, 2}, true); }},
      {"reduce_sum_const", {{2, 3, 4}},
       [](const Scope& s, const X& x) { return ops::reduce_sum(s, x[0], axes_const(s, {-1, 0})); }},
      // Without keepdims, run-time axes leave the output's rank unknown; the reshape gives
      // the checker's sum(y * w) a known shape (the reduction's gradient is still built
      // without knowing the axes).
      {"reduce_sum_dynamic", {{2, 3, 4}},
       [](const Scope& s, const X& x) { return ops::reshape(s, ops::reduce_sum(s, x[0], axes_dynamic(s, {1})), {2, 4}); }},
      {"reduce_sum_noop", {{2, 3}},
       [](const Scope& s, const X& x) { return ops::reduce_sum(s, x[0], axes_const(s, {}), false, true); }},
      {"reduce_mean_dynamic_keepdims", {{2, 3, 4}},
       [](const Scope& s, const X& x) { return ops::reduce_mean(s, x[0], axes_dynamic(s, {0, 2}), true); }},
      {"reduce_mean_const", {{2, 3, 4}},
       [](const Scope& s, const X& x) { return ops::reduce_mean(s, x[0], axes_const(s, {2})); }},
      {"reduce_max_const", {{3, 4}}, [](const Scope& s, const X& x) { return ops::reduce_max(s, x[0], axes_const(s, {0})); }},
      {"reduce_max_dynamic", {{3, 4}},
       [](const Scope& s, const X& x) { return ops::reshape(s, ops::reduce_max(s, x[0], axes_dynamic(s, {1})), {3}); }},
      {"reduce_min_dynamic", {{3, 4}},
       [](const Scope& s, const X& x) { return ops::reshape(s, ops::reduce_min(s, x[0], axes_dynamic(s, {0})), {4}); }},
      {"reduce_prod_const", {{2, 3, 4}},
       [](const Scope& s, const X& x) { return ops::reduce_prod(s, x[0], axes_const(s, {1, 2})); }},
      {"logsumexp", {{3, 4}}, [](const Scope& s, const X& x) { return ops::logsumexp(s, x[0], {1}); }},
      {"logsumexp_all_keepdims", {{3, 4}},
       [](const Scope& s, const X& x) { return ops::logsumexp(s, x[0], {}, true); }},
      {"l2_loss", {{3, 4}}, [](const Scope& s, const X& x) { return ops::l2_loss(s, x[0]); }},
      {"cumsum", {{2, 3, 4}}, [](const Scope& s, const X& x) { return ops::cumsum(s, x[0], 1); }},
      {"cumsum_exclusive_reverse", {{3, 4}},
       [](const Scope& s, const X& x) { return ops::cumsum(s, x[0], -1, true, true); }},
      {"top_k", {{3, 6}}, [](const Scope& s, const X& x) { return ops::top_k(s, x[0], 3).values; }},
      {"top_k_smallest_axis0", {{5, 3}},
       [](const Scope& s, const X& x) { return ops::top_k(s, x[0], 2, 0, false).values; }},
      // TopKGrad and TopKGather directly (each is the other's gradient), with fixed indices.
      {"top_k_grad", {{2, 2}, {2, 4}},
       [](const Scope& s, const X& x) {
         Output idx = ops::constant(s, Tensor::from_vector(std::vector<int64_t>{3, 0, 1, 2}, {2, 2}));
         return NodeBuilder(s, "TopKGrad").input(x[0]).input(idx).input(x[1]).finish().output(0);
       }},
      {"top_k_gather", {{4, 2}},
       [](const Scope& s, const X& x) {
         Output idx = ops::constant(s, Tensor::from_vector(std::vector<int32_t>{3, 0, 1, 1}, {2, 2}));
         return NodeBuilder(s, "TopKGather").input(x[0]).input(idx).attr("axis", 0).finish().output(0);
       }},
  };
  // cumprod's gradient divides by x: keep x away from zero.
  GradCase cumprod{"cumprod", {{2, 4}}, [](const Scope& s, const X& x) { return ops::cumprod(s, x[0], 1); }};
  GradCase cumprod_er{"cumprod_exclusive_reverse", {{4, 2}},
                      [](const Scope& s, const X& x) { return ops::cumprod(s, x[0], 0, true, true); }};
  for (GradCase* c : {&cumprod, &cumprod_er}) {
    c->low = 0.5;
    c->high = 2.0;
    cases.push_back(*c);
  }
  // (prod's gradient at exact zeros is checked against hand-computed values in
  // test_reduction_ext_ops: explicit input tensors in these static cases would be freed after
  // the allocator's thread cache at exit.)
  return cases;
}

const bool registered = testing::register_grad_cases(reduction_ext_cases);

}  // namespace
}  // namespace sluice
