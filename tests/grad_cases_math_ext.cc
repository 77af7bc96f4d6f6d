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

Tensor f64(std::vector<double> v, const Shape& shape) { return Tensor::from_vector(v, shape); }

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
  // Modulos: the divisor is fixed with both signs (discontinuities where a/b is an integer
  // are a measure-zero set the random dividends miss).
  const Tensor divisor = f64({0.7, -1.3, 1.9}, {3});
  GradCase floor_mod{"floor_mod", {{2, 3}, {3}},
                     [](const Scope& s, const X& x) { return ops::floor_mod(s, x[0], x[1]); }};
  floor_mod.inputs = {Tensor(), divisor};
  floor_mod.low = -5;
  floor_mod.high = 5;
  GradCase truncate_mod = floor_mod;
  truncate_mod.name = "truncate_mod";
  truncate_mod.build = [](const Scope& s, const X& x) { return ops::truncate_mod(s, x[0], x[1]); };
  cases.push_back(floor_mod);
  cases.push_back(truncate_mod);
  // clip_by_value with a bound per column, one column with lo > hi (lo wins there).
  GradCase clip{"clip_by_value", {{3, 4}, {4}, {}},
                [](const Scope& s, const X& x) { return ops::clip_by_value(s, x[0], x[1], x[2]); }};
  clip.inputs = {Tensor(), f64({-1.0, -0.5, 0.3, 2.5}, {4}), Tensor(1.0)};
  cases.push_back(clip);
  GradCase clip_numpy = clip;
  clip_numpy.name = "clip_by_value_numpy_order";
  clip_numpy.build = [](const Scope& s, const X& x) { return ops::clip_by_value(s, x[0], x[1], x[2], true); };
  cases.push_back(clip_numpy);
  return cases;
}

const bool registered = testing::register_grad_cases(math_ext_cases);

}  // namespace
}  // namespace sluice
