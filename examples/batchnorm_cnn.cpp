// Trains the small Keras-example CNN (the W7 benchmark model) with batch normalization after
// each convolution (conv without bias or activation -> BatchNormalization -> relu) on
// MNIST-format data (Fashion-MNIST by default); prints the seconds and test accuracy of each
// epoch. The last line is "test accuracy: 0.XXXX".
//
//   conv32 3x3 - bn - relu - conv64 3x3 - bn - relu - maxpool 2 - dropout 0.25 - flatten -
//   dense128 relu - dropout 0.5 - dense10 softmax; Adam 1e-3, batch 64.
//
// It shows the learning phase at work: training steps feed learning_phase(g) = true, so
// dropout drops and batch normalization uses each batch's statistics, and the train op from
// minimize() also runs the layers' update ops, moving their moving averages; evaluation
// feeds nothing (the phase defaults to false): no dropout, the moving statistics. The moving
// mean and variance of one channel are printed before and after each epoch.
//
//   batchnorm_cnn [--data DIR] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]
//                 [--seed N] [--threads N] [--train-images N] [--test-images N]
//                 [--bn-momentum X]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <unistd.h>

using namespace sluice;

namespace {

// u8 images [N, 28, 28] -> f32 [N, 784] in [0, 1]; u8 labels [N] -> one-hot f32 [N, 10].
Tensor to_features(const Tensor& images) {
  const int64_t n = images.dim(0), d = images.num_elements() / std::max<int64_t>(n, 1);
  Tensor x(DType::f32, {n, d});
  const uint8_t* src = images.data<uint8_t>();
  float* dst = x.data<float>();
  for (int64_t i = 0; i < n * d; ++i) dst[i] = src[i] / 255.0f;
  return x;
}

Tensor to_one_hot(const Tensor& labels) {
  const int64_t n = labels.dim(0);
  Tensor y = Tensor::zeros(DType::f32, {n, 10});
  for (int64_t i = 0; i < n; ++i) y.data<float>()[i * 10 + labels.data<uint8_t>()[i]] = 1.0f;
  return y;
}

// Rows `idx[begin, end)` of a [N, d] tensor.
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& idx, size_t begin, size_t end) {
  const int64_t d = t.dim(1);
  Tensor out(DType::f32, {static_cast<int64_t>(end - begin), d});
  for (size_t i = begin; i < end; ++i)
    std::copy_n(t.data<float>() + idx[i] * d, d, out.data<float>() + (i - begin) * d);
  return out;
}

void progress(int epoch, int epochs, int64_t done, int64_t total, double loss, double rate, bool tty) {
  if (!tty && done != total) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / std::max<int64_t>(total, 1));
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), '.');
  std::printf("%sepoch %d/%d [%s] %lld/%lld - loss %.4f - %.0f examples/s", tty ? "\r" : "", epoch,
              epochs, bar.c_str(), static_cast<long long>(done), static_cast<long long>(total), loss, rate);
  if (done == total) std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a CNN with batch normalization on MNIST-format data with Sluice"};
  std::string data_dir = io::kDefaultFashionMnistDir, optimizer = "adam";
  int epochs = 3, threads = 0;
  int64_t batch = 64, seed = 1, train_images = 0, test_images = 0;
  double lr = -1, momentum = 0.99;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--batch", batch, "examples per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "learning rate (default: 0.001 for adam, 0.1 for sgd)");
  app.add_option("--optimizer", optimizer, "sgd or adam")->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "graph seed (weights, dropout, shuffling)")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0: one per core)")->capture_default_str();
  app.add_option("--train-images", train_images, "train on the first N images only (0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--test-images", test_images, "test on the first N images only (0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--bn-momentum", momentum,
                 "momentum of the moving averages (Keras' default 0.99 needs a few hundred steps)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);
  if (lr < 0) lr = optimizer == "adam" ? 0.001 : 0.1;

  try {
    const io::MnistData data = io::load_mnist(data_dir);
    const Tensor train_x = to_features(data.train_images), train_y = to_one_hot(data.train_labels);
    const Tensor test_x = to_features(data.test_images), test_y = to_one_hot(data.test_labels);
    const int64_t n_train = train_images > 0 ? std::min(train_images, train_x.dim(0)) : train_x.dim(0);
    const int64_t n_test = test_images > 0 ? std::min(test_images, test_x.dim(0)) : test_x.dim(0);

    Graph g;
    g.set_random_seed(seed);
    Scope root(g);
    Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 784});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    Output x = ops::reshape(root, img, {-1, 28, 28, 1});
    // No bias in the convolutions: batch normalization's beta takes its place.
    layers::Conv2D conv1(32, {3, 3}, {1, 1}, Padding::valid, Activation::linear, false);
    layers::Conv2D conv2(64, {3, 3}, {1, 1}, Padding::valid, Activation::linear, false);
    layers::BatchNormalization bn1(-1, momentum), bn2(-1, momentum);
    layers::MaxPooling2D pool({2, 2});
    layers::Dropout drop1(0.25), drop2(0.5);
    layers::Flatten flatten;
    layers::Dense hidden(128, Activation::relu), out(10, Activation::softmax);
    Output h = ops::relu(root, bn1(root, conv1(root, x)));
    h = ops::relu(root, bn2(root, conv2(root, h)));
    h = flatten(root, drop1(root, pool(root, h)));
    Output preds = out(root, drop2(root, hidden(root, h)));
    Output loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, preds));
    Output acc = metrics::accuracy(root, labels, preds);
    std::unique_ptr<optimizers::Optimizer> opt;
    if (optimizer == "adam") {
      opt = std::make_unique<optimizers::Adam>(lr);
    } else {
      opt = std::make_unique<optimizers::SGD>(lr);
    }
    // Built after the model: the train op also runs bn1's and bn2's moving-average updates.
    Operation train = opt->minimize(root, loss);

    Session sess(g, SessionOptions{threads});
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    std::printf("sluice CNN + batch normalization on %s: %lld train / %lld test images, %s lr %g, "
                "batch %lld, %d threads\n",
                data_dir.c_str(), static_cast<long long>(n_train), static_cast<long long>(n_test),
                optimizer.c_str(), lr, static_cast<long long>(batch), sess.thread_pool().num_threads());
    std::printf("GEMM: %s\n", gemm::backend_info().c_str());
    std::printf("update ops run by the train op: %zu (%s, %s)\n", g.update_ops().size(),
                bn1.updates()[0].name().c_str(), bn1.updates()[1].name().c_str());

    // Test accuracy in inference mode (learning phase not fed: false), in slices of 500.
    auto evaluate = [&]() {
      constexpr int64_t kSlice = 500;
      const int64_t n = n_test;
      std::vector<int64_t> all(static_cast<size_t>(n));
      std::iota(all.begin(), all.end(), 0);
      double correct = 0;
      for (int64_t b = 0; b < n; b += kSlice) {
        const int64_t e = std::min(n, b + kSlice);
        correct += (e - b) * sess.run({{img, gather_rows(test_x, all, b, e)},
                                       {labels, gather_rows(test_y, all, b, e)}},
                                      {acc})[0].scalar<float>();
      }
      return correct / static_cast<double>(n);
    };
    const std::string mean_name = bn2.name() + "/moving_mean", var_name = bn2.name() + "/moving_variance";
    auto channel0 = [&](const std::string& name) { return sess.variable_value(name).data<float>()[0]; };

    const bool tty = isatty(fileno(stdout));
    std::vector<int64_t> order(static_cast<size_t>(n_train));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    const Tensor yes(true);
    double test_acc = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      const float mean_before = channel0(mean_name), var_before = channel0(var_name);
      std::shuffle(order.begin(), order.end(), rng);
      const auto t0 = std::chrono::steady_clock::now();
      const size_t steps = (order.size() + batch - 1) / batch;
      double loss_sum = 0;
      for (size_t s = 0; s < steps; ++s) {
        const size_t b = s * batch, e = std::min(order.size(), b + static_cast<size_t>(batch));
        auto r = sess.run({{img, gather_rows(train_x, order, b, e)},
                           {labels, gather_rows(train_y, order, b, e)},
                           {learning_phase(g), yes}},
                          {loss}, {train});
        loss_sum += r[0].scalar<float>();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if ((tty && s % 20 == 19) || s + 1 == steps)
          progress(epoch, epochs, static_cast<int64_t>(s + 1), static_cast<int64_t>(steps),
                   loss_sum / (s + 1), e / secs, tty);
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%s channel 0: moving mean %.4f -> %.4f, moving variance %.4f -> %.4f\n",
                  bn2.name().c_str(), mean_before, channel0(mean_name), var_before, channel0(var_name));
      test_acc = evaluate();
      std::printf("epoch %d: %.2f s, test accuracy %.4f\n", epoch, secs, test_acc);
    }
    std::printf("test accuracy: %.4f\n", test_acc);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
