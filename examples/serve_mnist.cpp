// Trains the MNIST MLP briefly, exports it as a bundle `sluice serve` can serve, and writes a
// TF Serving predict request of test-set images with the answers this process computes, so
// examples/serve_mnist.sh can check that the server answers the same.
//
//   serve_mnist --out DIR [--data DIR] [--epochs N] [--images N]
//     DIR/mnist/1/            bundle: serving_default {images f32[-1,784]} -> {classes i64[-1], scores f32[-1,10]}
//     DIR/request.json        {"instances": [{"images": [...784 pixels in [0,1]...]}, ...]}
//     DIR/expected_classes.txt   the in-process class of each image, one per line
// Last line: "test accuracy: 0.XXXX".
//
// The full pipeline (PNG bytes as base64 -> decode_png -> resize -> classifier) needs
// string tensors, which Sluice does not have yet; this example feeds pixels as JSON numbers.
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

using namespace sluice;

int main(int argc, char** argv) {
  CLI::App app{"Train the MNIST MLP and export it for `sluice serve`"};
  std::string data_dir = io::kDefaultFashionMnistDir, out_dir;
  int epochs = 1;
  int64_t images = 20;
  app.add_option("--out", out_dir, "folder to write the model base path and the request into")->required();
  app.add_option("--data", data_dir, "folder with the four IDX files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--images", images, "test images in the request")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    const io::MnistData data = io::load_mnist(data_dir);
    const Tensor train_x = io::scale_images(data.train_images).reshaped({data.train_images.dim(0), 784});
    const Tensor test_x = io::scale_images(data.test_images).reshaped({data.test_images.dim(0), 784});
    const Tensor train_y = io::one_hot_labels(data.train_labels, 10);
    const Tensor test_y = io::one_hot_labels(data.test_labels, 10);

    Graph g;
    g.set_random_seed(1);
    Scope root(g);
    Output img = ops::placeholder(root.named("images"), DType::f32, {-1, 784});
    Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 10});
    layers::Dense hidden1(128, Activation::relu), hidden2(128, Activation::relu);
    layers::Dense out(10, Activation::softmax);
    Output scores = out(root, hidden2(root, hidden1(root, img)));
    Output classes = ops::argmax(root.named("classes"), scores, 1);
    Output loss = ops::mean(root, losses::categorical_crossentropy(root, labels, scores));
    Output acc = metrics::accuracy(root, labels, scores);
    optimizers::Adam adam(0.001);
    Operation train = adam.minimize(root, loss);

    Session sess(g);
    sess.run({}, {}, {ops::global_variables_initializer(root)});
    std::vector<int64_t> order(static_cast<size_t>(train_x.dim(0)));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(1);
    const int64_t batch = 50;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t b = 0; b < order.size(); b += batch) {
        const size_t e = std::min(order.size(), b + static_cast<size_t>(batch));
        sess.run({{img, io::gather_rows(train_x, order, b, e)}, {labels, io::gather_rows(train_y, order, b, e)}}, {},
                 {train});
      }
    }
    const double test_acc = sess.run({{img, test_x}, {labels, test_y}}, {acc})[0].scalar<float>();

    const std::filesystem::path dir = out_dir;
    std::filesystem::create_directories(dir / "mnist");
    io::save_model((dir / "mnist" / "1").string(), sess,
                   {{"serving_default", {{{"images", img}}, {{"classes", classes}, {"scores", scores}}}}});

    // The request: the first `images` test images; the expected classes from this session.
    images = std::min(images, test_x.dim(0));
    std::vector<int64_t> first(static_cast<size_t>(images));
    std::iota(first.begin(), first.end(), 0);
    const Tensor x = io::gather_rows(test_x, first, 0, first.size());
    const Tensor want = sess.run({{img, x}}, {classes})[0];
    std::ofstream req(dir / "request.json");
    req << "{\"instances\": [";
    char buf[32];
    for (int64_t i = 0; i < images; ++i) {
      req << (i ? ", " : "") << "{\"images\": [";
      for (int64_t j = 0; j < 784; ++j) {
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x.data<float>()[i * 784 + j]));  // exact floats
        req << (j ? "," : "") << buf;
      }
      req << "]}";
    }
    req << "]}\n";
    std::ofstream expected(dir / "expected_classes.txt");
    for (int64_t i = 0; i < images; ++i) expected << want.data<int64_t>()[i] << "\n";
    std::printf("wrote %s/mnist/1, %s/request.json (%lld images), %s/expected_classes.txt\n", out_dir.c_str(),
                out_dir.c_str(), static_cast<long long>(images), out_dir.c_str());
    std::printf("test accuracy: %.4f\n", test_acc);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
