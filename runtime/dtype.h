// Element types of tensors and the compile-time mapping between C++ types and DType.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "error.h"

namespace sluice {

enum class DType : uint8_t {
  f32,
  f64,
  i32,
  i64,
  u8,
  boolean,
  string,  // reserved: declared so formats and APIs have room for it; no kernels yet
};

// "float32", "float64", "int32", "int64", "uint8", "bool", "string".
const char* dtype_name(DType dtype);
// Parses the names above; throws InvalidArgument for anything else.
DType dtype_from_name(const std::string& name);
[[noreturn]] void throw_no_size(DType dtype);
// Bytes per element; throws Unimplemented for string.
inline size_t dtype_size(DType dtype) {
  constexpr size_t kSizes[] = {4, 8, 4, 8, 1, 1};
  const auto i = static_cast<size_t>(dtype);
  if (i >= sizeof(kSizes) / sizeof(kSizes[0])) throw_no_size(dtype);
  return kSizes[i];
}
bool is_floating(DType dtype);
bool is_integer(DType dtype);  // i32, i64, u8
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

#define SLUICE_FLOAT_TYPES float, double
#define SLUICE_NUMERIC_TYPES float, double, int32_t, int64_t, uint8_t
#define SLUICE_ALL_TYPES float, double, int32_t, int64_t, uint8_t, bool

}  // namespace sluice
