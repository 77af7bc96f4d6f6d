#include "http_server.h"

#include <chrono>
#include <condition_variable>
#include <ctime>

namespace sluice::serving {
namespace {

// The access log's timestamp. The "YYYY-MM-DDTHH:MM:SS" part is formatted once per second
// per thread: gmtime_r takes glibc's timezone lock on every call.
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  thread_local std::time_t cached_second = -1;
  thread_local char cached[32];
  if (t != cached_second) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = t;
  }
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms));
  return std::string(cached) + millis;
}

// Request paths are client-controlled: keep log lines one line of printable ASCII.
std::string printable(const std::string& s, size_t max_len = 512) {
  std::string out;
  for (char c : s.substr(0, max_len)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return s.size() > max_len ? out + "..." : out;
}

// One instance of an input for the status page's example request: zeros (false, "") in the
// input's shape without its batch dimension; "" when that shape is not fully known.
std::string example_value(const Output& in) {
  const Shape& shape = in.shape();
  if (!shape.known_rank() || shape.rank() < 1) return "";
  std::string leaf = in.dtype() == DType::string ? "\"\"" : in.dtype() == DType::boolean ? "false"
                     : (in.dtype() == DType::f32 || in.dtype() == DType::f64) ? "0.0" : "0";
  for (int d = shape.rank() - 1; d >= 1; --d) {
    if (shape.dim(d) < 0 || shape.dim(d) > 64) return "";
    std::string list = "[";
    for (int64_t i = 0; i < shape.dim(d); ++i) list += (i ? ", " : "") + leaf;
    leaf = list + "]";
  }
  return leaf;
}

// {"signature_name": ..., "instances": [one instance of zeros]} when every input's shape is
// known, else an empty instance list to fill in.
std::string example_request(const std::string& signature, const std::map<std::string, Output>& inputs) {
  std::string instance;
  for (const auto& kv : inputs) {
    const std::string v = example_value(kv.second);
    if (v.empty()) return "{\"signature_name\": \"" + signature + "\", \"instances\": []}";
    if (inputs.size() == 1) instance = v;
    else instance += (instance.empty() ? "{" : ", ") + std::string("\"") + kv.first + "\": " + v;
  }
  if (inputs.size() > 1) instance += "}";
  return "{\"signature_name\": \"" + signature + "\", \"instances\": [" + instance + "]}";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Server::Server(std::vector<ModelConfig> configs, ServerOptions options) : options_(std::move(options)) {
  SLUICE_REQUIRE(options_.num_threads >= 1, InvalidArgument, "the number of HTTP threads must be >= 1, got ",
                 options_.num_threads);
  SLUICE_REQUIRE(options_.api.max_json_depth >= 1, InvalidArgument, "max JSON depth must be >= 1");
  const ApiOptions api_options = options_.api;
  manager_ = std::make_unique<ModelManager>(
      std::move(configs), [api_options](Servable& s) { RestApi::attach_batchers(s, api_options); },
      SessionOptions{options_.session_threads});
  manager_->poll();  // serve nothing before the initial versions are loaded (as TF Serving)
  api_ = std::make_unique<RestApi>(*manager_, metrics_, options_.api);

  if (options_.access_log == "-") {
    log_ = stderr;
  } else if (!options_.access_log.empty() && options_.access_log != "off") {
    log_ = std::fopen(options_.access_log.c_str(), "a");
    if (!log_) throw NotFound("cannot open the access log '" + options_.access_log + "' for appending");
    own_log_ = true;
  }
  if (log_) log_thread_ = std::thread([this] { flush_log_periodically(); });

  HttpLoopOptions loop;
  loop.threads = options_.num_threads;
  loop.limits.max_body_bytes = options_.max_body_bytes;
  loop.timeout_ms = options_.timeout_ms;
  loop.idle_timeout_ms = options_.idle_timeout_ms;
  http_ = std::make_unique<HttpLoop>(
      loop, [this](const HttpRequest& req, HttpResponse& res) { route(req, res); },
      [](int status, const std::string& message) { return HttpResponse{status, "application/json", error_body(message)}; },
      [this](const HttpRequest& req, const HttpResponse& res, std::chrono::steady_clock::time_point started) {
        log_request(req, res, started);
      });
}

// TF Serving's REST API under /v1/, the metrics and the status page; HEAD is answered as GET
// without the body.
void Server::route(const HttpRequest& req, HttpResponse& res) {
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (req.path.rfind("/v1/", 0) == 0 && (get || req.method == "POST")) {
    const ApiResponse r = api_->handle(get ? "GET" : "POST", req.path, req.body);
    res.status = r.status;
    res.body = r.body;
    return;
  }
  const bool metrics = req.path == "/monitoring/prometheus/metrics", page = req.path == "/";
  if (get && metrics) {
    res.content_type = "text/plain; version=0.0.4";
    res.body = metrics_.prometheus_text();
  } else if (get && page) {
    res.content_type = "text/html; charset=utf-8";
    res.body = status_page();
  } else {
    const bool known = metrics || page || req.path.rfind("/v1/", 0) == 0;
    res.status = known ? 405 : 404;
    res.body = error_body(std::string(known ? "Method not allowed: " : "Not found: ") + req.method + " " + req.path);
  }
}

void Server::log_request(const HttpRequest& req, const HttpResponse& res, std::chrono::steady_clock::time_point started) {
  metrics_.record_http(res.status);
  if (!log_) return;
  char took[32];
  std::snprintf(took, sizeof took, "%.3fms",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  const auto field = [](const std::string& s) { return s.empty() ? std::string("-") : printable(s); };
  log_access(req.remote_addr + ":" + std::to_string(req.remote_port) + " [" + utc_now() + "] \"" + field(req.method) +
             " " + field(req.path) + " " + field(req.version) + "\" " + std::to_string(res.status) + " " +
             std::to_string(res.body.size()) + " " + took + "\n");
}

Server::~Server() {
  shutdown();
  stop_log_flusher();  // lines of requests that finished after shutdown() are written too
  if (own_log_ && log_) std::fclose(log_);
}

// Access-log lines are buffered and written every kFlushInterval (or when 64 KiB are
// waiting): one write(2) per line cost ~20-35 us of server CPU per request under load.
namespace {
constexpr auto kFlushInterval = std::chrono::milliseconds(100);
constexpr size_t kFlushBytes = 64 * 1024;
}  // namespace

void Server::log_access(const std::string& line) {
  std::lock_guard<std::mutex> lock(log_mutex_);
  log_buffer_ += line;
  // After shutdown (no flusher) or with a full buffer: write now.
  if (log_stopped_ || log_buffer_.size() >= kFlushBytes) write_log_locked();
}

void Server::write_log_locked() {
  if (!log_ || log_buffer_.empty()) return;
  std::fwrite(log_buffer_.data(), 1, log_buffer_.size(), log_);
  std::fflush(log_);
  log_buffer_.clear();
}

void Server::flush_log_periodically() {
  std::unique_lock<std::mutex> lock(log_mutex_);
  while (!log_stopped_) {
    log_cv_.wait_for(lock, kFlushInterval, [this] { return log_stopped_; });
    write_log_locked();
  }
}

void Server::stop_log_flusher() {
  {
    std::lock_guard<std::mutex> lock(log_mutex_);
    log_stopped_ = true;
    write_log_locked();
  }
  log_cv_.notify_all();
  if (log_thread_.joinable()) log_thread_.join();
}

int Server::bind() {
  port_ = http_->bind(options_.host, options_.port);
  if (options_.poll_seconds > 0) manager_->start_polling(std::chrono::seconds(options_.poll_seconds));
  return port_;
}

void Server::serve() {
  start();
  http_->wait();
}

void Server::start() {
  SLUICE_REQUIRE(port_ >= 0, FailedPrecondition, "Server::start: bind() first");
  http_->start();
}

void Server::shutdown() {
  if (manager_) manager_->stop_polling();
  if (http_) http_->stop();
  stop_log_flusher();
}

std::string Server::status_page() const {
  std::string h;
  h += "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>sluice serve</title><style>"
       "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
       "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}code{background:#f4f4f4}"
       "textarea{width:40em;height:5em}pre{background:#f4f4f4;padding:.5em}</style></head><body>"
       "<h1>sluice serve</h1>";
  const auto summary = metrics_.per_model();
  for (const std::string& name : manager_->model_names()) {
    h += "<h2 class=\"model\">" + html_escape(name) + "</h2>";
    auto sm = summary.find(name);
    if (sm != summary.end() && sm->second.requests > 0)
      h += "<p class=\"requests\">" + std::to_string(sm->second.requests) + " requests, " +
           std::to_string(sm->second.errors) + " errors, mean latency " +
           std::to_string(sm->second.total_micros / static_cast<double>(sm->second.requests) / 1000.0) + " ms</p>";
    else
      h += "<p class=\"requests\">no requests yet</p>";
    h += "<table><tr><th>version</th><th>state</th><th>status</th></tr>";
    try {
      for (const VersionStatus& s : manager_->status(name))
        h += "<tr><td>" + std::to_string(s.version) + "</td><td class=\"state\">" + version_state_name(s.state) +
             "</td><td>" + (s.error ? html_escape(std::string(tf_error_code_name(*s.error)) + ": " + s.error_message)
                                    : std::string("OK")) + "</td></tr>";
    } catch (const NotFound&) {
      h += "<tr><td colspan=3>no versions found</td></tr>";
    }
    h += "</table>";
    ServableHandle s;
    try {
      s = manager_->find(name);
    } catch (const Error&) {
      continue;
    }
    for (const auto& sig : s->model.signatures()) {
      const std::string id = html_escape(name + "-" + sig.first);
      h += "<h3>signature <code>" + html_escape(sig.first) + "</code> (version " + std::to_string(s->version) +
           ")</h3><table><tr><th></th><th>key</th><th>dtype</th><th>shape</th><th>tensor</th></tr>";
      for (const auto& kv : sig.second.inputs)
        h += "<tr><td>input</td><td>" + html_escape(kv.first) + "</td><td>" + tf_dtype_name(kv.second.dtype()) +
             "</td><td>" + kv.second.shape().to_string() + "</td><td>" + html_escape(kv.second.name()) + "</td></tr>";
      for (const auto& kv : sig.second.outputs)
        h += "<tr><td>output</td><td>" + html_escape(kv.first) + "</td><td>" + tf_dtype_name(kv.second.dtype()) +
             "</td><td>" + kv.second.shape().to_string() + "</td><td>" + html_escape(kv.second.name()) + "</td></tr>";
      h += "</table><form data-model=\"" + html_escape(name) + "\" data-signature=\"" + html_escape(sig.first) +
           "\" onsubmit=\"return send(this)\"><textarea name=\"body\" id=\"req-" + id + "\">" +
           html_escape(example_request(sig.first, sig.second.inputs)) + "</textarea><br>"
           "<button type=\"submit\">predict</button><pre class=\"answer\" id=\"ans-" + id + "\"></pre></form>";
    }
  }
  h += "<p><a href=\"/monitoring/prometheus/metrics\">metrics</a></p><script>"
       "function send(f){var p=f.querySelector('.answer');p.textContent='...';"
       "fetch('/v1/models/'+encodeURIComponent(f.dataset.model)+':predict',{method:'POST',"
       "headers:{'Content-Type':'application/json'},body:f.body.value})"
       ".then(function(r){return r.text().then(function(t){p.textContent=r.status+' '+t;});})"
       ".catch(function(e){p.textContent=String(e);});return false;}"
       // '/#send' submits every form's example request once loaded (the browser test uses it).
       "if(location.hash=='#send'){document.querySelectorAll('form').forEach(function(f){send(f);});}"
       "</script></body></html>";
  return h;
}

}  // namespace sluice::serving
