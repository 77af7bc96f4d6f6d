// NaN and Inf rows for the extended reductions (prod, the axes-tensor Reduce* ops), the
// running sums and products, argmax/argmin with options, top_k and its gradient ops, and
// batch_matmul.
#include "op_numerics.h"

namespace sluice::testing {
namespace {

Output axis1(const Scope& s) { return ops::constant(s, Tensor({int64_t{1}})); }

std::vector<NumericsRow> reduction_rows() {
  // The same [3,3] inputs as the Sum/Max rows of numerics_rows_core.cc, reduced over axis 1.
  const Tensor n = T({1, kNaN, 3, 4, 5, 6, kNaN, 2, kNaN}, {3, 3});
  const Tensor i = T({kInf, 1, 2, -kInf, -kInf, 0, kInf, -kInf, 5}, {3, 3});
  return join({
      // inf * 0 = NaN; -inf * -inf = inf.
      rows("Prod", {n}, {kNaN, 120, kNaN}, {i}, {kInf, kNaN, -kInf},
           [](const Scope& s, const X& x) { return ops::prod(s, x[0], {1}); }),
      rows("Prod", {n}, {kNaN}, {T({kInf, -kInf, 2}, {3})}, {-kInf},
           [](const Scope& s, const X& x) { return ops::prod(s, x[0]); }),
      exempt("All", "bool inputs only"),
      exempt("Any", "bool inputs only"),
      exempt("ReduceAll", "bool inputs only"),
      exempt("ReduceAny", "bool inputs only"),
      rows("ReduceSum", {n}, {kNaN, 15, kNaN}, {i}, {kInf, -kInf, kNaN},
           [](const Scope& s, const X& x) { return ops::reduce_sum(s, x[0], axis1(s)); }),
      rows("ReduceMean", {n}, {kNaN, 5, kNaN}, {i}, {kInf, -kInf, kNaN},
           [](const Scope& s, const X& x) { return ops::reduce_mean(s, x[0], axis1(s)); }),
      rows("ReduceMax", {n}, {kNaN, 6, kNaN}, {i}, {kInf, 0, kInf},
           [](const Scope& s, const X& x) { return ops::reduce_max(s, x[0], axis1(s)); }),
      rows("ReduceMax", {n}, {kNaN, kNaN, kNaN}, {T({-kInf, -kInf, -kInf, 1}, {2, 2})}, {-kInf, 1},
           [](const Scope& s, const X& x) {
             return ops::reduce_max(s, x[0], ops::constant(s, Tensor({int64_t{0}})));
           }),
      rows("ReduceMin", {n}, {kNaN, 4, kNaN}, {i}, {1, -kInf, -kInf},
           [](const Scope& s, const X& x) { return ops::reduce_min(s, x[0], axis1(s)); }),
      rows("ReduceProd", {n}, {kNaN, 120, kNaN}, {i}, {kInf, kNaN, -kInf},
           [](const Scope& s, const X& x) { return ops::reduce_prod(s, x[0], axis1(s)); }),
  });
}

std::vector<NumericsRow> scan_rows() {
  const Tensor n6 = T({1, kNaN, 3, 4, kNaN, 6}, {2, 3});
  return join({
      // Everything after a NaN (in scan order) is NaN; inf + -inf = NaN.
      rows("Cumsum", {n6}, {1, kNaN, kNaN, 4, kNaN, kNaN},
           {T({1, kInf, 3, kInf, -kInf, 6}, {2, 3})}, {1, kInf, kInf, kInf, kNaN, kNaN},
           [](const Scope& s, const X& x) { return ops::cumsum(s, x[0], 1); }),
      rows("Cumsum", {n6}, {kNaN, kNaN, 3, kNaN, kNaN, 6}, {T({1, kInf, 3, -kInf, 1, 6}, {2, 3})},
           {kInf, kInf, 3, -kInf, 7, 6},
           [](const Scope& s, const X& x) { return ops::cumsum(s, x[0], 1, false, true); }),
      rows("Cumsum", {n6}, {0, 1, kNaN, 0, 4, kNaN}, {T({kInf, -kInf, 3, 1, 2, 6}, {2, 3})},
           {0, kInf, kNaN, 0, 1, 3},
           [](const Scope& s, const X& x) { return ops::cumsum(s, x[0], 1, true); }),
      // inf * 0 = NaN; -inf * -1 = inf.
      rows("Cumprod", {n6}, {1, kNaN, kNaN, 4, kNaN, kNaN}, {T({1, kInf, 0, 2, -kInf, -1}, {2, 3})},
           {1, kInf, kNaN, 2, -kInf, kInf},
           [](const Scope& s, const X& x) { return ops::cumprod(s, x[0], 1); }),
      rows("Cumprod", {n6}, {1, 1, kNaN, 1, 4, kNaN}, {T({2, kInf, 3, -kInf, 0, 6}, {2, 3})},
           {1, 2, kInf, 1, -kInf, kNaN},
           [](const Scope& s, const X& x) { return ops::cumprod(s, x[0], 1, true); }),
  });
}

std::vector<NumericsRow> sort_rows() {
  // NumPy's rule for argmax and argmin alike: NaN is the extreme, the first NaN wins (the
  // last with select_last_index).
  const Tensor an = T({kNaN, 1, kNaN, 3, kNaN, kNaN, 5, 4, 9}, {3, 3});
  auto arg = [](bool max, bool last) {
    return [max, last](const Scope& s, const X& x) {
      ops::ArgOptions o;
      o.select_last_index = last;
      return max ? ops::argmax(s, x[0], 1, o) : ops::argmin(s, x[0], 1, o);
    };
  };
  const Tensor max_i = T({1, kInf, kInf, -kInf, -kInf, -kInf, kInf, kInf, 0}, {3, 3});
  const Tensor min_i = T({1, -kInf, -kInf, kInf, kInf, kInf, -kInf, -kInf, 0}, {3, 3});
  // top_k: NaN ranks above +inf (PyTorch's topk): first among the largest, last among the
  // smallest. x [2,3], k = 2 along the last axis.
  const Tensor tn = T({1, kNaN, 3, 4, 5, kNaN}, {2, 3});
  const Tensor ti = T({1, kInf, -kInf, -kInf, -kInf, 0}, {2, 3});
  auto topk = [](bool largest, bool indices) {
    return [largest, indices](const Scope& s, const X& x) {
      const ops::TopK t = ops::top_k(s, x[0], 2, -1, largest);
      return indices ? t.indices : t.values;
    };
  };
  auto values = [](const Scope& s, const Output& x) { return ops::top_k(s, x, 2).values; };
  return join({
      rows("ArgMaxV2", {an}, {0, 1, 2}, {max_i}, {1, 0, 0}, arg(true, false)),
      rows("ArgMaxV2", {an}, {2, 2, 2}, {max_i}, {2, 2, 1}, arg(true, true)),
      rows("ArgMinV2", {an}, {0, 1, 1}, {min_i}, {1, 0, 0}, arg(false, false)),
      rows("ArgMinV2", {an}, {2, 2, 1}, {min_i}, {2, 2, 1}, arg(false, true)),
      rows("TopKV2", {tn}, {kNaN, 3, kNaN, 5}, {ti}, {kInf, 1, 0, -kInf}, topk(true, false)),
      rows("TopKV2", {tn}, {1, 2, 2, 1}, {ti}, {1, 0, 2, 0}, topk(true, true)),
      rows("TopKV2", {tn}, {1, 3, 4, 5}, {ti}, {-kInf, 1, -kInf, -kInf}, topk(false, false)),
      // The gradient lands on the selected elements (indices {1, 2}, {2, 1} for NaN; {1, 0},
      // {2, 0} for Inf), zeros elsewhere.
      rows("TopKGrad", {tn, T({kNaN, 1, 2, kNaN}, {2, 2})}, {0, kNaN, 1, 0, kNaN, 2},
           {ti, T({kInf, -kInf, 1, kInf}, {2, 2})}, {-kInf, kInf, 0, kInf, 0, 1},
           [values](const Scope& s, const X& x) {
             return gradients(s, {values(s, x[0])}, {x[0]}, {x[1]})[0];
           }),
      // TopKGather (the gradient of TopKGrad in its g) reads z at the same indices.
      rows("TopKGather", {tn, T({10, kNaN, 30, 40, 50, kNaN}, {2, 3})}, {kNaN, 30, kNaN, 50},
           {ti, T({kInf, -kInf, 3, 4, 5, -kInf}, {2, 3})}, {-kInf, kInf, -kInf, 4},
           [values](const Scope& s, const X& x) {
             const Output dy = ops::ones_like(s, values(s, x[0]));
             const Output dx = gradients(s, {values(s, x[0])}, {x[0]}, {dy})[0];
             return gradients(s, {dx}, {dy}, {x[1]})[0];
           }),
  });
}

std::vector<NumericsRow> matrix_rows() {
  // a [2,2,2] times b [2,2,1]: a NaN reaches the outputs its row feeds; inf * 0 = NaN.
  return rows("BatchMatMul",
              {T({kNaN, 1, 2, 3, 1, 2, 3, 4}, {2, 2, 2}), T({1, 1, 0, kNaN}, {2, 2, 1})},
              {kNaN, 5, kNaN, kNaN},
              {T({kInf, 1, 2, 3, kInf, 2, 3, 4}, {2, 2, 2}), T({1, 1, 0, 1}, {2, 2, 1})},
              {kInf, 5, kNaN, 4},
              [](const Scope& s, const X& x) { return ops::batch_matmul(s, x[0], x[1]); });
}

std::vector<NumericsRow> reduce_family_rows() {
  return join({reduction_rows(), scan_rows(), sort_rows(), matrix_rows()});
}

const bool registered = register_numerics_rows(reduce_family_rows);

}  // namespace
}  // namespace sluice::testing
