// Request metrics in Prometheus' text format (GET /monitoring/prometheus/metrics), with
// TensorFlow Serving's metric names so existing dashboards read them:
//   :tensorflow:serving:request_count{model_name, API, signature_name, status}        counter
//   :tensorflow:serving:request_latency{model_name, API, entrypoint, signature_name}  histogram (us)
// plus sluice_http_requests_total{code} for every HTTP request (any path).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace sluice::serving {

class Metrics {
 public:
  // One model API request: `api` is "predict", "metadata" or "status"; `status` a TF error
  // code name ("OK", "INVALID_ARGUMENT", ...); `micros` its wall time.
  void record(const std::string& model, const std::string& api, const std::string& signature,
              const std::string& status, double micros);
  void record_http(int code);
  // The exposition text (text/plain; version=0.0.4).
  std::string prometheus_text() const;

  // Requests and mean latency per model so far (the status page).
  struct Summary {
    int64_t requests = 0, errors = 0;
    double total_micros = 0;
  };
  std::map<std::string, Summary> per_model() const;

  // Upper bounds of the latency buckets, in microseconds (powers of 2 from 16 us to ~67 s).
  static constexpr int kBuckets = 23;

 private:
  using CountKey = std::tuple<std::string, std::string, std::string, std::string>;
  using LatencyKey = std::tuple<std::string, std::string, std::string>;
  struct Histogram {
    std::array<int64_t, kBuckets> counts{};  // non-cumulative
    int64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<CountKey, int64_t> counts_;
  std::map<LatencyKey, Histogram> latency_;
  std::map<int, int64_t> http_;
};

}  // namespace sluice::serving
