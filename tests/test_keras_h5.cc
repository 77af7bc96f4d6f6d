// Keras HDF5 import against the real Keras files in ../shared/interop/keras: every file loads
// and runs; where the source project committed Keras' own results, Sluice matches them to
// float32 precision. (The other files are checked against an independent NumPy reference in
// test_keras_h5_reference.cc; saving in test_keras_h5_save.cc.)
#include <gtest/gtest.h>

#include <cmath>
#include <sluice/sluice.h>

#include "io/keras/hdf5.h"
#include "io/keras/keras_h5.h"
#include "keras_test_util.h"

using namespace sluice;

namespace {

// Relative float32 tolerance: a few ulps of accumulated rounding over these small models.
void expect_close(const Tensor& got, const std::vector<float>& want, double rtol = 1e-5, double atol = 1e-6) {
  ASSERT_EQ(got.num_elements(), static_cast<int64_t>(want.size()));
  const float* g = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(g[i], want[i], atol + rtol * std::fabs(want[i])) << "element " << i;
}

// A dataset of the dl4j "inputs_and_outputs" files, read through Sluice's HDF5 layer.
Tensor read_h5(const std::string& path, const std::string& name, const std::vector<int64_t>& dims) {
  io::h5::File f = io::h5::File::open(path);
  return io::h5::read_dataset(f, f.id(), "", name, dims, DType::f32);
}

}  // namespace

TEST(KerasH5, CnnBatchNormMatchesKerasPredictions) {
  KERAS_FILE_OR_SKIP(path, "dl4j_cnn_batch_norm/cnn_batch_norm.h5");
  const std::string dir = path.substr(0, path.rfind('/'));
  models::Model m = io::load_keras_model(path);
  ASSERT_EQ(m.inputs().size(), 1u);
  EXPECT_EQ(m.inputs()[0].op().name(), "conv2d_1_input");
  const Tensor x = io::read_npy(dir + "/input.npy").cast(DType::f32);
  const Tensor want = io::read_npy(dir + "/predictions.npy");
  ASSERT_EQ(want.shape(), Shape({5, 1}));
  const Tensor y = m.predict(x);
  EXPECT_EQ(y.shape(), Shape({5, 1}));
  expect_close(y, want.to_vector<float>());
  // The README's quoted values, as a second anchor.
  expect_close(y, {-0.0520611f, 0.04986075f, 0.16297522f, 0.15389983f, 0.15537278f});
}

TEST(KerasH5, SimpleRnnMatchesKerasPredictions) {
  KERAS_FILE_OR_SKIP(path, "dl4j_simple_rnn/simple_rnn_tf_keras_2_model.h5");
  const std::string io_path = path.substr(0, path.rfind('/')) + "/simple_rnn_tf_keras_2_inputs_and_outputs.h5";
  models::Model m = io::load_keras_model(path);
  const Tensor x = read_h5(io_path, "inputs/simple_rnn_1_input", {25, 1, 1});
  const Tensor want = read_h5(io_path, "predictions/dense_1", {25, 1});
  expect_close(m.predict(x), want.to_vector<float>());
}

TEST(KerasH5, HardSigmoidLstmMatchesKerasPredictions) {
  KERAS_FILE_OR_SKIP(path, "dl4j_simple_flatten_lstm/simple_flatten_lstm_tf_keras_2_model.h5");
  const std::string io_path =
      path.substr(0, path.rfind('/')) + "/simple_flatten_lstm_tf_keras_2_inputs_and_outputs.h5";
  models::Model m = io::load_keras_model(path);
  const Tensor x = read_h5(io_path, "inputs/lstm_1_input", {25, 1, 1});
  const Tensor want = read_h5(io_path, "predictions/dense_1", {25, 1});
  expect_close(m.predict(x), want.to_vector<float>());
}

TEST(KerasH5, GruWithInitialStateMatchesKeras) {
  KERAS_FILE_OR_SKIP(path, "fdeep_gru_initial_state/temp_stateless.h5");
  models::Model m = io::load_keras_model(path);
  ASSERT_EQ(m.inputs().size(), 2u);
  const Tensor x = Tensor::from_vector<float>({1, 0, 0}, {1, 3, 1});
  const Tensor h0 = Tensor::from_vector<float>({10}, {1, 1});
  const std::vector<Tensor> y = m.predict({x, h0});
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].shape(), Shape({1, 3, 1}));
  expect_close(y[0], {-7.676248f, -7.5144324f, -7.3429837f});
}

TEST(KerasH5, EveryStagedFileLoadsAndRuns) {
  const std::string dir = ::sluice::testing::interop_dir();
  if (dir.empty() || !std::filesystem::is_directory(dir + "/keras"))
    GTEST_SKIP() << "../shared/interop/keras not found (next to the source tree, or set SLUICE_INTEROP)";
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/keras")) {
    const std::string p = e.path().string();
    if (p.find("inputs_and_outputs") != std::string::npos) continue;  // data, not a model
    if (e.path().extension() != ".h5" && e.path().extension() != ".hdf5") continue;
    SCOPED_TRACE(p);
    io::LoadedModel lm = io::load_model(p);
    const io::Signature& sig = lm.signature("serving_default");
    std::map<std::string, Tensor> feeds;
    for (const auto& kv : sig.inputs) {
      std::vector<int64_t> dims = kv.second.shape().dims();
      dims[0] = 2;
      for (auto& d : dims)
        if (d < 0) d = 5;  // a free time axis
      feeds[kv.first] = Tensor::filled(kv.second.dtype(), Shape(dims), 1.0);
    }
    const std::map<std::string, Tensor> out = lm.run("serving_default", feeds);
    EXPECT_EQ(out.size(), sig.outputs.size());
    for (const auto& kv : out) {
      EXPECT_EQ(kv.second.dim(0), 2) << kv.first;
      for (int64_t i = 0; i < kv.second.num_elements(); ++i)
        ASSERT_TRUE(std::isfinite(kv.second.data<float>()[i])) << kv.first;
    }
    ++files;
  }
  EXPECT_EQ(files, 8);
}

TEST(KerasH5, SignatureKeysFollowTensorFlowsNaming) {
  KERAS_FILE_OR_SKIP(path, "fdeep_lstm_zoo/lstm.h5");
  io::LoadedModel lm = io::load_model(path);
  const io::Signature& sig = lm.signature("serving_default");
  std::vector<std::string> in, out;
  for (const auto& kv : sig.inputs) in.push_back(kv.first);
  for (const auto& kv : sig.outputs) out.push_back(kv.first);
  EXPECT_EQ(in, (std::vector<std::string>{"input_1", "input_2", "input_3", "input_4", "input_5"}));
  EXPECT_EQ(out.size(), 17u);
  for (const char* k : {"lstm_3", "lstm_3_1", "lstm_3_2", "lstm_10_2", "lstm_15_1", "bidirectional_6"})
    EXPECT_EQ(sig.outputs.count(k), 1u) << k;
  // lstm_15 returns sequences (a free time axis) and its two states.
  EXPECT_EQ(sig.outputs.at("lstm_15").shape(), Shape({-1, -1, 12}));
  EXPECT_EQ(sig.outputs.at("lstm_15_1").shape(), Shape({-1, 12}));
  EXPECT_EQ(io::keras_output_keys({"a", "b", "a", "a"}), (std::vector<std::string>{"a", "b", "a_1", "a_2"}));
}

TEST(KerasH5, DocsListExactlyTheLayerTable) {
  const std::string readme = sluice::testing::read_text(sluice::testing::source_dir() + "/docs/keras_h5.md");
  const size_t b = readme.find("Layer classes (`io::keras_layer_classes()`");
  ASSERT_NE(b, std::string::npos) << "docs/keras_h5.md lacks the Keras layer list";
  const size_t e = readme.find("Options:", b);
  ASSERT_NE(e, std::string::npos);
  std::vector<std::string> listed;
  // The backticked names after the first colon of the paragraph.
  for (size_t p = readme.find("):", b); p < e;) {
    const size_t o = readme.find('`', p);
    if (o == std::string::npos || o >= e) break;
    const size_t c = readme.find('`', o + 1);
    listed.push_back(readme.substr(o + 1, c - o - 1));
    p = c + 1;
  }
  EXPECT_EQ(listed, io::keras_layer_classes());
}
