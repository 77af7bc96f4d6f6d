// Issue 10 items 1 and 4: NaN reaches predictions and losses instead of turning into a
// plausible number, and check_numerics (the op and the session option) finds where it was
// born. Per-op NaN/Inf behaviour is in the op table (test_op_numerics).
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>

#include "test_util.h"

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The model: a relu hidden layer and a softmax output, trained with SGD.
struct Mlp {
  Graph g;
  Scope root{g};
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 4});
  Output y = ops::placeholder(root.named("y"), DType::f32, {-1, 3});
  layers::Dense hidden{5, Activation::relu, true, "", Initializer::glorot_uniform(3)};
  layers::Dense out{3, Activation::softmax, true, "", Initializer::glorot_uniform(4)};
  Output probs = out(root, hidden(root, x));
  Output loss = ops::mean(root, losses::categorical_crossentropy(root, y, probs));
};

TEST(Numerics, NaNInputGivesNaNPredictionNotAPlausibleOne) {
  Mlp m;
  Session sess(m.g);
  sess.run({}, {}, {ops::global_variables_initializer(m.root)});
  const Tensor x = Tensor::from_vector<float>({kNaN, 1, 2, 3, 0.5f, -1, 2, 0}, {2, 4});
  const Tensor p = sess.run({{m.x, x}}, {m.probs})[0];
  for (int j = 0; j < 3; ++j) {
    EXPECT_TRUE(std::isnan(p.at<float>({0, j}))) << "row with a NaN input: " << p;
    EXPECT_TRUE(std::isfinite(p.at<float>({1, j}))) << "clean row: " << p;
  }
}

TEST(Numerics, TrainingOnNaNReportsANaNLoss) {
  Mlp m;
  Operation train = optimizers::SGD(0.1).minimize(m.root, m.loss);
  Session sess(m.g);
  sess.run({}, {}, {ops::global_variables_initializer(m.root)});
  const Tensor x = Tensor::from_vector<float>({kNaN, 1, 2, 3}, {1, 4});
  const Tensor y = Tensor::from_vector<float>({0, 1, 0}, {1, 3});
  const Tensor loss = sess.run({{m.x, x}, {m.y, y}}, {m.loss}, {train})[0];
  // The weights did take NaN; the reported loss must say so.
  EXPECT_TRUE(std::isnan(loss.scalar<float>())) << loss;
  const Tensor k = sess.variable_value(m.hidden.kernel().op().name());
  bool any_nan = false;
  for (int64_t i = 0; i < k.num_elements(); ++i) any_nan = any_nan || std::isnan(k.as_double(i));
  EXPECT_TRUE(any_nan);
}

TEST(CheckNumerics, PassesFiniteValuesThroughAndNamesNodeAndMessage) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1});
  Output checked = ops::check_numerics(root.named("after_log"), ops::log(root, x), "log of x");
  Session sess(g);
  const Tensor ok = sess.run({{x, Tensor({1.0f, 2.0f})}}, {checked})[0];
  EXPECT_FLOAT_EQ(ok.data<float>()[1], std::log(2.0f));
  std::string m = error_of<InvalidArgument>([&] { sess.run({{x, Tensor({1.0f, -1.0f})}}, {checked}); });
  EXPECT_TRUE(contains(m, "node 'after_log' (CheckNumerics): log of x : Tensor had NaN values")) << m;
  m = error_of<InvalidArgument>([&] { sess.run({{x, Tensor({0.0f, 1.0f})}}, {checked}); });
  EXPECT_TRUE(contains(m, "log of x : Tensor had Inf values")) << m;
  m = error_of<InvalidArgument>([&] { sess.run({{x, Tensor({0.0f, -1.0f})}}, {checked}); });
  EXPECT_TRUE(contains(m, "log of x : Tensor had Inf and NaN values")) << m;
  // Float only, checked when the node is built.
  Output i = ops::placeholder(root.named("i"), DType::i32, {2});
  m = error_of<InvalidArgument>([&] { ops::check_numerics(root, i, "ints"); });
  EXPECT_TRUE(contains(m, "CheckNumerics")) << m;
}

TEST(CheckNumerics, GradientIsCheckedToo) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f64, {2});
  Output y = ops::sum(root, ops::sqrt(root, ops::check_numerics(root, x, "x")));
  Output dx = gradients(root, {y}, {x})[0];
  Session sess(g);
  const Tensor d = sess.run({{x, Tensor({4.0, 1.0})}}, {dx})[0];
  EXPECT_DOUBLE_EQ(d.data<double>()[0], 0.25);
  // d/dx sqrt(x) at 0 is inf: the forward is fine, the gradient check fires.
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{x, Tensor({0.0, 1.0})}}, {dx}); });
  EXPECT_TRUE(contains(m, "Not a number (NaN) or infinity (Inf) values detected in gradient. x : "
                          "Tensor had Inf values")) << m;
}

TEST(CheckNumerics, SessionOptionFindsTheFirstOpProducingNaN) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 2});
  Output h = ops::relu(root.named("h"), ops::matmul(root.named("mm"), x, ops::constant(root, Tensor({{1.0f, -1.0f}, {0.5f, 2.0f}}))));
  Output s = ops::sqrt(root.named("root_of_neg"), ops::sub(root.named("shift"), h, ops::scalar_like(root, h, 3.0)));
  Output probs = ops::softmax(root.named("probs"), s);
  Output loss = ops::mean(root.named("loss"), ops::log(root, probs));
  const Tensor xv = Tensor({{1.0f, 1.0f}});
  {
    Session plain(g);  // off by default: the NaN flows to the loss silently
    EXPECT_TRUE(std::isnan(plain.run({{x, xv}}, {loss})[0].scalar<float>()));
  }
  SessionOptions opts;
  opts.check_numerics = true;
  Session sess(g, opts);
  std::string m = error_of<InvalidArgument>([&] { sess.run({{x, xv}}, {loss}); });
  EXPECT_TRUE(contains(m, "node 'root_of_neg' (Sqrt): root_of_neg:0 : Tensor had NaN values")) << m;
  // Clean inputs run normally with the checks on.
  const Tensor fine = Tensor({{10.0f, 10.0f}});
  EXPECT_TRUE(std::isfinite(sess.run({{x, fine}}, {loss})[0].scalar<float>()));
  // Inf is found too, and a NaN fed in is named as the fed tensor.
  m = error_of<InvalidArgument>([&] { sess.run({{x, Tensor({{3e38f, 3e38f}})}}, {loss}); });
  EXPECT_TRUE(contains(m, "node 'mm' (MatMul): mm:0 : Tensor had Inf values")) << m;
  m = error_of<InvalidArgument>([&] { sess.run({{x, Tensor({{kNaN, 1.0f}})}}, {loss}); });
  EXPECT_TRUE(contains(m, "the value fed for Tensor 'x:0': x:0 : Tensor had NaN values")) << m;
}

TEST(CheckNumerics, SessionOptionLeavesIntegerOutputsAlone) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {3});
  Output am = ops::argmax(root, x, 0);
  SessionOptions opts;
  opts.check_numerics = true;
  Session sess(g, opts);
  EXPECT_EQ(sess.run({{x, Tensor({1.0f, 3.0f, 2.0f})}}, {am})[0].scalar<int64_t>(), 1);
}

}  // namespace
}  // namespace sluice
