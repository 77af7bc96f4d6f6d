// <Eigen/Core> and Eigen's special functions (erf, lgamma, ...) for the kernels, included
// through here so one GCC false positive is silenced narrowly. GCC 12 compiling for AVX-512
// (-march=skylake-avx512 or a native AVX-512 CPU) reports "'__Y' may be used uninitialized"
// (and, on a Zen 5, "'__Y' is used uninitialized") inside avx512fintrin.h for every intrinsic
// built on _mm512_undefined_*() (GCC bug 105593), about 770 times through Eigen's AVX-512
// packet code. Every Eigen include of the library goes through here, so that this header is
// the first to pull in the intrinsics. The pragma covers Eigen's own headers only: their
// templates keep the setting where they are instantiated, while Sluice's code keeps the
// warning. Clang does not have the bug.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
