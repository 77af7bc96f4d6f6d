// Flush-to-zero for the duration of a scope. Subnormal floats (|x| < 1.2e-38) are up to
// 100x slower on x86, and training produces them (Adam's second moments decay toward
// zero); like TensorFlow, kernels run with FTZ/DAZ set and the caller's mode restored.
#pragma once

namespace sluice {

class ScopedFlushDenormal {
 public:
  ScopedFlushDenormal();
  ~ScopedFlushDenormal();
  ScopedFlushDenormal(const ScopedFlushDenormal&) = delete;
  ScopedFlushDenormal& operator=(const ScopedFlushDenormal&) = delete;

 private:
  unsigned saved_ = 0;
};

}  // namespace sluice
