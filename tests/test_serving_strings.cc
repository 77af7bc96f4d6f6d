// String tensors through the serving API: {"b64": ...} values and plain JSON strings in both
// request formats, string outputs (base64 for names ending in "_bytes", as TF Serving), the
// in-graph image pipeline (web-safe base64 text -> decode_base64 -> decode_png -> resize)
// over real HTTP, and the error paths (bad base64, corrupt PNG, wrong JSON type) with their
// exact status and message.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "serving/http_server.h"
#include "serving/json_tensor.h"
#include "serving_test_util.h"

namespace sluice::serving {
namespace {
using json = nlohmann::json;

// ---- JSON <-> string tensors, no sockets ----

SpecMap one(const std::string& name, DType d, const Shape& s) { return {{name, TensorSpec{d, s}}}; }

TEST(ServingStrings, B64AndPlainStringsInBothFormats) {
  auto specs = [](const std::string&) { return one("s", DType::string, Shape{-1}); };
  PredictRequest row = parse_predict_request(R"({"instances": [{"b64": "AP8="}, "caf\u00e9", {"b64": "-_8"}]})", 10, specs);
  ASSERT_EQ(row.inputs.at("s").shape(), (Shape{3}));
  EXPECT_EQ(row.inputs.at("s").strings(),
            (std::vector<std::string>{std::string("\0\xff", 2), "caf\xc3\xa9", std::string("\xfb\xff", 2)}));
  PredictRequest col = parse_predict_request(R"({"inputs": {"s": [[{"b64": "Zm9v"}], ["bar"]]}})", 10, specs);
  EXPECT_EQ(col.inputs.at("s").shape(), (Shape{2, 1}));
  EXPECT_EQ(col.inputs.at("s").strings(), (std::vector<std::string>{"foo", "bar"}));
  PredictRequest scalar = parse_predict_request(R"({"inputs": {"b64": "Zm9v"}})", 10, specs);
  EXPECT_EQ(scalar.inputs.at("s").shape(), Shape{});
  EXPECT_EQ(scalar.inputs.at("s").string_at(0), "foo");
}

TEST(ServingStrings, StringErrorsCarryTfServingMessages) {
  auto specs = [](const std::string&) { return one("s", DType::string, Shape{-1}); };
  auto message = [&](const std::string& body) {
    try {
      parse_predict_request(body, 10, specs);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(R"({"instances": [{"b64": "Zm9v!"}]})"),
            "Failed to process element: 0 of 'instances' list. Error: Invalid argument: Unable to base64 decode "
            "(Invalid character found in base64 (byte 4: 0x21; the web-safe alphabet uses '-' and '_'))");
  EXPECT_EQ(message(R"({"instances": [1]})"),
            "Failed to process element: 0 of 'instances' list. Error: Invalid argument: JSON Value: 1 Type: Number "
            "is not of expected type: string");
  EXPECT_EQ(message(R"({"inputs": [{"b64": 3}]})"), "JSON Value: {\"b64\":3} Type: Object is not of expected type: string");
}

TEST(ServingStrings, BytesOutputsAreBase64) {
  std::map<std::string, Tensor> out = {
      {"image_bytes", Tensor::from_strings({std::string("\x89PNG", 4), "ab"}, Shape{2})},
      {"label", Tensor::from_strings({"cat", "dog"}, Shape{2})}};
  EXPECT_EQ(write_predict_response(out, RequestFormat::row),
            R"({"predictions": [{"image_bytes": {"b64": "iVBORw=="}, "label": "cat"}, )"
            R"({"image_bytes": {"b64": "YWI="}, "label": "dog"}]})");
  EXPECT_EQ(write_predict_response(out, RequestFormat::columnar),
            R"({"outputs": {"image_bytes": [{"b64": "iVBORw=="}, {"b64": "YWI="}], "label": ["cat", "dog"]}})");
}

// ---- over HTTP ----

// An image model: `image_bytes` (PNG bytes, string [-1]) -> decode_png gray -> `mean` of
// each image (float32 [-1]) and `echo_bytes` (the input back). And the seed-004 pipeline on
// web-safe base64 text: `image_b64` -> decode_base64 -> decode_png -> resize 4x4 -> `pixels`.
void save_image_models(const std::string& bytes_dir, const std::string& b64_dir) {
  std::filesystem::create_directories(std::filesystem::path(bytes_dir).parent_path());
  std::filesystem::create_directories(std::filesystem::path(b64_dir).parent_path());
  {
    Graph g;
    Scope s(g);
    Output in = ops::placeholder(s.named("image_bytes"), DType::string, Shape{-1});
    Output img = ops::cast(s, ops::decode_png(s.named("decode"), in, 1), DType::f32);
    Output mean = ops::mean(s.named("mean"), img, std::vector<int64_t>{1, 2, 3});
    Output echo = ops::identity(s.named("echo"), in);
    Session sess(g);
    io::save_model(bytes_dir, sess, {{"serving_default", {{{"image_bytes", in}}, {{"mean", mean}, {"echo_bytes", echo}}}}});
  }
  Graph g;
  Scope s(g);
  Output in = ops::placeholder(s.named("image_b64"), DType::string, Shape{-1});
  Output img = ops::decode_png(s.named("decode_png"), ops::decode_base64(s.named("unbase64"), in), 1);
  Output pixels = ops::reshape(s.named("pixels"), ops::resize_bilinear(s, img, std::vector<int64_t>{4, 4}),
                               std::vector<int64_t>{-1, 16});
  Session sess(g);
  io::save_model(b64_dir, sess, {{"serving_default", {{{"image_b64", in}}, {{"pixels", pixels}}}}});
}

// A gray PNG of h x w pixels with value v + x (made with our own encode_png).
std::string gray_png(int64_t h, int64_t w, int v) {
  Tensor px(DType::u8, Shape{h, w, 1});
  for (int64_t i = 0; i < h * w; ++i) px.data<uint8_t>()[i] = static_cast<uint8_t>(v + i % w);
  Graph g;
  Scope s(g);
  Output png = ops::encode_png(s, ops::constant(s, px));
  Session sess(g);
  return sess.run({}, {png})[0].string_at(0);
}

class ServingStringsHttp : public sluice::testing::TempDirTest {
 protected:
  void SetUp() override {
    save_image_models(path("img/1"), path("pipe/1"));
    ServerOptions o;
    o.port = 0;
    o.poll_seconds = 0;
    o.access_log = "off";
    server_ = std::make_unique<Server>(
        std::vector<ModelConfig>{ModelConfig{"img", path("img"), {}, {}}, ModelConfig{"pipe", path("pipe"), {}, {}}}, o);
    server_->bind();
    server_->start();
  }
  std::pair<int, std::string> post(const std::string& p, const std::string& body) {
    httplib::Client cli("127.0.0.1", server_->port());
    auto r = cli.Post(p.c_str(), body, "application/json");
    if (!r) return {-1, "transport error"};
    return {r->status, r->body};
  }
  std::unique_ptr<Server> server_;
};

TEST_F(ServingStringsHttp, B64ImagesRowAndColumnar) {
  const std::string a = gray_png(2, 3, 10), b = gray_png(2, 3, 20);  // means 11 and 21
  const std::string a64 = base64_encode(a, false, true), b64 = base64_encode(b, false, true);
  auto [status, body] = post("/v1/models/img:predict",
                             R"({"instances": [{"image_bytes": {"b64": ")" + a64 + R"("}}, {"image_bytes": {"b64": ")" +
                                 b64 + R"("}}]})");
  ASSERT_EQ(status, 200) << body;
  json r = json::parse(body);
  EXPECT_EQ(r["predictions"][0]["mean"], 11.0);
  EXPECT_EQ(r["predictions"][1]["mean"], 21.0);
  EXPECT_EQ(r["predictions"][0]["echo_bytes"]["b64"], a64);
  EXPECT_EQ(r["predictions"][1]["echo_bytes"]["b64"], b64);
  auto [s2, body2] = post("/v1/models/img:predict", R"({"inputs": {"image_bytes": [{"b64": ")" + b64 + R"("}]}})");
  ASSERT_EQ(s2, 200) << body2;
  json c = json::parse(body2);
  EXPECT_EQ(c["outputs"]["mean"], json::parse("[21.0]"));
  EXPECT_EQ(c["outputs"]["echo_bytes"][0]["b64"], b64);
}

TEST_F(ServingStringsHttp, Seed004PipelineOnWebSafeBase64Text) {
  // The 2x2 image [[10, 11], [10, 11]] resized to 4x4 (bilinear, TF 1.x legacy: source
  // x = 0, 0.5, 1, 1.5 clamped): every row is [10 10.5 11 11].
  const std::string text = base64_encode(gray_png(2, 2, 10), true, false);
  auto [status, body] = post("/v1/models/pipe:predict", R"({"instances": [")" + text + R"("]})");
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(json::parse(body)["predictions"][0],
            json::parse("[10.0, 10.5, 11.0, 11.0, 10.0, 10.5, 11.0, 11.0, 10.0, 10.5, 11.0, 11.0, 10.0, 10.5, 11.0, 11.0]"));
}

TEST_F(ServingStringsHttp, BadBase64AndCorruptPngHaveExactStatusAndMessage) {
  auto [s1, b1] = post("/v1/models/img:predict", R"({"instances": [{"b64": "iVBOR*"}]})");
  EXPECT_EQ(s1, 400);
  EXPECT_EQ(json::parse(b1)["error"],
            "Failed to process element: 0 of 'instances' list. Error: Invalid argument: Unable to base64 decode "
            "(Invalid character found in base64 (byte 5: 0x2a; the web-safe alphabet uses '-' and '_'))");
  // Valid base64 of bytes that are not a PNG: the decode node's error, 400.
  auto [s2, b2] = post("/v1/models/img:predict", R"({"instances": [{"b64": "aGVsbG8gd29ybGQ="}]})");
  EXPECT_EQ(s2, 400);
  EXPECT_EQ(json::parse(b2)["error"],
            "node 'decode' (DecodePng): image 0: Invalid PNG data: the 11-byte input does not start with the PNG "
            "signature");
  // A truncated PNG.
  const std::string cut = gray_png(8, 8, 0).substr(0, 40);
  auto [s3, b3] = post("/v1/models/img:predict", R"({"instances": [{"b64": ")" + base64_encode(cut, false, true) + R"("}]})");
  EXPECT_EQ(s3, 400);
  EXPECT_EQ(json::parse(b3)["error"].get<std::string>().rfind("node 'decode' (DecodePng): image 0: Invalid PNG data (", 0), 0u)
      << b3;
  // In-graph base64 of text that is not base64.
  auto [s4, b4] = post("/v1/models/pipe:predict", R"({"instances": ["not base64!"]})");
  EXPECT_EQ(s4, 400);
  EXPECT_EQ(json::parse(b4)["error"],
            "node 'unbase64' (DecodeBase64): Invalid character found in base64 (byte 3: 0x20; the web-safe alphabet "
            "uses '-' and '_')");
  // A number where a string goes.
  auto [s5, b5] = post("/v1/models/pipe:predict", R"({"inputs": {"image_b64": [1]}})");
  EXPECT_EQ(s5, 400);
  EXPECT_EQ(json::parse(b5)["error"], "JSON Value: 1 Type: Number is not of expected type: string");
}

TEST_F(ServingStringsHttp, MetadataSaysDtString) {
  httplib::Client cli("127.0.0.1", server_->port());
  auto r = cli.Get("/v1/models/pipe/metadata");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json m = json::parse(r->body);
  const json& in = m["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["image_b64"];
  EXPECT_EQ(in["dtype"], "DT_STRING");
}

}  // namespace
}  // namespace sluice::serving
