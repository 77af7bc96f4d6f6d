// Variables and the ops that read and write session state. A variable's value lives in
// each Session separately; the graph only holds its declaration and initializer.
#pragma once

#include <vector>

#include "../graph/scope.h"

namespace sluice {

// How a variable gets its first value. The value is computed in-graph when the
// variable's initializer op runs (usually through global_variables_initializer).
struct Initializer {
  enum class Kind {
    zeros, ones, constant, glorot_uniform, glorot_normal, he_normal, he_uniform,
    random_normal, random_uniform, truncated_normal, orthogonal
  };
  Kind kind = Kind::zeros;
  double a = 0.0;  // constant value / mean / minval / gain
  double b = 0.0;  // stddev / maxval
  int64_t seed = 0;
  Tensor value;    // constant(Tensor): the exact initial value

  static Initializer zeros() { return make(Kind::zeros); }
  static Initializer ones() { return make(Kind::ones); }
  static Initializer constant(double v) { return make(Kind::constant, v); }
  static Initializer constant(const Tensor& v);
  // Uniform in +-sqrt(6 / (fan_in + fan_out)) (Keras' default kernel initializer).
  static Initializer glorot_uniform(int64_t seed = 0) { return make(Kind::glorot_uniform, 0, 0, seed); }
  // Truncated normal with stddev sqrt(2 / (fan_in + fan_out)).
  static Initializer glorot_normal(int64_t seed = 0) { return make(Kind::glorot_normal, 0, 0, seed); }
  static Initializer he_normal(int64_t seed = 0) { return make(Kind::he_normal, 0, 0, seed); }
  static Initializer he_uniform(int64_t seed = 0) { return make(Kind::he_uniform, 0, 0, seed); }
  static Initializer random_normal(double mean = 0.0, double stddev = 0.05, int64_t seed = 0) {
    return make(Kind::random_normal, mean, stddev, seed);
  }
  static Initializer random_uniform(double minval = -0.05, double maxval = 0.05, int64_t seed = 0) {
    return make(Kind::random_uniform, minval, maxval, seed);
  }
  static Initializer truncated_normal(double mean = 0.0, double stddev = 0.05, int64_t seed = 0) {
    return make(Kind::truncated_normal, mean, stddev, seed);
  }
  // A (semi-)orthogonal matrix over the last dim, times `gain` (Keras' recurrent default).
  static Initializer orthogonal(double gain = 1.0, int64_t seed = 0) {
    return make(Kind::orthogonal, gain, 0, seed);
  }

  // Builds the initial value [shape] of dtype in `scope`.
  Output build(const Scope& scope, const Shape& shape, DType dtype) const;

 private:
  static Initializer make(Kind kind, double a = 0.0, double b = 0.0, int64_t seed = 0) {
    Initializer init;
    init.kind = kind;
    init.a = a;
    init.b = b;
    init.seed = seed;
    return init;
  }
};

namespace ops {

// A variable [shape] of dtype, named by the scope (default "Variable"), with its
// initializer op `<name>/Assign`; added to the global-variables collection and, when
// trainable, to the trainable-variables collection. Returns the variable's value.
Output variable(const Scope& scope, const Shape& shape, DType dtype,
                const Initializer& init = Initializer::zeros(), bool trainable = true);
// var = value (same dtype and shape); returns the new value.
Output assign(const Scope& scope, const Output& var, const Output& value);
Output assign_add(const Scope& scope, const Output& var, const Output& value);
Output assign_sub(const Scope& scope, const Output& var, const Output& value);

// An op that does nothing but run after `deps` (targets use it to group work).
Operation no_op(const Scope& scope, const std::vector<Operation>& deps = {});
// Runs the initializers of every global variable of the scope's graph that exists now.
Operation global_variables_initializer(const Scope& scope);
Operation variables_initializer(const Scope& scope, const std::vector<Operation>& variables);

}  // namespace ops

// The graph's learning-phase flag: a bool scalar placeholder defaulting to false
// (inference), created on first use, one per graph. Feed true to train.
Output learning_phase(const Graph& graph);

}  // namespace sluice
