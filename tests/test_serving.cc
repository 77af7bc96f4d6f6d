// The serving library without sockets: JSON <-> tensors, the model manager (version folders,
// policies, config files, hot reload, failed loads), batching, and RestApi::handle.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "serving/batcher.h"
#include "serving/json_tensor.h"
#include "serving/model_manager.h"
#include "serving/rest_api.h"
#include "serving_test_util.h"

namespace sluice::serving {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using sluice::testing::save_half_plus;
using sluice::testing::save_mlp;

SpecMap one_input(DType d, Shape s) { return {{"x", TensorSpec{d, s}}}; }

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

PredictRequest parse(const std::string& body, const SpecMap& specs) {
  return parse_predict_request(body, 100, [&](const std::string&) { return specs; });
}

TEST(ServingJson, RowFormatStacksInstances) {
  PredictRequest r = parse(R"({"instances": [[1, 2], [3, 4.5], [5, 6]]})", one_input(DType::f32, {-1, 2}));
  EXPECT_EQ(r.format, RequestFormat::row);
  EXPECT_EQ(r.rows, 3);
  const Tensor& t = r.inputs.at("x");
  ASSERT_EQ(t.shape(), Shape({3, 2}));
  const float want[] = {1, 2, 3, 4.5f, 5, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], want[i]);
}

TEST(ServingJson, RowFormatNamedInputs) {
  SpecMap specs{{"a", {DType::i32, {-1}}}, {"b", {DType::f64, {-1, 2}}}};
  PredictRequest r = parse(R"({"signature_name": "s", "instances": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3, 4]}]})",
                           specs);
  EXPECT_EQ(r.signature_name, "s");
  EXPECT_EQ(r.inputs.at("a").shape(), Shape({2}));
  EXPECT_EQ(r.inputs.at("a").data<int32_t>()[1], 2);
  EXPECT_EQ(r.inputs.at("b").shape(), Shape({2, 2}));
  EXPECT_EQ(r.inputs.at("b").data<double>()[3], 4.0);
}

TEST(ServingJson, ColumnarFormat) {
  SpecMap specs{{"a", {DType::i64, {-1}}}, {"b", {DType::boolean, {}}}};
  PredictRequest r = parse(R"({"inputs": {"a": [7, -9000000000], "b": true}})", specs);
  EXPECT_EQ(r.format, RequestFormat::columnar);
  EXPECT_EQ(r.inputs.at("a").data<int64_t>()[1], -9000000000LL);
  EXPECT_EQ(r.inputs.at("b").shape(), Shape({}));
  EXPECT_TRUE(r.inputs.at("b").data<bool>()[0]);
  // One input: the value itself.
  PredictRequest one = parse(R"({"inputs": [[1], [2]]})", one_input(DType::u8, {-1, 1}));
  EXPECT_EQ(one.inputs.at("x").shape(), Shape({2, 1}));
  EXPECT_EQ(one.inputs.at("x").data<uint8_t>()[1], 2);
}

TEST(ServingJson, ErrorsCarryTfServingMessages) {
  const SpecMap f = one_input(DType::f32, {-1, 2});
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse("", f); }), "JSON Parse error: The document is empty");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse("{}", f); }), "Missing 'inputs' or 'instances' key");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"instances": [1], "inputs": [1]})", f); }),
            R"(JSON Value: {"inputs":[1],"instances":[1]} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist )");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"instances": []})", f); }),
            R"(JSON Value: {"instances":[]} No values in 'instances' array)");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"instances": [[1, 2], [3]]})", f); }),
            "Failed to process element: 1 of 'instances' list. Error: Invalid argument: Expecting tensor size: 2 but got: 1");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": [[1, 2], [3]]})", f); }),
            "Encountered list at unexpected size: 1 at level: 1 expected size: 2");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": [[1, "a"]]})", f); }),
            R"(JSON Value: "a" Type: String is not of expected type: float)");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": [16777217]})", f); }),
            "Cannot convert JSON value: 16777217 to float without loss of precision.");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": [1.5]})", one_input(DType::i32, {-1})); }),
            "JSON Value: 1.5 Type: Number is not of expected type: int32");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": [300]})", one_input(DType::u8, {-1})); }),
            "JSON Value: 300 Type: Number is not of expected type: uint8");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"signature_name": 3, "inputs": [1]})", f); }),
            R"(JSON Value: {"inputs":[1],"signature_name":3} not formatted correctly. 'signature_name' key must be a string value.)");
  const std::string bad = error_of<InvalidArgument>([&] { parse(R"({"inputs": [1,)", f); });
  EXPECT_EQ(bad.rfind("JSON Parse error: ", 0), 0u) << bad;
  EXPECT_NE(bad.find(" at offset: "), std::string::npos) << bad;
  // A number beyond double's range is a parse error too (found by fuzz_serving_json: it
  // escaped as nlohmann's out_of_range, a 500 "Internal error" from the server).
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": [1e400]})", one_input(DType::f64, {-1})); }),
            "JSON Parse error: number overflow parsing '1e400'");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": {"y": [1]}})", {{"x", {DType::f32, {-1}}}, {"y", {DType::f32, {-1}}}}); }),
            "Missing named input: x in 'inputs' object.");
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"instances": [1, 2]})", {{"x", {DType::f32, {-1}}}, {"y", {DType::f32, {-1}}}}); }),
            "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map");
  // A b64 value for a numeric input is a type error; for a string input it is the bytes.
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse(R"({"inputs": [{"b64": "AAAA"}]})", one_input(DType::f32, {-1})); }),
            R"(JSON Value: {"b64":"AAAA"} Type: Object is not of expected type: float)");
  EXPECT_EQ(parse(R"({"inputs": [{"b64": "AAAA"}]})", one_input(DType::string, {-1})).inputs.at("x").string_at(0),
            std::string(3, '\0'));
}

TEST(ServingJson, NestingDepthIsLimitedBeforeParsing) {
  const std::string deep = "{\"inputs\": " + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_EQ(error_of<InvalidArgument>([&] { parse_predict_request(deep, 64, [](const std::string&) { return SpecMap{}; }); }),
            "JSON Parse error: nesting deeper than 64 levels");
  // Brackets inside strings do not count.
  EXPECT_NO_THROW(check_json_depth(R"({"a": "[[[[[[[[[[\"[[["})", 2));
}

TEST(ServingJson, ResponsesInBothFormats) {
  std::map<std::string, Tensor> one{{"y", Tensor::from_vector<float>({3.5f, 4.0f, 5.5f}, {3})}};
  EXPECT_EQ(write_predict_response(one, RequestFormat::row), R"({"predictions": [3.5, 4.0, 5.5]})");
  EXPECT_EQ(write_predict_response(one, RequestFormat::columnar), R"({"outputs": [3.5, 4.0, 5.5]})");
  std::map<std::string, Tensor> two{{"a", Tensor::from_vector<int64_t>({1, 2, 3, 4}, {2, 2})},
                                    {"b", Tensor::from_vector<bool>({true, false}, {2})}};
  EXPECT_EQ(write_predict_response(two, RequestFormat::row),
            R"({"predictions": [{"a": [1, 2], "b": true}, {"a": [3, 4], "b": false}]})");
  EXPECT_EQ(write_predict_response(two, RequestFormat::columnar), R"({"outputs": {"a": [[1, 2], [3, 4]], "b": [true, false]}})");
  std::map<std::string, Tensor> ragged{{"a", Tensor::from_vector<float>({1, 2}, {2})},
                                       {"b", Tensor::from_vector<float>({1, 2, 3}, {3})}};
  EXPECT_EQ(error_of<InvalidArgument>([&] { write_predict_response(ragged, RequestFormat::row); }),
            "Tensor name: b has inconsistent batch size: 3 expecting: 2");
}

TEST(ServingJson, FloatsAsTfServingWritesThem) {
  EXPECT_EQ(format_float(3.0f), "3.0");
  EXPECT_EQ(format_float(0.1f), "0.1");
  EXPECT_EQ(format_float(3.14159274f), "3.14159274");  // 6 digits do not round-trip: 9
  EXPECT_EQ(format_float(1e-5f), "1e-05");
  EXPECT_EQ(format_float(std::numeric_limits<float>::infinity()), "Infinity");
  EXPECT_EQ(format_float(-std::numeric_limits<float>::infinity()), "-Infinity");
  EXPECT_EQ(format_float(std::nanf("")), "NaN");
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(1.0 / 3.0), "0.33333333333333331");
}

TEST(ServingConfig, VersionFolders) {
  EXPECT_EQ(parse_version_folder("00000123"), 123);
  EXPECT_EQ(parse_version_folder("1"), 1);
  EXPECT_EQ(parse_version_folder("0"), 0);
  EXPECT_FALSE(parse_version_folder("1a"));
  EXPECT_FALSE(parse_version_folder("-1"));
  EXPECT_FALSE(parse_version_folder(""));
  EXPECT_FALSE(parse_version_folder("99999999999999999999"));  // beyond int64
}

TEST(ServingConfig, ParsesPoliciesAndLabels) {
  auto c = parse_model_config(R"({"model_config_list": [
      {"name": "a", "base_path": "/m/a"},
      {"name": "b", "base_path": "/m/b", "model_version_policy": {"latest": {"num_versions": 2}}},
      {"name": "c", "base_path": "/m/c", "model_version_policy": {"specific": {"versions": [1, "3"]}},
       "version_labels": {"stable": 1}},
      {"name": "d", "base_path": "/m/d", "model_version_policy": {"all": {}}}]})", "cfg");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].policy.kind, VersionPolicy::Kind::latest);
  EXPECT_EQ(c[0].policy.num_versions, 1);
  EXPECT_EQ(c[1].policy.num_versions, 2);
  EXPECT_EQ(c[2].policy.kind, VersionPolicy::Kind::specific);
  EXPECT_EQ(c[2].policy.versions, (std::set<int64_t>{1, 3}));
  EXPECT_EQ(c[2].version_labels.at("stable"), 1);
  EXPECT_EQ(c[3].policy.kind, VersionPolicy::Kind::all);

  EXPECT_EQ(error_of<InvalidArgument>([] { parse_model_config("{", "cfg"); }).rfind("cfg: not valid JSON", 0), 0u);
  EXPECT_EQ(error_of<InvalidArgument>([] {
              parse_model_config(R"({"model_config_list": [{"name": "a", "base_path": "x"}, {"name": "a", "base_path": "y"}]})", "cfg");
            }),
            "cfg: model name 'a' appears twice");
  EXPECT_EQ(error_of<InvalidArgument>([] {
              parse_model_config(R"({"model_config_list": [{"name": "a", "base_path": "x", "model_version_policy": {"latest": {"num_versions": 0}}}]})", "cfg");
            }),
            "cfg: model_config_list[0].model_version_policy.latest.num_versions must be >= 1");
  EXPECT_EQ(error_of<InvalidArgument>([] {
              parse_model_config(R"({"model_config_list": [{"name": "a", "base_path": "x", "colour": 1}]})", "cfg");
            }),
            "cfg: model_config_list[0]: unknown field 'colour'");
  EXPECT_EQ(error_of<InvalidArgument>([] { parse_model_config(R"({"model_config_list": [{"base_path": "x"}]})", "cfg"); }),
            "cfg: model_config_list[0].name must be a non-empty string");
  EXPECT_THROW(read_model_config_file("/nonexistent/models.json"), NotFound);
}

class ServingManager : public sluice::testing::TempDirTest {};

float predict_one(const ServableHandle& s, float x) {
  auto out = s->model.run("serving_default", {{"x", Tensor::from_vector<float>({x}, {1, 1})}});
  return out.at("y").data<float>()[0];
}

TEST_F(ServingManager, LatestPolicyAndLeadingZeros) {
  save_half_plus(path("m/00000001"), 2.0f);
  save_half_plus(path("m/0010"), 3.0f);
  fs::create_directories(path("m/notaversion"));
  ModelManager mm({ModelConfig{"m", path("m"), {}, {}}});
  mm.poll();
  const ServableHandle s = mm.find("m");
  EXPECT_EQ(s->version, 10);
  EXPECT_EQ(predict_one(s, 1.0f), 3.5f);
  EXPECT_EQ(error_of<NotFound>([&] { mm.find("m", 1); }), "Servable not found for request: Specific(m, 1)");
  EXPECT_EQ(error_of<NotFound>([&] { mm.find("nope"); }), "Servable not found for request: Latest(nope)");
  auto st = mm.status("m");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].version, 10);
  EXPECT_EQ(st[0].state, VersionState::available);
  EXPECT_EQ(error_of<NotFound>([&] { mm.status("m", 1); }), "Could not find version 1 of model m");
  EXPECT_EQ(error_of<NotFound>([&] { mm.status("nope"); }), "Could not find any versions of model nope");
}

TEST_F(ServingManager, SpecificAndLatestNAndLabels) {
  for (int v : {1, 2, 3}) save_half_plus(path("m/" + std::to_string(v)), static_cast<float>(v));
  VersionPolicy specific{VersionPolicy::Kind::specific, 1, {1, 3, 7}};
  VersionPolicy latest2{VersionPolicy::Kind::latest, 2, {}};
  ModelManager mm({ModelConfig{"s", path("m"), specific, {{"stable", 1}, {"canary", 3}}},
                   ModelConfig{"l", path("m"), latest2, {}}});
  mm.poll();
  EXPECT_EQ(predict_one(mm.find("s", 1), 0.0f), 1.0f);
  EXPECT_EQ(predict_one(mm.find("s", 3), 0.0f), 3.0f);
  EXPECT_THROW(mm.find("s", 2), NotFound);
  EXPECT_EQ(mm.find("s", std::nullopt, std::string("stable"))->version, 1);
  EXPECT_EQ(mm.find("s", std::nullopt, std::string("canary"))->version, 3);
  EXPECT_EQ(error_of<InvalidArgument>([&] { mm.find("s", std::nullopt, std::string("beta")); }),
            "Unrecognized servable version label: beta");
  EXPECT_EQ(mm.find("l")->version, 3);
  EXPECT_EQ(mm.find("l", 2)->version, 2);
  EXPECT_THROW(mm.find("l", 1), NotFound);
}

TEST_F(ServingManager, HotReloadSwapsAndUnloads) {
  save_half_plus(path("m/1"), 2.0f);
  ModelManager mm({ModelConfig{"m", path("m"), {}, {}}});
  mm.poll();
  const ServableHandle old = mm.find("m");
  save_half_plus(path("m/2"), 7.0f);
  mm.poll();
  EXPECT_EQ(mm.find("m")->version, 2);
  EXPECT_EQ(predict_one(mm.find("m"), 0.0f), 7.0f);
  // The old handle still answers (in-flight requests finish on the version they started on).
  EXPECT_EQ(predict_one(old, 0.0f), 2.0f);
  auto st = mm.status("m");
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].version, 2);
  EXPECT_EQ(st[0].state, VersionState::available);
  EXPECT_EQ(st[1].version, 1);
  EXPECT_EQ(st[1].state, VersionState::end);
  EXPECT_FALSE(st[1].error);
}

TEST_F(ServingManager, FailedLoadIsReportedAndOthersKeepServing) {
  save_half_plus(path("m/1"), 2.0f);
  ModelManager mm({ModelConfig{"m", path("m"), {}, {}}});
  mm.poll();
  save_half_plus(path("m/2"), 9.0f);
  std::ofstream(path("m/2/graph.json"), std::ios::trunc) << "{ not json";  // a corrupt bundle
  mm.poll();
  EXPECT_EQ(mm.find("m")->version, 1);
  EXPECT_EQ(predict_one(mm.find("m"), 2.0f), 3.0f);
  auto st = mm.status("m", 2);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].state, VersionState::end);
  ASSERT_TRUE(st[0].error);
  EXPECT_NE(st[0].error_message.find("graph.json"), std::string::npos) << st[0].error_message;
  // Fixed under a new number, it loads.
  save_half_plus(path("m/3"), 5.0f);
  mm.poll();
  EXPECT_EQ(predict_one(mm.find("m"), 0.0f), 5.0f);
}

TEST_F(ServingManager, BatchedAnswersEqualUnbatched) {
  save_mlp(path("mlp/1"), 11);
  Servable s = load_servable("mlp", 1, path("mlp/1"));
  Batcher batcher(s.model, "serving_default", BatchOptions{8, std::chrono::microseconds(20000)});
  const int kThreads = 6;
  std::vector<std::map<std::string, Tensor>> got(kThreads), want(kThreads);
  std::vector<std::map<std::string, Tensor>> inputs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    const int64_t rows = 1 + t % 3;
    std::vector<float> v(static_cast<size_t>(rows * 4));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((t * 7 + static_cast<int>(i)) % 11) * 0.3f - 1.0f;
    inputs[t] = {{"x", Tensor::from_vector<float>(v, {rows, 4})}};
    want[t] = s.model.run("serving_default", inputs[t]);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { got[t] = batcher.run(inputs[t], inputs[t].at("x").dim(0)); });
  for (auto& th : threads) th.join();
  EXPECT_LT(batcher.batches_run(), kThreads);  // some requests shared a run
  for (int t = 0; t < kThreads; ++t)
    for (const char* key : {"probs", "logits"}) {
      const Tensor& a = got[t].at(key);
      const Tensor& b = want[t].at(key);
      ASSERT_EQ(a.shape(), b.shape());
      for (int64_t i = 0; i < a.num_elements(); ++i) EXPECT_EQ(a.data<float>()[i], b.data<float>()[i]) << key << i;
    }
}

TEST_F(ServingManager, BatchMemberWithBadInputGetsItsOwnError) {
  save_half_plus(path("m/1"), 2.0f);
  Servable s = load_servable("m", 1, path("m/1"));
  Batcher batcher(s.model, "serving_default", BatchOptions{4, std::chrono::microseconds(50000)});
  std::map<std::string, Tensor> good{{"x", Tensor::from_vector<float>({1, 2}, {2, 1})}};
  std::map<std::string, Tensor> bad{{"x", Tensor::from_vector<float>({1, 2}, {1, 2})}};  // [1,2] vs [-1,1]
  std::map<std::string, Tensor> out;
  std::string error;
  std::thread a([&] { out = batcher.run(good, 2); });
  std::thread b([&] {
    try {
      batcher.run(bad, 1);
    } catch (const InvalidArgument& e) {
      error = e.what();
    }
  });
  a.join();
  b.join();
  EXPECT_EQ(out.at("y").data<float>()[1], 3.0f);
  EXPECT_NE(error.find("expects float32[?,1], got float32[1,2]"), std::string::npos) << error;
}

TEST_F(ServingManager, RestApiWithoutSockets) {
  save_half_plus(path("hp/1"), 2.0f);
  ModelManager mm({ModelConfig{"hp", path("hp"), {}, {}}});
  mm.poll();
  Metrics metrics;
  RestApi api(mm, metrics, ApiOptions{});
  ApiResponse r = api.handle("POST", "/v1/models/hp:predict", R"({"instances": [[1.0], [2.0], [5.0]]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"predictions": [[2.5], [3.0], [4.5]]})");
  r = api.handle("POST", "/v1/models/hp/versions/1:predict", R"({"inputs": {"x": [[1.0]]}})");
  EXPECT_EQ(r.body, R"({"outputs": [[2.5]]})");
  r = api.handle("POST", "/v1/models/hp:predict", R"({"instances": [[1e999]]})");  // 400, not 500
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({ "error": "JSON Parse error: number overflow parsing '1e999'" })");
  r = api.handle("POST", "/v1/models/hp:explain", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({ "error": "Malformed request: POST /v1/models/hp:explain" })");
  r = api.handle("GET", "/v1/models", "");
  EXPECT_EQ(r.body, R"({ "error": "Missing model name in request." })");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(metrics.prometheus_text().find(
                R"(:tensorflow:serving:request_count{model_name="hp",API="predict",signature_name="serving_default",status="OK"} 2)"),
            std::string::npos)
      << metrics.prometheus_text();
}

}  // namespace
}  // namespace sluice::serving
