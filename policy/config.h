// The architecture of a policy, read from a HuggingFace-style config.json (HF field names).
// Supported model_type values:
//  - "deepseek_v3": MLA + DeepSeekMoE, sigmoid gate, noaux_tc routing with e_score_correction_bias;
//  - "deepseek_v2": MLA + DeepSeekMoE with a softmax gate, greedy / group_limited_greedy, no bias, and by
//    default no renormalisation of the top-k weights, as transformers' DeepseekV2 does;
//  - "qwen2", "llama", "qwen3": dense SwiGLU blocks with grouped-query attention (GQA): q/k/v bias for
//    Qwen2, `attention_bias` for Llama and Qwen3, per-head RMSNorm on q and k for Qwen3;
//  - "qwen3_moe": Qwen3's attention with a softmax-routed MoE (no shared expert), read from `num_experts`.
// The attention kind follows from model_type (uses_mla()). Spec: shared/reference/deepseek-v3-spec.md §1.1.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace aha::policy {

// The string options of config.json, parsed once at load so the forward compares enums, not strings.
// to_string gives transformers' name: "sigmoid", "softmax"; "noaux_tc", "greedy", "group_limited_greedy";
// "default", "yarn", "linear", "llama3". Each parse_* accepts those names (parse_rope_type also "none") and
// throws std::invalid_argument naming the value and the supported ones.
enum class ScoringFunc { Sigmoid, Softmax };
enum class TopkMethod { NoauxTc, Greedy, GroupLimitedGreedy };
enum class RopeType { None, Yarn, Linear, Llama3 };

const char* to_string(ScoringFunc scoring_func);
const char* to_string(TopkMethod topk_method);
const char* to_string(RopeType rope_type);
ScoringFunc parse_scoring_func(std::string_view name);
TopkMethod parse_topk_method(std::string_view name);
RopeType parse_rope_type(std::string_view name);

struct RopeScaling {  // on the rotary dims only (MLA: qk_rope_head_dim; GQA: head_dim), spec §1.4.3
  RopeType type = RopeType::None;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 4096;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
};

struct ModelConfig {
  std::string model_type = "deepseek_v3";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;      // dense SwiGLU width (layers < first_k_dense_replace)
  int64_t moe_intermediate_size = 0;  // width of one routed expert (shared: × n_shared_experts)
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  // GQA (qwen2, llama, qwen3, qwen3_moe): query heads share num_key_value_heads k/v heads of head_dim.
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;         // 0 in JSON or absent: hidden_size / num_attention_heads
  bool qkv_bias = false;        // bias on q_proj, k_proj, v_proj (Qwen2 always; Llama/Qwen3 attention_bias)
  bool o_bias = false;          // bias on o_proj (Llama/Qwen3 attention_bias)
  bool qk_norm = false;         // Qwen3: RMSNorm over head_dim on each q and k head before RoPE
  // MLA (deepseek_v2, deepseek_v3)
  int64_t q_lora_rank = 0;  // 0 (null in JSON): plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t n_routed_experts = 0;
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  double routed_scaling_factor = 1.0;
  ScoringFunc scoring_func = ScoringFunc::Sigmoid;
  TopkMethod topk_method = TopkMethod::NoauxTc;
  bool norm_topk_prob = true;
  int64_t first_k_dense_replace = 0;
  std::vector<int64_t> mlp_only_layers;  // qwen3_moe: these layers are dense
  int64_t decoder_sparse_step = 1;       // qwen3_moe: layer l is MoE when (l + 1) % step == 0
  int64_t num_nextn_predict_layers = 0;
  double rms_norm_eps = 1e-6;
  int64_t max_position_embeddings = 4096;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> eos_token_id;
  std::string torch_dtype = "float32";
  double initializer_range = 0.02;
  // How training and prefill compute attention (transformers' name and values): "sdpa" the fused
  // at::scaled_dot_product_attention, "eager" the explicit [B, H, T, T] scores it is tested against
  // (tests/policy/test_sdpa.cpp). A runtime choice, not part of the model: never read from or written to
  // config.json. Decode (one token over the cache) is eager either way.
  std::string attn_implementation = "sdpa";

  // A string compare, but only ever at construction (blocks, Rope::make, cache allocation), never per token.
  bool uses_mla() const { return model_type == "deepseek_v3" || model_type == "deepseek_v2"; }
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // attn_implementation == "sdpa", read by the attention modules at construction; throws
  // std::invalid_argument for a value other than "sdpa" or "eager" (a module built without validate()).
  bool uses_sdpa() const;
  // Dims RoPE rotates per head: the decoupled qk_rope_head_dim for MLA, the whole head for GQA.
  int64_t rope_dim() const { return uses_mla() ? qk_rope_head_dim : head_dim; }
  bool has_router_bias() const { return topk_method == TopkMethod::NoauxTc; }
  bool is_moe_layer(int64_t layer) const;
  // MLA: qk_head_dim^-0.5 · mscale² under YaRN (spec §1.4.2); GQA: head_dim^-0.5
  double softmax_scale() const;
  // Widths of the two per-token, per-layer cache tensors (policy/cache_entry.h):
  // MLA (kv_lora_rank, qk_rope_head_dim); GQA (num_key_value_heads·head_dim, num_key_value_heads·head_dim).
  std::pair<int64_t, int64_t> cache_widths() const;
  // Throws std::invalid_argument naming the field and what is allowed (ranges, size caps: config.cpp).
  void validate() const;
  nlohmann::json to_json() const;
};

// Parses an HF config.json object; `where` names the source in errors ("DIR/config.json").
ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where);
ModelConfig load_model_config(const std::filesystem::path& config_json);

}  // namespace aha::policy
