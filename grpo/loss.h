// The GRPO policy loss: clipped surrogate + k3 KL to the reference, per token, then one of three
// aggregations (DeepSeekMath eq. 3, DAPO eq. 8, Dr. GRPO). Everything is per generated token of o_i:
//
//   log_ratio_t = clamp(logπ_θ − logπ_old, −max_log_ratio, +max_log_ratio)
//   ratio_t     = exp(log_ratio_t)                                             (ρ_{i,t})
//   surrogate_t = min(ratio_t · A_i, clamp(ratio_t, 1 − clip_low, 1 + clip_high) · A_i)
//   k3_t        = exp(logπ_ref − logπ_θ) − (logπ_ref − logπ_θ) − 1                (unbiased, ≥ 0)
//   loss_t      = −surrogate_t + beta · k3_t
//
// and with mask_t ∈ {0, 1} marking generated (not prompt, not padding) tokens, N sequences:
//   SeqMeanTokenMean     (GRPO, 1/|o_i|):  (1/N) Σ_i [ Σ_t loss_t·mask_t / max(Σ_t mask_t, 1) ]
//   TokenMean            (DAPO):           Σ_i Σ_t loss_t·mask_t / max(Σ_i Σ_t mask_t, 1)
//   SeqMeanTokenSumNorm  (Dr. GRPO):       Σ_i Σ_t loss_t·mask_t / (N · sum_norm)
//
// Differences from the papers: the log-ratio is clamped before exp (a stale or off-policy token can have
// logπ_θ − logπ_old of hundreds, and exp overflows fp32 past 88.7, turning the whole loss into inf/NaN);
// the same clamp bounds logπ_ref − logπ_θ inside k3 for the same reason. Within ±max_log_ratio (ratio
// 2e-9 .. 4.9e8 at the default 20) both are exactly the formulas above.
#pragma once

#include <torch/types.h>

#include <string>

namespace aha::grpo {

enum class Aggregation { SeqMeanTokenMean, TokenMean, SeqMeanTokenSumNorm };

// "seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm"; anything else throws
// std::invalid_argument naming the value and the allowed ones.
Aggregation parse_aggregation(const std::string& name);
std::string to_string(Aggregation aggregation);

struct PolicyLossConfig {
  double clip_low = 0.2;        // ε_low: ratio is clipped below at 1 − clip_low
  double clip_high = 0.2;       // ε_high: above at 1 + clip_high (DAPO's clip-higher uses 0.28)
  double beta = 0.0;            // k3 KL coefficient; 0 skips the reference policy entirely
  double max_log_ratio = 20.0;  // clamp on logπ_θ − logπ_old (and logπ_ref − logπ_θ) before exp
  Aggregation aggregation = Aggregation::SeqMeanTokenMean;
  double sum_norm = 1.0;  // divisor per sequence for SeqMeanTokenSumNorm, e.g. max_new_tokens

  void validate() const;  // throws std::invalid_argument naming the field, the value and the allowed range
};

struct PolicyLossOutput {
  torch::Tensor loss;            // scalar, differentiable w.r.t. logp: policy_loss + beta · kl
  torch::Tensor policy_loss;     // detached scalar: the −surrogate term, same aggregation as loss
  torch::Tensor kl;              // detached scalar: k3, same aggregation; 0 when beta == 0 and no ref given
  torch::Tensor clip_frac_low;   // detached: share of masked tokens with A < 0 and ratio < 1 − clip_low
  torch::Tensor clip_frac_high;  // detached: share of masked tokens with A > 0 and ratio > 1 + clip_high
  torch::Tensor ratio_mean;      // detached: mean ratio over masked tokens
};

// logp_NT:      [N, T] logπ_θ of each generated token (requires grad)
// old_logp_NT:  [N, T] logπ_old recorded at rollout (treated as a constant)
// ref_logp_NT:  [N, T] logπ_ref (constant); may be undefined when beta == 0
// advantages_N: [N]    A_i, one per sequence (constant)
// mask_NT:      [N, T] float 0/1; positions with mask 0 may hold any value, even −inf or NaN, in every
//               input: they reach neither the loss nor the gradient
// Computes in float64 when logp is float64, else in float32. Throws std::invalid_argument on shape,
// device or config errors.
PolicyLossOutput policy_loss(const torch::Tensor& logp_NT, const torch::Tensor& old_logp_NT,
                             const torch::Tensor& ref_logp_NT, const torch::Tensor& advantages_N,
                             const torch::Tensor& mask_NT, const PolicyLossConfig& config);

}  // namespace aha::grpo
