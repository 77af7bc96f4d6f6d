// Internal: Philox4x32-10, the counter-based generator TensorFlow uses for its random ops.
// Counter-based means element i of run r is a pure function of (key, r, i): generation
// splits across threads without changing the numbers.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace sluice::philox {

using Block = std::array<uint32_t, 4>;

inline Block generate(Block ctr, std::array<uint32_t, 2> key) {
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57, kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{kM0} * ctr[0], p1 = uint64_t{kM1} * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(p0)};
    key[0] += kW0;
    key[1] += kW1;
  }
  return ctr;
}

// A stream for one run of one random op: (seed, seed2) pick the key, `run` the sequence.
struct Stream {
  std::array<uint32_t, 2> key;
  uint64_t run;

  Stream(int64_t seed, int64_t seed2, uint64_t run_index) : run(run_index) {
    // Mix both seeds into the 64-bit key (splitmix64 finaliser).
    uint64_t z = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(seed2);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    key = {static_cast<uint32_t>(z), static_cast<uint32_t>(z >> 32)};
  }
  // Four 32-bit words for block `i` of this run.
  Block block(uint64_t i) const {
    return generate({static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32),
                     static_cast<uint32_t>(run), static_cast<uint32_t>(run >> 32)},
                    key);
  }
};

// Bulk generation for elementwise random numbers. `count` blocks starting at block
// `first` (both multiples of 8) fill out[0 .. 4*count) in vector order: element
// 32*g + 8*w + l is word w of block first + 8*g + l. (So each vector of 8 blocks' word w is
// stored contiguously, without shuffling lanes.) The rounds form a long dependency chain,
// so several independent vectors are kept in flight.
inline void generate_words_portable(const Stream& s, uint64_t first, int64_t count, uint32_t* out) {
  using V = uint64_t __attribute__((vector_size(64)));  // 8 lanes; 32-bit values in 64-bit lanes
  using W = uint32_t __attribute__((vector_size(32)));
  constexpr uint64_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57, kLow = 0xFFFFFFFF;
  constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  const V lane = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int64_t base = 0; base < count; base += 8) {
    const V idx = lane + (first + static_cast<uint64_t>(base));
    V c0 = idx & kLow, c1 = idx >> 32;
    V c2 = (idx & 0) + (s.run & kLow), c3 = (idx & 0) + (s.run >> 32);
    uint32_t k0 = s.key[0], k1 = s.key[1];
    for (int round = 0; round < 10; ++round) {
      const V p0 = c0 * kM0, p1 = c2 * kM1;  // 32x32 -> 64-bit products
      const V n0 = (p1 >> 32) ^ c1 ^ static_cast<uint64_t>(k0);
      const V n2 = (p0 >> 32) ^ c3 ^ static_cast<uint64_t>(k1);
      c1 = p1 & kLow;
      c3 = p0 & kLow;
      c0 = n0;
      c2 = n2;
      k0 += kW0;
      k1 += kW1;
    }
    const W w[4] = {__builtin_convertvector(c0, W), __builtin_convertvector(c1, W),
                    __builtin_convertvector(c2, W), __builtin_convertvector(c3, W)};
    for (int j = 0; j < 4; ++j) std::memcpy(out + 4 * base + 8 * j, &w[j], sizeof(W));
  }
}

// GCC 12 reports "'__Y' may be used uninitialized" inside avx512fintrin.h for intrinsics
// built on _mm512_undefined_*() (GCC bug 105593): a false positive, silenced for this
// function only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
inline void generate_words(const Stream& s, uint64_t first, int64_t count, uint32_t* out) {
#if defined(__AVX512F__)
  constexpr int kVectors = 4;  // 4 x 8 blocks in flight
  const __m512i m0 = _mm512_set1_epi64(0xD2511F53), m1 = _mm512_set1_epi64(0xCD9E8D57);
  const __m512i low = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i run_lo = _mm512_set1_epi64(static_cast<int64_t>(s.run & 0xFFFFFFFF));
  const __m512i run_hi = _mm512_set1_epi64(static_cast<int64_t>(s.run >> 32));
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  int64_t base = 0;
  for (; base + 8 * kVectors <= count; base += 8 * kVectors) {
    __m512i c0[kVectors], c1[kVectors], c2[kVectors], c3[kVectors];
    for (int v = 0; v < kVectors; ++v) {
      const __m512i idx =
          _mm512_add_epi64(lane, _mm512_set1_epi64(static_cast<int64_t>(first + base + 8 * v)));
      c0[v] = _mm512_and_si512(idx, low);
      c1[v] = _mm512_srli_epi64(idx, 32);
      c2[v] = run_lo;
      c3[v] = run_hi;
    }
    uint32_t k0 = s.key[0], k1 = s.key[1];
    for (int round = 0; round < 10; ++round) {
      const __m512i key0 = _mm512_set1_epi64(k0), key1 = _mm512_set1_epi64(k1);
      for (int v = 0; v < kVectors; ++v) {
        const __m512i p0 = _mm512_mul_epu32(c0[v], m0), p1 = _mm512_mul_epu32(c2[v], m1);
        const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1[v]), key0);
        const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3[v]), key1);
        c1[v] = _mm512_and_si512(p1, low);
        c3[v] = _mm512_and_si512(p0, low);
        c0[v] = n0;
        c2[v] = n2;
      }
      k0 += 0x9E3779B9;
      k1 += 0xBB67AE85;
    }
    for (int v = 0; v < kVectors; ++v) {
      uint32_t* o = out + 4 * (base + 8 * v);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm512_cvtepi64_epi32(c0[v]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), _mm512_cvtepi64_epi32(c1[v]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 16), _mm512_cvtepi64_epi32(c2[v]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 24), _mm512_cvtepi64_epi32(c3[v]));
    }
  }
  if (base < count) generate_words_portable(s, first + base, count - base, out + 4 * base);
#else
  generate_words_portable(s, first, count, out);
#endif
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Uniform in [0, 1) from 24 (float) or 53 (double, two words) random bits.
inline float to_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
inline double to_double(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (uint64_t{hi} << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Two standard normals from two uniforms (Box-Muller).
inline void box_muller(double u1, double u2, double& z0, double& z1) {
  const double r = std::sqrt(-2.0 * std::log(u1 > 0 ? u1 : 1e-300));
  const double t = 6.283185307179586 * u2;
  z0 = r * std::cos(t);
  z1 = r * std::sin(t);
}

}  // namespace sluice::philox
