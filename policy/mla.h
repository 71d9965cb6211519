// Multi-head Latent Attention (DeepSeek-V2/V3), spec §1.4.2 and §1.4.4.
//
// Legend: B batch, T tokens in this call, S cached positions, D hidden, H heads, C kv_lora_rank,
// R qk_rope_head_dim, Dn qk_nope_head_dim, Dv v_head_dim.
//
// Two forms of the same attention:
//  - naive (training and prefill): materialise k_nope and v per head from the latent c_kv, causal over T;
//  - absorbed (decode): fold W_UK into the query and W_UV after the softmax, attending directly over a
//    cache that holds only c_kv [B, S, C] and the shared k_pe [B, S, R]. A test holds them together.
// The naive form's attention itself runs one of two ways (config.attn_implementation): "eager" builds the
// [B, H, T, T] scores (kept for backward), "sdpa" calls the fused at::scaled_dot_product_attention, which
// keeps only the output and a log-sum-exp per row. tests/policy/test_sdpa.cpp holds sdpa to eager.
#pragma once

#include <torch/nn/module.h>

#include "policy/cache_entry.h"
#include "policy/config.h"
#include "policy/linear.h"
#include "policy/rmsnorm.h"

namespace aha::policy {

struct MlaImpl : torch::nn::Module {
  explicit MlaImpl(const ModelConfig& config);

  // Naive form. x [B, T, D], cos/sin [B, T, R/2] -> [B, T, D]. Causal within the T tokens (right padding
  // is harmless: a real token never attends to a later pad). Fills *latent_out with c_kv [B, T, C] and
  // k_pe [B, T, R] when given.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        CacheEntry* latent_out = nullptr);

  // Absorbed form for one new token per row. x [B, 1, D], cos/sin [B, 1, R/2], positions_B [B];
  // writes this token's c_kv / k_pe at positions_B into kv_cache [B, S, C] / rope_cache [B, S, R] and
  // attends over cached positions <= positions_B. -> [B, 1, D]
  torch::Tensor decode(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                       const torch::Tensor& positions_B, torch::Tensor& kv_cache, torch::Tensor& rope_cache);

  int64_t n_heads, q_lora_rank, kv_lora_rank, nope_dim, rope_dim, v_dim;
  double softmax_scale;
  bool use_sdpa;  // attn_implementation == "sdpa"
  Linear q_a_proj{nullptr}, q_b_proj{nullptr}, q_proj{nullptr};
  RMSNorm q_a_layernorm{nullptr}, kv_a_layernorm{nullptr};
  Linear kv_a_proj_with_mqa{nullptr}, kv_b_proj{nullptr}, o_proj{nullptr};

 private:
  // x [B, T, D] -> q_nope [B, T, H, Dn], q_pe [B, T, H, R] (rotated), c_kv [B, T, C], k_pe [B, T, R] (rotated)
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor> project(const torch::Tensor& x,
                                                                               const torch::Tensor& cos,
                                                                               const torch::Tensor& sin);
  // Causal attention of the naive form, two implementations of the same map:
  // q_nope [B, T, H, Dn], q_pe [B, T, H, R], k_nope [B, T, H, Dn], k_pe [B, T, R], v [B, T, H, Dv]
  // -> [B, T, H, Dv]
  torch::Tensor attend_eager(const torch::Tensor& q_nope, const torch::Tensor& q_pe,
                             const torch::Tensor& k_nope, const torch::Tensor& k_pe, const torch::Tensor& v);
  torch::Tensor attend_sdpa(const torch::Tensor& q_nope, const torch::Tensor& q_pe,
                            const torch::Tensor& k_nope, const torch::Tensor& k_pe, const torch::Tensor& v);
};
TORCH_MODULE(Mla);

}  // namespace aha::policy
