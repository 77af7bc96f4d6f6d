// Saving models built in Sluice as Keras HDF5: the model_config is generated from the graph for
// every layer of the model API Keras can express. Each model here trains a step (so batch
// norm's moving statistics and every weight are non-trivial), is saved, loaded back and must
// give bit-identical outputs; Debian's python3-h5py checks the layout, the attribute types and
// each layer's Keras config keys and weight shapes (tests/scripts/check_keras_h5_layers.py).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sluice/sluice.h>

#include "keras_test_util.h"

using namespace sluice;

namespace {

Tensor random_tensor(const Output& in, int64_t batch, uint32_t seed, int64_t id_range = 0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<int64_t> dims = in.shape().dims();
  dims[0] = batch;
  Tensor t(DType::f32, Shape(dims));
  for (int64_t i = 0; i < t.num_elements(); ++i)
    t.data<float>()[i] = id_range ? static_cast<float>(rng() % id_range) : u(rng);
  return in.dtype() == DType::f32 ? t : t.cast(in.dtype());
}

void expect_bit_identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "output " << i;
    EXPECT_EQ(std::memcmp(a[i].raw_data(), b[i].raw_data(), a[i].num_bytes()), 0) << "output " << i;
  }
}

void check_layers_with_h5py(const std::string& written, const std::string& classes) {
  if (!sluice::testing::have_h5py()) {
    std::printf("note: python3-h5py missing, layout not checked\n");
    return;
  }
  const std::string err = written + ".err";
  const std::string dir = sluice::testing::source_dir() + "/tests/scripts/";
  const int rc = std::system(("/usr/bin/python3 " + dir + "check_keras_h5.py '" + written + "' >" + err +
                              " 2>&1 && /usr/bin/python3 " + dir + "check_keras_h5_layers.py '" + written + "' " +
                              classes + " >>" + err + " 2>&1")
                                 .c_str());
  EXPECT_EQ(rc, 0) << sluice::testing::read_text(err);
}

// Trains one step, saves, loads back (Sluice) and compares; the h5py checks see `classes`.
// With `resume`, one more step of each must agree too (the loaded model's optimizer slots come
// from the file's optimizer_weights, whose names are Keras' weight names).
void round_trip(models::Model& m, const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                const std::string& classes, bool resume = false) {
  m.compile(models::adam(0.01), "mse");
  m.train_on_batch(x, y);
  sluice::testing::ScratchDir dir;
  const std::string out = dir.path + "/m.h5";
  m.save(out);
  if (std::getenv("KEEP_H5")) std::filesystem::copy_file(out, std::getenv("KEEP_H5"), std::filesystem::copy_options::overwrite_existing);
  check_layers_with_h5py(out, classes);
  models::Model back = models::load_model(out);
  expect_bit_identical(m.predict(x), back.predict(x));
  EXPECT_EQ(back.count_params(), m.count_params());
  if (!resume) return;
  ASSERT_TRUE(back.compiled());
  m.train_on_batch(x, y);
  back.train_on_batch(x, y);
  const std::vector<Tensor> wa = m.get_weights(), wb = back.get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i)
    for (int64_t k = 0; k < wa[i].num_elements(); ++k)
      ASSERT_NEAR(wa[i].data<float>()[k], wb[i].data<float>()[k], 1e-6) << "weight " << i << "[" << k << "]";
}

std::vector<Tensor> targets_for(models::Model& m, const std::vector<Tensor>& x) {
  std::vector<Tensor> y = m.predict(x);
  for (Tensor& t : y)
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = 0.5f * std::sin(static_cast<float>(i));
  return y;
}

}  // namespace

TEST(KerasH5Generate, ConvolutionalLayers) {
  models::Sequential m({layers::Conv2D(3, {3, 3}, {1, 1}, Padding::same, Activation::relu),
                        layers::BatchNormalization(-1, 0.9, 1e-2),
                        layers::MaxPooling2D(),
                        layers::ZeroPadding2D({1, 0, 2, 1}),
                        layers::UpSampling2D({2, 1}),
                        layers::Conv2D(4, {2, 2}, {1, 1}, Padding::valid, Activation::tanh, false, "", {1, 2}),
                        layers::AveragePooling2D({2, 2}, {1, 1}, Padding::same),
                        layers::ReLU(0.8, 0.1, 0.05),
                        layers::LayerNormalization(1e-4),
                        layers::Permute({2, 1, 3}),
                        layers::Reshape({-1, 4}),
                        layers::Conv1D(3, 2, 2, Padding::same, Activation::sigmoid, true, "", 1),
                        layers::MaxPooling1D(2, 1, Padding::same),
                        layers::AveragePooling1D(2),
                        layers::GlobalMaxPooling1D(),
                        layers::NamedActivation("hard_sigmoid"),
                        layers::Dropout(0.2),
                        layers::RepeatVector(2),
                        layers::GlobalAveragePooling1D(),
                        layers::Dense(5, Activation::softmax)});
  m.build({8, 8, 2});
  const std::vector<Tensor> x = {random_tensor(m.inputs()[0], 4, 1)};
  round_trip(m, x, targets_for(m, x),
             "Conv2D BatchNormalization MaxPooling2D ZeroPadding2D UpSampling2D AveragePooling2D ReLU "
             "LayerNormalization Permute Reshape Conv1D MaxPooling1D AveragePooling1D GlobalMaxPooling1D "
             "Activation Dropout RepeatVector GlobalAveragePooling1D Dense");
}

TEST(KerasH5Generate, TransposedDepthwiseAndSeparableConvolutions) {
  models::Sequential m({layers::Conv2DTranspose(3, {3, 2}, {2, 2}, Padding::same, Activation::relu),
                        layers::DepthwiseConv2D({2, 2}, {1, 2}, Padding::valid, 2, Activation::tanh),
                        layers::SeparableConv2D(4, {3, 3}, {1, 1}, Padding::same, 1, Activation::sigmoid, false),
                        layers::Conv2DTranspose(2, {3, 3}, {2, 1}, Padding::valid),
                        layers::Flatten(), layers::Dense(3)});
  m.build({4, 5, 2});
  const std::vector<Tensor> x = {random_tensor(m.inputs()[0], 3, 8)};
  round_trip(m, x, targets_for(m, x), "Conv2DTranspose DepthwiseConv2D SeparableConv2D");
}

TEST(KerasH5Generate, GlobalPooling2D) {
  Graph g;
  Scope root(g);
  const Output x = ops::placeholder(root.named("image"), DType::f32, Shape({-1, 5, 5, 2}));
  layers::Conv2D conv(3, {2, 2});
  const Output c = conv(root, x);
  layers::GlobalAveragePooling2D gap;
  layers::GlobalMaxPooling2D gmp;
  layers::Concatenate cat;
  layers::Activation act(Activation::linear);
  const Output y = act(root, cat(root, {gap(root, c), gmp(root, c)}));
  models::Model m({x}, {y});
  const std::vector<Tensor> xs = {random_tensor(x, 3, 2)};
  round_trip(m, xs, targets_for(m, xs), "GlobalAveragePooling2D GlobalMaxPooling2D Concatenate Activation");
}

TEST(KerasH5Generate, RecurrentLayersWithAMask) {
  layers::RecurrentConfig lc;
  lc.return_sequences = true;
  lc.recurrent_activation = ops::RnnActivation::hard_sigmoid();
  models::Sequential m({layers::Embedding(12, 4, true),
                        layers::Bidirectional(layers::LSTM(3, lc), layers::MergeMode::concat),
                        layers::GRU(4, ops::RnnActivation::tanh(), ops::RnnActivation::sigmoid(), true, true, true,
                                    false, true),
                        layers::SimpleRNN(3, ops::RnnActivation::relu()),
                        layers::Dense(2)});
  m.build({6}, DType::i32);
  Tensor ids = random_tensor(m.inputs()[0], 5, 3, 12);
  for (int64_t t = 3; t < 6; ++t) ids.data<int32_t>()[t] = 0;  // row 0 padded after step 3
  const std::vector<Tensor> x = {ids};
  round_trip(m, x, targets_for(m, x), "Embedding Bidirectional GRU SimpleRNN Dense");
}

TEST(KerasH5Generate, RecurrentLayersWithoutAMask) {
  models::Sequential m({layers::Embedding(9, 3),
                        layers::Conv1D(4, 3, 1, Padding::same, Activation::relu),
                        layers::GRU(3, ops::RnnActivation::tanh(), ops::RnnActivation::hard_sigmoid(), true, false,
                                    true),
                        layers::Bidirectional(layers::GRU(2, ops::RnnActivation::tanh(), ops::RnnActivation::sigmoid(),
                                                          false, true, true),
                                              layers::MergeMode::ave),
                        layers::Bidirectional(layers::SimpleRNN(2, ops::RnnActivation::tanh(), true, true),
                                              layers::MergeMode::mul),
                        layers::Bidirectional(layers::LSTM(2), layers::MergeMode::sum)});
  m.build({7}, DType::i32);
  const std::vector<Tensor> x = {random_tensor(m.inputs()[0], 3, 4, 9)};
  round_trip(m, x, targets_for(m, x), "Embedding Conv1D GRU Bidirectional");
}

TEST(KerasH5Generate, FunctionalMergesStatesAndSeveralOutputs) {
  Graph g;
  Scope root(g);
  const Output seq = ops::placeholder(root.named("seq"), DType::f32, Shape({-1, 5, 3}));
  const Output vec = ops::placeholder(root.named("vec"), DType::f32, Shape({-1, 4}));
  layers::LSTM encoder(4, false, true, "encoder");
  const std::vector<Output> enc = encoder.call_with_state(root, seq);  // {out, h, c}
  layers::Dense h0(4, Activation::tanh, true, "h0");
  layers::GRU decoder(4, ops::RnnActivation::tanh(), ops::RnnActivation::sigmoid(), true, true, true, true, false,
                      "decoder");
  const std::vector<Output> dec = decoder.call_with_state(root, seq, {h0(root, vec)});  // {seq, h}
  layers::GlobalAveragePooling1D pool;
  layers::Add add;
  layers::Multiply mul;
  layers::Average avg;
  layers::Concatenate cat(1);
  const Output a = add(root, {enc[0], enc[2], dec[1]});
  const Output b = mul(root, {a, pool(root, dec[0]), a});
  const Output c = avg(root, {b, enc[1]});
  layers::Dense head(3, Activation::sigmoid, false, "head");
  const Output y = head(root, cat(root, {c, vec}));
  models::Model m({seq, vec}, {y, enc[2], dec[1]}, "two_inputs");
  const std::vector<Tensor> x = {random_tensor(seq, 4, 5), random_tensor(vec, 4, 6)};
  round_trip(m, x, targets_for(m, x), "LSTM GRU Dense Add Multiply Average Concatenate GlobalAveragePooling1D");
}

TEST(KerasH5Generate, TimeDistributedOverConvolutionNormalizationAndPooling) {
  using std::make_shared;
  models::Sequential m({layers::TimeDistributed(make_shared<layers::Conv2D>(3, std::vector<int64_t>{2, 2},
                                                                            std::vector<int64_t>{1, 1}, Padding::same,
                                                                            Activation::relu)),
                        layers::TimeDistributed(make_shared<layers::BatchNormalization>(-1, 0.9, 1e-2)),
                        layers::TimeDistributed(make_shared<layers::MaxPooling2D>()),
                        layers::TimeDistributed(make_shared<layers::DepthwiseConv2D>(
                            std::vector<int64_t>{2, 2}, std::vector<int64_t>{1, 1}, Padding::valid, 2)),
                        layers::TimeDistributed(make_shared<layers::Flatten>()),
                        layers::TimeDistributed(make_shared<layers::Dense>(4, Activation::tanh)),
                        layers::LSTM(3)});
  m.build({3, 6, 6, 2});
  const std::vector<Tensor> x = {random_tensor(m.inputs()[0], 4, 11)};
  round_trip(m, x, targets_for(m, x),
             "TimeDistributed LSTM time_distributed:trainable=true", true);
}

TEST(KerasH5Generate, TimeDistributedOverEmbeddingAndRecurrentLayers) {
  using std::make_shared;
  layers::RecurrentConfig seq;
  seq.return_sequences = true;
  models::Sequential m({layers::TimeDistributed(make_shared<layers::Embedding>(10, 3)),
                        layers::TimeDistributed(make_shared<layers::GRU>(4, seq)),
                        layers::TimeDistributed(make_shared<layers::SimpleRNN>(3)),
                        layers::LSTM(2)});
  m.build({4, 5}, DType::i32);
  const std::vector<Tensor> x = {random_tensor(m.inputs()[0], 3, 12, 10)};
  round_trip(m, x, targets_for(m, x), "TimeDistributed LSTM", true);
}

TEST(KerasH5Generate, SharedMergeAndRecurrentLayersHaveOneInboundNodePerCall) {
  Graph g;
  Scope root(g);
  const Output a = ops::placeholder(root.named("a"), DType::f32, Shape({-1, 5, 3}));
  const Output b = ops::placeholder(root.named("b"), DType::f32, Shape({-1, 5, 3}));
  layers::LSTM lstm(4, false, false, "lstm");  // called on both sequences
  layers::RecurrentConfig seq;
  seq.return_sequences = true;
  seq.name = "gru";
  layers::GRU gru(3, seq);
  layers::Bidirectional bidi(layers::SimpleRNN(2), layers::MergeMode::sum, "bidi");
  layers::GlobalAveragePooling1D pool;
  layers::Add add;
  layers::Concatenate cat;
  layers::Multiply mul;
  const Output ha = lstm(root, a), hb = lstm(root, b);
  const Output ga = pool(root, gru(root, a)), gb = pool(root, gru(root, b));
  const Output s1 = add(root, {ha, hb}), s2 = add(root, {hb, ha, hb});
  const Output c1 = cat(root, {s1, ga}), c2 = cat(root, {gb, s2});
  const Output p = mul(root, {c1, c2});
  const Output q = mul(root, {c2, c2, c1});
  layers::Dense head(2, Activation::linear, true, "head");
  const Output y = head(root, cat(root, {p, q, bidi(root, a), bidi(root, b)}));
  models::Model m({a, b}, {y}, "shared");
  const std::vector<Tensor> x = {random_tensor(a, 3, 13), random_tensor(b, 3, 14)};
  round_trip(m, x, targets_for(m, x),
             R"(LSTM GRU Bidirectional Add Concatenate Multiply 'lstm#inbound_nodes=[[["a",0,0]],[["b",0,0]]]' )"
             R"('add#inbound_nodes=[[["lstm",0,0],["lstm",1,0]],[["lstm",1,0],["lstm",0,0],["lstm",1,0]]]' )"
             R"('multiply#inbound_nodes=[[["concatenate",0,0],["concatenate",1,0]],)"
             R"([["concatenate",1,0],["concatenate",1,0],["concatenate",0,0]]]' )"
             R"('concatenate#inbound_nodes=[[["add",0,0],["global_average_pooling1d",0,0]],)"
             R"([["global_average_pooling1d",1,0],["add",1,0]],)"
             R"([["multiply",0,0],["multiply",1,0],["bidi",0,0],["bidi",1,0]]]' gru:return_sequences=true)");
}

TEST(KerasH5Generate, LayersKerasCannotExpressAreOneUnimplementedError) {
  models::Sequential m({layers::Conv2D(2, {3, 3}), layers::Conv2DTranspose(2, {1, 1}, {2, 2}),
                        layers::TimeDistributed(std::make_shared<layers::Dense>(3)), layers::Flatten(),
                        layers::Dense(1)});
  m.build({6, 6, 1});
  sluice::testing::ScratchDir dir;
  try {
    m.save(dir.path + "/m.h5");
    FAIL() << "expected Unimplemented";
  } catch (const Unimplemented& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Conv2DTranspose (conv2d_transpose)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("TimeDistributed (time_distributed)"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Conv2D (conv2d)"), std::string::npos) << msg;  // that one is fine
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/m.h5"));
}

// ---- training state: N steps, save, load, M steps equals N + M steps ----

namespace {

models::Sequential small_classifier() {
  return models::Sequential({layers::Dense(6, Activation::relu), layers::BatchNormalization(),
                             layers::Dense(3, Activation::softmax)});
}

void resume_matches_uninterrupted(const models::OptimizerConfig& opt, const std::string& keras_class) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Tensor x(DType::f32, {8, 4}), y(DType::f32, {8, 3});
  for (int64_t i = 0; i < x.num_elements(); ++i) x.data<float>()[i] = u(rng);
  for (int64_t i = 0; i < y.num_elements(); ++i) y.data<float>()[i] = (i % 3 == (i / 3) % 3) ? 1.f : 0.f;
  models::Sequential a = small_classifier(), b = small_classifier();
  a.build({4});
  b.build({4});
  b.set_weights(a.get_weights());
  a.compile(opt, "categorical_crossentropy", {"accuracy"});
  b.compile(opt, "categorical_crossentropy", {"accuracy"});
  const int n = 3, m = 4;
  for (int i = 0; i < n + m; ++i) a.train_on_batch({x}, {y});  // uninterrupted
  for (int i = 0; i < n; ++i) b.train_on_batch({x}, {y});
  sluice::testing::ScratchDir dir;
  const std::string path = dir.path + "/ckpt.h5";
  b.save(path);
  check_layers_with_h5py(path, "Dense BatchNormalization");
  models::Model c = models::load_model(path);
  ASSERT_TRUE(c.compiled()) << keras_class;
  EXPECT_EQ(c.iterations(), n);
  EXPECT_EQ(c.metrics_names(), b.metrics_names());
  for (int i = 0; i < m; ++i) c.train_on_batch({x}, {y});
  EXPECT_EQ(c.iterations(), n + m);
  // The same kernels run on the same float32 values in both, so they agree to rounding: at
  // most a few ulps of reordered sums per step (1e-6 absolute on values of order 1); in
  // practice they are bit-identical. Without the optimizer slots (moments restarting at zero,
  // the step count at 0) the next steps would differ at the size of a step (lr 0.01-0.1).
  const std::vector<Tensor> wa = a.get_weights(), wc = c.get_weights();
  ASSERT_EQ(wa.size(), wc.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    ASSERT_EQ(wa[i].shape(), wc[i].shape());
    for (int64_t k = 0; k < wa[i].num_elements(); ++k)
      ASSERT_NEAR(wa[i].data<float>()[k], wc[i].data<float>()[k], 1e-6) << keras_class << " weight " << i << "[" << k << "]";
  }
  EXPECT_NEAR(a.evaluate({x}, {y})["loss"], c.evaluate({x}, {y})["loss"], 1e-6);
}

}  // namespace

TEST(KerasH5Training, AdamResumesFromSavedSlots) { resume_matches_uninterrupted(models::adam(0.05), "Adam"); }
TEST(KerasH5Training, RmspropWithMomentumResumes) {
  resume_matches_uninterrupted(models::rmsprop(0.01, 0.9, 0.5), "RMSprop");
}
TEST(KerasH5Training, SgdWithMomentumResumes) { resume_matches_uninterrupted(models::sgd(0.1, 0.9, true), "SGD"); }
