// Every differentiable op through the numeric gradient checker (float64), plus the
// registry-coverage test: an op with neither a case (tests/grad_cases_*.cc) nor a
// not_differentiable mark fails.
#include <gtest/gtest.h>

#include "gradient_checker.h"

namespace sluice {
namespace {

using testing::GradCase;
using testing::check_gradients;
using X = std::vector<Output>;

class GradientTest : public ::testing::TestWithParam<GradCase> {};

TEST_P(GradientTest, MatchesCentralDifferences) {
  const GradCase& c = GetParam();
  const auto r = check_gradients(c);
  EXPECT_GT(r.checked, 0) << c.name;
  EXPECT_LE(r.skipped * 4, r.checked + r.skipped) << c.name << ": too many kinks skipped";
  EXPECT_LT(r.max_error, c.tolerance) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Ops, GradientTest, ::testing::ValuesIn(testing::all_grad_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(GradientCoverage, EveryRegisteredOpIsCheckedOrMarkedNotDifferentiable) {
  std::set<std::string> covered;
  for (const GradCase& c : testing::all_grad_cases()) {
    const auto r = check_gradients(c);
    covered.insert(r.op_types.begin(), r.op_types.end());
  }
  std::vector<std::string> missing;
  for (const OpDef* def : OpRegistry::global().all()) {
    if (def->not_differentiable || def->name.rfind("Test", 0) == 0) continue;  // Test*: test-only ops
    if (!def->gradient) {
      missing.push_back(def->name + " (no gradient and not marked not_differentiable)");
    } else if (!covered.count(def->name)) {
      missing.push_back(def->name + " (no gradient case)");
    }
  }
  EXPECT_TRUE(missing.empty()) << [&] {
    std::string s;
    for (const auto& m : missing) s += "\n  " + m;
    return s;
  }();
}

TEST(GradientChecker, CatchesAWrongGradient) {
  // An identity op whose registered gradient is off by a factor of two must fail the check.
  OpRegistry::global().op("TestWrongGradient").input("x").output("y")
      .shape_fn([](ShapeContext& c) { c.add_output(c.input_dtype(0), c.input_shape(0)); })
      .kernel([](KernelContext& c) { c.set_output(0, c.input(0)); })
      .gradient([](const Scope& s, const Operation&, const std::vector<Output>& g) {
        return std::vector<Output>{ops::add(s, g[0], g[0])};
      });
  GradCase c{"wrong", {{3}}, [](const Scope& s, const X& x) {
               return NodeBuilder(s, "TestWrongGradient").input(x[0]).finish().output(0);
             }};
  const auto r = check_gradients(c);
  EXPECT_EQ(r.checked, 3);
  EXPECT_GT(r.max_error, 0.4);
}

TEST(Gradients, FanOutIsSummed) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f64, {});
  Output y = ops::add(s, ops::mul(s, x, x), ops::mul(s, x, ops::scalar_like(s, x, 3.0)));  // x^2 + 3x
  Output dx = gradients(s, {y}, {x})[0];
  Session sess(g);
  EXPECT_DOUBLE_EQ(sess.run({{x, Tensor(2.0)}}, {dx})[0].scalar<double>(), 7.0);
}

TEST(Gradients, StopGradientBlocks) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f64, {});
  Output y = ops::add(s, ops::mul(s, x, x), ops::stop_gradient(s, ops::mul(s, x, x)));
  Output dx = gradients(s, {y}, {x})[0];
  Session sess(g);
  EXPECT_DOUBLE_EQ(sess.run({{x, Tensor(3.0)}}, {dx})[0].scalar<double>(), 6.0);
  // Fully blocked: no gradient at all.
  EXPECT_FALSE(gradients(s, {ops::stop_gradient(s, x)}, {x})[0].valid());
}

TEST(Gradients, GradYsWeightTheSeed) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f64, {2});
  Output y = ops::square(s, x);
  Output dx = gradients(s, {y}, {x}, {ops::constant(s, Tensor({10.0, 100.0}))})[0];
  Session sess(g);
  auto r = sess.run({{x, Tensor({1.0, 2.0})}}, {dx})[0];
  EXPECT_EQ(r.to_vector<double>(), (std::vector<double>{20.0, 400.0}));
}

TEST(Gradients, UnconnectedIsInvalid) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f64, {});
  Output z = ops::placeholder(s, DType::f64, {});
  EXPECT_FALSE(gradients(s, {ops::square(s, x)}, {z})[0].valid());
}

TEST(Gradients, OpWithoutGradientIsAClearError) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f32, {3});
  // ArgMax is not differentiable, so it blocks silently; an op with neither mark is an error.
  OpRegistry::global().op("TestNoGradient").input("x").output("y")
      .shape_fn([](ShapeContext& c) { c.add_output(c.input_dtype(0), c.input_shape(0)); });
  Output y = NodeBuilder(s.named("mystery"), "TestNoGradient").input(x).finish().output(0);
  try {
    gradients(s, {ops::sum(s, y)}, {x});
    FAIL() << "expected an error";
  } catch (const Unimplemented& e) {
    EXPECT_NE(std::string(e.what()).find("'mystery' (op type: TestNoGradient)"), std::string::npos) << e.what();
  }
}

TEST(Gradients, DropoutGradientIsTheMaskOfTheSameRun) {
  Graph g;
  Scope s(g);
  Output x = ops::placeholder(s, DType::f64, {4, 50});
  Output y = ops::dropout(s, x, ops::constant(s, Tensor(true)), 0.25, 3);
  Output dx = gradients(s, {ops::sum(s, y)}, {x})[0];
  Session sess(g);
  Tensor xv = Tensor::ones(DType::f64, {4, 50});
  auto r = sess.run({{x, xv}}, {y, y.op().output(1), dx});
  EXPECT_TRUE(r[2].equals(r[1]));
  EXPECT_TRUE(r[0].equals(r[1]));  // x = 1, so y = mask
  int zeros = 0;
  for (double v : r[1].to_vector<double>()) {
    EXPECT_TRUE(v == 0.0 || std::fabs(v - 1.0 / 0.75) < 1e-12) << v;
    zeros += v == 0.0;
  }
  EXPECT_GT(zeros, 20);  // about 50 of 200 expected
  EXPECT_LT(zeros, 80);
}

}  // namespace
}  // namespace sluice
