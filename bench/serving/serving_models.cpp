// Writes the models and request bodies bench/serving/load.sh serves:
//   DIR/half_plus_two/1   TF Serving's half_plus_two as a Sluice bundle (x f32[-1,1] -> y = 0.5x + 2)
//   DIR/mlp/1             the MNIST MLP's shape, 784-128-128-10 softmax (seeded weights):
//                         serving_default {images f32[-1,784]} -> {scores f32[-1,10]}
//   DIR/half_plus_two.json, DIR/mlp.json   one-instance predict bodies
// and checks each bundle once (load it back and compare with the in-process answer).
#include <sluice/sluice.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace sluice;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argv[1];
  try {
    std::filesystem::create_directories(out / "half_plus_two");
    std::filesystem::create_directories(out / "mlp");
    {
      Graph g;
      Scope root(g);
      Output x = ops::placeholder(root.named("x"), DType::f32, {-1, 1});
      Output a = ops::variable(root.named("a"), {}, DType::f32, Initializer::constant(0.5));
      Output b = ops::variable(root.named("b"), {}, DType::f32, Initializer::constant(2.0));
      Output y = ops::add(root.named("y"), ops::mul(root, a, x), b);
      Session sess(g);
      sess.run({}, {}, {ops::global_variables_initializer(root)});
      io::save_model((out / "half_plus_two" / "1").string(), sess, {{"serving_default", {{{"x", x}}, {{"y", y}}}}});
      const float got = io::load_model((out / "half_plus_two" / "1").string())
                            .run("serving_default", {{"x", Tensor::from_vector<float>({1.0f}, {1, 1})}})
                            .at("y").data<float>()[0];
      if (got != 2.5f) throw Internal("half_plus_two(1) = " + std::to_string(got));
      std::ofstream(out / "half_plus_two.json") << "{\"instances\": [[1.0]]}";
    }
    {
      Graph g;
      g.set_random_seed(1);
      Scope root(g);
      Output img = ops::placeholder(root.named("images"), DType::f32, {-1, 784});
      layers::Dense h1(128, Activation::relu), h2(128, Activation::relu), o(10, Activation::softmax);
      Output scores = o(root, h2(root, h1(root, img)));
      Session sess(g);
      sess.run({}, {}, {ops::global_variables_initializer(root)});
      std::vector<float> v(784);
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 17) / 16.0f;
      const Tensor x = Tensor::from_vector<float>(v, {1, 784});
      const Tensor want = sess.run({{img, x}}, {scores})[0];
      io::save_model((out / "mlp" / "1").string(), sess, {{"serving_default", {{{"images", img}}, {{"scores", scores}}}}});
      const Tensor got = io::load_model((out / "mlp" / "1").string()).run("serving_default", {{"images", x}}).at("scores");
      for (int i = 0; i < 10; ++i)
        if (got.data<float>()[i] != want.data<float>()[i]) throw Internal("mlp bundle disagrees with its session");
      std::ofstream body(out / "mlp.json");
      body << "{\"instances\": [[";
      for (size_t i = 0; i < v.size(); ++i) body << (i ? ", " : "") << v[i];
      body << "]]}";
    }
    std::printf("wrote %s/{half_plus_two,mlp}/1 and their request bodies\n", out.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "error (%s): %s\n", error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
