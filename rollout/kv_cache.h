// The rollout cache, pre-allocated once per rollout batch, two tensors per layer stack:
//   first  [L, B, S, W1]    MLA: c_kv after kv_a_layernorm (W1 = C = kv_lora_rank)
//                           GQA: keys after k_norm and RoPE (W1 = Hkv·Dh)
//   second [L, B, S, W2]    MLA: k_pe after RoPE (W2 = R = qk_rope_head_dim)
//                           GQA: values (W2 = Hkv·Dh)
// (ModelConfig::cache_widths, policy/cache_entry.h.) MLA stores (C + R) values per token per layer instead
// of 2·H·head_dim for MHA. Row b of a group shares its prompt prefix with the other rows of the group: the
// prompt is prefilled once and copied G times.
#pragma once

#include <vector>

#include <torch/types.h>

#include "policy/cache_entry.h"
#include "policy/config.h"

namespace aha::rollout {

struct KvCache {
  torch::Tensor first;   // [L, B, S, W1]
  torch::Tensor second;  // [L, B, S, W2]

  static KvCache allocate(const policy::ModelConfig& config, int64_t rows, int64_t positions,
                          const torch::TensorOptions& options);

  // entries: per layer [P, T, W1] / [P, T, W2] from one prefill of P prompts; row p*G + g gets prompt p.
  void fill_prefix(const std::vector<policy::CacheEntry>& entries, int64_t group_size);
};

}  // namespace aha::rollout
