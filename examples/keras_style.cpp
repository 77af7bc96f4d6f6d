// The Keras mnist_cnn model in the Keras style: Sequential, compile, fit with validation,
// EarlyStopping and ModelCheckpoint, summary, evaluate and predict. Last line:
// "test accuracy: 0.XXXX".
//
//   keras_style [--data DIR] [--epochs N] [--train N] [--checkpoint DIR] [--seed N] [--log FILE]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <cstdio>

using namespace sluice;

int main(int argc, char** argv) {
  CLI::App app{"The Keras mnist_cnn model, Keras style, with Sluice"};
  std::string data_dir = io::kDefaultFashionMnistDir, checkpoint = "keras_style_best", log;
  int epochs = 2;
  int64_t train_n = 0, seed = 1;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--train", train_n, "train on the first N images only (0: all)")->capture_default_str();
  app.add_option("--checkpoint", checkpoint, "where ModelCheckpoint keeps the best model")->capture_default_str();
  app.add_option("--seed", seed, "graph seed (weights, dropout) and shuffling seed")->capture_default_str();
  app.add_option("--log", log, "one JSON line per epoch (loss, metrics, lr, seconds) for `sluice plot`");
  CLI11_PARSE(app, argc, argv);
  try {
    const io::MnistData data = io::load_mnist(data_dir);
    Tensor x = io::scale_images(data.train_images, {28, 28, 1}), y = io::one_hot_labels(data.train_labels, 10);
    if (train_n > 0) x = io::slice_rows(x, 0, train_n), y = io::slice_rows(y, 0, train_n);
    const Tensor test_x = io::scale_images(data.test_images, {28, 28, 1});
    const Tensor test_y = io::one_hot_labels(data.test_labels, 10);

    models::Sequential model({layers::Conv2D(32, {3, 3}, {1, 1}, Padding::valid, Activation::relu),
                              layers::Conv2D(64, {3, 3}, {1, 1}, Padding::valid, Activation::relu),
                              layers::MaxPooling2D({2, 2}), layers::Dropout(0.25), layers::Flatten(),
                              layers::Dense(128, Activation::relu), layers::Dropout(0.5),
                              layers::Dense(10, Activation::softmax)});
    model.graph().set_random_seed(seed);
    model.build({28, 28, 1});
    model.summary();
    model.compile(models::adam(0.001), "categorical_crossentropy", {"accuracy"});

    models::FitOptions fit;
    fit.batch_size = 64;
    fit.epochs = epochs;
    fit.seed = static_cast<uint64_t>(seed);
    fit.validation_split = 0.1;
    fit.log = log;
    fit.callbacks = {std::make_shared<models::EarlyStopping>("val_loss", 0.0, 2, models::Mode::auto_, true),
                     std::make_shared<models::ModelCheckpoint>(checkpoint, "val_accuracy", true)};
    model.fit(x, y, fit);

    models::EvaluateOptions eval;
    eval.batch_size = 500;
    const models::Logs test = model.evaluate(test_x, test_y, eval);
    const Tensor probs = model.predict(io::slice_rows(test_x, 0, 5), 5);
    for (int64_t i = 0; i < 5; ++i) {
      const float* p = probs.data<float>() + i * 10;
      std::printf("test image %lld: predicted %d, label %d\n", static_cast<long long>(i),
                  static_cast<int>(std::max_element(p, p + 10) - p), data.test_labels.data<uint8_t>()[i]);
    }
    std::printf("test loss: %.4f\ntest accuracy: %.4f\n", test.at("loss"), test.at("accuracy"));
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
