// An ensemble of three MLPs in one graph. Three copies of one architecture are trained from
// different seeds and saved as three checkpoints plus one graph file. A new graph imports
// the graph file three times under model_001/, model_002/ and model_003/, all reading one
// input placeholder (input_map), restores each checkpoint into its scope
// (restore_into_scope) and averages the three softmax outputs in-graph. The program checks
// that every member, run inside the ensemble graph, gives bit-identical output to the model
// it came from, and reports member and ensemble accuracy on the test set. The last line is
// "ensemble accuracy: 0.XXXX (members 0.XXXX 0.XXXX 0.XXXX)".
//
//   ensemble [--data DIR] [--out DIR] [--epochs N] [--train N] [--threads N]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <random>
#include <unistd.h>

using namespace sluice;

namespace {

constexpr int kMembers = 3;

// The shared architecture: input [?, 784] -> Dense(128, relu) -> Dropout(0.2) ->
// Dense(10, softmax) -> "probs". Returns the softmax (the loss reads its logits) and names
// an identity of it "probs" for importers.
Output build_mlp(const Scope& root, Output* input) {
  *input = ops::placeholder(root.named("input"), DType::f32, {-1, 784});
  layers::Dense hidden(128, Activation::relu);
  layers::Dropout drop(0.2);
  layers::Dense out(10, Activation::softmax);
  Output probs = out(root, drop(root, hidden(root, *input)));
  ops::identity(root.named("probs"), probs);
  return probs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train three MLPs, import them into one graph as an ensemble, compare"};
  std::string data_dir = io::kDefaultFashionMnistDir, out_dir;
  int epochs = 1, threads = 0;
  int64_t train_n = 60000, batch = 100;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--out", out_dir, "folder for the graph file and checkpoints (default: a temporary one)");
  app.add_option("--epochs", epochs, "training epochs per member")->capture_default_str();
  app.add_option("--train", train_n, "training examples used")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (0: one per core)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const bool temp_out = out_dir.empty();
  if (temp_out) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice_ensemble_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    out_dir = tmpl;
  }
  int rc = 0;
  try {
    std::filesystem::create_directories(out_dir);
    const io::MnistData data = io::load_mnist(data_dir);
    const Tensor train_x = io::scale_images(data.train_images, {784}), train_y = io::one_hot_labels(data.train_labels, 10);
    const Tensor test_x = io::scale_images(data.test_images, {784});
    train_n = std::min(train_n, train_x.dim(0));
    std::printf("ensemble of %d MLPs on %s: %lld train / %lld test images, %d epoch(s) each\n", kMembers,
                data_dir.c_str(), static_cast<long long>(train_n), static_cast<long long>(test_x.dim(0)), epochs);

    // 1. Train the members: same architecture, different seeds. Keep each one's test-set
    //    output to compare with the ensemble graph later.
    std::vector<Tensor> member_probs;
    std::vector<std::string> checkpoints;
    for (int m = 1; m <= kMembers; ++m) {
      const auto t0 = std::chrono::steady_clock::now();
      Graph g;
      g.set_random_seed(1000 + m);
      Scope root(g);
      Output img;
      Output probs = build_mlp(root, &img);
      Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
      Output loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, probs));
      optimizers::Adam adam(0.001);
      Operation train = adam.minimize(root, loss);
      Session sess(g, SessionOptions{threads});
      sess.run({}, {}, {ops::global_variables_initializer(root)});
      std::vector<int64_t> order(static_cast<size_t>(train_n));
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 rng(static_cast<uint64_t>(m));
      for (int e = 0; e < epochs; ++e) {
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t b = 0; b < order.size(); b += static_cast<size_t>(batch)) {
          const size_t end = std::min(order.size(), b + static_cast<size_t>(batch));
          sess.run({{img, io::gather_rows(train_x, order, b, end)}, {labels, io::gather_rows(train_y, order, b, end)},
                    {learning_phase(g), Tensor(true)}},
                   {}, {train});
        }
      }
      member_probs.push_back(sess.run({{img, test_x}}, {"probs:0"})[0]);
      // The weights only (not Adam's slots): that is all an inference graph restores.
      checkpoints.push_back(out_dir + "/member_" + std::to_string(m) + ".ckpt");
      io::Saver(g.trainable_variables()).save(sess, checkpoints.back());
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("member %d (seed %d): trained in %.2f s, test accuracy %.4f, saved %s\n", m, 1000 + m, secs,
                  io::accuracy(member_probs.back(), data.test_labels), checkpoints.back().c_str());
    }

    // 2. The architecture alone (no loss, no optimizer) as a graph file.
    const std::string graph_file = out_dir + "/mlp.json";
    {
      Graph arch;
      Output unused;
      build_mlp(Scope(arch), &unused);
      io::write_graph(arch, graph_file);
    }
    std::printf("architecture written to %s\n", graph_file.c_str());

    // 3. One graph: the architecture imported three times, sharing one input, with the
    //    average of the three outputs. Every imported model follows the graph's one
    //    learning-phase flag, learning_phase(ens), without mapping it by hand.
    Graph ens;
    Scope root(ens);
    Output x = ops::placeholder(root.named("input"), DType::f32, {-1, 784});
    std::vector<Output> outs;
    for (int m = 1; m <= kMembers; ++m) {
      io::ImportOptions opt;
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "model_%03d", m);
      opt.prefix = prefix;
      opt.input_map = {{"input:0", x}};
      opt.return_elements = {"probs:0"};
      outs.push_back(io::import_graph_file(ens, graph_file, opt).tensors[0]);
    }
    Output avg = ops::div(root.named("ensemble_probs"), ops::add_n(root, outs),
                          ops::constant(root, Tensor(static_cast<float>(kMembers))));
    Session se(ens, SessionOptions{threads});
    for (int m = 1; m <= kMembers; ++m) {
      char prefix[16];
      std::snprintf(prefix, sizeof prefix, "model_%03d", m);
      io::restore_into_scope(se, checkpoints[m - 1], prefix);
    }
    std::printf("ensemble graph: %d operations, variables %s ... %s\n", ens.num_operations(),
                ens.global_variables().front().name().c_str(), ens.global_variables().back().name().c_str());

    // 4. Check and report.
    const auto t0 = std::chrono::steady_clock::now();
    auto r = se.run({{x, test_x}}, {outs[0], outs[1], outs[2], avg});
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> accs;
    for (int m = 0; m < kMembers; ++m) {
      const bool same = r[m].equals(member_probs[m]);
      accs.push_back(io::accuracy(r[m], data.test_labels));
      std::printf("model_%03d in the ensemble graph: accuracy %.4f, output %s the original model's\n", m + 1,
                  accs.back(), same ? "bit-identical to" : "DIFFERENT from");
      if (!same) rc = 1;
    }
    const double ens_acc = io::accuracy(r[kMembers], data.test_labels);
    const double mean_acc = std::accumulate(accs.begin(), accs.end(), 0.0) / kMembers;
    std::printf("ensemble inference over %lld images: %.3f s; ensemble %+.4f vs the mean member\n",
                static_cast<long long>(test_x.dim(0)), secs, ens_acc - mean_acc);
    if (ens_acc < mean_acc) {
      std::fprintf(stderr, "error: the ensemble is less accurate than its average member\n");
      rc = 1;
    }
    std::printf("ensemble accuracy: %.4f (members %.4f %.4f %.4f)\n", ens_acc, accs[0], accs[1], accs[2]);
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
