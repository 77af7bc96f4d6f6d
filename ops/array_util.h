// Internal helpers shared by the array-family op files (array_ops.cc, shape_ops.cc and the
// indexing families): byte copies, element-size dispatch, index reading. Not public API.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "kernel_util.h"

namespace sluice::kernels {

// Copies `bytes` bytes, skipping the call for empty copies (null pointers are allowed then).
inline void copy_bytes(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

// Element-size-generic work: calls f with an unsigned integer type of dtype's size. Data
// movement (copies, permutations, selections) only needs the element size, so every dtype
// with a fixed size flows through one instantiation per size. A string dtype throws
// InvalidArgument (dtype_size): kernels that move strings use by_element_storage instead.
template <class F>
void by_element_size(DType dtype, F&& f) {
  switch (dtype_size(dtype)) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    case 8: f(uint64_t{}); break;
    default: throw Internal("unexpected element size");
  }
}

// by_element_size, or f(std::string) for string tensors, whose buffers hold std::string
// objects that must be assigned element by element, never byte-copied. Only kernels of ops
// that declare .supports_strings() use it (the others never see a string, registry.h), and
// only where no element is repeated or the kernel has checked the bytes it will copy first
// (Select): repeated strings must stay within max_allocation_bytes(), see ElementCopier.
template <class F>
void by_element_storage(DType dtype, F&& f) {
  if (dtype == DType::string) return f(std::string{});
  by_element_size(dtype, std::forward<F>(f));
}

// Product of dims [b, e) of a run-time shape.
inline int64_t dims_product(const Shape& s, int b, int e) {
  int64_t n = 1;
  for (int i = b; i < e; ++i) n *= s.dim(i);
  return n;
}

// Requires input i to be an int32 or int64 index tensor.
inline void require_index_dtype(const ShapeContext& ctx, int i) {
  const DType d = ctx.input_dtype(i);
  SLUICE_REQUIRE(d == DType::i32 || d == DType::i64, InvalidArgument, "indices (input ", i,
                 ") must be int32 or int64, got ", dtype_name(d));
}

// Reads index i of an int32/int64 tensor as int64.
inline int64_t index_at(const Tensor& idx, int64_t i) {
  return idx.dtype() == DType::i32 ? idx.data<int32_t>()[i] : idx.data<int64_t>()[i];
}

// Fill values and OneHot's on/off values are double attrs converted to the output dtype:
// converting a NaN, infinite or out-of-range double to an integer type is undefined
// behaviour, so such values are rejected when the node is built.
inline void require_representable(const ShapeContext& ctx, const char* attr, DType dtype) {
  if (!is_integer(dtype)) return;  // float types take any double (overflow gives inf); bool any
  const double v = ctx.attr<double>(attr);
  dispatch<SLUICE_REAL_TYPES>(dtype, "Fill", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // [lowest, 2^digits): both bounds are exact doubles.
    const double hi_excl = std::ldexp(1.0, std::numeric_limits<T>::digits);
    const double lo = std::is_signed_v<T> ? -hi_excl : 0.0;
    SLUICE_REQUIRE(v >= lo && v < hi_excl, InvalidArgument, attr, " ", v,
                   " is not representable as ", dtype_name(dtype));
  });
}

}  // namespace sluice::kernels
