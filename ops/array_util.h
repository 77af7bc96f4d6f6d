// Internal helpers shared by the array-family op files (array_ops.cc, shape_ops.cc and the
// indexing families): byte copies, element-size dispatch, index reading. Not public API.
#pragma once

#include <cstring>

#include "kernel_util.h"

namespace sluice::kernels {

// Copies `bytes` bytes, skipping the call for empty copies (null pointers are allowed then).
inline void copy_bytes(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}

// Element-size-generic work: calls f with an unsigned integer type of dtype's size. Data
// movement (copies, permutations, selections) only needs the element size, so every dtype
// with a fixed size flows through one instantiation per size.
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
  const double v = ctx.attr<double>(attr);
  double lo = 0, hi_excl = 0;
  switch (dtype) {
    case DType::i32: lo = -2147483648.0, hi_excl = 2147483648.0; break;
    case DType::i64: lo = -9223372036854775808.0, hi_excl = 9223372036854775808.0; break;
    case DType::u8: lo = 0.0, hi_excl = 256.0; break;
    default: return;  // float types take any double (overflow gives inf); bool any value
  }
  SLUICE_REQUIRE(v >= lo && v < hi_excl, InvalidArgument, attr, " ", v, " is not representable as ",
                 dtype_name(dtype));
}

}  // namespace sluice::kernels
