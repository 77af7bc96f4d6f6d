// Numerics checks: TensorFlow's check_numerics op, and the scan it shares with the session
// option SessionOptions::check_numerics (which checks every float op's outputs, as
// tf.add_check_numerics_ops does).
//
// Sluice propagates NaN and Inf as TensorFlow and PyTorch do (no op turns NaN into a
// number; see tests/op_numerics.h), so a NaN born anywhere reaches the loss. These checks
// find where it was born.
#pragma once

#include <string>

#include "../graph/scope.h"
#include "../runtime/thread_pool.h"

namespace sluice {

// Which special values a tensor holds (always none for non-float dtypes).
struct NonFiniteValues {
  bool nan = false;
  bool inf = false;
  bool any() const { return nan || inf; }
};
NonFiniteValues find_non_finite(const Tensor& t, ThreadPool* pool = nullptr);

// TensorFlow's CheckNumerics text: "<message> : Tensor had NaN values" ("Inf", "Inf and
// NaN").
std::string non_finite_message(const std::string& message, NonFiniteValues found);

namespace ops {

// x [any shape], float -> x unchanged; at run time, if x holds a NaN or an Inf, the run
// fails with InvalidArgument "node '<name>' (CheckNumerics): <message> : Tensor had NaN
// values". Differentiable: the gradient is checked the same way, with the message prefixed
// by "Not a number (NaN) or infinity (Inf) values detected in gradient. " (as TensorFlow).
Output check_numerics(const Scope& scope, const Output& x, const std::string& message);

}  // namespace ops
}  // namespace sluice
