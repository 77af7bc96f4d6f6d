// Serving a Keras HDF5 file: a version folder holding one .h5 file is loaded like an ONNX
// one, and TF Serving's REST predict API answers with Keras' own results.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "keras_test_util.h"
#include "serving/model_manager.h"
#include "serving/rest_api.h"

using namespace sluice;
using namespace sluice::serving;

TEST(ServingKeras, VersionFolderWithAnH5FileAnswersPredict) {
  KERAS_FILE_OR_SKIP(path, "dl4j_cnn_batch_norm/cnn_batch_norm.h5");
  sluice::testing::ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  // A symlink to the staged file (read in place, never copied).
  std::filesystem::create_directories(dir.path + "/cnn/1");
  std::filesystem::create_symlink(path, dir.path + "/cnn/1/model.h5");
  ModelManager mm({ModelConfig{"cnn", dir.path + "/cnn", {}, {}}});
  mm.poll();
  Metrics metrics;
  RestApi api(mm, metrics, ApiOptions{});
  const Tensor x = io::read_npy(path.substr(0, path.rfind('/')) + "/input.npy").cast(DType::f32);
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t n = 0; n < 2; ++n) {
    nlohmann::json img = nlohmann::json::array();
    for (int64_t h = 0; h < 10; ++h) {
      nlohmann::json row = nlohmann::json::array();
      for (int64_t w = 0; w < 10; ++w) {
        nlohmann::json px = nlohmann::json::array();
        for (int64_t c = 0; c < 3; ++c) px.push_back(x.data<float>()[((n * 10 + h) * 10 + w) * 3 + c]);
        row.push_back(px);
      }
      img.push_back(row);
    }
    rows.push_back(img);
  }
  const ApiResponse r = api.handle("POST", "/v1/models/cnn:predict", nlohmann::json{{"instances", rows}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto preds = nlohmann::json::parse(r.body)["predictions"];
  ASSERT_EQ(preds.size(), 2u);
  // Keras' own predictions (predictions.npy) for the first two images.
  EXPECT_NEAR(preds[0][0].get<double>(), -0.0520611, 1e-6);
  EXPECT_NEAR(preds[1][0].get<double>(), 0.04986075, 1e-6);
}
