// libFuzzer target: the body of a TF Serving predict request (POST .../:predict), as
// `sluice serve` reads it, without a network: parse_predict_request (serving/json_tensor.h)
// on arbitrary bytes, row and columnar formats, b64 strings. The first byte picks the
// signature's inputs (dtype, one input or two, shape) and the JSON depth limit; the rest is
// the body. Every failure must be a typed sluice::Error other than Internal; beyond that:
//   - the fast path (parse_predict_request_fast) answers only bodies the full parser accepts,
//     with the same format, row count and tensors bit for bit,
//   - parse_predict_request (fast path, then full) agrees with the full parser alone,
//     including the error message,
//   - a numeric request's tensors, written back as a response (write_predict_response) and
//     read again as a request, come back unchanged.
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include "fuzz_util.h"
#include "json_tensor.h"

namespace sluice::fuzz::serving_json {

using serving::PredictRequest;
using serving::RequestFormat;
using serving::SpecMap;
using serving::TensorSpec;

inline SpecMap specs_for(uint8_t config) {
  static const DType kDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64,
                                  DType::u8,  DType::boolean, DType::string, DType::f32};
  const DType dtype = kDTypes[config & 7];
  const Shape shape = (config & 16) ? Shape{-1, 2} : Shape{-1};
  if (config & 8) return {{"a", TensorSpec{dtype, shape}}, {"b", TensorSpec{DType::f32, Shape{-1}}}};
  return {{"x", TensorSpec{dtype, shape}}};
}

inline bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DType::string) {
    for (int64_t i = 0; i < a.num_elements(); ++i)
      if (a.string_at(i) != b.string_at(i)) return false;
    return true;
  }
  return std::memcmp(a.raw_data(), b.raw_data(), a.num_elements() * dtype_size(a.dtype())) == 0;
}

inline bool same_request(const PredictRequest& a, const PredictRequest& b) {
  if (a.signature_name != b.signature_name || a.format != b.format || a.rows != b.rows ||
      a.inputs.size() != b.inputs.size())
    return false;
  for (const auto& kv : a.inputs) {
    auto it = b.inputs.find(kv.first);
    if (it == b.inputs.end() || !same_tensor(kv.second, it->second)) return false;
  }
  return true;
}

struct Outcome {
  std::optional<PredictRequest> request;
  std::string error;
};

template <class F>
Outcome attempt(F&& parse) {
  Outcome o;
  try {
    o.request = parse();
  } catch (const Error& e) {
    SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal);
    o.error = e.what();
  }
  return o;
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  if (size < 1) return 0;
  const uint8_t config = data[0];
  const int max_depth = (config & 32) ? 3 : 100;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const SpecMap specs = specs_for(config);
  int lookups = 0;
  auto input_specs = [&](const std::string& signature) {
    ++lookups;
    if (!signature.empty() && signature != "serving_default")
      throw InvalidArgument("Serving signature name: \"" + signature + "\" not found in signature def");
    return specs;
  };

  const Outcome full = attempt([&] { return serving::parse_predict_request_full(body, max_depth, input_specs); });
  SLUICE_FUZZ_CHECK(lookups <= 1);
  lookups = 0;
  const Outcome fast = attempt([&] { return serving::parse_predict_request_fast(body, max_depth, input_specs); });
  SLUICE_FUZZ_CHECK(lookups <= 1);
  if (fast.request) {
    SLUICE_FUZZ_CHECK(full.request.has_value());
    SLUICE_FUZZ_CHECK(same_request(*fast.request, *full.request));
  } else if (!fast.error.empty()) {
    // The fast path's only errors are the signature lookup's, which the full parser makes too.
    SLUICE_FUZZ_CHECK(fast.error == full.error);
  }
  lookups = 0;
  const Outcome both = attempt([&] { return serving::parse_predict_request(body, max_depth, input_specs); });
  SLUICE_FUZZ_CHECK(lookups <= 1);
  SLUICE_FUZZ_CHECK(both.request.has_value() == full.request.has_value());
  SLUICE_FUZZ_CHECK(both.error == full.error);
  if (!full.request) return 0;
  SLUICE_FUZZ_CHECK(same_request(*both.request, *full.request));

  // Write the inputs back as a response; numeric ones read back as the same request.
  const PredictRequest& req = *full.request;
  std::string response;
  try {
    response = serving::write_predict_response(req.inputs, req.format);
  } catch (const InvalidArgument&) {
    return 0;  // row format needs outputs with one batch size; requests of two inputs may differ
  }
  for (const auto& kv : req.inputs) {
    if (kv.second.dtype() == DType::string) return 0;  // JSON strings are written as UTF-8 text
    // FLT_MAX is written as 3.40282347e+38, above FLT_MAX as a double, which the reader (as
    // TF Serving's) refuses as out of float's range: not a round trip by design.
    if (kv.second.dtype() == DType::f32) {
      const float* v = static_cast<const float*>(kv.second.raw_data());
      for (int64_t i = 0; i < kv.second.num_elements(); ++i)
        if (std::fabs(v[i]) == std::numeric_limits<float>::max()) return 0;
    }
  }
  const std::string head = req.format == RequestFormat::row ? "{\"predictions\": " : "{\"outputs\": ";
  SLUICE_FUZZ_CHECK(response.compare(0, head.size(), head) == 0);
  const std::string again_body =
      (req.format == RequestFormat::row ? "{\"instances\": " : "{\"inputs\": ") + response.substr(head.size());
  const Outcome again = attempt([&] { return serving::parse_predict_request_full(again_body, 100, input_specs); });
  SLUICE_FUZZ_CHECK(again.request.has_value());
  PredictRequest expected = req;
  expected.signature_name.clear();
  SLUICE_FUZZ_CHECK(same_request(*again.request, expected));
  return 0;
}

}  // namespace sluice::fuzz::serving_json

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::serving_json::run(data, size);
}
#endif
