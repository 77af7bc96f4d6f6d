// Trains the MNIST MLP briefly, chains the image preprocessing in front of it inside the graph
// and exports one bundle `sluice serve` can serve, then writes a TF Serving predict request of
// test-set images sent as PNG files with the answers this process computes, so
// examples/serve_mnist.sh can check that the server answers the same.
//
// The served signature takes what a web client has: a PNG as web-safe base64 text.
//   image_b64 string [-1] -> decode_base64 -> decode_png (gray) -> resize_bilinear 28x28
//     -> reshape [-1, 784] -> / 255 -> the trained MLP (the same layer objects, so the same
//     weights) -> classes int64 [-1], scores float32 [-1, 10]
//
//   serve_mnist --out DIR [--data DIR] [--epochs N] [--images N]
//     DIR/mnist/1/            bundle: serving_default {image_b64} -> {classes, scores}
//     DIR/request.json        {"instances": [{"image_b64": "<PNG, 56x56, web-safe base64>"}, ...]}
//     DIR/expected.json       {"classes": [...], "scores": [[...]]}: this process's answers
// The PNGs are made in a graph too (encode_png of the test images, upscaled 2x by nearest
// neighbour so the served graph's resize has work to do; encode_base64). Last line:
// "test accuracy: 0.XXXX".
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
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

    // The serving front: base64 text -> PNG bytes -> gray pixels -> 28x28 -> the same layers.
    Scope pre = root.sub("preprocess");
    Output image_b64 = ops::placeholder(root.named("image_b64"), DType::string, {-1});
    Output png = ops::decode_base64(pre.named("decode_base64"), image_b64);
    Output gray = ops::decode_png(pre.named("decode_png"), png, 1);                     // u8 [N,H,W,1]
    Output small = ops::resize_bilinear(pre.named("resize"), gray, std::vector<int64_t>{28, 28});  // f32
    Output flat = ops::reshape(pre.named("flatten"), small, std::vector<int64_t>{-1, 784});
    Output pixels = ops::div(pre.named("scale"), flat, ops::scalar_like(pre, flat, 255.0));
    Output served_scores = ops::identity(root.named("scores"), out(root, hidden2(root, hidden1(root, pixels))));
    Output served_classes = ops::argmax(root.named("classes"), served_scores, 1);

    const std::filesystem::path dir = out_dir;
    std::filesystem::create_directories(dir / "mnist");
    io::save_model((dir / "mnist" / "1").string(), sess,
                   {{"serving_default", {{{"image_b64", image_b64}}, {{"classes", served_classes}, {"scores", served_scores}}}}});

    // The request: the first `images` test images as 56x56 PNGs in web-safe base64, made by a
    // graph of their own (encode_png takes one image at a time).
    images = std::min(images, data.test_images.dim(0));
    Graph eg;
    Scope e(eg);
    Output one = ops::placeholder(e.named("image"), DType::u8, {28, 28, 1});
    Output big = ops::resize_nearest_neighbor(e, ops::expand_dims(e, one, 0), std::vector<int64_t>{56, 56});
    Output text = ops::encode_base64(e, ops::encode_png(e, ops::squeeze(e, big, {0})));
    Session esess(eg);
    std::vector<std::string> texts;
    for (int64_t i = 0; i < images; ++i) {
      Tensor im(DType::u8, Shape{28, 28, 1});
      std::memcpy(im.raw_data(), data.test_images.data<uint8_t>() + i * 784, 784);
      texts.push_back(esess.run({{one, im}}, {text})[0].string_at(0));
    }
    // The answers of this process, through the same serving signature.
    const auto want = sess.run({{image_b64, Tensor::from_strings(texts, Shape{images})}}, {served_classes, served_scores});
    std::ofstream req(dir / "request.json");
    req << "{\"instances\": [";
    for (int64_t i = 0; i < images; ++i) req << (i ? ", " : "") << "{\"image_b64\": \"" << texts[static_cast<size_t>(i)] << "\"}";
    req << "]}\n";
    std::ofstream expected(dir / "expected.json");
    char buf[32];
    expected << "{\"classes\": [";
    for (int64_t i = 0; i < images; ++i) expected << (i ? ", " : "") << want[0].data<int64_t>()[i];
    expected << "], \"scores\": [";
    for (int64_t i = 0; i < images; ++i) {
      expected << (i ? ", [" : "[");
      for (int64_t j = 0; j < 10; ++j) {
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(want[1].data<float>()[i * 10 + j]));  // exact floats
        expected << (j ? ", " : "") << buf;
      }
      expected << "]";
    }
    expected << "]}\n";
    std::printf("wrote %s/mnist/1, %s/request.json (%lld PNG images), %s/expected.json\n", out_dir.c_str(),
                out_dir.c_str(), static_cast<long long>(images), out_dir.c_str());
    std::printf("test accuracy: %.4f\n", test_acc);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
