// Gradient cases for the math families added beside math_ops: unary functions
// (ops/math_unary_ops.h), binary and variadic ops (ops/math_binary_ops.h) and batch_matmul
// (ops/matrix_ops.h).
#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using X = std::vector<Output>;

GradCase ranged(GradCase c, double low, double high) {
  c.low = low;
  c.high = high;
  return c;
}

std::vector<GradCase> math_ext_cases() {
  using UnaryFn = Output (*)(const Scope&, const Output&);
  auto unary = [](const char* name, UnaryFn f, double low, double high) {
    return ranged({name, {{2, 3}}, [f](const Scope& s, const X& x) { return f(s, x[0]); }}, low, high);
  };
  std::vector<GradCase> cases = {
      unary("erf", ops::erf, -2, 2),
      unary("sin", ops::sin, -3, 3),
      unary("cos", ops::cos, -3, 3),
      unary("tan", ops::tan, -1.2, 1.2),
      unary("asin", ops::asin, -0.9, 0.9),
      unary("acos", ops::acos, -0.9, 0.9),
      unary("atan", ops::atan, -3, 3),
      unary("sinh", ops::sinh, -2, 2),
      unary("cosh", ops::cosh, -2, 2),
      unary("asinh", ops::asinh, -3, 3),
      unary("acosh", ops::acosh, 1.2, 3),
      unary("atanh", ops::atanh, -0.9, 0.9),
      unary("log1p", ops::log1p, -0.5, 2),
      unary("expm1", ops::expm1, -2, 2),
      {"squared_difference", {{2, 3}, {3}},
       [](const Scope& s, const X& x) { return ops::squared_difference(s, x[0], x[1]); }},
      {"maximum_n", {{2, 3}, {3}, {2, 1}}, [](const Scope& s, const X& x) { return ops::maximum_n(s, x); }},
      {"minimum_n", {{2, 3}, {3}, {2, 1}}, [](const Scope& s, const X& x) { return ops::minimum_n(s, x); }},
      {"sum_n", {{2, 3}, {3}, {2, 1}}, [](const Scope& s, const X& x) { return ops::sum_n(s, x); }},
      {"mean_n", {{2, 3}, {3}}, [](const Scope& s, const X& x) { return ops::mean_n(s, x); }},
      {"batch_matmul", {{2, 3, 4}, {2, 4, 5}},
       [](const Scope& s, const X& x) { return ops::batch_matmul(s, x[0], x[1]); }},
      {"batch_matmul_rank2", {{3, 4}, {4, 2}},
       [](const Scope& s, const X& x) { return ops::batch_matmul(s, x[0], x[1]); }},
      // Broadcast batch dims: a's [2, 1] against b's [3]; the gradients sum over them.
      {"batch_matmul_broadcast", {{2, 1, 3, 4}, {3, 4, 2}},
       [](const Scope& s, const X& x) { return ops::batch_matmul(s, x[0], x[1]); }},
      {"batch_matmul_adj_x", {{2, 4, 3}, {1, 4, 5}},
       [](const Scope& s, const X& x) { return ops::batch_matmul(s, x[0], x[1], true, false); }},
      {"batch_matmul_adj_y", {{3, 4}, {2, 5, 4}},
       [](const Scope& s, const X& x) { return ops::batch_matmul(s, x[0], x[1], false, true); }},
      {"batch_matmul_adj_both", {{2, 4, 3}, {2, 5, 4}},
       [](const Scope& s, const X& x) { return ops::batch_matmul(s, x[0], x[1], true, true); }},
  };
  // Modulos: divisors of both signs kept away from zero, 0.3 x + 0.8 sign(x) (sign has no
  // gradient, so d/dx = 0.3 carries the check to the divisor); the discontinuities where a/b
  // is an integer are a measure-zero set the random inputs miss. (No explicit `inputs`
  // tensors in these static cases: a Tensor destroyed during static destruction returns its
  // buffer to an allocator thread cache that is already gone.)
  auto divisor = [](const Scope& s, const Output& x) {
    return ops::add(s, ops::mul(s, x, ops::scalar_like(s, x, 0.3)),
                    ops::mul(s, ops::sign(s, x), ops::scalar_like(s, x, 0.8)));
  };
  GradCase floor_mod{"floor_mod", {{2, 3}, {3}}, [divisor](const Scope& s, const X& x) {
                       return ops::floor_mod(s, ops::mul(s, x[0], ops::scalar_like(s, x[0], 2.0)), divisor(s, x[1]));
                     }};
  GradCase truncate_mod{"truncate_mod", {{2, 3}, {3}}, [divisor](const Scope& s, const X& x) {
                          return ops::truncate_mod(s, ops::mul(s, x[0], ops::scalar_like(s, x[0], 2.0)), divisor(s, x[1]));
                        }};
  cases.push_back(floor_mod);
  cases.push_back(truncate_mod);
  // clip_by_value with a random bound per column and a random scalar upper bound: some
  // columns have lo > hi, where the winning bound takes the gradient.
  cases.push_back({"clip_by_value", {{3, 4}, {4}, {}},
                   [](const Scope& s, const X& x) { return ops::clip_by_value(s, x[0], x[1], x[2]); }});
  cases.push_back({"clip_by_value_numpy_order", {{3, 4}, {4}, {}},
                   [](const Scope& s, const X& x) { return ops::clip_by_value(s, x[0], x[1], x[2], true); }});
  return cases;
}

const bool registered = testing::register_grad_cases(math_ext_cases);

}  // namespace
}  // namespace sluice
