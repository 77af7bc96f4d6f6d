// The server through a real HTTP client (httplib's) on 127.0.0.1 and a free port: every
// endpoint, both request formats, the error paths with their exact status and message, two
// models from many threads, hot reload under load, batching, metrics, the access log,
// graceful shutdown, and the `sluice serve` program itself (SIGTERM).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

#include <nlohmann/json.hpp>

#include "serving/http_server.h"
#include "serving_test_util.h"

extern char** environ;

namespace sluice::serving {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using sluice::testing::save_half_plus;
using sluice::testing::save_mlp;

class ServingHttp : public sluice::testing::TempDirTest {
 protected:
  void SetUp() override {
    save_half_plus(path("half_plus_two/00000123"), 2.0f);
    save_half_plus(path("half_plus_three/00000123"), 3.0f, Shape{-1});  // TF Serving's documented request form
  }
  std::unique_ptr<Server> start(std::vector<ModelConfig> configs, ServerOptions o = {}) {
    o.port = 0;
    o.poll_seconds = 0;
    if (o.access_log == "-") o.access_log = path("access.log");
    auto s = std::make_unique<Server>(std::move(configs), o);
    s->bind();
    s->start();
    return s;
  }
  std::vector<ModelConfig> both() const {
    return {ModelConfig{"half_plus_two", path("half_plus_two"), {}, {{"stable", 123}}},
            ModelConfig{"half_plus_three", path("half_plus_three"), {}, {}}};
  }
};

struct Reply {
  int status = 0;
  std::string body;
};

Reply get(int port, const std::string& p) {
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Get(p.c_str());
  if (!r) return {-1, "transport error " + httplib::to_string(r.error())};
  return {r->status, r->body};
}
Reply post(int port, const std::string& p, const std::string& body) {
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Post(p.c_str(), body, "application/json");
  if (!r) return {-1, "transport error " + httplib::to_string(r.error())};
  return {r->status, r->body};
}
std::string err(const std::string& message) { return json{{"error", message}}.dump(); }
std::string norm(const std::string& body) { return json::parse(body).dump(); }

TEST_F(ServingHttp, ModelStatus) {
  auto s = start(both());
  const std::string available =
      R"({"model_version_status":[{"state":"AVAILABLE","status":{"error_code":"OK","error_message":""},"version":"123"}]})";
  Reply r = get(s->port(), "/v1/models/half_plus_two");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(norm(r.body), available);
  r = get(s->port(), "/v1/models/half_plus_two/versions/123");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(norm(r.body), available);
  r = get(s->port(), "/v1/models/half_plus_two/labels/stable");
  EXPECT_EQ(norm(r.body), available);
  r = get(s->port(), "/v1/models/half_plus_two/versions/7");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(norm(r.body), err("Could not find version 7 of model half_plus_two"));
  r = get(s->port(), "/v1/models/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(norm(r.body), err("Could not find any versions of model nope"));
  r = get(s->port(), "/v1/models/half_plus_two/labels/canary");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(norm(r.body), err("Unrecognized servable version label: canary"));
  r = get(s->port(), "/v1/models");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(norm(r.body), err("Missing model name in request."));
}

TEST_F(ServingHttp, MetadataMatchesTfServingsOwnResponse) {
  const std::string dir = sluice::testing::tf_serving_interop_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/interop/tf_serving is absent";
  std::ifstream in(dir + "/half_plus_two_model_metadata.json");
  const json oracle = json::parse(in);
  // TF Serving's test served half_plus_two under the name "default".
  auto s = start({ModelConfig{"default", path("half_plus_two"), {}, {}}});
  Reply r = get(s->port(), "/v1/models/default/metadata");
  ASSERT_EQ(r.status, 200) << r.body;
  const json got = json::parse(r.body);
  EXPECT_EQ(got["model_spec"], oracle["model_spec"]);
  const json& want_sigs = oracle["metadata"]["signature_def"]["signature_def"];
  const json& got_sigs = got["metadata"]["signature_def"]["signature_def"];
  // The numeric signatures, entry for entry. (The oracle's three tf.Example signatures take
  // DT_STRING inputs, which Sluice cannot build yet.)
  EXPECT_EQ(got_sigs["serving_default"], want_sigs["serving_default"]);
  EXPECT_EQ(got_sigs["regress_x2_to_y3"]["inputs"], want_sigs["regress_x2_to_y3"]["inputs"]);
  EXPECT_EQ(got_sigs["regress_x2_to_y3"]["outputs"], want_sigs["regress_x2_to_y3"]["outputs"]);
  EXPECT_EQ(got_sigs["regress_x2_to_y3"]["defaults"], want_sigs["regress_x2_to_y3"]["defaults"]);
  // Sluice bundles carry no method names: every signature is a predict signature.
  EXPECT_EQ(got_sigs["regress_x2_to_y3"]["method_name"], "tensorflow/serving/predict");
  EXPECT_EQ(got_sigs.size(), 2u);
  // Unknown model / version.
  r = get(s->port(), "/v1/models/nope/metadata");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(norm(r.body), err("Servable not found for request: Latest(nope)"));
  r = get(s->port(), "/v1/models/default/versions/5/metadata");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(norm(r.body), err("Servable not found for request: Specific(default, 5)"));
}

// TF Serving's own half_plus_three SavedModel, read in place through io::load_model.
TEST_F(ServingHttp, ServesTfServingsSavedModel) {
  const std::string dir = sluice::testing::tf_serving_interop_dir();
  if (dir.empty()) GTEST_SKIP() << "../shared/interop/tf_serving is absent";
  auto s = start({ModelConfig{"half_plus_three", dir + "/saved_model_half_plus_three", {}, {}}});
  const json st = json::parse(get(s->port(), "/v1/models/half_plus_three").body);
  EXPECT_EQ(st["model_version_status"][0]["version"], "123");  // folder 00000123
  EXPECT_EQ(st["model_version_status"][0]["state"], "AVAILABLE");
  const json md = json::parse(get(s->port(), "/v1/models/half_plus_three/metadata").body);
  const json& sig = md["metadata"]["signature_def"]["signature_def"]["serving_default"];
  EXPECT_EQ(sig["method_name"], "tensorflow/serving/predict");  // read from saved_model.pb
  EXPECT_EQ(sig["inputs"]["x"]["name"], "x:0");
  EXPECT_EQ(sig["outputs"]["y"]["name"], "y:0");
  // The TF importer gives this old graph's x the static shape [] (TF Serving never checks
  // feeds against it; Sluice's LoadedModel does), so feed one value at a time.
  for (const auto& io : std::vector<std::pair<std::string, std::string>>{{"1.0", "3.5"}, {"2.0", "4.0"}, {"5.0", "5.5"}}) {
    const Reply r = post(s->port(), "/v1/models/half_plus_three:predict", "{\"inputs\": " + io.first + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "{\"outputs\": " + io.second + "}");
  }
}

TEST_F(ServingHttp, PredictRowAndColumnar) {
  auto s = start(both());
  const int port = s->port();
  // TF Serving's documented half_plus_three example.
  Reply r = post(port, "/v1/models/half_plus_three:predict", R"({"instances": [1.0, 2.0, 5.0]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"predictions": [3.5, 4.0, 5.5]})");
  r = post(port, "/v1/models/half_plus_three/versions/123:predict", R"({"inputs": [1.0, 2.0, 5.0]})");
  EXPECT_EQ(r.body, R"({"outputs": [3.5, 4.0, 5.5]})");
  // half_plus_two's x is [-1,1] (its metadata): one-element rows.
  r = post(port, "/v1/models/half_plus_two:predict", R"({"signature_name": "serving_default", "instances": [[1.0], [2.0], [5.0]]})");
  EXPECT_EQ(r.body, R"({"predictions": [[2.5], [3.0], [4.5]]})");
  r = post(port, "/v1/models/half_plus_two/labels/stable:predict", R"({"instances": [{"x": [1.0]}, {"x": [3.0]}]})");
  EXPECT_EQ(r.body, R"({"predictions": [[2.5], [3.5]]})");
  r = post(port, "/v1/models/half_plus_two:predict", R"({"inputs": {"x": [[1.0], [2.0]]}})");
  EXPECT_EQ(r.body, R"({"outputs": [[2.5], [3.0]]})");
  r = post(port, "/v1/models/half_plus_two:predict", R"({"signature_name": "regress_x2_to_y3", "inputs": [[1.0]]})");
  EXPECT_EQ(r.body, R"({"outputs": [[3.5]]})");
  // Integers are accepted for float inputs (exactly representable).
  r = post(port, "/v1/models/half_plus_two:predict", R"({"instances": [[4]]})");
  EXPECT_EQ(r.body, R"({"predictions": [[4.0]]})");
}

TEST_F(ServingHttp, ErrorPathsHaveTfServingsStatusAndMessage) {
  ServerOptions o;
  o.max_body_bytes = 4096;
  o.api.max_json_depth = 16;
  auto s = start(both(), o);
  const int port = s->port();
  struct Case {
    std::string method, path, body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/models/nope:predict", R"({"instances": [1]})", 404, "Servable not found for request: Latest(nope)"},
      {"POST", "/v1/models/half_plus_two/versions/9:predict", R"({"instances": [[1]]})", 404,
       "Servable not found for request: Specific(half_plus_two, 9)"},
      {"POST", "/v1/models/half_plus_two/labels/canary:predict", R"({"instances": [[1]]})", 400,
       "Unrecognized servable version label: canary"},
      {"POST", "/v1/models/half_plus_two:predict", R"({"signature_name": "nope", "instances": [[1]]})", 400,
       "Serving signature name: \"nope\" not found in signature def"},
      {"POST", "/v1/models/half_plus_two:predict", R"({"inputs": {"z": [[1]]}})", 400,
       "Missing named input: x in 'inputs' object."},
      {"POST", "/v1/models/half_plus_two:predict", R"({"instances": [{"z": [1]}]})", 400,
       "Failed to process element: 0 key: z of 'instances' list. Error: Invalid argument: JSON object: does not "
       "have named input: z"},
      {"POST", "/v1/models/half_plus_two:predict", R"({"instances": [["a"]]})", 400,
       "Failed to process element: 0 of 'instances' list. Error: Invalid argument: JSON Value: \"a\" Type: String "
       "is not of expected type: float"},
      {"POST", "/v1/models/half_plus_two:predict", R"({"instances": [1.0, 2.0, 5.0]})", 400,
       "signature 'serving_default' input 'x' expects float32[?,1], got float32[3]"},
      {"POST", "/v1/models/half_plus_two:predict", R"({"instances": [[1, 2]]})", 400,
       "signature 'serving_default' input 'x' expects float32[?,1], got float32[1,2]"},
      {"POST", "/v1/models/half_plus_two:predict", R"({"instances": [[1]], "inputs": [[1]]})", 400,
       "JSON Value: {\"inputs\":[[1]],\"instances\":[[1]]} Not formatted correctly expecting only one of 'inputs' or "
       "'instances' keys to exist "},
      {"POST", "/v1/models/half_plus_two:predict", R"({"instance": [[1]]})", 400, "Missing 'inputs' or 'instances' key"},
      {"POST", "/v1/models/half_plus_two:predict", "", 400, "JSON Parse error: The document is empty"},
      {"POST", "/v1/models/half_plus_two:predict", "[" + std::string(20, '[') + std::string(21, ']'), 400,
       "JSON Parse error: nesting deeper than 16 levels"},
      {"POST", "/v1/models/half_plus_two:classify", R"({"examples": []})", 501,
       ":classify needs a classify signature fed serialized tf.Example protos (parsed in the graph by ParseExample), "
       "which Sluice does not have; use :predict"},
      {"POST", "/v1/models/half_plus_two/foo:predict", "{}", 400, "Malformed request: POST /v1/models/half_plus_two/foo:predict"},
      {"GET", "/v1/models/half_plus_two/versions/abc", "", 400, "Malformed request: GET /v1/models/half_plus_two/versions/abc"},
      {"GET", "/v1/models/half_plus_two/versions/99999999999999999999", "", 400,
       "Failed to convert version: 99999999999999999999 to numeric."},
      {"GET", "/elsewhere", "", 404, "Not found: GET /elsewhere"},
      {"POST", "/v1/models/half_plus_two:predict", "{\"instances\": [" + std::string(5000, ' ') + "[1]]}", 413,
       "Request body is larger than the limit of 4096 bytes"},
  };
  for (const Case& c : cases) {
    const Reply r = c.method == "GET" ? get(port, c.path) : post(port, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body.substr(0, 80) << " -> " << r.body;
    EXPECT_EQ(norm(r.body), err(c.message)) << c.method << " " << c.path;
  }
  // Malformed JSON: TF Serving's prefix and the offset.
  const Reply bad = post(port, "/v1/models/half_plus_two:predict", R"({"instances": [[1]],)");
  EXPECT_EQ(bad.status, 400);
  const std::string message = json::parse(bad.body)["error"];
  EXPECT_EQ(message.rfind("JSON Parse error: ", 0), 0u) << message;
  EXPECT_NE(message.find("at offset: 21"), std::string::npos) << message;
}

// The reference answer of `model_dir`'s serving_default for `x`, computed in this process.
std::string reference_body(const io::LoadedModel& model, const Tensor& x) {
  return write_predict_response(model.run("serving_default", {{"x", x}}), RequestFormat::row);
}

std::string instances_json(const Tensor& x) {
  std::string s = "{\"instances\": [";
  for (int64_t r = 0; r < x.dim(0); ++r) {
    s += r ? ", [" : "[";
    for (int64_t c = 0; c < x.dim(1); ++c) s += (c ? ", " : "") + format_float(x.data<float>()[r * x.dim(1) + c]);
    s += "]";
  }
  return s + "]}";
}

void two_models_many_threads(ServingHttp* self, Server& server, const std::string& dir_a, const std::string& dir_b) {
  const io::LoadedModel a = io::load_model(dir_a), b = io::load_model(dir_b);
  const int kThreads = 8, kPerThread = 40;
  std::atomic<int> failures{0}, checked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client cli("127.0.0.1", server.port());
      for (int i = 0; i < kPerThread; ++i) {
        const bool use_a = (t + i) % 2 == 0;
        const int64_t rows = 1 + (t * 3 + i) % 4;
        std::vector<float> v(static_cast<size_t>(rows * 4));
        for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<float>((t * 131 + i * 17 + static_cast<int>(k)) % 23) * 0.25f - 2.5f;
        const Tensor x = Tensor::from_vector<float>(v, {rows, 4});
        const std::string want = reference_body(use_a ? a : b, x);
        auto r = cli.Post(use_a ? "/v1/models/a:predict" : "/v1/models/b:predict", instances_json(x), "application/json");
        if (!r || r->status != 200 || r->body != want) ++failures;
        ++checked;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(checked.load(), kThreads * kPerThread);
  EXPECT_EQ(failures.load(), 0);
  (void)self;
}

TEST_F(ServingHttp, TwoModelsFromManyThreadsEachGetTheirOwnAnswer) {
  save_mlp(path("a/1"), 1);
  save_mlp(path("b/1"), 2);
  auto s = start({ModelConfig{"a", path("a"), {}, {}}, ModelConfig{"b", path("b"), {}, {}}});
  two_models_many_threads(this, *s, path("a/1"), path("b/1"));
}

TEST_F(ServingHttp, BatchedAnswersEqualUnbatchedOnes) {
  save_mlp(path("a/1"), 1);
  save_mlp(path("b/1"), 2);
  ServerOptions o;
  o.api.enable_batching = true;
  o.api.batching = BatchOptions{16, std::chrono::microseconds(2000)};
  auto s = start({ModelConfig{"a", path("a"), {}, {}}, ModelConfig{"b", path("b"), {}, {}}}, o);
  two_models_many_threads(this, *s, path("a/1"), path("b/1"));
  // Batches really formed: fewer runs than requests.
  auto* batchers = static_cast<const std::map<std::string, std::unique_ptr<Batcher>>*>(
      s->manager().find("a")->attachment.get());
  ASSERT_NE(batchers, nullptr);
  const Batcher& batcher = *batchers->at("serving_default");
  EXPECT_GT(batcher.rows_run(), 0);
  EXPECT_LT(batcher.batches_run(), 160);
}

TEST_F(ServingHttp, HotReloadUnderLoadFailsNoRequest) {
  save_half_plus(path("m/1"), 1.0f);
  auto s = start({ModelConfig{"m", path("m"), {}, {}}});
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, mixed{0};
  std::set<int> seen_versions;
  std::mutex seen_mutex;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      httplib::Client cli("127.0.0.1", s->port());
      while (!stop) {
        // y = 0.5 x + v: every row of one answer must come from the same version v.
        auto r = cli.Post("/v1/models/m:predict", R"({"instances": [[0.0], [2.0], [4.0]]})", "application/json");
        if (!r || r->status != 200) {
          ++failed;
          continue;
        }
        const json p = json::parse(r->body)["predictions"];
        const double v = p[0][0].get<double>();
        if (p[1][0].get<double>() != v + 1.0 || p[2][0].get<double>() != v + 2.0 || v != std::floor(v)) ++mixed;
        std::lock_guard<std::mutex> lock(seen_mutex);
        seen_versions.insert(static_cast<int>(v));
        ++ok;
      }
    });
  }
  // Publish versions 2..6, one every ~400 ms, polling as the server's poller would.
  for (int v = 2; v <= 6; ++v) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    save_half_plus(path("m/" + std::to_string(v)), static_cast<float>(v));
    s->manager().poll();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& th : clients) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(ok.load(), 50);
  EXPECT_GE(seen_versions.size(), 3u);  // answers moved with the versions
  EXPECT_EQ(s->manager().find("m")->version, 6);
  // The old versions are unloaded and say so.
  const json st = json::parse(get(s->port(), "/v1/models/m").body);
  ASSERT_EQ(st["model_version_status"].size(), 6u);
  EXPECT_EQ(st["model_version_status"][0]["version"], "6");
  EXPECT_EQ(st["model_version_status"][0]["state"], "AVAILABLE");
  EXPECT_EQ(st["model_version_status"][1]["state"], "END");
}

TEST_F(ServingHttp, FailedVersionIsReportedOverHttp) {
  save_half_plus(path("m/1"), 1.0f);
  save_half_plus(path("m/2"), 2.0f);
  fs::remove(path("m/2/variables.ckpt"));
  auto s = start({ModelConfig{"m", path("m"), {}, {}}});
  EXPECT_EQ(post(s->port(), "/v1/models/m:predict", R"({"instances": [[0.0]]})").body, R"({"predictions": [[1.0]]})");
  const json st = json::parse(get(s->port(), "/v1/models/m/versions/2").body);
  EXPECT_EQ(st["model_version_status"][0]["state"], "END");
  EXPECT_EQ(st["model_version_status"][0]["status"]["error_code"], "NOT_FOUND");
  EXPECT_NE(st["model_version_status"][0]["status"]["error_message"].get<std::string>().find("variables.ckpt"),
            std::string::npos);
}

TEST_F(ServingHttp, MetricsAccessLogAndStatusPage) {
  auto s = start(both());
  const int port = s->port();
  for (int i = 0; i < 3; ++i) post(port, "/v1/models/half_plus_two:predict", R"({"instances": [[1.0]]})");
  post(port, "/v1/models/half_plus_two:predict", R"({"instances": [["bad"]]})");
  get(port, "/v1/models/half_plus_two/metadata");
  // sluice_http_requests_total counts a request once its answer has gone out, so the last
  // one may land a moment after the client has it: poll (bounded) until it shows.
  Reply m;
  for (int attempt = 0; attempt < 100; ++attempt) {
    m = get(port, "/monitoring/prometheus/metrics");
    if (m.body.find(R"(sluice_http_requests_total{code="200"} 4)") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(m.status, 200);
  for (const char* line :
       {R"(:tensorflow:serving:request_count{model_name="half_plus_two",API="predict",signature_name="serving_default",status="OK"} 3)",
        R"(:tensorflow:serving:request_count{model_name="half_plus_two",API="predict",signature_name="serving_default",status="INVALID_ARGUMENT"} 1)",
        R"(:tensorflow:serving:request_count{model_name="half_plus_two",API="metadata",signature_name="",status="OK"} 1)",
        R"(:tensorflow:serving:request_latency_count{model_name="half_plus_two",API="predict",entrypoint="REST",signature_name="serving_default"} 4)",
        "# TYPE :tensorflow:serving:request_latency histogram", R"(sluice_http_requests_total{code="200"} 4)"})
    EXPECT_NE(m.body.find(line), std::string::npos) << line << "\n" << m.body;

  const Reply page = get(port, "/");
  EXPECT_EQ(page.status, 200);
  for (const char* text : {"half_plus_two", "half_plus_three", "AVAILABLE", "regress_x2_to_y3", "DT_FLOAT", "[?,1]",
                           "5 requests, 1 errors", "<form"})
    EXPECT_NE(page.body.find(text), std::string::npos) << text;

  s->shutdown();
  std::ifstream in(path("access.log"));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  // One line per request: 3 + 1 predicts, the metadata, the status page, and the metrics polls.
  int metrics_lines = 0, other_lines = 0;
  for (const std::string& l : lines) {
    if (l.find("\"GET /monitoring/prometheus/metrics HTTP/1.1\" 200 ") != std::string::npos) ++metrics_lines;
    else if (l.find("\"GET /v1/models/half_plus_two/metadata HTTP/1.1\" 200 ") != std::string::npos ||
             l.find("\"GET / HTTP/1.1\" 200 ") != std::string::npos) ++other_lines;
  }
  EXPECT_GE(metrics_lines, 1);
  EXPECT_EQ(other_lines, 2);
  EXPECT_EQ(lines.size(), static_cast<size_t>(4 + other_lines + metrics_lines));
  const std::regex format(R"(127\.0\.0\.1:\d+ \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "POST /v1/models/half_plus_two:predict HTTP/1\.1" 200 \d+ \d+\.\d{3}ms)");
  // Lines are written after each answer goes out, by the connection's thread: count, not order.
  int ok_lines = 0, bad_lines = 0;
  for (const std::string& l : lines) {
    ok_lines += std::regex_match(l, format);
    bad_lines += l.find("\"POST /v1/models/half_plus_two:predict HTTP/1.1\" 400 ") != std::string::npos;
  }
  EXPECT_EQ(ok_lines, 3) << lines[0];
  EXPECT_EQ(bad_lines, 1);
}

TEST_F(ServingHttp, ShutdownLetsInFlightRequestsFinish) {
  ServerOptions o;
  o.api.enable_batching = true;
  o.api.batching = BatchOptions{1000, std::chrono::microseconds(2000000)};  // the request waits 2 s in its batch
  auto s = start(both(), o);
  const int port = s->port();
  Reply r;
  std::thread client([&] { r = post(port, "/v1/models/half_plus_two:predict", R"({"instances": [[2.0]]})"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the request is in flight
  s->shutdown();
  client.join();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"predictions": [[3.0]]})");
  EXPECT_EQ(get(port, "/v1/models/half_plus_two").status, -1);  // no longer listening
}

// `sluice serve` as users run it: prints the address, answers, exits 0 on SIGTERM.
TEST_F(ServingHttp, ServeCommandAnswersAndStopsOnSigterm) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string base = path("half_plus_three"), log = path("serve_access.log");
  std::vector<std::string> args = {SLUICE_CLI_PATH, "serve", "--model_name=half_plus_three", "--model_base_path=" + base,
                                   "--port=0", "--access_log=" + log, "--enable_batching"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, SLUICE_CLI_PATH, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string line;
  char ch;
  while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(out[0]);
  std::smatch m;
  const bool found = std::regex_search(line, m, std::regex(R"(^Exporting HTTP/REST API at:127\.0\.0\.1:(\d+) \.\.\.$)"));
  if (!found) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << "unexpected first line: " << line;
  }
  const int port = std::stoi(m[1]);
  const Reply r = post(port, "/v1/models/half_plus_three:predict", R"({"instances": [1.0, 2.0, 5.0]})");
  EXPECT_EQ(r.body, R"({"predictions": [3.5, 4.0, 5.5]})");
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream in(log);
  std::string first;
  std::getline(in, first);
  EXPECT_NE(first.find("\"POST /v1/models/half_plus_three:predict HTTP/1.1\" 200"), std::string::npos) << first;
}

}  // namespace
}  // namespace sluice::serving
