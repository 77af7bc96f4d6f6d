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
