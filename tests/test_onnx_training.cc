// Imported ONNX models under Sluice's autodiff: gradients through the importer's layout
// machinery (channels-last convolution, pooling, batch normalization, folded weight layouts,
// LSTM gate reordering) against the numeric gradient checker, and fine-tuning with
// ImportOptions::trainable (initializers as variables): analytic gradients against central
// differences, and SGD steps that lower the loss.
#include <gtest/gtest.h>

#include <cmath>

#include "gradient_checker.h"
#include "onnx_test_util.h"
#include "test_util.h"

using namespace sluice;
using sluice::testing::OnnxModel;
using sluice::testing::random_tensor;
constexpr int D = ::onnx::TensorProto::DOUBLE;

namespace {

// x [N,3,6,6] -> Conv 3x3 pads 1 (+B) -> Relu -> BatchNormalization (inference) -> MaxPool
// 2x2 -> Conv 1x1 -> Softmax over channels (opset 13) -> GlobalAveragePool -> Flatten ->
// Gemm (transB) -> y [N,3]. Float64, so gradients can be checked tightly.
OnnxModel cnn_model() {
  OnnxModel m(13);
  m.input("x", D, {-1, 3, 6, 6});
  m.init("W", random_tensor<double>({4, 3, 3, 3}, 1, -0.5, 0.5));
  m.init("B", random_tensor<double>({4}, 2));
  m.init("bn.scale", random_tensor<double>({4}, 3, 0.5, 1.5));
  m.init("bn.bias", random_tensor<double>({4}, 4));
  m.init("bn.mean", random_tensor<double>({4}, 5));
  m.init("bn.var", random_tensor<double>({4}, 6, 0.5, 2.0));
  m.init("W3", random_tensor<double>({2, 4, 1, 1}, 7));
  m.init("W2", random_tensor<double>({3, 2}, 8));
  m.init("B2", random_tensor<double>({3}, 9));
  m.node("Conv", {"x", "W", "B"}, {"c1"}).ints("pads", {1, 1, 1, 1});
  m.node("Relu", {"c1"}, {"r1"});
  m.node("BatchNormalization", {"r1", "bn.scale", "bn.bias", "bn.mean", "bn.var"}, {"n1"});
  m.node("MaxPool", {"n1"}, {"p1"}).ints("kernel_shape", {2, 2}).ints("strides", {2, 2});
  m.node("Conv", {"p1", "W3"}, {"c2"});
  m.node("Softmax", {"c2"}, {"s2"}).i("axis", 1);
  m.node("GlobalAveragePool", {"s2"}, {"g"});
  m.node("Flatten", {"g"}, {"f"});
  m.node("Gemm", {"f", "W2", "B2"}, {"y"}).i("transB", 1);
  m.output("y", D);
  return m;
}

}  // namespace

TEST(OnnxTraining, GradientsThroughAnImportedCnnMatchNumericOnes) {
  OnnxModel m = cnn_model();
  const std::string bytes = m.bytes();
  sluice::testing::GradCase c{"onnx_cnn",
                      {Shape{2, 3, 6, 6}, Shape{4, 3, 3, 3}, Shape{2, 4, 1, 1}, Shape{3, 2}},
                      [bytes](const Scope& s, const std::vector<Output>& in) {
                        // The checker's placeholders replace the input and three weights.
                        io::ImportOptions o;
                        o.input_map = {{"x:0", in[0]}, {"W:0", in[1]}, {"W3:0", in[2]}, {"W2:0", in[3]}};
                        o.return_elements = {"y:0"};
                        Graph g = s.graph();
                        return io::import_onnx_bytes(g, bytes, o).tensors[0];
                      }};
  const sluice::testing::GradResult r = sluice::testing::check_gradients(c);
  EXPECT_LT(r.max_error, 1e-6);
  EXPECT_GT(r.checked, 100);
  EXPECT_TRUE(r.op_types.count("FusedConv2D") && r.op_types.count("MaxPool") && r.op_types.count("FusedBatchNorm"));
}

TEST(OnnxTraining, GradientsThroughAnImportedLstmMatchNumericOnes) {
  OnnxModel m(14);
  m.input("X", D, {3, -1, 4});
  m.init("Wt", random_tensor<double>({1, 20, 4}, 1, -0.5, 0.5));
  m.init("R", random_tensor<double>({1, 20, 5}, 2, -0.5, 0.5));
  m.init("Bias", random_tensor<double>({1, 40}, 3, -0.5, 0.5));
  m.node("LSTM", {"X", "Wt", "R", "Bias"}, {"Y", "Y_h"}).i("hidden_size", 5);
  m.output("Y_h", D);
  const std::string bytes = m.bytes();
  sluice::testing::GradCase c{"onnx_lstm",
                      {Shape{3, 2, 4}, Shape{1, 20, 4}, Shape{1, 20, 5}},
                      [bytes](const Scope& s, const std::vector<Output>& in) {
                        io::ImportOptions o;
                        o.input_map = {{"X:0", in[0]}, {"Wt:0", in[1]}, {"R:0", in[2]}};
                        o.return_elements = {"Y:0", "Y_h:0"};
                        Graph g = s.graph();
                        const auto t = io::import_onnx_bytes(g, bytes, o).tensors;
                        return ops::add(s, ops::sum(s, t[0], {0}), t[1]);  // every step and the last
                      }};
  const sluice::testing::GradResult r = sluice::testing::check_gradients(c);
  EXPECT_LT(r.max_error, 1e-6);
  EXPECT_TRUE(r.op_types.count("LSTM"));
}

TEST(OnnxTraining, TrainableInitializersAreVariablesThatSgdFineTunes) {
  OnnxModel m = cnn_model();
  Graph g;
  Scope root(g);
  io::ImportOptions o;
  o.prefix = "net";
  o.trainable = true;
  o.return_elements = {"y:0"};
  const Output y = io::import_onnx_bytes(g, m.bytes(), o).tensors[0];
  // Every float initializer is a variable under its ONNX name; all but the batch-norm
  // statistics are trainable.
  auto names_of = [](const std::vector<Operation>& ops) {
    std::vector<std::string> names;
    for (const Operation& v : ops) names.push_back(v.name());
    std::sort(names.begin(), names.end());
    return names;
  };
  EXPECT_EQ(names_of(g.trainable_variables()),
            (std::vector<std::string>{"net/B", "net/B2", "net/W", "net/W2", "net/W3", "net/bn.bias", "net/bn.scale"}));
  EXPECT_EQ(names_of(g.global_variables()).size(), 9u);
  const Output x = g.tensor(io::onnx_tensor_name("x", "net"));
  const Output target = ops::placeholder(root.named("target"), DType::f64, {-1, 3});
  const Output loss = ops::mean(root, ops::square(root, ops::sub(root, y, target)));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor xs = random_tensor<double>({4, 3, 6, 6}, 20);
  const Tensor ts = random_tensor<double>({4, 3}, 21);

  // Analytic gradients of the loss w.r.t. the conv and dense weights against central
  // differences, feeding perturbed weights in place of the variables.
  const Output w = g.tensor("net/W:0"), w2 = g.tensor("net/W2:0");
  const std::vector<Output> grads = gradients(root, {loss}, {w, w2});
  const std::vector<Tensor> base = sess.run({{x, xs}, {target, ts}}, {w, w2, grads[0], grads[1]});
  for (int k = 0; k < 2; ++k) {
    const Tensor& value = base[k];
    const Tensor& analytic = base[2 + k];
    for (int64_t i = 0; i < value.num_elements(); i += 7) {
      const double h = 1e-5;
      Tensor plus = value.clone(), minus = value.clone();
      plus.data<double>()[i] += h;
      minus.data<double>()[i] -= h;
      const Output var = k == 0 ? w : w2;
      const double lp = sess.run({{x, xs}, {target, ts}, {var, plus}}, {loss})[0].scalar<double>();
      const double lm = sess.run({{x, xs}, {target, ts}, {var, minus}}, {loss})[0].scalar<double>();
      EXPECT_NEAR(analytic.data<double>()[i], (lp - lm) / (2 * h), 1e-7) << (k ? "W2" : "W") << "[" << i << "]";
    }
  }

  optimizers::SGD sgd(0.2);
  const Operation train = sgd.minimize(root, loss);
  const double before = sess.run({{x, xs}, {target, ts}}, {loss})[0].scalar<double>();
  for (int step = 0; step < 30; ++step) sess.run({{x, xs}, {target, ts}}, {}, {train});
  const double after = sess.run({{x, xs}, {target, ts}}, {loss})[0].scalar<double>();
  EXPECT_LT(after, 0.5 * before) << "before " << before << ", after " << after;
  // The weights moved; the file's values are the initial ones.
  const Tensor w_now = sess.run({}, {w})[0];
  EXPECT_FALSE(w_now.equals(base[0]));
}
