// W6 (../shared/bench/WORKLOADS.md): the MNIST MLP, one epoch of SGD lr 0.5, batch 50, on
// Fashion-MNIST; then test accuracy. Prints one JSON line per epoch with the time, the
// accuracy, the process's resident memory and Sluice's tensor memory, so growth from epoch
// to epoch would show.
//   bench_train_mlp [--epochs N] [--threads N] [--data DIR] [--seed N]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

#include "process_memory.h"

using namespace sluice;
using bench::peak_rss_mb;
using bench::rss_mb;

int main(int argc, char** argv) {
  CLI::App app{"W6: MNIST MLP training epoch"};
  int epochs = 1, threads = 1;
  bool profile = false;
  int64_t seed = 1;
  std::string data_dir = io::kDefaultFashionMnistDir;
  app.add_option("--epochs", epochs);
  app.add_option("--threads", threads);
  app.add_option("--seed", seed);
  app.add_option("--data", data_dir);
  app.add_flag("--profile", profile, "print per-op kernel times at the end (stderr)");
  CLI11_PARSE(app, argc, argv);

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
  layers::Dense h1(128, Activation::relu), h2(128, Activation::relu), out(10, Activation::softmax);
  layers::Dropout d1(0.5), d2(0.5);
  Output preds = out(root, d2(root, h2(root, d1(root, h1(root, img)))));
  Output loss = ops::mean(root, losses::categorical_crossentropy(root, labels, preds));
  Output acc = metrics::accuracy(root, labels, preds);
  optimizers::SGD sgd(0.5);
  Operation train = sgd.minimize(root, loss);
  SessionOptions options;
  options.num_threads = threads;
  options.collect_op_timings = profile;
  Session sess(g, options);
  sess.run({}, {}, {ops::global_variables_initializer(root)});

  std::vector<int64_t> order(static_cast<size_t>(train_x.dim(0)));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  const Tensor yes(true);
  const int64_t batch = 50;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t b = 0; b < order.size(); b += batch) {
      const size_t e = std::min(order.size(), b + batch);
      sess.run({{img, io::gather_rows(train_x, order, b, e)}, {labels, io::gather_rows(train_y, order, b, e)},
                {learning_phase(g), yes}},
               {}, {train});
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const float test_acc = sess.run({{img, test_x}, {labels, test_y}}, {acc})[0].scalar<float>();
    const AllocatorStats st = allocator_stats();
    std::printf(
        "{\"workload\": \"W6\", \"threads\": %d, \"epoch\": %d, \"seconds\": %.4f, \"test_accuracy\": %.4f, "
        "\"rss_mb\": %.1f, \"peak_rss_mb\": %.1f, \"tensor_mb\": %.1f, \"peak_tensor_mb\": %.1f, \"cached_mb\": %.1f}\n",
        threads, epoch, secs, test_acc, rss_mb(), peak_rss_mb(), st.bytes_in_use / 1e6, st.peak_bytes_in_use / 1e6,
        st.cached_bytes / 1e6);
    std::fflush(stdout);
  }
  if (profile)
    for (const OpTiming& t : sess.op_timings())
      std::fprintf(stderr, "%-24s %8lld calls %9.4f s\n", t.op_type.c_str(), static_cast<long long>(t.calls), t.seconds);
  return 0;
}
