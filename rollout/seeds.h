// Seeds derived from one run seed, so every completion's randomness is explicit and reproducible:
// sample_seed(run_seed, prompt, sample) is independent of batch size and of which rows share a batch.
#pragma once

#include <cstdint>

namespace aha::rollout {

inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t sample_seed(uint64_t run_seed, uint64_t prompt, uint64_t sample) {
  return mix64(mix64(mix64(run_seed) ^ prompt) ^ (sample + 0x632BE59BD9B4E019ull));
}

}  // namespace aha::rollout
