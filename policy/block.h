// One pre-norm decoder block (spec §1.3): h += Attention(norm(h)); h += FFN(norm(h)).
// Attention is MLA for DeepSeek models and GQA for Qwen2/Llama/Qwen3; both register as "self_attn".
// The FFN is a dense SwiGLU for layers that ModelConfig::is_moe_layer rejects, the MoE otherwise; both
// register as "mlp" (HF names).
#pragma once

#include <torch/nn/module.h>

#include "policy/cache_entry.h"
#include "policy/config.h"
#include "policy/gqa.h"
#include "policy/mla.h"
#include "policy/mlp.h"
#include "policy/moe.h"
#include "policy/rmsnorm.h"

namespace aha::policy {

struct BlockImpl : torch::nn::Module {
  BlockImpl(const ModelConfig& config, int64_t layer_index);

  // h [B, T, D] -> [B, T, D]; fills *cache_out with this layer's cache entry when given
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                        CacheEntry* cache_out, const MoeCall& moe_call);
  // h [B, 1, D] -> [B, 1, D] over this layer's cache slices [B, S, W1] / [B, S, W2]
  // (MLA: absorbed form over c_kv / k_pe; GQA: keys / values)
  torch::Tensor decode(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                       const torch::Tensor& positions_B, torch::Tensor& cache_first, torch::Tensor& cache_second,
                       const MoeCall& moe_call);

  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Mla mla{nullptr};  // exactly one of mla / gqa is set
  Gqa gqa{nullptr};
  Mlp dense{nullptr};  // exactly one of dense / moe is set
  Moe moe{nullptr};

 private:
  torch::Tensor ffn(const torch::Tensor& x, const MoeCall& moe_call) { return moe ? moe(x, moe_call) : dense(x); }
};
TORCH_MODULE(Block);

}  // namespace aha::policy
