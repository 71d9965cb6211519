// config.json <-> ModelConfig. Unknown HF fields are ignored (real checkpoints carry many informational
// ones), but fields we use are type-checked, and unsupported values are errors that list what works.
#include "policy/config.h"

#include <algorithm>
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
  if (type != "none" && type != "yarn" && type != "linear" && type != "llama3")
    throw std::invalid_argument(where + ": rope_scaling type '" + type +
                                "' is not supported; supported: default, yarn, linear, llama3");
  out.type = type;
  read_field(rs, "factor", out.factor, where + " rope_scaling");
  read_field(rs, "original_max_position_embeddings", out.original_max_position_embeddings,
             where + " rope_scaling");
  read_field(rs, "beta_fast", out.beta_fast, where + " rope_scaling");
  read_field(rs, "beta_slow", out.beta_slow, where + " rope_scaling");
  read_field(rs, "mscale", out.mscale, where + " rope_scaling");
  read_field(rs, "mscale_all_dim", out.mscale_all_dim, where + " rope_scaling");
  read_field(rs, "low_freq_factor", out.low_freq_factor, where + " rope_scaling");
  read_field(rs, "high_freq_factor", out.high_freq_factor, where + " rope_scaling");
  if (type != "none" && !(out.factor > 0))
    throw std::invalid_argument(where + ": rope_scaling factor must be > 0, got " + std::to_string(out.factor));
  if (type == "llama3" && !(out.high_freq_factor > out.low_freq_factor))
    throw std::invalid_argument(where + ": rope_scaling high_freq_factor must exceed low_freq_factor");
}

// The fields of the GQA families (qwen2, llama, qwen3, qwen3_moe) that differ from DeepSeek's.
void read_gqa_fields(const nlohmann::json& j, ModelConfig& c, const std::string& where) {
  c.num_key_value_heads = c.num_attention_heads;  // transformers' default: plain multi-head attention
  read_field(j, "num_key_value_heads", c.num_key_value_heads, where);
  read_field(j, "head_dim", c.head_dim, where);
  if (c.head_dim == 0 && c.num_attention_heads > 0) c.head_dim = c.hidden_size / c.num_attention_heads;
  if (c.model_type == "qwen2") {
    c.qkv_bias = true;  // Qwen2Attention always has q/k/v bias and no o bias
    bool sliding = false;
    read_field(j, "use_sliding_window", sliding, where);
    if (sliding) throw std::invalid_argument(where + ": field 'use_sliding_window': true is not supported; expected false");
  } else {
    bool bias = false;
    read_field(j, "attention_bias", bias, where);
    c.qkv_bias = c.o_bias = bias;
  }
  if (c.model_type == "llama") {
    bool mlp_bias = false;
    read_field(j, "mlp_bias", mlp_bias, where);
    if (mlp_bias) throw std::invalid_argument(where + ": field 'mlp_bias': true is not supported; expected false");
  }
  c.qk_norm = c.model_type == "qwen3" || c.model_type == "qwen3_moe";
  if (c.model_type == "qwen3_moe") {
    read_field(j, "num_experts", c.n_routed_experts, where);
    read_field(j, "num_local_experts", c.n_routed_experts, where);  // transformers v5 spelling
    read_field(j, "decoder_sparse_step", c.decoder_sparse_step, where);
    if (auto it = j.find("mlp_only_layers"); it != j.end() && !it->is_null()) {
      if (!it->is_array()) throw std::invalid_argument(where + ": field 'mlp_only_layers': expected a list of layer indices");
      for (const auto& v : *it) {
        if (!v.is_number_integer())
          throw std::invalid_argument(where + ": field 'mlp_only_layers': expected integers, got " + v.dump());
        c.mlp_only_layers.push_back(v.get<int64_t>());
      }
    }
  }
  std::string act = "silu";
  read_field(j, "hidden_act", act, where);
  if (act != "silu") throw std::invalid_argument(where + ": field 'hidden_act': '" + act + "' is not supported; expected silu");
}

double yarn_get_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

const char* const kSupportedModelTypes = "deepseek_v3, deepseek_v2, qwen2, llama, qwen3, qwen3_moe";

bool ModelConfig::is_moe_layer(int64_t layer) const {
  if (n_routed_experts == 0 || layer < first_k_dense_replace) return false;
  if (std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) != mlp_only_layers.end()) return false;
  return (layer + 1) % decoder_sparse_step == 0;
}

double ModelConfig::softmax_scale() const {
  if (!uses_mla()) return 1.0 / std::sqrt(static_cast<double>(head_dim));
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_head_dim()));
  if (rope_scaling.type == "yarn" && rope_scaling.mscale_all_dim != 0.0) {
    double m = yarn_get_mscale(rope_scaling.factor, rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

std::pair<int64_t, int64_t> ModelConfig::cache_widths() const {
  if (uses_mla()) return {kv_lora_rank, qk_rope_head_dim};
  return {num_key_value_heads * head_dim, num_key_value_heads * head_dim};
}

void ModelConfig::validate() const {
  auto require = [&](bool ok, const std::string& msg) {
    if (!ok) throw std::invalid_argument("config.json: " + msg);
  };
  const bool known = uses_mla() || model_type == "qwen2" || model_type == "llama" || model_type == "qwen3" ||
                     model_type == "qwen3_moe";
  require(known, "model_type '" + model_type + "' is not supported; supported: " + kSupportedModelTypes);
  require(vocab_size > 0, "vocab_size must be > 0");
  require(hidden_size > 0, "hidden_size must be > 0");
  require(num_hidden_layers > 0, "num_hidden_layers must be > 0");
  require(num_attention_heads > 0, "num_attention_heads must be > 0");
  if (uses_mla()) {
    require(kv_lora_rank > 0, "kv_lora_rank must be > 0");
    require(qk_nope_head_dim > 0 && v_head_dim > 0, "qk_nope_head_dim and v_head_dim must be > 0");
    require(qk_rope_head_dim > 0 && qk_rope_head_dim % 2 == 0, "qk_rope_head_dim must be even and > 0");
    require(q_lora_rank >= 0, "q_lora_rank must be >= 0 (0 or null: no q compression)");
  } else {
    require(num_key_value_heads > 0 && num_attention_heads % num_key_value_heads == 0,
            "num_key_value_heads must be > 0 and divide num_attention_heads (" +
                std::to_string(num_attention_heads) + "), got " + std::to_string(num_key_value_heads));
    require(head_dim > 0 && head_dim % 2 == 0, "head_dim must be even and > 0, got " + std::to_string(head_dim));
    require(rope_scaling.type != "yarn" || rope_scaling.mscale_all_dim == 0.0,
            "rope_scaling mscale_all_dim is an MLA (DeepSeek) field; not supported with " + model_type);
  }
  require(scoring_func == "sigmoid" || scoring_func == "softmax",
          "scoring_func '" + scoring_func + "' is not supported; supported: sigmoid, softmax");
  require(topk_method == "noaux_tc" || topk_method == "greedy" || topk_method == "group_limited_greedy",
          "topk_method '" + topk_method + "' is not supported; supported: noaux_tc, greedy, group_limited_greedy");
  require(decoder_sparse_step >= 1, "decoder_sparse_step must be >= 1");
  bool any_dense = n_routed_experts == 0;
  for (int64_t l = 0; l < num_hidden_layers; ++l) any_dense = any_dense || !is_moe_layer(l);
  if (any_dense) require(intermediate_size > 0, "intermediate_size must be > 0 when there are dense layers");
  if (n_routed_experts > 0) {
    require(moe_intermediate_size > 0, "moe_intermediate_size must be > 0");
    require(n_group > 0 && n_routed_experts % n_group == 0, "n_routed_experts must be a multiple of n_group");
    if (n_group > 1)
      require(n_routed_experts / n_group >= 2, "each expert group needs >= 2 experts (groups score by top-2)");
    require(topk_group >= 1 && topk_group <= n_group, "topk_group must be in [1, n_group]");
    require(num_experts_per_tok >= 1 && num_experts_per_tok <= topk_group * (n_routed_experts / n_group),
            "num_experts_per_tok must be in [1, topk_group * n_routed_experts / n_group]");
  }
  require(num_nextn_predict_layers >= 0, "num_nextn_predict_layers must be >= 0");
}

namespace {

nlohmann::json rope_scaling_json(const RopeScaling& rs) {
  if (rs.type == "none") return nullptr;
  nlohmann::json j = {{"type", rs.type}, {"rope_type", rs.type}, {"factor", rs.factor}};
  if (rs.type == "yarn") {
    j["original_max_position_embeddings"] = rs.original_max_position_embeddings;
    j["beta_fast"] = rs.beta_fast;
    j["beta_slow"] = rs.beta_slow;
    j["mscale"] = rs.mscale;
    j["mscale_all_dim"] = rs.mscale_all_dim;
  } else if (rs.type == "llama3") {
    j["original_max_position_embeddings"] = rs.original_max_position_embeddings;
    j["low_freq_factor"] = rs.low_freq_factor;
    j["high_freq_factor"] = rs.high_freq_factor;
  }
  return j;
}

const char* architecture_name(const std::string& model_type) {
  if (model_type == "deepseek_v2") return "DeepseekV2ForCausalLM";
  if (model_type == "qwen2") return "Qwen2ForCausalLM";
  if (model_type == "llama") return "LlamaForCausalLM";
  if (model_type == "qwen3") return "Qwen3ForCausalLM";
  if (model_type == "qwen3_moe") return "Qwen3MoeForCausalLM";
  return "DeepseekV3ForCausalLM";
}

}  // namespace

// The fields transformers' config class for model_type reads, under its names; nothing stale (no
// quantization_config) is carried over from the checkpoint aha loaded.
nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {
      {"architectures", {architecture_name(model_type)}},
      {"model_type", model_type},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"rms_norm_eps", rms_norm_eps},
      {"max_position_embeddings", max_position_embeddings},
      {"rope_theta", rope_theta},
      {"rope_scaling", rope_scaling_json(rope_scaling)},
      {"hidden_act", "silu"},
      {"tie_word_embeddings", tie_word_embeddings},
      {"torch_dtype", torch_dtype},
      {"initializer_range", initializer_range},
  };
  if (uses_mla()) {
    j.update({
        {"moe_intermediate_size", moe_intermediate_size},
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
        {"attention_bias", false},
    });
  } else {
    j["num_key_value_heads"] = num_key_value_heads;
    j["head_dim"] = head_dim;
    if (model_type == "qwen2") {
      j["use_sliding_window"] = false;
    } else {
      j["attention_bias"] = qkv_bias;
      if (model_type == "llama") j["mlp_bias"] = false;
    }
    if (model_type == "qwen3_moe") {
      j.update({{"num_experts", n_routed_experts},
                {"num_experts_per_tok", num_experts_per_tok},
                {"moe_intermediate_size", moe_intermediate_size},
                {"norm_topk_prob", norm_topk_prob},
                {"decoder_sparse_step", decoder_sparse_step},
                {"mlp_only_layers", mlp_only_layers}});
    }
  }
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_id) j["eos_token_id"] = *eos_token_id;
  return j;
}

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
  ModelConfig c;
  read_field(j, "model_type", c.model_type, where);
  if (c.model_type == "deepseek_v2" || c.model_type == "qwen3_moe") {
    // DeepSeek-V2's and Qwen3-MoE's router: softmax over all experts, plain top-k, no bias; the weights
    // are renormalised only if norm_topk_prob says so (false in both config classes by default).
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
  if (!c.uses_mla()) read_gqa_fields(j, c, where);
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
