#include "http_parse.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace sluice::serving {
namespace {

// RFC 9110 5.6.2: the characters of a method or a field name.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes in a path; false for a broken escape or an encoded NUL.
bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

ParseStatus fail(ParseError* error, int status, std::string message) {
  error->status = status;
  error->message = std::move(message);
  return ParseStatus::error;
}

// The body limit as arithmetic may use it (no overflow in sums of a few of them).
size_t body_limit(const HttpLimits& limits) { return std::min<size_t>(limits.max_body_bytes, size_t{1} << 40); }

std::string too_large(const HttpLimits& limits) {
  return "Request body is larger than the limit of " + std::to_string(limits.max_body_bytes) + " bytes";
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > 64 ? out + "..." : out;
}

// Every comma-separated token of a Connection header, lower-cased.
void read_connection_tokens(std::string_view value, bool* close, bool* keep_alive) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string token = lowered(trimmed(value.substr(0, comma)));
    if (token == "close") *close = true;
    if (token == "keep-alive") *keep_alive = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// The request line and header fields of `head` (which ends with the blank line's CRLF).
ParseStatus parse_head(std::string_view head, RequestProgress& p, const HttpLimits& limits, ParseError* error) {
  HttpRequest& req = p.request;
  size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(error, 400, "Malformed HTTP request line: '" + printable(line) + "'");
  const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                         version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(error, 400, "Malformed HTTP method: '" + printable(method) + "'");
  req.method = std::string(method);
  req.target = std::string(target);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[5] >= '0' && version[5] <= '9' &&
        version[6] == '.' && version[7] >= '0' && version[7] <= '9')
      return fail(error, 505, "HTTP version not supported: " + std::string(version));
    return fail(error, 400, "Malformed HTTP version: '" + printable(version) + "'");
  }
  req.version = std::string(version);
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return fail(error, 400, "Malformed request target: '" + printable(target) + "'");
  if (target.empty() || target[0] != '/')
    return fail(error, 400, "Malformed request target (not a path): '" + printable(target) + "'");
  const size_t q = target.find('?');
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  if (!percent_decode(target.substr(0, q), req.path))
    return fail(error, 400, "Malformed percent-encoding in the request path: '" + printable(target) + "'");

  bool close = false, keep_alive_token = false, has_length = false, has_encoding = false;
  for (size_t pos = eol + 2; pos < head.size();) {
    eol = head.find("\r\n", pos);
    const std::string_view field = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (field.empty()) break;  // the blank line
    if (req.headers.size() >= limits.max_header_fields)
      return fail(error, 431, "More than " + std::to_string(limits.max_header_fields) + " header fields");
    if (field[0] == ' ' || field[0] == '\t') return fail(error, 400, "Obsolete line folding in a header field");
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon)))
      return fail(error, 400, "Malformed header field: '" + printable(field) + "'");
    const std::string_view value = trimmed(field.substr(colon + 1));
    for (char c : value)
      if (c == '\0' || c == '\r' || c == '\n')
        return fail(error, 400, "Malformed header field value: '" + printable(field.substr(0, colon)) + "'");
    req.headers.emplace_back(lowered(field.substr(0, colon)), std::string(value));
    const std::string& name = req.headers.back().first;
    if (name == "content-length") {
      if (value.empty()) return fail(error, 400, "Malformed Content-Length: ''");
      uint64_t n = 0;
      bool huge = false;
      for (char c : value) {
        if (c < '0' || c > '9') return fail(error, 400, "Malformed Content-Length: '" + printable(value) + "'");
        if (n > (UINT64_MAX - 9) / 10) huge = true;
        else n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (huge || n > body_limit(limits)) return fail(error, 413, too_large(limits));
      if (has_length && n != p.content_length) return fail(error, 400, "Conflicting Content-Length fields");
      has_length = true;
      p.content_length = static_cast<size_t>(n);
    } else if (name == "transfer-encoding") {
      if (lowered(value) != "chunked")
        return fail(error, 501, "Transfer-Encoding not supported: '" + printable(value) + "' (only chunked)");
      has_encoding = true;
      p.chunked = true;
    } else if (name == "connection") {
      read_connection_tokens(value, &close, &keep_alive_token);
    } else if (name == "expect") {
      if (lowered(value) != "100-continue") return fail(error, 417, "Expectation not supported: '" + printable(value) + "'");
      p.expect_continue = req.version == "HTTP/1.1";
    }
  }
  if (has_length && has_encoding) return fail(error, 400, "Both Content-Length and Transfer-Encoding");
  p.keep_alive = req.version == "HTTP/1.1" ? !close : (keep_alive_token && !close);
  return ParseStatus::complete;
}

// Decodes the chunks from p.chunk_pos on into the request body. Every decision depends only on
// the bytes up to where parsing has got, so reading a body in pieces or at once ends the same.
ParseStatus read_chunks(const std::string& in, RequestProgress& p, const HttpLimits& limits, ParseError* error,
                        size_t* consumed) {
  std::string& body = p.request.body;
  const size_t max_line = std::min<size_t>(limits.max_header_bytes, 1u << 30);
  // Chunk framing is a few bytes per chunk; a body sent in absurdly small chunks is bounded too.
  const size_t max_framed = p.head_len + 4 * body_limit(limits) + max_line;
  const char* const kLineTooLong = "A chunk size line or trailer field is longer than the header limit";
  size_t pos = p.chunk_pos;
  while (true) {
    if (pos > max_framed) return fail(error, 413, too_large(limits));
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) {
      if (in.size() - pos > max_line + 1) return fail(error, 431, kLineTooLong);
      p.chunk_pos = pos;
      return ParseStatus::need_more;
    }
    if (eol - pos > max_line) return fail(error, 431, kLineTooLong);
    if (p.chunks_done) {  // trailer fields (ignored) up to a blank line
      if (eol == pos) {
        *consumed = pos + 2;
        return ParseStatus::complete;
      }
      pos = eol + 2;
      continue;
    }
    std::string_view size_line(in.data() + pos, eol - pos);
    size_line = trimmed(size_line.substr(0, size_line.find(';')));  // chunk extensions are ignored
    if (size_line.empty()) return fail(error, 400, "Malformed chunk size: ''");
    uint64_t size = 0;
    for (char c : size_line) {
      const int d = hex_value(c);
      if (d < 0) return fail(error, 400, "Malformed chunk size: '" + printable(size_line) + "'");
      if (size > (UINT64_MAX >> 4)) return fail(error, 413, too_large(limits));
      size = size * 16 + static_cast<uint64_t>(d);
    }
    if (size > body_limit(limits) - body.size()) return fail(error, 413, too_large(limits));
    const size_t data = eol + 2;
    if (size == 0) {
      p.chunks_done = true;
      pos = data;
      continue;
    }
    if (in.size() - data < size + 2) {
      p.chunk_pos = pos;
      return ParseStatus::need_more;
    }
    if (in[data + size] != '\r' || in[data + size + 1] != '\n')
      return fail(error, 400, "Malformed chunk: no CRLF after its " + std::to_string(size) + " bytes");
    body.append(in, data, size);
    pos = data + size + 2;
  }
}

}  // namespace

const std::string* HttpRequest::header(const std::string& lower_case_name) const {
  for (const auto& h : headers)
    if (h.first == lower_case_name) return &h.second;
  return nullptr;
}

ParseStatus parse_request(std::string& in, RequestProgress& p, const HttpLimits& limits, ParseError* error,
                          size_t* consumed) {
  if (!p.head_done) {
    size_t skip = 0;
    while (in.size() >= skip + 2 && in[skip] == '\r' && in[skip + 1] == '\n') skip += 2;
    if (skip > 0) {
      in.erase(0, skip);
      p.scan_from = 0;
    }
    const size_t end = in.find("\r\n\r\n", p.scan_from >= 3 ? p.scan_from - 3 : 0);
    if (end == std::string::npos) {
      if (in.size() > limits.max_header_bytes)
        return fail(error, 431, "Request header fields are larger than the limit of " +
                                    std::to_string(limits.max_header_bytes) + " bytes");
      p.scan_from = in.size();
      return ParseStatus::need_more;
    }
    p.head_len = end + 4;
    if (p.head_len > limits.max_header_bytes)
      return fail(error, 431, "Request header fields are larger than the limit of " +
                                  std::to_string(limits.max_header_bytes) + " bytes");
    if (parse_head(std::string_view(in.data(), p.head_len), p, limits, error) == ParseStatus::error)
      return ParseStatus::error;
    p.head_done = true;
    p.chunk_pos = p.head_len;
  }
  if (p.chunked) return read_chunks(in, p, limits, error, consumed);
  if (in.size() - p.head_len < p.content_length) return ParseStatus::need_more;
  p.request.body.assign(in, p.head_len, p.content_length);
  *consumed = p.head_len + p.content_length;
  return ParseStatus::complete;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string response_head(const HttpResponse& r, bool close, bool http10_keep_alive) {
  const int status = (r.status >= 100 && r.status <= 999) ? r.status : 500;
  std::string h;
  h.reserve(112 + r.content_type.size());
  h += "HTTP/1.1 ";
  h += std::to_string(status);
  h += ' ';
  h += reason_phrase(status);
  h += "\r\nContent-Type: ";
  h += r.content_type;
  h += "\r\nContent-Length: ";
  h += std::to_string(r.body.size());
  if (close) h += "\r\nConnection: close";
  else if (http10_keep_alive) h += "\r\nConnection: keep-alive";
  h += "\r\n\r\n";
  return h;
}

}  // namespace sluice::serving
