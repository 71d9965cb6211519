// Grouped-query attention as Qwen2, Llama and Qwen3 use it (transformers' LlamaAttention / Qwen2Attention
// / Qwen3Attention): H query heads share Hkv key/value heads (query head h reads kv head h / (H / Hkv)),
// RoPE on the whole head in the rotate_half layout, optional q/k/v (and o) bias, and for Qwen3 an RMSNorm
// over head_dim on every q and k head before RoPE.
//
// Legend: B batch, T tokens in this call, S cached positions, D hidden, H query heads, Hkv kv heads,
// G = H / Hkv query heads per kv head, Dh head_dim.
//
// Two paths, held together by a test: forward() (training and prefill, causal over T) and decode() (one
// token per row over a cache of keys and values; see policy/cache_entry.h). forward()'s attention runs one
// of two ways (config.attn_implementation): "eager" builds the [B, H, T, T] scores (kept for backward),
// "sdpa" calls the fused at::scaled_dot_product_attention; tests/policy/test_sdpa.cpp holds them together.
#pragma once

#include <torch/nn/module.h>

#include "policy/cache_entry.h"
#include "policy/config.h"
#include "policy/linear.h"
#include "policy/rmsnorm.h"

namespace aha::policy {

struct GqaImpl : torch::nn::Module {
  explicit GqaImpl(const ModelConfig& config);

  // x [B, T, D], cos/sin [B, T, Dh/2] -> [B, T, D]. Fills *cache_out with keys and values when given.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        CacheEntry* cache_out = nullptr);

  // x [B, 1, D], positions_B [B]: writes this token's key/value at positions_B into key_cache /
  // value_cache [B, S, Hkv·Dh] and attends over cached positions <= positions_B. -> [B, 1, D]
  torch::Tensor decode(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                       const torch::Tensor& positions_B, torch::Tensor& key_cache, torch::Tensor& value_cache);

  int64_t n_heads, n_kv_heads, head_dim;
  double softmax_scale;
  bool use_sdpa;  // attn_implementation == "sdpa"
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  // Qwen3 only

 private:
  // x [B, T, D] -> q [B, T, H, Dh], k [B, T, Hkv, Dh] (normed, rotated), v [B, T, Hkv, Dh]
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> project(const torch::Tensor& x, const torch::Tensor& cos,
                                                                  const torch::Tensor& sin);
  // Causal attention, two implementations of the same map: q [B, T, H, Dh], k and v [B, T, Hkv, Dh]
  // -> [B, T, H, Dh]
  torch::Tensor attend_eager(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);
  torch::Tensor attend_sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);
};
TORCH_MODULE(Gqa);

}  // namespace aha::policy
