// Decoder block; see block.h.
#include "policy/block.h"

namespace aha::policy {

BlockImpl::BlockImpl(const ModelConfig& c, int64_t layer_index) {
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  self_attn = register_module("self_attn", Mla(c));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  if (c.is_moe_layer(layer_index))
    moe = register_module("mlp", Moe(c));
  else
    dense = register_module("mlp", Mlp(c.hidden_size, c.intermediate_size));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                                 MlaLatent* latent_out, const MoeCall& moe_call) {
  auto x = h + self_attn(input_layernorm(h), cos, sin, latent_out);
  return x + ffn(post_attention_layernorm(x), moe_call);
}

torch::Tensor BlockImpl::decode(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                                const torch::Tensor& positions_B, torch::Tensor& kv_cache,
                                torch::Tensor& rope_cache, const MoeCall& moe_call) {
  auto x = h + self_attn->decode(input_layernorm(h), cos, sin, positions_B, kv_cache, rope_cache);
  return x + ffn(post_attention_layernorm(x), moe_call);
}

}  // namespace aha::policy
