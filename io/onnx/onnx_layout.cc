// Layout helpers: the channels-last permutation the importer holds convolution outputs in,
// and an any-dtype tensor transpose used to fold weight layouts at import time.
#include <cstring>

#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

std::vector<int64_t> perm_to_cl(int rank) {
  std::vector<int64_t> p{0};
  for (int i = 2; i < rank; ++i) p.push_back(i);
  if (rank >= 2) p.push_back(1);
  return p;
}

std::vector<int64_t> perm_from_cl(int rank) {
  std::vector<int64_t> p{0};
  if (rank >= 2) p.push_back(rank - 1);
  for (int i = 1; i + 1 < rank; ++i) p.push_back(i);
  return p;
}

int64_t cl_axis(int64_t axis, int rank) {
  if (rank < 3 || axis == 0) return axis;
  return axis == 1 ? rank - 1 : axis - 1;
}

Shape permute_shape(const Shape& shape, const std::vector<int64_t>& perm) {
  if (!shape.known_rank()) return shape;
  std::vector<int64_t> d;
  for (int64_t p : perm) d.push_back(shape.dim(static_cast<int>(p)));
  return Shape(d);
}

bool transpose_is_reshape(const Shape& shape, const std::vector<int64_t>& perm) {
  if (!shape.known_rank() || shape.rank() != static_cast<int>(perm.size())) return false;
  // The order of the dims that are not 1 must be unchanged.
  int64_t last = -1;
  for (int64_t p : perm) {
    const int64_t d = shape.dim(static_cast<int>(p));
    if (d == 1) continue;
    if (p < last) return false;  // an unknown dim counts as "not 1"
    last = p;
  }
  return true;
}

Tensor transpose_tensor(const Tensor& t, const std::vector<int64_t>& perm) {
  const int r = t.rank();
  SLUICE_REQUIRE(static_cast<int>(perm.size()) == r, InvalidArgument, "transpose_tensor: perm of ", perm.size(),
                 " for rank ", r);
  const Shape out_shape = permute_shape(t.shape(), perm);
  Tensor out(t.dtype(), out_shape);
  const size_t es = dtype_size(t.dtype());
  const int64_t n = t.num_elements();
  if (n == 0) return out;
  // Input strides in elements, then walk the output in order with an odometer over its
  // index, adding the input stride of each permuted axis.
  std::vector<int64_t> in_stride(static_cast<size_t>(r), 1);
  for (int i = r - 2; i >= 0; --i) in_stride[i] = in_stride[i + 1] * t.dim(i + 1);
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    std::memcpy(dst + k * static_cast<int64_t>(es), src + off * static_cast<int64_t>(es), es);
    for (int i = r - 1; i >= 0; --i) {
      off += in_stride[perm[i]];
      if (++idx[i] < out_shape.dim(i)) break;
      off -= in_stride[perm[i]] * out_shape.dim(i);
      idx[i] = 0;
    }
  }
  return out;
}

}  // namespace sluice::io::onnx_detail
