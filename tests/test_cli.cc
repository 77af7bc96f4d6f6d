// The `sluice` command, run as a subprocess: inspect and run on every format, and the error
// path (exit code 2, one line). Convert, graph, summary and plot: test_cli_convert.cc.
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace sluice {
namespace {

using Json = nlohmann::json;
using testing::cli_artifacts;
using testing::CliResult;
using testing::expect_one_line_error;
using testing::run_cli;

Json inspect_json(const std::string& path, bool stats = false) {
  std::vector<std::string> args = {"inspect", path, "--json"};
  if (stats) args.push_back("--stats");
  const CliResult r = run_cli(args);
  EXPECT_EQ(r.code, 0) << r.err;
  return Json::parse(r.out);
}

const Json& find_named(const Json& list, const std::string& name) {
  for (const Json& t : list)
    if (t["name"] == name) return t;
  static const Json none;
  ADD_FAILURE() << "no entry '" << name << "' in " << list.dump();
  return none;
}

TEST(CliInspect, BundleJsonFieldByField) {
  const auto& a = cli_artifacts();
  const Json doc = inspect_json(a.bundle);
  const io::LoadedModel model = io::load_model(a.bundle);
  EXPECT_EQ(doc["path"], a.bundle);
  EXPECT_EQ(doc["format"], "sluice-bundle");
  EXPECT_EQ(doc["num_nodes"], model.graph().num_operations());
  const Json& sig = doc["signatures"]["serving_default"];
  EXPECT_EQ(sig["inputs"]["image"]["name"], "img:0");
  EXPECT_EQ(sig["inputs"]["image"]["dtype"], "float32");
  EXPECT_EQ(sig["inputs"]["image"]["shape"], Json::parse("[-1,28,28,1]"));
  EXPECT_EQ(sig["outputs"]["probs"]["name"], model.signature("serving_default").outputs.at("probs").name());
  EXPECT_EQ(sig["outputs"]["probs"]["shape"], Json::parse("[-1,10]"));
  // Every variable of the bundle, with its dtype, shape, size and bytes; parameters add up.
  int64_t params = 0;
  for (const Operation& v : model.graph().global_variables()) {
    const Json& t = find_named(doc["tensors"], v.name());
    const Tensor value = model.session().variable_value(v.name());
    EXPECT_EQ(t["kind"], "variable");
    EXPECT_EQ(t["dtype"], "float32");
    EXPECT_EQ(t["shape"].get<std::vector<int64_t>>(), value.shape().dims());
    EXPECT_EQ(t["size"], value.num_elements());
    EXPECT_EQ(t["bytes"], value.num_elements() * 4);
    EXPECT_FALSE(t.contains("stats"));
    params += value.num_elements();
  }
  EXPECT_EQ(find_named(doc["tensors"], "conv2d/kernel")["shape"], Json::parse("[3,3,1,8]"));
  EXPECT_EQ(find_named(doc["tensors"], "conv2d/kernel")["trainable"], true);
  EXPECT_EQ(find_named(doc["tensors"], "batch_normalization/moving_mean")["trainable"], false);
  EXPECT_EQ(doc["parameters"].get<int64_t>(), params);  // the bundle's constants are not float weights
  // 8*9+8 conv, 4*8 batch norm, 1352*16+16 hidden, 16*10+10 output.
  EXPECT_EQ(params, 80 + 32 + 21648 + 170);
  EXPECT_EQ(doc["trainable_parameters"].get<int64_t>(), 80 + 16 + 21648 + 170);
  EXPECT_EQ(doc["ops"]["FusedConv2D"], 1);
  EXPECT_EQ(doc["ops"]["FusedBatchNorm"], 1);
  EXPECT_EQ(doc["ops"]["MatMul"], 2);
  EXPECT_EQ(doc["learning_phase"], io::graph_to_def(model.graph()).learning_phase);
  EXPECT_EQ(find_named(doc["inputs"], "img:0")["dtype"], "float32");
}

TEST(CliInspect, TextNamesSignaturesTensorsAndOps) {
  const auto& a = cli_artifacts();
  const CliResult r = run_cli({"inspect", a.bundle});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* want : {"sluice-bundle: ", "serving_default", "image: img:0 float32 [?,28,28,1]",
                           "conv2d/kernel", "[3,3,1,8]", "21,930 parameters", "FusedConv2D 1"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}

TEST(CliInspect, GraphFileAndCheckpointWithStats) {
  const auto& a = cli_artifacts();
  const Json g = inspect_json(a.graph_file);
  EXPECT_EQ(g["format"], "sluice-graph");
  EXPECT_EQ(g["num_nodes"], a.graph_nodes);
  EXPECT_TRUE(g["signatures"].contains("serving_default"));
  EXPECT_GT(g["ops"]["ApplyAdam"].get<int>(), 0);  // the whole training graph

  const Json c = inspect_json(a.checkpoint, true);
  EXPECT_EQ(c["format"], "sluice-checkpoint");
  const auto vars = io::read_checkpoint(a.checkpoint);
  ASSERT_EQ(c["tensors"].size(), vars.size());
  for (const auto& [name, t] : vars) {
    const Json& j = find_named(c["tensors"], name);
    EXPECT_EQ(j["shape"].get<std::vector<int64_t>>(), t.shape().dims());
    double mn = 1e300, mx = -1e300, sum = 0;
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const double v = t.as_double(i);
      mn = std::min(mn, v);
      mx = std::max(mx, v);
      sum += v;
    }
    const double mean = sum / static_cast<double>(t.num_elements());
    double var = 0;
    for (int64_t i = 0; i < t.num_elements(); ++i) var += (t.as_double(i) - mean) * (t.as_double(i) - mean);
    EXPECT_DOUBLE_EQ(j["stats"]["min"].get<double>(), mn) << name;
    EXPECT_DOUBLE_EQ(j["stats"]["max"].get<double>(), mx) << name;
    EXPECT_NEAR(j["stats"]["mean"].get<double>(), mean, 1e-12 + 1e-9 * std::fabs(mean)) << name;
    EXPECT_NEAR(j["stats"]["std"].get<double>(), std::sqrt(var / static_cast<double>(t.num_elements())), 1e-9) << name;
    EXPECT_EQ(j["stats"]["nan"], 0);
  }
}

TEST(CliInspect, NpzAndNpyStatsCountNanAndInf) {
  const auto& a = cli_artifacts();
  const Json z = inspect_json(a.npz, true);
  EXPECT_EQ(z["format"], "npz");
  const Json& odd = find_named(z["tensors"], "odd");
  EXPECT_EQ(odd["shape"], Json::parse("[2,3]"));
  EXPECT_EQ(odd["stats"]["nan"], 1);
  EXPECT_EQ(odd["stats"]["inf"], 2);
  EXPECT_DOUBLE_EQ(odd["stats"]["min"].get<double>(), 1);  // over the finite values
  EXPECT_DOUBLE_EQ(odd["stats"]["max"].get<double>(), 4);
  EXPECT_DOUBLE_EQ(odd["stats"]["mean"].get<double>(), 7.0 / 3.0);
  EXPECT_EQ(find_named(z["tensors"], "ints")["dtype"], "int32");
  const Json y = inspect_json(a.npy);
  EXPECT_EQ(y["format"], "npy");
  EXPECT_EQ(y["tensors"][0]["dtype"], "float64");
  EXPECT_EQ(y["tensors"][0]["shape"], Json::parse("[2,2]"));
  EXPECT_EQ(y["parameters"], 4);
}

TEST(CliInspect, TensorFlowFormats) {
  SLUICE_INTEROP_OR_SKIP(ckpt, "tf2onnx/regression/checkpoint/model");
  const Json c = inspect_json(ckpt, true);
  EXPECT_EQ(c["format"], "tf-checkpoint");
  EXPECT_NEAR(find_named(c["tensors"], "W")["stats"]["mean"].get<double>(), 0.21396178, 1e-7);
  EXPECT_NEAR(find_named(c["tensors"], "b")["stats"]["mean"].get<double>(), 1.0495254, 1e-7);
  EXPECT_EQ(inspect_json(ckpt + ".index")["format"], "tf-checkpoint");  // the .index names it too

  const Json pb = inspect_json(testing::interop_file("tf2onnx/regression/graphdef/frozen.pb"));
  EXPECT_EQ(pb["format"], "tf-graphdef");
  EXPECT_EQ(pb["ops"]["Mul"], 1);
  EXPECT_EQ(find_named(pb["inputs"], "X:0")["dtype"], "float32");
  EXPECT_EQ(find_named(pb["tensors"], "W")["kind"], "constant");

  const Json meta = inspect_json(testing::interop_file("tf2onnx/regression/checkpoint/model.meta"));
  EXPECT_EQ(meta["format"], "tf-metagraph");
  EXPECT_EQ(meta["weights"], ckpt);  // restored from the checkpoint next to it
  EXPECT_EQ(find_named(meta["tensors"], "W")["kind"], "variable");
  EXPECT_TRUE(meta["skipped"].contains("ApplyGradientDescent"));

  const std::string sm = testing::interop_file("tf_serving/saved_model_half_plus_two_cpu/00000123");
  ASSERT_FALSE(sm.empty());
  const Json s = inspect_json(sm, true);
  EXPECT_EQ(s["format"], "tf-savedmodel");
  EXPECT_EQ(s["signatures"]["serving_default"]["method_name"], "tensorflow/serving/predict");
  EXPECT_EQ(s["signatures"]["serving_default"]["inputs"]["x"]["name"], "x:0");
  EXPECT_TRUE(s["signatures"]["classify_x_to_y"].contains("unsupported"));
  EXPECT_DOUBLE_EQ(find_named(s["tensors"], "a")["stats"]["max"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(find_named(s["tensors"], "b")["stats"]["max"].get<double>(), 2.0);
}

TEST(CliInspect, Onnx) {
  const std::string model = testing::onnx_testdata("test_conv_with_strides_no_padding/model.onnx");
  if (model.empty()) GTEST_SKIP() << "Debian's libonnx-testdata is not installed";
  const Json doc = inspect_json(model);
  EXPECT_EQ(doc["format"], "onnx");
  EXPECT_EQ(doc["signatures"]["serving_default"]["inputs"]["x"]["shape"], Json::parse("[1,1,7,5]"));
  EXPECT_EQ(doc["signatures"]["serving_default"]["outputs"]["y"]["shape"], Json::parse("[1,1,3,2]"));
  EXPECT_EQ(doc["ops"]["Conv2D"], 1);
}

// ---- errors: exit code 2 and one line, never a crash ----

TEST(CliErrors, CorruptAndUnknownFilesEveryReader) {
  const auto& a = cli_artifacts();
  const std::string d = a.dir;
  auto write = [&](const std::string& name, const std::string& bytes) {
    io::write_file_atomically(d + "/" + name, bytes);
    return d + "/" + name;
  };
  const std::string ckpt = testing::slurp(a.checkpoint), npz = testing::slurp(a.npz);
  const std::vector<std::string> bad = {
      write("truncated.ckpt", ckpt.substr(0, ckpt.size() / 2)),
      write("truncated.npz", npz.substr(0, npz.size() - 30)),
      write("bad.npy", std::string("\x93NUMPY\x01\x00garbage", 16)),
      write("bad.json", "{\"format\": \"sluice-graph\", \"nodes\": [ }"),
      write("bad.pb", "\xff\xff\xff\xff not a protobuf"),
      write("bad.onnx", "\x0a\xff\xff\xff\xff\x0f"),
      write("bad.meta", "\x12\x34 nope"),
      write("notes.txt", "hello, I am not a model\n"),
      d + "/does_not_exist.pb"};
  for (const std::string& path : bad) {
    SCOPED_TRACE(path);
    expect_one_line_error(run_cli({"inspect", path}), "inspect");
    expect_one_line_error(run_cli({"run", path, "--input", "x:0=[1]"}), "run");
  }
  expect_one_line_error(run_cli({"run", a.checkpoint, "--input", "x=[1]"}), "run");  // no graph in it
}

// ---- run ----

TEST(CliRun, BundleSignatureEqualsTheLibrary) {
  const auto& a = cli_artifacts();
  const std::string out = a.dir + "/run_bundle.npz";
  const CliResult r = run_cli({"run", a.bundle, "--input", "image=" + a.input_npy, "--output", out, "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto got = io::read_npz(out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, "probs");
  const io::LoadedModel model = io::load_model(a.bundle, SessionOptions{1});
  const Tensor want = model.run("serving_default", {{"image", a.input}}).at("probs");
  EXPECT_TRUE(got[0].second.equals(want)) << got[0].second.to_string() << " vs " << want.to_string();
}

TEST(CliRun, TensorNamesAndFetchesOnAGraphFile) {
  const auto& a = cli_artifacts();
  const std::string in = a.dir + "/run_in.npz", out = a.dir + "/run_graph.npz";
  io::write_npz(in, {{"x", a.input}, {"other", Tensor(1.0f)}});
  // An intermediate tensor fed (not a placeholder) and two fetched by name.
  const CliResult r = run_cli({"run", a.graph_file, "--input", "img:0=" + in + ":x", "--fetch", "conv2d/FusedConv2D:0",
                               "--fetch", "probs:0", "--output", out, "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto got = io::read_npz(out);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, "conv2d/FusedConv2D:0");
  EXPECT_EQ(got[1].first, "probs:0");
  Graph g;
  io::import_graph_file(g, a.graph_file);
  Session s(g, SessionOptions{1});
  s.run({}, {}, {ops::global_variables_initializer(Scope(g))});
  const auto want = s.run({{"img:0", a.input}}, {"conv2d/FusedConv2D:0", "probs:0"});
  EXPECT_TRUE(got[0].second.equals(want[0]));
  EXPECT_TRUE(got[1].second.equals(want[1]));

  // Feeding an intermediate tensor: the pooled activations replaced by zeros.
  Json zeros = Json::array({Json::array()});
  for (int i = 0; i < 13; ++i) {
    Json row = Json::array();
    for (int j = 0; j < 13; ++j) row.push_back(std::vector<float>(8, 0.f));
    zeros[0].push_back(row);
  }
  const CliResult z = run_cli({"run", a.bundle, "--input", "max_pooling2d/MaxPool:0=" + zeros.dump(),
                               "--fetch", "probs:0"});
  ASSERT_EQ(z.code, 0) << z.err;
  EXPECT_NE(z.out.find("probs:0: f32[1,10]"), std::string::npos) << z.out;
}

TEST(CliRun, LiteralInputsOnTensorFlowModels) {
  SLUICE_INTEROP_OR_SKIP(pb, "tf2onnx/regression/graphdef/frozen.pb");
  const std::string out = cli_artifacts().dir + "/run_pb.npz";
  CliResult r = run_cli({"run", pb, "--input", "X:0=[3, -1]", "--fetch", "pred:0", "--output", out});
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor pred = io::read_npz(out).at(0).second;
  EXPECT_NEAR(pred.data<float>()[0], 0.21396178f * 3 + 1.0495254f, 1e-6);
  EXPECT_NEAR(pred.data<float>()[1], -0.21396178f + 1.0495254f, 1e-6);
  // Without signatures, a key without ':' is an error that says what to do.
  r = run_cli({"run", pb, "--input", "X=[3]"});
  expect_one_line_error(r, "run");
  EXPECT_NE(r.err.find("--fetch"), std::string::npos);

  const std::string sm = testing::interop_file("tf_serving/saved_model_half_plus_two_cpu/00000123");
  r = run_cli({"run", sm, "--input", "x=[[1],[2],[5]]"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("y: f32[3,1] [[2.5], [3], [4.5]]"), std::string::npos) << r.out;
  r = run_cli({"run", sm, "--signature", "regress_x2_to_y3", "--input", "inputs=[[2]]"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("outputs: f32[1,1] [[4]]"), std::string::npos) << r.out;  // 0.5 * 2 + 3
  expect_one_line_error(run_cli({"run", sm, "--signature", "nope", "--input", "x=[[1]]"}), "run");
  expect_one_line_error(run_cli({"run", sm, "--input", "y=[[1]]"}), "run");  // no such input key
  expect_one_line_error(run_cli({"run", sm}), "run");                         // a missing input
  expect_one_line_error(run_cli({"run", sm, "--input", "x=[[1],[2,3]]"}), "run");  // ragged

  const std::string meta = testing::interop_file("tf2onnx/regression/checkpoint/model.meta");
  r = run_cli({"run", meta, "--input", "X:0=[2]", "--fetch", "pred:0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("pred:0: f32[1] [1.47745]"), std::string::npos) << r.out;  // the checkpoint's W, b
}

TEST(CliRun, OnnxTestCaseMatchesItsExpectedOutput) {
  const std::string model = testing::onnx_testdata("test_conv_with_strides_no_padding/model.onnx");
  if (model.empty()) GTEST_SKIP() << "Debian's libonnx-testdata is not installed";
  const std::string dir = std::filesystem::path(model).parent_path().string() + "/test_data_set_0/";
  const std::string x = cli_artifacts().dir + "/onnx_x.npy", w = cli_artifacts().dir + "/onnx_w.npy",
                    out = cli_artifacts().dir + "/onnx_out.npz";
  io::write_npy(x, io::read_onnx_tensor(dir + "input_0.pb"));
  io::write_npy(w, io::read_onnx_tensor(dir + "input_1.pb"));
  const CliResult r = run_cli({"run", model, "--input", "x=" + x, "--input", "W=" + w, "--output", out});
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor got = io::read_npz(out).at(0).second, want = io::read_onnx_tensor(dir + "output_0.pb");
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < want.num_elements(); ++i) EXPECT_NEAR(got.as_double(i), want.as_double(i), 1e-4);
  // ONNX values are tensors by name too.
  const CliResult t = run_cli({"run", model, "--input", "x:0=" + x, "--input", "W:0=" + w, "--fetch", "y:0"});
  EXPECT_EQ(t.code, 0) << t.err;
}

TEST(CliRun, RepeatPrintsLatencyPercentilesAndThroughput) {
  const auto& a = cli_artifacts();
  const CliResult r = run_cli({"run", a.bundle, "--input", "image=" + a.input_npy, "--repeat", "5", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* want : {"latency over 5 runs", "p50 ", "p90 ", "p99 ", "throughput: ", "examples/s (batch 4)"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}

}  // namespace
}  // namespace sluice
