// Chaining two models and shipping them as one bundle. A preprocessing graph turns raw
// uint8 images [N, 28, 28] into float features [N, 784] (/255, flattened); a classifier is
// trained on such features and frozen (its variables become constants). Both are written
// as graph files, then imported into one graph, the classifier's "input:0" mapped to the
// preprocessing's "features:0" (input_map). That graph is saved as a model bundle with the
// signature "serving_default": input "image" (uint8) -> output "scores". Finally the
// program starts itself again (a fresh process that knows no op names) with --load, which
// loads the bundle, runs it by signature on the test images and checks that the scores are
// bit-identical to those of the original, unfrozen, in-process classifier fed with
// features computed in C++.
//
//   chain_models [--data DIR] [--out DIR] [--epochs N] [--train N]
//   chain_models --load BUNDLE_DIR --expect FILE      (what the first form runs)
#include <sluice/sluice.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>

extern char** environ;

using namespace sluice;

namespace {

// The second process: knows the bundle folder and a checkpoint of expected results only.
int load_and_check(const std::string& bundle, const std::string& expect_file) {
  io::LoadedModel model = io::load_model(bundle);
  const io::Signature& sig = model.signature("serving_default");
  std::printf("[fresh process %d] loaded %s: signature serving_default, input 'image' %s%s -> output 'scores' %s%s\n",
              static_cast<int>(::getpid()), bundle.c_str(), dtype_name(sig.inputs.at("image").dtype()),
              sig.inputs.at("image").shape().to_string().c_str(), dtype_name(sig.outputs.at("scores").dtype()),
              sig.outputs.at("scores").shape().to_string().c_str());
  const Tensor images = io::load_variable(expect_file, "images");
  const Tensor want = io::load_variable(expect_file, "scores");
  const Tensor labels = io::load_variable(expect_file, "labels");
  const Tensor scores = model.run("serving_default", {{"image", images}}).at("scores");
  const bool same = scores.equals(want);
  std::printf("[fresh process] %lld images: scores %s the original model's; accuracy %.4f\n",
              static_cast<long long>(images.dim(0)), same ? "bit-identical to" : "DIFFERENT from",
              io::accuracy(scores, labels));
  return same ? 0 : 1;
}

// Runs this program again with `args`; returns its exit status.
int run_self(const std::vector<std::string>& args) {
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) throw FailedPrecondition("cannot find this program's path (/proc/self/exe)");
  exe[n] = '\0';
  std::vector<char*> argv{exe};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);
  pid_t pid = 0;
  if (posix_spawn(&pid, exe, nullptr, nullptr, argv.data(), environ) != 0)
    throw FailedPrecondition(std::string("cannot start ") + exe);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) throw FailedPrecondition("waitpid failed");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Chain a preprocessing graph and a frozen classifier into one model bundle"};
  std::string data_dir = io::kDefaultFashionMnistDir, out_dir, load_dir, expect_file;
  int epochs = 1;
  int64_t train_n = 30000, batch = 100;
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--out", out_dir, "folder for graph files and the bundle (default: a temporary one)");
  app.add_option("--epochs", epochs, "training epochs")->capture_default_str();
  app.add_option("--train", train_n, "training examples used")->capture_default_str();
  app.add_option("--load", load_dir, "load this bundle and check it against --expect (second process)");
  app.add_option("--expect", expect_file, "checkpoint with images, labels and expected scores");
  CLI11_PARSE(app, argc, argv);

  if (!load_dir.empty()) {
    try {
      return load_and_check(load_dir, expect_file);
    } catch (const Error& e) {
      std::fprintf(stderr, "[fresh process] error (%s): %s\n", error_code_name(e.code()), e.what());
      return 1;
    }
  }

  const bool temp_out = out_dir.empty();
  if (temp_out) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice_chain_XXXXXX").string();
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
    train_n = std::min(train_n, train_x.dim(0));

    // 1. The classifier, trained on features, then frozen.
    Graph cg;
    cg.set_random_seed(7);
    Scope croot(cg);
    Output input = ops::placeholder(croot.named("input"), DType::f32, {-1, 784});
    layers::Dense hidden(128, Activation::relu), out(10, Activation::softmax);
    Output softmax = out(croot, hidden(croot, input));
    Output probs = ops::identity(croot.named("probs"), softmax);
    Output labels = ops::placeholder(croot.named("labels"), DType::f32, {-1, 10});
    Output loss = ops::mean(croot, losses::categorical_crossentropy(croot, labels, softmax));
    optimizers::Adam adam(0.001);
    Operation train = adam.minimize(croot, loss);
    Session sess(cg);
    sess.run({}, {}, {ops::global_variables_initializer(croot)});
    std::vector<int64_t> order(static_cast<size_t>(train_n));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(7);
    for (int e = 0; e < epochs; ++e) {
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t b = 0; b < order.size(); b += static_cast<size_t>(batch)) {
        const size_t end = std::min(order.size(), b + static_cast<size_t>(batch));
        sess.run({{input, io::gather_rows(train_x, order, b, end)}, {labels, io::gather_rows(train_y, order, b, end)}}, {}, {train});
      }
    }
    const Tensor reference = sess.run({{input, io::scale_images(data.test_images, {784})}}, {probs})[0];
    std::printf("classifier trained on %lld images: test accuracy %.4f\n", static_cast<long long>(train_n),
                io::accuracy(reference, data.test_labels));
    const Graph frozen = io::freeze_graph(sess, {"probs"});
    const std::string classifier_file = out_dir + "/classifier_frozen.json";
    io::write_graph(frozen, classifier_file);
    std::printf("frozen: %d operations (was %d), no variables; written to %s\n", frozen.num_operations(),
                cg.num_operations(), classifier_file.c_str());

    // 2. The preprocessing graph.
    const std::string preprocess_file = out_dir + "/preprocess.json";
    {
      Graph pg;
      Scope p(pg);
      Output image = ops::placeholder(p.named("image"), DType::u8, {-1, 28, 28});
      Output scaled = ops::div(p, ops::cast(p, image, DType::f32), ops::constant(p, Tensor(255.0f)));
      ops::reshape(p.named("features"), scaled, {-1, 784});
      io::write_graph(pg, preprocess_file);
    }

    // 3. Chain them: the classifier's input is the preprocessing's output.
    Graph chain;
    io::ImportOptions pre;
    pre.prefix = "preprocess";
    pre.return_elements = {"image:0", "features:0"};
    io::ImportResult p = io::import_graph_file(chain, preprocess_file, pre);
    io::ImportOptions cls;
    cls.prefix = "classifier";
    cls.input_map = {{"input:0", p.tensors[1]}};
    cls.return_elements = {"probs:0"};
    Output scores = io::import_graph_file(chain, classifier_file, cls).tensors[0];
    Session chained(chain);  // nothing to initialise: the classifier is frozen
    const Tensor test_images = data.test_images;
    const Tensor in_process = chained.run({{p.tensors[0], test_images}}, {scores})[0];
    const bool same = in_process.equals(reference);
    std::printf("chained graph (%d operations) in this process: scores %s the original model's\n",
                chain.num_operations(), same ? "bit-identical to" : "DIFFERENT from");
    if (!same) rc = 1;

    // 4. One bundle, then a fresh process that loads and runs it by signature name.
    const std::string bundle = out_dir + "/bundle";
    std::filesystem::remove_all(bundle);
    io::save_model(bundle, chained, {{"serving_default", {{{"image", p.tensors[0]}}, {{"scores", scores}}}}});
    const std::string expect = out_dir + "/expected.ckpt";
    io::write_checkpoint(expect, {{"images", test_images}, {"labels", data.test_labels}, {"scores", reference}});
    std::printf("bundle saved to %s; starting a fresh process to load it\n", bundle.c_str());
    const int child = run_self({"--load", bundle, "--expect", expect});
    std::printf("fresh process exited with %d\n", child);
    if (child != 0) rc = 1;
    std::printf("chain_models: %s\n", rc == 0 ? "OK" : "FAILED");
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
