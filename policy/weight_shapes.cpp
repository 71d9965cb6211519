// The tensors a config implies (see weight_shapes.h). Legend: V vocab, D hidden_size, H heads, I an MLP
// width, E routed experts.
#include "policy/weight_shapes.h"

namespace aha::policy {
namespace {

// One Linear: weight [out, in] (torch's layout) and, with a bias, bias [out].
void linear(const WeightShapeVisitor& visit, const std::string& name, int64_t in, int64_t out,
            bool with_bias = false) {
  visit(name + ".weight", {out, in});
  if (with_bias) visit(name + ".bias", {out});
}

// SwiGLU (mlp.h): gate_proj and up_proj [I, D], down_proj [D, I].
void mlp(const WeightShapeVisitor& visit, const std::string& prefix, int64_t hidden, int64_t intermediate) {
  linear(visit, prefix + "gate_proj", hidden, intermediate);
  linear(visit, prefix + "up_proj", hidden, intermediate);
  linear(visit, prefix + "down_proj", intermediate, hidden);
}

// mla.cpp: q through the q_lora_rank bottleneck (or plain q_proj), the shared latent and rope key, their
// up-projection, o_proj. The latent norms' width is the rank, whatever rms_norm_eps says.
void mla(const WeightShapeVisitor& visit, const std::string& prefix, const ModelConfig& c) {
  const int64_t D = c.hidden_size, H = c.num_attention_heads;
  const int64_t q_out = H * c.qk_head_dim();
  if (c.q_lora_rank > 0) {
    linear(visit, prefix + "q_a_proj", D, c.q_lora_rank);
    visit(prefix + "q_a_layernorm.weight", {c.q_lora_rank});
    linear(visit, prefix + "q_b_proj", c.q_lora_rank, q_out);
  } else {
    linear(visit, prefix + "q_proj", D, q_out);
  }
  linear(visit, prefix + "kv_a_proj_with_mqa", D, c.kv_lora_rank + c.qk_rope_head_dim);
  visit(prefix + "kv_a_layernorm.weight", {c.kv_lora_rank});
  linear(visit, prefix + "kv_b_proj", c.kv_lora_rank, H * (c.qk_nope_head_dim + c.v_head_dim));
  linear(visit, prefix + "o_proj", H * c.v_head_dim, D);
}

// gqa.cpp: q/k/v/o with their optional biases, Qwen3's per-head q/k norms.
void gqa(const WeightShapeVisitor& visit, const std::string& prefix, const ModelConfig& c) {
  const int64_t D = c.hidden_size, q_width = c.num_attention_heads * c.head_dim,
                kv_width = c.num_key_value_heads * c.head_dim;
  linear(visit, prefix + "q_proj", D, q_width, c.qkv_bias);
  linear(visit, prefix + "k_proj", D, kv_width, c.qkv_bias);
  linear(visit, prefix + "v_proj", D, kv_width, c.qkv_bias);
  linear(visit, prefix + "o_proj", q_width, D, c.o_bias);
  if (c.qk_norm) {
    visit(prefix + "q_norm.weight", {c.head_dim});
    visit(prefix + "k_norm.weight", {c.head_dim});
  }
}

// moe.cpp / moe_gate.cpp: the router [E, D] (and its bias buffer under noaux_tc), E experts, the shared
// expert(s) as one MLP of width moe_intermediate_size * n_shared_experts.
void moe(const WeightShapeVisitor& visit, const std::string& prefix, const ModelConfig& c) {
  const int64_t D = c.hidden_size, E = c.n_routed_experts;
  visit(prefix + "gate.weight", {E, D});
  if (c.has_router_bias()) visit(prefix + "gate.e_score_correction_bias", {E});
  for (int64_t e = 0; e < E; ++e)
    mlp(visit, prefix + "experts." + std::to_string(e) + ".", D, c.moe_intermediate_size);
  if (c.n_shared_experts > 0)
    mlp(visit, prefix + "shared_experts.", D, c.moe_intermediate_size * c.n_shared_experts);
}

}  // namespace

void for_each_weight_shape(const ModelConfig& c, const WeightShapeVisitor& visit) {
  const int64_t V = c.vocab_size, D = c.hidden_size;
  visit("model.embed_tokens.weight", {V, D});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string layer = "model.layers." + std::to_string(l) + ".";
    visit(layer + "input_layernorm.weight", {D});
    if (c.uses_mla())
      mla(visit, layer + "self_attn.", c);
    else
      gqa(visit, layer + "self_attn.", c);
    visit(layer + "post_attention_layernorm.weight", {D});
    if (c.is_moe_layer(l))
      moe(visit, layer + "mlp.", c);
    else
      mlp(visit, layer + "mlp.", D, c.intermediate_size);
  }
  visit("model.norm.weight", {D});
  if (!c.tie_word_embeddings) linear(visit, "lm_head", D, V);
}

}  // namespace aha::policy
