// Saving Keras HDF5: Sluice -> .h5 -> Sluice is bit-identical, and Debian's python3-h5py
// finds the layout and attribute types Keras writes (tests/scripts/check_keras_h5.py),
// for staged Keras files, a model fine-tuned in Sluice and a model built in Sluice.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <sluice/sluice.h>

#include "io/keras/hdf5.h"
#include "keras_test_util.h"

using namespace sluice;

namespace {

std::vector<Tensor> random_inputs(const models::Model& m, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<Tensor> xs;
  for (const Output& in : m.inputs()) {
    std::vector<int64_t> dims = in.shape().dims();
    dims[0] = batch;
    for (auto& d : dims)
      if (d < 0) d = 6;
    Tensor t(DType::f32, Shape(dims));
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = in.dtype() == DType::f32 ? u(rng) : (rng() % 5);
    xs.push_back(in.dtype() == DType::f32 ? t : t.cast(in.dtype()));
  }
  return xs;
}

void expect_bit_identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "output " << i;
    EXPECT_EQ(std::memcmp(a[i].raw_data(), b[i].raw_data(), a[i].num_bytes()), 0) << "output " << i;
  }
}

// Runs the h5py checker; with `original`, the written file must equal it too.
void check_with_h5py(const std::string& written, const std::string& original = "") {
  if (!sluice::testing::have_h5py()) {
    std::printf("note: python3-h5py missing, layout not checked\n");
    return;
  }
  const std::string err = written + ".err";
  const std::string script = sluice::testing::source_dir() + "/tests/scripts/check_keras_h5.py";
  const int rc = std::system(("/usr/bin/python3 " + script + " '" + written + "' " +
                              (original.empty() ? "" : "'" + original + "'") + " >" + err + " 2>&1")
                                 .c_str());
  EXPECT_EQ(rc, 0) << sluice::testing::read_text(err);
}

void round_trip(const std::string& rel) {
  KERAS_FILE_OR_SKIP(path, rel);
  sluice::testing::ScratchDir dir;
  models::Model m = io::load_keras_model(path);
  const std::string out = dir.path + "/m.h5";
  m.save(out);
  check_with_h5py(out, path);
  models::Model back = models::load_model(out);
  const std::vector<Tensor> xs = random_inputs(m, 3, 7);
  expect_bit_identical(m.predict(xs), back.predict(xs));
}

}  // namespace

TEST(KerasH5Save, RoundTripCnnBatchNorm) { round_trip("dl4j_cnn_batch_norm/cnn_batch_norm.h5"); }
TEST(KerasH5Save, RoundTripLstmZoo) { round_trip("fdeep_lstm_zoo/lstm.h5"); }
TEST(KerasH5Save, RoundTripResNet8) { round_trip("mlperf_tiny_resnet8/pretrainedResnet.h5"); }
TEST(KerasH5Save, RoundTripEmbeddingConv1d) { round_trip("dl4j_embedding_conv1d/issue_9349.hdf5"); }
TEST(KerasH5Save, RoundTripGruInitialState) { round_trip("fdeep_gru_initial_state/temp_stateless.h5"); }

TEST(KerasH5Save, FineTunedModelSavesItsNewWeights) {
  KERAS_FILE_OR_SKIP(path, "keras2circom_mnist/model.h5");
  sluice::testing::ScratchDir dir;
  models::Model m = io::load_keras_model(path);
  const std::vector<Tensor> x = random_inputs(m, 16, 3);
  Tensor y(DType::f32, {16, 10});
  for (int64_t i = 0; i < y.num_elements(); ++i) y.data<float>()[i] = (i % 10 == (i / 10) % 10) ? 1.f : 0.f;
  const std::vector<Tensor> before = m.predict(x);
  ASSERT_TRUE(m.compiled());  // Adam and the loss restored from the file's training_config
  m.set_learning_rate(1e-2);
  models::FitOptions opt;
  opt.epochs = 2;
  opt.verbose = 0;
  opt.batch_size = 8;
  m.fit(x, {y}, opt);
  const std::vector<Tensor> after = m.predict(x);
  ASSERT_NE(std::memcmp(before[0].raw_data(), after[0].raw_data(), before[0].num_bytes()), 0);
  const std::string out = dir.path + "/tuned.h5";
  m.save(out);
  check_with_h5py(out);
  models::Model back = io::load_keras_model(out);
  expect_bit_identical(after, back.predict(x));
  // The fine-tuned weights, not the file's: the original still gives the old outputs.
  expect_bit_identical(before, io::load_keras_model(path).predict(x));
}

TEST(KerasH5Save, ModelBuiltInSluice) {
  sluice::testing::ScratchDir dir;
  models::Sequential m({layers::Dense(8, Activation::relu), layers::Dropout(0.25), layers::Dense(3, Activation::softmax)});
  m.build({5});
  const std::string out = dir.path + "/mlp.h5";
  m.save(out);
  check_with_h5py(out);
  models::Model back = models::load_model(out);
  const std::vector<Tensor> xs = random_inputs(m, 4, 11);
  expect_bit_identical(m.predict(xs), back.predict(xs));
  // The same layers (the functional model lists its input too).
  std::set<std::string> names;
  for (const auto& l : back.layers()) names.insert(l.name + ":" + l.type);
  for (const auto& l : m.layers()) EXPECT_EQ(names.count(l.name + ":" + l.type), 1u) << l.name;
}

TEST(KerasH5Save, LayersWithoutAGeneratedConfigAreOneError) {
  sluice::testing::ScratchDir dir;
  // (TimeDistributed is generated over the classes it loads over: not over a Bidirectional.)
  models::Sequential m({layers::TimeDistributed(std::make_shared<layers::Bidirectional>(layers::LSTM(2))),
                        layers::Flatten(), layers::Dense(1)});
  m.build({3, 4, 2});
  try {
    m.save(dir.path + "/cnn.h5");
    FAIL() << "expected Unimplemented";
  } catch (const Unimplemented& e) {
    EXPECT_NE(std::string(e.what()).find("TimeDistributed (time_distributed): over Bidirectional"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/cnn.h5"));
}

// ---- training state: training_config compiles, optimizer_weights fill the slots ----

namespace {
Tensor file_dataset(const std::string& path, const std::string& name, const std::vector<int64_t>& dims,
                    DType dtype = DType::f32) {
  io::h5::File f = io::h5::File::open(path);
  return io::h5::read_dataset(f, f.id(), "", name, dims, dtype);
}
}  // namespace

TEST(KerasH5Training, AdamStateOfTfKeras2IsRestored) {
  KERAS_FILE_OR_SKIP(path, "dl4j_embedding_conv1d/issue_9349.hdf5");
  models::Model m = io::load_keras_model(path);
  ASSERT_TRUE(m.compiled());
  EXPECT_NEAR(m.learning_rate(), 0.0011449999874457717, 1e-9);  // the file's optimizer_config
  const Tensor iter = file_dataset(path, "optimizer_weights/Adam/iter:0", {}, DType::i64);
  EXPECT_GT(iter.scalar<int64_t>(), 0);
  EXPECT_EQ(m.iterations(), iter.scalar<int64_t>());
  int64_t nonzero = 0;
  for (const char* w : {"conv1d/kernel", "dense/bias", "embedding/embeddings"}) {
    const Output v = m.graph().tensor(std::string(w) + ":0");
    const Tensor m_file = file_dataset(path, "optimizer_weights/Adam/" + std::string(w) + "/m:0", v.shape().dims());
    const Tensor v_file = file_dataset(path, "optimizer_weights/Adam/" + std::string(w) + "/v:0", v.shape().dims());
    EXPECT_TRUE(m.session().variable_value(std::string(w) + "/Adam").equals(m_file)) << w;
    EXPECT_TRUE(m.session().variable_value(std::string(w) + "/Adam_1").equals(v_file)) << w;
    nonzero += v_file.num_elements() - std::count(v_file.data<float>(), v_file.data<float>() + v_file.num_elements(), 0.f);
  }
  EXPECT_GT(nonzero, 0);  // real trained state, not zeros
  // Training resumes from there.
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 0, 1, 2, 2, 2, 2, 2, 2}, {2, 6}).cast(DType::u16);
  Tensor y = Tensor::from_vector<float>({1, 0, 0, 1}, {2, 2});
  m.train_on_batch({x}, {y});
  EXPECT_EQ(m.iterations(), iter.scalar<int64_t>() + 1);
}

TEST(KerasH5Training, Keras21RmspropAccumulatorsAreRestored) {
  KERAS_FILE_OR_SKIP(path, "dl4j_simple_rnn/simple_rnn_tf_keras_2_model.h5");
  models::Model m = io::load_keras_model(path);
  ASSERT_TRUE(m.compiled());
  EXPECT_EQ(m.metrics_names(), std::vector<std::string>{"loss"});
  const Tensor acc = file_dataset(path, "optimizer_weights/training/RMSprop/Variable_1:0", {50, 50});
  EXPECT_TRUE(m.session().variable_value("simple_rnn_1/recurrent_kernel/RMSprop").equals(acc));
}

TEST(KerasH5Training, CompileWithoutOptimizerWeights) {
  KERAS_FILE_OR_SKIP(path, "dl4j_cnn_batch_norm/cnn_batch_norm.h5");
  models::Model m = io::load_keras_model(path);
  ASSERT_TRUE(m.compiled());  // Adam(lr 0.001) and mse from training_config
  EXPECT_NEAR(m.learning_rate(), 0.001, 1e-9);
  EXPECT_EQ(m.iterations(), 0);
  KERAS_FILE_OR_SKIP(gru, "fdeep_gru_initial_state/temp_stateless.h5");
  EXPECT_FALSE(io::load_keras_model(gru).compiled());  // saved with include_optimizer=False
}
