// Data-parallel training of the MNIST MLP (784-128-128-10, as examples/mnist_mlp.cpp) on
// several processes, Horovod-style:
//
//   mpirun -np 2 --allow-run-as-root --oversubscribe build/examples/mnist_distributed
//
// Every rank trains on its shard of each epoch's shuffled order (distributed::shard_order)
// with batch --batch, gradients are averaged across ranks (optimizers::Distributed), rank 0's
// initial weights are broadcast. Each rank prints its throughput; rank 0 prints the test
// accuracy, last line "test accuracy: 0.XXXX". Without mpirun it trains as one process.
//
//   mnist_distributed [--data DIR] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]
//                     [--seed N] [--threads N] [--limit N] [--checkpoint FILE]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

using namespace sluice;

int main(int argc, char** argv) {
  CLI::App app{"Train the MNIST MLP on several processes (mpirun) with Sluice"};
  std::string data_dir = io::kDefaultFashionMnistDir, optimizer = "adam", checkpoint;
  int epochs = 3, threads = 1;
  int64_t batch = 64, seed = 1, limit = 0;
  double lr = -1;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--batch", batch, "examples per step and rank")->capture_default_str();
  app.add_option("--lr", lr, "learning rate (default: 0.001 for adam, 0.1 for sgd)");
  app.add_option("--optimizer", optimizer, "sgd or adam")->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "graph seed and shuffling seed")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads per rank")->capture_default_str();
  app.add_option("--limit", limit, "use only the first N training images (0: all)")->capture_default_str();
  app.add_option("--checkpoint", checkpoint, "save the trained weights here (rank 0 writes)");
  CLI11_PARSE(app, argc, argv);
  if (lr < 0) lr = optimizer == "adam" ? 0.001 : 0.1;

  try {
    distributed::init();  // 1: start the engine (MPI when run by mpirun)
    const int rank = distributed::rank(), size = distributed::size();
    const io::MnistData data = io::load_mnist(data_dir);
    Tensor train_x = io::scale_images(data.train_images).reshaped({data.train_images.dim(0), 784});
    Tensor train_y = io::one_hot_labels(data.train_labels, 10);
    if (limit > 0 && limit < train_x.dim(0)) {
      train_x = io::slice_rows(train_x, 0, limit);
      train_y = io::slice_rows(train_y, 0, limit);
    }
    const Tensor test_x = io::scale_images(data.test_images).reshaped({data.test_images.dim(0), 784});
    const Tensor test_y = io::one_hot_labels(data.test_labels, 10);

    Graph g;
    g.set_random_seed(seed);
    Scope root(g);
    Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 784});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    layers::Dense hidden1(128, Activation::relu), hidden2(128, Activation::relu);
    layers::Dense out(10, Activation::softmax);
    Output preds = out(root, hidden2(root, hidden1(root, img)));
    Output loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, preds));
    Output acc = metrics::accuracy(root, labels, preds);
    // 2: average the gradients across ranks before the optimizer applies them.
    Operation train = optimizer == "adam"
                          ? optimizers::Distributed(optimizers::Adam(lr)).minimize(root, loss)
                          : optimizers::Distributed(optimizers::SGD(lr)).minimize(root, loss);

    Session sess(g, SessionOptions{threads});
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    distributed::broadcast_variables(sess);  // 3: every rank starts from rank 0's weights
    if (rank == 0)
      std::printf("sluice distributed MLP: %s; %lld train images, batch %lld per rank (%lld global), "
                  "%s lr %g, %d thread(s) per rank\n",
                  distributed::description().c_str(), static_cast<long long>(train_x.dim(0)),
                  static_cast<long long>(batch), static_cast<long long>(batch * size),
                  optimizer.c_str(), lr, threads);
    std::fflush(stdout);

    const Tensor yes(true);
    double test_acc = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      // Rank r's share of this epoch's order (the same shuffle on every rank).
      const std::vector<int64_t> shard = distributed::shard_order(train_x.dim(0), seed, epoch);
      const size_t steps = shard.size() / static_cast<size_t>(batch);  // equal on every rank
      distributed::reset_stats();
      const auto t0 = std::chrono::steady_clock::now();
      double loss_sum = 0;
      for (size_t s = 0; s < steps; ++s) {
        const size_t b = s * batch, e = b + static_cast<size_t>(batch);
        auto r = sess.run({{img, io::gather_rows(train_x, shard, b, e)},
                           {labels, io::gather_rows(train_y, shard, b, e)},
                           {learning_phase(g), yes}},
                          {loss}, {train});
        loss_sum += r[0].scalar<float>();
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const distributed::Stats st = distributed::stats();
      std::printf("rank %d epoch %d: %zu steps in %.2f s, %.1f ms/step, %.0f images/s on this rank, "
                  "loss %.4f, allreduce %.1f ms/step (%.0f%% hidden behind compute)\n",
                  rank, epoch, steps, secs, 1e3 * secs / std::max<size_t>(steps, 1),
                  steps * batch / secs, loss_sum / std::max<size_t>(steps, 1),
                  1e3 * st.collective_seconds / std::max<size_t>(steps, 1),
                  st.collective_seconds > 0 ? 100 * st.overlapped_seconds / st.collective_seconds : 0.0);
      std::fflush(stdout);
      if (rank == 0) {
        test_acc = sess.run({{img, test_x}, {labels, test_y}}, {acc})[0].scalar<float>();
        std::printf("epoch %d: test accuracy %.4f (%.0f images/s over %d ranks)\n", epoch, test_acc,
                    size * steps * batch / secs, size);
        std::fflush(stdout);
      }
    }
    if (!checkpoint.empty()) distributed::save_checkpoint(sess, checkpoint);
    if (rank == 0) std::printf("test accuracy: %.4f\n", test_acc);
    distributed::shutdown();
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
