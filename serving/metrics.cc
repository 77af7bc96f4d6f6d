#include "metrics.h"

#include <cmath>
#include <sstream>

namespace sluice::serving {
namespace {

double bucket_bound(int i) { return std::ldexp(16.0, i); }  // 16 us * 2^i

// Label values are user-influenced (model names come from the URL only after lookup, but
// signature names come from request bodies): escape as the exposition format requires.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::record(const std::string& model, const std::string& api, const std::string& signature,
                     const std::string& status, double micros) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[CountKey{model, api, signature, status}];
  Histogram& h = latency_[LatencyKey{model, api, signature}];
  int b = 0;
  while (b < kBuckets - 1 && micros > bucket_bound(b)) ++b;
  if (micros > bucket_bound(kBuckets - 1)) b = kBuckets;  // only in +Inf
  if (b < kBuckets) ++h.counts[b];
  ++h.count;
  h.sum += micros;
}

void Metrics::record_http(int code) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++http_[code];
}

std::string Metrics::prometheus_text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream os;
  os << "# HELP :tensorflow:serving:request_count The number of requests to each model, by API, signature and "
        "status.\n# TYPE :tensorflow:serving:request_count counter\n";
  for (const auto& kv : counts_)
    os << ":tensorflow:serving:request_count{model_name=\"" << label(std::get<0>(kv.first)) << "\",API=\""
       << label(std::get<1>(kv.first)) << "\",signature_name=\"" << label(std::get<2>(kv.first)) << "\",status=\""
       << label(std::get<3>(kv.first)) << "\"} " << kv.second << "\n";
  os << "# HELP :tensorflow:serving:request_latency Wall time of each model request, in microseconds.\n"
        "# TYPE :tensorflow:serving:request_latency histogram\n";
  for (const auto& kv : latency_) {
    const std::string labels = "model_name=\"" + label(std::get<0>(kv.first)) + "\",API=\"" +
                               label(std::get<1>(kv.first)) + "\",entrypoint=\"REST\",signature_name=\"" +
                               label(std::get<2>(kv.first)) + "\"";
    int64_t cumulative = 0;
    for (int b = 0; b < kBuckets; ++b) {
      cumulative += kv.second.counts[b];
      os << ":tensorflow:serving:request_latency_bucket{" << labels << ",le=\"" << bucket_bound(b) << "\"} "
         << cumulative << "\n";
    }
    os << ":tensorflow:serving:request_latency_bucket{" << labels << ",le=\"+Inf\"} " << kv.second.count << "\n";
    os << ":tensorflow:serving:request_latency_sum{" << labels << "} " << kv.second.sum << "\n";
    os << ":tensorflow:serving:request_latency_count{" << labels << "} " << kv.second.count << "\n";
  }
  os << "# HELP sluice_http_requests_total HTTP requests answered, by status code.\n"
        "# TYPE sluice_http_requests_total counter\n";
  for (const auto& kv : http_) os << "sluice_http_requests_total{code=\"" << kv.first << "\"} " << kv.second << "\n";
  return os.str();
}

std::map<std::string, Metrics::Summary> Metrics::per_model() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, Summary> out;
  for (const auto& kv : counts_) {
    Summary& s = out[std::get<0>(kv.first)];
    s.requests += kv.second;
    if (std::get<3>(kv.first) != "OK") s.errors += kv.second;
  }
  for (const auto& kv : latency_) out[std::get<0>(kv.first)].total_micros += kv.second.sum;
  return out;
}

}  // namespace sluice::serving
