// Internal: Philox4x32-10, the counter-based generator TensorFlow uses for its random ops.
// Counter-based means element i of run r is a pure function of (key, r, i): generation
// splits across threads without changing the numbers.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

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

// The words of blocks [first, first + count) of `s` into out[0 .. 4*count), block b at
// out[4*(b-first)]: the same numbers as s.block(b), eight blocks at a time in vector
// registers (GCC/Clang vector extensions: AVX-512, AVX2 or SSE, whatever the target has).
inline void generate_words(const Stream& s, uint64_t first, int64_t count, uint32_t* out) {
  using V = uint64_t __attribute__((vector_size(64)));  // 8 lanes; 32-bit values in 64-bit lanes
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
    const int n = static_cast<int>(count - base < 8 ? count - base : 8);
    for (int l = 0; l < n; ++l) {
      uint32_t* o = out + 4 * (base + l);
      o[0] = static_cast<uint32_t>(c0[l]);
      o[1] = static_cast<uint32_t>(c1[l]);
      o[2] = static_cast<uint32_t>(c2[l]);
      o[3] = static_cast<uint32_t>(c3[l]);
    }
  }
}

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
