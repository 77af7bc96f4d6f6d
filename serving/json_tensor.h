// JSON <-> tensors for TensorFlow Serving's REST predict API: plain functions, no sockets.
//
// Requests (TF Serving's two formats):
//   row:      {"signature_name": "s", "instances": [{"a": [1, 2], "b": 3}, ...]}   (or a plain
//             list when the signature has one input); instance i becomes row i of each input.
//   columnar: {"signature_name": "s", "inputs": {"a": [[1, 2]], "b": [3]}}          (or a plain
//             value when the signature has one input); each value is the whole tensor.
// Responses mirror the request: {"predictions": [...]} for row requests (a list of values for
// one output, a list of {"key": value} objects for several), {"outputs": value or {...}} for
// columnar ones. Errors are InvalidArgument with TF Serving's messages.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include <sluice/sluice.h>

namespace sluice::serving {

enum class RequestFormat { row, columnar };

// What a signature input accepts (its static dtype and shape).
struct TensorSpec {
  DType dtype = DType::f32;
  Shape shape;
};
using SpecMap = std::map<std::string, TensorSpec>;

struct PredictRequest {
  std::string signature_name;  // "" in the request means "serving_default"
  RequestFormat format = RequestFormat::row;
  std::map<std::string, Tensor> inputs;
  int64_t rows = 0;  // instances in a row request; dim 0 of the inputs (0 when scalar) otherwise
};

// Rejects JSON nested deeper than `max_depth` arrays/objects (checked before parsing, so a
// hostile body costs one linear scan). InvalidArgument "JSON Parse error: ...".
void check_json_depth(const std::string& body, int max_depth);

// Parses a predict request body. `input_specs(signature_name)` returns the signature's
// inputs (it throws the NotFound/InvalidArgument for an unknown model or signature).
// InvalidArgument with TF Serving's message for anything malformed: bad JSON, neither or
// both of 'instances'/'inputs', ragged lists, a value of the wrong JSON type or range for
// the input's dtype, a missing named input.
// Takes the fast path (below) first and the full parser when that declines.
PredictRequest parse_predict_request(const std::string& body, int max_depth,
                                     const std::function<SpecMap(const std::string&)>& input_specs);

// The two paths of parse_predict_request, for tests and the fuzz target that compare them.
// The full one reads any body through a JSON DOM and has every error message. The fast one
// (json_fast.cc) reads the common case (nested lists of numbers for a one-input f32, f64,
// i32 or i64 signature) in one pass and returns nullopt for anything else, including every
// body the full parser refuses; when it answers, the full parser gives the same request.
// Both call input_specs at most once; its errors propagate from either.
PredictRequest parse_predict_request_full(const std::string& body, int max_depth,
                                          const std::function<SpecMap(const std::string&)>& input_specs);
std::optional<PredictRequest> parse_predict_request_fast(
    const std::string& body, int max_depth, const std::function<SpecMap(const std::string&)>& input_specs);

// The response body for `outputs` in `format`. InvalidArgument for row format when the
// outputs disagree on their batch size (dim 0) or one is a scalar.
std::string write_predict_response(const std::map<std::string, Tensor>& outputs, RequestFormat format);

// One value as TF Serving writes it: the shortest decimal that reads back to the same float,
// with ".0" on whole numbers; NaN / Infinity / -Infinity for non-finite values.
std::string format_float(float v);
std::string format_double(double v);

// TensorFlow's DataType name: DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_UINT8, DT_BOOL, DT_STRING.
const char* tf_dtype_name(DType dtype);

// {"error": "<message>"} (TF Serving's error body).
std::string error_body(const std::string& message);

}  // namespace sluice::serving
