// The real TensorFlow artifacts in ../shared/interop: every one with a known result gives
// it exactly; the others import, run and agree with an independent float64 evaluation of
// the same graph (plain loops over the imported nodes' constants, no Sluice kernels); those
// that need ops Sluice does not have yet fail with the exact Unimplemented message.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "sluice/sluice.h"
#include "test_util.h"
#include "tf_reference.h"
#include "tf_test_util.h"

using namespace sluice;
using sluice::testing::contains;
using sluice::testing::error_of;
using namespace sluice::testing::tfref;

TEST(TfArtifacts, RegressionFrozenGraph) {
  SLUICE_INTEROP_OR_SKIP(pb, "tf2onnx/regression/graphdef/frozen.pb");
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("x"), DType::f32, {-1});
  const Output pred = io::import_tf_graph_def(g, pb, {"model_001", {{"X:0", x}}, {"pred:0"}}).tensors[0];
  const float w = g.operation("model_001/W").node()->attr<Tensor>("value").scalar<float>();
  const float b = g.operation("model_001/b").node()->attr<Tensor>("value").scalar<float>();
  EXPECT_FLOAT_EQ(w, 0.21396178f);
  EXPECT_FLOAT_EQ(b, 1.0495254f);
  const std::vector<float> xs = {-2, 0, 1, 3.5f};
  const std::vector<float> got = Session(g).run({{x, Tensor::from_vector(xs, {4})}}, {"model_001/pred:0"})[0].to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(got[i], xs[i] * w + b);  // float32 Mul then Add, as TF
  // The return element is pred's value (the Identity's input: no extra op for consumers).
  EXPECT_EQ(Session(g).run({{x, Tensor::from_vector(xs, {4})}}, {pred})[0].to_vector<float>(), got);
}

TEST(TfArtifacts, RegressionMetaGraphAndCheckpointUnderTwoScopes) {
  SLUICE_INTEROP_OR_SKIP(meta, "tf2onnx/regression/checkpoint/model.meta");
  SLUICE_INTEROP_OR_SKIP(dir, "tf2onnx/regression/checkpoint");
  const std::string ckpt = io::latest_checkpoint(dir);
  Graph g;
  Scope root(g);
  Output x = ops::placeholder(root.named("input"), DType::f32, {-1});
  std::vector<Output> preds;
  for (std::string m : {"model_001", "model_002"}) {
    io::TfMetaGraphImport r = io::import_tf_meta_graph(g, meta, {m, {{"X:0", x}}, {}});
    EXPECT_EQ(r.collections["variables"].size(), 2u);
    EXPECT_EQ(r.saver.version, 2);
    EXPECT_TRUE(r.skipped.count("SaveV2")) << "the saver's ops are left out";
    preds.push_back(g.tensor(m + "/pred:0"));
  }
  EXPECT_EQ(g.global_variables("model_002").size(), 2u);
  Session s(g);
  io::restore_into_scope(s, ckpt, "model_001");
  io::restore_into_scope(s, ckpt, "model_002");
  const float w = 0.21396178f, b = 1.0495254f;
  const auto r = s.run({{x, Tensor::from_vector<float>({1, 2}, {2})}}, {preds[0], preds[1]});
  for (const Tensor& t : r) EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1 * w + b, 2 * w + b}));
}

TEST(TfArtifacts, RegressionSavedModel) {
  SLUICE_INTEROP_OR_SKIP(dir, "tf2onnx/regression/saved_model");
  io::LoadedModel m = io::load_model(dir);
  const Tensor y = m.run("serving_default", {{"X", Tensor::from_vector<float>({1, 10}, {2})}}).at("pred");
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0.21396178f + 1.0495254f, 0.21396178f * 10 + 1.0495254f}));
}

TEST(TfArtifacts, HalfPlusTwo) {
  SLUICE_INTEROP_OR_SKIP(dir, "tf_serving/saved_model_half_plus_two_cpu/00000123");
  io::LoadedModel m = io::load_model(dir);
  EXPECT_EQ(m.source(), dir);
  const Tensor y = m.run("serving_default", {{"x", Tensor::from_vector<float>({1, 2, 5}, {3, 1})}}).at("y");
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2.5f, 3.0f, 4.5f}));
  const Tensor y3 = m.run("regress_x2_to_y3", {{"inputs", Tensor::from_vector<float>({1, 2}, {2, 1})}}).at("outputs");
  EXPECT_EQ(y3.to_vector<float>(), (std::vector<float>{3.5f, 4.0f}));  // 0.5 x + 3
  // saved_model_cli-level information, with the signatures Sluice cannot run explained.
  const io::TfSavedModelInfo info = io::inspect_tf_saved_model(dir);
  ASSERT_EQ(info.meta_graphs.size(), 1u);
  EXPECT_EQ(info.meta_graphs[0].tags, std::vector<std::string>{"serve"});
  const io::TfSignatureInfo& sd = info.meta_graphs[0].signatures.at("serving_default");
  EXPECT_EQ(sd.method_name, "tensorflow/serving/predict");
  EXPECT_EQ(sd.inputs.at("x").dtype, "DT_FLOAT");
  EXPECT_EQ(sd.inputs.at("x").shape, (Shape{-1, 1}));
  EXPECT_EQ(sd.outputs.at("y").name, "y:0");
  EXPECT_EQ(sd.unsupported, "");
  EXPECT_EQ(info.meta_graphs[0].signatures.at("classify_x_to_y").unsupported,
            "ParseExample (first node 'ParseExample/ParseExample')");
  EXPECT_TRUE(contains(info.to_string(), "signature_def['serving_default']:"));
  EXPECT_EQ(m.signature_names(), (std::vector<std::string>{"regress_x2_to_y3", "serving_default"}));
  error_of<NotFound>([&] { io::load_tf_saved_model(dir, {"train"}); });
}

TEST(TfArtifacts, HalfPlusThree) {
  SLUICE_INTEROP_OR_SKIP(dir, "tf_serving/saved_model_half_plus_three/00000123");
  io::LoadedModel m = io::load_model(dir);
  // The signature takes one scalar: TF Serving's instances [1.0, 2.0, 5.0] are three runs.
  std::vector<float> got;
  for (float x : {1.0f, 2.0f, 5.0f}) got.push_back(m.run("serving_default", {{"x", Tensor(x)}}).at("y").scalar<float>());
  EXPECT_EQ(got, (std::vector<float>{3.5f, 4.0f, 5.5f}));
}

TEST(TfArtifacts, MatrixHalfPlusTwo) {
  SLUICE_INTEROP_OR_SKIP(dir, "tf_serving/matrix_half_plus_two/1");
  io::LoadedModel m = io::load_model(dir);
  const Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3});
  EXPECT_EQ(m.run("serving_default", {{"x", x}}).at("y").to_vector<float>(),
            (std::vector<float>{2.5f, 3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f}));
}

TEST(TfArtifacts, FcLayersAgainstFloat64) {
  SLUICE_INTEROP_OR_SKIP(pb, "tf2onnx/fc-layers/frozen.pb");
  check_against_reference(pb, "X:0", "output:0", Shape{8, 784});
}

TEST(TfArtifacts, Ae0AgainstFloat64) {
  SLUICE_INTEROP_OR_SKIP(pb, "tf2onnx/ae0/frozen.pb");
  Graph g;
  io::import_tf_graph_def(g, pb);
  std::string in, out;
  for (const Operation& op : g.operations()) {
    if (op.type() == "Placeholder") in = op.name() + ":0";
  }
  out = g.operations().back().name() + ":0";
  check_against_reference(pb, in, out, Shape{4, 784});
}

TEST(TfArtifacts, Cifar10CnnAgainstFloat64) {
  SLUICE_INTEROP_OR_SKIP(pb, "more/cifar10_cnn/cifar10_cnn.pb");
  check_against_reference(pb, "Placeholder:0", "fully_connect_2/logits:0", Shape{2, 32, 32, 3});
  Graph g;
  io::import_tf_graph_def(g, pb);
  Session s(g);
  const auto r = s.run({{"Placeholder:0", random_input(Shape{2, 32, 32, 3}, 3)}}, {"fully_connect_2/logits:0", "pred:0"});
  EXPECT_EQ(r[1].dtype(), DType::i64);
  for (int b = 0; b < 2; ++b) {
    const float* l = r[0].data<float>() + b * 10;
    EXPECT_EQ(r[1].data<int64_t>()[b], std::max_element(l, l + 10) - l);
  }
}

TEST(TfArtifacts, NnfusionSingleOps) {
  // Each single-op graph imports and runs; values are checked per op in test_tf_ops and,
  // for depthwise / pad / padv2, in test_tf_artifacts.
  for (const std::string file :
       {"frozen_avg_pool_graph.pb", "frozen_conv2d_nhwc_graph.pb", "frozen_fusedbn_inference_graph.pb",
        "frozen_reduce_mean_graph.pb", "frozen_softmax_2d_graph.pb", "frozen_transpose_4d.pb", "max_pool_2d_pads.pb",
        "frozen_depthwise_conv2d_graph.pb", "frozen_pad_graph.pb", "frozen_padv2_graph.pb"}) {
    SLUICE_INTEROP_OR_SKIP(pb, "more/nnfusion_ops/" + file);
    Graph g;
    io::import_tf_graph_def(g, pb);
    FeedList feeds;
    for (const Operation& op : g.operations())
      if (op.type() == "Placeholder") {
        Shape s = op.output(0).shape();
        std::vector<int64_t> d = s.dims();
        for (auto& x : d) x = x < 0 ? 2 : x;
        feeds.emplace_back(op.output(0), random_input(Shape(d), 5));
      }
    const Tensor y = Session(g).run(feeds, {g.operations().back().output(0)})[0];
    for (int64_t i = 0; i < y.num_elements(); ++i) ASSERT_TRUE(std::isfinite(y.as_double(i))) << file;
  }
}
