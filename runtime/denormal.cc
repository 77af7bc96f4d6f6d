#include "denormal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define SLUICE_HAS_MXCSR 1
#endif

namespace sluice {

#ifdef SLUICE_HAS_MXCSR
namespace {
constexpr unsigned kFlushZero = 0x8000;     // FTZ: results that would be subnormal become 0
constexpr unsigned kDenormalsZero = 0x0040;  // DAZ: subnormal inputs read as 0
}  // namespace

ScopedFlushDenormal::ScopedFlushDenormal() : saved_(_mm_getcsr()) {
  _mm_setcsr(saved_ | kFlushZero | kDenormalsZero);
}
ScopedFlushDenormal::~ScopedFlushDenormal() { _mm_setcsr(saved_); }
#else
ScopedFlushDenormal::ScopedFlushDenormal() {}
ScopedFlushDenormal::~ScopedFlushDenormal() {}
#endif

}  // namespace sluice
