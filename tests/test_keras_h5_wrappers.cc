// Keras files with layer wrappers: data_format="channels_first" convolutions, poolings, Flatten
// and BatchNormalization(axis=1), TimeDistributed, and a Sequential model used as a layer of a
// functional one. No TensorFlow here: tests/scripts/make_keras_h5_fixture.py writes each file
// in tf.keras 2.4's layout with h5py (random weights), and tests/scripts/keras_reference.py
// (NumPy, float64, no shared code) gives the outputs Sluice must match to float32 precision.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <sluice/sluice.h>

#include "keras_test_util.h"

using namespace sluice;

namespace {

// Writes fixture `kind` into `dir` (make_keras_h5_fixture.py) and loads it.
models::Model load_fixture(const std::string& kind, const std::string& dir) {
  const std::string path = dir + "/" + kind + ".h5";
  const int rc = sluice::testing::run_python(
      sluice::testing::source_dir() + "/tests/scripts/make_keras_h5_fixture.py '" + path + "' " + kind, dir + "/err.txt");
  if (rc != 0) throw Internal("fixture " + kind + ": " + sluice::testing::read_text(dir + "/err.txt"));
  return io::load_keras_model(path);
}

void check_fixture(const std::string& kind) {
  if (!sluice::testing::have_h5py()) GTEST_SKIP() << "/usr/bin/python3 with h5py not found (apt-get install python3-h5py)";
  sluice::testing::ScratchDir dir;
  const std::string scripts = sluice::testing::source_dir() + "/tests/scripts/";
  const std::string path = dir.path + "/" + kind + ".h5";
  models::Model m = load_fixture(kind, dir.path);
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<Tensor> xs;
  std::vector<std::pair<std::string, Tensor>> npz;
  for (const Output& in : m.inputs()) {
    std::vector<int64_t> dims = in.shape().dims();
    dims[0] = 3;
    Tensor t(DType::f32, Shape(dims));
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = u(rng);
    xs.push_back(t);
    npz.emplace_back(in.op().name(), t);
  }
  io::write_npz(dir.path + "/in.npz", npz);
  ASSERT_EQ(sluice::testing::run_python(scripts + "keras_reference.py '" + path + "' " + dir.path + "/in.npz " +
                                            dir.path + "/out.npz",
                                        dir.path + "/err.txt"),
            0)
      << sluice::testing::read_text(dir.path + "/err.txt");
  const auto want = io::read_npz(dir.path + "/out.npz");
  const std::vector<Tensor> ys = m.predict(xs);
  ASSERT_EQ(ys.size(), want.size());
  for (size_t o = 0; o < ys.size(); ++o) {
    const Tensor w = want[o].second.cast(DType::f64);
    ASSERT_EQ(ys[o].shape().dims(), w.shape().dims()) << kind << " output " << o;
    double worst = 0;
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      const double ref = w.data<double>()[i];
      EXPECT_NEAR(ys[o].data<float>()[i], ref, 2e-5 + 2e-5 * std::fabs(ref)) << kind << " output " << o << " element " << i;
      worst = std::max(worst, std::fabs(ref));
    }
    EXPECT_GT(worst, 1e-3) << kind << " output " << o << " is all zeros: the comparison would prove nothing";
  }
  // And the file saves back (its own config) and reloads bit-identically.
  m.save(dir.path + "/again.h5");
  models::Model back = models::load_model(dir.path + "/again.h5");
  const std::vector<Tensor> again = back.predict(xs);
  for (size_t o = 0; o < ys.size(); ++o) EXPECT_TRUE(again[o].equals(ys[o])) << kind << " output " << o;
}

}  // namespace

TEST(KerasH5Wrappers, ChannelsFirstConvolutionsPoolingsFlattenAndBatchNorm) { check_fixture("channels_first"); }
TEST(KerasH5Wrappers, TimeDistributedConvFlattenDense) { check_fixture("time_distributed"); }
TEST(KerasH5Wrappers, NestedSequentialModelAsALayer) { check_fixture("nested"); }

// Options inside wrappers reach the layers that own the weights: a frozen TimeDistributed
// freezes its Dense (whose L2 kernel penalty is in the graph), a nested Sequential's frozen
// Dense stays frozen (with its NonNeg constraint) while its other Dense trains.
TEST(KerasH5Wrappers, OptionsInsideTimeDistributedAndNestedSequential) {
  check_fixture("wrapped_options");
  if (!sluice::testing::have_h5py()) return;
  sluice::testing::ScratchDir dir;
  models::Model m = load_fixture("wrapped_options", dir.path);
  std::map<std::string, std::vector<bool>> trainable;
  for (const models::LayerInfo& l : m.layers()) trainable[l.name] = l.trainable;
  EXPECT_EQ(trainable["time_distributed"], (std::vector<bool>{false, false}));
  EXPECT_EQ(trainable["encoder"], (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(m.graph().collection(layers::kRegularizationLosses).size(), 1u);
  EXPECT_EQ(m.graph().collection(layers::kWeightConstraints).size(), 1u);
  const std::vector<Tensor> before = m.get_weights();
  m.compile(models::sgd(0.5), "mse");
  const Tensor x = Tensor::filled(DType::f32, {2, 3, 5}, 0.5f);
  m.train_on_batch({x}, {Tensor::filled(DType::f32, {2, 3}, 3.f)});
  const std::vector<Tensor> after = m.get_weights();
  ASSERT_EQ(before.size(), 6u);
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(after[i].equals(before[i])) << "frozen weight " << i << " moved";
  EXPECT_FALSE(after[4].equals(before[4])) << "the trainable Dense did not train";
}

// A Functional model used as a layer (Dense, BatchNormalization, Dense), whose weights the file
// lists trainable first (BN's moving statistics last): matched by name, the outputs agree
// with the NumPy reference, and the file saves back and reloads bit-identically.
// A Functional model used as a layer with three inputs and two outputs: an inner LSTM's states
// read by tensor index (one feeding an inner Add, one an output the outer model reads as the
// nested model's output 1).
TEST(KerasH5Wrappers, NestedFunctionalModelWithSeveralInputsAndOutputs) { check_fixture("nested_functional_multi"); }

TEST(KerasH5Wrappers, NestedFunctionalModelAsALayer) {
  check_fixture("nested_functional");
  if (!sluice::testing::have_h5py()) return;
  // summary() names each nested model's kind.
  sluice::testing::ScratchDir dir;
  std::set<std::string> types;
  // The models are named: a range-for over a temporary's layers() would outlive the model.
  const models::Model functional = load_fixture("nested_functional", dir.path);
  const models::Model sequential = load_fixture("nested", dir.path);
  for (const models::LayerInfo& l : functional.layers()) types.insert(l.type);
  for (const models::LayerInfo& l : sequential.layers()) types.insert(l.type);
  EXPECT_EQ(types.count("Functional"), 1u);
  EXPECT_EQ(types.count("Sequential"), 1u);
}
