// Mask propagation in Sequential: Embedding(mask_zero) -> (Dropout ...) -> recurrent layers.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runtime/sluice.h"

using namespace sluice;

namespace {

Tensor ids(const std::vector<std::vector<int32_t>>& rows) {
  const int64_t t = static_cast<int64_t>(rows[0].size());
  Tensor r(DType::i32, Shape{static_cast<int64_t>(rows.size()), t});
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t j = 0; j < t; ++j) r.data<int32_t>()[static_cast<int64_t>(i) * t + j] = rows[i][static_cast<size_t>(j)];
  return r;
}

std::unique_ptr<models::Sequential> text_model(int64_t steps, bool mask_zero, bool bidirectional) {
  std::vector<models::LayerRef> ls;
  ls.emplace_back(layers::Embedding(10, 4, mask_zero));
  ls.emplace_back(layers::Dropout(0.5));
  if (bidirectional) {
    layers::RecurrentConfig c;
    c.return_sequences = true;
    ls.emplace_back(layers::Bidirectional(layers::GRU(3, c), layers::MergeMode::concat));
    ls.emplace_back(layers::LSTM(2));
  } else {
    ls.emplace_back(layers::LSTM(3));
  }
  ls.emplace_back(layers::Dense(1, Activation::sigmoid));
  auto m = std::make_unique<models::Sequential>(std::move(ls));
  m->graph().set_random_seed(8);
  m->build({steps}, DType::i32);
  return m;
}

}  // namespace

TEST(SequentialMasking, PaddedStepsChangeNothing) {
  for (bool bi : {false, true}) {
    auto padded = text_model(6, true, bi), exact = text_model(3, true, bi), unmasked = text_model(6, false, bi);
    exact->set_weights(padded->get_weights());
    unmasked->set_weights(padded->get_weights());
    const Tensor p = padded->predict(ids({{3, 5, 7, 0, 0, 0}, {2, 0, 0, 0, 0, 0}}));
    const Tensor e = exact->predict(ids({{3, 5, 7}, {2, 0, 0}}));
    const Tensor u = unmasked->predict(ids({{3, 5, 7, 0, 0, 0}, {2, 0, 0, 0, 0, 0}}));
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(p.data<float>()[i], e.data<float>()[i], 1e-6) << "bidirectional " << bi << " row " << i;
      EXPECT_GT(std::abs(p.data<float>()[i] - u.data<float>()[i]), 1e-6) << "the mask must matter";
    }
  }
}

TEST(SequentialMasking, MatchesTheExplicitFunctionalModel) {
  auto seq = text_model(5, true, true);
  Graph g;
  g.set_random_seed(8);
  Scope root(g);
  Output in = ops::placeholder(root.named("input"), DType::i32, {-1, 5});
  layers::Embedding embed(10, 4, true);
  layers::RecurrentConfig c;
  c.return_sequences = true;
  layers::Bidirectional bi(layers::GRU(3, c));
  layers::LSTM lstm(2);
  layers::Dense out(1, Activation::sigmoid);
  Output mask = embed.compute_mask(root, in);
  Output y = out(root, lstm(root, bi(root, embed(root, in), mask), mask));
  models::Model fn(in, y);
  fn.set_weights(seq->get_weights());
  const Tensor x = ids({{1, 2, 3, 0, 0}, {4, 0, 0, 0, 0}, {9, 8, 7, 6, 5}});
  const Tensor a = seq->predict(x), b = fn.predict(x);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
}

TEST(SequentialMasking, LayersThatCannotTakeAMaskAreRejected) {
  models::Sequential bad({layers::Embedding(10, 4, true), layers::Flatten(), layers::Dense(1)});
  EXPECT_THROW(bad.build({5}, DType::i32), InvalidArgument);
  // Without mask_zero the same stack is fine.
  models::Sequential good({layers::Embedding(10, 4, false), layers::Flatten(), layers::Dense(1)});
  good.build({5}, DType::i32);
  EXPECT_EQ(good.predict(ids({{1, 2, 3, 4, 5}})).shape(), Shape({1, 1}));
}
