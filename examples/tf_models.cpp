// Runs the TensorFlow 1.x models in ../shared/interop with no TensorFlow installed: frozen
// GraphDefs, a checkpoint + .meta imported twice under two scopes, and SavedModels loaded
// by signature. Prints what each computes (the documented results where there are some)
// and which models still need ops Sluice does not have.
//
//   build/examples/tf_models [--dir ../shared/interop]
#include <sluice/sluice.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

std::string vec(const Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.num_elements() && i < 10; ++i) {
    char b[32];
    std::snprintf(b, sizeof(b), "%s%.6g", i ? ", " : "", t.as_double(i));
    s += b;
  }
  return s + (t.num_elements() > 10 ? ", ...]" : "]");
}

// Runs `f`, printing an error instead of stopping the tour.
template <class F>
void step(const std::string& title, F&& f) {
  std::cout << "== " << title << "\n";
  try {
    f();
  } catch (const Error& e) {
    std::cout << "   " << error_code_name(e.code()) << ": " << e.what() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs the TensorFlow artifacts of ../shared/interop"};
  std::string dir = "../shared/interop";
  app.add_option("--dir", dir, "folder of the TensorFlow artifacts");
  CLI11_PARSE(app, argc, argv);
  if (!fs::is_directory(dir + "/tf2onnx")) {
    std::cout << "tf_models: no TensorFlow artifacts in '" << dir << "' (pass --dir); nothing to run\n";
    return 0;
  }
  int ran = 0;

  step("frozen GraphDef: regression, pred = W*X + b", [&] {
    Graph g;
    Scope root(g);
    Output x = ops::placeholder(root.named("x"), DType::f32, {-1});
    Output pred = io::import_tf_graph_def(g, dir + "/tf2onnx/regression/graphdef/frozen.pb",
                                          {"model_001", {{"X:0", x}}, {"pred:0"}}).tensors[0];
    Session s(g);
    std::cout << "   X = [1, 2, 3] -> pred = " << vec(s.run({{x, Tensor({1.0f, 2.0f, 3.0f})}}, {pred})[0]) << "\n";
    ++ran;
  });

  step("checkpoint + .meta: one graph imported under model_001/ and model_002/", [&] {
    const std::string ckpt = io::latest_checkpoint(dir + "/tf2onnx/regression/checkpoint");
    for (const auto& v : io::list_variables(ckpt))
      std::cout << "   " << v.name << " " << dtype_name(v.dtype) << v.shape.to_string() << " = "
                << vec(io::load_variable(ckpt, v.name)) << "\n";
    Graph g;
    Scope root(g);
    Output x = ops::placeholder(root.named("input"), DType::f32, {-1});
    for (std::string m : {"model_001", "model_002"})
      io::import_tf_meta_graph(g, dir + "/tf2onnx/regression/checkpoint/model.meta", {m, {{"X:0", x}}, {}});
    Session s(g);
    io::restore_into_scope(s, ckpt, "model_001");
    io::restore_into_scope(s, ckpt, "model_002");
    auto r = s.run({{x, Tensor({1.0f, 2.0f})}}, {"model_001/pred:0", "model_002/pred:0"});
    std::cout << "   model_001 " << vec(r[0]) << ", model_002 " << vec(r[1]) << "\n";
    ++ran;
  });

  const std::vector<std::pair<std::string, Tensor>> saved = {
      {"tf2onnx/regression/saved_model", Tensor({1.0f, 2.0f})},
      {"tf_serving/saved_model_half_plus_two_cpu/00000123", Tensor::from_vector<float>({1, 2, 5}, {3, 1})},
      {"tf_serving/saved_model_half_plus_three/00000123", Tensor(2.0f)},
      {"tf_serving/matrix_half_plus_two/1", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3})},
      {"more/half_plus_two_mkl/00000123", Tensor::from_vector<float>({1, 2}, {2, 1})}};
  for (const auto& [rel, x] : saved) {
    step("SavedModel " + rel, [&] {
      const io::TfSavedModelInfo info = io::inspect_tf_saved_model(dir + "/" + rel);
      for (const auto& [name, sig] : info.meta_graphs.at(0).signatures)
        std::cout << "   signature '" << name << "' (" << sig.method_name << ")"
                  << (sig.unsupported.empty() ? "" : ": needs " + sig.unsupported) << "\n";
      io::LoadedModel m = io::load_model(dir + "/" + rel);
      const io::Signature& sig = m.signature("serving_default");
      auto out = m.run("serving_default", {{sig.inputs.begin()->first, x}});
      std::cout << "   serving_default(" << vec(x) << ") -> " << vec(out.begin()->second) << "\n";
      ++ran;
    });
  }

  for (const char* rel : {"tf2onnx/fc-layers/frozen.pb", "tf2onnx/ae0/frozen.pb", "more/cifar10_cnn/cifar10_cnn.pb",
                          "tf2onnx/lstm/frozen.pb", "more/ds_cnn_s/DS_CNN_S.pb"}) {
    step(std::string("frozen GraphDef ") + rel, [&] {
      Graph g;
      io::import_tf_graph_def(g, dir + "/" + rel);
      Operation in, out = g.operations().back();
      for (const Operation& op : g.operations())
        if (op.type() == "Placeholder") in = op;
      std::vector<int64_t> d = in.output(0).shape().dims();
      for (auto& v : d) v = v < 0 ? 1 : v;
      Tensor x = Tensor::filled(DType::f32, Shape(d), 0.5);
      std::cout << "   " << g.num_operations() << " ops; " << in.name() << " all 0.5 -> " << out.name() << " = "
                << vec(Session(g).run({{in.output(0), x}}, {out.output(0)})[0]) << "\n";
      ++ran;
    });
  }
  std::cout << "tf_models: " << ran << " models ran\n";
  return 0;
}
