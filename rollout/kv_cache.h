// The MLA latent cache, pre-allocated once per rollout batch:
//   kv   [L, B, S, C]  c_kv after kv_a_layernorm   (C = kv_lora_rank)
//   rope [L, B, S, R]  k_pe after RoPE             (R = qk_rope_head_dim)
// i.e. (C + R) values per token per layer instead of 2·H·head_dim for MHA. Row b of a group shares its
// prompt prefix with the other rows of the group: the prompt is prefilled once and copied G times.
#pragma once

#include <vector>

#include <torch/types.h>

#include "policy/config.h"
#include "policy/mla.h"

namespace aha::rollout {

struct LatentCache {
  torch::Tensor kv;    // [L, B, S, C]
  torch::Tensor rope;  // [L, B, S, R]

  static LatentCache allocate(const policy::ModelConfig& config, int64_t rows, int64_t positions,
                              const torch::TensorOptions& options);

  // latents: per layer [P, T, C] / [P, T, R] from one prefill of P prompts; row p*G + g gets prompt p.
  void fill_prefix(const std::vector<policy::MlaLatent>& latents, int64_t group_size);
};

}  // namespace aha::rollout
