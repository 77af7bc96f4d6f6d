// Trains a 784-128-128-10 MLP with dropout on MNIST-format data (Fashion-MNIST by default)
// and prints the test accuracy after each epoch. The last line is "test accuracy: 0.XXXX".
//
//   mnist_mlp [--data DIR] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]
//             [--seed N] [--threads N] [--log FILE]   (--log: one JSON line per epoch, for `sluice plot`)
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
  CLI::App app{"Train an MLP on MNIST-format data with Sluice"};
  std::string data_dir = io::kDefaultFashionMnistDir, optimizer = "adam";
  int epochs = 10, threads = 0;
  int64_t batch = 50, seed = 1;
  double lr = -1;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--batch", batch, "examples per step")->capture_default_str();
  app.add_option("--lr", lr, "learning rate (default: 0.001 for adam, 0.1 for sgd)");
  app.add_option("--optimizer", optimizer, "sgd or adam")->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "graph seed (weights, dropout, shuffling)")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0: one per core)")->capture_default_str();
  std::string log_path;
  app.add_option("--log", log_path, "append one JSON line per epoch (loss, test accuracy, lr, seconds) for `sluice plot`");
  CLI11_PARSE(app, argc, argv);
  if (lr < 0) lr = optimizer == "adam" ? 0.001 : 0.1;

  try {
    const io::MnistData data = io::load_mnist(data_dir);
    const Tensor train_x = io::scale_images(data.train_images).reshaped({data.train_images.dim(0), 784});
    const Tensor test_x = io::scale_images(data.test_images).reshaped({data.test_images.dim(0), 784});
    const Tensor train_y = io::one_hot_labels(data.train_labels, 10);
    const Tensor test_y = io::one_hot_labels(data.test_labels, 10);

    Graph g;
    g.set_random_seed(seed);
    Scope root(g);
    Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 784});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    layers::Dense hidden1(128, Activation::relu), hidden2(128, Activation::relu);
    layers::Dropout drop1(0.5), drop2(0.5);
    layers::Dense out(10, Activation::softmax);
    Output preds = out(root, drop2(root, hidden2(root, drop1(root, hidden1(root, img)))));
    Output loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, preds));
    Output acc = metrics::accuracy(root, labels, preds);
    std::unique_ptr<optimizers::Optimizer> opt;
    if (optimizer == "adam") {
      opt = std::make_unique<optimizers::Adam>(lr);
    } else {
      opt = std::make_unique<optimizers::SGD>(lr);
    }
    Operation train = opt->minimize(root, loss);

    Session sess(g, SessionOptions{threads});
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    std::printf("sluice MLP on %s: %lld train / %lld test images, %s lr %g, batch %lld, %d threads\n",
                data_dir.c_str(), static_cast<long long>(train_x.dim(0)),
                static_cast<long long>(test_x.dim(0)), optimizer.c_str(), lr,
                static_cast<long long>(batch), sess.thread_pool().num_threads());
    std::printf("GEMM: %s\n", gemm::backend_info().c_str());
    std::ofstream log;
    if (!log_path.empty()) {
      log.open(log_path, std::ios::trunc);
      if (!log) throw InvalidArgument("cannot write the log '" + log_path + "'");
    }

    std::vector<int64_t> order(static_cast<size_t>(train_x.dim(0)));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    const Tensor yes(true);
    const size_t steps = (order.size() + batch - 1) / batch;
    const io::ProgressBar bar(epochs, static_cast<int64_t>(steps));
    double test_acc = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      const auto t0 = std::chrono::steady_clock::now();
      double loss_sum = 0;
      for (size_t s = 0; s < steps; ++s) {
        const size_t b = s * batch, e = std::min(order.size(), b + static_cast<size_t>(batch));
        auto r = sess.run({{img, io::gather_rows(train_x, order, b, e)},
                           {labels, io::gather_rows(train_y, order, b, e)},
                           {learning_phase(g), yes}},
                          {loss}, {train});
        loss_sum += r[0].scalar<float>();
        if (bar.is_terminal() && s % 50 == 49) {
          const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          bar.update(epoch, static_cast<int64_t>(s + 1), loss_sum / (s + 1), e / secs);
        }
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      bar.end_epoch(epoch, static_cast<int64_t>(steps), loss_sum / steps, order.size() / secs);
      test_acc = sess.run({{img, test_x}, {labels, test_y}}, {acc})[0].scalar<float>();
      std::printf("epoch %d: %.2f s, test accuracy %.4f\n", epoch, secs, test_acc);
      if (log.is_open()) {
        char line[256];
        std::snprintf(line, sizeof(line),
                      "{\"epoch\": %d, \"loss\": %.6g, \"test_accuracy\": %.6g, \"lr\": %g, \"seconds\": %.3f}\n", epoch,
                      loss_sum / steps, test_acc, lr, secs);
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
