// A Keras model file, end to end: loads a CNN Keras saved with model.save("model.h5"),
// prints its summary, classifies generated images, fine-tunes it for a few steps on
// generated data, and saves it back as Keras HDF5 (which Keras loads) and as a Sluice bundle
// (which `sluice run` / `sluice serve` serve).
//
//   build/examples/keras_h5 [--model ../shared/interop/keras/keras2circom_mnist/model.h5]
//                           [--out /tmp/keras_h5_out] [--steps 20]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>

using namespace sluice;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"Load, run, fine-tune and save a Keras HDF5 model"};
  std::string model_path = "../shared/interop/keras/keras2circom_mnist/model.h5";
  std::string out_dir = (fs::temp_directory_path() / "keras_h5_out").string();
  int steps = 20;
  app.add_option("--model", model_path, "Keras .h5 file (an image classifier [N,H,W,C] -> [N,K])");
  app.add_option("--out", out_dir, "folder for the saved model files");
  app.add_option("--steps", steps, "fine-tuning steps");
  CLI11_PARSE(app, argc, argv);
  if (!fs::exists(model_path)) {
    std::cout << "keras_h5: no Keras file at '" << model_path << "' (pass --model); nothing to run\n";
    return 0;
  }
  try {
    // 1. Load: the config's layers with Keras' weights.
    models::Model model = io::load_keras_model(model_path);
    model.summary();

    // 2. Run on generated images: a bright square in one of four corners.
    const Shape in = model.inputs()[0].shape();
    const int64_t h = in.dim(1), w = in.dim(2), c = in.dim(3), n = 64;
    const int64_t classes = model.outputs()[0].shape().dim(1);
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> noise(0.f, 0.1f);
    Tensor x(DType::f32, {n, h, w, c}), y = Tensor::zeros(DType::f32, {n, classes});
    for (int64_t i = 0; i < n; ++i) {
      const int64_t corner = i % 4, y0 = corner / 2 ? h / 2 : 0, x0 = corner % 2 ? w / 2 : 0;
      for (int64_t r = 0; r < h; ++r)
        for (int64_t q = 0; q < w; ++q)
          for (int64_t k = 0; k < c; ++k) {
            const bool on = r >= y0 && r < y0 + h / 2 && q >= x0 && q < x0 + w / 2;
            x.at<float>({i, r, q, k}) = (on ? 1.f : 0.f) + noise(rng);
          }
      y.at<float>({i, corner % classes}) = 1.f;
    }
    const Tensor probs = model.predict(x);
    std::printf("predict: %s -> %s, row 0 sums to %.6f\n", x.shape().to_string().c_str(),
                probs.shape().to_string().c_str(),
                [&] { double s = 0; for (int64_t k = 0; k < classes; ++k) s += probs.at<float>({0, k}); return s; }());

    // 3. Fine-tune: corner i -> class i. A file saved with its training state comes back
    //    compiled (optimizer, loss, metrics, optimizer slots); otherwise compile here.
    if (model.compiled()) {
      std::printf("training state restored: optimizer step %lld\n", static_cast<long long>(model.iterations()));
    } else {
      model.compile(models::adam(), "categorical_crossentropy", {"accuracy"});
    }
    model.set_learning_rate(1e-2);
    const models::Logs before = model.evaluate(x, y);
    for (int s = 0; s < steps; ++s) model.train_on_batch({x}, {y});
    const models::Logs after = model.evaluate(x, y);
    std::printf("fine-tune: %d steps, loss %.4f -> %.4f, accuracy %.4f -> %.4f\n", steps, before.at("loss"),
                after.at("loss"), before.at("accuracy"), after.at("accuracy"));

    // 4. Save: Keras HDF5 and a Sluice bundle; both give the fine-tuned model's outputs.
    fs::create_directories(out_dir);
    const std::string h5 = out_dir + "/tuned.h5", bundle = out_dir + "/tuned_bundle";
    model.save(h5);
    fs::remove_all(bundle);
    io::save_model(bundle, model.session(),
                   {{"serving_default", {{{"image", model.inputs()[0]}}, {{"probs", model.outputs()[0]}}}}});
    const Tensor again = io::load_keras_model(h5).predict(x, n);
    const Tensor served = io::load_model(bundle).run("serving_default", {{"image", x}}).at("probs");
    const Tensor tuned = model.predict(x, n);  // one batch, as the bundle run
    auto same = [&](const Tensor& a) {
      return std::equal(a.data<float>(), a.data<float>() + a.num_elements(), tuned.data<float>());
    };
    std::printf("saved %s (reloads %s) and %s (serves %s)\n", h5.c_str(), same(again) ? "identical" : "DIFFERENT",
                bundle.c_str(), same(served) ? "identical" : "DIFFERENT");
    return same(again) && same(served) ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "keras_h5: %s: %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
}
