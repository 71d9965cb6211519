// config.json <-> ModelConfig. Unknown HF fields are ignored (real checkpoints carry many informational
// ones), but fields we use are type-checked, and unsupported values are errors that list what works.
#include "policy/config.h"

#include <cmath>
#include <fstream>
#include <stdexcept>

namespace aha::policy {
namespace {

template <typename T>
void read_field(const nlohmann::json& j, const char* key, T& out, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) throw std::invalid_argument("expected true/false");
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer()) throw std::invalid_argument("expected an integer");
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!it->is_number()) throw std::invalid_argument("expected a number");
    } else {
      if (!it->is_string()) throw std::invalid_argument("expected a string");
    }
    out = it->get<T>();
  } catch (const std::exception& e) {
    throw std::invalid_argument(where + ": field '" + key + "': " + e.what() + ", got " + it->dump());
  }
}

void read_rope_scaling(const nlohmann::json& rs, RopeScaling& out, const std::string& where) {
  if (!rs.is_object()) throw std::invalid_argument(where + ": rope_scaling must be an object or null");
  std::string type = "none";
  read_field(rs, "type", type, where + " rope_scaling");
  read_field(rs, "rope_type", type, where + " rope_scaling");  // newer spelling wins
  if (type == "default") type = "none";
  if (type != "none" && type != "yarn")
    throw std::invalid_argument(where + ": rope_scaling type '" + type + "' is not supported; supported: yarn");
  out.type = type;
  read_field(rs, "factor", out.factor, where + " rope_scaling");
  read_field(rs, "original_max_position_embeddings", out.original_max_position_embeddings,
             where + " rope_scaling");
  read_field(rs, "beta_fast", out.beta_fast, where + " rope_scaling");
  read_field(rs, "beta_slow", out.beta_slow, where + " rope_scaling");
  read_field(rs, "mscale", out.mscale, where + " rope_scaling");
  read_field(rs, "mscale_all_dim", out.mscale_all_dim, where + " rope_scaling");
}

double yarn_get_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

double ModelConfig::softmax_scale() const {
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim()));
  if (rope_scaling.type == "yarn" && rope_scaling.mscale_all_dim != 0.0) {
    double m = yarn_get_mscale(rope_scaling.factor, rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

void ModelConfig::validate() const {
  auto require = [&](bool ok, const std::string& msg) {
    if (!ok) throw std::invalid_argument("config.json: " + msg);
  };
  require(model_type == "deepseek_v3" || model_type == "deepseek_v2",
          "model_type '" + model_type + "' is not supported yet; supported: deepseek_v3, deepseek_v2");
  require(vocab_size > 0, "vocab_size must be > 0");
  require(hidden_size > 0, "hidden_size must be > 0");
  require(num_hidden_layers > 0, "num_hidden_layers must be > 0");
  require(num_attention_heads > 0, "num_attention_heads must be > 0");
  require(kv_lora_rank > 0, "kv_lora_rank must be > 0");
  require(qk_nope_head_dim > 0 && v_head_dim > 0, "qk_nope_head_dim and v_head_dim must be > 0");
  require(qk_rope_head_dim > 0 && qk_rope_head_dim % 2 == 0, "qk_rope_head_dim must be even and > 0");
  require(q_lora_rank >= 0, "q_lora_rank must be >= 0 (0 or null: no q compression)");
  require(scoring_func == "sigmoid" || scoring_func == "softmax",
          "scoring_func '" + scoring_func + "' is not supported; supported: sigmoid, softmax");
  require(topk_method == "noaux_tc" || topk_method == "greedy" || topk_method == "group_limited_greedy",
          "topk_method '" + topk_method + "' is not supported; supported: noaux_tc, greedy, group_limited_greedy");
  if (first_k_dense_replace > 0 || n_routed_experts == 0)
    require(intermediate_size > 0, "intermediate_size must be > 0 when there are dense layers");
  if (n_routed_experts > 0) {
    require(moe_intermediate_size > 0, "moe_intermediate_size must be > 0");
    require(n_group > 0 && n_routed_experts % n_group == 0, "n_routed_experts must be a multiple of n_group");
    require(n_routed_experts / n_group >= 2, "each expert group needs >= 2 experts (groups score by top-2)");
    require(topk_group >= 1 && topk_group <= n_group, "topk_group must be in [1, n_group]");
    require(num_experts_per_tok >= 1 && num_experts_per_tok <= topk_group * (n_routed_experts / n_group),
            "num_experts_per_tok must be in [1, topk_group * n_routed_experts / n_group]");
  }
  require(num_nextn_predict_layers >= 0, "num_nextn_predict_layers must be >= 0");
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {
      {"architectures", {model_type == "deepseek_v2" ? "DeepseekV2ForCausalLM" : "DeepseekV3ForCausalLM"}},
      {"model_type", model_type},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"moe_intermediate_size", moe_intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_attention_heads},
      {"q_lora_rank", q_lora_rank > 0 ? nlohmann::json(q_lora_rank) : nlohmann::json(nullptr)},
      {"kv_lora_rank", kv_lora_rank},
      {"qk_nope_head_dim", qk_nope_head_dim},
      {"qk_rope_head_dim", qk_rope_head_dim},
      {"v_head_dim", v_head_dim},
      {"n_routed_experts", n_routed_experts},
      {"n_shared_experts", n_shared_experts},
      {"num_experts_per_tok", num_experts_per_tok},
      {"n_group", n_group},
      {"topk_group", topk_group},
      {"routed_scaling_factor", routed_scaling_factor},
      {"scoring_func", scoring_func},
      {"topk_method", topk_method},
      {"norm_topk_prob", norm_topk_prob},
      {"first_k_dense_replace", first_k_dense_replace},
      {"moe_layer_freq", 1},
      {"num_nextn_predict_layers", num_nextn_predict_layers},
      {"rms_norm_eps", rms_norm_eps},
      {"max_position_embeddings", max_position_embeddings},
      {"rope_theta", rope_theta},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"tie_word_embeddings", tie_word_embeddings},
      {"torch_dtype", torch_dtype},
      {"initializer_range", initializer_range},
  };
  if (rope_scaling.type == "none") {
    j["rope_scaling"] = nullptr;
  } else {
    j["rope_scaling"] = {{"type", rope_scaling.type},
                         {"rope_type", rope_scaling.type},
                         {"factor", rope_scaling.factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings},
                         {"beta_fast", rope_scaling.beta_fast},
                         {"beta_slow", rope_scaling.beta_slow},
                         {"mscale", rope_scaling.mscale},
                         {"mscale_all_dim", rope_scaling.mscale_all_dim}};
  }
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_id) j["eos_token_id"] = *eos_token_id;
  return j;
}

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
  ModelConfig c;
  read_field(j, "model_type", c.model_type, where);
  if (c.model_type == "deepseek_v2") {  // DeepSeek-V2's router: softmax, no bias, weights not renormalised
    c.scoring_func = "softmax";
    c.topk_method = "greedy";
    c.norm_topk_prob = false;
  }
  read_field(j, "vocab_size", c.vocab_size, where);
  read_field(j, "hidden_size", c.hidden_size, where);
  read_field(j, "intermediate_size", c.intermediate_size, where);
  read_field(j, "moe_intermediate_size", c.moe_intermediate_size, where);
  read_field(j, "num_hidden_layers", c.num_hidden_layers, where);
  read_field(j, "num_attention_heads", c.num_attention_heads, where);
  read_field(j, "q_lora_rank", c.q_lora_rank, where);
  read_field(j, "kv_lora_rank", c.kv_lora_rank, where);
  read_field(j, "qk_nope_head_dim", c.qk_nope_head_dim, where);
  read_field(j, "qk_rope_head_dim", c.qk_rope_head_dim, where);
  read_field(j, "v_head_dim", c.v_head_dim, where);
  read_field(j, "n_routed_experts", c.n_routed_experts, where);
  read_field(j, "n_shared_experts", c.n_shared_experts, where);
  read_field(j, "num_experts_per_tok", c.num_experts_per_tok, where);
  read_field(j, "n_group", c.n_group, where);
  read_field(j, "topk_group", c.topk_group, where);
  read_field(j, "routed_scaling_factor", c.routed_scaling_factor, where);
  read_field(j, "scoring_func", c.scoring_func, where);
  read_field(j, "topk_method", c.topk_method, where);
  read_field(j, "norm_topk_prob", c.norm_topk_prob, where);
  read_field(j, "first_k_dense_replace", c.first_k_dense_replace, where);
  read_field(j, "num_nextn_predict_layers", c.num_nextn_predict_layers, where);
  read_field(j, "rms_norm_eps", c.rms_norm_eps, where);
  read_field(j, "max_position_embeddings", c.max_position_embeddings, where);
  read_field(j, "rope_theta", c.rope_theta, where);
  read_field(j, "tie_word_embeddings", c.tie_word_embeddings, where);
  read_field(j, "initializer_range", c.initializer_range, where);
  read_field(j, "torch_dtype", c.torch_dtype, where);
  read_field(j, "dtype", c.torch_dtype, where);  // transformers v5 spelling
  if (auto it = j.find("rope_scaling"); it != j.end() && !it->is_null())
    read_rope_scaling(*it, c.rope_scaling, where);
  if (auto it = j.find("rope_parameters"); it != j.end() && !it->is_null()) {  // transformers v5
    read_field(*it, "rope_theta", c.rope_theta, where + " rope_parameters");
    read_rope_scaling(*it, c.rope_scaling, where + " rope_parameters");
  }
  for (const char* key : {"bos_token_id", "eos_token_id"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    int64_t id = 0;
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) id = (*it)[0].get<int64_t>();
    else if (it->is_number_integer()) id = it->get<int64_t>();
    else throw std::invalid_argument(where + ": field '" + key + "': expected an integer, got " + it->dump());
    (std::string(key) == "bos_token_id" ? c.bos_token_id : c.eos_token_id) = id;
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    throw std::invalid_argument(where + msg.substr(std::string("config.json").size()));
  }
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  std::ifstream in(config_json);
  if (!in) throw std::runtime_error(config_json.string() + ": cannot open (expected an HF config.json)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw std::runtime_error(config_json.string() + ": invalid JSON: " + e.what());
  }
  return model_config_from_json(j, config_json.string());
}

}  // namespace aha::policy
