// MLA naive and absorbed forms. Shapes per the legend in mla.h. The softmax scale is
// qk_head_dim^-0.5 · mscale² in both forms (not (C+R)^-0.5 in the absorbed one: same attention) and in
// both implementations of the naive one (passed to SDPA explicitly: its default would be Dqk^-0.5).
#include "policy/mla.h"

#include <algorithm>
#include <limits>

#include "policy/rope.h"

namespace aha::policy {

namespace {
// HF builds q_a_layernorm / kv_a_layernorm with the default eps 1e-6 whatever rms_norm_eps says (spec §1.4.1).
constexpr double kLatentNormEps = 1e-6;
}  // namespace

MlaImpl::MlaImpl(const ModelConfig& c)
    : n_heads(c.num_attention_heads),
      q_lora_rank(c.q_lora_rank),
      kv_lora_rank(c.kv_lora_rank),
      nope_dim(c.qk_nope_head_dim),
      rope_dim(c.qk_rope_head_dim),
      v_dim(c.v_head_dim),
      softmax_scale(c.softmax_scale()),
      use_sdpa(c.uses_sdpa()) {
  const int64_t q_out = n_heads * (nope_dim + rope_dim);
  if (q_lora_rank > 0) {
    q_a_proj = register_module("q_a_proj", Linear(c.hidden_size, q_lora_rank));
    q_a_layernorm = register_module("q_a_layernorm", RMSNorm(q_lora_rank, kLatentNormEps));
    q_b_proj = register_module("q_b_proj", Linear(q_lora_rank, q_out));
  } else {
    q_proj = register_module("q_proj", Linear(c.hidden_size, q_out));
  }
  kv_a_proj_with_mqa =
      register_module("kv_a_proj_with_mqa", Linear(c.hidden_size, kv_lora_rank + rope_dim));
  kv_a_layernorm = register_module("kv_a_layernorm", RMSNorm(kv_lora_rank, kLatentNormEps));
  kv_b_proj = register_module("kv_b_proj", Linear(kv_lora_rank, n_heads * (nope_dim + v_dim)));
  o_proj = register_module("o_proj", Linear(n_heads * v_dim, c.hidden_size));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor> MlaImpl::project(const torch::Tensor& x,
                                                                                      const torch::Tensor& cos,
                                                                                      const torch::Tensor& sin) {
  const int64_t B = x.size(0), T = x.size(1);
  auto q = q_lora_rank > 0 ? q_b_proj(q_a_layernorm(q_a_proj(x))) : q_proj(x);
  q = q.view({B, T, n_heads, nope_dim + rope_dim});                  // [B, T, H, Dn+R], head-major rows
  auto q_nope = q.narrow(/*dim=*/-1, 0, nope_dim);                   // [B, T, H, Dn]
  auto q_pe = apply_rope(q.narrow(-1, nope_dim, rope_dim), cos.unsqueeze(2), sin.unsqueeze(2));  // [B, T, H, R]
  auto kva = kv_a_proj_with_mqa(x);                                  // [B, T, C+R]
  auto c_kv = kv_a_layernorm(kva.narrow(-1, 0, kv_lora_rank));       // [B, T, C]
  auto k_pe = apply_rope(kva.narrow(-1, kv_lora_rank, rope_dim), cos, sin);  // [B, T, R], shared by heads
  return {q_nope, q_pe, c_kv, k_pe};
}

torch::Tensor MlaImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                               CacheEntry* latent_out) {
  const int64_t B = x.size(0), T = x.size(1);
  auto [q_nope, q_pe, c_kv, k_pe] = project(x, cos, sin);
  if (latent_out) *latent_out = {c_kv, k_pe};
  auto kv = kv_b_proj(c_kv).view({B, T, n_heads, nope_dim + v_dim});  // [B, T, H, Dn+Dv]
  auto k_nope = kv.narrow(-1, 0, nope_dim);                           // [B, T, H, Dn]
  auto v = kv.narrow(-1, nope_dim, v_dim);                            // [B, T, H, Dv]
  auto out = use_sdpa ? attend_sdpa(q_nope, q_pe, k_nope, k_pe, v)
                      : attend_eager(q_nope, q_pe, k_nope, k_pe, v);  // [B, T, H, Dv]
  return o_proj(out.reshape({B, T, n_heads * v_dim}));
}

// The reference: q·k in the activation dtype as two einsums (the rope part against the one shared k_pe),
// softmax in fp32 and cast back, as transformers' eager attention does.
torch::Tensor MlaImpl::attend_eager(const torch::Tensor& q_nope, const torch::Tensor& q_pe,
                                    const torch::Tensor& k_nope, const torch::Tensor& k_pe,
                                    const torch::Tensor& v) {
  const int64_t T = q_nope.size(1);
  auto scores = (torch::einsum("bthd,bshd->bhts", {q_nope, k_nope}) +
                 torch::einsum("bthr,bsr->bhts", {q_pe, k_pe})) * softmax_scale;  // [B, H, T, T]
  auto bool_options = torch::TensorOptions().dtype(torch::kBool).device(q_nope.device());
  auto future = torch::ones({T, T}, bool_options).triu(1);
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  auto probs = torch::softmax(scores.to(torch::kFloat), /*dim=*/-1).to(q_nope.scalar_type());
  return torch::einsum("bhts,bshd->bthd", {probs, v});  // [B, T, H, Dv]
}

// One head dim for q, k and v: CPU's fused kernel (ATen sdp_utils_cpp.cpp, check_head_dim_size_cpp) and
// CUDA's flash kernel take q, k, v only with one last dim, and otherwise SDPA falls back to its math path,
// which materialises [B, H, T, T] again (CUDA's mem-efficient and cuDNN kernels would take Dv != Dqk, but
// one code path on every device is the one the CPU tests check). So the narrower side is zero-padded to
// the wider and the output narrowed back: zero q/k dims add nothing to q·k, zero v dims give zero outputs.
// DeepSeek-V3 (Dqk 192, Dv 128) pads v; the padding costs [B, H, T, Dqk - Dv], not [B, H, T, T].
torch::Tensor MlaImpl::attend_sdpa(const torch::Tensor& q_nope, const torch::Tensor& q_pe,
                                   const torch::Tensor& k_nope, const torch::Tensor& k_pe,
                                   const torch::Tensor& v) {
  const int64_t B = q_nope.size(0), T = q_nope.size(1);
  const int64_t dim = std::max(nope_dim + rope_dim, v_dim);
  auto pad = [dim](const torch::Tensor& t) {
    return t.size(-1) == dim ? t : torch::constant_pad_nd(t, {0, dim - t.size(-1)});
  };
  auto k_pe_heads = k_pe.unsqueeze(2).expand({B, T, n_heads, rope_dim});  // [B, T, H, R], one k_pe per head
  auto q = pad(torch::cat({q_nope, q_pe}, /*dim=*/-1)).transpose(1, 2);        // [B, H, T, dim]
  auto k = pad(torch::cat({k_nope, k_pe_heads}, /*dim=*/-1)).transpose(1, 2);  // [B, H, T, dim]
  auto out = at::scaled_dot_product_attention(q, k, pad(v).transpose(1, 2), /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                              /*is_causal=*/true, /*scale=*/softmax_scale);  // [B, H, T, dim]
  return out.transpose(1, 2).narrow(/*dim=*/-1, 0, v_dim);  // [B, T, H, Dv]
}

torch::Tensor MlaImpl::decode(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                              const torch::Tensor& positions_B, torch::Tensor& kv_cache, torch::Tensor& rope_cache) {
  const int64_t B = x.size(0), S = kv_cache.size(1);
  auto [q_nope, q_pe, c_kv, k_pe] = project(x, cos, sin);
  auto rows = torch::arange(B, positions_B.options());
  kv_cache.index_put_({rows, positions_B}, c_kv.squeeze(1));    // cache [B, S, C] <- [B, C]
  rope_cache.index_put_({rows, positions_B}, k_pe.squeeze(1));  // cache [B, S, R] <- [B, R]

  auto w = kv_b_proj->weight.view({n_heads, nope_dim + v_dim, kv_lora_rank});  // [H, Dn+Dv, C]
  auto w_uk = w.narrow(1, 0, nope_dim);                                        // [H, Dn, C]
  auto w_uv = w.narrow(1, nope_dim, v_dim);                                    // [H, Dv, C]
  auto q_latent = torch::einsum("bhd,hdc->bhc", {q_nope.squeeze(1), w_uk});    // [B, H, C]
  auto scores = (torch::einsum("bhc,bsc->bhs", {q_latent, kv_cache}) +
                 torch::einsum("bhr,bsr->bhs", {q_pe.squeeze(1), rope_cache})) * softmax_scale;  // [B, H, S]
  auto beyond = torch::arange(S, positions_B.options()).unsqueeze(0) > positions_B.unsqueeze(1);  // [B, S]
  scores = scores.masked_fill(beyond.unsqueeze(1), -std::numeric_limits<float>::infinity());
  auto probs = torch::softmax(scores.to(torch::kFloat), /*dim=*/-1).to(x.scalar_type());
  auto out_latent = torch::einsum("bhs,bsc->bhc", {probs, kv_cache});         // [B, H, C]
  auto out = torch::einsum("bhc,hdc->bhd", {out_latent, w_uv}).reshape({B, 1, n_heads * v_dim});  // [B, 1, H*Dv]
  return o_proj(out);
}

}  // namespace aha::policy
