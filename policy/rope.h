// Rotary position embedding.
//  - MLA (decoupled RoPE): rotates only the qk_rope_head_dim dims of q (per head) and the single shared
//    k_pe, on consecutive pairs (2j, 2j+1) as DeepSeek's original model.py does (apply_rope). HF permutes
//    to the "rotate_half" layout instead; both give the same q·k (spec §1.4.3).
//  - GQA (Qwen2, Llama, Qwen3): the whole head, pairing dim j with dim j + head_dim/2 ("rotate_half",
//    apply_rope_half), the layout those checkpoints' q_proj/k_proj rows are trained for.
// Frequency scaling: YaRN (inv_freq and the attention_factor on cos/sin as transformers'
// _compute_yarn_parameters), linear, and Llama 3's smooth low/high-frequency blend.
#pragma once

#include <torch/types.h>

#include "policy/config.h"

namespace aha::policy {

struct Rope {
  torch::Tensor inv_freq;        // [R/2] float32, R = config.rope_dim()
  double attention_factor = 1.0; // multiplies cos and sin (YaRN only; 1.0 for every released DeepSeek config)

  static Rope make(const ModelConfig& config);

  // positions [...] int64 -> cos, sin [..., R/2] float32
  std::pair<torch::Tensor, torch::Tensor> angles(const torch::Tensor& positions) const;
};

// x [..., R] with cos/sin broadcastable to [..., R/2]; rotates pairs (x[2j], x[2j+1]).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
// x [..., R]; rotates (x[j], x[j + R/2]) ("rotate_half").
torch::Tensor apply_rope_half(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace aha::policy
