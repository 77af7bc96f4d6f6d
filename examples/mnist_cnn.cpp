// Trains the Keras mnist_cnn model on MNIST-format data (Fashion-MNIST by default):
//
//   conv 32 3x3 relu - conv 64 3x3 relu - maxpool 2x2 - dropout 0.25 - flatten
//   - dense 128 relu - dropout 0.5 - dense 10 softmax        (Adam, batch 64, VALID convs)
//
// and prints the seconds and test accuracy of each epoch. The last line is
// "test accuracy: 0.XXXX".
//
//   mnist_cnn [--data DIR] [--epochs N] [--steps N] [--batch N] [--lr X] [--seed N]
//             [--threads N] [--log FILE] [--save-graph FILE]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <cstdio>
#include <numeric>
#include <random>

using namespace sluice;

int main(int argc, char** argv) {
  CLI::App app{"Train the Keras mnist_cnn model on MNIST-format data with Sluice"};
  std::string data_dir = io::kDefaultFashionMnistDir;
  int epochs = 2, threads = 0;
  int64_t batch = 64, seed = 1, max_steps = 0;
  double lr = 0.001;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--steps", max_steps, "stop after this many training steps (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", batch, "examples per step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
  app.add_option("--seed", seed, "graph seed (weights, dropout, shuffling)")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0: one per core)")->capture_default_str();
  std::string log_path, graph_path;
  app.add_option("--save-graph", graph_path, "write the training graph (a Sluice graph file) for `sluice graph`");
  app.add_option("--log", log_path, "append one JSON line per epoch (loss, test accuracy, lr, seconds) for `sluice plot`");
  CLI11_PARSE(app, argc, argv);

  try {
    const io::MnistData data = io::load_mnist(data_dir);
    const Tensor train_x = io::scale_images(data.train_images, {28, 28, 1}), train_y = io::one_hot_labels(data.train_labels, 10);
    const Tensor test_x = io::scale_images(data.test_images, {28, 28, 1}), test_y = io::one_hot_labels(data.test_labels, 10);

    Graph g;
    g.set_random_seed(seed);
    Scope root(g);
    Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 28, 28, 1});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    layers::Conv2D conv1(32, {3, 3}, {1, 1}, Padding::valid, Activation::relu);
    layers::Conv2D conv2(64, {3, 3}, {1, 1}, Padding::valid, Activation::relu);
    layers::MaxPooling2D pool({2, 2});
    layers::Dropout drop1(0.25), drop2(0.5);
    layers::Flatten flatten;
    layers::Dense hidden(128, Activation::relu);
    layers::Dense out(10, Activation::softmax);
    Output h = pool(root, conv2(root, conv1(root, img)));  // [?, 12, 12, 64]
    Output preds = out(root, drop2(root, hidden(root, flatten(root, drop1(root, h)))));
    Output loss =
        ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, preds));
    Output acc = metrics::accuracy(root, labels, preds);
    optimizers::Adam adam(lr);
    Operation train = adam.minimize(root, loss);

    if (!graph_path.empty()) io::write_graph(g, graph_path, {{"serving_default", {{{"image", img}}, {{"probs", preds}}}}});
    Session sess(g, SessionOptions{threads});
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    std::printf(
        "sluice CNN on %s: %lld train / %lld test images, adam lr %g, batch %lld, %d threads\n",
        data_dir.c_str(), static_cast<long long>(train_x.dim(0)),
        static_cast<long long>(test_x.dim(0)), lr, static_cast<long long>(batch),
        sess.thread_pool().num_threads());
    std::printf("GEMM: %s\n", gemm::backend_info().c_str());
    std::ofstream log;
    if (!log_path.empty()) {
      log.open(log_path, std::ios::trunc);
      if (!log) throw InvalidArgument("cannot write the log '" + log_path + "'");
    }

    // Test accuracy in slices (the whole test set at once would need ~1.5 GB of activations).
    auto test_accuracy = [&] {
      constexpr int64_t kSlice = 500;
      const int64_t n = test_x.dim(0);
      std::vector<int64_t> all(static_cast<size_t>(n));
      std::iota(all.begin(), all.end(), 0);
      double correct = 0;
      for (int64_t b = 0; b < n; b += kSlice) {
        const size_t e = static_cast<size_t>(std::min(n, b + kSlice));
        const Tensor a = sess.run(
            {{img, io::gather_rows(test_x, all, b, e)}, {labels, io::gather_rows(test_y, all, b, e)}}, {acc})[0];
        correct += a.scalar<float>() * static_cast<double>(e - b);
      }
      return correct / static_cast<double>(n);
    };

    std::vector<int64_t> order(static_cast<size_t>(train_x.dim(0)));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    const Tensor yes(true);
    const size_t steps = (order.size() + batch - 1) / batch;
    const io::ProgressBar bar(epochs, static_cast<int64_t>(steps));
    int64_t total_steps = 0;
    double test_acc = 0;
    for (int epoch = 1; epoch <= epochs && (max_steps == 0 || total_steps < max_steps); ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      const auto t0 = std::chrono::steady_clock::now();
      double loss_sum = 0;
      size_t s = 0;
      for (; s < steps && (max_steps == 0 || total_steps < max_steps); ++s, ++total_steps) {
        const size_t b = s * batch, e = std::min(order.size(), b + static_cast<size_t>(batch));
        auto r = sess.run({{img, io::gather_rows(train_x, order, b, e)},
                           {labels, io::gather_rows(train_y, order, b, e)},
                           {learning_phase(g), yes}},
                          {loss}, {train});
        loss_sum += r[0].scalar<float>();
        if (bar.is_terminal() && s % 20 == 19) {
          const double secs =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          bar.update(epoch, static_cast<int64_t>(s + 1), loss_sum / (s + 1), e / secs);
        }
      }
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      bar.end_epoch(epoch, static_cast<int64_t>(s), loss_sum / std::max<size_t>(s, 1),
                    std::min(order.size(), s * batch) / secs);
      test_acc = test_accuracy();
      std::printf("epoch %d: %.2f s (%zu steps, %.1f ms/step), test accuracy %.4f\n", epoch, secs,
                  s, 1e3 * secs / std::max<size_t>(s, 1), test_acc);
      if (log.is_open()) {
        char line[256];
        std::snprintf(line, sizeof(line),
                      "{\"epoch\": %d, \"loss\": %.6g, \"test_accuracy\": %.6g, \"lr\": %g, \"seconds\": %.3f}\n", epoch,
                      loss_sum / std::max<size_t>(s, 1), test_acc, lr, secs);
        log << line << std::flush;
      }
    }
    std::printf("test accuracy: %.4f\n", test_acc);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
