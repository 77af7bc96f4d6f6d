// models::Dataset: from_tensors / from_generator, shuffle, batch, map, take, prefetch, and
// Model::fit / evaluate / predict over a Dataset against the in-memory-tensor forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "runtime/sluice.h"
#include "test_util.h"

using namespace sluice;
using models::Dataset;
using models::Element;

namespace {

using sluice::testing::random_tensor;

using sluice::testing::same_bits;

// ids [n] (i64 0..n-1) and their doubles [n, 2] (2i, 2i+1).
Dataset counting(int64_t n) {
  Tensor ids(DType::i64, Shape{n}), pairs(DType::f32, Shape{n, 2});
  for (int64_t i = 0; i < n; ++i) {
    ids.data<int64_t>()[i] = i;
    pairs.data<float>()[2 * i] = static_cast<float>(2 * i);
    pairs.data<float>()[2 * i + 1] = static_cast<float>(2 * i + 1);
  }
  return Dataset::from_tensors({ids}, {pairs});
}

// The ids of one pass, batch by batch flattened.
std::vector<int64_t> ids_of(const Dataset& d, int epoch = 0) {
  std::vector<int64_t> r;
  auto it = d.iterate(epoch);
  while (auto e = it->next())
    for (int64_t i = 0; i < e->x[0].num_elements(); ++i) r.push_back(e->x[0].data<int64_t>()[i]);
  return r;
}

}  // namespace

TEST(Dataset, BatchesRowsInOrderWithPartialLastBatch) {
  const Dataset d = counting(10).batch(4);
  EXPECT_EQ(d.cardinality(), 3);
  auto it = d.iterate();
  std::vector<int64_t> sizes;
  while (auto e = it->next()) {
    sizes.push_back(e->x[0].dim(0));
    ASSERT_EQ(e->y[0].shape(), Shape({e->x[0].dim(0), 2}));
    for (int64_t r = 0; r < e->x[0].dim(0); ++r) {  // the pair follows its id
      const int64_t id = e->x[0].data<int64_t>()[r];
      EXPECT_EQ(e->y[0].data<float>()[2 * r], 2.0f * id);
    }
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(ids_of(d), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const Dataset dropped = counting(10).batch(4, true);
  EXPECT_EQ(dropped.cardinality(), 2);
  EXPECT_EQ(ids_of(dropped).size(), 8u);
  EXPECT_EQ(counting(10).take(3).cardinality(), 3);
  EXPECT_EQ(ids_of(counting(10).take(3).batch(2)), (std::vector<int64_t>{0, 1, 2}));
}

TEST(Dataset, ShuffleIsSeededAndReshufflesEachEpoch) {
  const int64_t n = 50;
  for (int64_t buffer : {int64_t{50}, int64_t{7}}) {
    const Dataset d = counting(n).shuffle(buffer, 42).batch(8);
    const std::vector<int64_t> e0 = ids_of(d, 0), e0_again = ids_of(d, 0), e1 = ids_of(d, 1);
    EXPECT_EQ(e0, e0_again) << "same pass, same seed: same order";
    EXPECT_NE(e0, e1) << "another epoch: another order";
    std::vector<int64_t> sorted = e0;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[static_cast<size_t>(i)], i) << "a permutation";
    std::vector<int64_t> identity(static_cast<size_t>(n));
    std::iota(identity.begin(), identity.end(), 0);
    EXPECT_NE(e0, identity);
    EXPECT_NE(e0, ids_of(counting(n).shuffle(buffer, 43).batch(8), 0)) << "another seed";
  }
  const Dataset fixed = counting(n).shuffle(n, 5, false);
  EXPECT_EQ(ids_of(fixed, 0), ids_of(fixed, 3));
  // A buffer of 1 cannot reorder anything.
  EXPECT_EQ(ids_of(counting(6).shuffle(1, 9)), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(Dataset, MapGeneratorAndPrefetchKeepTheSequence) {
  auto add_100 = [](Element e) {
    Tensor t = e.x[0].clone();
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<int64_t>()[i] += 100;
    e.x[0] = t;
    return e;
  };
  const Dataset base = counting(23).shuffle(23, 1).batch(5).map(add_100);
  const std::vector<int64_t> plain = ids_of(base, 2);
  ASSERT_EQ(plain.size(), 23u);
  for (int64_t v : plain) EXPECT_GE(v, 100);
  for (int64_t depth : {1, 3, 50}) EXPECT_EQ(ids_of(base.prefetch(depth), 2), plain) << depth;

  // A generator: a fresh one per pass.
  std::atomic<int> passes{0};
  const Dataset gen = Dataset::from_generator([&passes]() {
    ++passes;
    auto i = std::make_shared<int64_t>(0);
    return models::Dataset::Generator([i]() -> std::optional<Element> {
      if (*i >= 7) return std::nullopt;
      Element e;
      e.x.push_back(Tensor(int64_t{(*i)++}));
      return e;
    });
  });
  EXPECT_EQ(gen.cardinality(), -1);
  EXPECT_EQ(ids_of(gen.batch(3).prefetch(2)), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ids_of(gen.batch(3)), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(passes.load(), 2);
}

TEST(Dataset, PrefetchRethrowsAndStopsCleanly) {
  // An error in map reaches the consumer with its type, after the batches before it.
  const Dataset bad = counting(10).batch(2).map([](Element e) {
    if (e.x[0].data<int64_t>()[0] == 6) throw InvalidArgument("bad batch 6");
    return e;
  }).prefetch(4);
  auto it = bad.iterate();
  int good = 0;
  EXPECT_THROW(
      {
        while (it->next()) ++good;
      },
      InvalidArgument);
  EXPECT_EQ(good, 3);
  // Abandoning a pass mid-way with a slow producer and a full queue ends its thread.
  std::atomic<int> made{0};
  const Dataset slow = counting(1000).batch(1).map([&made](Element e) {
    ++made;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return e;
  }).prefetch(2);
  {
    auto it2 = slow.iterate();
    ASSERT_TRUE(it2->next().has_value());
  }
  const int after = made.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(made.load(), after) << "the producer thread kept running";
  EXPECT_LE(after, 5);
}

TEST(Dataset, BadInputIsATypedError) {
  EXPECT_THROW(Dataset::from_tensors({}), InvalidArgument);
  EXPECT_THROW(Dataset::from_tensors({random_tensor({4, 2}, 1)}, {random_tensor({5}, 2)}), InvalidArgument);
  EXPECT_THROW(Dataset::from_tensors({Tensor(1.0f)}), InvalidArgument);
  EXPECT_THROW(counting(4).batch(0), InvalidArgument);
  EXPECT_THROW(counting(4).shuffle(0), InvalidArgument);
  EXPECT_THROW(counting(4).prefetch(0), InvalidArgument);
  EXPECT_THROW(counting(4).take(-1), InvalidArgument);
  // Elements of different shapes cannot be stacked.
  const Dataset ragged = Dataset::from_generator([]() {
    auto i = std::make_shared<int64_t>(0);
    return models::Dataset::Generator([i]() -> std::optional<Element> {
      if (*i >= 2) return std::nullopt;
      Element e;
      e.x.push_back(Tensor(DType::f32, Shape{++*i}));
      return e;
    });
  });
  EXPECT_THROW(ids_of(ragged.batch(2)), InvalidArgument);
}

namespace {

std::unique_ptr<models::Sequential> classifier() {
  auto m = std::make_unique<models::Sequential>(std::vector<models::LayerRef>{
      layers::Dense(16, Activation::relu), layers::Dense(3, Activation::softmax)});
  m->graph().set_random_seed(3);
  m->build({6});
  m->compile(models::adam(0.01), "categorical_crossentropy", {"accuracy"});
  return m;
}

// Three classes by the sign pattern of two features.
void classification_data(int64_t n, Tensor& x, Tensor& y) {
  x = random_tensor({n, 6}, 17);
  y = Tensor(DType::f32, Shape{n, 3});
  std::memset(y.raw_data(), 0, y.num_bytes());
  for (int64_t i = 0; i < n; ++i) {
    const float a = x.data<float>()[i * 6], b = x.data<float>()[i * 6 + 1];
    y.data<float>()[i * 3 + (a > 0 ? (b > 0 ? 0 : 1) : 2)] = 1;
  }
}

}  // namespace

TEST(Dataset, FitOverADatasetMatchesFitOverTensorsBitIdentically) {
  Tensor x, y;
  classification_data(300, x, y);
  auto a = classifier(), b = classifier();
  ASSERT_TRUE(same_bits(a->get_weights()[0], b->get_weights()[0]));
  models::FitOptions opt;
  opt.epochs = 3;
  opt.batch_size = 32;  // 9 full batches and one of 12
  opt.shuffle = false;
  opt.verbose = 0;
  const models::History ha = a->fit(x, y, opt);
  // The same batches through map (identity) and prefetch.
  const Dataset d = Dataset::from_tensors({x}, {y}).batch(32).map([](Element e) { return e; }).prefetch(2);
  const models::History hb = b->fit(d, opt);
  const std::vector<Tensor> wa = a->get_weights(), wb = b->get_weights();
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(same_bits(wa[i], wb[i])) << "weight " << i;
  EXPECT_EQ(ha.history.at("loss"), hb.history.at("loss"));
  EXPECT_EQ(ha.history.at("accuracy"), hb.history.at("accuracy"));
  EXPECT_GT(hb.history.at("accuracy").back(), 0.8);

  // evaluate / predict / validation over a Dataset agree with the tensor forms.
  const Dataset eval = Dataset::from_tensors({x}, {y}).batch(50);
  const models::Logs le = a->evaluate(x, y), ld = a->evaluate(eval);
  EXPECT_NEAR(le.at("loss"), ld.at("loss"), 1e-6);
  EXPECT_EQ(le.at("accuracy"), ld.at("accuracy"));
  EXPECT_TRUE(same_bits(a->predict(x, 50), a->predict(Dataset::from_tensors({x}).batch(50))[0]));
  models::FitOptions v = opt;
  v.epochs = 4;
  v.initial_epoch = 3;
  v.validation_dataset = eval;
  const models::History hv = b->fit(d, v);
  EXPECT_NEAR(hv.history.at("val_loss")[0], b->evaluate(x, y).at("loss"), 1e-6);
  v.validation_split = 0.2;
  EXPECT_THROW(b->fit(d, v), InvalidArgument);
}

TEST(Dataset, ShuffledDatasetFitIsReproducible) {
  Tensor x, y;
  classification_data(200, x, y);
  const Dataset d = Dataset::from_tensors({x}, {y}).shuffle(200, 11).batch(25).prefetch(1);
  models::FitOptions opt;
  opt.epochs = 2;
  opt.verbose = 0;
  auto a = classifier(), b = classifier();
  a->fit(d, opt);
  b->fit(d, opt);
  EXPECT_TRUE(same_bits(a->get_weights()[0], b->get_weights()[0]));
  // An unbuilt Sequential builds from the dataset's first batch.
  models::Sequential lazy({layers::Dense(3, Activation::softmax)});
  EXPECT_THROW(lazy.fit(d, opt), FailedPrecondition);  // built now, but not compiled
  EXPECT_TRUE(lazy.is_built());
}
