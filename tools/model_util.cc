#include "model_util.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

namespace sluice::cli {
namespace fs = std::filesystem;

const char* format_name(Format f) {
  switch (f) {
    case Format::sluice_checkpoint: return "sluice-checkpoint";
    case Format::sluice_graph: return "sluice-graph";
    case Format::sluice_bundle: return "sluice-bundle";
    case Format::npz: return "npz";
    case Format::npy: return "npy";
    case Format::tf_checkpoint: return "tf-checkpoint";
    case Format::tf_graph_def: return "tf-graphdef";
    case Format::tf_meta_graph: return "tf-metagraph";
    case Format::tf_saved_model: return "tf-savedmodel";
    case Format::onnx: return "onnx";
    case Format::keras_h5: return "keras-h5";
  }
  return "unknown";
}

bool is_model_format(Format f) {
  return !(f == Format::sluice_checkpoint || f == Format::npz || f == Format::npy ||
           f == Format::tf_checkpoint);
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_head(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string head(n, '\0');
  in.read(&head[0], static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return head;
}

}  // namespace

Detected detect_format(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::is_directory(st)) {
    if (io::is_tf_saved_model(path)) return {Format::tf_saved_model, path};
    if (fs::exists(fs::path(path) / io::kBundleGraphFile)) return {Format::sluice_bundle, path};
    if (fs::exists(fs::path(path) / "checkpoint")) return {Format::tf_checkpoint, io::latest_checkpoint(path)};
    throw InvalidArgument("unknown format: folder '" + path +
                          "' holds no saved_model.pb, graph.json or TensorFlow checkpoint state file");
  }
  if (!fs::exists(st)) {
    if (io::is_tf_checkpoint(path)) return {Format::tf_checkpoint, path};
    throw NotFound("no such file or folder: '" + path + "'");
  }
  if (ends_with(path, ".index")) {
    const std::string prefix = path.substr(0, path.size() - 6);
    if (io::is_tf_checkpoint(prefix)) return {Format::tf_checkpoint, prefix};
  }
  const std::string head = read_head(path, 64);
  if (head.compare(0, 8, "SLUICECK") == 0) return {Format::sluice_checkpoint, path};
  if (head.compare(0, 6, "\x93NUMPY") == 0) return {Format::npy, path};
  if (head.compare(0, 4, std::string("PK\x03\x04", 4)) == 0 ||
      head.compare(0, 4, std::string("PK\x05\x06", 4)) == 0)
    return {Format::npz, path};
  if (head.compare(0, 8, std::string("\x89HDF\r\n\x1a\n", 8)) == 0) return {Format::keras_h5, path};
  const size_t first = head.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && head[first] == '{') return {Format::sluice_graph, path};
  const std::string name = fs::path(path).filename().string();
  if (name == "saved_model.pb") return {Format::tf_saved_model, fs::path(path).parent_path().string()};
  if (ends_with(name, ".onnx")) return {Format::onnx, path};
  if (ends_with(name, ".meta")) return {Format::tf_meta_graph, path};
  if (ends_with(name, ".pb") || ends_with(name, ".graphdef")) return {Format::tf_graph_def, path};
  throw InvalidArgument("unknown format: '" + path +
                        "' is not a Sluice checkpoint, graph file or bundle, .npy/.npz, TensorFlow "
                        "checkpoint/GraphDef (.pb)/MetaGraph (.meta)/SavedModel, ONNX (.onnx) or Keras HDF5 (.h5) file");
}

std::string learning_phase_name(const Graph& graph) {
  return io::graph_to_def(graph).learning_phase;
}

namespace {

// Runs the initializer of every variable the session has no value for.
void initialize_missing(Model& m) {
  std::vector<Operation> inits;
  for (const Operation& v : m.graph.global_variables()) {
    if (m.session->is_variable_initialized(v.name())) continue;
    const Operation init = m.graph.variable_initializer(v);
    if (init.valid()) inits.push_back(init);
  }
  if (!inits.empty()) {
    m.session->run({}, {}, inits);
    if (m.weights.empty()) m.weights = "initializers";
  }
}

}  // namespace

std::unique_ptr<Model> open_model(const std::string& path, const SessionOptions& options) {
  auto m = std::make_unique<Model>();
  m->source = detect_format(path);
  const std::string& p = m->source.path;
  auto own_session = [&] {
    m->owned = std::make_unique<Session>(m->graph, options);
    m->session = m->owned.get();
  };
  auto adopt = [&](io::LoadedModel lm) {
    m->loaded.emplace(std::move(lm));
    m->graph = m->loaded->graph();
    m->session = &m->loaded->session();
    m->signatures = m->loaded->signatures();
  };
  switch (m->source.format) {
    case Format::sluice_bundle:
      adopt(io::load_model(p, options));
      m->weights = (fs::path(p) / io::kBundleVariablesFile).string();
      break;
    case Format::tf_saved_model:
      adopt(io::load_tf_saved_model(p, {"serve"}, options));
      m->weights = (fs::path(p) / "variables" / "variables").string();
      break;
    case Format::keras_h5:
      adopt(io::load_keras_h5(p, options));
      m->weights = p;
      break;
    case Format::onnx:
      adopt(io::load_onnx_model(p, options));
      m->weights = p;
      break;
    case Format::sluice_graph: {
      m->signatures = io::import_graph_file(m->graph, p).signatures;
      own_session();
      break;
    }
    case Format::tf_graph_def:
      io::import_tf_graph_def(m->graph, p);
      own_session();
      break;
    case Format::tf_meta_graph: {
      io::TfMetaGraphImport r = io::import_tf_meta_graph(m->graph, p);
      m->signatures = r.result.signatures;
      m->skipped = r.skipped;
      own_session();
      // The weights: the checkpoint the .meta was saved with ("model.meta" -> "model"), or
      // the newest one of its folder.
      std::string ckpt = p.substr(0, p.size() - 5);
      if (!io::is_tf_checkpoint(ckpt)) {
        try {
          ckpt = io::latest_checkpoint(fs::path(p).parent_path().string());
        } catch (const NotFound&) {
          ckpt.clear();
        }
      }
      if (!ckpt.empty() && !m->graph.global_variables().empty()) {
        io::restore_into_scope(*m->session, ckpt, "");
        m->weights = ckpt;
      }
      break;
    }
    default:
      throw InvalidArgument("'" + path + "' is a " + format_name(m->source.format) +
                            " file: it holds tensors but no graph to run");
  }
  initialize_missing(*m);
  return m;
}

Output find_tensor(const Model& model, const std::string& name) {
  std::string node = name;
  int index = 0;
  const size_t colon = name.rfind(':');
  if (colon != std::string::npos && colon + 1 < name.size() &&
      name.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    node = name.substr(0, colon);
    index = std::stoi(name.substr(colon + 1));
  }
  auto at = [&](const std::string& n) -> Output {
    const std::optional<Operation> op = model.graph.find_operation(n);
    if (!op || index >= op->num_outputs()) return Output();
    return op->output(index);
  };
  Output t = at(node);
  if (!t.valid() && model.source.format == Format::onnx && index == 0) {
    const std::string mapped = io::onnx_tensor_name(node);
    t = at(mapped.substr(0, mapped.size() - 2));
  }
  if (!t.valid())
    throw NotFound("no tensor '" + name + "' in " + format_name(model.source.format) + " '" +
                   model.source.path + "'");
  return t;
}

namespace {

void flatten_json(const nlohmann::json& j, size_t depth, std::vector<int64_t>& dims,
                  std::vector<double>& values, bool& any_bool, const std::string& text) {
  if (j.is_array()) {
    if (depth == dims.size()) {
      dims.push_back(static_cast<int64_t>(j.size()));
    } else if (dims[depth] != static_cast<int64_t>(j.size())) {
      throw InvalidArgument("tensor literal '" + text + "' is ragged (rows of different lengths)");
    }
    SLUICE_REQUIRE(dims.size() <= static_cast<size_t>(Shape::kMaxRank), InvalidArgument,
                   "tensor literal '", text, "' has more than ", Shape::kMaxRank, " dimensions");
    for (const auto& e : j) flatten_json(e, depth + 1, dims, values, any_bool, text);
    return;
  }
  SLUICE_REQUIRE(depth == dims.size(), InvalidArgument, "tensor literal '", text,
                 "' is ragged (a number where a list was expected)");
  if (j.is_boolean()) {
    any_bool = true;
    values.push_back(j.get<bool>() ? 1.0 : 0.0);
  } else if (j.is_number()) {
    values.push_back(j.get<double>());
  } else {
    throw InvalidArgument("tensor literal '" + text + "': only numbers and booleans are supported");
  }
}

Tensor cast_to(const Tensor& t, std::optional<DType> want) {
  if (!want || *want == t.dtype()) return t;
  SLUICE_REQUIRE(t.dtype() != DType::string && *want != DType::string, InvalidArgument,
                 "cannot convert a ", dtype_name(t.dtype()), " array to ", dtype_name(*want));
  const Tensor r = t.cast(*want);
  // Integer targets (token ids) and integer sources must convert exactly: 3.0 -> 3 is fine,
  // 3.5 or 2^25 + 1 into float32 is an error, not a silent change. (Float to float rounds,
  // as feeding float64 .npy data to a float32 model should.)
  auto is_float = [](DType d) { return d == DType::f32 || d == DType::f64; };
  if (!is_float(*want) || !is_float(t.dtype())) {
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const double a = t.as_double(i), b = r.as_double(i);
      SLUICE_REQUIRE(a == b, InvalidArgument, "input value ", a, " (element ", i, ") is not exactly representable as ",
                     dtype_name(*want));
    }
  }
  return r;
}

}  // namespace

Tensor parse_tensor_arg(const std::string& value, std::optional<DType> want) {
  std::error_code ec;
  if (fs::is_regular_file(value, ec)) {
    const Detected d = detect_format(value);
    if (d.format == Format::npy) return cast_to(io::read_npy(value), want);
    if (d.format == Format::npz) {
      auto arrays = io::read_npz(value);
      if (arrays.size() != 1) {
        std::string names;
        for (const auto& a : arrays) names += (names.empty() ? "" : ", ") + a.first;
        throw InvalidArgument("'" + value + "' holds " + std::to_string(arrays.size()) +
                              " arrays (" + names + "): name one as " + value + ":NAME");
      }
      return cast_to(arrays[0].second, want);
    }
    throw InvalidArgument("'" + value + "' is a " + format_name(d.format) +
                          " file; inputs are .npy files, .npz arrays or JSON literals");
  }
  const size_t colon = value.rfind(':');
  if (colon != std::string::npos && fs::is_regular_file(value.substr(0, colon), ec)) {
    const std::string file = value.substr(0, colon), name = value.substr(colon + 1);
    for (auto& [n, t] : io::read_npz(file))
      if (n == name) return cast_to(t, want);
    throw NotFound("no array '" + name + "' in '" + file + "'");
  }
  nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded())
    throw InvalidArgument("input '" + value + "' is neither a file nor a JSON literal such as '[[1,2]]'");
  std::vector<int64_t> dims;
  std::vector<double> values;
  bool any_bool = false;
  flatten_json(j, 0, dims, values, any_bool, value);
  Tensor t = Tensor::from_vector(values, Shape(dims));
  if (!want) want = any_bool ? DType::boolean : DType::f32;
  return cast_to(t, *want);
}

TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  if (t.dtype() == DType::string) return s;
  double sum = 0, sum_sq = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  const int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    const double v = t.as_double(i);
    if (std::isnan(v)) {
      ++s.nan;
    } else if (std::isinf(v)) {
      ++s.inf;
    } else {
      ++s.finite;
      s.min = std::min(s.min, v);
      s.max = std::max(s.max, v);
      sum += v;
    }
  }
  if (s.finite == 0) {
    s.min = s.max = 0;
    return s;
  }
  s.mean = sum / static_cast<double>(s.finite);
  for (int64_t i = 0; i < n; ++i) {
    const double v = t.as_double(i);
    if (std::isfinite(v)) sum_sq += (v - s.mean) * (v - s.mean);
  }
  s.std = std::sqrt(sum_sq / static_cast<double>(s.finite));
  return s;
}

std::vector<int64_t> shape_dims(const Shape& s) { return s.known_rank() ? s.dims() : std::vector<int64_t>{}; }

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

}  // namespace sluice::cli
