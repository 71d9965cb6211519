// What one attention layer contributes to the rollout cache for the tokens of a forward call: two
// tensors per token whose meaning depends on the attention kind (ModelConfig::cache_widths gives widths).
//   MLA: first = c_kv after kv_a_layernorm [B, T, C]     second = k_pe after RoPE [B, T, R]
//   GQA: first = keys after k_norm and RoPE [B, T, Hkv·Dh]  second = values [B, T, Hkv·Dh]
// MLA caches (C + R) values per token per layer; GQA 2·Hkv·Dh.
#pragma once

#include <torch/types.h>

namespace aha::policy {

struct CacheEntry {
  torch::Tensor first;
  torch::Tensor second;
};

}  // namespace aha::policy
