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
    case DType::i8: return "int8";
    case DType::i16: return "int16";
    case DType::u16: return "uint16";
    case DType::u32: return "uint32";
    case DType::u64: return "uint64";
  }
  return "invalid";
}

DType dtype_from_name(const std::string& name) {
  for (int i = 0; i < kNumDTypes; ++i) {
    const auto d = static_cast<DType>(i);
    if (name == dtype_name(d)) return d;
  }
  throw InvalidArgument("unknown dtype name '" + name + "'");
}

void throw_no_size(DType dtype) {
  if (dtype == DType::string) {
    throw InvalidArgument(
        "dtype string has no fixed element size (string tensors hold std::string elements)");
  }
  throw InvalidArgument(detail::str_cat("invalid dtype value ", static_cast<int>(dtype)));
}

bool is_floating(DType dtype) { return dtype == DType::f32 || dtype == DType::f64; }

bool is_integer(DType dtype) {
  switch (dtype) {
    case DType::i8:
    case DType::i16:
    case DType::i32:
    case DType::i64:
    case DType::u8:
    case DType::u16:
    case DType::u32:
    case DType::u64: return true;
    default: return false;
  }
}

bool is_unsigned_integer(DType dtype) {
  return dtype == DType::u8 || dtype == DType::u16 || dtype == DType::u32 || dtype == DType::u64;
}

bool is_valid_dtype(int value) { return value >= 0 && value < kNumDTypes; }

}  // namespace sluice
