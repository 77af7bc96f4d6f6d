// What a shape function can know, before anything runs, about a small integer vector
// given as a tensor (a target shape, slice begin/size, tile multiples, a permutation):
// TensorFlow and ONNX pass these as tensors that are often constants, and sometimes
// computed from a Shape op (Keras' Flatten builds Shape -> StridedSlice -> Pack -> Reshape).
// Internal to the op families; not public API.
#pragma once

#include <optional>
#include <vector>

#include "registry.h"

namespace sluice::kernels {

// One element of such a vector: a known value, or the (static, possibly unknown) size of
// dimension `dim` of tensor `of` (it came from Shape(of)), or nothing known.
struct StaticElem {
  bool known = false;
  int64_t value = 0;
  Output of;  // valid when the element is the size of of's dim `dim`
  int dim = -1;
};

// The elements of the int32/int64 scalar or vector `t`, as far as the graph shows them
// without running it: Const values; Shape(x) as x's static dims; Identity, Cast between
// integer types, Pack and Concat (axis 0), Gather (axis 0) and StridedSlice with constant
// arguments applied to those. nullopt when not even the length is known.
std::optional<std::vector<StaticElem>> static_int_vector(const Output& t);

// The values of `t` when every element is known, else nullopt.
std::optional<std::vector<int64_t>> static_int_values(const Output& t);

// The static length of a 1-D (or scalar: 1) int tensor input, or -1 when unknown.
int64_t static_length(const Output& t);

// Reads an int32/int64 tensor of rank <= 1 as int64 values; InvalidArgument naming `what`
// for another dtype or rank.
std::vector<int64_t> int_values(const Tensor& t, const char* what);

// Requires input i of a shape function to be an int32/int64 tensor of rank <= max_rank.
void require_int_vector_input(const ShapeContext& ctx, int i, const char* what, int max_rank = 1);

}  // namespace sluice::kernels
