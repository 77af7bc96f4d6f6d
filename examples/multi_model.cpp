// Serving two different models from one process. Two bundles with different architectures
// and signatures are trained briefly and saved, then loaded side by side (each LoadedModel
// owns its graph and session: no global state to collide). Every request (a different
// slice of the test set each) is first answered alone, single-threaded, as the reference;
// then several threads send all requests again at once, alternating between the two
// models, and every answer must be bit-identical to its reference. The last line is
// "multi_model: N/N answers bit-identical".
//
//   multi_model [--data DIR] [--out DIR] [--threads N] [--requests N] [--batch N]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <thread>

using namespace sluice;

namespace {

// Runs `steps` training steps on random batches of 100 training images (u8) and labels.
void train(Session& sess, Output image, Output labels, Operation step, const io::MnistData& data, int steps,
           uint64_t seed) {
  const Tensor y = io::one_hot_labels(data.train_labels, 10);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, data.train_images.dim(0) / 100 - 1);
  for (int s = 0; s < steps; ++s) {
    const int64_t b = pick(rng) * 100;
    sess.run({{image, io::slice_rows(data.train_images, b, b + 100)}, {labels, io::slice_rows(y, b, b + 100)},
              {learning_phase(sess.graph()), Tensor(true)}},
             {}, {step});
  }
}

// Model A, "classifier": image u8 [?,28,28] -> /255 -> Dense(128, relu) -> Dropout(0.2)
// -> Dense(10, softmax). Signature "serving_default": {image} -> {scores}.
void save_classifier(const io::MnistData& data, const std::string& dir) {
  Graph g;
  g.set_random_seed(11);
  Scope root(g);
  Output image = ops::placeholder(root.named("image"), DType::u8, {-1, 28, 28});
  Output x = ops::div(root, ops::cast(root, image, DType::f32), ops::constant(root, Tensor(255.0f)));
  layers::Flatten flat;
  layers::Dense hidden(128, Activation::relu), out(10, Activation::softmax);
  layers::Dropout drop(0.2);
  Output probs = out(root, drop(root, hidden(root, flat(root, x))));
  Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
  optimizers::Adam adam(0.001);
  Operation step = adam.minimize(root, ops::mean(root, losses::categorical_crossentropy(root, labels, probs)));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  train(sess, image, labels, step, data, 300, 1);
  io::save_model(dir, sess, {{"serving_default", {{{"image", image}}, {{"scores", probs}}}}});
}

// Model B, "small": pixels u8 [?,28,28] -> /255 -> mean over rows and columns (56
// features) -> Dense(32, tanh) -> Dense(10, softmax). Signature "classify": {pixels} ->
// {probs, label (int64 argmax)}.
void save_small(const io::MnistData& data, const std::string& dir) {
  Graph g;
  g.set_random_seed(22);
  Scope root(g);
  Output pixels = ops::placeholder(root.named("pixels"), DType::u8, {-1, 28, 28});
  Output x = ops::div(root, ops::cast(root, pixels, DType::f32), ops::constant(root, Tensor(255.0f)));
  Output feats = ops::concat(root, {ops::mean(root, x, {1}), ops::mean(root, x, {2})}, 1);
  layers::Dense hidden(32, Activation::tanh), out(10, Activation::softmax);
  Output probs = out(root, hidden(root, feats));
  Output label = ops::argmax(root.named("label"), probs, 1);
  Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
  optimizers::Adam adam(0.01);
  Operation step = adam.minimize(root, ops::mean(root, losses::categorical_crossentropy(root, labels, probs)));
  Session sess(g);
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  train(sess, pixels, labels, step, data, 300, 2);
  io::save_model(dir, sess, {{"classify", {{{"pixels", pixels}}, {{"probs", probs}, {"label", label}}}}});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serve two model bundles from several threads; check every answer"};
  std::string data_dir = io::kDefaultFashionMnistDir, out_dir;
  int threads = 4, requests = 200;
  int64_t batch = 16;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--out", out_dir, "folder for the two bundles (default: a temporary one)");
  app.add_option("--threads", threads, "client threads")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--requests", requests, "requests per thread")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--batch", batch, "images per request")->capture_default_str()->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  const bool temp_out = out_dir.empty();
  if (temp_out) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice_multi_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    out_dir = tmpl;
  }
  int rc = 0;
  try {
    const io::MnistData data = io::load_mnist(data_dir);
    for (const char* name : {"/classifier", "/small"}) std::filesystem::remove_all(out_dir + name);
    save_classifier(data, out_dir + "/classifier");
    save_small(data, out_dir + "/small");

    // Both bundles in one process, each with its own graph and session.
    const io::LoadedModel a = io::load_model(out_dir + "/classifier");
    const io::LoadedModel b = io::load_model(out_dir + "/small");
    const Tensor& test = data.test_images;
    std::printf("loaded classifier (%d ops, accuracy %.4f) and small (%d ops, accuracy %.4f)\n",
                a.graph().num_operations(),
                io::accuracy(a.run("serving_default", {{"image", test}}).at("scores"), data.test_labels),
                b.graph().num_operations(), io::accuracy(b.run("classify", {{"pixels", test}}).at("probs"), data.test_labels));

    // Request i: model i % 2, images [off, off + batch) with off depending on i.
    const int total = threads * requests;
    const int64_t n_test = test.dim(0);
    auto request_input = [&](int i) {
      const int64_t off = (static_cast<int64_t>(i) * 37) % (n_test - batch);
      return io::slice_rows(test, off, off + batch);
    };
    auto answer = [&](int i) -> std::map<std::string, Tensor> {
      return i % 2 == 0 ? a.run("serving_default", {{"image", request_input(i)}})
                        : b.run("classify", {{"pixels", request_input(i)}});
    };
    std::vector<std::map<std::string, Tensor>> reference(static_cast<size_t>(total));
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < total; ++i) reference[static_cast<size_t>(i)] = answer(i);
    const double alone = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::atomic<int> same{0}, different{0};
    std::vector<std::thread> pool;
    t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int r = 0; r < requests; ++r) {
          const int i = r * threads + t;  // every thread alternates between the two models
          try {
            const auto got = answer(i);
            bool ok = got.size() == reference[static_cast<size_t>(i)].size();
            for (const auto& [key, value] : got) ok = ok && value.equals(reference[static_cast<size_t>(i)].at(key));
            ++(ok ? same : different);
          } catch (const Error& e) {
            std::fprintf(stderr, "request %d: %s\n", i, e.what());
            ++different;
          }
        }
      });
    }
    for (auto& th : pool) th.join();
    const double together = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%d requests of %lld images: %.3f s one at a time, %.3f s from %d threads\n", total,
                static_cast<long long>(batch), alone, together, threads);
    if (different.load() != 0) rc = 1;
    std::printf("multi_model: %d/%d answers bit-identical\n", same.load(), total);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    rc = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    rc = 1;
  }
  std::error_code ec;
  if (temp_out) std::filesystem::remove_all(out_dir, ec);
  return rc;
}
