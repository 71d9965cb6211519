// Decoder block; see block.h.
#include "policy/block.h"

namespace aha::policy {

BlockImpl::BlockImpl(const ModelConfig& c, int64_t layer_index) {
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  if (c.uses_mla())
    mla = register_module("self_attn", Mla(c));
  else
    gqa = register_module("self_attn", Gqa(c));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  if (c.is_moe_layer(layer_index))
    moe = register_module("mlp", Moe(c));
  else
    dense = register_module("mlp", Mlp(c.hidden_size, c.intermediate_size));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                                 CacheEntry* cache_out, const MoeCall& moe_call) {
  auto normed = input_layernorm(h);
  auto x = h + (mla ? mla(normed, cos, sin, cache_out) : gqa(normed, cos, sin, cache_out));
  return x + ffn(post_attention_layernorm(x), moe_call);
}

torch::Tensor BlockImpl::decode(const torch::Tensor& h, const torch::Tensor& cos, const torch::Tensor& sin,
                                const torch::Tensor& positions_B, torch::Tensor& cache_first,
                                torch::Tensor& cache_second, const MoeCall& moe_call) {
  auto normed = input_layernorm(h);
  auto attended = mla ? mla->decode(normed, cos, sin, positions_B, cache_first, cache_second)
                      : gqa->decode(normed, cos, sin, positions_B, cache_first, cache_second);
  auto x = h + attended;
  return x + ffn(post_attention_layernorm(x), moe_call);
}

}  // namespace aha::policy
