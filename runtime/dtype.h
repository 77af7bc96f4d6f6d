// Element types of tensors and the compile-time mapping between C++ types and DType.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "error.h"

namespace sluice {

// Enumerator values are stable (graph fuzzers and tests enumerate them): new dtypes are
// appended. Files never store these values: checkpoints have their own codes, graph
// files and .npy headers names.
enum class DType : uint8_t {
  f32,
  f64,
  i32,
  i64,
  u8,
  boolean,
  string,  // byte strings of any length and content (TensorFlow's tf.string)
  i8,
  i16,
  u16,
  u32,
  u64,
};
constexpr int kNumDTypes = 12;

// "float32", "float64", "int32", "int64", "uint8", "bool", "string", "int8", "int16",
// "uint16", "uint32", "uint64" (NumPy's and TensorFlow's names).
const char* dtype_name(DType dtype);
// Parses the names above; throws InvalidArgument for anything else.
DType dtype_from_name(const std::string& name);
[[noreturn]] void throw_no_size(DType dtype);
// Bytes per element of the fixed-size dtypes; throws InvalidArgument for string, whose
// elements have no fixed size (see dtype_storage_size).
inline size_t dtype_size(DType dtype) {
  constexpr size_t kSizes[kNumDTypes] = {4, 8, 4, 8, 1, 1, 0, 1, 2, 2, 4, 8};
  const auto i = static_cast<size_t>(dtype);
  if (i >= static_cast<size_t>(kNumDTypes) || kSizes[i] == 0) throw_no_size(dtype);
  return kSizes[i];
}
// Bytes per element inside a tensor buffer: dtype_size, or sizeof(std::string) for
// string tensors, whose buffers hold std::string objects.
inline size_t dtype_storage_size(DType dtype) {
  return dtype == DType::string ? sizeof(std::string) : dtype_size(dtype);
}
bool is_floating(DType dtype);          // f32, f64
bool is_integer(DType dtype);           // the nine integer dtypes (not bool)
bool is_unsigned_integer(DType dtype);  // u8, u16, u32, u64
// True when `value` is one of the defined enumerators (files and fuzzers can hold others).
bool is_valid_dtype(int value);

template <class T>
struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::f64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::i32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::i64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::boolean; };
template <> struct DTypeOf<std::string> { static constexpr DType value = DType::string; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::i8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::i16; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::u16; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::u32; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::u64; };
template <class T>
inline constexpr DType dtype_v = DTypeOf<T>::value;

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) for the T in Ts whose DType equals `dtype`; throws InvalidArgument
// naming `what` when none matches. Kernels use it to template on the element type once:
//   dispatch<float, double>(x.dtype(), "Exp", [&](auto tag) {
//     using T = typename decltype(tag)::type; ... });
template <class... Ts, class F>
void dispatch(DType dtype, const char* what, F&& f) {
  const bool done = ((dtype == dtype_v<Ts> ? (f(TypeTag<Ts>{}), true) : false) || ...);
  if (!done) {
    std::string allowed;
    ((allowed += (allowed.empty() ? "" : ", "), allowed += dtype_name(dtype_v<Ts>)), ...);
    throw InvalidArgument(detail::str_cat(what, ": unsupported dtype ", dtype_name(dtype),
                                          " (supported: ", allowed, ")"));
  }
}

// Type lists for dispatch<...>. They hold fixed-size types only: a string tensor's buffer
// holds std::string objects that must be constructed, copied and compared element by
// element, so a kernel supports strings by listing std::string (and its op by declaring
// .supports_strings(), see ops/registry.h) explicitly.
//
// Each list instantiates a kernel once per type, so the lists are chosen per op family
// (compile time and binary size grow with every type; README "Element types" has the
// matrix):
// - FLOAT: float32/64, the types of everything differentiable.
// - NUMERIC: the five numeric types Sluice started with. Kept as it was so that kernels
//   written against it keep compiling and meaning the same; new kernels that make sense
//   for every integer width should use REAL.
// - EXTRA_INT: the integer types added for TensorFlow and ONNX graphs.
// - REAL: every real number type: NUMERIC + EXTRA_INT (TensorFlow's realnumbertypes).
// - ALL: every fixed-size type: REAL + bool (data movement, casts, equality, fill).
#define SLUICE_FLOAT_TYPES float, double
#define SLUICE_NUMERIC_TYPES float, double, int32_t, int64_t, uint8_t
#define SLUICE_EXTRA_INT_TYPES int8_t, int16_t, uint16_t, uint32_t, uint64_t
#define SLUICE_REAL_TYPES SLUICE_NUMERIC_TYPES, SLUICE_EXTRA_INT_TYPES
#define SLUICE_ALL_TYPES SLUICE_REAL_TYPES, bool

}  // namespace sluice
