// The `sluice` command, run as a subprocess: convert (freezing, --optimize), graph, summary
// and plot, with their error paths.
#include <png.h>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace sluice {
namespace {

using Json = nlohmann::json;
using testing::cli_artifacts;
using testing::CliResult;
using testing::expect_one_line_error;
using testing::run_cli;

Json inspect_json(const std::string& path) {
  const CliResult r = run_cli({"inspect", path, "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  return Json::parse(r.out);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double d = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i) d = std::max(d, std::fabs(a.as_double(i) - b.as_double(i)));
  return d;
}

// ---- convert ----

TEST(CliConvert, FrozenBundleGivesTheSameOutputs) {
  const auto& a = cli_artifacts();
  const std::string out = a.dir + "/frozen_bundle";
  std::filesystem::remove_all(out);
  const CliResult r = run_cli({"convert", a.bundle, out});
  ASSERT_EQ(r.code, 0) << r.err;
  const Json doc = inspect_json(out);
  EXPECT_EQ(doc["format"], "sluice-bundle");
  EXPECT_EQ(doc["ops"].value("VariableV2", 0), 0);  // frozen: weights are constants
  EXPECT_EQ(find_if(doc["tensors"].begin(), doc["tensors"].end(),
                    [](const Json& t) { return t["name"] == "conv2d/kernel"; })->at("kind"),
            "constant");
  const io::LoadedModel before = io::load_model(a.bundle, SessionOptions{1});
  const io::LoadedModel after = io::load_model(out, SessionOptions{1});
  const Tensor want = before.run("serving_default", {{"image", a.input}}).at("probs");
  EXPECT_TRUE(after.run("serving_default", {{"image", a.input}}).at("probs").equals(want));
  // The bundle exists now: converting onto it again is refused, in one line.
  expect_one_line_error(run_cli({"convert", a.bundle, out}), "convert");
}

TEST(CliConvert, OptimizeKeepsOutputsWithFewerNodes) {
  const auto& a = cli_artifacts();
  const std::string frozen = a.dir + "/opt_frozen", optimized = a.dir + "/opt_bundle";
  std::filesystem::remove_all(frozen);
  std::filesystem::remove_all(optimized);
  ASSERT_EQ(run_cli({"convert", a.graph_file, frozen}).code, 0);
  // From the training graph file (variables at their initial values, Adam, dropout, batch
  // norm, the learning phase), straight to an inference bundle.
  const CliResult r = run_cli({"convert", a.graph_file, optimized, "--optimize"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("checked signature 'serving_default' output 'probs'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 batch norms folded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("optimized "), std::string::npos) << r.out;  // the timing line
  const Json f = inspect_json(frozen), o = inspect_json(optimized);
  EXPECT_LT(o["num_nodes"].get<int>(), f["num_nodes"].get<int>());
  for (const char* gone : {"FusedBatchNorm", "Dropout", "PlaceholderWithDefault"})
    EXPECT_FALSE(o["ops"].contains(gone)) << gone << ": " << o["ops"].dump();
  EXPECT_EQ(o["ops"]["FusedConv2D"], 1);  // conv + batch norm + relu in one op
  EXPECT_EQ(o["ops"]["FusedMatMul"], 2);  // the dense layers: matmul + bias (+ relu) in one op
  EXPECT_FALSE(o["ops"].contains("BiasAdd")) << o["ops"].dump();
  EXPECT_NE(r.out.find("1 convolutions and 2 matmuls fused"), std::string::npos) << r.out;
  EXPECT_EQ(o["learning_phase"], "");

  const io::LoadedModel before = io::load_model(frozen, SessionOptions{1});
  const io::LoadedModel after = io::load_model(optimized, SessionOptions{1});
  const Tensor want = before.run("serving_default", {{"image", a.input}}).at("probs");
  const Tensor got = after.run("serving_default", {{"image", a.input}}).at("probs");
  EXPECT_LT(max_abs_diff(got, want), 1e-5);
  // The same holds for the trained weights of the bundle.
  const std::string opt2 = a.dir + "/opt_bundle2";
  std::filesystem::remove_all(opt2);
  ASSERT_EQ(run_cli({"convert", a.bundle, opt2, "--optimize"}).code, 0);
  const Tensor trained = io::load_model(a.bundle, SessionOptions{1}).run("serving_default", {{"image", a.input}}).at("probs");
  EXPECT_LT(max_abs_diff(io::load_model(opt2).run("serving_default", {{"image", a.input}}).at("probs"), trained), 1e-5);
}

TEST(CliConvert, TensorFlowAndOnnxModels) {
  SLUICE_INTEROP_OR_SKIP(pb, "tf2onnx/regression/graphdef/frozen.pb");
  const std::string d = cli_artifacts().dir;
  std::filesystem::remove_all(d + "/pb_bundle");
  expect_one_line_error(run_cli({"convert", pb, d + "/pb_bundle"}), "convert");  // no signatures: needs --outputs
  ASSERT_EQ(run_cli({"convert", pb, d + "/pb_bundle", "--outputs", "pred:0", "--optimize"}).code, 0);
  const io::LoadedModel m = io::load_model(d + "/pb_bundle");
  EXPECT_EQ(m.signature("serving_default").inputs.count("X"), 1u);  // the placeholder pred needs
  const Tensor y = m.run("serving_default", {{"X", Tensor::from_vector<float>({3}, {1})}}).at("pred");
  EXPECT_NEAR(y.data<float>()[0], 0.21396178f * 3 + 1.0495254f, 1e-6);

  const std::string sm = testing::interop_file("tf_serving/saved_model_half_plus_two_cpu/00000123");
  std::filesystem::remove_all(d + "/sm_bundle");
  ASSERT_EQ(run_cli({"convert", sm, d + "/sm_bundle"}).code, 0);
  const Tensor s = io::load_model(d + "/sm_bundle").run("serving_default", {{"x", Tensor::from_vector<float>({4}, {1, 1})}}).at("y");
  EXPECT_FLOAT_EQ(s.data<float>()[0], 4.0f);

  const std::string cifar = testing::interop_file("more/cifar10_cnn/cifar10_cnn.pb");
  std::filesystem::remove_all(d + "/cifar_bundle");
  const CliResult c = run_cli({"convert", cifar, d + "/cifar_bundle", "--outputs", "fully_connect_2/logits:0", "--optimize"});
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("checked signature"), std::string::npos) << c.out;

  const std::string onnx = testing::onnx_testdata("test_conv_with_strides_no_padding/model.onnx");
  if (onnx.empty()) GTEST_SKIP() << "Debian's libonnx-testdata is not installed";
  std::filesystem::remove_all(d + "/onnx_bundle");
  ASSERT_EQ(run_cli({"convert", onnx, d + "/onnx_bundle", "--optimize"}).code, 0);
  const std::string dir = std::filesystem::path(onnx).parent_path().string() + "/test_data_set_0/";
  const Tensor got = io::load_model(d + "/onnx_bundle")
                         .run("serving_default", {{"x", io::read_onnx_tensor(dir + "input_0.pb")},
                                                  {"W", io::read_onnx_tensor(dir + "input_1.pb")}})
                         .at("y");
  EXPECT_LT(max_abs_diff(got, io::read_onnx_tensor(dir + "output_0.pb")), 1e-4);
  expect_one_line_error(run_cli({"convert", cli_artifacts().npz, d + "/npz_bundle"}), "convert");
}

// ---- pictures ----

// A well-formed XML document: every tag closed in order (enough to catch a broken SVG).
bool xml_balanced(const std::string& s) {
  std::vector<std::string> open;
  for (size_t i = s.find('<'); i != std::string::npos; i = s.find('<', i + 1)) {
    if (s.compare(i, 4, "<!--") == 0) {
      i = s.find("-->", i);
      if (i == std::string::npos) return false;
      continue;
    }
    const size_t end = s.find('>', i);
    if (end == std::string::npos) return false;
    if (s[i + 1] == '?' || s[i + 1] == '!') continue;
    const bool closing = s[i + 1] == '/', self = s[end - 1] == '/';
    const size_t b = i + (closing ? 2 : 1);
    const std::string name = s.substr(b, s.find_first_of(" \t\n/>", b) - b);
    if (closing) {
      if (open.empty() || open.back() != name) return false;
      open.pop_back();
    } else if (!self) {
      open.push_back(name);
    }
    i = end;
  }
  return open.empty();
}

// Decodes the whole PNG (libpng); its width and height, or {0, 0} when it does not decode.
std::pair<int, int> decode_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) return {0, 0};
  image.format = PNG_FORMAT_RGBA;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) return {0, 0};
  return {static_cast<int>(image.width), static_cast<int>(image.height)};
}

TEST(CliGraph, SvgPngAndDotOfTheCnn) {
  const auto& a = cli_artifacts();
  const std::string svg = a.dir + "/cnn.svg", png = a.dir + "/cnn.png", dot = a.dir + "/cnn.dot";
  CliResult r = run_cli({"graph", a.graph_file, "-o", svg});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = testing::slurp(svg);
  EXPECT_TRUE(xml_balanced(text));
  EXPECT_NE(text.find("<svg"), std::string::npos);
  // Depth 0: one box per top-level scope, with its op count; the learning phase marked.
  for (const char* label : {"conv2d", "batch_normalization", "dense_1", "gradients", "Adam", "learning phase",
                            "update ops", "f32[?,28,28,1]"})
    EXPECT_NE(text.find(label), std::string::npos) << label;
  ASSERT_EQ(run_cli({"graph", a.bundle, "-o", png, "--depth", "1"}).code, 0);
  const auto size = decode_png(png);
  EXPECT_GT(size.first, 100);
  EXPECT_GT(size.second, 100);
  // Depth 1 opens the layers' scopes: their ops are drawn, as clusters.
  ASSERT_EQ(run_cli({"graph", a.bundle, "-o", dot, "--depth", "1"}).code, 0);
  const std::string d = testing::slurp(dot);
  EXPECT_NE(d.find("subgraph cluster_"), std::string::npos);
  EXPECT_NE(d.find("FusedBatchNorm"), std::string::npos);
  expect_one_line_error(run_cli({"graph", a.bundle, "-o", a.dir + "/cnn.gif"}), "graph");
  expect_one_line_error(run_cli({"graph", a.npz, "-o", svg}), "graph");
}

TEST(CliGraph, TensorFlowAndOnnxGraphs) {
  SLUICE_INTEROP_OR_SKIP(cifar, "more/cifar10_cnn/cifar10_cnn.pb");
  const std::string svg = cli_artifacts().dir + "/cifar.svg";
  ASSERT_EQ(run_cli({"graph", cifar, "-o", svg, "--depth", "3"}).code, 0);
  const std::string text = testing::slurp(svg);
  EXPECT_TRUE(xml_balanced(text));
  EXPECT_NE(text.find("fully_connect_2"), std::string::npos);
  const std::string onnx = testing::onnx_testdata("test_conv_with_strides_no_padding/model.onnx");
  if (onnx.empty()) GTEST_SKIP() << "Debian's libonnx-testdata is not installed";
  ASSERT_EQ(run_cli({"graph", onnx, "-o", svg, "--depth", "1"}).code, 0);
  EXPECT_NE(testing::slurp(svg).find("Conv2D"), std::string::npos);
}

TEST(CliSummary, LayerTableOfTheCnn) {
  const auto& a = cli_artifacts();
  for (const std::string& model : {a.bundle, a.graph_file}) {
    SCOPED_TRACE(model);
    const CliResult r = run_cli({"summary", model});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* row : {"conv2d (Conv2D)", "(None, 26, 26, 8)", "batch_normalization (BatchNormalization)",
                            "max_pooling2d (MaxPooling2D)", "(None, 13, 13, 8)", "dropout (Dropout)",
                            "flatten (Flatten)", "(None, 1352)", "dense (Dense)", "(None, 16)", "21,648",
                            "dense_1 (Dense)", "(None, 10)", "170", "Total params: 21,930",
                            "Trainable params: 21,914", "Non-trainable params: 16"})
      EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
  // Order follows the graph: conv2d before dense_1.
  const CliResult r = run_cli({"summary", a.bundle});
  EXPECT_LT(r.out.find("conv2d (Conv2D)"), r.out.find("dense_1 (Dense)"));
  expect_one_line_error(run_cli({"summary", a.checkpoint}), "summary");
}

TEST(CliPlot, CurvesFromTrainingLogs) {
  const std::string d = cli_artifacts().dir;
  io::write_file_atomically(d + "/cnn_log.jsonl",
                            "{\"epoch\": 1, \"loss\": 0.9, \"accuracy\": 0.70, \"test_accuracy\": 0.68, \"lr\": 0.001, \"seconds\": 3.1}\n"
                            "{\"epoch\": 2, \"loss\": 0.5, \"accuracy\": 0.82, \"test_accuracy\": 0.80, \"lr\": 0.001, \"seconds\": 3.0}\n");
  io::write_file_atomically(d + "/mlp_log.jsonl",
                            "{\"epoch\": 1, \"loss\": 1.1, \"accuracy\": 0.60}\n{\"epoch\": 2, \"loss\": 0.8, \"accuracy\": 0.72}\n");
  const std::string svg = d + "/curves.svg", png = d + "/curves.png";
  ASSERT_EQ(run_cli({"plot", d + "/cnn_log.jsonl", d + "/mlp_log.jsonl", "-o", svg}).code, 0);
  const std::string text = testing::slurp(svg);
  EXPECT_TRUE(xml_balanced(text));
  for (const char* label : {"epoch", "loss", "accuracy", "cnn_log", "mlp_log", "Training curves"})
    EXPECT_NE(text.find(label), std::string::npos) << label;
  ASSERT_EQ(run_cli({"plot", d + "/cnn_log.jsonl", "-o", png, "--title", "CNN"}).code, 0);
  EXPECT_GT(decode_png(png).first, 100);
  io::write_file_atomically(d + "/broken.jsonl", "{\"epoch\": 1, \"loss\": 0.9}\nnot json\n");
  expect_one_line_error(run_cli({"plot", d + "/broken.jsonl", "-o", svg}), "plot");
  expect_one_line_error(run_cli({"plot", d + "/missing.jsonl", "-o", svg}), "plot");
  expect_one_line_error(run_cli({"plot", d + "/cnn_log.jsonl", "-o", d + "/c.pdf"}), "plot");
}

// The log Model::fit writes (FitOptions::log) is what `sluice plot` draws: metrics and their
// validation twins as curves.
TEST(CliPlot, CurvesFromAFitLog) {
  const std::string d = cli_artifacts().dir, log = d + "/fit_log.jsonl", svg = d + "/fit_curves.svg";
  std::filesystem::remove(log);
  models::Sequential m({layers::Dense(8, Activation::tanh), layers::Dense(1)});
  m.build({2});
  m.compile(models::adam(0.05), "mse", {"mae"});
  const Tensor x = testing::random_tensor({32, 2}, 5);
  models::FitOptions opt;
  opt.epochs = 3;
  opt.verbose = 0;
  opt.batch_size = 8;
  opt.validation_split = 0.25;
  opt.log = log;
  m.fit(x, testing::random_tensor({32, 1}, 6), opt);  // any targets: the curves are what matters
  ASSERT_EQ(run_cli({"plot", log, "-o", svg, "--title", "fit"}).code, 0);
  const std::string text = testing::slurp(svg);
  EXPECT_TRUE(xml_balanced(text));
  for (const char* label : {"epoch", "loss", "val_loss", "fit_log"})
    EXPECT_NE(text.find(label), std::string::npos) << label;
}

}  // namespace
}  // namespace sluice
