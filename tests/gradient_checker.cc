#include "gradient_checker.h"

#include <cmath>

namespace sluice::testing {

GradResult check_gradients(const GradCase& c, uint32_t seed) {
  GradResult result;
  Graph g;
  Scope root(g);
  std::vector<Output> xs;
  std::vector<Tensor> values;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(c.low, c.high);
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    xs.push_back(ops::placeholder(root.named("x" + std::to_string(i)), DType::f64, c.shapes[i]));
    if (i < c.inputs.size() && c.inputs[i].valid()) {
      values.push_back(c.inputs[i].clone());
    } else {
      Tensor t(DType::f64, c.shapes[i]);
      for (int64_t j = 0; j < t.num_elements(); ++j) t.data<double>()[j] = dist(rng);
      values.push_back(t);
    }
  }
  const int first_node = g.num_operations();
  Scope fs = root.sub("f");
  Output y = c.build(fs, xs);
  for (const Operation& op : g.operations())
    if (op.node()->id >= first_node) result.op_types.insert(op.type());

  FeedList feeds;
  for (size_t i = 0; i < xs.size(); ++i) feeds.emplace_back(xs[i], values[i]);
  Session sess(g, SessionOptions{1});
  const Tensor y0 = sess.run(feeds, {y})[0];
  Tensor w(DType::f64, y0.shape());
  std::uniform_real_distribution<double> wdist(0.5, 1.5);
  for (int64_t j = 0; j < w.num_elements(); ++j) w.data<double>()[j] = wdist(rng);
  Output loss = ops::sum(root, ops::mul(root, y, ops::constant(root, w)));
  const std::vector<Output> grads = gradients(root, {loss}, xs);

  auto loss_at = [&](const FeedList& f) { return sess.run(f, {loss})[0].scalar<double>(); };
  for (size_t i = 0; i < xs.size(); ++i) {
    // No path from x_i to y: the analytic gradient is zero, and the numeric one must be too.
    const Tensor analytic = grads[i].valid() ? sess.run(feeds, {grads[i]})[0] : Tensor::zeros(DType::f64, values[i].shape());
    if (analytic.shape() != values[i].shape()) {
      result.max_error = INFINITY;
      return result;
    }
    for (int64_t j = 0; j < values[i].num_elements(); ++j) {
      Tensor probe = values[i].clone();
      FeedList f = feeds;
      f[i].second = probe;
      double* p = probe.data<double>();
      const double orig = p[j];
      const double l0 = loss_at(f);
      p[j] = orig + c.step;
      const double lp = loss_at(f);
      p[j] = orig - c.step;
      const double lm = loss_at(f);
      const double fwd = (lp - l0) / c.step, bwd = (l0 - lm) / c.step;
      if (std::fabs(fwd - bwd) > 1e-3 * std::max(1.0, std::fabs(fwd) + std::fabs(bwd))) {
        ++result.skipped;  // a kink between x-h and x+h
        continue;
      }
      const double numeric = (lp - lm) / (2 * c.step);
      const double a = analytic.data<double>()[j];
      const double err = std::fabs(a - numeric) / std::max(1.0, std::fabs(numeric));
      result.max_error = std::max(result.max_error, std::isnan(err) ? INFINITY : err);
      ++result.checked;
    }
  }
  return result;
}

namespace {
std::vector<GradCaseList>& case_lists() {
  static std::vector<GradCaseList> lists;
  return lists;
}
}  // namespace

bool register_grad_cases(GradCaseList cases) {
  case_lists().push_back(cases);
  return true;
}

std::vector<GradCase> all_grad_cases() {
  std::vector<GradCase> all;
  for (GradCaseList list : case_lists())
    for (GradCase& c : list()) all.push_back(std::move(c));
  return all;
}

}  // namespace sluice::testing
