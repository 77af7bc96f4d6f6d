// Real models exported from PyTorch (tests/onnx_models/export_models.py, run by the ctest
// fixture onnx_export_models into the build tree): each is loaded with io::load_model and
// must match PyTorch's output for the same input (batch 2, while the file was traced with
// a dynamic batch) to rtol 1e-3 / atol 1e-4. Skips with the script's message when torch is
// absent.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "test_util.h"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

fs::path models_dir() {
  const char* d = std::getenv("SLUICE_ONNX_MODELS");
  return d ? fs::path(d) : fs::path("onnx_models");
}

// Empty when the models are there; otherwise why not (the skip message).
std::string missing_reason() {
  std::ifstream f(models_dir() / "STATUS");
  std::string status;
  if (!f || !std::getline(f, status)) {
    return "no exported models in " + models_dir().string() +
           " (the ctest fixture onnx_export_models writes them with /usr/bin/python3)";
  }
  return status.rfind("ok", 0) == 0 ? "" : status;
}

void expect_matches_torch(const std::string& name) {
  const fs::path dir = models_dir();
  io::LoadedModel m = io::load_model((dir / (name + ".onnx")).string());
  const Tensor x = io::read_npy((dir / (name + ".input.npy")).string());
  const Tensor want = io::read_npy((dir / (name + ".output.npy")).string());
  const Tensor got = m.run("serving_default", {{"input", x}}).at("output");
  ASSERT_EQ(got.shape(), want.shape()) << name;
  // A reference of near-zero values would pass at atol 1e-4 whatever Sluice computed.
  double largest = 0;
  for (int64_t i = 0; i < want.num_elements(); ++i) largest = std::max(largest, std::fabs(want.as_double(i)));
  ASSERT_GT(largest, 0.05) << name << ": PyTorch's outputs are all tiny; the comparison would prove nothing";
  int bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const double g = got.as_double(i), w = want.as_double(i);
    const double err = std::fabs(g - w) - (1e-4 + 1e-3 * std::fabs(w));
    worst = std::max(worst, std::fabs(g - w));
    if (!(err <= 0)) ++bad;
  }
  std::cout << "[ " << name << " ] max abs error vs PyTorch: " << worst << "\n";
  EXPECT_EQ(bad, 0) << name << ": " << bad << " of " << want.num_elements()
                    << " outputs outside rtol 1e-3 / atol 1e-4 (largest difference " << worst << ")";
}

// Op type -> count of the nodes `y` depends on (what a session fetching y runs).
std::map<std::string, int> reachable_ops(const Output& y) {
  std::map<std::string, int> ops;
  std::vector<Node*> stack{y.node()};
  std::set<Node*> seen;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    ++ops[n->op_type()];
    for (const Output& in : n->inputs) stack.push_back(in.node());
  }
  return ops;
}

#define SKIP_WITHOUT_MODELS()                        \
  do {                                               \
    const std::string why = missing_reason();        \
    if (!why.empty()) GTEST_SKIP() << why;           \
  } while (0)

}  // namespace

TEST(OnnxModels, Resnet18) {
  SKIP_WITHOUT_MODELS();
  // The 7x7/2 stem (pads 3), the 3x3/2 max pool and the 3x3/2 convolutions (pads 1) pad
  // symmetrically: explicit pads, where TensorFlow's SAME would pad 2/3 and 0/1.
  expect_matches_torch("resnet18");
  // The stem, its Relu and the max pool are one FusedConv2DMaxPool (the stem's output is
  // pooled band by band); the stem's value keeps its ONNX name and can be fetched.
  Graph g;
  const std::string stem = "/relu/Relu_output_0:0";
  const io::ImportResult r =
      io::import_onnx(g, (models_dir() / "resnet18.onnx").string(), {"", {}, {"output:0", stem}});
  std::map<std::string, int> ops = reachable_ops(r.tensors[0]);
  EXPECT_EQ(ops["FusedConv2DMaxPool"], 1);
  EXPECT_EQ(ops["MaxPool"], 0);
  EXPECT_EQ(ops["FusedConv2D"], 19);  // 16 3x3, 3 downsampling 1x1
  Session sess(g);
  const Tensor x = io::read_npy((models_dir() / "resnet18.input.npy").string());
  const std::vector<Tensor> out = sess.run({{"input:0", x}}, {r.tensors[1]});
  EXPECT_EQ(out[0].shape(), Shape({x.dim(0), 64, 112, 112}));
}

TEST(OnnxModels, MobilenetV2) {
  SKIP_WITHOUT_MODELS();
  // ReLU6 is exported as Clip(0, 6); the inverted residual blocks are depthwise (group = C).
  expect_matches_torch("mobilenet_v2");
  // The 16 blocks with an expansion run as FusedBottleneckConv2D (expand, depthwise and
  // project in one op); the stem, the first block's two convolutions and the last 1x1 stay
  // FusedConv2D. The blocks' inner values keep their ONNX names and can be fetched.
  Graph g;
  const std::string inner = "/features/features.2/conv/conv.0/conv.0.2/Clip_output_0:0";
  const io::ImportResult r =
      io::import_onnx(g, (models_dir() / "mobilenet_v2.onnx").string(), {"", {}, {"output:0", inner}});
  std::map<std::string, int> ops = reachable_ops(r.tensors[0]);
  EXPECT_EQ(ops["FusedBottleneckConv2D"], 16);
  EXPECT_EQ(ops["FusedConv2D"], 4);
  Session sess(g);
  const Tensor x = io::read_npy((models_dir() / "mobilenet_v2.input.npy").string());
  const std::vector<Tensor> out = sess.run({{"input:0", x}}, {r.tensors[1]});
  EXPECT_EQ(out[0].shape(), Shape({x.dim(0), 96, 112, 112}));  // the expanded value, in ONNX order
  double lo = 1e9, hi = -1e9;
  for (int64_t i = 0; i < out[0].num_elements(); ++i) lo = std::min(lo, out[0].as_double(i)), hi = std::max(hi, out[0].as_double(i));
  EXPECT_EQ(lo, 0.0);  // ReLU6's range, reached at both ends
  EXPECT_EQ(hi, 6.0);
}

TEST(OnnxModels, Squeezenet11) {
  SKIP_WITHOUT_MODELS();
  expect_matches_torch("squeezenet1_1");
  // Layout: the convolutions, 3 max pools and the 8 fire modules' channel concatenations
  // run channels-last with a single transpose, of the input; the [N,1000,1,1] result is
  // reshaped, not transposed, back to ONNX order. Each fire module's two expansions and
  // their Concat are one FusedConcatConv2D (the 26 convolutions: the stem, 8 squeezes, 8
  // pairs of expansions, the classifier), the stem and the first max pool one
  // FusedConv2DMaxPool. The expansions' values keep their ONNX names and
  // can be fetched.
  Graph g;
  const std::string inner = "/features/features.3/expand3x3_activation/Relu_output_0:0";
  const std::string concat = "/features/features.3/Concat_output_0:0";
  const io::ImportResult r =
      io::import_onnx(g, (models_dir() / "squeezenet1_1.onnx").string(), {"", {}, {"output:0", inner, concat}});
  std::map<std::string, int> ops = reachable_ops(r.tensors[0]);
  EXPECT_EQ(ops["Transpose"], 1);
  EXPECT_EQ(ops["FusedConv2D"], 9);
  EXPECT_EQ(ops["FusedConv2DMaxPool"], 1);
  EXPECT_EQ(ops["MaxPool"], 2);
  EXPECT_EQ(ops["FusedConcatConv2D"], 8);
  EXPECT_EQ(ops["Concat"], 0);
  // The 3x3 expansion of the first fire module is the second half of its concatenation.
  Session sess(g);
  const Tensor x = io::read_npy((models_dir() / "squeezenet1_1.input.npy").string());
  const std::vector<Tensor> out = sess.run({{"input:0", x}}, {r.tensors[1], r.tensors[2]});
  ASSERT_EQ(out[0].shape(), Shape({x.dim(0), 64, 55, 55}));  // ONNX order
  ASSERT_EQ(out[1].shape(), Shape({x.dim(0), 128, 55, 55}));
  int64_t differ = 0;
  for (int64_t i = 0; i < out[0].num_elements(); ++i) {
    const int64_t per_image = 64 * 55 * 55, n = i / per_image;
    differ += out[0].as_double(i) != out[1].as_double(n * 2 * per_image + per_image + i % per_image);
  }
  EXPECT_EQ(differ, 0);
}

TEST(OnnxModels, LstmClassifier) {
  SKIP_WITHOUT_MODELS();
  // PyTorch builds the zero initial state as ConstantOfShape([1, batch, 32]) from the
  // run-time batch size (a fill at run time).
  expect_matches_torch("lstm_classifier");
}

TEST(OnnxModels, TransformerEncoder) {
  SKIP_WITHOUT_MODELS();
  // The shape arithmetic around attention (slicing the fused q/k/v projection, reshaping
  // to heads with the run-time batch) folds at import; the attention products multiply
  // [batch*heads, T, d] batches (batch_matmul).
  expect_matches_torch("transformer_encoder");
}
