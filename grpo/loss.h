// The GRPO policy-loss family: one per-token loss, its pieces chosen by config, then one of three
// aggregations (DeepSeekMath eq. 3, DAPO eq. 8, Dr. GRPO). Every quantity is per generated token of o_i.
//
//   log_ratio_t = clamp(logπ_θ − logπ_old, ±max_log_ratio)                           ratio_level = token
//   log_ratio_t = sg[clamp((1/|o_i|) Σ_t (logπ_θ − logπ_old), ±max_log_ratio)]
//                 + logπ_θ,t − sg[logπ_θ,t]                                         ratio_level = sequence (GSPO)
//   ρ_t         = exp(log_ratio_t)
//   surrogate_t = min(ρ_t·A_i, clamp(ρ_t, 1 − clip_low, 1 + clip_high)·A_i)
//   surrogate_t = max(surrogate_t, dual_clip·A_i)            when A_i < 0 and dual_clip > 0 (dual-clip PPO)
//   w_t         = min(exp(logπ_old − logπ_behaviour), tis_cap)    truncated IS, when tis_cap > 0 (constant)
//   kl_t        = k1: −x     k2: x²/2     k3: exp(x) − x − 1,      x = clamp(logπ_ref − logπ_θ, ±max_log_ratio)
//   loss_t      = −w_t·surrogate_t + beta·kl_t·[kl_in_loss] − entropy_coef·H_t
//
// With mask_t ∈ {0, 1} marking generated (not prompt, not padding) tokens, the aggregation of a per-token
// x_t over the sequences of one optimizer step:
//   SeqMeanTokenMean     (GRPO, 1/|o_i|):  (1/N) Σ_i [ Σ_t x_t·mask_t / max(|o_i|, 1) ]
//   TokenMean            (DAPO):           Σ_i Σ_t x_t·mask_t / max(Σ_i |o_i|, 1)
//   SeqMeanTokenSumNorm  (Dr. GRPO):       Σ_i Σ_t x_t·mask_t / (N · sum_norm)
// N and Σ|o_i| are those of the whole optimizer step (LossNormalizer), not of the micro-batch a call sees,
// so a step split into micro-batches whose losses are summed (gradient accumulation) gives the gradient
// of the unsplit step: the result does not depend on how the batch is split.
//
// Differences from the papers, each deliberate: the log-ratio is clamped before exp (a stale or off-policy
// token can have logπ_θ − logπ_old of hundreds; exp overflows fp32 past 88.7 and the loss becomes inf/NaN),
// and the same clamp bounds logπ_ref − logπ_θ inside the KL. Within ±max_log_ratio (ratio 2e-9 .. 4.9e8 at
// the default 20) every formula is exactly the one above. TRL clamps neither; veRL clamps both at 20.
#pragma once

#include <torch/types.h>

#include <string>

namespace aha::grpo {

enum class Aggregation { SeqMeanTokenMean, TokenMean, SeqMeanTokenSumNorm };
enum class RatioLevel { Token, Sequence };
enum class KlEstimator { K1, K2, K3 };

// "seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm"; anything else throws
// std::invalid_argument naming the value and the allowed ones. Likewise "token"/"sequence" and
// "k1"/"k2"/"k3".
Aggregation parse_aggregation(const std::string& name);
std::string to_string(Aggregation aggregation);
RatioLevel parse_ratio_level(const std::string& name);
std::string to_string(RatioLevel level);
KlEstimator parse_kl_estimator(const std::string& name);
std::string to_string(KlEstimator estimator);

struct PolicyLossConfig {
  double clip_low = 0.2;        // ε_low: ratio is clipped below at 1 − clip_low
  double clip_high = 0.2;       // ε_high: above at 1 + clip_high (DAPO's clip-higher uses 0.28)
  double dual_clip = 0.0;       // c > 1: for A < 0 the surrogate is at least c·A (veRL clip_ratio_c = 3); 0 off
  RatioLevel ratio_level = RatioLevel::Token;  // Sequence: GSPO's length-normalised sequence ratio
  double beta = 0.0;            // KL coefficient; 0 (and kl_in_loss) skips the reference policy entirely
  KlEstimator kl_estimator = KlEstimator::K3;
  bool kl_in_loss = true;       // false: the trainer subtracts beta·Σ_t kl_t from the reward instead
  double entropy_coef = 0.0;    // entropy bonus: loss −= entropy_coef · H (aggregated like the loss)
  double tis_cap = 0.0;         // truncated importance sampling cap C on π_old/π_behaviour; 0 off
  double max_log_ratio = 20.0;  // clamp on log-ratios before exp
  Aggregation aggregation = Aggregation::SeqMeanTokenMean;
  double sum_norm = 1.0;  // divisor per sequence for SeqMeanTokenSumNorm, e.g. max_new_tokens

  bool needs_reference() const { return beta > 0.0; }
  // Throws std::invalid_argument naming the field, the value and the allowed range. Run once when the
  // config is loaded (RunConfig::validate); policy_loss does not re-check it per call.
  void validate() const;
};

// The size of the whole optimizer step a (micro-)batch belongs to; 0 means "this batch is the whole step".
struct LossNormalizer {
  double sequences = 0;  // N: sequences in the optimizer step
  double tokens = 0;     // Σ_i |o_i|: masked tokens in the optimizer step
};

// Shapes: N sequences, T token positions (padded; mask_NT marks generated tokens). Positions with mask 0
// may hold any value, even −inf or NaN, in every input: they reach neither the loss nor the gradient.
struct LossInputs {
  torch::Tensor logp_NT;            // logπ_θ of each generated token (requires grad)
  torch::Tensor old_logp_NT;        // logπ_old (constant): the rollout's or a pre-update recompute
  torch::Tensor ref_logp_NT;        // logπ_ref (constant); needed when beta > 0 and kl_in_loss
  torch::Tensor behaviour_logp_NT;  // logπ_behaviour recorded at rollout (constant); needed when tis_cap > 0
  torch::Tensor entropy_NT;         // H_t of π_θ (differentiable); needed when entropy_coef > 0
  torch::Tensor advantages_N;       // A_i, one per sequence (constant)
  torch::Tensor mask_NT;            // float 0/1
};

// Scalars, all aggregated with the normaliser so micro-batch values sum to the step's value, except the
// *_frac and ratio/weight means, which are means over this call's masked tokens (weight them by `tokens`).
struct PolicyLossOutput {
  torch::Tensor loss;            // differentiable: policy_loss + beta·kl·[kl_in_loss] − entropy_coef·entropy
  torch::Tensor policy_loss;     // detached: the −w·surrogate term
  torch::Tensor kl;              // detached: the KL estimate; 0 when no reference was given
  torch::Tensor entropy;         // detached: H aggregated like the loss; 0 when no entropy was given
  torch::Tensor clip_frac_low;   // detached: share of tokens with A < 0 and ratio < 1 − clip_low
  torch::Tensor clip_frac_high;  // detached: share of tokens with A > 0 and ratio > 1 + clip_high
  torch::Tensor dual_clip_frac;  // detached: share of tokens where the dual clip bound c·A was taken
  torch::Tensor ratio_mean;      // detached: mean ratio
  torch::Tensor tis_weight_mean;  // detached: mean truncated-IS weight (1 when tis_cap == 0)
  torch::Tensor tis_capped_frac;  // detached: share of tokens whose IS weight hit the cap
};

// Computes in float64 when logp is float64, else in float32. Throws std::invalid_argument on shape,
// device, missing-input or config errors.
PolicyLossOutput policy_loss(const LossInputs& inputs, const PolicyLossConfig& config,
                             const LossNormalizer& normalizer = {});

// The same for the common case (no behaviour log-probs, no entropy, the batch is the whole step).
PolicyLossOutput policy_loss(const torch::Tensor& logp_NT, const torch::Tensor& old_logp_NT,
                             const torch::Tensor& ref_logp_NT, const torch::Tensor& advantages_N,
                             const torch::Tensor& mask_NT, const PolicyLossConfig& config);

// Per-token KL estimate of `estimator` from x = clamp(logπ_ref − logπ_θ, ±max_log_ratio).
torch::Tensor kl_estimate(const torch::Tensor& log_ref_ratio, KlEstimator estimator);

}  // namespace aha::grpo
