// Keras HDF5 import against an independent reference: tests/scripts/keras_reference.py reads
// each staged file with h5py and runs its config in NumPy (float64); Sluice's outputs on the
// same random inputs must agree to float32 precision.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sluice/sluice.h>

#include "keras_test_util.h"

using namespace sluice;

namespace {

void check_against_numpy(const std::string& rel, int64_t time_steps = 7) {
  const std::string path = ::sluice::testing::interop_file("keras/" + rel);
  if (path.empty()) GTEST_SKIP() << "Keras file 'keras/" << rel << "' not found (../shared/interop)";
  if (!sluice::testing::have_h5py()) GTEST_SKIP() << "/usr/bin/python3 with h5py not found (apt-get install python3-h5py)";
  io::LoadedModel lm = io::load_model(path);
  const io::Signature& sig = lm.signature("serving_default");
  std::mt19937 rng(1234);
  std::map<std::string, Tensor> feeds;
  std::vector<std::pair<std::string, Tensor>> npz;
  for (const auto& kv : sig.inputs) {
    std::vector<int64_t> dims = kv.second.shape().dims();
    dims[0] = 3;
    for (auto& d : dims)
      if (d < 0) d = time_steps;
    Tensor t(DType::f32, Shape(dims));
    const bool ids = kv.second.dtype() != DType::f32;  // Embedding token ids
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::uniform_int_distribution<int> id(0, 4);
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = ids ? static_cast<float>(id(rng)) : u(rng);
    feeds[kv.first] = ids ? t.cast(kv.second.dtype()) : t;
    npz.emplace_back(kv.first, t);
  }
  sluice::testing::ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  io::write_npz(dir.path + "/in.npz", npz);
  const std::string script = sluice::testing::source_dir() + "/tests/scripts/keras_reference.py";
  ASSERT_EQ(sluice::testing::run_python(script + " '" + path + "' " + dir.path + "/in.npz " + dir.path + "/out.npz",
                                dir.path + "/err.txt"),
            0)
      << sluice::testing::read_text(dir.path + "/err.txt");
  const auto want = io::read_npz(dir.path + "/out.npz");
  const std::map<std::string, Tensor> got = lm.run("serving_default", feeds);
  // The reference lists outputs in config order; Sluice's keys are the layer names, so
  // rebuild the order from the model config through load_keras_model.
  models::Model m = io::load_keras_model(path);
  std::vector<Tensor> xs;
  for (const Output& in : m.inputs()) xs.push_back(feeds.at(in.op().name()));
  const std::vector<Tensor> ys = m.predict(xs);
  ASSERT_EQ(ys.size(), want.size());
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < ys.size(); ++o) {
    const Tensor w = want[o].second.cast(DType::f64);
    ASSERT_EQ(ys[o].num_elements(), w.num_elements()) << "output " << o;
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      const double ref = w.data<double>()[i];
      EXPECT_NEAR(ys[o].data<float>()[i], ref, 2e-5 + 2e-5 * std::fabs(ref)) << rel << " output " << o << " element " << i;
    }
  }
}

}  // namespace

TEST(KerasH5Reference, EmbeddingConv1dMaxPooling1d) { check_against_numpy("dl4j_embedding_conv1d/issue_9349.hdf5"); }
TEST(KerasH5Reference, LstmZooBidirectionalAndRecurrentActivations) { check_against_numpy("fdeep_lstm_zoo/lstm.h5"); }
TEST(KerasH5Reference, MnistCnnWithReluAndAveragePooling) { check_against_numpy("keras2circom_mnist/model.h5"); }
TEST(KerasH5Reference, ResNet8) { check_against_numpy("mlperf_tiny_resnet8/pretrainedResnet.h5"); }
TEST(KerasH5Reference, CnnBatchNorm) { check_against_numpy("dl4j_cnn_batch_norm/cnn_batch_norm.h5"); }
TEST(KerasH5Reference, GruInitialState) { check_against_numpy("fdeep_gru_initial_state/temp_stateless.h5"); }
