// What io::optimize_for_inference (`sluice convert --optimize`) buys at inference: the MNIST
// CNN (conv + batch norm + relu + pool + dropout + dense relu + dense softmax) and the MNIST
// MLP (784-256-128-10 with dropout), trained for a few steps so batch norm's statistics are
// not trivial, then frozen, and timed frozen vs optimized on the same inputs. Runs of the
// two alternate (so load on a shared machine hits both alike); the median of `--runs` calls
// after warm-up is reported, with the ratio. One line per row:
//   "<model> batch <b> threads <t> nodes <frozen>-><optimized> frozen_ms <m> optimized_ms <m> speedup <x>"
// The optimized outputs are checked against the frozen ones first (max abs diff <= 1e-5).
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace sluice;

namespace {

Tensor uniform(const Shape& shape, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape.num_elements()));
  for (float& x : v) x = u(gen);
  return Tensor::from_vector(v, shape);
}

struct Built {
  io::GraphDef frozen;  // with signature serving_default: image -> probs
  Shape input;          // with batch -1
};

// A training graph, a few Adam steps on random data, then frozen.
Built build(const std::string& model) {
  Graph g;
  g.set_random_seed(7);
  Scope root(g);
  const bool cnn = model == "mnist_cnn";
  const Shape in = cnn ? Shape{-1, 28, 28, 1} : Shape{-1, 784};
  Output img = ops::placeholder(root.named("image"), DType::f32, in);
  Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
  layers::Conv2D conv1(32, {3, 3}), conv2(64, {3, 3});
  layers::BatchNormalization bn1, bn2;
  layers::MaxPooling2D pool({2, 2});
  layers::Dropout drop1(0.25), drop2(0.5);
  layers::Flatten flatten;
  layers::Dense h1(cnn ? 128 : 256, Activation::relu), h2(128, Activation::relu);
  layers::Dense out(10, Activation::softmax);
  Output probs;
  if (cnn) {
    Output h = ops::relu(root, bn1(root, conv1(root, img)));
    h = pool(root, ops::relu(root, bn2(root, conv2(root, h))));
    probs = out(root.named("probs"), drop2(root, h1(root, flatten(root, drop1(root, h)))));
  } else {
    probs = out(root.named("probs"), drop2(root, h2(root, drop1(root, h1(root, img)))));
  }
  Output loss = ops::mean(root, losses::categorical_crossentropy(root, labels, probs));
  Operation train = optimizers::Adam(0.01).minimize(root, loss);
  Session sess(g, SessionOptions{2});
  sess.run({}, {}, {ops::global_variables_initializer(root)});
  Tensor y = Tensor::zeros(DType::f32, {16, 10});
  for (int i = 0; i < 16; ++i) y.data<float>()[i * 10 + i % 10] = 1;
  std::vector<int64_t> dims = in.dims();
  dims[0] = 16;
  for (int step = 0; step < 5; ++step)
    sess.run({{img, uniform(Shape(dims), 100 + step, 0, 1)}, {labels, y}, {learning_phase(g), Tensor(true)}}, {loss},
             {train});
  const std::map<std::string, io::Signature> sigs = {{"serving_default", {{{"image", img}}, {{"probs", probs}}}}};
  const Graph frozen = io::freeze_graph(sess, {probs.name()});
  std::map<std::string, io::Signature> fsigs;
  fsigs["serving_default"] = {{{"image", frozen.tensor(img.name())}}, {{"probs", frozen.tensor(probs.name())}}};
  return {io::graph_to_def(frozen, fsigs), in};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Inference time of frozen vs optimize_for_inference'd models"};
  std::vector<std::string> models{"mnist_cnn", "mnist_mlp"};
  std::vector<int64_t> batches{1, 64};
  int threads = 1, runs = 50;
  app.add_option("--models", models, "mnist_cnn, mnist_mlp");
  app.add_option("--batch", batches, "batch sizes");
  app.add_option("--threads", threads, "intra-op threads");
  app.add_option("--runs", runs, "timed runs of each graph per row (the median is reported)");
  CLI11_PARSE(app, argc, argv);
  try {
    for (const std::string& name : models) {
      const Built b = build(name);
      io::OptimizeStats st;
      const io::GraphDef opt = io::optimize_for_inference(b.frozen, &st);
      Graph gf, go;
      io::import_graph_def(gf, b.frozen);
      io::import_graph_def(go, opt);
      Session sf(gf, SessionOptions{threads}), so(go, SessionOptions{threads});
      const std::string in = b.frozen.signatures.at("serving_default").inputs.at("image").name;
      const std::string out = b.frozen.signatures.at("serving_default").outputs.at("probs").name;
      for (int64_t batch : batches) {
        std::vector<int64_t> dims = b.input.dims();
        dims[0] = batch;
        const Tensor x = uniform(Shape(dims), 42, 0, 1);
        const Tensor want = sf.run({{in, x}}, {out})[0], got = so.run({{in, x}}, {out})[0];
        double diff = 0;
        for (int64_t i = 0; i < want.num_elements(); ++i)
          diff = std::max(diff, std::fabs(want.as_double(i) - got.as_double(i)));
        if (!(diff <= 1e-5)) {
          std::fprintf(stderr, "error (%s): optimized outputs differ by %g\n", name.c_str(), diff);
          return 1;
        }
        std::vector<double> tf, to;
        for (int i = 0; i < runs + 3; ++i) {
          for (int which = 0; which < 2; ++which) {
            Session& s = which == 0 ? sf : so;
            const auto t0 = std::chrono::steady_clock::now();
            s.run({{in, x}}, {out});
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (i >= 3) (which == 0 ? tf : to).push_back(ms);
          }
        }
        const double mf = median(tf), mo = median(to);
        std::printf("%s batch %lld threads %d nodes %d->%d frozen_ms %.3f optimized_ms %.3f speedup %.2f\n",
                    name.c_str(), static_cast<long long>(batch), threads, st.nodes_before, st.nodes_after, mf, mo,
                    mf / mo);
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
}
