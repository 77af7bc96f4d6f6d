// Issue 10: regression tests for the silent wrong answers and sharp edges found by trying
// Sluice as a new user would (items 2, 3, 5, 6, 7, 9, 10, 11; the NaN items are in
// test_numerics and test_op_numerics, unique names in test_graph).
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>

#include "test_util.h"

namespace sluice {
namespace {

using testing::contains;
using testing::error_of;

// ---- 2. out-of-range sparse labels ----

TEST(SparseLabels, OutOfRangeLabelsAreInvalidArgumentNamingTheNode) {
  Graph g;
  Scope root(g);
  Output labels = ops::placeholder(root.named("labels"), DType::i32, {-1});
  Output logits = ops::placeholder(root.named("logits"), DType::f32, {-1, 3});
  Output probs = ops::softmax(root, logits);
  Output loss = ops::mean(root, losses::sparse_categorical_crossentropy(root.named("xent"), labels, probs));
  Output from_logits = ops::mean(root, losses::sparse_categorical_crossentropy(root, labels, logits, true));
  Output acc = metrics::sparse_accuracy(root.named("acc"), labels, probs);
  Output grad = gradients(root, {loss}, {logits})[0];
  Session sess(g);
  const Tensor lg = Tensor({{1.0f, 2.0f, 0.5f}, {0.1f, 0.2f, 3.0f}});
  // In range: the usual numbers.
  auto r = sess.run({{labels, Tensor({int32_t{1}, int32_t{2}})}, {logits, lg}}, {loss, acc});
  EXPECT_TRUE(std::isfinite(r[0].scalar<float>()));
  EXPECT_FLOAT_EQ(r[1].scalar<float>(), 1.0f);
  for (int32_t bad : {7, -1, 3}) {
    const Tensor l = Tensor({int32_t{0}, bad});
    const std::string want = "Received a label value of " + std::to_string(bad) +
                             " which is outside the valid range of [0, 3)";
    for (const Output& fetch : {loss, from_logits, acc, grad}) {
      const std::string m = error_of<InvalidArgument>([&] { sess.run({{labels, l}, {logits, lg}}, {fetch}); });
      EXPECT_TRUE(contains(m, want)) << m;
      EXPECT_TRUE(contains(m, "node '")) << m;
    }
  }
  // The error names the loss's node.
  const std::string m = error_of<InvalidArgument>(
      [&] { sess.run({{labels, Tensor({int32_t{7}, int32_t{0}})}, {logits, lg}}, {loss}); });
  EXPECT_TRUE(contains(m, "node 'xent/")) << m;
}

TEST(SparseLabels, Int64LabelsToo) {
  Graph g;
  Scope root(g);
  Output labels = ops::placeholder(root.named("labels"), DType::i64, {-1});
  Output p = ops::constant(root, Tensor({{0.2f, 0.8f}}));
  Output loss = losses::sparse_categorical_crossentropy(root, labels, p);
  Session sess(g);
  EXPECT_NEAR(sess.run({{labels, Tensor({int64_t{1}})}}, {loss})[0].data<float>()[0], -std::log(0.8f), 1e-6);
  const std::string m = error_of<InvalidArgument>([&] { sess.run({{labels, Tensor({int64_t{2}})}}, {loss}); });
  EXPECT_TRUE(contains(m, "Received a label value of 2 which is outside the valid range of [0, 2)")) << m;
}

// ---- 3. empty batches in batch normalization ----

// Every variable's value, by name.
std::map<std::string, Tensor> snapshot(const Graph& g, Session& sess) {
  std::map<std::string, Tensor> values;
  for (const Operation& v : g.global_variables()) values[v.name()] = sess.variable_value(v.name());
  return values;
}

void expect_unchanged(const std::map<std::string, Tensor>& before, const std::map<std::string, Tensor>& after) {
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [name, t] : before) {
    const Tensor& u = after.at(name);
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      EXPECT_TRUE(std::isfinite(u.as_double(i))) << name << " = " << u;
      EXPECT_EQ(t.as_double(i), u.as_double(i)) << name << " changed: " << t << " -> " << u;
    }
  }
}

TEST(EmptyBatch, BatchNormalizationLayerTrainingStepLeavesEveryVariableUnchanged) {
  for (const Shape& in : {Shape{-1, 4}, Shape{-1, 3, 3, 4}}) {
    Graph g;
    Scope root(g);
    Output x = ops::placeholder(root.named("x"), DType::f32, in);
    layers::BatchNormalization bn;
    Output y = bn(root, x);
    Output loss = ops::sum(root, ops::square(root, ops::sub(root, y, ops::scalar_like(root, y, 0.3))));
    Operation train = optimizers::SGD(0.1).minimize(root, loss);
    Session sess(g);
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    // One real step first, so the statistics are not at their initial values.
    Shape one = in.with_dim(0, 2);
    std::vector<float> v(static_cast<size_t>(one.num_elements()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1f * static_cast<float>(i % 7) - 0.2f;
    sess.run({{x, Tensor::from_vector(v, one)}, {learning_phase(g), Tensor(true)}}, {}, {train});
    const auto before = snapshot(g, sess);
    sess.run({{x, Tensor::zeros(DType::f32, in.with_dim(0, 0))}, {learning_phase(g), Tensor(true)}}, {}, {train});
    expect_unchanged(before, snapshot(g, sess));
  }
}

TEST(EmptyBatch, FusedBatchNormPassesTheStatisticsThroughAndHasZeroGradients) {
  for (DType dt : {DType::f32, DType::f64}) {
    Graph g;
    Scope root(g);
    Output x = ops::placeholder(root.named("x"), dt, {-1, 2});
    auto vec = [&](std::vector<double> v) { return ops::constant(root, Tensor::from_vector(v, {2}).cast(dt)); };
    const Output scale = vec({1.5, 2}), offset = vec({0.1, 0.2}), mean = vec({0.3, -0.4}), var = vec({2, 3});
    auto bn = ops::fused_batch_norm(root, x, scale, offset, mean, var, ops::constant(root, Tensor(true)));
    auto grads = gradients(root, {ops::sum(root, bn.y)}, {scale, offset});
    Session sess(g);
    auto r = sess.run({{x, Tensor::zeros(dt, {0, 2})}}, {bn.y, bn.batch_mean, bn.batch_variance, grads[0], grads[1]});
    EXPECT_EQ(r[0].shape(), Shape({0, 2}));
    for (int j = 0; j < 2; ++j) {
      EXPECT_EQ(r[1].as_double(j), Tensor::from_vector(std::vector<double>{0.3, -0.4}, {2}).cast(dt).as_double(j));
      EXPECT_EQ(r[2].as_double(j), j == 0 ? 2.0 : 3.0);
      EXPECT_EQ(r[3].as_double(j), 0.0);
      EXPECT_EQ(r[4].as_double(j), 0.0);
    }
  }
}

// ---- 5. the learning phase of imported graphs ----

class LearningPhaseImport : public testing::TempDirTest {
 protected:
  // A graph file: input [-1, 6] -> dropout(0.5) -> sum over the last axis.
  std::string write_member() {
    Graph g;
    Scope root(g);
    Output x = ops::placeholder(root.named("input"), DType::f32, {-1, 6});
    layers::Dropout drop(0.5, 11);
    ops::identity(root.named("out"), ops::sum(root, drop(root, x), {-1}));
    const std::string p = path("member.json");
    io::write_graph(g, p);
    return p;
  }
};

TEST_F(LearningPhaseImport, ImportedFlagsFollowTheDestinationGraphsFlag) {
  const std::string file = write_member();
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 6});
  std::vector<Output> outs;
  for (std::string m : {"model_001", "model_002", "model_003"})
    outs.push_back(io::import_graph_file(g, file, {m, {{"input:0", x}}, {"out:0"}}).tensors[0]);
  Session sess(g);
  const Tensor ones = Tensor::ones(DType::f32, {4, 6});
  // Inference (the default): every member sums to 6.
  for (const Tensor& t : sess.run({{x, ones}}, outs))
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(t.data<float>()[i], 6.0f);
  // One flag switches dropout on in every member: sums are multiples of 2 (kept = 2), and
  // not all 6.
  const auto trained = sess.run({{x, ones}, {learning_phase(g), Tensor(true)}}, outs);
  for (size_t k = 0; k < trained.size(); ++k) {
    bool any_dropped = false;
    for (int i = 0; i < 4; ++i) any_dropped = any_dropped || trained[k].data<float>()[i] != 6.0f;
    EXPECT_TRUE(any_dropped) << "member " << k + 1 << " ignored learning_phase(g): " << trained[k];
  }
  EXPECT_EQ(learning_phase(g).name(), "model_001/keras_learning_phase:0");
}

TEST_F(LearningPhaseImport, TheDestinationsExistingFlagIsUsedAndAnExplicitMapWins) {
  const std::string file = write_member();
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 6});
  const Output phase = learning_phase(g);  // exists before the imports
  Output follows = io::import_graph_file(g, file, {"a", {{"input:0", x}}, {"out:0"}}).tensors[0];
  Output pinned = io::import_graph_file(
      g, file, {"b", {{"input:0", x}, {"keras_learning_phase:0", ops::constant(root, Tensor(false))}}, {"out:0"}}).tensors[0];
  Session sess(g);
  const auto r = sess.run({{x, Tensor::ones(DType::f32, {8, 6})}, {phase, Tensor(true)}}, {follows, pinned});
  bool dropped = false;
  for (int i = 0; i < 8; ++i) {
    dropped = dropped || r[0].data<float>()[i] != 6.0f;
    EXPECT_FLOAT_EQ(r[1].data<float>()[i], 6.0f) << "the input_map entry must win";
  }
  EXPECT_TRUE(dropped);
  EXPECT_EQ(learning_phase(g).name(), phase.name());
}

// ---- 6. a scope name given to a layer names its output ----

TEST(LayerNames, ANamedScopeNamesTheLayersOutput) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 4});
  layers::Dense hidden(5, Activation::relu);
  layers::Dense out(3, Activation::softmax);
  Output h = hidden(root, x);
  Output probs = out(root.named("probs"), h);
  EXPECT_EQ(probs.name(), "probs:0");
  EXPECT_EQ(g.tensor("probs:0"), probs);
  EXPECT_EQ(out.name(), "dense_1");  // the layer and its weights keep their names
  EXPECT_TRUE(g.find_operation("dense_1/kernel").has_value());
  Output block = hidden(root.sub("block").named("features"), x);  // second call, in a sub-scope
  EXPECT_EQ(block.name(), "block/features:0");
  // The loss still differentiates a softmax output through its logits.
  Output loss = losses::categorical_crossentropy(root, ops::placeholder(root, DType::f32, {-1, 3}), probs);
  bool log_softmax = false;
  for (const Operation& op : g.operations()) log_softmax = log_softmax || op.type() == "LogSoftmax";
  EXPECT_TRUE(log_softmax);
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  const Tensor p = sess.run({{"x:0", Tensor::ones(DType::f32, {2, 4})}}, {"probs:0"})[0];
  EXPECT_NEAR(p.data<float>()[0] + p.data<float>()[1] + p.data<float>()[2], 1.0, 1e-6);
  (void)loss;
}

// ---- 7. device strings ----

TEST(Devices, TensorFlowSyntaxIsParsedAndMalformedStringsAreRejected) {
  Graph g;
  Scope root(g);
  for (const char* ok : {"", "/cpu:0", "/CPU:0", "cpu:0", "/device:CPU:0", "/device:CPU:*", "/gpu:1",
                         "/device:GPU:0", "/job:localhost/replica:0/task:0/device:CPU:0",
                         "/job:worker/replica:0/task:1/device:CPU:0", "/job:ps", "/task:3/cpu:*"}) {
    EXPECT_NO_THROW(root.with_device(ok)) << ok;
  }
  for (const char* bad : {"banana", "/banana", "/cpu:x", "/device:CPU:0:1", "/job:", "/job:1worker",
                          "/cpu:0/gpu:0", "/replica:-1", "//cpu:0", "/cpu:0/", "/device::0"}) {
    const std::string m = error_of<InvalidArgument>([&] { root.with_device(bad); });
    EXPECT_TRUE(contains(m, std::string("invalid device '") + bad + "'")) << m;
  }
  EXPECT_EQ(DeviceSpec::parse("/cpu:0").to_string(), "/device:CPU:0");
  EXPECT_EQ(DeviceSpec::parse("/job:worker/task:1/gpu:*").to_string(), "/job:worker/task:1/device:GPU:*");
}

TEST(Devices, AnUnknownDeviceFailsAtSessionCreationUnlessSoftPlacementIsAllowed) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {2});
  Output local = ops::square(root.with_device("/job:localhost/replica:0/task:0/device:CPU:0").named("local"), x);
  {
    Session sess(g);  // only local devices so far
    EXPECT_FLOAT_EQ(sess.run({{x, Tensor({2.0f, 3.0f})}}, {local})[0].data<float>()[1], 9.0f);
  }
  Output remote = ops::neg(root.with_device("/gpu:0").named("on_gpu"), local);
  std::string m = error_of<InvalidArgument>([&] { Session sess(g); });
  EXPECT_TRUE(contains(m, "node 'on_gpu' (Neg)")) << m;
  EXPECT_TRUE(contains(m, "'/gpu:0'")) << m;
  EXPECT_TRUE(contains(m, "allow_soft_placement")) << m;
  SessionOptions soft;
  soft.allow_soft_placement = true;
  Session sess(g, soft);
  EXPECT_FLOAT_EQ(sess.run({{x, Tensor({2.0f, 3.0f})}}, {remote})[0].data<float>()[0], -4.0f);
  // Another task is not this process either; and a node added after the session was made is
  // checked when a run needs it.
  Graph g2;
  Scope r2(g2);
  Output y = ops::placeholder(r2.named("y"), DType::f32, {1});
  Session later(g2);
  Output t1 = ops::neg(r2.with_device("/job:worker/replica:0/task:1/device:CPU:0").named("task1"), y);
  m = error_of<InvalidArgument>([&] { later.run({{y, Tensor({1.0f})}}, {t1}); });
  EXPECT_TRUE(contains(m, "node 'task1' (Neg)")) << m;
}

TEST(Devices, ImportedDevicesAreChecked) {
  Graph src;
  Scope root(src);
  ops::neg(root.with_device("/device:GPU:0").named("n"), ops::placeholder(root.named("x"), DType::f32, {1}));
  io::GraphDef def = io::graph_to_def(src);
  Graph dst;
  EXPECT_NO_THROW(io::import_graph_def(dst, def, {"m"}));
  EXPECT_THROW(Session s(dst), InvalidArgument);
  for (auto& n : def.nodes)
    if (n.name == "n") n.device = "gpu zero";
  Graph dst2;
  const std::string m = error_of<InvalidArgument>([&] { io::import_graph_def(dst2, def, {"m"}); });
  EXPECT_TRUE(contains(m, "invalid device 'gpu zero'")) << m;
}

// ---- 9. grad_ys are checked against ys ----

TEST(GradYs, WrongShapesAndDtypesAreRejectedNamingBoth) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {2, 3});
  Output y = ops::tanh(root.named("y"), x);
  std::string m = error_of<InvalidArgument>(
      [&] { gradients(root, {y}, {x}, {ops::constant(root.named("gy"), Tensor::ones(DType::f32, {1, 3}))}); });
  EXPECT_TRUE(contains(m, "'gy:0'") && contains(m, "'y:0'") && contains(m, "[1,3]") && contains(m, "[2,3]")) << m;
  m = error_of<InvalidArgument>(
      [&] { gradients(root, {y}, {x}, {ops::constant(root.named("gy64"), Tensor::ones(DType::f64, {2, 3}))}); });
  EXPECT_TRUE(contains(m, "'gy64:0'") && contains(m, "'y:0'") && contains(m, "float64")) << m;
  m = error_of<InvalidArgument>(
      [&] { gradients(root, {y}, {x}, {ops::constant(root.named("gy4"), Tensor::ones(DType::f32, {2, 4}))}); });
  EXPECT_TRUE(contains(m, "'gy4:0'") && contains(m, "[2,4]")) << m;
}

TEST(GradYs, ShapesOnlyKnownAtRunTimeAreCheckedAtRunTime) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 3});
  Output y = ops::tanh(root.named("y"), x);
  Output gy = ops::placeholder(root.named("gy"), DType::f32, {-1, 3});
  Output dx = gradients(root, {y}, {x}, {gy})[0];
  Session sess(g);
  const Tensor xv = Tensor::zeros(DType::f32, {2, 3});
  EXPECT_EQ(sess.run({{x, xv}, {gy, Tensor::ones(DType::f32, {2, 3})}}, {dx})[0].shape(), Shape({2, 3}));
  // [1,3] would broadcast silently against [2,3]; it must not.
  for (const Shape& bad : {Shape{1, 3}, Shape{4, 3}}) {
    const std::string m = error_of<InvalidArgument>(
        [&] { sess.run({{x, xv}, {gy, Tensor::ones(DType::f32, bad)}}, {dx}); });
    EXPECT_TRUE(contains(m, "grad_ys") && contains(m, bad.to_string()) && contains(m, "[2,3]")) << m;
  }
}

TEST(GradYs, FusedConvGradientBuildsWithGradYsOfUnknownRank) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 5, 5, 2});
  layers::Conv2D conv(3, {3, 3});
  // y2 has unknown rank, so the gradient reaching the FusedConv2D has unknown rank too.
  Output y2 = ops::placeholder_with_default(root, conv(root, x), Shape::unknown_rank());
  Output gy = ops::placeholder(root.named("gy"), DType::f32, Shape::unknown_rank());
  std::vector<Output> gr;
  ASSERT_NO_THROW(gr = gradients(root, {y2}, {x, conv.kernel(), conv.bias()}, {gy}));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  auto r = sess.run({{x, Tensor::ones(DType::f32, {1, 5, 5, 2})}, {gy, Tensor::ones(DType::f32, {1, 3, 3, 3})}},
                    {gr[0], gr[1], gr[2]});
  EXPECT_EQ(r[2].shape(), Shape({3}));
  EXPECT_FLOAT_EQ(r[2].data<float>()[0], 9.0f);  // sum of dy over N, H, W
}

// ---- 10. layer weights from and into a session ----

TEST(LayerWeights, GetAndSetWeightsRoundTripWithShapeChecks) {
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 2});
  layers::Dense dense(3);
  layers::Dense unbuilt(3);
  Output y = dense(root, x);
  Session sess(g);
  std::string m = error_of<FailedPrecondition>([&] { unbuilt.get_weights(sess); });
  EXPECT_TRUE(contains(m, "not built")) << m;
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  std::vector<Tensor> w = dense.get_weights(sess);
  ASSERT_EQ(w.size(), 2u);  // kernel, bias (Keras order)
  EXPECT_EQ(w[0].shape(), Shape({2, 3}));
  EXPECT_EQ(w[1].shape(), Shape({3}));
  const Tensor k = Tensor({{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  const Tensor b = Tensor({0.5f, 0.0f, -0.5f});
  dense.set_weights(sess, {k, b});
  const Tensor out = sess.run({{x, Tensor({{1.0f, 1.0f}})}}, {y})[0];
  EXPECT_FLOAT_EQ(out.data<float>()[0], 5.5f);
  EXPECT_FLOAT_EQ(out.data<float>()[2], 8.5f);
  EXPECT_TRUE(dense.get_weights(sess)[0].equals(k));
  m = error_of<InvalidArgument>([&] { dense.set_weights(sess, {k}); });
  EXPECT_TRUE(contains(m, "2 weights") && contains(m, "got 1")) << m;
  m = error_of<InvalidArgument>([&] { dense.set_weights(sess, {b, k}); });
  EXPECT_TRUE(contains(m, "dense/kernel") && contains(m, "[2,3]") && contains(m, "[3]")) << m;
  m = error_of<InvalidArgument>([&] { dense.set_weights(sess, {k.cast(DType::f64), b}); });
  EXPECT_TRUE(contains(m, "dense/kernel") && contains(m, "f64")) << m;
  // Nothing was written by the failed calls.
  EXPECT_TRUE(dense.get_weights(sess)[1].equals(b));
  // A session of another graph is refused.
  Graph other;
  Session foreign(other);
  m = error_of<InvalidArgument>([&] { dense.get_weights(foreign); });
  EXPECT_TRUE(contains(m, "another graph")) << m;
}

// ---- 11. small API papercuts ----

TEST(Papercuts, RunTakesVectorsOfOutputsAndOperations) {
  Graph g;
  Scope root(g);
  Output v = ops::variable(root.named("v"), {2}, DType::f32, Initializer::ones());
  std::vector<Output> fetches = {ops::add(root, v, v), ops::mul(root, v, v)};
  std::vector<Operation> targets = {ops::global_variables_initializer(root)};
  Session sess(g);
  sess.run({}, {}, targets);
  std::vector<Tensor> r = sess.run({}, fetches);
  EXPECT_FLOAT_EQ(r[0].data<float>()[0], 2.0f);
  EXPECT_FLOAT_EQ(r[1].data<float>()[0], 1.0f);
  std::vector<Output> updates = {ops::assign_add(root, v, ops::ones_like(root, v))};
  sess.run({}, std::vector<Output>{}, updates);  // Outputs as targets (their ops)
  EXPECT_FLOAT_EQ(sess.run({}, {v})[0].data<float>()[1], 2.0f);
  EXPECT_EQ(sess.run({}, std::vector<std::string>{"v:0"})[0].data<float>()[0], 2.0f);
}

// The moving variance after one training step from 1 with momentum m: m + (1 - m) * v_batch,
// v_batch Bessel-corrected (n / (n - 1)) whatever the dtype and rank (TensorFlow's fused
// kernel convention).
TEST(Papercuts, MovingVarianceIsBesselCorrectedForEveryDtypeAndRank) {
  for (DType dt : {DType::f32, DType::f64}) {
    for (const Shape& shape : {Shape{4, 2}, Shape{2, 1, 2, 2}}) {
      Graph g;
      Scope root(g);
      Output x = ops::placeholder(root.named("x"), dt, shape);
      layers::BatchNormalization bn(-1, 0.5);
      Output y = bn(root, x);
      Session sess(g);
      sess.run({}, {}, {ops::global_variables_initializer(root)});
      // Channel 0 holds 0, 2, 4, 6; channel 1 holds 1, 1, 1, 1.
      const Tensor xv = Tensor::from_vector(std::vector<double>{0, 1, 2, 1, 4, 1, 6, 1}, shape).cast(dt);
      sess.run({{x, xv}, {learning_phase(g), Tensor(true)}}, {y}, bn.updates());
      const Tensor mv = sess.variable_value(bn.name() + "/moving_variance");
      const double unbiased = 20.0 / 3.0;  // sum of squared deviations 20, n - 1 = 3
      EXPECT_NEAR(mv.as_double(0), 0.5 + 0.5 * unbiased, 1e-5) << dtype_name(dt) << shape.to_string();
      EXPECT_NEAR(mv.as_double(1), 0.5, 1e-6);
    }
  }
}

}  // namespace
}  // namespace sluice
