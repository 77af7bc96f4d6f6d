// The fast path of parse_predict_request: the request bodies a load actually sends (an object
// with "instances" or "inputs" holding nested lists of numbers for a one-input signature of
// f32 / f64 / i32 / i64), read straight into the tensor in one pass without a JSON DOM.
// Profiling `sluice serve` with the MNIST MLP put ~35% of the server's CPU time in building
// and walking nlohmann::json's DOM for the 784 numbers of one image (a node and a strtod per
// number); this reads each number with std::from_chars into a flat buffer.
//
// It is exact or it declines: anything it does not handle, or that might be an error (a
// string, a b64 object, an escape in a key, a duplicate or unknown key, ragged lists, a
// number out of the dtype's lossless range, another dtype, several inputs), returns nullopt
// and the full parser (json_tensor.cc) answers, with TF Serving's messages. So what it
// accepts, the full parser accepts with the same tensors; fuzz_serving_json checks that.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "json_tensor.h"

namespace sluice::serving {
namespace {

// One JSON number: an integer token (no fraction or exponent) as int64, else a double.
struct Num {
  bool is_int;
  int64_t i;
  double d;
};

// Nested lists read as a dense array. The shape is the sizes along the first-element path
// (as the full parser's dense_shape), and every list must agree with it.
struct Dense {
  std::vector<int64_t> dims;  // -1 while the first list of that level is still open
  bool rank_known = false;
  size_t rank = 0;
  std::vector<Num> values;
};

class FastParser {
 public:
  FastParser(const std::string& body, int max_depth)
      : p_(body.data()), end_(body.data() + body.size()), max_depth_(max_depth) {}

  // The whole body: {"signature_name": "...", "instances"|"inputs": value}, nothing else.
  bool document() {
    ws();
    if (!eat('{') || max_depth_ < 1) return false;
    bool first = true;
    while (true) {
      ws();
      if (first && peek('}')) {
        ++p_;
        break;
      }
      std::string key;
      if (!simple_string(&key)) return false;
      ws();
      if (!eat(':')) return false;
      if (key == "signature_name") {
        if (has_signature_) return false;
        has_signature_ = true;
        ws();
        if (!simple_string(&signature_)) return false;
      } else if (key == "instances" || key == "inputs") {
        if (has_value_) return false;  // both keys, or one twice: the full parser's message
        has_value_ = true;
        row_ = key == "instances";
        if (!value(value_, 0, 1)) return false;
      } else {
        return false;
      }
      ws();
      first = false;
      if (eat(',')) continue;
      if (eat('}')) break;
      return false;
    }
    ws();
    return p_ == end_ && has_value_;
  }

  const std::string& signature() const { return signature_; }
  bool row() const { return row_; }
  Dense& dense() { return value_; }

 private:
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool peek(char c) const { return p_ < end_ && *p_ == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++p_;
    return true;
  }

  // A string of printable ASCII without escapes (anything else: the full parser).
  bool simple_string(std::string* out) {
    if (!eat('"')) return false;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"') {
      const auto c = static_cast<unsigned char>(*p_);
      if (c < 0x20 || c >= 0x7f || c == '\\') return false;
      ++p_;
    }
    if (p_ == end_) return false;
    out->assign(start, p_);
    ++p_;
    return true;
  }

  // JSON's number grammar exactly: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number(Num* out) {
    const char* start = p_;
    if (peek('-')) ++p_;
    if (peek('0')) {
      ++p_;
    } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    bool is_int = true;
    if (peek('.')) {
      ++p_;
      is_int = false;
      if (!(p_ < end_ && *p_ >= '0' && *p_ <= '9')) return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (peek('e') || peek('E')) {
      ++p_;
      is_int = false;
      if (peek('+') || peek('-')) ++p_;
      if (!(p_ < end_ && *p_ >= '0' && *p_ <= '9')) return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    out->is_int = is_int;
    out->i = 0;
    out->d = 0;
    // Out of range (a huge integer, an overflowing or underflowing exponent): the full
    // parser, which has its own rules for those.
    if (is_int) {
      const auto r = std::from_chars(start, p_, out->i);
      return r.ec == std::errc() && r.ptr == p_;
    }
    const auto r = std::from_chars(start, p_, out->d);
    return r.ec == std::errc() && r.ptr == p_ && std::isfinite(out->d);
  }

  bool value(Dense& d, size_t level, int depth) {
    ws();
    if (!peek('[')) {
      if (!d.rank_known) {
        d.rank_known = true;
        d.rank = level;
      }
      if (level != d.rank || level != d.dims.size()) return false;
      Num n;
      if (!number(&n)) return false;
      d.values.push_back(n);
      return true;
    }
    if (depth + 1 > max_depth_) return false;
    ++p_;
    if (d.rank_known && level >= d.rank) return false;
    if (level == d.dims.size()) d.dims.push_back(-1);
    int64_t count = 0;
    ws();
    if (!eat(']')) {
      while (true) {
        if (!value(d, level + 1, depth + 1)) return false;
        ++count;
        ws();
        if (eat(',')) continue;
        if (eat(']')) break;
        return false;
      }
    }
    if (d.dims[level] < 0) {
      d.dims[level] = count;
      if (count == 0) {  // an empty first list ends the shape here
        if (d.rank_known) return false;
        d.rank_known = true;
        d.rank = level + 1;
      }
    } else if (d.dims[level] != count) {
      return false;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  int max_depth_;
  bool has_signature_ = false, has_value_ = false, row_ = false;
  std::string signature_;
  Dense value_;
};

// The value as `F`, when the full parser would take it without loss (its lossless<F>: whole
// numbers below 2^digits; others within F's range).
template <class F>
bool to_float(const Num& n, F* out) {
  if (n.is_int) {
    constexpr uint64_t max_int = (uint64_t{1} << std::numeric_limits<F>::digits) - 1;
    const uint64_t mag = n.i < 0 ? -static_cast<uint64_t>(n.i) : static_cast<uint64_t>(n.i);
    if (mag > max_int) return false;
    *out = static_cast<F>(static_cast<double>(n.i));
    return true;
  }
  if (n.d > static_cast<double>(std::numeric_limits<F>::max()) ||
      n.d < static_cast<double>(std::numeric_limits<F>::lowest()))
    return false;
  *out = static_cast<F>(n.d);
  return true;
}

template <class I>
bool to_int(const Num& n, I* out) {
  if (!n.is_int || n.i < static_cast<int64_t>(std::numeric_limits<I>::min()) ||
      n.i > static_cast<int64_t>(std::numeric_limits<I>::max()))
    return false;
  *out = static_cast<I>(n.i);
  return true;
}

template <class T, class Convert>
bool fill_tensor(const std::vector<Num>& values, Tensor& t, Convert convert) {
  T* out = static_cast<T*>(t.raw_data());
  for (size_t k = 0; k < values.size(); ++k)
    if (!convert(values[k], &out[k])) return false;
  return true;
}

}  // namespace

std::optional<PredictRequest> parse_predict_request_fast(
    const std::string& body, int max_depth, const std::function<SpecMap(const std::string&)>& input_specs) {
  FastParser parser(body, max_depth);
  if (!parser.document()) return std::nullopt;
  Dense& d = parser.dense();
  if (parser.row() && (d.dims.empty() || d.dims[0] == 0)) return std::nullopt;  // not a list, or empty
  // The document is valid JSON of the shape the full parser reads the same way: from here on
  // it would ask for the signature's inputs too, so its errors (unknown signature) are final.
  const SpecMap specs = input_specs(parser.signature());
  if (specs.size() != 1) return std::nullopt;
  const std::string& name = specs.begin()->first;
  const DType dtype = specs.begin()->second.dtype;
  if (dtype != DType::f32 && dtype != DType::f64 && dtype != DType::i32 && dtype != DType::i64) return std::nullopt;

  Tensor t(dtype, Shape(d.dims));
  if (static_cast<size_t>(t.num_elements()) != d.values.size()) return std::nullopt;  // cannot happen; be safe
  bool ok = false;
  switch (dtype) {
    case DType::f32: ok = fill_tensor<float>(d.values, t, to_float<float>); break;
    case DType::f64: ok = fill_tensor<double>(d.values, t, to_float<double>); break;
    case DType::i32: ok = fill_tensor<int32_t>(d.values, t, to_int<int32_t>); break;
    case DType::i64: ok = fill_tensor<int64_t>(d.values, t, to_int<int64_t>); break;
    default: break;
  }
  if (!ok) return std::nullopt;

  PredictRequest req;
  req.signature_name = parser.signature();
  req.format = parser.row() ? RequestFormat::row : RequestFormat::columnar;
  req.rows = d.dims.empty() ? 0 : d.dims[0];
  req.inputs.emplace(name, std::move(t));
  return req;
}

}  // namespace sluice::serving
