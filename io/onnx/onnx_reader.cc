// Reading ONNX protobuf messages: models, tensors, attributes and names. Everything here
// treats the file as untrusted: sizes are checked against the data actually present before
// anything is allocated.
#include <cstring>
#include <fstream>
#include <limits>

#include "../../runtime/error.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

using ::onnx::AttributeProto;
using ::onnx::TensorProto;

// Elements of a tensor of `dims`, or -1 when a dim is negative or the product overflows
// past `limit`.
int64_t element_count(const google::protobuf::RepeatedField<int64_t>& dims, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d != 0 && n > limit / d) return -1;
    n *= d;
  }
  return n;
}

template <class T, class Field>
void copy_field(const Field& field, Tensor& t) {
  T* out = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
}

}  // namespace

::onnx::ModelProto parse_model(const std::string& bytes, const std::string& source) {
  SLUICE_REQUIRE(static_cast<int64_t>(bytes.size()) <= kMaxOnnxFileBytes, DataLoss, "'", source, "': ",
                 bytes.size(), " bytes is more than an ONNX model can hold (2 GiB)");
  ::onnx::ModelProto model;
  SLUICE_REQUIRE(model.ParseFromString(bytes), DataLoss, "'", source,
                 "' is not an ONNX model (the protobuf ModelProto does not parse)");
  SLUICE_REQUIRE(model.has_graph(), DataLoss, "'", source, "' is not an ONNX model (no graph)");
  return model;
}

std::string onnx_type_name(int t) {
  switch (t) {
    case TensorProto::FLOAT: return "FLOAT";
    case TensorProto::UINT8: return "UINT8";
    case TensorProto::INT8: return "INT8";
    case TensorProto::UINT16: return "UINT16";
    case TensorProto::INT16: return "INT16";
    case TensorProto::INT32: return "INT32";
    case TensorProto::INT64: return "INT64";
    case TensorProto::STRING: return "STRING";
    case TensorProto::BOOL: return "BOOL";
    case TensorProto::FLOAT16: return "FLOAT16";
    case TensorProto::DOUBLE: return "DOUBLE";
    case TensorProto::UINT32: return "UINT32";
    case TensorProto::UINT64: return "UINT64";
    case TensorProto::COMPLEX64: return "COMPLEX64";
    case TensorProto::COMPLEX128: return "COMPLEX128";
    case TensorProto::BFLOAT16: return "BFLOAT16";
    default: return "type " + std::to_string(t);
  }
}

DType dtype_from_onnx(int t, const std::string& what) {
  switch (t) {
    case TensorProto::FLOAT: return DType::f32;
    case TensorProto::DOUBLE: return DType::f64;
    case TensorProto::INT32: return DType::i32;
    case TensorProto::INT64: return DType::i64;
    case TensorProto::UINT8: return DType::u8;
    case TensorProto::BOOL: return DType::boolean;
    case TensorProto::INT8: return DType::i8;
    case TensorProto::INT16: return DType::i16;
    case TensorProto::UINT16: return DType::u16;
    case TensorProto::UINT32: return DType::u32;
    case TensorProto::UINT64: return DType::u64;
    case TensorProto::STRING: return DType::string;
    case TensorProto::UNDEFINED:
      throw DataLoss(what + ": tensor type UNDEFINED");
    default:
      break;
  }
  SLUICE_REQUIRE(TensorProto::DataType_IsValid(t), DataLoss, what, ": unknown tensor element type ", t);
  throw Unimplemented(what + ": tensor type " + onnx_type_name(t) +
                      " has no Sluice dtype yet (supported: FLOAT, DOUBLE, INT8, INT16, INT32, INT64, UINT8, UINT16, "
                      "UINT32, UINT64, BOOL, STRING)");
}

Tensor tensor_from_proto(const TensorProto& p, const std::string& what_in) {
  const std::string what = p.name().empty() ? what_in : what_in + " '" + p.name() + "'";
  SLUICE_REQUIRE(p.dims_size() <= kMaxOnnxRank, DataLoss, what, ": rank ", p.dims_size(), " is more than ",
                 kMaxOnnxRank);
  SLUICE_REQUIRE(p.data_location() != TensorProto::EXTERNAL && p.external_data_size() == 0, Unimplemented, what,
                 ": tensor data in external files is not supported (save the model with its data inside)");
  SLUICE_REQUIRE(!p.has_segment(), Unimplemented, what, ": segmented tensors are not supported");
  const DType dtype = dtype_from_onnx(p.data_type(), what);
  const int64_t n = element_count(p.dims(), std::numeric_limits<int64_t>::max() / 8);
  SLUICE_REQUIRE(n >= 0, DataLoss, what, ": dims with a negative or overflowing element count");
  const Shape shape(std::vector<int64_t>(p.dims().begin(), p.dims().end()));
  if (dtype == DType::string) {
    // Strings live only in string_data (raw_data cannot hold them); the element count is
    // checked against the strings present before the tensor is made.
    SLUICE_REQUIRE(!p.has_raw_data(), DataLoss, what, ": a STRING tensor with raw_data");
    SLUICE_REQUIRE(p.string_data_size() == n, DataLoss, what, ": string_data holds ", p.string_data_size(),
                   " values, dims ", shape.to_string(), " need ", n);
    return Tensor::from_strings(std::vector<std::string>(p.string_data().begin(), p.string_data().end()), shape);
  }
  const size_t esize = dtype_size(dtype);
  // Check the data present against n before allocating n elements.
  if (p.has_raw_data()) {
    SLUICE_REQUIRE(p.raw_data().size() == static_cast<size_t>(n) * esize, DataLoss, what, ": raw_data holds ",
                   p.raw_data().size(), " bytes, dims ", shape.to_string(), " of ", onnx_type_name(p.data_type()),
                   " need ", static_cast<size_t>(n) * esize);
    Tensor t(dtype, shape);
    if (n == 0) return t;
    if (dtype == DType::boolean) {
      bool* out = t.data<bool>();
      for (int64_t i = 0; i < n; ++i) out[i] = p.raw_data()[static_cast<size_t>(i)] != 0;
    } else {
      std::memcpy(t.raw_data(), p.raw_data().data(), p.raw_data().size());  // little-endian, as ONNX
    }
    return t;
  }
  int64_t have = 0;
  const char* field = "";
  switch (dtype) {
    case DType::f32: have = p.float_data_size(); field = "float_data"; break;
    case DType::f64: have = p.double_data_size(); field = "double_data"; break;
    case DType::i64: have = p.int64_data_size(); field = "int64_data"; break;
    case DType::u32:
    case DType::u64: have = p.uint64_data_size(); field = "uint64_data"; break;
    default: have = p.int32_data_size(); field = "int32_data"; break;  // int32, (u)int8/16, bool
  }
  SLUICE_REQUIRE(have == n, DataLoss, what, ": ", field, " holds ", have, " values, dims ", shape.to_string(),
                 " need ", n);
  Tensor t(dtype, shape);
  switch (dtype) {
    case DType::f32: copy_field<float>(p.float_data(), t); break;
    case DType::f64: copy_field<double>(p.double_data(), t); break;
    case DType::i64: copy_field<int64_t>(p.int64_data(), t); break;
    case DType::i32: copy_field<int32_t>(p.int32_data(), t); break;
    case DType::u8: copy_field<uint8_t>(p.int32_data(), t); break;
    case DType::i8: copy_field<int8_t>(p.int32_data(), t); break;
    case DType::i16: copy_field<int16_t>(p.int32_data(), t); break;
    case DType::u16: copy_field<uint16_t>(p.int32_data(), t); break;
    case DType::u32: copy_field<uint32_t>(p.uint64_data(), t); break;
    case DType::u64: copy_field<uint64_t>(p.uint64_data(), t); break;
    case DType::boolean: {
      bool* out = t.data<bool>();
      for (int64_t i = 0; i < n; ++i) out[i] = p.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    default: break;
  }
  return t;
}

DType dtype_from_type(const ::onnx::TypeProto& type, const std::string& what) {
  SLUICE_REQUIRE(type.has_tensor_type(), Unimplemented, what,
                 ": only tensor values are supported (not sequences, maps or optionals)");
  return dtype_from_onnx(type.tensor_type().elem_type(), what);
}

Shape shape_from_type(const ::onnx::TypeProto& type, const std::string& what) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return Shape::unknown_rank();
  const auto& dims = type.tensor_type().shape().dim();
  SLUICE_REQUIRE(dims.size() <= kMaxOnnxRank, DataLoss, what, ": rank ", dims.size(), " is more than ",
                 kMaxOnnxRank);
  std::vector<int64_t> shape;
  for (const auto& d : dims) {
    const bool known = d.value_case() == ::onnx::TensorShapeProto_Dimension::kDimValue;
    SLUICE_REQUIRE(!known || d.dim_value() >= 0, DataLoss, what, ": negative dim ", d.dim_value());
    shape.push_back(known ? d.dim_value() : -1);
  }
  return Shape(shape);
}

std::string escape_name(const std::string& name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                       c == '.';
    // '/' separates scopes, except where a Sluice name cannot hold it: first, last, doubled.
    const bool slash_ok = c == '/' && i > 0 && i + 1 < name.size() && name[i - 1] != '/';
    if (plain || slash_ok) {
      out += static_cast<char>(c);
    } else {
      out += '-';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// ---- attributes ----

const AttributeProto* Attrs::find(const std::string& name) const {
  for (const AttributeProto& a : node_.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

const AttributeProto& Attrs::typed(const std::string& name, int type) const {
  const AttributeProto* a = find(name);
  SLUICE_REQUIRE(a != nullptr, InvalidArgument, where_, ": missing attribute '", name, "'");
  // Old exporters leave `type` unset; then the field that is set decides.
  int got = a->type();
  if (got == AttributeProto::UNDEFINED) {
    if (a->has_f()) got = AttributeProto::FLOAT;
    else if (a->has_i()) got = AttributeProto::INT;
    else if (a->has_s()) got = AttributeProto::STRING;
    else if (a->has_t()) got = AttributeProto::TENSOR;
    else if (a->ints_size()) got = AttributeProto::INTS;
    else if (a->floats_size()) got = AttributeProto::FLOATS;
    else if (a->strings_size()) got = AttributeProto::STRINGS;
    else got = type;  // an empty list
  }
  SLUICE_REQUIRE(got == type, InvalidArgument, where_, ": attribute '", name, "' has type ",
                 AttributeProto::AttributeType_Name(static_cast<AttributeProto::AttributeType>(got)), ", expected ",
                 AttributeProto::AttributeType_Name(static_cast<AttributeProto::AttributeType>(type)));
  return *a;
}

int64_t Attrs::get_int(const std::string& name, int64_t def) const {
  return has(name) ? typed(name, AttributeProto::INT).i() : def;
}
float Attrs::get_float(const std::string& name, float def) const {
  return has(name) ? typed(name, AttributeProto::FLOAT).f() : def;
}
std::string Attrs::get_string(const std::string& name, const std::string& def) const {
  return has(name) ? typed(name, AttributeProto::STRING).s() : def;
}
std::vector<int64_t> Attrs::get_ints(const std::string& name, const std::vector<int64_t>& def) const {
  if (!has(name)) return def;
  const auto& f = typed(name, AttributeProto::INTS).ints();
  return {f.begin(), f.end()};
}
std::vector<float> Attrs::get_floats(const std::string& name, const std::vector<float>& def) const {
  if (!has(name)) return def;
  const auto& f = typed(name, AttributeProto::FLOATS).floats();
  return {f.begin(), f.end()};
}
std::vector<std::string> Attrs::get_strings(const std::string& name) const {
  if (!has(name)) return {};
  const auto& f = typed(name, AttributeProto::STRINGS).strings();
  return {f.begin(), f.end()};
}
Tensor Attrs::get_tensor(const std::string& name) const {
  return tensor_from_proto(typed(name, AttributeProto::TENSOR).t(), where_ + ": attribute '" + name + "'");
}

}  // namespace sluice::io::onnx_detail
