// Deterministic randomness and hashing for the synthetic tasks: splitmix64 (seeding), xoshiro256**
// (the stream) and FNV-1a 64 (the train/test split). Deliberately not <random>'s distributions: their
// output differs between standard libraries, and a data set must be the same bytes on every machine.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace aha::datasets {

// One step of splitmix64 (Steele, Lea, Flood 2014); advances `state` and returns the mixed value.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Combines a user seed with a second value (a split, a question hash) into an independent stream seed,
// so that nearby seeds or equal seeds for different problems do not give correlated streams.
inline uint64_t mix_seed(uint64_t seed, uint64_t salt) {
  uint64_t s = salt;
  uint64_t t = seed ^ splitmix64(s);
  return splitmix64(t);
}

// FNV-1a, 64-bit: tiny, fixed by its spec, so the split never changes under a compiler or library update.
inline uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// xoshiro256** (Blackman, Vigna 2018), state filled from splitmix64 as its authors recommend.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) word = splitmix64(seed);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [lo, hi], both inclusive; rejection sampling so there is no modulo bias. Requires lo <= hi.
  int64_t uniform_int(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;  // 0 means all 2^64
    if (span == 0) return static_cast<int64_t>(next());
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % span;
    uint64_t x = next();
    while (x >= limit) x = next();
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % span);
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // True with probability p; p <= 0 is never and p >= 1 is always (uniform01 never returns 1).
  bool bernoulli(double p) { return uniform01() < p; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace aha::datasets
