// The predict request parser's two paths (serving/json_fast.cc and the full parser in
// json_tensor.cc): what the fast path takes and declines, and the replay of
// fuzz_serving_json's seeds and regression inputs through the fuzz target's own checks
// (tests/fuzz/fuzz_serving_json.cc, built here with GCC and without sanitizers).
#include <gtest/gtest.h>

#define SLUICE_FUZZ_REPLAY
#include "fuzz/fuzz_serving_json.cc"
#include "fuzz_replay.h"

namespace sluice::serving {
namespace {

SpecMap one(DType d) { return {{"x", TensorSpec{d, Shape{-1}}}}; }

std::optional<PredictRequest> fast(const std::string& body, const SpecMap& specs, int max_depth = 100) {
  return parse_predict_request_fast(body, max_depth, [&](const std::string& sig) {
    if (!sig.empty() && sig != "serving_default") throw InvalidArgument("no signature " + sig);
    return specs;
  });
}

TEST(ServingJsonFastPath, ReadsNumericBodiesExactly) {
  auto r = fast(R"({"instances": [1.0, 2, -0, 5.5e1]})", one(DType::f32));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->format, RequestFormat::row);
  EXPECT_EQ(r->rows, 4);
  const Tensor& x = r->inputs.at("x");
  EXPECT_EQ(x.shape(), Shape({4}));
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1.0f, 2.0f, 0.0f, 55.0f}));
  EXPECT_FALSE(std::signbit(x.to_vector<float>()[2]));  // integer -0 is 0, as the full parser reads it

  r = fast(" {\"inputs\": [[1, 2], [3, 4]], \"signature_name\": \"serving_default\"}\n",
           {{"x", TensorSpec{DType::i64, Shape{-1, 2}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->format, RequestFormat::columnar);
  EXPECT_EQ(r->signature_name, "serving_default");
  EXPECT_EQ(r->rows, 2);
  EXPECT_EQ(r->inputs.at("x").shape(), Shape({2, 2}));
  EXPECT_EQ(r->inputs.at("x").to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4}));

  r = fast(R"({"inputs": 0.1})", one(DType::f64));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->inputs.at("x").rank(), 0);
  EXPECT_EQ(r->inputs.at("x").to_vector<double>()[0], 0.1);
  EXPECT_EQ(r->rows, 0);
}

TEST(ServingJsonFastPath, DeclinesWhatItDoesNotHandleAndTheFullParserGivesTheAnswer) {
  const std::vector<std::pair<std::string, SpecMap>> declined = {
      {R"({"instances": ["a"]})", one(DType::f32)},                  // string value
      {R"({"instances": [1]})", one(DType::string)},                 // string dtype
      {R"({"instances": [1]})", one(DType::u8)},                     // dtype not on the fast path
      {R"({"instances": [[1], [2, 3]]})", one(DType::f32)},          // ragged
      {R"({"instances": [[1], 2]})", one(DType::f32)},               // scalar at the wrong level
      {R"({"instances": []})", one(DType::f32)},                     // empty
      {R"({"instances": [1], "inputs": [1]})", one(DType::f32)},     // both keys
      {R"({"instances": [1], "instances": [2]})", one(DType::f32)},  // duplicate key
      {R"({"instances": [1], "other": 1})", one(DType::f32)},        // unknown key
      {R"({"instances": [1.5]})", one(DType::i32)},                  // fraction for an int
      {R"({"instances": [2147483648]})", one(DType::i32)},           // out of int32
      {R"({"instances": [16777217]})", one(DType::f32)},             // not exact in float
      {R"({"instances": [1e39]})", one(DType::f32)},                 // beyond float's range
      {R"({"instances": [1e400]})", one(DType::f64)},                // beyond double's range
      {R"({"instances": [01]})", one(DType::f32)},                   // not JSON
      {R"({"instances": [1.]})", one(DType::f32)},                   // not JSON
      {R"({"instances": [1,]})", one(DType::f32)},                   // not JSON
      {R"({"instances": [1]} x)", one(DType::f32)},                  // trailing bytes
      {R"({"instances": [NaN]})", one(DType::f32)},                  // not JSON
      {R"({"sig\u006eature_name": "s", "instances": [1]})", one(DType::f32)},  // escape in a key
      {R"({"instances": [[[1]]]})", one(DType::f32)},                // deeper than max_depth 3
  };
  for (const auto& c : declined) {
    SCOPED_TRACE(c.first);
    EXPECT_FALSE(fast(c.first, c.second, 3));
  }
  // Several inputs: the full parser's business.
  EXPECT_FALSE(fast(R"({"instances": [1]})", {{"a", TensorSpec{DType::f32, Shape{-1}}},
                                             {"b", TensorSpec{DType::f32, Shape{-1}}}}));
  // An unknown signature is the lookup's error, from either path.
  EXPECT_THROW(fast(R"({"signature_name": "nope", "instances": [1]})", one(DType::f32)), InvalidArgument);
}

size_t replay(const std::string& kind) {
  return sluice::testing::replay_fuzz_inputs(kind, "fuzz_serving_json", fuzz::serving_json::run);
}

TEST(ServingJsonFuzz, SeedsAndRegressionsReplayCleanly) {
  EXPECT_GT(replay("corpus"), 10u) << "tests/fuzz/corpus/fuzz_serving_json missing";
  replay("regressions");
}

}  // namespace
}  // namespace sluice::serving
