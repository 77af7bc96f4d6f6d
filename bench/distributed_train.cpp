// Data-parallel training throughput (issue 15): the MNIST MLP (784-128-128-10) and the
// Keras mnist_cnn (conv32-conv64-maxpool-dense128-dense10, as bench/train_cnn.cpp) trained
// with optimizers::Distributed, one intra-op thread per process. Run it as one process and
// under mpirun to compare:
//
//   build/bench/bench_distributed_train --model mlp --steps 300
//   mpirun -np 2 --allow-run-as-root --oversubscribe --mca btl self,vader \
//       build/bench/bench_distributed_train --model mlp --steps 300
//
// Rank 0 prints one JSON line: step time, images/s over all ranks, time in transfers
// (background thread) and waiting (graph thread), the share of transfer time hidden behind
// computation, gradient bytes per step, and the process CPU time per step (all threads: on
// a shared machine wall time measures the scheduler as much as the code). SLUICE_TIMELINE=file writes the Horovod-style
// timeline (chrome://tracing) that shows the overlap.
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

using namespace sluice;

int main(int argc, char** argv) {
  CLI::App app{"Data-parallel training throughput (1 vs N processes)"};
  std::string model = "mlp", data_dir = io::kDefaultFashionMnistDir;
  int steps = 200, warmup = 20, threads = 1;
  int64_t batch = 64;
  app.add_option("--model", model, "mlp or cnn")->check(CLI::IsMember({"mlp", "cnn"}))->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str();
  app.add_option("--batch", batch, "examples per step and process")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads per process")->capture_default_str();
  app.add_option("--data", data_dir, "Fashion-MNIST folder")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    distributed::init();
    const int rank = distributed::rank(), size = distributed::size();
    const io::MnistData data = io::load_mnist(data_dir);
    const bool cnn = model == "cnn";
    const Tensor train_x = cnn ? io::scale_images(data.train_images, {28, 28, 1})
                               : io::scale_images(data.train_images, {784});
    const Tensor train_y = io::one_hot_labels(data.train_labels, 10);

    Graph g;
    g.set_random_seed(1);
    Scope root(g);
    Output img = cnn ? ops::placeholder(root.named("img"), DType::f32, {-1, 28, 28, 1})
                     : ops::placeholder(root.named("img"), DType::f32, {-1, 784});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    Output preds;
    if (cnn) {
      layers::Conv2D conv1(32, {3, 3}, {1, 1}, Padding::valid, Activation::relu);
      layers::Conv2D conv2(64, {3, 3}, {1, 1}, Padding::valid, Activation::relu);
      layers::MaxPooling2D pool({2, 2});
      layers::Flatten flatten;
      layers::Dense hidden(128, Activation::relu), out(10, Activation::softmax);
      preds = out(root, hidden(root, flatten(root, pool(root, conv2(root, conv1(root, img))))));
    } else {
      layers::Dense h1(128, Activation::relu), h2(128, Activation::relu), out(10, Activation::softmax);
      preds = out(root, h2(root, h1(root, img)));
    }
    Output loss = ops::mean(root, losses::categorical_crossentropy(root, labels, preds));
    Operation train = optimizers::Distributed(optimizers::Adam(1e-3)).minimize(root, loss);
    int64_t grad_bytes = 0;
    for (const Operation& v : g.trainable_variables())
      grad_bytes += v.output(0).shape().num_elements() * 4;

    Session sess(g, SessionOptions{threads});
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    distributed::broadcast_variables(sess);
    const std::vector<int64_t> shard = distributed::shard_order(train_x.dim(0), 1, 0);
    const Tensor yes(true);
    auto step = [&](int s) {
      const size_t b = (static_cast<size_t>(s) * batch) % (shard.size() - batch);
      sess.run({{img, io::gather_rows(train_x, shard, b, b + batch)},
                {labels, io::gather_rows(train_y, shard, b, b + batch)},
                {learning_phase(g), yes}},
               {}, {train});
    };
    for (int s = 0; s < warmup; ++s) step(s);
    distributed::reset_stats();
    auto cpu_seconds = [] {
      timespec ts;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return ts.tv_sec + 1e-9 * ts.tv_nsec;
    };
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) step(warmup + s);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu_ms = 1e3 * (cpu_seconds() - cpu0) / steps;
    const distributed::Stats st = distributed::stats();
    const double step_ms = 1e3 * secs / steps;
    const double wait_ms = 1e3 * st.wait_seconds / steps;
    if (rank == 0)
      std::printf("{\"model\": \"%s\", \"processes\": %d, \"threads_per_process\": %d, \"batch_per_process\": %lld, "
                  "\"steps\": %d, \"step_ms\": %.3f, \"images_per_s\": %.0f, \"compute_ms\": %.3f, "
                  "\"allreduce_ms\": %.3f, \"wait_ms\": %.3f, \"hidden_pct\": %.1f, \"transfers_per_step\": %.2f, "
                  "\"grad_bytes\": %lld, \"cpu_ms_per_step\": %.3f}\n",
                  model.c_str(), size, threads, static_cast<long long>(batch), steps, step_ms,
                  size * batch * steps / secs, step_ms - wait_ms, 1e3 * st.collective_seconds / steps, wait_ms,
                  st.collective_seconds > 0 ? 100 * st.overlapped_seconds / st.collective_seconds : 0.0,
                  static_cast<double>(st.fused_batches) / steps, static_cast<long long>(grad_bytes), cpu_ms);
    distributed::shutdown();
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
