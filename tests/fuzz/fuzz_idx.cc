// libFuzzer target: the IDX reader on arbitrary bytes (plain or gzip). Every failure must be
// a typed sluice::Error.
#include <sluice/sluice.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::fuzz::MemFile file(data, size);
  try {
    sluice::Tensor t = sluice::io::read_idx(file.path());
    (void)t.num_elements();
  } catch (const sluice::Error&) {
  }
  return 0;
}
