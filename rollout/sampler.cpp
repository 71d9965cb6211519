// Sampling; see sampler.h.
#include "rollout/sampler.h"

#include <torch/torch.h>

namespace aha::rollout {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

double seeded_uniform(uint64_t seed, uint64_t step) {
  uint64_t bits = splitmix64(splitmix64(seed) ^ (step * 0xD1B54A32D192ED03ull + 1));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

Sampled sample_tokens(const torch::Tensor& logits_BV, const torch::Tensor& uniforms_B, const SamplingConfig& config) {
  auto logits = logits_BV.to(torch::kFloat);
  if (config.temperature <= 0.0) {  // greedy: log-probs at temperature 1
    auto tokens = logits.argmax(/*dim=*/-1);
    auto logprobs = torch::log_softmax(logits, -1).gather(1, tokens.unsqueeze(1)).squeeze(1);
    return {tokens, logprobs};
  }
  auto logprobs_BV = torch::log_softmax(logits / config.temperature, /*dim=*/-1);
  const int64_t V = logprobs_BV.size(1);
  if (config.top_p >= 1.0 && (config.top_k <= 0 || config.top_k >= V)) {
    // nothing is cut: the inverse CDF runs over the vocabulary in token order, O(V), no sort
    auto p = logprobs_BV.exp().to(torch::kDouble);  // [B, V]
    auto cdf = p.cumsum(/*dim=*/-1);
    auto total = cdf.narrow(1, V - 1, 1);                                 // [B, 1]
    auto target = uniforms_B.to(torch::kDouble).unsqueeze(1) * total;     // [B, 1]
    auto choice = (cdf <= target).sum(/*dim=*/-1);  // first index with cdf > target
    // u·total can round up to total: then take the first index where the cdf reaches the total, a token
    // with mass (the cdf rose there), never a zero-probability one after it
    auto tokens = torch::minimum(choice, (cdf < total).sum(/*dim=*/-1));
    auto logprobs = logprobs_BV.gather(1, tokens.unsqueeze(1)).squeeze(1);
    return {tokens, logprobs};
  }
  auto [sorted_lp, sorted_idx] = logprobs_BV.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/true);
  auto sorted_p = sorted_lp.exp().to(torch::kDouble);  // [B, V]
  auto keep = torch::ones_like(sorted_p, torch::kBool);
  if (config.top_k > 0 && config.top_k < V)
    keep &= torch::arange(V, sorted_idx.options()).unsqueeze(0) < config.top_k;
  if (config.top_p < 1.0) {
    auto before = sorted_p.cumsum(-1) - sorted_p;  // mass strictly above each token; the top token always stays
    keep &= before < config.top_p;
  }
  auto cdf = (sorted_p * keep).cumsum(/*dim=*/-1);                         // [B, V]
  auto target = uniforms_B.to(torch::kDouble).unsqueeze(1) * cdf.narrow(1, V - 1, 1);  // [B, 1]
  auto choice = (cdf <= target).sum(/*dim=*/-1).clamp_max(V - 1);          // first index with cdf > target
  // never pick a dropped token (possible only through rounding at the tail)
  auto last_kept = keep.sum(-1) - 1;
  choice = torch::minimum(choice, last_kept);
  auto tokens = sorted_idx.gather(1, choice.unsqueeze(1)).squeeze(1);
  auto logprobs = logprobs_BV.gather(1, tokens.unsqueeze(1)).squeeze(1);
  return {tokens, logprobs};
}

}  // namespace aha::rollout
