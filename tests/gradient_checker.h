// The numeric gradient checker every differentiable op goes through.
//
// A case builds y = f(x_0, .., x_n) from float64 placeholders. The checker forms the scalar
// L = sum(y * w) with fixed random weights w, builds dL/dx_i with sluice::gradients, and
// compares every element against central differences (L(x+h) - L(x-h)) / 2h. Elements where
// the one-sided differences disagree (a kink such as relu at 0, max at a tie) are skipped;
// the check fails if more than a quarter of the elements had to be skipped.
#pragma once

#include <sluice/sluice.h>

#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace sluice::testing {

struct GradCase {
  std::string name;
  std::vector<Shape> shapes;  // one float64 input per shape
  std::function<Output(const Scope&, const std::vector<Output>&)> build;
  double low = -2.0, high = 2.0;  // inputs drawn uniformly from [low, high)
  double step = 1e-6;
  double tolerance = 1e-6;        // on |analytic - numeric| / max(1, |numeric|)
  // Optional explicit inputs (overrides the random draw for input i when valid).
  std::vector<Tensor> inputs;
};

struct GradResult {
  double max_error = 0;
  int64_t checked = 0;
  int64_t skipped = 0;
  std::set<std::string> op_types;  // ops the forward graph used (for the coverage test)
};

// Runs the check; returns the result (the test asserts on it).
GradResult check_gradients(const GradCase& c, uint32_t seed = 1234);

// Every op family lists its cases in tests/grad_cases_<family>.cc and registers them with
//   static const bool registered = testing::register_grad_cases(my_family_cases);
// All of them are linked into test_gradients, which checks each case and runs the
// registry-coverage test over the union.
using GradCaseList = std::vector<GradCase> (*)();
bool register_grad_cases(GradCaseList cases);
std::vector<GradCase> all_grad_cases();

}  // namespace sluice::testing
