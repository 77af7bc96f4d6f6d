// libFuzzer target: HTTP/1.1 requests as `sluice serve` reads them off a connection
// (serving/http_parse.h), without sockets. The first byte picks the limits and how the rest is
// cut into reads; the rest is the connection's bytes. Properties:
//   - reading the bytes in pieces gives the same requests, bodies and errors as reading them
//     at once (the parser's state carries over between reads correctly),
//   - a complete request consumed some bytes, at most those it was given, and its body is
//     within the limit; an error is a 4xx/5xx status with a message,
//   - a complete request written back (request line, fields, body with Content-Length) reads
//     back as the same request.
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "http_parse.h"

namespace sluice::fuzz::http_request {

using serving::HttpLimits;
using serving::HttpRequest;
using serving::ParseError;
using serving::ParseStatus;
using serving::RequestProgress;

struct Outcome {
  std::vector<HttpRequest> requests;
  bool failed = false;
  ParseError error;
};

inline bool same_request(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query &&
         a.version == b.version && a.headers == b.headers && a.body == b.body;
}

// Feeds `bytes` to the parser `piece` bytes at a time (0: all at once), answering requests as
// a connection would, until the bytes run out or an error.
inline Outcome read_all(const std::string& bytes, size_t piece, const HttpLimits& limits) {
  Outcome out;
  std::string in;
  RequestProgress p;
  size_t fed = 0;
  while (true) {
    ParseError error;
    size_t used = 0;
    const ParseStatus s = serving::parse_request(in, p, limits, &error, &used);
    if (s == ParseStatus::error) {
      SLUICE_FUZZ_CHECK(error.status >= 400 && error.status <= 599 && !error.message.empty());
      out.failed = true;
      out.error = error;
      return out;
    }
    if (s == ParseStatus::complete) {
      SLUICE_FUZZ_CHECK(used > 0 && used <= in.size());
      SLUICE_FUZZ_CHECK(p.request.body.size() <= limits.max_body_bytes);
      out.requests.push_back(std::move(p.request));
      in.erase(0, used);
      p = RequestProgress{};
      continue;
    }
    if (fed == bytes.size()) return out;
    const size_t n = piece == 0 ? bytes.size() - fed : std::min(piece, bytes.size() - fed);
    in.append(bytes, fed, n);
    fed += n;
  }
}

inline std::string write_back(const HttpRequest& r) {
  std::string s = r.method + " " + r.target + " " + r.version + "\r\n";
  for (const auto& h : r.headers)
    if (h.first != "content-length" && h.first != "transfer-encoding") s += h.first + ": " + h.second + "\r\n";
  s += "content-length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
  return s;
}

inline int run(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t config = data[0];
  HttpLimits limits;
  limits.max_header_bytes = (config & 1) ? 256 : 4096;
  limits.max_body_bytes = (config & 2) ? 16 : 1024;
  limits.max_header_fields = (config & 4) ? 4 : 100;
  const size_t piece = static_cast<size_t>(config >> 3);  // 0 (all at once) to 31 bytes per read
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  const Outcome whole = read_all(bytes, 0, limits);
  const Outcome pieces = read_all(bytes, piece == 0 ? 1 : piece, limits);
  SLUICE_FUZZ_CHECK(whole.requests.size() == pieces.requests.size());
  for (size_t i = 0; i < whole.requests.size(); ++i) SLUICE_FUZZ_CHECK(same_request(whole.requests[i], pieces.requests[i]));
  SLUICE_FUZZ_CHECK(whole.failed == pieces.failed);
  if (whole.failed) {
    SLUICE_FUZZ_CHECK(whole.error.status == pieces.error.status);
    SLUICE_FUZZ_CHECK(whole.error.message == pieces.error.message);
  }

  HttpLimits roomy = limits;
  roomy.max_header_bytes = 1u << 20;
  roomy.max_header_fields = 1000;
  for (const HttpRequest& r : whole.requests) {
    const Outcome again = read_all(write_back(r), 0, roomy);
    SLUICE_FUZZ_CHECK(!again.failed && again.requests.size() == 1);
    HttpRequest expected = r;
    expected.headers.clear();
    for (const auto& h : r.headers)
      if (h.first != "content-length" && h.first != "transfer-encoding") expected.headers.push_back(h);
    expected.headers.emplace_back("content-length", std::to_string(r.body.size()));
    SLUICE_FUZZ_CHECK(same_request(again.requests[0], expected));
  }
  return 0;
}

}  // namespace sluice::fuzz::http_request

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::http_request::run(data, size);
}
#endif
