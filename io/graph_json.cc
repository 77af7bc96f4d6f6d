// The JSON codec of graph files (docs/formats.md, "Graph files"): GraphDef <-> text.
// Reading treats the text as untrusted: nesting depth and value counts are bounded before
// parsing, every value's kind and range is checked, and tensor payloads are sized against
// their shapes before anything is allocated. No nlohmann exception escapes.
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "../graph/scope.h"
#include "graph_io.h"

namespace sluice::io {

using Json = nlohmann::ordered_json;

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "graph files store tensor bytes little-endian; add byte swapping for this target");

// Tensors with at most this many elements are written as a plain value list.
constexpr int64_t kMaxListedElements = 16;
// Bounds the parsed DOM (about 16 bytes per JSON value plus string bytes).
constexpr int64_t kMaxJsonValues = int64_t{1} << 25;

[[noreturn]] void corrupt(const std::string& where, const std::string& what) {
  throw DataLoss("graph file: " + where + ": " + what);
}

// ---- base64 (RFC 4648, standard alphabet, padded) ----

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const unsigned char* p, size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t{p[i]} << 16 | uint32_t{p[i + 1]} << 8 | p[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < n) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (i + 1 < n) v |= uint32_t{p[i + 1]} << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < n ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes exactly `n` bytes into `dst`; the text must be the canonical encoding of n bytes.
void base64_decode(const std::string& text, unsigned char* dst, size_t n, const std::string& where) {
  const size_t want = (n + 2) / 3 * 4;
  if (text.size() != want) {
    corrupt(where, sluice::detail::str_cat("base64 data of ", text.size(), " characters, expected ", want,
                                   " for ", n, " bytes"));
  }
  size_t o = 0;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      v[k] = pad ? -1 : b64_value(c);
      if (v[k] < 0) corrupt(where, sluice::detail::str_cat("invalid base64 character at offset ", i + k));
    }
    const uint32_t bits = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
    const unsigned char bytes[3] = {static_cast<unsigned char>(bits >> 16),
                                    static_cast<unsigned char>(bits >> 8), static_cast<unsigned char>(bits)};
    // The bits under the padding must be zero, else two texts would decode alike.
    if ((pad >= 1 && bytes[2] != 0) || (pad == 2 && bytes[1] != 0))
      corrupt(where, "non-canonical base64 padding");
    if (o + (3 - pad) > n) corrupt(where, "base64 data longer than expected");
    for (int k = 0; k < 3 - pad; ++k) dst[o++] = bytes[k];
  }
  if (o != n) corrupt(where, sluice::detail::str_cat("base64 data decodes to ", o, " bytes, expected ", n));
}

// ---- UTF-8 ----

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

const std::string& utf8(const std::string& s, const std::string& where) {
  SLUICE_REQUIRE(valid_utf8(s), InvalidArgument, "graph_to_json: ", where,
                 ": string is not valid UTF-8 (graph files are JSON text)");
  return s;
}

// ---- writing ----

Json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

Json shape_json(const Shape& s) {
  if (!s.known_rank()) return nullptr;
  Json a = Json::array();
  for (int64_t d : s) a.push_back(d);
  return a;
}

// String tensors: "values" holds the elements as JSON strings when all are valid UTF-8
// (readable and diffable); otherwise "base64" holds one base64 string per element.
Json string_tensor_json(const Tensor& t, Json j) {
  const std::string* p = t.data<std::string>();
  const int64_t n = t.num_elements();
  bool text = true;
  for (int64_t i = 0; i < n && text; ++i) text = valid_utf8(p[i]);
  Json values = Json::array();
  for (int64_t i = 0; i < n; ++i) {
    values.push_back(text ? p[i]
                          : base64_encode(reinterpret_cast<const unsigned char*>(p[i].data()), p[i].size()));
  }
  j[text ? "values" : "base64"] = std::move(values);
  return j;
}

Json tensor_json(const Tensor& t, const std::string& where) {
  SLUICE_REQUIRE(t.valid(), InvalidArgument, "graph_to_json: ", where, ": empty Tensor handle");
  Json j;
  j["dtype"] = dtype_name(t.dtype());
  j["shape"] = shape_json(t.shape());
  if (t.dtype() == DType::string) return string_tensor_json(t, std::move(j));
  const int64_t n = t.num_elements();
  bool listed = n <= kMaxListedElements;
  if (listed && is_floating(t.dtype())) {
    // Lists hold finite values only, so NaN payloads and the like survive bit for bit.
    for (int64_t i = 0; i < n; ++i) listed = listed && std::isfinite(t.as_double(i));
  }
  if (listed) {
    Json values = Json::array();
    dispatch<SLUICE_ALL_TYPES>(t.dtype(), "graph_to_json", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = t.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<T, float>) {
          values.push_back(static_cast<double>(p[i]));
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, double>) {
          values.push_back(p[i]);
        } else if constexpr (std::is_signed_v<T>) {
          values.push_back(static_cast<int64_t>(p[i]));
        } else {
          values.push_back(static_cast<uint64_t>(p[i]));
        }
      }
    });
    j["values"] = std::move(values);
  } else {
    j["base64"] = base64_encode(static_cast<const unsigned char*>(t.raw_data()), t.num_bytes());
  }
  return j;
}

Json attr_json(const AttrValue& a, const std::string& where) {
  Json j;
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, int64_t>) {
          j["int"] = v;
        } else if constexpr (std::is_same_v<V, double>) {
          j["float"] = number_json(v);
        } else if constexpr (std::is_same_v<V, bool>) {
          j["bool"] = v;
        } else if constexpr (std::is_same_v<V, std::string>) {
          j["string"] = utf8(v, where);
        } else if constexpr (std::is_same_v<V, DType>) {
          j["dtype"] = dtype_name(v);
        } else if constexpr (std::is_same_v<V, Shape>) {
          j["shape"] = shape_json(v);
        } else if constexpr (std::is_same_v<V, std::vector<int64_t>>) {
          j["list_int"] = v;
        } else if constexpr (std::is_same_v<V, std::vector<double>>) {
          Json l = Json::array();
          for (double d : v) l.push_back(number_json(d));
          j["list_float"] = std::move(l);
        } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          Json l = Json::array();
          for (const std::string& s : v) l.push_back(utf8(s, where));
          j["list_string"] = std::move(l);
        } else {
          static_assert(std::is_same_v<V, Tensor>);
          j["tensor"] = tensor_json(v, where);
        }
      },
      a.value());
  return j;
}

Json tensor_info_json(const TensorInfo& t) {
  Json j;
  j["name"] = t.name;
  j["dtype"] = dtype_name(t.dtype);
  j["shape"] = shape_json(t.shape);
  return j;
}

// Prints JSON with one key per line down to depth 2 (file, node list, node) and
// containers deeper than that on one line when they fit: a node reads as a short block,
// shapes and small attrs stay on one line, and a change shows up as a one-line diff.
void emit_inline(const Json& j, std::string& out) {
  if (j.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : j.items()) {
      out += first ? "" : ", ";
      first = false;
      out += Json(k).dump();
      out += ": ";
      emit_inline(v, out);
    }
    out += '}';
  } else if (j.is_array()) {
    out += '[';
    for (size_t i = 0; i < j.size(); ++i) {
      if (i) out += ", ";
      emit_inline(j[i], out);
    }
    out += ']';
  } else {
    out += j.dump();
  }
}

void emit(const Json& j, int depth, std::string& out) {
  if (!j.is_structured() || j.empty()) {
    emit_inline(j, out);
    return;
  }
  if (depth >= 3) {
    std::string line;
    emit_inline(j, line);
    if (line.size() <= 100) {
      out += line;
      return;
    }
  }
  const std::string indent(static_cast<size_t>(2 * (depth + 1)), ' ');
  out += j.is_object() ? "{\n" : "[\n";
  bool first = true;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      out += first ? "" : ",\n";
      first = false;
      out += indent + Json(k).dump() + ": ";
      emit(v, depth + 1, out);
    }
  } else {
    for (const Json& v : j) {
      out += first ? "" : ",\n";
      first = false;
      out += indent;
      emit(v, depth + 1, out);
    }
  }
  out += "\n" + std::string(static_cast<size_t>(2 * depth), ' ') + (j.is_object() ? "}" : "]");
}

// ---- reading ----

// Bounds nesting and the number of JSON values before the DOM is built (a scan that
// skips string contents).
void prescan(const std::string& text) {
  SLUICE_REQUIRE(static_cast<int64_t>(text.size()) <= kMaxGraphFileBytes, DataLoss,
                 "graph file: ", text.size(), " bytes exceeds the limit of ", kMaxGraphFileBytes);
  int depth = 0;
  int64_t values = 1;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxGraphJsonDepth)
        corrupt(sluice::detail::str_cat("offset ", i), sluice::detail::str_cat("nesting deeper than ", kMaxGraphJsonDepth));
      ++values;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',') {
      if (++values > kMaxJsonValues)
        corrupt(sluice::detail::str_cat("offset ", i), sluice::detail::str_cat("more than ", kMaxJsonValues, " values"));
    }
  }
}

const char* json_kind(const Json& j) { return j.type_name(); }

void check_keys(const Json& obj, std::initializer_list<const char*> allowed, const std::string& where) {
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || k == a;
    if (!ok) corrupt(where, "unknown key \"" + k + "\"");
  }
}

const Json& object(const Json& j, const std::string& where) {
  if (!j.is_object()) corrupt(where, std::string("expected an object, got ") + json_kind(j));
  return j;
}

const Json& array(const Json& j, const std::string& where) {
  if (!j.is_array()) corrupt(where, std::string("expected an array, got ") + json_kind(j));
  return j;
}

const Json* optional(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const Json& required(const Json& obj, const char* key, const std::string& where) {
  const Json* v = optional(obj, key);
  if (!v) corrupt(where, std::string("missing key \"") + key + "\"");
  return *v;
}

std::string get_string(const Json& j, const std::string& where) {
  if (!j.is_string()) corrupt(where, std::string("expected a string, got ") + json_kind(j));
  return j.get<std::string>();
}

int64_t get_int(const Json& j, const std::string& where) {
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      corrupt(where, sluice::detail::str_cat("integer ", u, " exceeds the int64 range"));
    return static_cast<int64_t>(u);
  }
  if (!j.is_number_integer()) corrupt(where, std::string("expected an integer, got ") + json_kind(j));
  return j.get<int64_t>();
}

double get_number(const Json& j, const std::string& where) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    corrupt(where, "expected a number or \"nan\", \"inf\", \"-inf\", got \"" + s + "\"");
  }
  if (j.is_number_float()) return j.get<double>();
  if (j.is_number_unsigned()) return static_cast<double>(j.get<uint64_t>());
  if (j.is_number_integer()) return static_cast<double>(j.get<int64_t>());
  corrupt(where, std::string("expected a number, got ") + json_kind(j));
}

bool get_bool(const Json& j, const std::string& where) {
  if (!j.is_boolean()) corrupt(where, std::string("expected true or false, got ") + json_kind(j));
  return j.get<bool>();
}

DType get_dtype(const Json& j, const std::string& where) {
  const std::string s = get_string(j, where);
  try {
    return dtype_from_name(s);
  } catch (const Error&) {
    corrupt(where, "unknown dtype \"" + s + "\"");
  }
}

Shape get_shape(const Json& j, const std::string& where) {
  if (j.is_null()) return Shape::unknown_rank();
  array(j, where);
  if (j.size() > static_cast<size_t>(Shape::kMaxRank))
    corrupt(where, sluice::detail::str_cat("shape of rank ", j.size(), " exceeds the maximum rank ", Shape::kMaxRank));
  std::vector<int64_t> dims;
  for (size_t i = 0; i < j.size(); ++i) {
    const int64_t d = get_int(j[i], sluice::detail::str_cat(where, "[", i, "]"));
    if (d < -1) corrupt(where, sluice::detail::str_cat("dimension ", i, " is ", d, " (must be >= -1)"));
    dims.push_back(d);
  }
  return Shape(dims);
}

template <class T>
T list_value(const Json& v, const std::string& where) {
  if constexpr (std::is_same_v<T, bool>) {
    return get_bool(v, where);
  } else if constexpr (std::is_floating_point_v<T>) {
    const double d = get_number(v, where);
    if constexpr (std::is_same_v<T, float>) {
      // Converting an out-of-range double to float is undefined behaviour.
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
        corrupt(where, sluice::detail::str_cat("value ", d, " is outside the float32 range"));
    }
    return static_cast<T>(d);
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    // The one type whose values need all 64 bits unsigned.
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    const int64_t i = get_int(v, where);
    if (i < 0) corrupt(where, sluice::detail::str_cat("value ", i, " is outside the range of uint64"));
    return static_cast<uint64_t>(i);
  } else {
    const int64_t i = get_int(v, where);
    if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        i > static_cast<int64_t>(std::numeric_limits<T>::max()))
      corrupt(where, sluice::detail::str_cat("value ", i, " is outside the range of ", dtype_name(dtype_v<T>)));
    return static_cast<T>(i);
  }
}

// A string tensor's elements from "values" (JSON strings) or "base64" (one base64 string
// per element); the element count was checked against the shape by the caller.
Tensor get_string_tensor(const Json* values, const Json* b64, const Shape& shape, const std::string& where) {
  const Json& list = values ? *values : *b64;
  const std::string at = where + (values ? ".values" : ".base64");
  array(list, at);
  std::vector<std::string> elems(list.size());
  uint64_t bytes = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string e = sluice::detail::str_cat(at, "[", i, "]");
    if (!list[i].is_string()) get_string(list[i], e);  // throws, naming the kind found
    const std::string& text = list[i].get_ref<const std::string&>();
    if (values) {
      elems[i] = text;
    } else {
      // The decoded length follows from the text: 3 bytes per 4 characters, less padding.
      if (text.size() % 4 != 0) corrupt(e, sluice::detail::str_cat("base64 text of ", text.size(), " characters"));
      size_t n = text.size() / 4 * 3;
      if (!text.empty() && text.back() == '=') --n;
      if (text.size() >= 2 && text[text.size() - 2] == '=') --n;
      elems[i].resize(n);
      base64_decode(text, reinterpret_cast<unsigned char*>(elems[i].data()), n, e);
    }
    bytes += elems[i].size();
  }
  check_string_tensor_size(static_cast<int64_t>(elems.size()), bytes, "graph file: " + where);
  return Tensor::from_strings(std::move(elems), shape);
}

Tensor get_tensor(const Json& j, const std::string& where) {
  object(j, where);
  check_keys(j, {"dtype", "shape", "values", "base64"}, where);
  const DType dtype = get_dtype(required(j, "dtype", where), where + ".dtype");
  const Shape shape = get_shape(required(j, "shape", where), where + ".shape");
  if (!shape.is_fully_defined()) corrupt(where, "tensor shape " + shape.to_string() + " is not fully defined");
  int64_t n = 0, bytes = 0;
  try {
    n = shape.num_elements();
    bytes = checked_mul(n, static_cast<int64_t>(dtype_storage_size(dtype)), "tensor bytes");
  } catch (const Error& e) {
    corrupt(where, e.what());
  }
  const Json* values = optional(j, "values");
  const Json* b64 = optional(j, "base64");
  if ((values != nullptr) == (b64 != nullptr)) corrupt(where, "needs exactly one of \"values\" and \"base64\"");
  if (dtype == DType::string) {
    const Json& list = values ? *values : *b64;
    array(list, where + (values ? ".values" : ".base64"));
    if (static_cast<int64_t>(list.size()) != n)
      corrupt(where, sluice::detail::str_cat(list.size(), " strings for shape ", shape.to_string(), " which holds ", n));
    return get_string_tensor(values, b64, shape, where);
  }
  if (values) {
    array(*values, where + ".values");
    if (static_cast<int64_t>(values->size()) != n)
      corrupt(where, sluice::detail::str_cat(values->size(), " values for shape ", shape.to_string(), " which holds ", n));
  } else {
    if (!b64->is_string()) corrupt(where + ".base64", std::string("expected a string, got ") + json_kind(*b64));
    const std::string& s = b64->get_ref<const std::string&>();
    // Checked before allocating: the text must be exactly as long as the shape implies.
    if (static_cast<uint64_t>(s.size()) != (static_cast<uint64_t>(bytes) + 2) / 3 * 4)
      corrupt(where + ".base64", sluice::detail::str_cat("base64 data of ", s.size(), " characters, expected ",
                                                 (bytes + 2) / 3 * 4, " for ", dtype_name(dtype),
                                                 shape.to_string()));
  }
  Tensor t(dtype, shape);
  dispatch<SLUICE_ALL_TYPES>(dtype, "graph file tensor", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data<T>();
    if (values) {
      for (int64_t i = 0; i < n; ++i)
        p[i] = list_value<T>((*values)[static_cast<size_t>(i)], sluice::detail::str_cat(where, ".values[", i, "]"));
    } else if constexpr (std::is_same_v<T, bool>) {
      // A bool byte other than 0 or 1 is undefined behaviour to read: decode to bytes first.
      std::vector<unsigned char> raw(static_cast<size_t>(bytes));
      base64_decode(b64->get_ref<const std::string&>(), raw.data(), raw.size(), where + ".base64");
      for (int64_t i = 0; i < n; ++i) {
        if (raw[static_cast<size_t>(i)] > 1)
          corrupt(where, sluice::detail::str_cat("bool element ", i, " has byte value ", int(raw[static_cast<size_t>(i)])));
        p[i] = raw[static_cast<size_t>(i)] != 0;
      }
    } else {
      base64_decode(b64->get_ref<const std::string&>(), reinterpret_cast<unsigned char*>(p),
                    static_cast<size_t>(bytes), where + ".base64");
    }
  });
  return t;
}

AttrValue get_attr(const Json& j, const std::string& where) {
  object(j, where);
  if (j.size() != 1) corrupt(where, "an attr is an object with exactly one key naming its kind");
  const auto it = j.begin();
  const std::string kind = it.key();
  const Json& v = it.value();
  const std::string at = where + "." + kind;
  if (kind == "int") return get_int(v, at);
  if (kind == "float") return get_number(v, at);
  if (kind == "bool") return get_bool(v, at);
  if (kind == "string") return get_string(v, at);
  if (kind == "dtype") return get_dtype(v, at);
  if (kind == "shape") return get_shape(v, at);
  if (kind == "list_int" || kind == "list_float" || kind == "list_string") {
    array(v, at);
    std::vector<int64_t> ints;
    std::vector<double> floats;
    std::vector<std::string> strings;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string e = sluice::detail::str_cat(at, "[", i, "]");
      if (kind == "list_int") ints.push_back(get_int(v[i], e));
      if (kind == "list_float") floats.push_back(get_number(v[i], e));
      if (kind == "list_string") strings.push_back(get_string(v[i], e));
    }
    if (kind == "list_int") return ints;
    if (kind == "list_float") return floats;
    return strings;
  }
  if (kind == "tensor") return get_tensor(v, at);
  corrupt(where, "unknown attr kind \"" + kind + "\"");
}

std::vector<std::string> get_string_list(const Json& j, const std::string& where) {
  array(j, where);
  std::vector<std::string> r;
  for (size_t i = 0; i < j.size(); ++i) r.push_back(get_string(j[i], sluice::detail::str_cat(where, "[", i, "]")));
  return r;
}

TensorInfo get_tensor_info(const Json& j, const std::string& where) {
  object(j, where);
  check_keys(j, {"name", "dtype", "shape"}, where);
  TensorInfo t;
  t.name = get_string(required(j, "name", where), where + ".name");
  t.dtype = get_dtype(required(j, "dtype", where), where + ".dtype");
  t.shape = get_shape(required(j, "shape", where), where + ".shape");
  return t;
}

NodeDef get_node(const Json& j, const std::string& where0) {
  object(j, where0);
  NodeDef n;
  n.name = get_string(required(j, "name", where0), where0 + ".name");
  const std::string where = where0 + " ('" + n.name + "')";
  check_keys(j, {"name", "op", "inputs", "control_inputs", "device", "attrs", "outputs"}, where);
  n.op = get_string(required(j, "op", where), where + ".op");
  if (const Json* v = optional(j, "inputs")) n.inputs = get_string_list(*v, where + ".inputs");
  if (const Json* v = optional(j, "control_inputs"))
    n.control_inputs = get_string_list(*v, where + ".control_inputs");
  if (const Json* v = optional(j, "device")) n.device = get_string(*v, where + ".device");
  if (const Json* v = optional(j, "attrs")) {
    object(*v, where + ".attrs");
    for (const auto& [k, a] : v->items()) n.attrs.emplace_back(k, get_attr(a, where + ".attrs." + k));
    std::sort(n.attrs.begin(), n.attrs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < n.attrs.size(); ++i)
      if (n.attrs[i].first == n.attrs[i - 1].first) corrupt(where, "attr '" + n.attrs[i].first + "' given twice");
  }
  if (const Json* v = optional(j, "outputs")) {
    array(*v, where + ".outputs");
    for (size_t i = 0; i < v->size(); ++i) {
      const std::string at = sluice::detail::str_cat(where, ".outputs[", i, "]");
      const Json& o = object((*v)[i], at);
      check_keys(o, {"dtype", "shape"}, at);
      n.outputs.emplace_back(get_dtype(required(o, "dtype", at), at + ".dtype"),
                             get_shape(required(o, "shape", at), at + ".shape"));
    }
  }
  return n;
}

// Version 2 added the dtypes int8, int16, uint16, uint32, uint64 and string tensor values;
// a graph that uses none of them is written as version 1, which older builds read.
bool new_in_version2(DType d) {
  return d == DType::i8 || d == DType::i16 || d == DType::u16 || d == DType::u32 || d == DType::u64;
}

bool needs_version2(const GraphDef& def) {
  for (const NodeDef& n : def.nodes) {
    for (const auto& [dtype, shape] : n.outputs)
      if (new_in_version2(dtype)) return true;
    for (const auto& [name, a] : n.attrs) {
      if (a.holds<DType>() && new_in_version2(std::get<DType>(a.value()))) return true;
      if (a.holds<Tensor>()) {
        const Tensor& t = std::get<Tensor>(a.value());
        if (t.valid() && (new_in_version2(t.dtype()) || t.dtype() == DType::string)) return true;
      }
    }
  }
  for (const auto& [name, sig] : def.signatures)
    for (const auto* side : {&sig.inputs, &sig.outputs})
      for (const auto& [key, info] : *side)
        if (new_in_version2(info.dtype)) return true;
  return false;
}

}  // namespace

std::string graph_def_to_json(const GraphDef& def) {
  Json root;
  root["format"] = kGraphFormat;
  root["version"] = needs_version2(def) ? 2 : 1;
  root["random_seed"] = def.random_seed;
  root["learning_phase"] = def.learning_phase.empty() ? Json(nullptr) : Json(def.learning_phase);
  Json colls = Json::object();
  for (const auto& [key, names] : def.collections) colls[utf8(key, "collection key")] = names;
  root["collections"] = std::move(colls);
  Json inits = Json::object();
  for (const auto& [var, init] : def.variable_initializers) inits[var] = init;
  root["variable_initializers"] = std::move(inits);
  Json sigs = Json::object();
  for (const auto& [name, sig] : def.signatures) {
    const std::string where = "signature '" + name + "'";
    Json s, in = Json::object(), out = Json::object();
    for (const auto& [k, t] : sig.inputs) in[utf8(k, where + " input key")] = tensor_info_json(t);
    for (const auto& [k, t] : sig.outputs) out[utf8(k, where + " output key")] = tensor_info_json(t);
    s["inputs"] = std::move(in);
    s["outputs"] = std::move(out);
    sigs[utf8(name, "signature name")] = std::move(s);
  }
  root["signatures"] = std::move(sigs);
  Json nodes = Json::array();
  for (const NodeDef& n : def.nodes) {
    const std::string where = "node '" + n.name + "' (" + n.op + ")";
    Json jn;
    jn["name"] = utf8(n.name, where);
    jn["op"] = utf8(n.op, where);
    jn["inputs"] = n.inputs;
    jn["control_inputs"] = n.control_inputs;
    jn["device"] = utf8(n.device, where + " device");
    Json attrs = Json::object();
    for (const auto& [k, a] : n.attrs) attrs[utf8(k, where)] = attr_json(a, where + " attr '" + k + "'");
    jn["attrs"] = std::move(attrs);
    Json outs = Json::array();
    for (const auto& [dtype, shape] : n.outputs) {
      Json o;
      o["dtype"] = dtype_name(dtype);
      o["shape"] = shape_json(shape);
      outs.push_back(std::move(o));
    }
    jn["outputs"] = std::move(outs);
    nodes.push_back(std::move(jn));
  }
  root["nodes"] = std::move(nodes);
  std::string out;
  try {
    emit(root, 0, out);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("graph_to_json: ") + e.what());
  }
  out += '\n';
  return out;
}

GraphDef graph_def_from_json(const std::string& text) {
  prescan(text);
  Json root;
  try {
    root = Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    throw DataLoss(std::string("graph file: invalid JSON: ") + e.what());
  }
  GraphDef def;
  try {
    object(root, "top level");
    check_keys(root, {"format", "version", "random_seed", "learning_phase", "collections",
                      "variable_initializers", "signatures", "nodes"},
               "top level");
    const std::string format = get_string(required(root, "format", "top level"), "format");
    if (format != kGraphFormat) corrupt("format", "\"" + format + "\" is not \"" + kGraphFormat + "\"");
    const int64_t version = get_int(required(root, "version", "top level"), "version");
    SLUICE_REQUIRE(version >= 1 && version <= kGraphFormatVersion, Unimplemented, "graph file: format version ",
                   version, " is not supported by this build (it reads versions 1 to ", kGraphFormatVersion, ")");
    if (const Json* v = optional(root, "random_seed")) def.random_seed = get_int(*v, "random_seed");
    if (const Json* v = optional(root, "learning_phase"); v && !v->is_null())
      def.learning_phase = get_string(*v, "learning_phase");
    if (const Json* v = optional(root, "collections")) {
      object(*v, "collections");
      for (const auto& [k, names] : v->items()) def.collections[k] = get_string_list(names, "collections." + k);
    }
    if (const Json* v = optional(root, "variable_initializers")) {
      object(*v, "variable_initializers");
      for (const auto& [k, init] : v->items())
        def.variable_initializers[k] = get_string(init, "variable_initializers." + k);
    }
    if (const Json* v = optional(root, "signatures")) {
      object(*v, "signatures");
      for (const auto& [name, s] : v->items()) {
        const std::string where = "signatures." + name;
        object(s, where);
        check_keys(s, {"inputs", "outputs"}, where);
        SignatureDef sig;
        const Json& in = object(required(s, "inputs", where), where + ".inputs");
        for (const auto& [k, t] : in.items()) sig.inputs[k] = get_tensor_info(t, where + ".inputs." + k);
        const Json& out = object(required(s, "outputs", where), where + ".outputs");
        for (const auto& [k, t] : out.items()) sig.outputs[k] = get_tensor_info(t, where + ".outputs." + k);
        def.signatures[name] = std::move(sig);
      }
    }
    const Json& nodes = array(required(root, "nodes", "top level"), "nodes");
    if (static_cast<int64_t>(nodes.size()) > kMaxGraphNodes)
      corrupt("nodes", sluice::detail::str_cat(nodes.size(), " nodes exceed the limit of ", kMaxGraphNodes));
    def.nodes.reserve(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) def.nodes.push_back(get_node(nodes[i], sluice::detail::str_cat("nodes[", i, "]")));
  } catch (const nlohmann::json::exception& e) {
    // Not expected (every access is kind-checked first); kept so none can escape.
    throw DataLoss(std::string("graph file: ") + e.what());
  }
  detail::validate_graph_def(def);
  return def;
}

}  // namespace sluice::io
