// Model::compile: targets, loss, metrics' batch statistics, gradient clipping and the train
// op, all built into the model's graph.
#include <cmath>
#include <set>

#include "../ops/math_unary_ops.h"

#include "../graph/losses.h"
#include "../graph/optimizers.h"
#include "../ops/array_ops.h"
#include "../ops/math_binary_ops.h"
#include "../ops/math_ops.h"
#include "../ops/reduction_ops.h"
#include "../ops/state_ops.h"
#include "model_internal.h"

namespace sluice::models {

namespace {

std::string canonical_loss(const std::string& loss) {
  if (loss == "mse" || loss == "mean_squared_error") return "mean_squared_error";
  if (loss == "mae" || loss == "mean_absolute_error") return "mean_absolute_error";
  if (loss == "categorical_crossentropy" || loss == "sparse_categorical_crossentropy" ||
      loss == "binary_crossentropy")
    return loss;
  throw InvalidArgument("compile: unknown loss '" + loss +
                        "' (categorical_crossentropy, sparse_categorical_crossentropy, "
                        "binary_crossentropy, mean_squared_error/mse, mean_absolute_error/mae)");
}

// Per-example loss [N].
Output per_example_loss(const Scope& s, const std::string& loss, const Output& y, const Output& p) {
  if (loss == "categorical_crossentropy") return losses::categorical_crossentropy(s, y, p);
  if (loss == "sparse_categorical_crossentropy")
    return losses::sparse_categorical_crossentropy(s, y, p);
  if (loss == "binary_crossentropy") {
    Output l = losses::binary_crossentropy(s, y, p);
    return l.shape().rank() > 1 ? ops::mean(s, l, {-1}) : l;
  }
  Output d = ops::sub(s, p, y);
  Output e = loss == "mean_squared_error" ? ops::square(s, d) : ops::abs(s, d);
  Output m = ops::mean(s, e, {-1});
  // Sequences ([N, T, F] -> [N, T]): the mean over every axis but the batch, so that with the
  // sample weights the loss is Keras' weighted mean over all N T values.
  std::vector<int64_t> rest;
  for (int i = 1; i < m.shape().rank(); ++i) rest.push_back(i);
  return rest.empty() ? m : ops::mean(s, m, rest);
}

Output f32(const Scope& s, const Output& x) { return ops::cast(s, x, DType::f32); }

// Keras' "accuracy" follows the loss.
std::string resolve_metric(const std::string& m, const std::string& loss) {
  if (m == "accuracy" || m == "acc") {
    if (loss == "sparse_categorical_crossentropy") return "sparse_categorical_accuracy";
    if (loss == "binary_crossentropy") return "binary_accuracy";
    return "categorical_accuracy";
  }
  return m;
}

MetricDef build_metric(const Scope& s, const std::string& given, const std::string& loss,
                       const Output& y, const Output& p) {
  const std::string m = resolve_metric(given, loss);
  MetricDef d;
  d.name = given == "acc" ? "accuracy" : given;
  const Scope ms = s.with_prefix(d.name);
  if (m == "categorical_accuracy") {
    d.a = ops::sum(ms, f32(ms, ops::equal(ms, ops::argmax(ms, y, -1), ops::argmax(ms, p, -1))));
  } else if (m == "sparse_categorical_accuracy") {
    d.a = ops::sum(ms, f32(ms, ops::equal(ms, y, ops::argmax(ms, p, -1))));
  } else if (m == "binary_accuracy") {
    Output hit = ops::equal(ms, f32(ms, ops::greater(ms, p, ops::scalar_like(ms, p, 0.5))),
                            f32(ms, y));
    d.a = ops::sum(ms, ops::mean(ms, f32(ms, hit), {-1}));
  } else if (m == "top_k_categorical_accuracy") {
    // In the top 5 when fewer than 5 scores are strictly greater than the true class's.
    Output at_true = ops::sum(ms, ops::mul(ms, p, f32(ms, y)), {-1}, true);
    Output above = ops::sum(ms, f32(ms, ops::greater(ms, p, at_true)), {-1});
    d.a = ops::sum(ms, f32(ms, ops::less(ms, above, ops::scalar_like(ms, above, 5))));
  } else if (m == "mae" || m == "mean_absolute_error" || m == "mse" ||
             m == "mean_squared_error") {
    Output diff = ops::sub(ms, p, f32(ms, y));
    Output e = (m == "mae" || m == "mean_absolute_error") ? ops::abs(ms, diff) : ops::square(ms, diff);
    d.a = ops::sum(ms, ops::mean(ms, e, {-1}));
  } else if (m == "precision" || m == "recall") {
    Output pred = f32(ms, ops::greater(ms, p, ops::scalar_like(ms, p, 0.5)));
    Output truth = f32(ms, y);
    d.kind = MetricDef::Kind::ratio;
    d.a = ops::sum(ms, ops::mul(ms, pred, truth));  // true positives
    Output other = m == "precision" ? ops::mul(ms, pred, ops::sub(ms, ops::scalar_like(ms, truth, 1), truth))
                                    : ops::mul(ms, ops::sub(ms, ops::scalar_like(ms, pred, 1), pred), truth);
    d.b = ops::sum(ms, other);
  } else if (m == "auc" || m == "AUC") {
    // Keras' AUC: every prediction against every threshold, flattened (multi_label false).
    const std::vector<float> th = auc_thresholds();
    Output flat_p = ops::reshape(ms, f32(ms, p), {-1, 1});
    Output truth = ops::reshape(ms, f32(ms, y), {-1, 1});
    Output thresholds = ops::constant(ms, Tensor::from_vector(th, Shape{1, static_cast<int64_t>(th.size())}));
    Output above = f32(ms, ops::greater(ms, flat_p, thresholds));  // [M, T]
    Output negative = ops::sub(ms, ops::scalar_like(ms, truth, 1), truth);
    d.kind = MetricDef::Kind::auc;
    d.a = ops::sum(ms, ops::mul(ms, above, truth), {0});
    d.b = ops::sum(ms, ops::mul(ms, above, negative), {0});
    d.c = ops::sum(ms, truth);
    d.d = ops::sum(ms, negative);
  } else {
    throw InvalidArgument("compile: unknown metric '" + given +
                          "' (accuracy, categorical_accuracy, sparse_categorical_accuracy, "
                          "binary_accuracy, top_k_categorical_accuracy, precision, recall, auc, mae, mse)");
  }
  return d;
}

// d/dg: clipping is applied to the gradients before the update (Keras' clipvalue, clipnorm,
// global_clipnorm).
optimizers::GradsAndVars clip(const Scope& s, optimizers::GradsAndVars gv, const OptimizerConfig& c) {
  if (c.clipvalue > 0)
    for (auto& p : gv)
      p.first = ops::clip_by_value(s, p.first, ops::scalar_like(s, p.first, -c.clipvalue),
                                   ops::scalar_like(s, p.first, c.clipvalue));
  if (c.clipnorm > 0)
    for (auto& p : gv) {
      Output norm = ops::sqrt(s, ops::sum(s, ops::square(s, p.first)));
      Output limit = ops::scalar_like(s, norm, c.clipnorm);
      p.first = ops::div(s, ops::mul(s, p.first, limit), ops::maximum(s, norm, limit));
    }
  if (c.global_clipnorm > 0 && !gv.empty()) {
    std::vector<Output> sq;
    for (auto& p : gv) sq.push_back(ops::sum(s, ops::square(s, p.first)));
    Output norm = ops::sqrt(s, sq.size() == 1 ? sq[0] : ops::add_n(s, sq));
    Output limit = ops::scalar_like(s, norm, c.global_clipnorm);
    Output scale = ops::div(s, limit, ops::maximum(s, norm, limit));
    for (auto& p : gv) p.first = ops::mul(s, p.first, scale);
  }
  return gv;
}

// The schedule's value at `step` (f32 scalar), divided by the initial rate.
Output schedule_factor(const Scope& s, const LearningRateSchedule& sc, double initial, const Output& iterations) {
  using K = LearningRateSchedule::Kind;
  Output step = ops::cast(s, iterations, DType::f32);
  auto c = [&](double v) { return ops::scalar_like(s, step, v); };
  Output value;
  switch (sc.kind) {
    case K::none: return c(1.0);
    case K::exponential: {
      Output p = ops::div(s, step, c(static_cast<double>(sc.decay_steps)));
      if (sc.staircase) p = ops::floor(s, p);
      value = ops::mul(s, c(initial), ops::pow(s, c(sc.decay_rate), p));
      break;
    }
    case K::piecewise: {
      value = c(sc.values.back());
      for (size_t i = sc.boundaries.size(); i-- > 0;)
        value = ops::select(s, ops::less_equal(s, step, c(static_cast<double>(sc.boundaries[i]))),
                            c(sc.values[i]), value);
      break;
    }
    case K::polynomial: {
      Output t = ops::div(s, ops::minimum(s, step, c(static_cast<double>(sc.decay_steps))),
                          c(static_cast<double>(sc.decay_steps)));
      value = ops::add(s, ops::mul(s, c(initial - sc.end_learning_rate),
                                   ops::pow(s, ops::sub(s, c(1.0), t), c(sc.power))),
                       c(sc.end_learning_rate));
      break;
    }
    case K::cosine: {
      const double target = sc.warmup_steps > 0 ? sc.warmup_target : initial;
      Output after = ops::minimum(s, ops::maximum(s, ops::sub(s, step, c(static_cast<double>(sc.warmup_steps))), c(0.0)),
                                  c(static_cast<double>(sc.decay_steps)));
      Output cosv = ops::cos(s, ops::mul(s, c(std::acos(-1.0) / static_cast<double>(sc.decay_steps)), after));
      Output decayed = ops::mul(s, c(target), ops::add(s, c(sc.alpha), ops::mul(s, c((1 - sc.alpha) / 2),
                                                                                   ops::add(s, c(1.0), cosv))));
      value = decayed;
      if (sc.warmup_steps > 0) {
        Output warm = ops::add(s, c(initial), ops::mul(s, c((target - initial) / static_cast<double>(sc.warmup_steps)), step));
        value = ops::select(s, ops::less(s, step, c(static_cast<double>(sc.warmup_steps))), warm, decayed);
      }
      break;
    }
  }
  return ops::div(s, value, c(initial));
}

void check_schedule(const LearningRateSchedule& sc) {
  using K = LearningRateSchedule::Kind;
  SLUICE_REQUIRE(sc.kind == K::none || sc.kind == K::piecewise || sc.decay_steps > 0, InvalidArgument,
                 "learning-rate schedule: decay_steps must be positive, got ", sc.decay_steps);
  if (sc.kind == K::piecewise) {
    SLUICE_REQUIRE(!sc.boundaries.empty() && sc.values.size() == sc.boundaries.size() + 1,
                   InvalidArgument, "piecewise_constant_decay: needs one more value than boundaries (",
                   sc.values.size(), " values, ", sc.boundaries.size(), " boundaries)");
    for (size_t i = 1; i < sc.boundaries.size(); ++i)
      SLUICE_REQUIRE(sc.boundaries[i] > sc.boundaries[i - 1], InvalidArgument,
                     "piecewise_constant_decay: boundaries must increase");
  }
  SLUICE_REQUIRE(sc.warmup_steps >= 0, InvalidArgument, "cosine_decay: warmup_steps must be >= 0");
}

}  // namespace

std::vector<float> auc_thresholds(int num_thresholds) {
  std::vector<float> t;
  t.push_back(0.0f - 1e-7f);
  for (int i = 0; i < num_thresholds - 2; ++i)
    t.push_back(static_cast<float>((i + 1) * 1.0 / (num_thresholds - 1)));
  t.push_back(1.0f + 1e-7f);
  return t;
}

double auc_from_counts(const std::vector<double>& tp, const std::vector<double>& fp, double pos, double neg) {
  double auc = 0;
  auto rate = [](double a, double total) { return total > 0 ? a / total : 0.0; };  // divide_no_nan
  for (size_t i = 0; i + 1 < tp.size(); ++i) {
    const double x0 = rate(fp[i], neg), x1 = rate(fp[i + 1], neg);
    const double y0 = rate(tp[i], pos), y1 = rate(tp[i + 1], pos);
    auc += (x0 - x1) * (y0 + y1) / 2;
  }
  return auc;
}

LearningRateSchedule exponential_decay(int64_t decay_steps, double decay_rate, bool staircase) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::Kind::exponential;
  s.decay_steps = decay_steps;
  s.decay_rate = decay_rate;
  s.staircase = staircase;
  return s;
}

LearningRateSchedule piecewise_constant_decay(std::vector<int64_t> boundaries, std::vector<double> values) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::Kind::piecewise;
  s.boundaries = std::move(boundaries);
  s.values = std::move(values);
  return s;
}

LearningRateSchedule polynomial_decay(int64_t decay_steps, double end_learning_rate, double power) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::Kind::polynomial;
  s.decay_steps = decay_steps;
  s.end_learning_rate = end_learning_rate;
  s.power = power;
  return s;
}

LearningRateSchedule cosine_decay(int64_t decay_steps, double alpha, double warmup_target, int64_t warmup_steps) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::Kind::cosine;
  s.decay_steps = decay_steps;
  s.alpha = alpha;
  s.warmup_target = warmup_target;
  s.warmup_steps = warmup_steps;
  return s;
}

void Model::compile(const OptimizerConfig& optimizer, const std::string& loss_name,
                    const std::vector<std::string>& metrics) {
  require_built("compile");
  SLUICE_REQUIRE(compiled_ == nullptr, FailedPrecondition, "model '", name_,
                 "' is already compiled");
  SLUICE_REQUIRE(optimizer.learning_rate > 0 && std::isfinite(optimizer.learning_rate),
                 InvalidArgument, "compile: learning rate must be positive, got ",
                 optimizer.learning_rate);
  auto c = std::make_unique<Compiled>();
  c->optimizer = optimizer;
  c->loss = canonical_loss(loss_name);
  c->metric_names = metrics;
  c->sparse = c->loss == "sparse_categorical_crossentropy";
  Scope root(graph_);
  const Scope ts = root.with_prefix("training");
  // Penalties and constraints are named after their layer ("dense/kernel/regularizer/..."):
  // a model takes those of its own layers (a functional model may share its graph).
  auto owned_by_model = [this](const Operation& op) {
    for (const auto& l : layers_)
      if (op.name().rfind(l.name + "/", 0) == 0) return true;
    return false;
  };
  c->sample_weight = ops::placeholder(ts.named("sample_weight"), DType::f32, {-1});
  std::vector<Output> terms;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const Output& p = outputs_[i];
    const std::string suffix = outputs_.size() > 1 ? "_" + std::to_string(i) : "";
    Output y = c->sparse ? ops::placeholder(ts.named("target" + suffix), DType::i64, {-1})
                         : ops::placeholder(ts.named("target" + suffix), p.dtype(), p.shape());
    c->targets.push_back(y);
    const Scope ls = ts.with_prefix("loss" + suffix);
    Output l = per_example_loss(ls, c->loss, y, p);
    // Weighted by the sample weights (ones unless class weights are given: exact).
    terms.push_back(ops::mean(ls, ops::mul(ls, l, c->sample_weight)));
    for (const auto& m : metrics) {
      MetricDef d = build_metric(ts, m, c->loss, y, p);
      if (outputs_.size() > 1) d.name = outputs_[i].node()->name + "_" + d.name;
      c->metrics.push_back(d);
    }
  }
  // Keras adds the layers' regularization penalties to the loss it reports and minimises.
  for (const Operation& op : graph_.collection(layers::kRegularizationLosses))
    if (owned_by_model(op)) terms.push_back(ops::cast(ts, op.output(0), DType::f32));
  c->total_loss = ops::identity(ts.named("total_loss"), terms.size() == 1 ? terms[0] : ops::add_n(ts, terms));
  c->learning_rate = ops::variable(root.named("learning_rate"), {}, DType::f32,
                                   Initializer::constant(optimizer.learning_rate), false);
  c->iterations = ops::variable(root.named("iterations"), {}, DType::i64, Initializer::zeros(), false);
  check_schedule(optimizer.schedule);
  c->effective_learning_rate = c->learning_rate;
  if (optimizer.schedule.kind != LearningRateSchedule::Kind::none)
    c->effective_learning_rate = ops::mul(
        ts.named("scheduled_learning_rate"), c->learning_rate,
        schedule_factor(ts.with_prefix("schedule"), optimizer.schedule, optimizer.learning_rate, c->iterations));
  std::unique_ptr<optimizers::Optimizer> opt;
  const LearningRate lr(c->effective_learning_rate);
  if (optimizer.name == "adam")
    opt = std::make_unique<optimizers::Adam>(lr, optimizer.beta_1, optimizer.beta_2, optimizer.epsilon);
  else if (optimizer.name == "sgd")
    opt = std::make_unique<optimizers::SGD>(lr, optimizer.momentum, optimizer.nesterov);
  else if (optimizer.name == "rmsprop")
    opt = std::make_unique<optimizers::RMSprop>(lr, optimizer.rho, optimizer.momentum, optimizer.epsilon);
  else
    throw InvalidArgument("compile: unknown optimizer '" + optimizer.name + "' (adam, sgd, rmsprop)");
  optimizers::GradsAndVars gv = opt->compute_gradients(root, c->total_loss);
  SLUICE_REQUIRE(!gv.empty(), InvalidArgument, "model '", name_,
                 "': the loss depends on no trainable weight");
  if (optimizer.clipvalue > 0 || optimizer.clipnorm > 0 || optimizer.global_clipnorm > 0)
    gv = clip(ts.with_prefix("clip"), gv, optimizer);
  Operation apply = opt->apply_gradients(root, gv);
  Output step = ops::assign_add(ts.without_control_dependencies().with_control_dependencies({apply}),
                                c->iterations, ops::constant(ts, Tensor(int64_t{1})));
  c->train_op = ops::no_op(ts.named("train"), {apply, step.op()});
  // Keras projects what its optimizer updates: a frozen layer's constrained weight is left as
  // it is. (Each projection is an Assign whose input 0 is its weight.)
  std::set<const Node*> updated;
  for (const auto& p : gv) updated.insert(p.second.node());
  std::vector<Operation> projections;
  for (const Operation& op : graph_.collection(layers::kWeightConstraints))
    if (owned_by_model(op) && op.num_inputs() > 0 && updated.count(op.input(0).node())) projections.push_back(op);
  if (!projections.empty()) c->constraints_op = ops::no_op(ts.named("constraints"), projections);
  compiled_ = std::move(c);
  // Initialise what compile created (slots, counters), keeping the layers' current values.
  std::vector<Operation> inits;
  for (const auto& v : graph_.global_variables()) {
    if (!session_->is_variable_initialized(v.name())) inits.push_back(graph_.variable_initializer(v));
  }
  if (!inits.empty()) session_->run({}, {}, inits);
}

std::vector<std::string> Model::metrics_names() const {
  require_compiled("metrics_names");
  std::vector<std::string> r = {"loss"};
  for (const auto& m : compiled_->metrics) r.push_back(m.name);
  return r;
}

}  // namespace sluice::models
