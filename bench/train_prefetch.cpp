// Dataset prefetch overlap: one epoch of the MNIST MLP (Sequential 784-128-128-10, Adam,
// batch 128) on Fashion-MNIST, fed by a models::Dataset whose map function is deliberately
// slow (per batch: a fixed wait standing in for I/O or decoding, --map-ms; optionally
// Gaussian pixel noise, --noise, CPU work that competes with the step for the cores).
// Four timings, each one epoch:
//   train_only:     the batches prepared beforehand, no map (the training steps alone)
//   pipeline_only:  the pipeline iterated without training (the map's cost alone)
//   no_prefetch:    fit(ds)              -- map and step take turns
//   prefetch:       fit(ds.prefetch(2))  -- the next batch is mapped during the step
// With overlap, prefetch approaches max(train_only, pipeline_only) instead of their sum.
// Before timing, the two fits are checked to give bit-identical weights (same batches).
// Prints one JSON line.
//   bench_train_prefetch [--data DIR] [--train N] [--map-ms MS] [--noise STD] [--seed N]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

using namespace sluice;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<models::Sequential> mlp(int64_t seed) {
  auto m = std::make_unique<models::Sequential>(std::vector<models::LayerRef>{
      layers::Dense(128, Activation::relu), layers::Dense(128, Activation::relu),
      layers::Dense(10, Activation::softmax)});
  m->graph().set_random_seed(seed);
  m->build({784});
  m->compile(models::adam(0.001), "categorical_crossentropy", {"accuracy"});
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Dataset prefetch overlap: an MLP epoch with a slow map function"};
  std::string data_dir = io::kDefaultFashionMnistDir;
  int64_t train_n = 0, seed = 1;
  double map_ms = 2.0, noise_std = 0.0;
  app.add_option("--data", data_dir);
  app.add_option("--train", train_n, "first N training images only (0: all 60000)");
  app.add_option("--map-ms", map_ms, "the map's fixed wait per batch, milliseconds")->capture_default_str();
  app.add_option("--noise", noise_std, "also add Gaussian pixel noise of this std in the map (CPU work)")->capture_default_str();
  app.add_option("--seed", seed);
  CLI11_PARSE(app, argc, argv);
  try {
    const io::MnistData data = io::load_mnist(data_dir);
    Tensor x = io::scale_images(data.train_images).reshaped({data.train_images.dim(0), 784});
    Tensor y = io::one_hot_labels(data.train_labels, 10);
    if (train_n > 0) x = io::slice_rows(x, 0, train_n), y = io::slice_rows(y, 0, train_n);
    const int64_t batch = 128;

    // The slow map: noise from a generator seeded by the batch's first pixel sum (so the
    // result does not depend on which thread runs it), then the wait.
    const auto wait = std::chrono::microseconds(static_cast<int64_t>(map_ms * 1000));
    auto slow_map = [wait, noise_std](models::Element e) {
      std::this_thread::sleep_for(wait);
      if (noise_std <= 0) return e;
      Tensor noisy = e.x[0].clone();
      float* p = noisy.data<float>();
      uint64_t key = 0;
      for (int64_t i = 0; i < std::min<int64_t>(noisy.num_elements(), 784); ++i) key = key * 31 + static_cast<uint64_t>(p[i] * 255);
      std::mt19937_64 rng(key);
      std::normal_distribution<float> noise(0.0f, static_cast<float>(noise_std));
      for (int64_t i = 0; i < noisy.num_elements(); ++i) p[i] = std::min(1.0f, std::max(0.0f, p[i] + noise(rng)));
      e.x[0] = noisy;
      return e;
    };
    const models::Dataset base = models::Dataset::from_tensors({x}, {y}).batch(batch);
    const models::Dataset slow = base.map(slow_map);
    models::FitOptions opt;
    opt.verbose = 0;

    // Check: prefetching changes nothing but the timing.
    {
      auto a = mlp(seed), b = mlp(seed);
      a->fit(slow.take(20), opt);
      b->fit(slow.take(20).prefetch(2), opt);
      const std::vector<Tensor> wa = a->get_weights(), wb = b->get_weights();
      for (size_t i = 0; i < wa.size(); ++i)
        if (std::memcmp(wa[i].raw_data(), wb[i].raw_data(), wa[i].num_bytes()) != 0) {
          std::fprintf(stderr, "error (check): prefetch changed weight %zu\n", i);
          return 1;
        }
    }

    // train_only: the mapped batches made beforehand.
    std::vector<Tensor> xs, ys;
    {
      auto it = slow.iterate(0);
      while (auto e = it->next()) xs.push_back(e->x[0]), ys.push_back(e->y[0]);
    }
    auto warm = mlp(seed);
    warm->fit(base.take(5), opt);  // first-run costs (plans, allocations) outside the timings
    auto m0 = mlp(seed);
    m0->train_on_batch({xs[0]}, {ys[0]});
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < xs.size(); ++i) m0->train_on_batch({xs[i]}, {ys[i]});
    const double train_only = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    {
      auto it = slow.iterate(0);
      while (it->next()) {
      }
    }
    const double pipeline_only = seconds_since(t0);

    auto m1 = mlp(seed);
    m1->train_on_batch({xs[0]}, {ys[0]});
    t0 = std::chrono::steady_clock::now();
    m1->fit(slow, opt);
    const double no_prefetch = seconds_since(t0);

    auto m2 = mlp(seed);
    m2->train_on_batch({xs[0]}, {ys[0]});
    t0 = std::chrono::steady_clock::now();
    const models::History h = m2->fit(slow.prefetch(2), opt);
    const double prefetch = seconds_since(t0);

    std::printf(
        "{\"workload\": \"dataset_prefetch\", \"examples\": %lld, \"batches\": %zu, \"map_ms\": %.3f, "
        "\"train_only_seconds\": %.4f, \"pipeline_only_seconds\": %.4f, \"no_prefetch_seconds\": %.4f, "
        "\"prefetch_seconds\": %.4f, \"noise\": %.3f, \"speedup\": %.3f, \"overlap_fraction\": %.3f, \"train_accuracy\": %.4f}\n",
        static_cast<long long>(x.dim(0)), xs.size(), map_ms, train_only, pipeline_only, no_prefetch,
        prefetch, noise_std, no_prefetch / prefetch,
        // 1: the shorter of the two costs fully hidden; 0: none of it.
        (no_prefetch - prefetch) / std::max(1e-9, std::min(train_only, pipeline_only)),
        h.history.at("accuracy").back());
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
