// Bounded protobuf reading and TensorFlow -> Sluice dtype / shape / tensor conversion.
#include "detail/tf_proto.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cstring>

#include "../checkpoint.h"  // RandomAccessFile

namespace sluice::io::tf {

std::string read_file(const std::string& path, const std::string& what) {
  RandomAccessFile file(path);
  SLUICE_REQUIRE(static_cast<int64_t>(file.size()) <= kMaxProtoFileBytes, DataLoss, what, " '", path, "': ",
                 file.size(), " bytes exceeds the limit of ", kMaxProtoFileBytes);
  std::string bytes(file.size(), '\0');
  if (!bytes.empty()) file.read(0, &bytes[0], bytes.size(), what);
  return bytes;
}

void parse_proto(const std::string& bytes, google::protobuf::Message* msg, const std::string& what) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetRecursionLimit(kMaxProtoNesting);
  const bool ok = msg->MergePartialFromCodedStream(&in) && in.ConsumedEntireMessage();
  SLUICE_REQUIRE(ok, DataLoss, what, ": not a valid ", msg->GetTypeName(), " message (", bytes.size(),
                 " bytes: truncated, corrupt, nested deeper than ", kMaxProtoNesting, ", or another kind of file)");
}

std::string tf_dtype_name(int t) {
  static const char* const kNames[] = {
      "DT_INVALID", "DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT16", "DT_INT8", "DT_STRING",
      "DT_COMPLEX64", "DT_INT64", "DT_BOOL", "DT_QINT8", "DT_QUINT8", "DT_QINT32", "DT_BFLOAT16",
      "DT_QINT16", "DT_QUINT16", "DT_UINT16", "DT_COMPLEX128", "DT_HALF", "DT_RESOURCE", "DT_VARIANT",
      "DT_UINT32", "DT_UINT64"};
  const int base = t > 100 ? t - 100 : t;
  const int n = static_cast<int>(sizeof(kNames) / sizeof(kNames[0]));
  std::string name = base >= 0 && base < n ? kNames[base] : "DT_" + std::to_string(base);
  return t > 100 ? name + "_REF" : name;
}

DType dtype_from_tf(int t, const std::string& what) {
  switch (t > 100 ? t - 100 : t) {
    case kTfFloat: return DType::f32;
    case kTfDouble: return DType::f64;
    case kTfInt32: return DType::i32;
    case kTfUint8: return DType::u8;
    case kTfInt64: return DType::i64;
    case kTfBool: return DType::boolean;
    case kTfString: return DType::string;
    default: break;
  }
  throw Unimplemented(what + ": TensorFlow dtype " + tf_dtype_name(t) +
                      " is not supported (Sluice has float32, float64, int32, int64, uint8, bool, string)");
}

bool dtype_supported(int t) {
  switch (t > 100 ? t - 100 : t) {
    case kTfFloat: case kTfDouble: case kTfInt32: case kTfUint8: case kTfInt64: case kTfBool: case kTfString: return true;
    default: return false;
  }
}

Shape shape_from_tf(const tfproto::TensorShapeProto& proto, const std::string& what) {
  if (proto.unknown_rank()) return Shape::unknown_rank();
  SLUICE_REQUIRE(proto.dim_size() <= Shape::kMaxRank, InvalidArgument, what, ": shape of rank ", proto.dim_size(),
                 " exceeds the maximum rank ", Shape::kMaxRank);
  std::vector<int64_t> dims;
  int64_t known = 1;
  for (const auto& d : proto.dim()) {
    SLUICE_REQUIRE(d.size() >= -1, InvalidArgument, what, ": shape dimension ", d.size(), " is negative");
    dims.push_back(d.size());
    if (d.size() >= 0) {
      SLUICE_REQUIRE(!__builtin_mul_overflow(known, d.size(), &known) && known <= (int64_t{1} << 62),
                     InvalidArgument, what, ": shape ", Shape(dims).to_string(), "... has too many elements");
    }
  }
  return Shape(dims);
}

namespace {

// Copies `count` values of a repeated field into `dst` (n elements), repeating the last
// value when the field holds fewer than n (TensorFlow's rule), zeros when it holds none.
template <class T, class Field>
void fill_from(const Field& field, T* dst, int64_t n, const std::string& what) {
  const int64_t have = field.size();
  SLUICE_REQUIRE(have <= n, InvalidArgument, what, ": ", have, " values for a tensor of ", n, " elements");
  for (int64_t i = 0; i < n; ++i) dst[i] = have == 0 ? T{} : static_cast<T>(field.Get(static_cast<int>(std::min(i, have - 1))));
}

}  // namespace

Tensor tensor_from_tf(const tfproto::TensorProto& proto, const std::string& what) {
  const DType dtype = dtype_from_tf(proto.dtype(), what);
  const Shape shape = shape_from_tf(proto.tensor_shape(), what);
  SLUICE_REQUIRE(shape.is_fully_defined(), InvalidArgument, what, ": a constant tensor needs a fully defined shape, got ",
                 shape.to_string());
  const int64_t n = shape.num_elements();
  if (dtype == DType::string) {
    // string_val: one value per element, or fewer with the last repeated (as TensorFlow).
    const auto& v = proto.string_val();
    SLUICE_REQUIRE(v.size() <= n && (v.size() > 0 || n == 0), InvalidArgument, what, ": ", v.size(),
                   " string values for a string", shape.to_string(), " constant");
    uint64_t bytes = 0;
    for (const auto& s : v) bytes += s.size();
    if (v.size() > 0) bytes += static_cast<uint64_t>(n - v.size()) * v[v.size() - 1].size();
    check_string_tensor_size(n, bytes, what);
    std::vector<std::string> values;
    for (int64_t i = 0; i < n; ++i) values.push_back(v[static_cast<int>(std::min<int64_t>(i, v.size() - 1))]);
    return Tensor::from_strings(std::move(values), shape);
  }
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  if (!proto.tensor_content().empty()) {
    const std::string& c = proto.tensor_content();
    SLUICE_REQUIRE(n <= static_cast<int64_t>(c.size()) / elem && static_cast<int64_t>(c.size()) == n * elem,
                   InvalidArgument, what, ": tensor_content holds ", c.size(), " bytes but a ", dtype_name(dtype),
                   shape.to_string(), " tensor needs ", n, " x ", elem);
    Tensor t(dtype, shape);
    if (dtype == DType::boolean) {
      bool* p = t.data<bool>();
      for (int64_t i = 0; i < n; ++i) p[i] = c[static_cast<size_t>(i)] != 0;
    } else if (n > 0) {
      std::memcpy(t.raw_data(), c.data(), c.size());
    }
    return t;
  }
  SLUICE_REQUIRE(n <= kMaxFilledConstantBytes / elem, InvalidArgument, what, ": a ", dtype_name(dtype),
                 shape.to_string(), " constant given by repeated values exceeds the import limit of ",
                 kMaxFilledConstantBytes, " bytes");
  Tensor t(dtype, shape);
  switch (dtype) {
    case DType::f32: fill_from(proto.float_val(), t.data<float>(), n, what); break;
    case DType::f64: fill_from(proto.double_val(), t.data<double>(), n, what); break;
    case DType::i32: fill_from(proto.int_val(), t.data<int32_t>(), n, what); break;
    case DType::u8: fill_from(proto.int_val(), t.data<uint8_t>(), n, what); break;
    case DType::i64: fill_from(proto.int64_val(), t.data<int64_t>(), n, what); break;
    case DType::boolean: fill_from(proto.bool_val(), t.data<bool>(), n, what); break;
    default: throw Unimplemented(what + ": constants of dtype " + dtype_name(dtype) + " are not supported");
  }
  return t;
}

}  // namespace sluice::io::tf
