#include "rest_api.h"

#include <chrono>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::serving {
namespace {
using json = nlohmann::json;

bool iequals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// What a /v1/models/... path names (TF Serving's ParseModelInfo, without regexes).
struct Route {
  std::string model;
  std::optional<int64_t> version;
  std::optional<std::string> label;
  std::string method;       // "predict", "classify", "regress" for POST
  bool metadata = false;    // GET .../metadata
};

int64_t parse_version(const std::string& s) {
  const auto v = parse_version_folder(s);
  if (!v) throw InvalidArgument("Failed to convert version: " + s + " to numeric.");
  return *v;
}

// Parses `parts` = [name, ("versions", v | "labels", l)?, rest...] from index 0; returns the
// index after the optional version/label.
size_t parse_model_spec(const std::vector<std::string>& parts, Route& r) {
  r.model = parts[0];
  size_t i = 1;
  if (i < parts.size()) {
    if (iequals(parts[i], "versions") && i + 1 < parts.size() && all_digits(parts[i + 1])) {
      r.version = parse_version(parts[i + 1]);
      i += 2;
    } else if (iequals(parts[i], "labels") && i + 1 < parts.size() && !parts[i + 1].empty()) {
      r.label = parts[i + 1];
      i += 2;
    }
  }
  return i;
}

// nullopt: the path is not an API path (the caller answers "Malformed request").
std::optional<Route> parse_route(const std::string& method, const std::string& path) {
  static const std::string prefix = "/v1/models";
  if (path.size() < prefix.size() || !iequals(path.substr(0, prefix.size()), prefix)) return std::nullopt;
  std::string rest = path.substr(prefix.size());
  Route r;
  if (method == "POST") {
    if (rest.empty() || rest[0] != '/') return std::nullopt;
    rest = rest.substr(1);
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    r.method = rest.substr(colon + 1);
    for (char& c : r.method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (r.method != "predict" && r.method != "classify" && r.method != "regress") return std::nullopt;
    const std::vector<std::string> parts = split(rest.substr(0, colon), '/');
    for (const auto& p : parts)
      if (p.empty() || p.find(':') != std::string::npos) return std::nullopt;
    if (parse_model_spec(parts, r) != parts.size()) return std::nullopt;
    return r;
  }
  if (method == "GET") {
    if (rest.empty()) return r;  // "Missing model name in request."
    if (rest[0] != '/') return std::nullopt;
    const std::vector<std::string> parts = split(rest.substr(1), '/');
    for (const auto& p : parts)
      if (p.empty() || p.find(':') != std::string::npos) return std::nullopt;
    size_t i = parse_model_spec(parts, r);
    if (i < parts.size() && iequals(parts[i], "metadata")) {
      r.metadata = true;
      ++i;
    }
    if (i != parts.size()) return std::nullopt;
    return r;
  }
  return std::nullopt;
}

json shape_json(const Shape& shape) {
  json dims = json::array();
  if (!shape.known_rank()) return json{{"dim", dims}, {"unknown_rank", true}};
  for (int64_t d : shape) dims.push_back(json{{"size", std::to_string(d)}, {"name", ""}});
  return json{{"dim", dims}, {"unknown_rank", false}};
}

json tensor_info_json(const Output& o) {
  return json{{"dtype", tf_dtype_name(o.dtype())}, {"tensor_shape", shape_json(o.shape())}, {"name", o.name()}};
}

const std::string kDefaultSignature = "serving_default";

}  // namespace

const char* tf_error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "INVALID_ARGUMENT";
    case ErrorCode::not_found: return "NOT_FOUND";
    case ErrorCode::already_exists: return "ALREADY_EXISTS";
    case ErrorCode::failed_precondition: return "FAILED_PRECONDITION";
    case ErrorCode::out_of_range: return "OUT_OF_RANGE";
    case ErrorCode::resource_exhausted: return "RESOURCE_EXHAUSTED";
    case ErrorCode::data_loss: return "DATA_LOSS";
    case ErrorCode::unimplemented: return "UNIMPLEMENTED";
    case ErrorCode::internal: return "INTERNAL";
  }
  return "UNKNOWN";
}

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::failed_precondition:
    case ErrorCode::out_of_range: return 400;
    case ErrorCode::not_found: return 404;
    case ErrorCode::already_exists: return 409;
    case ErrorCode::resource_exhausted: return 429;
    case ErrorCode::unimplemented: return 501;
    case ErrorCode::data_loss:
    case ErrorCode::internal: return 500;
  }
  return 500;
}

RestApi::RestApi(ModelManager& manager, Metrics& metrics, ApiOptions options)
    : manager_(manager), metrics_(metrics), options_(options) {}

void RestApi::attach_batchers(Servable& servable, const ApiOptions& options) {
  if (!options.enable_batching) return;
  auto batchers = std::make_shared<std::map<std::string, std::unique_ptr<Batcher>>>();
  for (const auto& kv : servable.model.signatures())
    (*batchers)[kv.first] = std::make_unique<Batcher>(servable.model, kv.first, options.batching);
  servable.attachment = batchers;
}

std::string RestApi::model_status(const std::string& name, std::optional<int64_t> version,
                                  const std::optional<std::string>& label) const {
  if (label) version = manager_.find(name, std::nullopt, label)->version;
  json list = json::array();
  for (const VersionStatus& s : manager_.status(name, version)) {
    list.push_back(json{{"version", std::to_string(s.version)},
                        {"state", version_state_name(s.state)},
                        {"status", json{{"error_code", s.error ? tf_error_code_name(*s.error) : "OK"},
                                        {"error_message", s.error_message}}}});
  }
  return json{{"model_version_status", list}}.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RestApi::model_metadata(const std::string& name, std::optional<int64_t> version,
                                    const std::optional<std::string>& label) const {
  const ServableHandle s = manager_.find(name, version, label);
  json sigs = json::object();
  for (const auto& kv : s->model.signatures()) {
    json in = json::object(), out = json::object();
    for (const auto& i : kv.second.inputs) in[i.first] = tensor_info_json(i.second);
    for (const auto& o : kv.second.outputs) out[o.first] = tensor_info_json(o.second);
    auto m = s->method_names.find(kv.first);
    sigs[kv.first] = json{{"inputs", in},
                          {"outputs", out},
                          {"method_name", m != s->method_names.end() ? m->second : "tensorflow/serving/predict"},
                          {"defaults", json::object()}};
  }
  json doc{{"model_spec", json{{"name", name}, {"signature_name", ""}, {"version", std::to_string(s->version)}}},
           {"metadata", json{{"signature_def", json{{"signature_def", sigs}}}}}};
  return doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RestApi::predict(const std::string& name, std::optional<int64_t> version,
                             const std::optional<std::string>& label, const std::string& body,
                             std::string* signature_used) const {
  const ServableHandle s = manager_.find(name, version, label);
  const io::LoadedModel& model = s->model;
  std::string signature;
  PredictRequest req = parse_predict_request(body, options_.max_json_depth, [&](const std::string& requested) {
    signature = requested.empty() ? kDefaultSignature : requested;
    auto it = model.signatures().find(signature);
    if (it == model.signatures().end())
      throw InvalidArgument("Serving signature name: \"" + signature + "\" not found in signature def");
    if (signature_used) *signature_used = signature;  // metrics label only for real signatures
    SpecMap specs;
    for (const auto& kv : it->second.inputs) specs[kv.first] = TensorSpec{kv.second.dtype(), kv.second.shape()};
    return specs;
  });
  std::map<std::string, Tensor> outputs;
  const auto* batchers = static_cast<const std::map<std::string, std::unique_ptr<Batcher>>*>(s->attachment.get());
  bool batchable = batchers != nullptr && batchers->count(signature);
  if (batchable) {
    // Only signatures whose every input has a free batch dimension, fed with one row count.
    for (const auto& kv : model.signature(signature).inputs) {
      const Shape& sh = kv.second.shape();
      auto in = req.inputs.find(kv.first);
      if (!sh.known_rank() || sh.rank() < 1 || sh.dim(0) != -1 || in == req.inputs.end() ||
          in->second.rank() < 1 || in->second.dim(0) != req.rows) {
        batchable = false;
        break;
      }
    }
  }
  if (batchable) outputs = batchers->at(signature)->run(req.inputs, req.rows);
  else outputs = model.run(signature, req.inputs);
  return write_predict_response(outputs, req.format);
}

ApiResponse RestApi::handle(const std::string& method, const std::string& path, const std::string& body) const {
  const auto start = std::chrono::steady_clock::now();
  std::string api = "unknown", model = "", signature = "";
  ApiResponse res;
  ErrorCode code = ErrorCode::internal;
  bool ok = false;
  try {
    const std::optional<Route> route = parse_route(method, path);
    if (!route) throw InvalidArgument("Malformed request: " + method + " " + path);
    model = route->model;
    if (method == "GET") {
      if (route->model.empty()) throw InvalidArgument("Missing model name in request.");
      api = route->metadata ? "metadata" : "status";
      res.body = route->metadata ? model_metadata(route->model, route->version, route->label)
                                 : model_status(route->model, route->version, route->label);
    } else {
      api = route->method;
      if (route->method != "predict")
        // TF Serving feeds :classify / :regress requests to a signature as serialized
        // tf.Example protos that the graph parses (ParseExample); Sluice has neither that op
        // nor classify/regress method names on its signatures, so it cannot answer honestly.
        throw Unimplemented(":" + route->method + " needs a " + route->method +
                            " signature fed serialized tf.Example protos (parsed in the graph by ParseExample), "
                            "which Sluice does not have; use :predict");
      res.body = predict(route->model, route->version, route->label, body, &signature);
    }
    ok = true;
  } catch (const Error& e) {
    code = e.code();
    res.status = http_status_for(e.code());
    res.body = error_body(e.what());
  } catch (const std::bad_alloc&) {
    code = ErrorCode::resource_exhausted;
    res.status = 429;
    res.body = error_body("Out of memory while handling the request");
  } catch (const std::exception& e) {
    res.status = 500;
    res.body = error_body(std::string("Internal error: ") + e.what());
  }
  // Unknown models are not recorded: their names come from the URL (unbounded label values).
  if (!model.empty() && api != "unknown" && (ok || code != ErrorCode::not_found)) {
    const double micros =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    metrics_.record(model, api, signature, ok ? "OK" : tf_error_code_name(code), micros);
  }
  return res;
}

}  // namespace sluice::serving
