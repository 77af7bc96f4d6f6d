// Real models exported from PyTorch (tests/onnx_models/export_models.py, run by the ctest
// fixture onnx_export_models into the build tree): each is loaded with io::load_model and
// must match PyTorch's output for the same input (batch 2, while the file was traced with
// a dynamic batch) to rtol 1e-3 / atol 1e-4. Skips with the script's message when torch is
// absent. Models that need ops other work on Sluice is adding are asserted to fail with the
// exact Unimplemented message naming what they wait on, until those ops land.
#include <gtest/gtest.h>
#include <sluice/sluice.h>

#include <cmath>
#include <filesystem>
#include <fstream>
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
  int bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const double g = got.as_double(i), w = want.as_double(i);
    const double err = std::fabs(g - w) - (1e-4 + 1e-3 * std::fabs(w));
    worst = std::max(worst, std::fabs(g - w));
    if (!(err <= 0)) ++bad;
  }
  EXPECT_EQ(bad, 0) << name << ": " << bad << " of " << want.num_elements()
                    << " outputs outside rtol 1e-3 / atol 1e-4 (largest difference " << worst << ")";
}

std::string unimplemented_message(const std::string& name) {
  Graph g;
  return sluice::testing::error_of<Unimplemented>([&] { io::import_onnx(g, (models_dir() / (name + ".onnx")).string()); });
}

#define SKIP_WITHOUT_MODELS()                        \
  do {                                               \
    const std::string why = missing_reason();        \
    if (!why.empty()) GTEST_SKIP() << why;           \
  } while (0)

}  // namespace

// What each blocked model waits on, as the importer reports it (the first blocker found
// while building; the report of issue 12 lists all of them). When the ops land, the model
// imports, this assertion fails, and the model moves to expect_matches_torch.
void expect_blocked(const std::string& name, const std::string& message) {
  const std::string path = (models_dir() / (name + ".onnx")).string();
  EXPECT_EQ(unimplemented_message(name), "'" + path + "': " + message);
}

TEST(OnnxModels, Resnet18) {
  SKIP_WITHOUT_MODELS();
  // The 7x7/2 stem (pads 3), the 3x3/2 max pool and the 3x3/2 convolutions (pads 1) pad
  // symmetrically where TensorFlow's SAME would pad 2/3 and 0/1.
  expect_blocked("resnet18",
                 "ONNX node '/conv1/Conv' (Conv): auto_pad NOTSET, pads [3,3,3,3] on input [?,3,224,224] (neither "
                 "VALID nor TensorFlow's SAME: waits on explicit/asymmetric pads and ceil_mode, opsnn)");
}

TEST(OnnxModels, MobilenetV2) {
  SKIP_WITHOUT_MODELS();
  // ReLU6 is exported as Clip(0, 6); the inverted residual blocks are depthwise.
  expect_blocked("mobilenet_v2",
                 "cannot import yet: ONNX op types without a Sluice mapping: Clip (ai.onnx, version 13); Conv (ai.onnx, "
                 "version 11), node '/features/features.1/conv/conv.0/conv.0.0/Conv': group=32 (waits on "
                 "grouped/depthwise conv2d, opsnn) (and 16 more such nodes)");
}

TEST(OnnxModels, Squeezenet11) {
  SKIP_WITHOUT_MODELS();
  expect_matches_torch("squeezenet1_1");
  // Layout: 26 convolutions, 3 max pools and 8 channel concatenations run channels-last
  // with a single transpose, of the input; the [N,1000,1,1] result is reshaped, not
  // transposed, back to ONNX order.
  Graph g;
  const Output y = io::import_onnx(g, (models_dir() / "squeezenet1_1.onnx").string(), {"", {}, {"output:0"}}).tensors[0];
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
  EXPECT_EQ(ops["Transpose"], 1);
  EXPECT_EQ(ops["FusedConv2D"], 26);
  EXPECT_EQ(ops["Concat"], 8);
}

TEST(OnnxModels, LstmClassifier) {
  SKIP_WITHOUT_MODELS();
  // PyTorch builds the zero initial state as ConstantOfShape([1, batch, 32]) from the
  // run-time batch size.
  expect_blocked("lstm_classifier",
                 "ONNX node '/lstm/ConstantOfShape' (ConstantOfShape): shape known only at run time (waits on fill "
                 "with a tensor shape, opsarray)");
}

TEST(OnnxModels, TransformerEncoder) {
  SKIP_WITHOUT_MODELS();
  // The shape arithmetic around attention (slicing the fused q/k/v projection, reshaping
  // to heads with the run-time batch) folds at import; the attention products multiply
  // [batch*heads, T, d] batches.
  expect_blocked("transformer_encoder",
                 "ONNX node '/encoder/layers.0/self_attn/MatMul_1' (MatMul): MatMul of [?,8,8] and [?,8,8] (a "
                 "right-hand side of rank > 2 waits on batch_matmul, opsmath)");
}
