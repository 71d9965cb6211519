// Token sampling with temperature, top-k and top-p from explicit per-row uniforms, so every completion
// has its own seed and its tokens do not depend on which other rows share the batch.
//
// The behaviour log-prob recorded for a token is log softmax(logits / temperature)[token], the full
// (untruncated) distribution — what TRL and veRL recompute in the trainer, so the two agree exactly.
// Legend: B rows, V vocab.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace aha::rollout {

struct SamplingConfig {
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;        // (0, 1]
  int64_t top_k = 0;         // 0: off
};

struct Sampled {
  torch::Tensor tokens_B;    // int64
  torch::Tensor logprobs_B;  // float32 behaviour log-probs
};

// logits_BV float, uniforms_B float64 in [0, 1). Inverse-CDF draw: with top-p and top-k off, over the
// whole vocabulary in token order (no sort, O(V)); with either on, over the kept tokens in descending
// probability order (stable sort, so ties resolve by token id). Both draw from the same distribution;
// for one uniform they may pick different tokens.
Sampled sample_tokens(const torch::Tensor& logits_BV, const torch::Tensor& uniforms_B, const SamplingConfig& config);

// Counter-based uniform in [0, 1) for (seed, step): SplitMix64 of the pair; the same on every machine.
double seeded_uniform(uint64_t seed, uint64_t step);

}  // namespace aha::rollout
