// TensorFlow Serving's REST API over a ModelManager, as a plain function: (method, path,
// body) in, (status, JSON body) out. No sockets here; http_server.h puts it on HTTP.
//
//   GET  /v1/models/{name}[/versions/{v}|/labels/{l}]             version status
//   GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata    signatures, dtypes, shapes
//   POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict     row or columnar request
//
// Errors are {"error": "<message>"} with TF Serving's status codes: 400 for malformed
// requests and bad inputs (InvalidArgument, FailedPrecondition, OutOfRange), 404 for unknown
// models and versions, 501 for what Sluice does not do (:classify, :regress, string inputs
// once they parse), 500 for internal failures.
#pragma once

#include <memory>
#include <string>

#include "batcher.h"
#include "json_tensor.h"
#include "metrics.h"
#include "model_manager.h"

namespace sluice::serving {

struct ApiOptions {
  int max_json_depth = 100;      // deeper request bodies are refused (400)
  bool enable_batching = false;  // merge concurrent predict requests (batcher.h)
  BatchOptions batching;
};

struct ApiResponse {
  int status = 200;
  std::string body;
};

// TensorFlow's error code name ("INVALID_ARGUMENT", ...) and the HTTP status TF Serving
// answers it with.
const char* tf_error_code_name(ErrorCode code);
int http_status_for(ErrorCode code);

class RestApi {
 public:
  RestApi(ModelManager& manager, Metrics& metrics, ApiOptions options);

  ApiResponse handle(const std::string& method, const std::string& path, const std::string& body) const;

  // Attaches batchers for every signature of `servable` (ModelManager's OnLoad hook) when
  // batching is on.
  static void attach_batchers(Servable& servable, const ApiOptions& options);

  // Pieces of the API, each throwing sluice::Error (handle() turns them into responses).
  std::string model_status(const std::string& name, std::optional<int64_t> version,
                           const std::optional<std::string>& label) const;
  std::string model_metadata(const std::string& name, std::optional<int64_t> version,
                             const std::optional<std::string>& label) const;
  std::string predict(const std::string& name, std::optional<int64_t> version,
                      const std::optional<std::string>& label, const std::string& body,
                      std::string* signature_used) const;

 private:
  ModelManager& manager_;
  Metrics& metrics_;
  ApiOptions options_;
};

}  // namespace sluice::serving
