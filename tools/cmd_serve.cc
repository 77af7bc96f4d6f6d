// `sluice serve`: TensorFlow Serving's REST API for one model (--model_name/--model_base_path)
// or several (--model_config_file), with hot reload of new version folders, optional
// server-side batching, Prometheus metrics and an access log. A thin shell over
// serving/http_server.h. SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0.
#include <csignal>
#include <iostream>
#include <memory>
#include <pthread.h>

#include "command.h"
#include "http_server.h"

namespace sluice::cli {
namespace {

struct ServeOptions {
  std::string model_name = "default";
  std::string model_base_path;
  std::string model_config_file;
  serving::ServerOptions server;
  int64_t max_batch_size = 32;
  int64_t batch_timeout_micros = 1000;
};

void run_serve(const ServeOptions& o) {
  std::vector<serving::ModelConfig> configs;
  if (!o.model_config_file.empty()) {
    if (!o.model_base_path.empty())
      throw InvalidArgument("give either --model_config_file or --model_base_path, not both");
    configs = serving::read_model_config_file(o.model_config_file);
  } else {
    if (o.model_base_path.empty()) throw InvalidArgument("--model_base_path (or --model_config_file) is required");
    configs.push_back(serving::ModelConfig{o.model_name, o.model_base_path, {}, {}});
  }
  serving::ServerOptions options = o.server;
  options.api.batching.max_batch_size = o.max_batch_size;
  options.api.batching.batch_timeout = std::chrono::microseconds(o.batch_timeout_micros);
  if (o.max_batch_size < 1) throw InvalidArgument("--max_batch_size must be >= 1");
  if (o.batch_timeout_micros < 0) throw InvalidArgument("--batch_timeout_micros must be >= 0");

  // SIGTERM/SIGINT are taken by sigwait() below: block them before any thread starts, so
  // every server thread inherits the mask and none is interrupted mid-request.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  serving::Server server(std::move(configs), options);
  const int port = server.bind();
  server.start();
  std::cout << "Exporting HTTP/REST API at:" << options.host << ":" << port << " ..." << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "sluice serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": finishing in-flight requests and shutting down\n";
  server.shutdown();
}

void add_serve(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("serve", "Serve models over TensorFlow Serving's REST API");
  auto o = std::make_shared<ServeOptions>();
  sub->add_option("--model_name", o->model_name, "name of the model (with --model_base_path)")
      ->capture_default_str();
  sub->add_option("--model_base_path", o->model_base_path,
                  "folder of numeric version folders, each a Sluice bundle, TF SavedModel or ONNX file");
  sub->add_option("--model_config_file", o->model_config_file,
                  "JSON model config (model_config_list: name, base_path, model_version_policy, version_labels)");
  sub->add_option("--port,--rest_api_port", o->server.port, "HTTP port (0: any free port)")->capture_default_str();
  sub->add_option("--host", o->server.host, "address to bind (loopback unless you say otherwise)")
      ->capture_default_str();
  sub->add_option("--rest_api_num_threads", o->server.num_threads, "HTTP worker threads (each answers one request at a time)")
      ->capture_default_str();
  sub->add_option("--rest_api_timeout_in_ms", o->server.timeout_ms, "time limit for a request to arrive and its answer to leave (408)")
      ->capture_default_str();
  sub->add_option("--max_body_bytes", o->server.max_body_bytes, "larger request bodies get 413")
      ->capture_default_str();
  sub->add_option("--max_json_depth", o->server.api.max_json_depth, "deeper JSON request bodies get 400")
      ->capture_default_str();
  sub->add_option("--file_system_poll_wait_seconds", o->server.poll_seconds,
                  "how often base paths are scanned for new versions (0: never)")
      ->capture_default_str();
  sub->add_option("--session_threads", o->server.session_threads,
                  "intra-op threads per model run (0: the process-wide pool; 1: each request on its HTTP thread)")
      ->capture_default_str();
  sub->add_flag("--enable_batching", o->server.api.enable_batching, "merge concurrent predict requests");
  sub->add_option("--max_batch_size", o->max_batch_size, "rows per merged run (with --enable_batching)")
      ->capture_default_str();
  sub->add_option("--batch_timeout_micros", o->batch_timeout_micros,
                  "longest a batch waits to fill (with --enable_batching)")
      ->capture_default_str();
  sub->add_option("--access_log", o->server.access_log, "access log: '-' stderr, 'off', or a file to append to")
      ->capture_default_str();
  sub->callback([o] { run_serve(*o); });
}
SLUICE_CLI_COMMAND(add_serve);

}  // namespace
}  // namespace sluice::cli
