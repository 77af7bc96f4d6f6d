// The HTTP front end of `sluice serve`: TF Serving's REST API (rest_api.h) on Sluice's own
// epoll HTTP/1.1 server (http_loop.h), plus /monitoring/prometheus/metrics, a status page at /, one access-log line per request,
// limits (body size, JSON nesting, socket read/write time) and graceful shutdown. Thin on
// purpose: everything it answers comes from RestApi and Metrics, which are tested without
// sockets.
//
//   Server server(configs, options);   // loads every model's versions first
//   int port = server.bind();           // 127.0.0.1 unless options.host says otherwise
//   server.start();                     // serves on a thread; or serve() to block
//   ...
//   server.shutdown();                  // stops accepting, lets in-flight requests finish
#pragma once

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_loop.h"
#include "metrics.h"
#include "model_manager.h"
#include "rest_api.h"

namespace sluice::serving {

struct ServerOptions {
  std::string host = "127.0.0.1";     // loopback unless asked
  int port = 8501;                    // 0: any free port (bind() returns it)
  int num_threads = 64;               // HTTP worker threads (each answers one request at a time)
  size_t max_body_bytes = 64u << 20;  // larger bodies get 413
  int timeout_ms = 30000;             // a request must arrive (and its answer leave) within this: 408
  int idle_timeout_ms = 30000;        // keep-alive connections idle this long are closed
  int poll_seconds = 1;               // base path polling (hot reload); 0: no polling
  std::string access_log = "-";       // "-": stderr, "off" (or ""): none, otherwise a file appended to
  int session_threads = 0;            // intra-op threads per Session::run (0: the shared pool)
  ApiOptions api;
};

class Server {
 public:
  Server(std::vector<ModelConfig> configs, ServerOptions options);
  ~Server();  // shuts down
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port. Errors: InvalidArgument (bad host or a
  // port already taken).
  int bind();
  // Serves until shutdown() (blocks). bind() first.
  void serve();
  // serve() on a background thread.
  void start();
  // Stops accepting; requests in flight finish and get their answers; returns when the
  // workers are done. Idempotent.
  void shutdown();

  int port() const { return port_; }
  ModelManager& manager() { return *manager_; }
  Metrics& metrics() { return metrics_; }
  const RestApi& api() const { return *api_; }

  // The status page's HTML (models, versions, states, signatures, request counts and a form
  // per signature).
  std::string status_page() const;

 private:
  void route(const HttpRequest& req, HttpResponse& res);
  void log_request(const HttpRequest& req, const HttpResponse& res, std::chrono::steady_clock::time_point started);
  void log_access(const std::string& line);
  void write_log_locked();        // writes the buffered lines; log_mutex_ held
  void flush_log_periodically();  // the flusher thread
  void stop_log_flusher();        // writes what is buffered; later lines are written at once

  ServerOptions options_;
  Metrics metrics_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<RestApi> api_;
  std::unique_ptr<HttpLoop> http_;
  int port_ = -1;
  std::mutex log_mutex_;
  std::condition_variable log_cv_;
  std::string log_buffer_;
  bool log_stopped_ = false;
  std::thread log_thread_;
  FILE* log_ = nullptr;
  bool own_log_ = false;
};

}  // namespace sluice::serving
