// A text classifier in the Keras style: Embedding (mask_zero) -> Bidirectional LSTM ->
// Dense sigmoid, a functional models::Model trained with fit and EarlyStopping.
//
// The data set is generated: "sentences" of 4..12 word ids (1..vocab-1, zero-padded to 12)
// that contain word 3 and word 7 exactly once each; the label is 1 when 3 comes before 7.
// A bag of words cannot tell (both words are always there): the model has to read the
// order, and the padding must be masked. The last line is "test accuracy: 0.XXXX".
//
//   text_classifier [--train N] [--epochs N] [--seed N]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <random>

using namespace sluice;

namespace {

constexpr int64_t kLen = 12, kVocab = 20;

// ids i32 [n, kLen] and labels f32 [n, 1].
std::pair<Tensor, Tensor> make_data(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor ids = Tensor::zeros(DType::i32, Shape{n, kLen});
  Tensor labels(DType::f32, Shape{n, 1});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 4 + static_cast<int64_t>(rng() % (kLen - 3));
    int32_t* row = ids.data<int32_t>() + i * kLen;
    for (int64_t t = 0; t < len; ++t) {
      int32_t w;
      do w = 1 + static_cast<int32_t>(rng() % (kVocab - 1));
      while (w == 3 || w == 7);
      row[t] = w;
    }
    const int64_t a = static_cast<int64_t>(rng() % len);
    int64_t b;
    do b = static_cast<int64_t>(rng() % len);
    while (b == a);
    row[a] = 3;
    row[b] = 7;
    labels.data<float>()[i] = a < b ? 1.0f : 0.0f;
  }
  return {ids, labels};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A masked bidirectional-LSTM text classifier on a generated order task"};
  int64_t train_n = 4000, seed = 1;
  int epochs = 12;
  app.add_option("--train", train_n, "training sentences")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--seed", seed, "data, weights and shuffling seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const auto train = make_data(train_n, static_cast<uint64_t>(seed));
    const auto test = make_data(1000, static_cast<uint64_t>(seed) + 1000);

    Graph g;
    g.set_random_seed(seed);
    Scope root(g);
    Output ids = ops::placeholder(root.named("ids"), DType::i32, {-1, kLen});
    layers::Embedding embed(kVocab, 16, /*mask_zero=*/true);
    layers::Bidirectional bi(layers::LSTM(16));
    layers::Dense out(1, Activation::sigmoid);
    Output probs = out(root, bi(root, embed(root, ids), embed.compute_mask(root, ids)));
    models::Model model(ids, probs, "text_classifier");
    model.summary();
    model.compile(models::adam(0.01), "binary_crossentropy", {"accuracy"});

    models::FitOptions fit;
    fit.batch_size = 64;
    fit.epochs = epochs;
    fit.seed = static_cast<uint64_t>(seed);
    fit.validation_split = 0.1;
    fit.verbose = 2;
    fit.callbacks = {std::make_shared<models::EarlyStopping>("val_accuracy", 0.0, 3, models::Mode::max, true)};
    model.fit(train.first, train.second, fit);

    const models::Logs logs = model.evaluate(test.first, test.second);
    std::printf("test loss: %.4f\ntest accuracy: %.4f\n", logs.at("loss"), logs.at("accuracy"));
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
