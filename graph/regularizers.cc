#include "regularizers.h"

#include "../ops/array_ops.h"
#include "../ops/math_binary_ops.h"
#include "../ops/math_ops.h"
#include "../ops/math_unary_ops.h"
#include "../ops/reduction_ops.h"

namespace sluice {

namespace regularizers {

Output Regularizer::operator()(const Scope& scope, const Output& x) const {
  SLUICE_REQUIRE(active(), InvalidArgument, "regularizer with l1 = l2 = 0 applied to '",
                 x.name(), "'");
  SLUICE_REQUIRE(x.dtype() == DType::f32 || x.dtype() == DType::f64, InvalidArgument,
                 "regularizer: '", x.name(), "' must be f32 or f64, got ", dtype_name(x.dtype()));
  Output r;
  if (l1 != 0) r = ops::mul(scope, ops::scalar_like(scope, x, l1), ops::sum(scope, ops::abs(scope, x)));
  if (l2 != 0) {
    Output p = ops::mul(scope, ops::scalar_like(scope, x, l2), ops::sum(scope, ops::square(scope, x)));
    r = r.valid() ? ops::add(scope, r, p) : p;
  }
  return r;
}

Regularizer l1(double l1) { return {l1, 0}; }
Regularizer l2(double l2) { return {0, l2}; }
Regularizer l1_l2(double l1, double l2) { return {l1, l2}; }

}  // namespace regularizers

namespace constraints {

Output Constraint::operator()(const Scope& scope, const Output& w) const {
  SLUICE_REQUIRE(w.dtype() == DType::f32 || w.dtype() == DType::f64, InvalidArgument,
                 "constraint: '", w.name(), "' must be f32 or f64, got ", dtype_name(w.dtype()));
  const int64_t rank = w.shape().rank();
  for (int64_t a : axis)
    SLUICE_REQUIRE(a >= -rank && a < rank, InvalidArgument, "constraint on '", w.name(), "' ",
                   w.shape().to_string(), ": axis ", a, " out of range");
  auto c = [&](double v) { return ops::scalar_like(scope, w, v); };
  auto norm = [&]() { return ops::sqrt(scope, ops::sum(scope, ops::square(scope, w), axis, true)); };
  switch (kind) {
    case Kind::none: return w;
    case Kind::non_neg:
      return ops::mul(scope, w, ops::cast(scope, ops::greater_equal(scope, w, c(0)), w.dtype()));
    case Kind::unit_norm: return ops::div(scope, w, ops::add(scope, c(1e-7), norm()));
    case Kind::max_norm:
    case Kind::min_max_norm: {
      const Output n = norm();
      const double lo = kind == Kind::max_norm ? 0.0 : min_value;
      Output desired = ops::clip_by_value(scope, n, c(lo), c(max_value));
      if (kind == Kind::min_max_norm && rate != 1)
        desired = ops::add(scope, ops::mul(scope, c(rate), desired), ops::mul(scope, c(1 - rate), n));
      return ops::mul(scope, w, ops::div(scope, desired, ops::add(scope, c(1e-7), n)));
    }
  }
  return w;
}

Constraint max_norm(double max_value, std::vector<int64_t> axis) {
  SLUICE_REQUIRE(max_value >= 0, InvalidArgument, "max_norm: max_value must be >= 0, got ", max_value);
  Constraint c;
  c.kind = Constraint::Kind::max_norm;
  c.max_value = max_value;
  c.axis = std::move(axis);
  return c;
}

Constraint non_neg() {
  Constraint c;
  c.kind = Constraint::Kind::non_neg;
  return c;
}

Constraint unit_norm(std::vector<int64_t> axis) {
  Constraint c;
  c.kind = Constraint::Kind::unit_norm;
  c.axis = std::move(axis);
  return c;
}

Constraint min_max_norm(double min_value, double max_value, double rate, std::vector<int64_t> axis) {
  SLUICE_REQUIRE(0 <= min_value && min_value <= max_value && rate >= 0 && rate <= 1, InvalidArgument,
                 "min_max_norm: needs 0 <= min_value <= max_value and rate in [0, 1], got ",
                 min_value, ", ", max_value, ", ", rate);
  Constraint c;
  c.kind = Constraint::Kind::min_max_norm;
  c.min_value = min_value;
  c.max_value = max_value;
  c.rate = rate;
  c.axis = std::move(axis);
  return c;
}

}  // namespace constraints

}  // namespace sluice
