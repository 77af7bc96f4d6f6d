// Random ops. Each is reproducible: its numbers depend only on (graph seed, op seed) and
// on how many times it has run in the session, as in TensorFlow. An op seed of 0 means
// "derive one from the node's position in the graph".
#pragma once

#include <utility>

#include "../graph/scope.h"

namespace sluice::ops {

// [shape] uniform in [minval, maxval).
Output random_uniform(const Scope& scope, const Shape& shape, DType dtype = DType::f32,
                      double minval = 0.0, double maxval = 1.0, int64_t seed = 0);
// [shape] normal(mean, stddev).
Output random_normal(const Scope& scope, const Shape& shape, DType dtype = DType::f32,
                     double mean = 0.0, double stddev = 1.0, int64_t seed = 0);
// [shape] normal(mean, stddev) redrawn until within two stddevs.
Output truncated_normal(const Scope& scope, const Shape& shape, DType dtype = DType::f32,
                        double mean = 0.0, double stddev = 1.0, int64_t seed = 0);

}  // namespace sluice::ops

namespace sluice {
// The (seed, seed2) attrs a random op built in `scope` gets for op seed `op_seed`.
std::pair<int64_t, int64_t> random_seeds(const Scope& scope, int64_t op_seed);
}  // namespace sluice
