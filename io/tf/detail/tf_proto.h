// Internal: bounded reading of TensorFlow protobuf files and conversion of their dtypes,
// shapes and tensors into Sluice's. Not installed (includes the generated tf.pb.h).
#pragma once

#include <cstdint>
#include <string>

#include "../../../graph/graph.h"
#include "tf.pb.h"  // generated into the build tree from io/tf/tf.proto

namespace sluice::io::tf {

// Files are untrusted: these bound what a file may make us allocate or recurse into.
inline constexpr int64_t kMaxProtoFileBytes = int64_t{1} << 30;   // 1 GiB
inline constexpr int kMaxProtoNesting = 64;                        // message nesting depth
// A constant given by one value and a shape ("fill") may not expand past this many bytes.
inline constexpr int64_t kMaxFilledConstantBytes = int64_t{1} << 28;  // 256 MiB

// TensorFlow's DataType numbers that Sluice uses.
enum TfDataType : int {
  kTfFloat = 1, kTfDouble = 2, kTfInt32 = 3, kTfUint8 = 4, kTfInt16 = 5, kTfInt8 = 6,
  kTfString = 7, kTfInt64 = 9, kTfBool = 10, kTfHalf = 19, kTfResource = 20,
};

// Reads the whole file (NotFound when missing; DataLoss past kMaxProtoFileBytes).
std::string read_file(const std::string& path, const std::string& what);
// Parses `bytes` as message `msg`, with the nesting bounded by kMaxProtoNesting. DataLoss
// naming `what` when the bytes are not a valid message of that type.
void parse_proto(const std::string& bytes, google::protobuf::Message* msg, const std::string& what);

// "DT_FLOAT", "DT_HALF", ... ("DT_<n>" for numbers TensorFlow does not define).
std::string tf_dtype_name(int tf_dtype);
// The Sluice dtype of a TensorFlow one (ref types, +100, are the plain type); Unimplemented
// naming `what` and the TF dtype for types Sluice has no kernels for.
DType dtype_from_tf(int tf_dtype, const std::string& what);
bool dtype_supported(int tf_dtype);
// -1 dims stay unknown, unknown_rank gives Shape::unknown_rank(); InvalidArgument naming
// `what` for dims below -1, a rank above Shape::kMaxRank, or an element count over 2^62.
Shape shape_from_tf(const tfproto::TensorShapeProto& shape, const std::string& what);
// The tensor of a TensorProto (tensor_content, or the typed value fields with TensorFlow's
// rule that fewer values than elements repeat the last one). Checks every size against the
// message before allocating: InvalidArgument / Unimplemented naming `what`.
Tensor tensor_from_tf(const tfproto::TensorProto& proto, const std::string& what);

}  // namespace sluice::io::tf
