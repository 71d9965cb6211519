// The architecture of a policy, read from a HuggingFace-style config.json (HF field names).
// Supported: model_type "deepseek_v3" (MLA + DeepSeekMoE, sigmoid gate, noaux_tc routing with
// e_score_correction_bias) and "deepseek_v2" (softmax gate, greedy / group_limited_greedy, no bias, and
// by default no renormalisation of the top-k weights, as transformers' DeepseekV2 does). Spec: shared/reference/deepseek-v3-spec.md §1.1.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace aha::policy {

struct RopeScaling {          // YaRN on the qk_rope_head_dim dims only (spec §1.4.3)
  std::string type = "none";  // "none" or "yarn"
  double factor = 1.0;
  int64_t original_max_position_embeddings = 4096;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
};

struct ModelConfig {
  std::string model_type = "deepseek_v3";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;      // dense SwiGLU width (layers < first_k_dense_replace)
  int64_t moe_intermediate_size = 0;  // width of one routed expert (shared: × n_shared_experts)
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
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
  std::string scoring_func = "sigmoid";
  std::string topk_method = "noaux_tc";
  bool norm_topk_prob = true;
  int64_t first_k_dense_replace = 0;
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

  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool has_router_bias() const { return topk_method == "noaux_tc"; }
  bool is_moe_layer(int64_t layer) const { return n_routed_experts > 0 && layer >= first_k_dense_replace; }
  // softmax scale qk_head_dim^-0.5 · mscale² under YaRN (spec §1.4.2)
  double softmax_scale() const;
  // Throws std::invalid_argument naming the field and what is allowed.
  void validate() const;
  nlohmann::json to_json() const;
};

// Parses an HF config.json object; `where` names the source in errors ("DIR/config.json").
ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where);
ModelConfig load_model_config(const std::filesystem::path& config_json);

}  // namespace aha::policy
