// Internal: what compile() builds into the graph, shared by models/*.cc. Not public API.
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace sluice::models {

// A metric's per-batch statistics in the graph. mean: a = sum of per-example values (the
// result is sum a / rows); ratio: a / (a + b) over the accumulated sums (precision: tp, fp;
// recall: tp, fn).
// auc: a = true positives [T] and b = false positives [T] at each of T thresholds, c = the
// positives and d = the negatives of the batch (scalars); the curve is taken over the sums.
struct MetricDef {
  enum class Kind { mean, ratio, auc };
  std::string name;
  Kind kind = Kind::mean;
  Output a, b, c, d;
};

// Keras' AUC(num_thresholds=200) thresholds: -eps, 1/199, ..., 198/199, 1 + eps.
std::vector<float> auc_thresholds(int num_thresholds = 200);
// Keras' ROC AUC with interpolation from per-threshold counts (tp, fp over thresholds in
// increasing order; pos, neg the totals): trapezoids of (fp rate, recall).
double auc_from_counts(const std::vector<double>& tp, const std::vector<double>& fp, double pos,
                       double neg);

struct Model::Compiled {
  OptimizerConfig optimizer;
  std::string loss;
  std::vector<std::string> metric_names;  // as given to compile()
  bool sparse = false;                    // integer class-id targets
  std::vector<Output> targets;            // one placeholder per output
  Output sample_weight;                   // f32 [N], fed ones without class weights
  Output total_loss;                      // scalar
  Operation train_op;
  Operation constraints_op;               // weight constraints, run after train_op (may be empty)
  Output learning_rate;                   // f32 variable
  Output effective_learning_rate;         // f32 scalar: the schedule applied
  Output iterations;                      // i64 variable, +1 per train step
  std::vector<MetricDef> metrics;
};

struct ModelAccess {
  static Model::Compiled& compiled(Model& m) { return *m.compiled_; }
};

// Host helpers (models/data.cc).
int64_t rows_of(const std::vector<Tensor>& ts, const char* what);
// Rows [b, e) of order (or the range itself when order is empty), concatenated per tensor.
std::vector<Tensor> take_rows(const std::vector<Tensor>& ts, const std::vector<int64_t>& order,
                              int64_t b, int64_t e);
// Concatenates tensors along dim 0 (same dtype and trailing shape).
Tensor concat_rows(const std::vector<Tensor>& parts);
// Integer class ids as int64 [N] (from u8/i32/i64 [N] or [N, 1]).
Tensor to_class_ids(const Tensor& t);
// Keras names -> CamelCase ("max_pooling2d" -> "MaxPooling2D").
std::string keras_class_name(const std::string& snake);

}  // namespace sluice::models
