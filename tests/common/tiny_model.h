// Test helpers: a tiny DeepSeek-V3-style config that exercises every feature (q_lora, groups, shared
// expert, dense first layer) and a random-weight policy directory built from it.
#pragma once

#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "policy/checkpoint.h"
#include "policy/config.h"
#include "tests/common/temp_dir.h"

namespace aha::testing {

inline policy::ModelConfig tiny_config(int64_t vocab_size = 320) {
  policy::ModelConfig c;
  c.vocab_size = vocab_size;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.moe_intermediate_size = 16;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.q_lora_rank = 24;
  c.kv_lora_rank = 16;
  c.qk_nope_head_dim = 8;
  c.qk_rope_head_dim = 4;
  c.v_head_dim = 8;
  c.n_routed_experts = 8;
  c.n_shared_experts = 1;
  c.num_experts_per_tok = 2;
  c.n_group = 4;
  c.topk_group = 2;
  c.routed_scaling_factor = 2.5;
  c.first_k_dense_replace = 1;
  c.max_position_embeddings = 256;
  c.eos_token_id = 0;
  c.initializer_range = 0.2;  // large enough that attention and routing are far from uniform
  return c;
}

inline std::filesystem::path tiny_tokenizer_path() {
  return std::filesystem::path(AHA_SOURCE_DIR) / "examples/tiny/tokenizer.json";
}

// A random-weight policy directory (config.json, model.safetensors, tokenizer.json).
inline std::filesystem::path make_tiny_policy(const std::filesystem::path& dir, uint64_t seed = 1) {
  policy::Transformer model(tiny_config());
  model->init_weights(seed);
  policy::save_policy(*model, tiny_tokenizer_path(), dir);
  return dir;
}

// max |a - b| / max |b|
inline double max_relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

}  // namespace aha::testing
