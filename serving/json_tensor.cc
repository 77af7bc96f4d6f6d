#include "json_tensor.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

namespace sluice::serving {
namespace {
using json = nlohmann::json;

std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// TensorFlow's DataTypeString, which TF Serving's messages use.
const char* tf_short_name(DType d) {
  switch (d) {
    case DType::f32: return "float";
    case DType::f64: return "double";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::i8: return "int8";
    case DType::i16: return "int16";
    case DType::u16: return "uint16";
    case DType::u32: return "uint32";
    case DType::u64: return "uint64";
    case DType::boolean: return "bool";
    case DType::string: return "string";
  }
  return "unknown";
}

const char* json_type(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "Null";
    case json::value_t::boolean: return v.get<bool>() ? "True" : "False";
    case json::value_t::object: return "Object";
    case json::value_t::array: return "Array";
    case json::value_t::string: return "String";
    default: return "Number";
  }
}

[[noreturn]] void type_error(const json& v, DType d) {
  throw InvalidArgument(detail::str_cat("JSON Value: ", dump(v), " Type: ", json_type(v),
                                        " is not of expected type: ", tf_short_name(d)));
}
[[noreturn]] void lossy_error(const json& v, const char* target) {
  throw InvalidArgument(detail::str_cat("Cannot convert JSON value: ", dump(v), " to ", target,
                                        " without loss of precision."));
}

bool is_b64_object(const json& v) {
  return v.is_object() && v.size() == 1 && v.contains("b64") && v["b64"].is_string();
}

// A string element: a JSON string is taken as its bytes (UTF-8), a {"b64": ...} object as
// the bytes its standard base64 encodes (TF Serving's binary values; the web-safe alphabet is
// accepted too).
std::string string_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (!is_b64_object(v)) type_error(v, DType::string);
  const std::string& text = v["b64"].get_ref<const std::string&>();
  try {
    return base64_decode(text, false);
  } catch (const InvalidArgument&) {
  }
  try {
    return base64_decode(text, true);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(detail::str_cat("Unable to base64 decode (", e.what(), ")"));
  }
}

template <class T>
void put(std::vector<unsigned char>& bytes, T v) {
  const size_t at = bytes.size();
  bytes.resize(at + sizeof(T));
  std::memcpy(bytes.data() + at, &v, sizeof(T));
}

// Integers a floating type holds exactly: |v| < 2^digits (TF Serving's IsLosslessDecimal).
template <class F>
bool lossless(const json& v) {
  constexpr uint64_t max_int = (uint64_t{1} << std::numeric_limits<F>::digits) - 1;
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= max_int;
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return (i < 0 ? -static_cast<uint64_t>(i) : static_cast<uint64_t>(i)) <= max_int;
  }
  const double d = v.get<double>();
  if (!std::isfinite(d)) return true;
  return d <= static_cast<double>(std::numeric_limits<F>::max()) &&
         d >= static_cast<double>(std::numeric_limits<F>::lowest());
}

// An integer JSON value of I's range, else TF Serving's type error (never a wrapped value).
template <class I>
void append_int(const json& v, DType dtype, std::vector<unsigned char>& bytes) {
  if (!v.is_number_integer()) type_error(v, dtype);
  I x;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<I>::max())) type_error(v, dtype);
    x = static_cast<I>(u);
  } else {
    const int64_t i = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<I>) {
      if (i < 0 || static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<I>::max()))
        type_error(v, dtype);
    } else {
      if (i < static_cast<int64_t>(std::numeric_limits<I>::min()) ||
          i > static_cast<int64_t>(std::numeric_limits<I>::max()))
        type_error(v, dtype);
    }
    x = static_cast<I>(i);
  }
  put(bytes, x);
}

void append_value(const json& v, DType dtype, std::vector<unsigned char>& bytes) {
  switch (dtype) {
    case DType::f32:
      if (!v.is_number()) type_error(v, dtype);
      if (!lossless<float>(v)) lossy_error(v, "float");
      put(bytes, static_cast<float>(v.get<double>()));
      return;
    case DType::f64:
      if (!v.is_number()) type_error(v, dtype);
      if (!lossless<double>(v)) lossy_error(v, "double");
      put(bytes, v.get<double>());
      return;
    case DType::i8: return append_int<int8_t>(v, dtype, bytes);
    case DType::i16: return append_int<int16_t>(v, dtype, bytes);
    case DType::i32: return append_int<int32_t>(v, dtype, bytes);
    case DType::i64: return append_int<int64_t>(v, dtype, bytes);
    case DType::u8: return append_int<uint8_t>(v, dtype, bytes);
    case DType::u16: return append_int<uint16_t>(v, dtype, bytes);
    case DType::u32: return append_int<uint32_t>(v, dtype, bytes);
    case DType::u64: return append_int<uint64_t>(v, dtype, bytes);
    case DType::boolean:
      if (!v.is_boolean()) type_error(v, dtype);
      put(bytes, static_cast<bool>(v.get<bool>()));
      return;
    case DType::string:
      break;
  }
  throw Unimplemented(detail::str_cat("Conversion of JSON Value: ", dump(v), " to type: ", tf_short_name(dtype)));
}

// A dense tensor read from nested JSON lists: the shape comes from the first element of each
// level, then every list is checked against it.
struct DenseValue {
  std::vector<int64_t> dims;
  std::vector<unsigned char> bytes;
  std::vector<std::string> strings;  // DType::string elements
  int64_t count = 0;
};

void dense_shape(const json& v, std::vector<int64_t>& dims) {
  const json* p = &v;
  while (p->is_array()) {
    dims.push_back(static_cast<int64_t>(p->size()));
    if (p->empty()) break;
    p = &(*p)[0];
  }
}

void fill(const json& v, size_t level, DType dtype, DenseValue& out) {
  const size_t rank = out.dims.size();
  if (!v.is_array()) {
    if (level != rank)
      throw InvalidArgument(detail::str_cat("JSON Value: ", dump(v), " found at incorrect level: ", level + 1,
                                            " in the JSON DOM. Expected at level: ", rank));
    if (dtype == DType::string) {
      out.strings.push_back(string_value(v));
    } else {
      if (v.is_object()) type_error(v, dtype);  // b64 objects only for strings
      append_value(v, dtype, out.bytes);
    }
    ++out.count;
    return;
  }
  if (level >= rank)
    throw InvalidArgument(detail::str_cat("Encountered list at unexpected level: ", level, " expected < ", rank));
  if (static_cast<int64_t>(v.size()) != out.dims[level])
    throw InvalidArgument(detail::str_cat("Encountered list at unexpected size: ", v.size(), " at level: ", level,
                                          " expected size: ", out.dims[level]));
  for (const json& e : v) fill(e, level + 1, dtype, out);
}

DenseValue read_dense(const json& v, DType dtype) {
  DenseValue d;
  dense_shape(v, d.dims);
  fill(v, 0, dtype, d);
  return d;
}

Tensor make_tensor(DType dtype, const std::vector<int64_t>& dims, const std::vector<unsigned char>& bytes,
                   std::vector<std::string>* strings = nullptr) {
  if (dtype == DType::string) return Tensor::from_strings(std::move(*strings), Shape(dims));
  Tensor t(dtype, Shape(dims));
  if (!bytes.empty()) std::memcpy(t.raw_data(), bytes.data(), bytes.size());
  return t;
}

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

struct RowInput {
  std::vector<int64_t> item_dims;
  int64_t item_count = -1;
  std::vector<unsigned char> bytes;
  std::vector<std::string> strings;
};

void add_instance_item(const json& item, const std::string& name, const SpecMap& specs,
                       std::map<std::string, RowInput>& rows) {
  auto spec = specs.find(name);
  if (spec == specs.end()) throw InvalidArgument("JSON object: does not have named input: " + name);
  DenseValue d = read_dense(item, spec->second.dtype);
  RowInput& r = rows[name];
  if (r.item_count < 0) {
    r.item_count = d.count;
    r.item_dims = d.dims;
  } else if (r.item_count != d.count) {
    throw InvalidArgument(detail::str_cat("Expecting tensor size: ", r.item_count, " but got: ", d.count));
  } else if (r.item_dims != d.dims) {
    throw InvalidArgument("Expecting shape " + shape_string(r.item_dims) + " but got: " + shape_string(d.dims));
  }
  r.bytes.insert(r.bytes.end(), d.bytes.begin(), d.bytes.end());
  for (std::string& str : d.strings) r.strings.push_back(std::move(str));
}

std::string quoted(const std::string& s) { return dump(json(s)); }

// `b64`: the output's name ends in "_bytes", so TF Serving writes its strings as
// {"b64": "<standard base64>"}; other strings are written as JSON strings (bytes that are
// not UTF-8 become U+FFFD).
void write_element(const Tensor& t, int64_t i, bool b64, std::string& out) {
  if (t.dtype() == DType::string) {
    const std::string& v = t.string_at(i);
    if (b64) out += "{\"b64\": \"" + base64_encode(v, false, true) + "\"}";
    else out += quoted(v);
    return;
  }
  const void* p = t.raw_data();
  switch (t.dtype()) {
    case DType::f32: out += format_float(static_cast<const float*>(p)[i]); return;
    case DType::f64: out += format_double(static_cast<const double*>(p)[i]); return;
    case DType::i32: out += std::to_string(static_cast<const int32_t*>(p)[i]); return;
    case DType::i64: out += std::to_string(static_cast<const int64_t*>(p)[i]); return;
    case DType::u8: out += std::to_string(static_cast<const uint8_t*>(p)[i]); return;
    case DType::i8: out += std::to_string(static_cast<const int8_t*>(p)[i]); return;
    case DType::i16: out += std::to_string(static_cast<const int16_t*>(p)[i]); return;
    case DType::u16: out += std::to_string(static_cast<const uint16_t*>(p)[i]); return;
    case DType::u32: out += std::to_string(static_cast<const uint32_t*>(p)[i]); return;
    case DType::u64: out += std::to_string(static_cast<const uint64_t*>(p)[i]); return;
    case DType::boolean: out += static_cast<const bool*>(p)[i] ? "true" : "false"; return;
    case DType::string: break;
  }
}

// Writes t's elements from flat index `index` on as nested lists for dims [level, rank).
void write_nested(const Tensor& t, int level, int64_t& index, bool b64, std::string& out) {
  if (level == t.rank()) {
    write_element(t, index++, b64, out);
    return;
  }
  out += '[';
  for (int64_t j = 0; j < t.dim(level); ++j) {
    if (j) out += ", ";
    write_nested(t, level + 1, index, b64, out);
  }
  out += ']';
}

bool is_bytes_name(const std::string& name) {
  return name.size() >= 6 && name.compare(name.size() - 6, 6, "_bytes") == 0;
}

}  // namespace

const char* tf_dtype_name(DType d) {
  switch (d) {
    case DType::f32: return "DT_FLOAT";
    case DType::f64: return "DT_DOUBLE";
    case DType::i32: return "DT_INT32";
    case DType::i64: return "DT_INT64";
    case DType::u8: return "DT_UINT8";
    case DType::i8: return "DT_INT8";
    case DType::i16: return "DT_INT16";
    case DType::u16: return "DT_UINT16";
    case DType::u32: return "DT_UINT32";
    case DType::u64: return "DT_UINT64";
    case DType::boolean: return "DT_BOOL";
    case DType::string: return "DT_STRING";
  }
  return "DT_INVALID";
}

std::string error_body(const std::string& message) { return "{ \"error\": " + quoted(message) + " }"; }

namespace {
template <class F>
std::string format_decimal(F v, int short_digits) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return std::signbit(v) ? "-Infinity" : "Infinity";
  // std::to_chars in general format with a precision is printf's %.*g, without printf's
  // format parsing and locale (which showed in the profile of every response).
  char buf[40];
  char* end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, short_digits).ptr;
  F back{};
  std::from_chars(buf, end, back);
  if (back != v) end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general,
                                     std::numeric_limits<F>::max_digits10).ptr;
  std::string s(buf, end);
  if (s.find('.') == std::string::npos && s.find('e') == std::string::npos) s += ".0";
  return s;
}
}  // namespace

std::string format_float(float v) { return format_decimal(v, 6); }
std::string format_double(double v) { return format_decimal(v, 6); }

void check_json_depth(const std::string& body, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw InvalidArgument(detail::str_cat("JSON Parse error: nesting deeper than ", max_depth, " levels"));
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

namespace {
// nlohmann's message without its "[json.exception.<kind>.<id>] " prefix.
std::string json_error_text(const json::exception& e) {
  std::string what = e.what();
  const size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}
}  // namespace

PredictRequest parse_predict_request(const std::string& body, int max_depth,
                                     const std::function<SpecMap(const std::string&)>& input_specs) {
  // When the fast path declines after looking the signature up, the full parser asks again:
  // answer that from the first lookup.
  std::optional<SpecMap> specs;
  std::string specs_for;
  auto specs_once = [&](const std::string& signature) {
    if (!specs || specs_for != signature) {
      specs = input_specs(signature);
      specs_for = signature;
    }
    return *specs;
  };
  if (std::optional<PredictRequest> fast = parse_predict_request_fast(body, max_depth, specs_once)) return std::move(*fast);
  return parse_predict_request_full(body, max_depth, specs_once);
}

PredictRequest parse_predict_request_full(const std::string& body, int max_depth,
                                          const std::function<SpecMap(const std::string&)>& input_specs) {
  if (body.empty()) throw InvalidArgument("JSON Parse error: The document is empty");
  check_json_depth(body, max_depth);
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::parse_error& e) {
    throw InvalidArgument(detail::str_cat("JSON Parse error: ", json_error_text(e), " at offset: ", e.byte));
  } catch (const json::exception& e) {
    // A number beyond double's range (1e400) is out_of_range, not a parse_error: still a
    // malformed request (400), as TF Serving's "Number too big to be stored in double".
    throw InvalidArgument("JSON Parse error: " + json_error_text(e));
  }
  if (!doc.is_object()) throw InvalidArgument("JSON Value: " + dump(doc) + " Is not object");

  PredictRequest req;
  if (doc.contains("signature_name")) {
    if (!doc["signature_name"].is_string())
      throw InvalidArgument("JSON Value: " + dump(doc) +
                            " not formatted correctly. 'signature_name' key must be a string value.");
    req.signature_name = doc["signature_name"].get<std::string>();
  }
  const SpecMap specs = input_specs(req.signature_name);
  if (specs.empty())
    throw InvalidArgument("Failed to get input map for signature: " +
                          (req.signature_name.empty() ? std::string("DEFAULT") : req.signature_name));

  const bool has_instances = doc.contains("instances"), has_inputs = doc.contains("inputs");
  if (has_instances && has_inputs)
    throw InvalidArgument("JSON Value: " + dump(doc) +
                          " Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ");
  if (!has_instances && !has_inputs) throw InvalidArgument("Missing 'inputs' or 'instances' key");

  if (has_instances) {
    req.format = RequestFormat::row;
    const json& list = doc["instances"];
    if (!list.is_array()) throw InvalidArgument("JSON Value: " + dump(doc) + " Excepting 'instances' to be an list/array");
    if (list.empty()) throw InvalidArgument("JSON Value: " + dump(doc) + " No values in 'instances' array");
    if (!list[0].is_object() && specs.size() > 1)
      throw InvalidArgument("instances is a plain list, but expecting list of objects as multiple input tensors "
                            "required as per tensorinfo_map");
    auto is_element_object = [](const json& v) { return v.is_object() && !is_b64_object(v); };
    const bool objects = is_element_object(list[0]);
    std::set<std::string> input_names;
    for (const auto& kv : specs) input_names.insert(kv.first);
    std::map<std::string, RowInput> rows;
    int64_t count = 0;
    for (const json& elem : list) {
      if (objects) {
        if (!is_element_object(elem))
          throw InvalidArgument(detail::str_cat("Expecting object but got list at item ", count, " of input list"));
        std::set<std::string> keys;
        for (auto it = elem.begin(); it != elem.end(); ++it) {
          keys.insert(it.key());
          try {
            add_instance_item(it.value(), it.key(), specs, rows);
          } catch (const InvalidArgument& e) {
            throw InvalidArgument(detail::str_cat("Failed to process element: ", count, " key: ", it.key(),
                                                  " of 'instances' list. Error: Invalid argument: ", e.what()));
          }
        }
        if (keys != input_names) {
          std::string joined;
          for (const auto& n : input_names) joined += (joined.empty() ? "" : ",") + n;
          throw InvalidArgument(detail::str_cat("Failed to process element: ", count, " of 'instances' list. JSON object: ",
                                                dump(elem), " keys must be equal to: ", joined));
        }
      } else {
        if (is_element_object(elem))
          throw InvalidArgument(detail::str_cat("Expecting value/list but got object at item ", count, " of input list"));
        try {
          add_instance_item(elem, specs.begin()->first, specs, rows);
        } catch (const InvalidArgument& e) {
          throw InvalidArgument(detail::str_cat("Failed to process element: ", count,
                                                " of 'instances' list. Error: Invalid argument: ", e.what()));
        }
      }
      ++count;
    }
    for (auto& kv : rows) {
      std::vector<int64_t> dims{count};
      dims.insert(dims.end(), kv.second.item_dims.begin(), kv.second.item_dims.end());
      req.inputs[kv.first] = make_tensor(specs.at(kv.first).dtype, dims, kv.second.bytes, &kv.second.strings);
    }
    req.rows = count;
    return req;
  }

  req.format = RequestFormat::columnar;
  const json& val = doc["inputs"];
  auto add = [&](const std::string& name, const TensorSpec& spec, const json& v) {
    DenseValue d = read_dense(v, spec.dtype);
    req.inputs[name] = make_tensor(spec.dtype, d.dims, d.bytes, &d.strings);
    if (!d.dims.empty()) req.rows = d.dims[0];
  };
  if (!val.is_object() || is_b64_object(val)) {
    if (specs.size() > 1)
      throw InvalidArgument("inputs is a plain value/list, but expecting an object as multiple input tensors "
                            "required as per tensorinfo_map");
    add(specs.begin()->first, specs.begin()->second, val);
  } else {
    for (const auto& kv : specs) {
      if (!val.contains(kv.first)) throw InvalidArgument("Missing named input: " + kv.first + " in 'inputs' object.");
      add(kv.first, kv.second, val[kv.first]);
    }
  }
  return req;
}

std::string write_predict_response(const std::map<std::string, Tensor>& outputs, RequestFormat format) {
  std::string out;
  out.reserve(64);
  if (format == RequestFormat::columnar) {
    out += "{\"outputs\": ";
    if (outputs.size() == 1) {
      int64_t i = 0;
      write_nested(outputs.begin()->second, 0, i, is_bytes_name(outputs.begin()->first), out);
    } else {
      out += '{';
      bool first = true;
      for (const auto& kv : outputs) {
        if (!first) out += ", ";
        first = false;
        out += quoted(kv.first) + ": ";
        int64_t i = 0;
        write_nested(kv.second, 0, i, is_bytes_name(kv.first), out);
      }
      out += '}';
    }
    out += "}";
    return out;
  }
  // Row format: every output is a batch of the same size; row i of each goes to prediction i.
  int64_t batch = -1;
  for (const auto& kv : outputs) {
    if (kv.second.rank() == 0)
      throw InvalidArgument("Tensor name: " + kv.first + " is a scalar; row format needs a batch dimension "
                            "(send the request in the columnar 'inputs' format)");
    if (batch < 0) batch = kv.second.dim(0);
    else if (kv.second.dim(0) != batch)
      throw InvalidArgument(detail::str_cat("Tensor name: ", kv.first, " has inconsistent batch size: ",
                                            kv.second.dim(0), " expecting: ", batch));
  }
  out += "{\"predictions\": [";
  for (int64_t r = 0; r < batch; ++r) {
    if (r) out += ", ";
    if (outputs.size() == 1) {
      const Tensor& t = outputs.begin()->second;
      int64_t i = r * (t.dim(0) ? t.num_elements() / t.dim(0) : 0);
      write_nested(t, 1, i, is_bytes_name(outputs.begin()->first), out);
    } else {
      out += '{';
      bool first = true;
      for (const auto& kv : outputs) {
        if (!first) out += ", ";
        first = false;
        out += quoted(kv.first) + ": ";
        const Tensor& t = kv.second;
        int64_t i = r * (t.dim(0) ? t.num_elements() / t.dim(0) : 0);
        write_nested(t, 1, i, is_bytes_name(kv.first), out);
      }
      out += '}';
    }
  }
  out += "]}";
  return out;
}

}  // namespace sluice::serving
