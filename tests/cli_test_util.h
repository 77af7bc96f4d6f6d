// Helpers of the `sluice` command tests: run the real binary as a subprocess, and a small
// MNIST-style CNN (conv, batch norm, pooling, dropout, dense; trained with Adam) written once
// per test process as a bundle, a graph file, a checkpoint and .npz/.npy files.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <sluice/sluice.h>

#include "tf_test_util.h"

namespace sluice::testing {

struct CliResult {
  int code = -1;
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `sluice ARGS...` and collects its exit code, stdout and stderr.
inline CliResult run_cli(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string base = ::testing::TempDir() + "/sluice_cli_" + std::to_string(getpid()) + "_" +
                           std::to_string(counter++);
  std::string cmd = shell_quote(SLUICE_CLI);
  for (const std::string& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(base + ".out") + " 2>" + shell_quote(base + ".err");
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

// A failed run the way every subcommand must fail: exit code 2, one line on stderr, naming
// the subcommand.
inline void expect_one_line_error(const CliResult& r, const std::string& sub) {
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("sluice " + sub + ": error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

struct CliArtifacts {
  std::string dir;
  std::string bundle, graph_file, checkpoint, npz, npy, input_npy;
  Tensor input;  // [4,28,28,1]
  int graph_nodes = 0;
};

inline Tensor random_tensor(const Shape& shape, uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(DType::f32, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = static_cast<float>(u(rng));
  return t;
}

inline const CliArtifacts& cli_artifacts() {
  static const CliArtifacts a = [] {
    CliArtifacts r;
    r.dir = ::testing::TempDir() + "/sluice_cli_models_" + std::to_string(getpid());
    std::filesystem::remove_all(r.dir);
    std::filesystem::create_directories(r.dir);
    static std::string dir_to_remove = r.dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir_to_remove, ec);
    });
    Graph g;
    g.set_random_seed(7);
    Scope root(g);
    Output img = ops::placeholder(root.named("img"), DType::f32, {-1, 28, 28, 1});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    layers::Conv2D conv(8, {3, 3});
    layers::BatchNormalization bn;
    layers::MaxPooling2D pool({2, 2});
    layers::Dropout drop1(0.25), drop2(0.5);
    layers::Flatten flatten;
    layers::Dense hidden(16, Activation::relu);
    layers::Dense out(10, Activation::softmax);
    Output h = pool(root, ops::relu(root, bn(root, conv(root, img))));
    Output probs = out(root.named("probs"), drop2(root, hidden(root, flatten(root, drop1(root, h)))));
    Output loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, probs));
    Operation train = optimizers::Adam(0.01).minimize(root, loss);
    Session sess(g, SessionOptions{1});
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    // A few training steps, then batch-norm statistics far from 0/1 so folding them matters.
    Tensor y = Tensor::zeros(DType::f32, {8, 10});
    for (int i = 0; i < 8; ++i) y.data<float>()[i * 10 + i % 10] = 1;
    for (int step = 0; step < 3; ++step)
      sess.run({{img, random_tensor({8, 28, 28, 1}, 100 + step, 0, 1)}, {labels, y}, {learning_phase(g), Tensor(true)}},
               {loss}, {train});
    sess.set_variable_value(bn.moving_mean().op().name(), random_tensor({8}, 11, -0.5, 0.5));
    sess.set_variable_value(bn.moving_variance().op().name(), random_tensor({8}, 12, 0.5, 2.0));
    sess.set_variable_value(bn.gamma().op().name(), random_tensor({8}, 13, 0.5, 1.5));
    const std::map<std::string, io::Signature> sigs = {{"serving_default", {{{"image", img}}, {{"probs", probs}}}}};
    r.bundle = r.dir + "/cnn_bundle";
    io::save_model(r.bundle, sess, sigs);
    r.graph_file = r.dir + "/cnn.json";
    io::write_graph(g, r.graph_file, sigs);
    r.checkpoint = r.dir + "/cnn.ckpt";
    std::vector<std::pair<std::string, Tensor>> vars;
    for (const Operation& v : g.global_variables()) vars.emplace_back(v.name(), sess.variable_value(v.name()));
    io::write_checkpoint(r.checkpoint, vars);
    r.npz = r.dir + "/arrays.npz";
    Tensor odd = Tensor::from_vector<float>({1, 2, std::nanf(""), 4, INFINITY, -INFINITY}, {2, 3});
    io::write_npz(r.npz, {{"odd", odd}, {"ints", Tensor::from_vector<int32_t>({1, 2, 3}, {3})}});
    r.npy = r.dir + "/ones.npy";
    io::write_npy(r.npy, Tensor::ones(DType::f64, {2, 2}));
    r.input = random_tensor({4, 28, 28, 1}, 99, 0, 1);
    r.input_npy = r.dir + "/input.npy";
    io::write_npy(r.input_npy, r.input);
    r.graph_nodes = g.num_operations();
    return r;
  }();
  return a;
}

// The file of an ONNX backend test case (Debian's libonnx-testdata), or "".
inline std::string onnx_testdata(const std::string& rel) {
  const std::string p = "/usr/share/libonnx-testdata/data/node/" + rel;
  return std::filesystem::exists(p) ? p : "";
}

}  // namespace sluice::testing
