// HTTP/1.1 requests read incrementally from a connection's bytes (RFC 9112), and answer
// heads. No sockets here: http_loop.cc feeds it, tests and the fuzz target call it directly.
//
//   RequestProgress p;                       // one per request being read
//   ParseError err; size_t used = 0;
//   switch (parse_request(buffer, p, limits, &err, &used)) {
//     case ParseStatus::need_more: ...       // read more bytes, call again with the same p
//     case ParseStatus::complete: ...        // p.request is whole; drop buffer[0, used)
//     case ParseStatus::error: ...           // answer err.status, err.message; close
//   }
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace sluice::serving {

struct HttpRequest {
  std::string method;   // as sent ("GET", "POST", "HEAD", ...); "" when the request line was unreadable
  std::string target;   // the request target as sent (path and query, not decoded)
  std::string path;     // the target's path, percent-decoded
  std::string query;    // what follows '?', not decoded
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;     // the whole body (chunked bodies decoded)
  std::string remote_addr;
  int remote_port = 0;

  // The value of the first header called `lower_case_name`, or nullptr.
  const std::string* header(const std::string& lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct HttpLimits {
  size_t max_header_bytes = 64u << 10;  // request line + header fields (and chunked trailers): 431
  size_t max_body_bytes = 64u << 20;    // the body after chunked decoding: 413
  size_t max_header_fields = 100;       // 431
};

enum class ParseStatus { need_more, complete, error };

struct ParseError {
  int status = 400;
  std::string message;
};

// What is known about the request being read; reset (`= {}`) after each complete one.
struct RequestProgress {
  HttpRequest request;
  bool head_done = false;
  size_t scan_from = 0;  // where the search for the end of the head resumes
  size_t head_len = 0;   // request line + fields + the blank line
  bool chunked = false;
  size_t content_length = 0;
  size_t chunk_pos = 0;  // chunked: where the next chunk (or trailer line) starts
  bool chunks_done = false;
  bool keep_alive = true;
  bool expect_continue = false;  // the client waits for "100 Continue" before sending the body
  bool continue_sent = false;
};

// Reads one request from the start of `in`: need_more (no decision yet), complete (`*consumed`
// bytes of `in` were the request; the caller erases them) or error (a 4xx/5xx status and a
// message naming the problem). Empty lines before a request line are skipped (RFC 9112 2.2).
ParseStatus parse_request(std::string& in, RequestProgress& p, const HttpLimits& limits, ParseError* error,
                          size_t* consumed);

// "HTTP/1.1 <status> <reason>" with Content-Type, Content-Length and, when `close`,
// `Connection: close` (or `Connection: keep-alive` for an HTTP/1.0 client kept open).
std::string response_head(const HttpResponse& r, bool close, bool http10_keep_alive);
const char* reason_phrase(int status);

}  // namespace sluice::serving
