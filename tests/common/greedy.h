// Test helper: greedy decoding as the rollout engine does it — one prefill of the prompt, then one cached
// decode step per token over rollout::KvCache (absorbed MLA latents or GQA keys/values). The ids are fed
// directly: random fixture ids need not survive a detokenise/retokenise round trip.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "policy/checkpoint.h"
#include "rollout/kv_cache.h"

namespace aha::testing {

inline std::vector<int64_t> greedy_over_cache(policy::LoadedPolicy& policy, const torch::Tensor& prompt_T,
                                              int64_t new_tokens) {
  torch::NoGradGuard no_grad;
  const int64_t T = prompt_T.size(0);
  std::vector<policy::CacheEntry> entries;
  policy::ForwardOptions options;
  options.latents = &entries;
  auto h = policy.model->hidden_states(prompt_T.unsqueeze(0), torch::arange(T, torch::kLong).unsqueeze(0), options);
  auto cache = rollout::KvCache::allocate(policy.config, 1, T + new_tokens, torch::kFloat);
  cache.fill_prefix(entries, /*group_size=*/1);
  auto logits = policy.model->logits(h.select(1, T - 1));
  std::vector<int64_t> tokens;
  for (int64_t t = 0; t < new_tokens; ++t) {
    auto next = logits.argmax(-1);
    tokens.push_back(next.item<int64_t>());
    logits = policy.model->decode_logits(next, torch::full({1}, T + t, torch::kLong), cache.first, cache.second);
  }
  return tokens;
}

// The first n ids of an int64 tensor.
inline std::vector<int64_t> first_ids(const torch::Tensor& ids, int64_t n) {
  auto flat = ids.reshape({-1}).contiguous();
  return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + n);
}

}  // namespace aha::testing
