// config.json <-> ModelConfig. Each group of HF keys is listed once, in a field list (common_fields,
// moe_fields, deepseek_fields, gqa_fields, qwen3_moe_fields, rope_scaling_fields) that a Reader and a
// Writer both walk, so a key cannot be read under one name and written under another. Unknown HF keys are
// ignored (real checkpoints carry many informational ones), keys we use are type-checked, null means
// absent, and unsupported values are errors that list what works. What is not a plain member (fixed
// outputs such as hidden_act, model_type-dependent defaults, the v5 rope_parameters object) is spelled
// out in model_config_from_json and ModelConfig::to_json.
#include "policy/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <type_traits>

namespace aha::policy {
namespace {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

constexpr EnumName<ScoringFunc> kScoringFuncNames[] = {{ScoringFunc::Sigmoid, "sigmoid"},
                                                       {ScoringFunc::Softmax, "softmax"}};
constexpr EnumName<TopkMethod> kTopkMethodNames[] = {
    {TopkMethod::NoauxTc, "noaux_tc"},
    {TopkMethod::Greedy, "greedy"},
    {TopkMethod::GroupLimitedGreedy, "group_limited_greedy"}};
constexpr EnumName<RopeType> kRopeTypeNames[] = {{RopeType::None, "default"},
                                                 {RopeType::Yarn, "yarn"},
                                                 {RopeType::Linear, "linear"},
                                                 {RopeType::Llama3, "llama3"}};

template <class E, size_t N>
const char* name_of(const EnumName<E> (&names)[N], E value) {
  auto it = std::find_if(std::begin(names), std::end(names), [&](const auto& n) { return n.value == value; });
  return it == std::end(names) ? "?" : it->name;
}

// `what` opens the error: "scoring_func 'relu' is not supported; supported: sigmoid, softmax".
template <class E, size_t N>
E parse_name(const EnumName<E> (&names)[N], std::string_view name, const std::string& what) {
  std::string supported;
  for (const auto& n : names) {
    if (name == n.name) return n.value;
    supported += (supported.empty() ? "" : ", ") + std::string(n.name);
  }
  throw std::invalid_argument(what + " '" + std::string(name) +
                              "' is not supported; supported: " + supported);
}

}  // namespace

const char* to_string(ScoringFunc scoring_func) {
  return name_of(kScoringFuncNames, scoring_func);
}
const char* to_string(TopkMethod topk_method) {
  return name_of(kTopkMethodNames, topk_method);
}
const char* to_string(RopeType rope_type) {
  return name_of(kRopeTypeNames, rope_type);
}

ScoringFunc parse_scoring_func(std::string_view name) {
  return parse_name(kScoringFuncNames, name, "scoring_func");
}
TopkMethod parse_topk_method(std::string_view name) {
  return parse_name(kTopkMethodNames, name, "topk_method");
}
RopeType parse_rope_type(std::string_view name) {
  if (name == "none") return RopeType::None;  // aha's own earlier spelling of "default"
  return parse_name(kRopeTypeNames, name, "rope_scaling type");
}

namespace {

// ---- Field lists -----------------------------------------------------------------------------------------
// Each calls f(key, member[, written]) once per HF key, in reading order. C is ModelConfig when reading and
// const ModelConfig when writing. `written` (default true) lets the writer leave out a key that does not
// apply to this config; the reader reads every key regardless, as transformers accepts them.

// A member's config.json key. `newer` is the spelling later transformers versions use instead: read after
// `name`, so it wins when both are present, and written as well only where write_newer says so.
struct Key {
  Key(const char* name, const char* newer = nullptr, bool write_newer = false)
      : name(name), newer(newer), write_newer(write_newer) {}
  const char* name;
  const char* newer;
  bool write_newer;
};

// An int64 member whose 0 ("none") HF writes as null: q_lora_rank.
template <class T>
struct NullIfZero {
  T& value;
};
template <class T>
NullIfZero(T&) -> NullIfZero<T>;

// Every model_type. model_type comes first: the defaults and the lists read after it depend on it.
template <class C, class F>
void common_fields(C& c, F&& f) {
  f("model_type", c.model_type);
  f("vocab_size", c.vocab_size);
  f("hidden_size", c.hidden_size);
  f("intermediate_size", c.intermediate_size);
  f("num_hidden_layers", c.num_hidden_layers);
  f("num_attention_heads", c.num_attention_heads);
  f("rms_norm_eps", c.rms_norm_eps);
  f("max_position_embeddings", c.max_position_embeddings);
  f("rope_theta", c.rope_theta);
  f("rope_scaling", c.rope_scaling);  // an object (rope_scaling_fields) or null; v5's rope_parameters wins
  f("tie_word_embeddings", c.tie_word_embeddings);
  f({"torch_dtype", "dtype"}, c.torch_dtype);
  f("initializer_range", c.initializer_range);
  f("bos_token_id", c.bos_token_id);  // optional: absent when unset; a list reads as its first id
  f("eos_token_id", c.eos_token_id);
}

// The routed-expert keys DeepSeekMoE and Qwen3-MoE share.
template <class C, class F>
void moe_fields(C& c, F&& f) {
  f("moe_intermediate_size", c.moe_intermediate_size);
  f("num_experts_per_tok", c.num_experts_per_tok);
  f("norm_topk_prob", c.norm_topk_prob);
}

// DeepSeek-V2/V3: MLA and DeepSeekMoE routing.
template <class C, class F>
void deepseek_fields(C& c, F&& f) {
  f("q_lora_rank", NullIfZero{c.q_lora_rank});
  f("kv_lora_rank", c.kv_lora_rank);
  f("qk_nope_head_dim", c.qk_nope_head_dim);
  f("qk_rope_head_dim", c.qk_rope_head_dim);
  f("v_head_dim", c.v_head_dim);
  f("n_routed_experts", c.n_routed_experts);
  f("n_shared_experts", c.n_shared_experts);
  f("n_group", c.n_group);
  f("topk_group", c.topk_group);
  f("routed_scaling_factor", c.routed_scaling_factor);
  f("scoring_func", c.scoring_func);
  f("topk_method", c.topk_method);
  f("first_k_dense_replace", c.first_k_dense_replace);
  f("num_nextn_predict_layers", c.num_nextn_predict_layers);
}

// Qwen2, Llama, Qwen3, Qwen3-MoE attention. Qwen2's bias is fixed (q/k/v, no o) and has no key; Llama's and
// Qwen3's attention_bias covers q, k, v and o alike (o_bias follows qkv_bias).
template <class C, class F>
void gqa_fields(C& c, F&& f) {
  f("num_key_value_heads", c.num_key_value_heads);
  f("head_dim", c.head_dim);
  if (c.model_type != "qwen2") f("attention_bias", c.qkv_bias);
}

// Qwen3-MoE's expert layout (its router keys are moe_fields).
template <class C, class F>
void qwen3_moe_fields(C& c, F&& f) {
  f({"num_experts", "num_local_experts"}, c.n_routed_experts);
  f("decoder_sparse_step", c.decoder_sparse_step);
  f("mlp_only_layers", c.mlp_only_layers);
}

// rope_scaling (v4) or rope_parameters (v5). Each type writes the keys transformers'
// _compute_<type>_parameters uses; v4.4x reads the type as "type", later versions as "rope_type".
template <class RS, class F>
void rope_scaling_fields(RS& rs, F&& f) {
  f({"type", "rope_type", /*write_newer=*/true}, rs.type);
  const bool yarn = rs.type == RopeType::Yarn, llama3 = rs.type == RopeType::Llama3;
  f("factor", rs.factor);
  f("original_max_position_embeddings", rs.original_max_position_embeddings, /*written=*/yarn || llama3);
  f("beta_fast", rs.beta_fast, /*written=*/yarn);
  f("beta_slow", rs.beta_slow, /*written=*/yarn);
  f("mscale", rs.mscale, /*written=*/yarn);
  f("mscale_all_dim", rs.mscale_all_dim, /*written=*/yarn);
  f("low_freq_factor", rs.low_freq_factor, /*written=*/llama3);
  f("high_freq_factor", rs.high_freq_factor, /*written=*/llama3);
}

// ---- Reader and Writer -----------------------------------------------------------------------------------

template <class T>
constexpr bool kIsNullIfZero = false;
template <class T>
constexpr bool kIsNullIfZero<NullIfZero<T>> = true;
template <class T>
constexpr bool kIsOptional = false;
template <class T>
constexpr bool kIsOptional<std::optional<T>> = true;

void parse_into(std::string_view name, ScoringFunc& out) {
  out = parse_scoring_func(name);
}
void parse_into(std::string_view name, TopkMethod& out) {
  out = parse_topk_method(name);
}
void parse_into(std::string_view name, RopeType& out) {
  out = parse_rope_type(name);
}

void read_rope_scaling(const nlohmann::json& rs, RopeScaling& out, const std::string& where);

// Reads the keys a field list names from one JSON object: absent or null keeps the member as it is, a value
// of the wrong JSON type is an error naming the key, and a string option is parsed once all its spellings
// are read. Type errors name `where` + `section` (" rope_scaling"); unsupported values name `where` only.
class Reader {
 public:
  Reader(const nlohmann::json& j, std::string where, const std::string& section = "")
      : j_(j), where_(std::move(where)), field_where_(where_ + section) {}

  template <class T>
  void operator()(const Key& key, T&& member, bool /*written*/ = true) const {
    using M = std::remove_cvref_t<T>;
    if constexpr (kIsNullIfZero<M>) {
      (*this)(key, member.value);
    } else if constexpr (std::is_enum_v<M>) {
      std::string name;
      bool found = read(key.name, name);
      if (key.newer) found = read(key.newer, name) || found;
      if (!found) return;
      try {
        parse_into(name, member);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(where_ + ": " + e.what());
      }
    } else if constexpr (std::is_same_v<M, RopeScaling>) {
      if (auto it = j_.find(key.name); it != j_.end() && !it->is_null())
        read_rope_scaling(*it, member, where_);
    } else {
      read(key.name, member);
      if (key.newer) read(key.newer, member);
    }
  }

 private:
  // False when the key is absent or null.
  template <class T>
  bool read(const char* key, T& out) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return false;
    const std::string field = field_where_ + ": field '" + key + "': ";
    const auto expected = [&](const char* what) {
      throw std::invalid_argument(field + what + ", got " + it->dump());
    };
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) expected("expected true/false");
      out = it->get<bool>();
    } else if constexpr (kIsOptional<T>) {
      // Token ids. transformers also writes a list (several EOS tokens); its first id is the one aha uses.
      const nlohmann::json& id = it->is_array() && !it->empty() ? it->front() : *it;
      if (!id.is_number_integer()) expected("expected an integer");
      out = id.get<int64_t>();
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {  // mlp_only_layers
      if (!it->is_array()) throw std::invalid_argument(field + "expected a list of layer indices");
      out.clear();
      for (const auto& v : *it) {
        if (!v.is_number_integer()) throw std::invalid_argument(field + "expected integers, got " + v.dump());
        out.push_back(v.get<int64_t>());
      }
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer()) expected("expected an integer");
      out = it->get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!it->is_number()) expected("expected a number");
      out = it->get<T>();
    } else {
      static_assert(std::is_same_v<T, std::string>);
      if (!it->is_string()) expected("expected a string");
      out = it->get<std::string>();
    }
    return true;
  }

  const nlohmann::json& j_;
  std::string where_, field_where_;
};

nlohmann::json rope_scaling_json(const RopeScaling& rs);

// Writes each key of a field list into one JSON object under its HF name.
struct Writer {
  nlohmann::json& j;

  template <class T>
  void operator()(const Key& key, const T& value, bool written = true) const {
    if (!written) return;
    if constexpr (kIsNullIfZero<T>) {
      j[key.name] = value.value > 0 ? nlohmann::json(value.value) : nlohmann::json(nullptr);
    } else if constexpr (kIsOptional<T>) {
      if (!value) return;
      j[key.name] = *value;
    } else if constexpr (std::is_enum_v<T>) {
      j[key.name] = to_string(value);
    } else if constexpr (std::is_same_v<T, RopeScaling>) {
      j[key.name] = rope_scaling_json(value);
    } else {
      j[key.name] = value;
    }
    if (key.write_newer) j[key.newer] = j[key.name];
  }
};

// Starts from no scaling each time (a v5 rope_parameters without a type means "default", whatever v4's
// rope_scaling said); the other fields keep what an earlier object set.
void read_rope_scaling(const nlohmann::json& rs, RopeScaling& out, const std::string& where) {
  if (!rs.is_object()) throw std::invalid_argument(where + ": rope_scaling must be an object or null");
  out.type = RopeType::None;
  rope_scaling_fields(out, Reader(rs, where, " rope_scaling"));
}

nlohmann::json rope_scaling_json(const RopeScaling& rs) {
  if (rs.type == RopeType::None) return nullptr;
  nlohmann::json j = nlohmann::json::object();
  rope_scaling_fields(rs, Writer{j});
  return j;
}

double yarn_get_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

const char* architecture_name(const std::string& model_type) {
  if (model_type == "deepseek_v2") return "DeepseekV2ForCausalLM";
  if (model_type == "qwen2") return "Qwen2ForCausalLM";
  if (model_type == "llama") return "LlamaForCausalLM";
  if (model_type == "qwen3") return "Qwen3ForCausalLM";
  if (model_type == "qwen3_moe") return "Qwen3MoeForCausalLM";
  return "DeepseekV3ForCausalLM";
}

// Caps on what a config.json may ask for, far above every released model, so that an absurd value is an
// error naming its key instead of an allocator failure (or a loop over 10^12 layers) once the model is built:
//  - one dimension (vocab, widths, heads, experts, positions) <= 2^24 = 16,777,216: the largest released
//    vocabularies hold ~262k tokens, widths ~25k, contexts ~10.5M positions (Llama 4 Scout), experts 384;
//    and a product of two capped dimensions stays far inside int64;
//  - layers <= 4096: the deepest released models have ~130;
//  - parameters <= 2e12 (estimated_parameters): about twice the largest released model (Kimi K2, 1.04e12),
//    and 4 TB in bf16, more than one host holds.
constexpr int64_t kMaxDimension = int64_t{1} << 24;
constexpr int64_t kMaxLayers = 4096;
constexpr double kMaxParameters = 2e12;

// Shortest round-trip form of a double ("1e-06", "-1.0"); "nan" and "inf" for the values JSON cannot hold.
std::string number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return nlohmann::json(value).dump();
}

// "4.4e+12": a count to three digits.
std::string approximately(double count) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", count);
  return text;
}

// The parameter count the config implies: embeddings (and lm_head unless tied), then per layer the
// attention projections and the dense MLP or the routed + shared experts and router. Norms and biases are
// left out (they are O(hidden_size) per layer). In double, so that absurd sizes cannot overflow; called once
// every dimension is capped, so the loop over layers is short.
double estimated_parameters(const ModelConfig& c) {
  const double D = static_cast<double>(c.hidden_size), H = static_cast<double>(c.num_attention_heads);
  double attention = 0;
  if (c.uses_mla()) {
    const double q_out = H * static_cast<double>(c.qk_nope_head_dim + c.qk_rope_head_dim);
    const double q_lora = static_cast<double>(c.q_lora_rank), kv_lora = static_cast<double>(c.kv_lora_rank);
    attention = (c.q_lora_rank > 0 ? D * q_lora + q_lora * q_out : D * q_out) +
                D * (kv_lora + static_cast<double>(c.qk_rope_head_dim)) +
                kv_lora * H * static_cast<double>(c.qk_nope_head_dim + c.v_head_dim) +
                H * static_cast<double>(c.v_head_dim) * D;
  } else {
    attention = D * static_cast<double>(c.head_dim) * 2.0 * (H + static_cast<double>(c.num_key_value_heads));
  }
  const double dense = 3.0 * D * static_cast<double>(c.intermediate_size);
  const double moe = 3.0 * D * static_cast<double>(c.moe_intermediate_size) *
                         static_cast<double>(c.n_routed_experts + c.n_shared_experts) +
                     D * static_cast<double>(c.n_routed_experts);
  double total = static_cast<double>(c.vocab_size) * D * (c.tie_word_embeddings ? 1.0 : 2.0);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) total += attention + (c.is_moe_layer(l) ? moe : dense);
  return total;
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
  if (rope_scaling.type == RopeType::Yarn && rope_scaling.mscale_all_dim != 0.0) {
    double m = yarn_get_mscale(rope_scaling.factor, rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

bool ModelConfig::uses_sdpa() const {
  if (attn_implementation != "sdpa" && attn_implementation != "eager")
    throw std::invalid_argument("attn_implementation '" + attn_implementation +
                                "' is not supported; supported: sdpa, eager");
  return attn_implementation == "sdpa";
}

std::pair<int64_t, int64_t> ModelConfig::cache_widths() const {
  if (uses_mla()) return {kv_lora_rank, qk_rope_head_dim};
  return {num_key_value_heads * head_dim, num_key_value_heads * head_dim};
}

// scoring_func, topk_method and rope_scaling.type need no check here: their enums hold only supported values.
// Every number that sizes a tensor, indexes one or enters the arithmetic of a forward gets its range here,
// so that a bad config.json is an error naming the key at load, never NaN log-probs, an index error deep in
// torch or an allocator failure. The size caps run before anything loops over layers or allocates.
void ModelConfig::validate() const {
  auto require = [&](bool ok, const std::string& msg) {
    if (!ok) throw std::invalid_argument("config.json: " + msg);
  };
  const bool known = uses_mla() || model_type == "qwen2" || model_type == "llama" || model_type == "qwen3" ||
                     model_type == "qwen3_moe";
  require(known, "model_type '" + model_type + "' is not supported; supported: " + kSupportedModelTypes);
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"vocab_size", vocab_size},
                                   {"hidden_size", hidden_size},
                                   {"num_hidden_layers", num_hidden_layers},
                                   {"num_attention_heads", num_attention_heads},
                                   {"max_position_embeddings", max_position_embeddings}})
    require(value > 0, std::string(key) + " must be > 0, got " + std::to_string(value));
  const std::pair<const char*, int64_t> dimensions[] = {
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"moe_intermediate_size", moe_intermediate_size},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"head_dim", head_dim},
      {"q_lora_rank", q_lora_rank},
      {"kv_lora_rank", kv_lora_rank},
      {"qk_nope_head_dim", qk_nope_head_dim},
      {"qk_rope_head_dim", qk_rope_head_dim},
      {"v_head_dim", v_head_dim},
      {"n_routed_experts", n_routed_experts},
      {"n_shared_experts", n_shared_experts},
      {"max_position_embeddings", max_position_embeddings},
      {"rope_scaling original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  for (const auto& [key, value] : dimensions)
    require(value <= kMaxDimension, std::string(key) + " must be <= " + std::to_string(kMaxDimension) +
                                        " (aha's cap on any one dimension), got " + std::to_string(value));
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"num_hidden_layers", num_hidden_layers},
                                   {"num_nextn_predict_layers", num_nextn_predict_layers}})
    require(value <= kMaxLayers, std::string(key) + " must be <= " + std::to_string(kMaxLayers) +
                                     " (aha's cap on layers), got " + std::to_string(value));
  require(mlp_only_layers.size() <= static_cast<size_t>(num_hidden_layers),
          "mlp_only_layers lists " + std::to_string(mlp_only_layers.size()) +
              " layers, more than num_hidden_layers (" + std::to_string(num_hidden_layers) + ")");
  if (uses_mla()) {
    require(kv_lora_rank > 0, "kv_lora_rank must be > 0, got " + std::to_string(kv_lora_rank));
    require(qk_nope_head_dim > 0 && v_head_dim > 0, "qk_nope_head_dim and v_head_dim must be > 0, got " +
                                                        std::to_string(qk_nope_head_dim) + " and " +
                                                        std::to_string(v_head_dim));
    require(qk_rope_head_dim > 0 && qk_rope_head_dim % 2 == 0,
            "qk_rope_head_dim must be even and > 0, got " + std::to_string(qk_rope_head_dim));
    require(q_lora_rank >= 0,
            "q_lora_rank must be >= 0 (0 or null: no q compression), got " + std::to_string(q_lora_rank));
  } else {
    require(num_key_value_heads > 0 && num_attention_heads % num_key_value_heads == 0,
            "num_key_value_heads must be > 0 and divide num_attention_heads (" +
                std::to_string(num_attention_heads) + "), got " + std::to_string(num_key_value_heads));
    require(head_dim > 0 && head_dim % 2 == 0,
            "head_dim must be even and > 0, got " + std::to_string(head_dim));
    require(rope_scaling.type != RopeType::Yarn || rope_scaling.mscale_all_dim == 0.0,
            "rope_scaling mscale_all_dim is an MLA (DeepSeek) field; not supported with " + model_type);
  }
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"n_routed_experts", n_routed_experts},
                                   {"n_shared_experts", n_shared_experts},
                                   {"first_k_dense_replace", first_k_dense_replace},
                                   {"num_nextn_predict_layers", num_nextn_predict_layers}})
    require(value >= 0, std::string(key) + " must be >= 0, got " + std::to_string(value));
  require(decoder_sparse_step >= 1,
          "decoder_sparse_step must be >= 1, got " + std::to_string(decoder_sparse_step));
  bool any_dense = n_routed_experts == 0;
  for (int64_t l = 0; l < num_hidden_layers; ++l) any_dense = any_dense || !is_moe_layer(l);
  if (any_dense)
    require(intermediate_size > 0, "intermediate_size must be > 0 when there are dense layers, got " +
                                       std::to_string(intermediate_size));
  if (n_routed_experts > 0) {
    require(moe_intermediate_size > 0,
            "moe_intermediate_size must be > 0, got " + std::to_string(moe_intermediate_size));
    require(n_group > 0 && n_routed_experts % n_group == 0, "n_routed_experts must be a multiple of n_group");
    if (n_group > 1)
      require(n_routed_experts / n_group >= 2,
              "each expert group needs >= 2 experts (groups score by top-2)");
    require(topk_group >= 1 && topk_group <= n_group, "topk_group must be in [1, n_group]");
    require(num_experts_per_tok >= 1 && num_experts_per_tok <= topk_group * (n_routed_experts / n_group),
            "num_experts_per_tok must be in [1, topk_group * n_routed_experts / n_group]");
  }
  const double parameters = estimated_parameters(*this);
  require(parameters <= kMaxParameters,
          "vocab_size, hidden_size, num_hidden_layers and the attention and MLP/expert sizes imply about " +
              approximately(parameters) + " parameters, more than aha's cap of " +
              approximately(kMaxParameters));

  // Real numbers: a NaN or an infinity here is a NaN in every log-prob.
  auto positive = [&](const char* key, double value) {
    require(value > 0 && std::isfinite(value),
            std::string(key) + " must be > 0 and finite, got " + number(value));
  };
  positive("rms_norm_eps", rms_norm_eps);
  positive("rope_theta", rope_theta);
  positive("routed_scaling_factor", routed_scaling_factor);
  require(initializer_range >= 0 && std::isfinite(initializer_range),
          "initializer_range must be >= 0 and finite, got " + number(initializer_range));
  const RopeScaling& rs = rope_scaling;
  if (rs.type != RopeType::None) positive("rope_scaling factor", rs.factor);
  if (rs.type == RopeType::Yarn || rs.type == RopeType::Llama3)
    require(rs.original_max_position_embeddings > 0,
            "rope_scaling original_max_position_embeddings must be > 0, got " +
                std::to_string(rs.original_max_position_embeddings));
  if (rs.type == RopeType::Yarn) {
    // The correction range divides by log(rope_theta) and takes log(original context / beta).
    require(rope_theta != 1.0, "rope_theta must not be 1 with YaRN scaling (it divides by log(rope_theta))");
    positive("rope_scaling beta_fast", rs.beta_fast);
    positive("rope_scaling beta_slow", rs.beta_slow);
    for (const auto& [key, value] : {std::pair<const char*, double>{"rope_scaling mscale", rs.mscale},
                                     {"rope_scaling mscale_all_dim", rs.mscale_all_dim}})
      require(std::isfinite(value), std::string(key) + " must be finite, got " + number(value));
  }
  if (rs.type == RopeType::Llama3) {
    positive("rope_scaling low_freq_factor", rs.low_freq_factor);
    positive("rope_scaling high_freq_factor", rs.high_freq_factor);
    require(rs.high_freq_factor > rs.low_freq_factor,
            "rope_scaling high_freq_factor must exceed low_freq_factor, got " + number(rs.high_freq_factor) +
                " <= " + number(rs.low_freq_factor));
  }

  require(attn_implementation == "sdpa" || attn_implementation == "eager",
          "attn_implementation '" + attn_implementation +
              "' is not supported; supported: sdpa, eager (a runtime setting, not a config.json key)");

  // Token ids index the embedding.
  for (const auto& [key, id] : {std::pair<const char*, std::optional<int64_t>>{"bos_token_id", bos_token_id},
                                {"eos_token_id", eos_token_id}})
    if (id)
      require(*id >= 0 && *id < vocab_size, std::string(key) + " must be in [0, vocab_size = " +
                                                std::to_string(vocab_size) + "), got " + std::to_string(*id));
}

// The keys transformers' config class for model_type reads, under its names; nothing stale (no
// quantization_config) is carried over from the checkpoint aha loaded.
nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {{"architectures", {architecture_name(model_type)}}, {"hidden_act", "silu"}};
  const Writer write{j};
  common_fields(*this, write);
  if (uses_mla()) {
    moe_fields(*this, write);
    deepseek_fields(*this, write);
    // Fixed by aha's MLA blocks: a k/v per query head, MoE from first_k_dense_replace on, no attention bias.
    j.update(
        {{"num_key_value_heads", num_attention_heads}, {"moe_layer_freq", 1}, {"attention_bias", false}});
  } else {
    gqa_fields(*this, write);
    if (model_type == "qwen2") j["use_sliding_window"] = false;
    if (model_type == "llama") j["mlp_bias"] = false;
    if (model_type == "qwen3_moe") {
      moe_fields(*this, write);
      qwen3_moe_fields(*this, write);
    }
  }
  return j;
}

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
  ModelConfig c;
  const Reader read(j, where);
  common_fields(c, read);
  if (c.model_type == "deepseek_v2" || c.model_type == "qwen3_moe") {
    // DeepSeek-V2's and Qwen3-MoE's router: softmax over all experts, plain top-k, no bias; the weights
    // are renormalised only if norm_topk_prob says so (false in both config classes by default).
    c.scoring_func = ScoringFunc::Softmax;
    c.topk_method = TopkMethod::Greedy;
    c.norm_topk_prob = false;
  }
  moe_fields(c, read);
  deepseek_fields(c, read);  // whatever model_type says: a key that is present is honoured
  if (auto it = j.find("rope_parameters"); it != j.end() && !it->is_null()) {
    // transformers v5 moves rope_theta and the rope_scaling keys into one object, which wins over v4's.
    const std::string params_where = where + " rope_parameters";
    Reader(*it, params_where)("rope_theta", c.rope_theta);
    read_rope_scaling(*it, c.rope_scaling, params_where);
  }
  if (!c.uses_mla()) {
    c.num_key_value_heads = c.num_attention_heads;  // transformers' default: plain multi-head attention
    gqa_fields(c, read);
    if (c.head_dim == 0 && c.num_attention_heads > 0) c.head_dim = c.hidden_size / c.num_attention_heads;
    if (c.model_type == "qwen2")
      c.qkv_bias = true;  // Qwen2Attention always has q/k/v bias and no o bias
    else
      c.o_bias = c.qkv_bias;
    c.qk_norm = c.model_type == "qwen3" || c.model_type == "qwen3_moe";
    if (c.model_type == "qwen3_moe") qwen3_moe_fields(c, read);
    // Keys to_json writes with the one value aha implements.
    bool sliding = false, mlp_bias = false;
    std::string act = "silu";
    if (c.model_type == "qwen2") read("use_sliding_window", sliding);
    if (sliding)
      throw std::invalid_argument(where +
                                  ": field 'use_sliding_window': true is not supported; expected false");
    if (c.model_type == "llama") read("mlp_bias", mlp_bias);
    if (mlp_bias)
      throw std::invalid_argument(where + ": field 'mlp_bias': true is not supported; expected false");
    read("hidden_act", act);
    if (act != "silu")
      throw std::invalid_argument(where + ": field 'hidden_act': '" + act +
                                  "' is not supported; expected silu");
  }
  // pad_token_id is not read: aha pads with eos_token_id, and old conversions carry pad_token_id -1.
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    throw std::invalid_argument(where + msg.substr(std::string("config.json").size()));
  }
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  // A FIFO would block the read forever, a directory reads as nothing: only a regular file (or a link to
  // one) is a config.
  std::error_code error;
  const auto type = std::filesystem::status(config_json, error).type();
  if (type != std::filesystem::file_type::regular && type != std::filesystem::file_type::not_found)
    throw std::runtime_error(config_json.string() + ": not a regular file (expected an HF config.json)");
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
