// libFuzzer target: the NumPy readers (io/npz.h) on arbitrary bytes: read_npz (zip
// archives: stored and deflated entries, ZIP64 records and extra fields), read_npy and
// decode_npy (one .npy array from a file and from memory). Every failure must be a typed
// sluice::Error other than Internal; beyond that:
//   - read_npy and decode_npy agree (both succeed with equal tensors, or fail alike),
//   - every array read re-encodes (encode_npy) and decodes back to an equal tensor,
//   - an archive that read_npz accepts is written back by write_npz (stored or deflated)
//     and read again unchanged.
#include <optional>

#include "fuzz_util.h"

namespace sluice::fuzz::npz {

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

inline void check_reencodes(const Tensor& t) {
  const Tensor back = io::decode_npy(io::encode_npy(t), "re-encoded array");
  SLUICE_FUZZ_CHECK(back.equals(t));
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  MemFile file(bytes);

  std::optional<std::vector<std::pair<std::string, Tensor>>> arrays;
  try {
    arrays = io::read_npz(file.path());
  } catch (const Error& e) {
    expect_typed(e);
  }
  if (arrays) {
    for (size_t i = 0; i < arrays->size(); ++i) {
      check_reencodes((*arrays)[i].second);
      for (size_t j = 0; j < i; ++j) SLUICE_FUZZ_CHECK((*arrays)[i].first != (*arrays)[j].first);
    }
    // Names read from a zip are arbitrary bytes; write_npz takes any non-empty unique name.
    bool writable = true;
    for (const auto& [name, t] : *arrays) writable = writable && !name.empty();
    if (writable) {
      const std::string copy = scratch_dir() + "/roundtrip.npz";
      io::write_npz(copy, *arrays, /*compress=*/size % 2 == 1);
      const auto again = io::read_npz(copy);
      SLUICE_FUZZ_CHECK(again.size() == arrays->size());
      for (size_t i = 0; i < again.size(); ++i)
        SLUICE_FUZZ_CHECK(again[i].first == (*arrays)[i].first && again[i].second.equals((*arrays)[i].second));
    }
  }

  std::optional<Tensor> from_file, from_memory;
  std::optional<ErrorCode> file_error, memory_error;
  try {
    from_file = io::read_npy(file.path());
  } catch (const Error& e) {
    expect_typed(e);
    file_error = e.code();
  }
  try {
    from_memory = io::decode_npy(bytes, "fuzz input");
  } catch (const Error& e) {
    expect_typed(e);
    memory_error = e.code();
  }
  SLUICE_FUZZ_CHECK(from_file.has_value() == from_memory.has_value());
  SLUICE_FUZZ_CHECK(file_error == memory_error);
  if (from_file) {
    SLUICE_FUZZ_CHECK(from_file->equals(*from_memory));
    check_reencodes(*from_file);
  }
  return 0;
}

}  // namespace sluice::fuzz::npz

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::npz::run(data, size);
}
#endif
