// lm_head + log-prob of the chosen token + entropy, fused per chunk of rows, with the logits recomputed in
// the backward (as Cut Cross-Entropy does, Wijmans et al. 2024, here with plain torch ops per chunk):
//   logits[n, :] = (hidden[n, :] · Wᵀ) / temperature                      (matmul in W's dtype, then fp32)
//   logprob[n]   = logits[n, t_n] − lse[n],   lse[n] = logsumexp_v logits[n, v]
//   H[n]         = −Σ_v p[n, v] · log p[n, v],   p = exp(logits − lse)
// Autograd on the plain path keeps every chunk's [rows, V] fp32 logits alive until the backward; here the
// forward runs without a graph and saves only hidden, W, targets and per-row statistics (lse as max and
// log Σ exp, and H: [N] each), and the backward recomputes one chunk of logits at a time and writes
//   grad_logits = g_logp · (onehot(t) − p) + g_H · (−p · (log p + H))      (entropy term: entropy_grad only)
//   grad_hidden = (grad_logits / temperature) @ W,   grad_W = Σ_chunks (grad_logits / temperature)ᵀ @ hidden
// Peak memory is a few [chunk_rows, V] fp32 buffers, whatever N is; the price is a second lm_head matmul.
// Differences from the plain path: the gradient is once-differentiable (no double backward), and grad_W is
// accumulated across chunks in place (addmm_) rather than summed by the autograd engine.
// Legend: N rows (tokens), D hidden size, V vocabulary.
#pragma once

#include <torch/types.h>

#include <algorithm>
#include <cstdint>

namespace aha::kernels {

struct LmHeadLogprobs {
  torch::Tensor logprobs_N;  // [N] float32, differentiable w.r.t. hidden and weight
  torch::Tensor entropy_N;   // [N] float32; undefined unless with_entropy; no grad_fn unless entropy_grad
};

// hidden_ND: [N, D] float32 or bfloat16; weight_VD: [V, D] (the lm_head or the tied embedding weight), same
// dtype and device; targets_N: [N] int64, same device. The logits are hidden @ weightᵀ in the weights' dtype,
// cast to float32, divided by temperature (> 0). chunk_rows (> 0) rows are materialised at a time.
// entropy_grad gives the entropy a gradient (an entropy bonus); it is ignored when !with_entropy.
// Gradients come back in the inputs' dtype, only for the inputs that require grad. CPU and CUDA (plain
// torch ops). Throws std::invalid_argument on wrong dims, dtypes, devices, chunk_rows or temperature.
// Target range: checked on CPU (by gather), unchecked on CUDA (a device-side assert).
// The chunk the trainer uses: 64 MiB of fp32 logits per [chunk_rows, V] buffer, at least 16 rows (110 rows
// of Qwen2's 151,936-token vocabulary).
inline int64_t default_chunk_rows(int64_t vocab_size) { return std::max<int64_t>(16, (int64_t{1} << 24) / vocab_size); }

LmHeadLogprobs lm_head_logprobs(const torch::Tensor& hidden_ND, const torch::Tensor& weight_VD,
                                const torch::Tensor& targets_N, double temperature, int64_t chunk_rows,
                                bool with_entropy, bool entropy_grad);

// The plain autograd path the fused one must equal: per chunk, matmul → .to(float32) → / temperature →
// token_logprobs, and H from log_softmax (computed under no-grad unless entropy_grad). Same arguments.
LmHeadLogprobs lm_head_logprobs_reference(const torch::Tensor& hidden_ND, const torch::Tensor& weight_VD,
                                          const torch::Tensor& targets_N, double temperature,
                                          int64_t chunk_rows, bool with_entropy, bool entropy_grad);

}  // namespace aha::kernels
