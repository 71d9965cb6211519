// Grouped-query attention; see gqa.h. The eager scores and softmax follow transformers' eager attention:
// q·k in the activation dtype, scaled by head_dim^-0.5, softmax in fp32, cast back. SDPA's kernel keeps
// scores and softmax in fp32 (fp64 for double inputs) whatever the activation dtype.
#include "policy/gqa.h"

#include <limits>

#include "policy/rope.h"

namespace aha::policy {

GqaImpl::GqaImpl(const ModelConfig& c)
    : n_heads(c.num_attention_heads),
      n_kv_heads(c.num_key_value_heads),
      head_dim(c.head_dim),
      softmax_scale(c.softmax_scale()),
      use_sdpa(c.uses_sdpa()) {
  q_proj = register_module("q_proj", Linear(c.hidden_size, n_heads * head_dim, c.qkv_bias));
  k_proj = register_module("k_proj", Linear(c.hidden_size, n_kv_heads * head_dim, c.qkv_bias));
  v_proj = register_module("v_proj", Linear(c.hidden_size, n_kv_heads * head_dim, c.qkv_bias));
  o_proj = register_module("o_proj", Linear(n_heads * head_dim, c.hidden_size, c.o_bias));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(head_dim, c.rms_norm_eps));
    k_norm = register_module("k_norm", RMSNorm(head_dim, c.rms_norm_eps));
  }
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> GqaImpl::project(const torch::Tensor& x,
                                                                        const torch::Tensor& cos,
                                                                        const torch::Tensor& sin) {
  const int64_t B = x.size(0), T = x.size(1);
  auto q = q_proj(x).view({B, T, n_heads, head_dim});     // [B, T, H, Dh]
  auto k = k_proj(x).view({B, T, n_kv_heads, head_dim});  // [B, T, Hkv, Dh]
  auto v = v_proj(x).view({B, T, n_kv_heads, head_dim});  // [B, T, Hkv, Dh]
  if (q_norm) {
    q = q_norm(q);
    k = k_norm(k);
  }
  auto cos_h = cos.unsqueeze(2), sin_h = sin.unsqueeze(2);  // [B, T, 1, Dh/2]
  return {apply_rope_half(q, cos_h, sin_h), apply_rope_half(k, cos_h, sin_h), v};
}

torch::Tensor GqaImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                               CacheEntry* cache_out) {
  const int64_t B = x.size(0), T = x.size(1);
  auto [q, k, v] = project(x, cos, sin);
  if (cache_out) *cache_out = {k.reshape({B, T, n_kv_heads * head_dim}), v.reshape({B, T, n_kv_heads * head_dim})};
  auto out = use_sdpa ? attend_sdpa(q, k, v) : attend_eager(q, k, v);  // [B, T, H, Dh]
  return o_proj(out.reshape({B, T, n_heads * head_dim}));
}

// The reference: query head h = kv * G + g reads kv head kv, spelled out by viewing H as [Hkv, G].
torch::Tensor GqaImpl::attend_eager(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t B = q.size(0), T = q.size(1), G = n_heads / n_kv_heads;
  auto q_grouped = q.view({B, T, n_kv_heads, G, head_dim});                            // [B, T, Hkv, G, Dh]
  auto scores = torch::einsum("btkgd,bskd->bkgts", {q_grouped, k}) * softmax_scale;  // [B, Hkv, G, T, T]
  auto future = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(1);
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  auto probs = torch::softmax(scores.to(torch::kFloat), /*dim=*/-1).to(q.scalar_type());
  return torch::einsum("bkgts,bskd->btkgd", {probs, v}).reshape({B, T, n_heads, head_dim});  // [B, T, H, Dh]
}

// enable_gqa repeats each kv head over its G query heads in the same order as attend_eager's [Hkv, G]
// view (query head h reads kv head h / G). CPU's fused kernel (test_sdpa.cpp checks it is chosen) and,
// per ATen's sdp_utils.cpp, CUDA's flash and cuDNN kernels take Hkv < H as it is, so k and v are never
// copied G times; SDPA's math fallback would repeat_interleave them itself.
torch::Tensor GqaImpl::attend_sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  auto out = at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                              /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true,
                                              /*scale=*/softmax_scale, /*enable_gqa=*/true);  // [B, H, T, Dh]
  return out.transpose(1, 2);  // [B, T, H, Dh]
}

torch::Tensor GqaImpl::decode(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                              const torch::Tensor& positions_B, torch::Tensor& key_cache, torch::Tensor& value_cache) {
  const int64_t B = x.size(0), S = key_cache.size(1), G = n_heads / n_kv_heads;
  auto [q, k, v] = project(x, cos, sin);
  auto rows = torch::arange(B, positions_B.options());
  key_cache.index_put_({rows, positions_B}, k.reshape({B, n_kv_heads * head_dim}));    // [B, S, Hkv*Dh] <- [B, Hkv*Dh]
  value_cache.index_put_({rows, positions_B}, v.reshape({B, n_kv_heads * head_dim}));

  auto keys = key_cache.view({B, S, n_kv_heads, head_dim});      // [B, S, Hkv, Dh]
  auto values = value_cache.view({B, S, n_kv_heads, head_dim});  // [B, S, Hkv, Dh]
  auto q_grouped = q.view({B, n_kv_heads, G, head_dim});         // [B, Hkv, G, Dh]
  auto scores = torch::einsum("bkgd,bskd->bkgs", {q_grouped, keys}) * softmax_scale;  // [B, Hkv, G, S]
  auto beyond = torch::arange(S, positions_B.options()).unsqueeze(0) > positions_B.unsqueeze(1);  // [B, S]
  scores = scores.masked_fill(beyond.view({B, 1, 1, S}), -std::numeric_limits<float>::infinity());
  auto probs = torch::softmax(scores.to(torch::kFloat), /*dim=*/-1).to(x.scalar_type());
  auto out = torch::einsum("bkgs,bskd->bkgd", {probs, values}).reshape({B, 1, n_heads * head_dim});  // [B, 1, H*Dh]
  return o_proj(out);
}

}  // namespace aha::policy
