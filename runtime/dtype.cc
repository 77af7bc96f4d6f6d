#include "dtype.h"

namespace sluice {

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::boolean: return "bool";
    case DType::string: return "string";
  }
  return "invalid";
}

DType dtype_from_name(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(DType::string); ++i) {
    const auto d = static_cast<DType>(i);
    if (name == dtype_name(d)) return d;
  }
  throw InvalidArgument("unknown dtype name '" + name + "'");
}

void throw_no_size(DType dtype) {
  throw Unimplemented(std::string("tensors of dtype ") + dtype_name(dtype) +
                      " are not supported yet");
}

bool is_floating(DType dtype) { return dtype == DType::f32 || dtype == DType::f64; }

bool is_integer(DType dtype) {
  return dtype == DType::i32 || dtype == DType::i64 || dtype == DType::u8;
}

bool is_valid_dtype(int value) {
  return value >= 0 && value <= static_cast<int>(DType::string);
}

}  // namespace sluice
