// Malformed Keras HDF5 files: typed errors naming the file and the object, never a crash;
// unsupported layers are one Unimplemented error listing them all; custom layers plug in.
// The files are written here with Sluice's own HDF5 writer (io/keras/hdf5.h).
#include <gtest/gtest.h>

#include <fstream>
#include <sluice/sluice.h>

#include "io/keras/hdf5.h"
#include "keras_test_util.h"

#define SLUICE_FUZZ_REPLAY
#include "fuzz/fuzz_keras_h5.cc"

using namespace sluice;
namespace h5 = sluice::io::h5;

namespace {

const char* kDenseConfig =
    R"({"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config":
       {"name": "dense", "units": 2, "activation": "relu", "use_bias": true, "batch_input_shape": [null, 4]}}]}})";

// A file with `config` and a Dense "dense" group holding kernel `kshape` and a bias [2].
void write_file(const std::string& path, const std::string& config, std::vector<int64_t> kshape = {4, 2},
                bool with_group = true, int nweights = 2) {
  h5::File f = h5::File::create(path);
  h5::write_string_attr(f, f.id(), "", "model_config", config, h5::StrKind::vlen_ascii);
  h5::Handle mw = h5::create_group(f, f.id(), "", "model_weights");
  h5::write_string_array_attr(f, mw.get(), "model_weights", "layer_names", {"dense"});
  if (!with_group) return;
  h5::Handle d = h5::create_group(f, mw.get(), "model_weights", "dense");
  std::vector<std::string> names = {"dense/kernel:0", "dense/bias:0"};
  names.resize(static_cast<size_t>(nweights));
  h5::write_string_array_attr(f, d.get(), "dense", "weight_names", names);
  h5::write_dataset(f, d.get(), "dense", "dense/kernel:0", Tensor::filled(DType::f32, Shape(kshape), 0.5));
  h5::write_dataset(f, d.get(), "dense", "dense/bias:0", Tensor::filled(DType::f32, {2}, 0.25));
}

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (dynamic_cast<const E*>(&e)) return e.what();
    return std::string("wrong error type: ") + error_code_name(e.code()) + ": " + e.what();
  }
  return "no error";
}

bool has(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

}  // namespace

TEST(KerasH5Errors, HandWrittenFileLoadsAndComputes) {
  sluice::testing::ScratchDir dir;
  const std::string p = dir.path + "/ok.h5";
  write_file(p, kDenseConfig);
  models::Model m = io::load_keras_model(p);
  // relu([1,1,1,1] . 0.5 + 0.25) = 2.25 per unit.
  const Tensor y = m.predict(Tensor::filled(DType::f32, {1, 4}, 1.0));
  EXPECT_FLOAT_EQ(y.data<float>()[0], 2.25f);
  EXPECT_FLOAT_EQ(y.data<float>()[1], 2.25f);
}

TEST(KerasH5Errors, MissingAndForeignFiles) {
  sluice::testing::ScratchDir dir;
  EXPECT_TRUE(has(error_of<NotFound>([&] { io::load_keras_model(dir.path + "/none.h5"); }), "none.h5"));
  const std::string txt = dir.path + "/text.h5";
  std::ofstream(txt) << "not hdf5 at all";
  EXPECT_TRUE(has(error_of<DataLoss>([&] { io::load_keras_model(txt); }), "is not an HDF5 file"));
  // Truncated: a valid file cut in half.
  const std::string p = dir.path + "/ok.h5", cut = dir.path + "/cut.h5";
  write_file(p, kDenseConfig);
  const std::string bytes = sluice::testing::read_text(p);
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string e = error_of<Error>([&] { io::load_keras_model(cut); });
  EXPECT_TRUE(has(e, "cut.h5")) << e;
}

TEST(KerasH5Errors, ConfigProblemsNameTheAttribute) {
  sluice::testing::ScratchDir dir;
  const std::string p = dir.path + "/m.h5";
  write_file(p, "{\"class_name\": \"Sequential\", \"config\": [");
  std::string e = error_of<DataLoss>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "attribute 'model_config' is not valid JSON") && has(e, "m.h5")) << e;
  write_file(p, std::string(1000, '[') + std::string(1000, ']'));
  e = error_of<DataLoss>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "nesting deeper than")) << e;
  write_file(p, R"({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "dense", "units": 2}}]})");
  e = error_of<InvalidArgument>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "no batch_input_shape")) << e;
  write_file(p, R"({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "dense", "units": -3, "batch_input_shape": [null, 4]}}]})");
  e = error_of<InvalidArgument>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "layer 'dense'") && has(e, "units")) << e;
  // A weights-only file (save_weights): no model_config at all.
  {
    h5::File f = h5::File::create(p);
    h5::create_group(f, f.id(), "", "model_weights");
  }
  e = error_of<NotFound>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "no model_config")) << e;
}

TEST(KerasH5Errors, WeightShapesAreCheckedAgainstTheConfig) {
  sluice::testing::ScratchDir dir;
  const std::string p = dir.path + "/m.h5";
  write_file(p, kDenseConfig, {5, 2});
  std::string e = error_of<InvalidArgument>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "model_weights/dense/dense/kernel:0") && has(e, "[5,2]") && has(e, "[4,2]")) << e;
  write_file(p, kDenseConfig, {4, 2}, false);
  e = error_of<NotFound>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "model_weights/dense")) << e;
  write_file(p, kDenseConfig, {4, 2}, true, 1);
  e = error_of<InvalidArgument>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "holds 1 weights") && has(e, "has 2")) << e;
}

TEST(KerasH5Errors, EveryUnsupportedLayerInOneError) {
  sluice::testing::ScratchDir dir;
  const std::string p = dir.path + "/m.h5";
  write_file(p, R"({"class_name": "Functional", "config": {"name": "m", "layers": [
      {"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_input_shape": [null, 4]}, "inbound_nodes": []},
      {"class_name": "Lambda", "name": "lambda_1", "config": {"name": "lambda_1", "function": "4wEAAAA"}, "inbound_nodes": [[["in", 0, 0, {}]]]},
      {"class_name": "Frobnicate", "name": "frob", "config": {"name": "frob"}, "inbound_nodes": [[["lambda_1", 0, 0, {}]]]},
      {"class_name": "Conv1D", "name": "c", "config": {"name": "c", "filters": 1, "kernel_size": [1], "padding": "causal"}, "inbound_nodes": [[["frob", 0, 0, {}]]]}],
      "input_layers": [["in", 0, 0]], "output_layers": [["c", 0, 0]]}})");
  const std::string e = error_of<Unimplemented>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "Lambda (lambda_1)") && has(e, "Frobnicate (frob)") && has(e, "Conv1D (c): padding 'causal'"))
      << e;
}

TEST(KerasH5Errors, CustomLayersPlugIn) {
  sluice::testing::ScratchDir dir;
  const std::string p = dir.path + "/m.h5";
  write_file(p, R"({"class_name": "Sequential", "config": [{"class_name": "MyDense", "config":
       {"name": "dense", "units": 2, "batch_input_shape": [null, 4]}}]})");
  EXPECT_TRUE(has(error_of<Unimplemented>([&] { io::load_keras_model(p); }), "MyDense (dense)"));
  std::string seen;
  io::KerasCustomLayer my{"MyDense", [&](const std::string& cfg) {
                            seen = cfg;
                            return std::make_shared<layers::Dense>(2, Activation::linear, true, "dense");
                          }};
  models::Model m = io::load_keras_model(p, {my});
  EXPECT_TRUE(has(seen, "\"units\":2")) << seen;
  EXPECT_FLOAT_EQ(m.predict(Tensor::filled(DType::f32, {1, 4}, 1.0)).data<float>()[0], 2.25f);
}

TEST(KerasH5Errors, FuzzTargetSeedsReplay) {
  // The fuzz target's own code on its seed corpus and on a few hostile inputs.
  const std::string corpus = sluice::testing::source_dir() + "/tests/fuzz/corpus/fuzz_keras_h5";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(corpus)) {
    const std::string bytes = sluice::testing::read_text(e.path().string());
    sluice::fuzz::keras_h5::run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  EXPECT_GE(n, 3);
  for (std::string in : {std::string("\x00", 1) + "\x89HDF\r\n\x1a\n garbage", std::string("\x01") + "[]",
                         std::string("\x01") + "{\"class_name\": \"Model\", \"config\": {\"layers\": [1, 2]}}"}) {
    sluice::fuzz::keras_h5::run(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  }
}

TEST(KerasH5Errors, ExternalAndSoftLinksAreNotFollowed) {
  if (!sluice::testing::have_h5py()) GTEST_SKIP() << "/usr/bin/python3 with h5py not found (python3-h5py)";
  sluice::testing::ScratchDir dir;
  const std::string p = dir.path + "/m.h5", other = dir.path + "/other.h5";
  write_file(other, kDenseConfig);
  write_file(p, kDenseConfig, {4, 2}, false);
  // model_weights/dense points into another file (external) or elsewhere (soft).
  const std::string py = "import h5py; f = h5py.File('" + p + "', 'a'); f['model_weights/dense'] = h5py.ExternalLink('" +
                         other + "', '/model_weights/dense'); f.close()";
  ASSERT_EQ(sluice::testing::run_python("-c \"" + py + "\"", dir.path + "/err.txt"), 0)
      << sluice::testing::read_text(dir.path + "/err.txt");
  std::string e = error_of<DataLoss>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "model_weights/dense") && has(e, "soft or external link")) << e;
  write_file(p, kDenseConfig, {4, 2}, false);
  const std::string py2 = "import h5py; f = h5py.File('" + p + "', 'a'); f['model_weights/dense'] = h5py.SoftLink('/model_weights'); f.close()";
  ASSERT_EQ(sluice::testing::run_python("-c \"" + py2 + "\"", dir.path + "/err.txt"), 0);
  e = error_of<DataLoss>([&] { io::load_keras_model(p); });
  EXPECT_TRUE(has(e, "soft or external link")) << e;
}

TEST(KerasH5Errors, MalformedNestedFunctionalModels) {
  // A Functional used as a layer: the outer model reads "block"; the inner configs vary.
  auto file_with = [](const std::string& inner_layers, const std::string& outputs) {
    const std::string cfg =
        R"({"class_name": "Functional", "config": {"name": "m", "layers": [
          {"class_name": "InputLayer", "name": "x", "config": {"batch_input_shape": [null, 4], "name": "x"},
           "inbound_nodes": []},
          {"class_name": "Functional", "name": "block", "config": {"name": "block", "layers": [
             {"class_name": "InputLayer", "name": "bx", "config": {"batch_input_shape": [null, 4], "name": "bx"},
              "inbound_nodes": []}, )" +
        inner_layers + R"(], "input_layers": [["bx", 0, 0]], "output_layers": )" + outputs + R"(},
           "inbound_nodes": [[["x", 0, 0, {}]]]}],
          "input_layers": [["x", 0, 0]], "output_layers": [["block", 0, 0]]}})";
    return sluice::fuzz::keras_h5::write_template(cfg);
  };
  const std::string dense =
      R"({"class_name": "Dense", "config": {"name": "dense", "units": 2}, "inbound_nodes": [[["bx", 0, 0, {}]]]})";
  // Node index 1 of an inner layer (a shared inner layer): not supported, named.
  std::string e = error_of<Unimplemented>([&] {
    io::load_keras_model(file_with(
        R"({"class_name": "Dense", "config": {"name": "dense", "units": 2}, "inbound_nodes": [[["bx", 1, 0, {}]]]})",
        R"([["dense", 0, 0]])"));
  });
  EXPECT_TRUE(has(e, "template.h5") && has(e, "block") && has(e, "node indices")) << e;
  // An inner layer called twice (a shared inner layer): not supported, named.
  e = error_of<Unimplemented>([&] {
    io::load_keras_model(file_with(R"({"class_name": "Dense", "config": {"name": "dense", "units": 2},
                                       "inbound_nodes": [[["bx", 0, 0, {}]], [["bx", 0, 0, {}]]]})",
                                   R"([["dense", 0, 0]])"));
  });
  EXPECT_TRUE(has(e, "'dense'") && has(e, "not called exactly once")) << e;
  // An output tensor index the layer does not have (Dense has one output).
  e = error_of<InvalidArgument>([&] { io::load_keras_model(file_with(dense, R"([["dense", 0, 1]])")); });
  EXPECT_TRUE(has(e, "output 1 of 'dense'")) << e;
  // An inner layer reading a layer that does not exist; an output that does not exist.
  e = error_of<InvalidArgument>([&] {
    io::load_keras_model(file_with(
        R"({"class_name": "Dense", "config": {"name": "dense", "units": 2}, "inbound_nodes": [[["nowhere", 0, 0, {}]]]})",
        R"([["dense", 0, 0]])"));
  });
  EXPECT_TRUE(has(e, "template.h5") && has(e, "nowhere")) << e;
  e = error_of<InvalidArgument>([&] { io::load_keras_model(file_with(dense, R"([["missing", 0, 0]])")); });
  EXPECT_TRUE(has(e, "missing")) << e;
  // An unknown inner class and a Lambda: one Unimplemented listing both.
  e = error_of<Unimplemented>([&] {
    io::load_keras_model(file_with(
        R"({"class_name": "Frobnicate", "config": {"name": "f"}, "inbound_nodes": [[["bx", 0, 0, {}]]]},
           {"class_name": "Lambda", "config": {"name": "lam"}, "inbound_nodes": [[["f", 0, 0, {}]]]})",
        R"([["lam", 0, 0]])"));
  });
  EXPECT_TRUE(has(e, "Frobnicate (f)") && has(e, "Lambda (lam)")) << e;
}
