// libFuzzer target: the IDX reader (io/idx.h) on arbitrary bytes, plain or gzip-compressed
// (detected by content), and the helpers that consume what it returns (scale_images,
// one_hot_labels, gather_rows). Every failure must be a typed sluice::Error other than
// Internal; a tensor read holds exactly the elements its header declares.
#include "fuzz_util.h"

namespace sluice::fuzz::idx {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  MemFile file(data, size);
  Tensor t;
  try {
    t = io::read_idx(file.path());
  } catch (const Error& e) {
    expect_typed(e);
    return 0;
  }
  SLUICE_FUZZ_CHECK(t.valid() && t.rank() >= 1);
  // The data after the header is exactly the tensor's elements (for plain files).
  if (size >= 2 && !(data[0] == 0x1f && data[1] == 0x8b)) {
    const size_t esize = size >= 3 && data[2] == 0x0B ? 2 : size >= 3 && data[2] == 0x09 ? 1 : dtype_size(t.dtype());
    SLUICE_FUZZ_CHECK(size == 4 + 4 * static_cast<size_t>(t.rank()) + t.num_elements() * esize);
  }
  try {
    if (t.dtype() == DType::u8) io::scale_images(t);
    if (t.rank() == 1) io::one_hot_labels(t, 10);
    if (t.dim(0) > 0) io::gather_rows(t, {t.dim(0) - 1, 0}, 0, 2);
  } catch (const Error& e) {
    expect_typed(e);
  }
  return 0;
}

}  // namespace sluice::fuzz::idx

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::idx::run(data, size);
}
#endif
