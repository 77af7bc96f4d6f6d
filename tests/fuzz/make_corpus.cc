// Writes the seed corpora and dictionaries of the fuzz targets (tests/fuzz/corpus/<target>/
// and tests/fuzz/dict/<target>.dict) with Sluice itself, so the checked-in seeds are
// reproducible rather than opaque blobs. Run through tests/fuzz/make_corpus.sh:
//
//   make_fuzz_corpus <tests/fuzz folder> <tests/data folder>
//
// Seeds are valid files of each kind plus a few broken ones (truncated, a flipped byte, a
// bad reference), small enough that the whole corpus stays well under 2 MB. Everything is
// deterministic (fixed seeds), so rerunning the generator rewrites identical files.
#include <sluice/sluice.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

using namespace sluice;
namespace fs = std::filesystem;

namespace {

fs::path g_out;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = g_out / "corpus" / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A libFuzzer dictionary line: kw="..." with non-printable bytes as \xNN.
std::string dict_entry(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    }
  }
  return out + "\"";
}

void write_dict(const std::string& target, const std::vector<std::string>& words) {
  fs::create_directories(g_out / "dict");
  std::ofstream f(g_out / "dict" / (target + ".dict"));
  f << "# libFuzzer dictionary for " << target << " (written by tests/fuzz/make_corpus.cc)\n";
  std::set<std::string> seen;
  for (const std::string& w : words)
    if (!w.empty() && seen.insert(w).second) f << dict_entry(w) << "\n";
}

std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

// A file written by a Sluice writer into a scratch folder, returned as bytes.
template <class F>
std::string written(F&& write) {
  const fs::path p = fs::temp_directory_path() / ("sluice-corpus-" + std::to_string(::getpid()));
  fs::remove(p);
  write(p.string());
  std::string bytes = slurp(p);
  fs::remove(p);
  return bytes;
}

template <class T>
Tensor iota(DType dtype, const Shape& shape, double scale = 1.0, double offset = 0.0) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<T>()[i] = static_cast<T>(offset + scale * static_cast<double>(i));
  return t;
}

using Named = std::vector<std::pair<std::string, Tensor>>;

// The variables of fuzz_checkpoint's restore graphs (names, dtypes, shapes must match).
Named restore_tensors() {
  Tensor flags(DType::boolean, {4});
  for (int i = 0; i < 4; ++i) flags.data<bool>()[i] = i % 2 == 0;
  return {{"dense/kernel", iota<float>(DType::f32, {3, 2}, 0.25, -0.5)},
          {"dense/bias", iota<float>(DType::f32, {2}, 1.0, -1.0)},
          {"step", Tensor(int64_t{42})},
          {"flags", flags},
          {"pixels", iota<uint8_t>(DType::u8, {2, 2}, 63.0)},
          {"counts", iota<int32_t>(DType::i32, {3}, -7.0, 5.0)},
          {"precise", iota<double>(DType::f64, {2, 1}, 1e-3, 1e300)}};
}

Named mixed_tensors() {
  Tensor nan_inf(DType::f32, {3});
  nan_inf.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  nan_inf.data<float>()[1] = std::numeric_limits<float>::infinity();
  nan_inf.data<float>()[2] = -0.0f;
  return {{"scalar", Tensor(2.5f)},
          {"empty", Tensor(DType::f32, {0, 3})},
          {"rank8", iota<int32_t>(DType::i32, {1, 2, 1, 2, 1, 1, 2, 1})},
          {"model_001/dense/kernel", iota<float>(DType::f32, {2, 2})},
          {"nan_inf", nan_inf},
          {"i64", iota<int64_t>(DType::i64, {2}, double(int64_t{1} << 40))},
          {"unicode/\xc3\xa9t\xc3\xa9", Tensor(true)}};
}

// ---- checkpoints ----

void checkpoints() {
  const std::string t = "fuzz_checkpoint";
  const std::string restore = written([](const std::string& p) { io::write_checkpoint(p, restore_tensors()); });
  seed(t, "restore_vars.ckpt", restore);
  // The same variables under a scope, as restore_into_scope reads them (prefix stripped), plus
  // optimizer-slot-like extras a restore ignores.
  Named extra = restore_tensors();
  extra.emplace_back("dense/kernel/Adam", iota<float>(DType::f32, {3, 2}));
  seed(t, "restore_vars_extra.ckpt", written([&](const std::string& p) { io::write_checkpoint(p, extra); }));
  seed(t, "mixed.ckpt", written([](const std::string& p) { io::write_checkpoint(p, mixed_tensors()); }));
  seed(t, "empty.ckpt", written([](const std::string& p) { io::write_checkpoint(p, {}); }));
  seed(t, "one_f64.ckpt",
       written([](const std::string& p) { io::write_checkpoint(p, {{"w", iota<double>(DType::f64, {2, 3})}}); }));
  // A restore graph mismatch: the kernel has another shape.
  Named wrong = restore_tensors();
  wrong[0].second = iota<float>(DType::f32, {2, 3});
  seed(t, "wrong_shape.ckpt", written([&](const std::string& p) { io::write_checkpoint(p, wrong); }));

  // Broken ones.
  seed(t, "truncated.ckpt", restore.substr(0, restore.size() / 2));
  std::string flipped = restore;
  flipped[flipped.size() - 3] ^= 0x10;  // a data byte: tensor checksum mismatch
  seed(t, "bad_data_crc.ckpt", flipped);
  std::string bad_header = restore;
  bad_header[24] ^= 0x01;  // index length: header checksum mismatch
  seed(t, "bad_header_crc.ckpt", bad_header);
  seed(t, "header_only.ckpt", restore.substr(0, 64));

  write_dict(t, {"SLUICECK", le(1, 4), le(64, 8), std::string(8, '\0'), std::string(8, '\xff'), le(1ull << 62, 8),
                 "dense/kernel", "dense/bias", "step", "flags", "pixels", "counts", "precise", "model_001/",
                 "PK\x03\x04", "\x93NUMPY"});
}

// ---- NumPy ----

void numpy(const fs::path& data_dir) {
  const std::string t = "fuzz_npz";
  // The fixtures written by real NumPy (tests/data/make_npz_fixtures.py).
  for (const auto& entry : fs::directory_iterator(data_dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".npy" || ext == ".npz") seed(t, "numpy_" + entry.path().filename().string(), slurp(entry.path()));
  }
  const Named arrays = mixed_tensors();
  const Named small = {arrays[0], arrays[1], arrays[3], {"flags", restore_tensors()[3].second}};
  seed(t, "stored.npz", written([&](const std::string& p) { io::write_npz(p, small, false); }));
  seed(t, "deflated.npz", written([&](const std::string& p) { io::write_npz(p, small, true); }));
  seed(t, "zip64_stored.npz", written([&](const std::string& p) { io::detail::write_npz_zip64(p, small, false); }));
  seed(t, "zip64_deflated.npz", written([&](const std::string& p) { io::detail::write_npz_zip64(p, small, true); }));
  seed(t, "empty.npz", written([](const std::string& p) { io::write_npz(p, {}, false); }));
  for (const auto& [name, tensor] : restore_tensors()) {
    std::string file = name;
    for (char& c : file)
      if (c == '/') c = '_';
    seed(t, file + ".npy", io::encode_npy(tensor));
  }
  seed(t, "rank8.npy", io::encode_npy(arrays[2].second));
  seed(t, "empty.npy", io::encode_npy(arrays[1].second));

  // Broken ones.
  const std::string stored = written([&](const std::string& p) { io::write_npz(p, small, false); });
  seed(t, "truncated.npz", stored.substr(0, stored.size() - 30));
  std::string bad_crc = stored;
  bad_crc[100] ^= 0x01;
  seed(t, "bad_crc.npz", bad_crc);
  const std::string npy = io::encode_npy(restore_tensors()[0].second);
  std::string bad_dict = npy;
  bad_dict.replace(bad_dict.find("'shape'"), 7, "'shapf'");
  seed(t, "bad_header.npy", bad_dict);
  std::string fortran = npy;
  fortran.replace(fortran.find("False"), 5, "True ");
  seed(t, "fortran.npy", fortran);

  write_dict(t, {"PK\x03\x04", "PK\x01\x02", "PK\x05\x06", "PK\x06\x06", "PK\x06\x07", "\x93NUMPY", "\x01\x00",
                 "\x02\x00", "\x03\x00", std::string("\x01\x00\x10\x00", 4), std::string(4, '\xff'),
                 std::string(2, '\xff'), "{'descr': ", "'fortran_order': ", "'shape': ", "False", "True", "'<f4'",
                 "'<f8'", "'<i4'", "'<i8'", "'|u1'", "'|b1'", "'>f4'", "'<f2'", "'?'", "()", "(0,)", "(3, 2)", ".npy",
                 "SLUICECK"});
}

// ---- graph files and bundles ----

struct Model {
  Graph graph;
  std::map<std::string, io::Signature> signatures;
};

// An MLP with dropout: input [-1, 4] -> Dense(8, relu) -> Dropout(0.5) -> Dense(3, softmax).
void build_mlp(Model& m, bool training) {
  Scope root(m.graph);
  m.graph.set_random_seed(7);
  const Output x = ops::placeholder(root.named("input"), DType::f32, {-1, 4});
  layers::Dense hidden(8, Activation::relu, true, "", Initializer::glorot_uniform(1));
  layers::Dropout drop(0.5, 3);
  layers::Dense out(3, Activation::softmax, true, "", Initializer::glorot_uniform(2));
  const Output probs = ops::identity(root.named("probs"), out(root, drop(root, hidden(root, x))));
  m.signatures["serving_default"] = {{{"x", x}}, {{"probs", probs}}};
  if (training) {
    const Output labels = ops::placeholder(root.named("labels"), DType::f32, {-1, 3});
    const Output loss = ops::mean(root.named("loss"), losses::categorical_crossentropy(root, labels, probs));
    optimizers::SGD(0.1).minimize(root, loss);
  }
}

// A small CNN with batch normalization: image u8 [-1, 6, 6, 1] -> cast/scale -> Conv2D(2, 3x3)
// -> BatchNorm -> relu -> MaxPool -> Flatten -> Dense(2).
void build_cnn(Model& m) {
  Scope root(m.graph);
  const Output img = ops::placeholder(root.named("image"), DType::u8, {-1, 6, 6, 1});
  const Output x = ops::mul(root, ops::cast(root, img, DType::f32), ops::constant(root, Tensor(1.0f / 255)));
  layers::Conv2D conv(2, {3, 3}, {1, 1}, Padding::same, Activation::linear, false, "",
                      {1, 1}, Initializer::glorot_uniform(4));
  layers::BatchNormalization bn;
  layers::MaxPooling2D pool({2, 2});
  layers::Flatten flatten;
  layers::Dense out(2, Activation::linear, true, "", Initializer::glorot_uniform(5));
  const Output logits = ops::identity(root.named("logits"), out(root, flatten(root, pool(root, ops::relu(root, bn(root, conv(root, x)))))));
  m.signatures["serving_default"] = {{{"image", img}}, {{"logits", logits}, {"scores", ops::softmax(root, logits)}}};
  m.signatures["features"] = {{{"image", img}}, {{"pooled", flatten(root, pool(root, x))}}};
}

// An LSTM over [-1, 3, 2] sequences -> Dense(2).
void build_lstm(Model& m) {
  Scope root(m.graph);
  const Output x = ops::placeholder(root.named("sequence"), DType::f32, {-1, 3, 2});
  layers::LSTM lstm(3, false, false, "", true, Initializer::glorot_uniform(6), Initializer::orthogonal(1.0, 7));
  layers::Dense out(2, Activation::linear, true, "", Initializer::glorot_uniform(8));
  m.signatures["serving_default"] = {{{"sequence", x}}, {{"y", out(root, lstm(root, x))}}};
}

// A model without variables: integer and boolean ops (gather, one_hot, comparisons).
void build_no_variables(Model& m) {
  Scope root(m.graph);
  const Output ids = ops::placeholder(root.named("ids"), DType::i32, {-1});
  const Output table = ops::constant(root.named("table"), iota<float>(DType::f32, {4, 2}, 0.5));
  const Output rows = ops::gather(root, table, ids);
  const Output hot = ops::one_hot(root, ids, 4);
  m.signatures["lookup"] = {{{"ids", ids}}, {{"rows", rows}, {"one_hot", hot}}};
}

std::string bundle_bytes(Model& m) {
  Session sess(m.graph, SessionOptions{1});
  sess.run({}, {}, {ops::global_variables_initializer(Scope(m.graph))});
  const fs::path dir = fs::temp_directory_path() / ("sluice-corpus-bundle-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  io::save_model(dir.string(), sess, m.signatures);
  std::string bytes = slurp(dir / io::kBundleGraphFile);
  bytes.push_back('\0');
  bytes += slurp(dir / io::kBundleVariablesFile);
  fs::remove_all(dir);
  return bytes;
}

std::vector<std::string> graph_words() {
  std::vector<std::string> w = {"\"format\"", "\"sluice-graph\"", "\"version\"", "\"random_seed\"",
                                "\"learning_phase\"", "\"collections\"", "\"variable_initializers\"",
                                "\"signatures\"", "\"nodes\"", "\"name\"", "\"op\"", "\"inputs\"",
                                "\"control_inputs\"", "\"device\"", "\"attrs\"", "\"outputs\"", "\"int\"",
                                "\"float\"", "\"bool\"", "\"string\"", "\"dtype\"", "\"shape\"", "\"list_int\"",
                                "\"list_float\"", "\"list_string\"", "\"tensor\"", "\"values\"", "\"base64\"",
                                "\"nan\"", "\"inf\"", "\"-inf\"", "null", "true", "false", "-1", "1e308",
                                "9223372036854775807", "-9223372036854775808", "18446744073709551615", ":0", ":1",
                                "\"variables\"", "\"trainable_variables\"", "\"update_ops\"", "\"AAAA\"", "\"AA==\""};
  for (int d = 0; d < kNumDTypes; ++d) w.push_back(std::string("\"") + dtype_name(static_cast<DType>(d)) + "\"");
  for (const OpDef* def : OpRegistry::global().all()) {
    w.push_back("\"" + def->name + "\"");
    for (const auto& [name, value] : def->attr_defaults) w.push_back("\"" + name + "\"");
    for (const std::string& name : def->required_attrs) w.push_back("\"" + name + "\"");
  }
  return w;
}

void graphs() {
  const std::string t = "fuzz_graph_file";
  {
    Model m;
    build_mlp(m, false);
    seed(t, "mlp_dropout.json", io::graph_to_json(m.graph, m.signatures));
    // The same with control bytes: training on, another prefix, the placeholder unmapped.
    seed(t, "mlp_dropout_controls.json", io::graph_to_json(m.graph, m.signatures) + std::string("\0\x01\xc8\x01", 4));
    Session sess(m.graph, SessionOptions{1});
    sess.run({}, {}, {ops::global_variables_initializer(Scope(m.graph))});
    seed(t, "mlp_frozen.json", io::graph_to_json(io::freeze_graph(sess, {"probs"})));
  }
  {
    Model m;
    build_mlp(m, true);
    seed(t, "mlp_sgd_training.json", io::graph_to_json(m.graph, m.signatures));
  }
  {
    Model m;
    build_cnn(m);
    seed(t, "cnn_batchnorm.json", io::graph_to_json(m.graph, m.signatures));
  }
  {
    Model m;
    build_lstm(m);
    seed(t, "lstm.json", io::graph_to_json(m.graph, m.signatures));
  }
  Model m;
  build_no_variables(m);
  const std::string lookup = io::graph_to_json(m.graph, m.signatures);
  seed(t, "lookup.json", lookup);

  // Broken ones: an unknown op, an input naming a later node, a tensor whose base64 does
  // not match its shape, text cut short, nesting past the limit.
  std::string unknown = lookup;
  unknown.replace(unknown.find("\"Gather\""), 8, "\"NoSuch\"");
  seed(t, "unknown_op.json", unknown);
  seed(t, "truncated.json", lookup.substr(0, lookup.size() / 2));
  seed(t, "forward_reference.json",
       R"({"format": "sluice-graph", "version": 1, "nodes": [)"
       R"({"name": "a", "op": "Identity", "inputs": ["b:0"]},)"
       R"({"name": "b", "op": "Const", "attrs": {"dtype": {"dtype": "f32"}, "value": {"tensor": {"dtype": "f32", "shape": [], "values": [1]}}}}]})");
  seed(t, "bad_base64.json",
       R"({"format": "sluice-graph", "version": 1, "nodes": [)"
       R"({"name": "c", "op": "Const", "attrs": {"dtype": {"dtype": "f32"}, "value": {"tensor": {"dtype": "f32", "shape": [2, 2], "base64": "AAAA"}}}}]})");
  seed(t, "deep.json", std::string(40, '[') + std::string(40, ']'));
  write_dict(t, graph_words());
}

void bundles() {
  const std::string t = "fuzz_bundle";
  {
    Model m;
    build_mlp(m, true);  // the bundle keeps what the signature needs: no optimizer
    seed(t, "mlp_dropout.bundle", bundle_bytes(m));
  }
  {
    Model m;
    build_cnn(m);
    seed(t, "cnn_batchnorm.bundle", bundle_bytes(m));
  }
  {
    Model m;
    build_lstm(m);
    seed(t, "lstm.bundle", bundle_bytes(m));
  }
  Model m;
  build_no_variables(m);
  const std::string lookup = bundle_bytes(m);
  seed(t, "lookup.bundle", lookup);
  // Broken ones: no checkpoint part, a checkpoint lacking the model's variables.
  Model mlp;
  build_mlp(mlp, false);
  const std::string mlp_bytes = bundle_bytes(mlp);
  seed(t, "graph_only.bundle", mlp_bytes.substr(0, mlp_bytes.find('\0')));
  seed(t, "wrong_variables.bundle", mlp_bytes.substr(0, mlp_bytes.find('\0') + 1) + lookup.substr(lookup.find('\0') + 1));
  std::vector<std::string> words = graph_words();
  words.push_back("SLUICECK");
  words.push_back("\"serving_default\"");
  write_dict(t, words);
}

// ---- IDX ----

std::string idx(int type, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>(d >> (8 * i)));
  return s + data;
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, bytes.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void idx_files() {
  const std::string t = "fuzz_idx";
  std::string pixels;
  for (int i = 0; i < 3 * 4 * 4; ++i) pixels.push_back(static_cast<char>(i * 5));
  const std::string images = idx(0x08, {3, 4, 4}, pixels);
  seed(t, "images_u8.idx3", images);
  seed(t, "labels_u8.idx1", idx(0x08, {3}, std::string("\x01\x09\x00", 3)));
  seed(t, "labels_out_of_range.idx1", idx(0x08, {2}, std::string("\x0a\xff", 2)));
  seed(t, "i8.idx", idx(0x09, {2, 2}, "\x80\x7f\x01\xff"));
  seed(t, "i16.idx", idx(0x0B, {3}, std::string("\x80\x00\x7f\xff\x00\x01", 6)));
  seed(t, "i32.idx", idx(0x0C, {2}, std::string("\x80\x00\x00\x00\x00\x00\x00\x2a", 8)));
  seed(t, "f32.idx", idx(0x0D, {2}, std::string("\x3f\x80\x00\x00\x7f\xc0\x00\x00", 8)));
  seed(t, "f64.idx", idx(0x0E, {1, 1}, std::string("\x40\x09\x21\xfb\x54\x44\x2d\x18", 8)));
  seed(t, "empty.idx", idx(0x08, {0, 28}, ""));
  seed(t, "images_u8.idx3.gz", gzip(images));
  seed(t, "truncated.idx3", images.substr(0, images.size() - 5));
  seed(t, "trailing.idx1", idx(0x08, {1}, "\x01\x02"));
  seed(t, "huge_dims.idx", idx(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu}, "x"));
  write_dict(t, {std::string("\x00\x00\x08\x01", 4), std::string("\x00\x00\x08\x03", 4), std::string("\x00\x00\x0d\x02", 4),
                 std::string("\x00\x00\x0e\x01", 4), std::string("\x00\x00\x0b\x01", 4), std::string("\x1f\x8b\x08", 3),
                 std::string("\xff\xff\xff\xff", 4), std::string("\x00\x00\x00\x00", 4)});
}

// fuzz_random_graph reads its input through FuzzedDataProvider; a few fixed pseudo-random
// byte strings let it start from graphs of several ops rather than from nothing.
void random_graph_seeds() {
  uint64_t s = 0x5eed;
  for (int k = 0; k < 8; ++k) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      bytes.push_back(static_cast<char>(s >> 56));
    }
    seed("fuzz_random_graph", "random_" + std::to_string(k), bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_fuzz_corpus <tests/fuzz folder> <tests/data folder>\n";
    return 2;
  }
  g_out = argv[1];
  // Only the targets this program writes: other targets' seeds and dictionaries (fuzz_onnx,
  // fuzz_image, fuzz_serving_json, ...) come from elsewhere and must survive a rerun.
  for (const char* target : {"fuzz_checkpoint", "fuzz_npz", "fuzz_graph_file", "fuzz_bundle", "fuzz_idx",
                             "fuzz_random_graph"}) {
    fs::remove_all(g_out / "corpus" / target);
    fs::remove(g_out / "dict" / (std::string(target) + ".dict"));
  }
  checkpoints();
  numpy(argv[2]);
  graphs();
  bundles();
  idx_files();
  random_graph_seeds();
  return 0;
}
