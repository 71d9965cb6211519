// One pre-norm decoder block (spec §1.3): h += MLA(norm(h)); h += FFN(norm(h)), where the FFN is a dense
// SwiGLU for layers < first_k_dense_replace and DeepSeekMoE after. Both register as "mlp" (HF names).
#pragma once

#include <torch/nn/module.h>

#include "policy/config.h"
#include "policy/mla.h"
#include "policy/mlp.h"
#include "policy/moe.h"
#include "policy/rmsnorm.h"

namespace aha::policy {

struct BlockImpl : torch::nn::Module {
  BlockImpl(const ModelConfig& config, int64_t layer_index);

  // h [B, T, D] -> [B, T, D]
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                        MlaLatent* latent_out, const MoeCall& moe_call);
  // h [B, 1, D] -> [B, 1, D], absorbed MLA over this layer's cache slices
  torch::Tensor decode(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                       const torch::Tensor& positions_B, torch::Tensor& kv_cache, torch::Tensor& rope_cache,
                       const MoeCall& moe_call);

  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Mla self_attn{nullptr};
  Mlp dense{nullptr};  // exactly one of dense / moe is set
  Moe moe{nullptr};

 private:
  torch::Tensor ffn(const torch::Tensor& x, const MoeCall& moe_call) { return moe ? moe(x, moe_call) : dense(x); }
};
TORCH_MODULE(Block);

}  // namespace aha::policy
