// W7 (../shared/bench/WORKLOADS.md): the Keras mnist_cnn model trained for 200 steps on
// Fashion-MNIST, then its test accuracy:
//
//   conv 32 3x3 relu - conv 64 3x3 relu - maxpool 2x2 - dropout 0.25 - flatten
//   - dense 128 relu - dropout 0.5 - dense 10 softmax   (VALID convs, Adam 1e-3, batch 64)
//
// Each run builds a fresh graph and session with the same seed (same weights, dropout and
// shuffle), so runs are comparable and memory that grows from run to run would show.
// Before the timed runs one untimed warm-up run of --warmup-steps steps (own graph and
// session) warms the caches and the allocator, as the PyTorch peer does. Prints one JSON
// line per run; "seconds" covers the training steps only (feeding included; data loading,
// graph building, initialisation and the test pass excluded). The memory fields are read
// after the run's graph and session are gone (tensor_mb: what Sluice still holds, the
// data set included; peak_*: since the process started).
//   bench_train_cnn [--threads N] [--runs R] [--steps N] [--warmup-steps N] [--data DIR]
//                   [--seed N] [--profile]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

#include "process_memory.h"

using namespace sluice;
using bench::peak_rss_mb;
using bench::rss_mb;

namespace {

struct Data {
  Tensor train_x, train_y, test_x, test_y;  // images f32 [N, 28, 28, 1] in [0, 1], one-hot f32 [N, 10]
};

struct RunResult {
  double seconds = 0;        // the training steps
  double test_accuracy = 0;  // after them, dropout off
  double final_loss = 0;     // mean training loss of the last (up to) 20 steps
};

// One training run from scratch: `steps` Adam steps over a `seed`-shuffled training set.
RunResult train_once(const Data& data, int threads, int64_t seed, int64_t steps, bool profile) {
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
  layers::Dense hidden(128, Activation::relu), out(10, Activation::softmax);
  Output h = pool(root, conv2(root, conv1(root, img)));  // [?, 12, 12, 64]
  Output preds = out(root, drop2(root, hidden(root, flatten(root, drop1(root, h)))));
  Output loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, preds));
  Output acc = metrics::accuracy(root, labels, preds);
  optimizers::Adam adam(1e-3);
  Operation train = adam.minimize(root, loss);
  SessionOptions options;
  options.num_threads = threads;
  options.collect_op_timings = profile;
  Session sess(g, options);
  sess.run({}, {}, {ops::global_variables_initializer(root)});

  const int64_t batch = 64;
  std::vector<int64_t> order(static_cast<size_t>(data.train_x.dim(0)));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::shuffle(order.begin(), order.end(), rng);
  const Tensor yes(true);
  RunResult result;
  double loss_sum = 0;
  int64_t loss_count = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    // 200 steps use 12800 images; past an epoch (938 steps) the order is shuffled again.
    const int64_t per_epoch = static_cast<int64_t>(order.size()) / batch;
    if (s > 0 && s % per_epoch == 0) std::shuffle(order.begin(), order.end(), rng);
    const size_t b = static_cast<size_t>((s % per_epoch) * batch), e = b + batch;
    const Tensor l = sess.run({{img, io::gather_rows(data.train_x, order, b, e)},
                               {labels, io::gather_rows(data.train_y, order, b, e)},
                               {learning_phase(g), yes}},
                              {loss}, {train})[0];
    if (s >= steps - 20) {
      loss_sum += l.scalar<float>();
      ++loss_count;
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.final_loss = loss_sum / std::max<int64_t>(loss_count, 1);

  // Test accuracy in slices: all 10k test images at once would need ~1.5 GB of activations.
  const int64_t n = data.test_x.dim(0), slice = 500;
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  double correct = 0;
  for (int64_t b = 0; b < n; b += slice) {
    const size_t e = static_cast<size_t>(std::min(n, b + slice));
    const Tensor a = sess.run({{img, io::gather_rows(data.test_x, all, b, e)},
                               {labels, io::gather_rows(data.test_y, all, b, e)}},
                              {acc})[0];
    correct += a.scalar<float>() * static_cast<double>(e - b);
  }
  result.test_accuracy = correct / static_cast<double>(n);
  if (profile)
    for (const OpTiming& t : sess.op_timings())
      std::fprintf(stderr, "%-24s %8lld calls %9.4f s\n", t.op_type.c_str(), static_cast<long long>(t.calls),
                   t.seconds);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"W7: small CNN, 200 training steps"};
  int threads = 1, runs = 1;
  int64_t steps = 200, warmup_steps = 10, seed = 1;
  bool profile = false;
  std::string data_dir = io::kDefaultFashionMnistDir;
  app.add_option("--threads", threads, "intra-op threads (0: one per core)")->capture_default_str();
  app.add_option("--runs", runs, "timed runs, each from a fresh graph and session")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "training steps per run")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup-steps", warmup_steps, "steps of the untimed warm-up run (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "graph seed (weights, dropout, shuffling)")->capture_default_str();
  app.add_option("--data", data_dir, "folder with the four Fashion-MNIST IDX files")->capture_default_str();
  app.add_flag("--profile", profile, "print each run's per-op kernel times, test pass included (stderr)");
  CLI11_PARSE(app, argc, argv);

  try {
    const io::MnistData raw = io::load_mnist(data_dir);
    const Data data{io::scale_images(raw.train_images).reshaped({raw.train_images.dim(0), 28, 28, 1}),
                    io::one_hot_labels(raw.train_labels, 10),
                    io::scale_images(raw.test_images).reshaped({raw.test_images.dim(0), 28, 28, 1}),
                    io::one_hot_labels(raw.test_labels, 10)};
    SLUICE_REQUIRE(data.train_x.dim(0) >= 64, InvalidArgument, "W7 needs at least one batch of 64 training images");
    if (warmup_steps > 0) train_once(data, threads, seed, warmup_steps, false);
    for (int run = 1; run <= runs; ++run) {
      if (profile) std::fprintf(stderr, "# W7 run %d, %d threads: kernel times\n", run, threads);
      const RunResult r = train_once(data, threads, seed, steps, profile);
      const AllocatorStats st = allocator_stats();
      std::printf(
          "{\"workload\": \"W7\", \"threads\": %d, \"run\": %d, \"steps\": %lld, \"warmup_steps\": %lld, "
          "\"seconds\": %.4f, \"test_accuracy\": %.4f, \"final_loss\": %.4f, \"rss_mb\": %.1f, "
          "\"peak_rss_mb\": %.1f, \"tensor_mb\": %.1f, \"peak_tensor_mb\": %.1f, \"cached_mb\": %.1f}\n",
          threads, run, static_cast<long long>(steps), static_cast<long long>(warmup_steps), r.seconds,
          r.test_accuracy, r.final_loss, rss_mb(), peak_rss_mb(), st.bytes_in_use / 1e6, st.peak_bytes_in_use / 1e6,
          st.cached_bytes / 1e6);
      std::fflush(stdout);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
