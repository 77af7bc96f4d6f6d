#include "losses.h"

#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/nn_ops.h"
#include "../ops/reduction_ops.h"

namespace sluice {

namespace {

constexpr double kEpsilon = 1e-7;  // Keras backend epsilon

Scope loss_scope(const Scope& scope, const char* name) {
  return scope.sub(scope.explicit_name().empty() ? name : scope.explicit_name());
}

void check_pair(const Output& y_true, const Output& y_pred, const char* what) {
  SLUICE_REQUIRE(y_true.valid() && y_pred.valid(), InvalidArgument, what, ": empty Output");
  SLUICE_REQUIRE(is_floating(y_pred.dtype()), InvalidArgument, what, ": y_pred '", y_pred.name(),
                 "' must be float, got ", dtype_name(y_pred.dtype()));
  SLUICE_REQUIRE(y_true.shape().compatible_with(y_pred.shape()), InvalidArgument, what,
                 ": y_true '", y_true.name(), "' has shape ", y_true.shape().to_string(),
                 ", y_pred '", y_pred.name(), "' has shape ", y_pred.shape().to_string());
}

Output as_dtype(const Scope& s, const Output& x, DType dtype) {
  return x.dtype() == dtype ? x : ops::cast(s, x, dtype);
}

// labels [N] -> one-hot [N, classes] of dtype; a label outside [0, classes) fails the run
// with InvalidArgument naming this node (TensorFlow's sparse cross-entropy kernel checks the
// same), instead of an all-zero row that gives loss 0 and gradient 0.
Output checked_one_hot(const Scope& s, const Output& labels, int64_t classes, DType dtype) {
  return NodeBuilder(s, "OneHot", "labels_one_hot").input(labels).attr("depth", classes)
      .attr("on_value", 1.0).attr("off_value", 0.0).attr("dtype", dtype)
      .attr("check_range", true).finish().output(0);
}

// The op behind y_pred, looking through Identity (a layer's output named by the scope).
const Node* producer(const Output& y) {
  const Node* n = y.node();
  while (n->op_type() == "Identity") n = n->inputs[0].node();
  return n;
}

}  // namespace

namespace losses {

Output categorical_crossentropy(const Scope& scope, const Output& y_true, const Output& y_pred,
                                bool from_logits) {
  check_pair(y_true, y_pred, "categorical_crossentropy");
  const Scope s = loss_scope(scope, "categorical_crossentropy");
  const Output t = as_dtype(s, y_true, y_pred.dtype());
  Output log_p;
  if (from_logits || producer(y_pred)->op_type() == "Softmax") {
    const Output logits = from_logits ? y_pred : producer(y_pred)->inputs[0];
    log_p = ops::log_softmax(s, logits);
  } else {
    const Output p = ops::div(s, y_pred, ops::sum(s, y_pred, {-1}, true));
    const Output clipped = ops::minimum(s, ops::maximum(s, p, ops::scalar_like(s, p, kEpsilon)),
                                        ops::scalar_like(s, p, 1.0 - kEpsilon));
    log_p = ops::log(s, clipped);
  }
  return ops::neg(s, ops::sum(s, ops::mul(s, t, log_p), {-1}));
}

Output sparse_categorical_crossentropy(const Scope& scope, const Output& labels,
                                       const Output& y_pred, bool from_logits) {
  const Shape& ps = y_pred.shape();
  SLUICE_REQUIRE(ps.known_rank() && ps.rank() >= 1 && ps.dim(-1) > 0, InvalidArgument,
                 "sparse_categorical_crossentropy needs y_pred with a known class dimension, got ",
                 ps.to_string());
  const Scope s = loss_scope(scope, "sparse_categorical_crossentropy");
  const Output onehot = checked_one_hot(s, labels, ps.dim(-1), y_pred.dtype());
  return categorical_crossentropy(s.named("xent"), onehot, y_pred, from_logits);
}

Output mean_squared_error(const Scope& scope, const Output& y_true, const Output& y_pred) {
  check_pair(y_true, y_pred, "mean_squared_error");
  const Scope s = loss_scope(scope, "mean_squared_error");
  const Output d = ops::sub(s, y_pred, as_dtype(s, y_true, y_pred.dtype()));
  return ops::mean(s, ops::square(s, d), {-1});
}

Output binary_crossentropy(const Scope& scope, const Output& y_true, const Output& y_pred,
                           bool from_logits) {
  check_pair(y_true, y_pred, "binary_crossentropy");
  const Scope s = loss_scope(scope, "binary_crossentropy");
  const Output t = as_dtype(s, y_true, y_pred.dtype());
  Output per;
  if (from_logits) {
    // max(x, 0) - x t + log(1 + exp(-|x|)): stable for any x
    const Output x = y_pred;
    const Output softplus = ops::log(s, ops::add(s, ops::scalar_like(s, x, 1.0),
                                                 ops::exp(s, ops::neg(s, ops::abs(s, x)))));
    per = ops::add(s, ops::sub(s, ops::relu(s, x), ops::mul(s, x, t)), softplus);
  } else {
    const Output p = ops::minimum(s, ops::maximum(s, y_pred, ops::scalar_like(s, y_pred, kEpsilon)),
                                  ops::scalar_like(s, y_pred, 1.0 - kEpsilon));
    const Output one = ops::scalar_like(s, p, 1.0);
    per = ops::neg(s, ops::add(s, ops::mul(s, t, ops::log(s, p)),
                               ops::mul(s, ops::sub(s, one, t), ops::log(s, ops::sub(s, one, p)))));
  }
  return ops::mean(s, per, {-1});
}

}  // namespace losses

namespace metrics {

Output accuracy(const Scope& scope, const Output& y_true, const Output& y_pred) {
  check_pair(y_true, y_pred, "accuracy");
  const Scope s = loss_scope(scope, "accuracy");
  const Output hit = ops::equal(s, ops::argmax(s, y_true, -1), ops::argmax(s, y_pred, -1));
  return ops::mean(s, ops::cast(s, hit, DType::f32));
}

Output sparse_accuracy(const Scope& scope, const Output& labels, const Output& y_pred) {
  const Scope s0 = loss_scope(scope, "sparse_accuracy");
  // Labels out of range fail the run (as in sparse_categorical_crossentropy) when the class
  // count is known; the comparison waits for that check.
  const Shape& ps = y_pred.shape();
  const Scope s = ps.known_rank() && ps.rank() >= 1 && ps.dim(-1) > 0
                      ? s0.with_control_dependencies(
                            {checked_one_hot(s0, labels, ps.dim(-1), DType::u8).op()})
                      : s0;
  const Output hit = ops::equal(s, ops::cast(s, labels, DType::i64), ops::argmax(s, y_pred, -1));
  return ops::mean(s, ops::cast(s, hit, DType::f32));
}

}  // namespace metrics
}  // namespace sluice
