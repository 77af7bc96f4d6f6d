// Trains an LSTM classifier on MNIST-format data (Fashion-MNIST by default): each image is
// a sequence of 28 rows of 28 pixels, read by LSTM(128) whose last output feeds
// Dense(10, softmax). Prints the time and test accuracy of each epoch; the last line is
// "test accuracy: 0.XXXX".
//
//   mnist_lstm [--data DIR] [--epochs N] [--batch N] [--lr X] [--seed N] [--threads N]
//              [--steps N]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

using namespace sluice;

namespace {

constexpr int64_t kRows = 28, kCols = 28;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train an LSTM on MNIST-format data (rows as time steps) with Sluice"};
  std::string data_dir = io::kDefaultFashionMnistDir;
  int epochs = 5, threads = 0;
  int64_t batch = 64, seed = 1, max_steps = 0;
  double lr = 0.001;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--batch", batch, "examples per step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
  app.add_option("--seed", seed, "graph seed (weights, shuffling)")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0: one per core)")->capture_default_str();
  app.add_option("--steps", max_steps, "stop training after this many steps (0: no limit)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const io::MnistData data = io::load_mnist(data_dir);
    const Tensor train_x = io::scale_images(data.train_images, {kRows, kCols}), train_y = io::one_hot_labels(data.train_labels, 10);
    const Tensor test_x = io::scale_images(data.test_images, {kRows, kCols}), test_y = io::one_hot_labels(data.test_labels, 10);

    Graph g;
    g.set_random_seed(seed);
    Scope root(g);
    Output img = ops::placeholder(root.named("img"), DType::f32, {-1, kRows, kCols});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    layers::LSTM lstm(128);
    layers::Dense out(10, Activation::softmax);
    Output preds = out(root, lstm(root, img));
    Output loss =
        ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, preds));
    Output acc = metrics::accuracy(root, labels, preds);
    optimizers::Adam adam(lr);
    Operation train = adam.minimize(root, loss);

    Session sess(g, SessionOptions{threads});
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    std::printf(
        "sluice LSTM(128) on %s: %lld train / %lld test images, adam lr %g, batch %lld, %d "
        "threads\n",
        data_dir.c_str(), static_cast<long long>(train_x.dim(0)),
        static_cast<long long>(test_x.dim(0)), lr, static_cast<long long>(batch),
        sess.thread_pool().num_threads());
    std::printf("GEMM: %s\n", gemm::backend_info().c_str());
    std::fflush(stdout);

    // Test accuracy in slices (the LSTM keeps every step's gates: [n, 28, 512] floats).
    std::vector<int64_t> test_order(static_cast<size_t>(test_x.dim(0)));
    std::iota(test_order.begin(), test_order.end(), 0);
    auto evaluate = [&] {
      double correct = 0;
      for (size_t b = 0; b < test_order.size(); b += 1000) {
        const size_t e = std::min(test_order.size(), b + 1000);
        const float a = sess.run({{img, io::gather_rows(test_x, test_order, b, e)},
                                  {labels, io::gather_rows(test_y, test_order, b, e)}},
                                 {acc})[0]
                            .scalar<float>();
        correct += a * static_cast<double>(e - b);
      }
      return correct / static_cast<double>(test_order.size());
    };

    std::vector<int64_t> order(static_cast<size_t>(train_x.dim(0)));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    int64_t steps_done = 0;
    double test_acc = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      const auto t0 = std::chrono::steady_clock::now();
      const size_t steps = (order.size() + batch - 1) / batch;
      double loss_sum = 0;
      size_t s = 0;
      for (; s < steps && (max_steps == 0 || steps_done < max_steps); ++s, ++steps_done) {
        const size_t b = s * batch, e = std::min(order.size(), b + static_cast<size_t>(batch));
        auto r =
            sess.run({{img, io::gather_rows(train_x, order, b, e)}, {labels, io::gather_rows(train_y, order, b, e)}},
                     {loss}, {train});
        loss_sum += r[0].scalar<float>();
      }
      const double secs = seconds_since(t0);
      test_acc = evaluate();
      std::printf("epoch %d: %zu steps, %.2f s (%.2f s per epoch), loss %.4f, test accuracy %.4f\n",
                  epoch, s, secs,
                  secs * static_cast<double>(steps) / static_cast<double>(std::max<size_t>(s, 1)),
                  loss_sum / static_cast<double>(std::max<size_t>(s, 1)), test_acc);
      std::fflush(stdout);
      if (max_steps != 0 && steps_done >= max_steps) break;
    }
    std::printf("test accuracy: %.4f\n", test_acc);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
