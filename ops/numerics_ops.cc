// Numerics ops: CheckNumerics (declaration, shape function, kernel, gradient) and the
// non-finite scan the session's check_numerics option uses too.
#include "numerics_ops.h"

#include <atomic>
#include <cmath>

#include "kernel_util.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

NonFiniteValues find_non_finite(const Tensor& t, ThreadPool* pool) {
  NonFiniteValues found;
  if (!is_floating(t.dtype()) || t.num_elements() == 0) return found;
  std::atomic<bool> nan{false}, inf{false};
  dispatch<SLUICE_FLOAT_TYPES>(t.dtype(), "find_non_finite", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    auto scan = [&](int64_t b, int64_t e) {
      bool n = false, i = false;
      for (int64_t k = b; k < e; ++k) {
        const double v = static_cast<double>(p[k]);
        n = n || v != v;
        i = i || std::isinf(v);
      }
      if (n) nan = true;
      if (i) inf = true;
    };
    if (pool) {
      parallel_range(*pool, t.num_elements(), kElementwiseGrain, scan);
    } else {
      scan(0, t.num_elements());
    }
  });
  found.nan = nan;
  found.inf = inf;
  return found;
}

std::string non_finite_message(const std::string& message, NonFiniteValues found) {
  const char* what = found.nan && found.inf ? "Inf and NaN" : found.inf ? "Inf" : "NaN";
  return message + " : Tensor had " + what + " values";
}

namespace {

using Grads = std::vector<Output>;

void check_numerics_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  unchanged_shape(ctx);
}

void check_numerics_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const NonFiniteValues found = find_non_finite(x, &ctx.pool());
  SLUICE_REQUIRE(!found.any(), InvalidArgument,
                 non_finite_message(ctx.attr<std::string>("message"), found));
  ctx.set_output(0, x);
}

Grads check_numerics_grad(const Scope& s, const Operation& op, const Grads& g) {
  // d/dx x = 1; the gradient is checked too (as TensorFlow's CheckNumerics gradient)
  return {ops::check_numerics(s, g[0],
                              "Not a number (NaN) or infinity (Inf) values detected in gradient. " +
                                  op.node()->attr<std::string>("message"))};
}

}  // namespace

void register_numerics_ops(OpRegistry& r) {
  r.op("CheckNumerics").input("tensor").output("output").required_attr("message")
      .shape_fn(check_numerics_shape).kernel(check_numerics_kernel).gradient(check_numerics_grad);
}

namespace ops {

Output check_numerics(const Scope& scope, const Output& x, const std::string& message) {
  return NodeBuilder(scope, "CheckNumerics").input(x).attr("message", message).finish().output(0);
}

}  // namespace ops
}  // namespace sluice
