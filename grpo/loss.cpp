// The GRPO policy loss (DeepSeekMath eq. 3 with DAPO's asymmetric clip and the three aggregations);
// the formulas are in loss.h. Shapes: N sequences, T token positions (padded; mask_NT marks real ones).
#include "grpo/loss.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace aha::grpo {
namespace {

constexpr const char* kAllowedAggregations = "seq-mean-token-mean, token-mean, seq-mean-token-sum-norm";

std::string shape_string(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

void check_same_shape(const char* name, const torch::Tensor& t, const torch::Tensor& logp_NT) {
  if (!t.defined()) throw std::invalid_argument(std::string("policy_loss: ") + name + " is undefined");
  if (t.sizes() != logp_NT.sizes())
    throw std::invalid_argument(std::string("policy_loss: ") + name + " has shape " + shape_string(t) +
                                "; expected the shape of logp " + shape_string(logp_NT));
  if (t.device() != logp_NT.device())
    throw std::invalid_argument(std::string("policy_loss: ") + name + " is on " + t.device().str() +
                                " but logp is on " + logp_NT.device().str());
}

// Reduces a per-token quantity [N, T] (already multiplied by the mask) to a scalar.
torch::Tensor aggregate(const torch::Tensor& masked_NT, const torch::Tensor& mask_NT,
                        const PolicyLossConfig& config) {
  const int64_t N = masked_NT.size(0);
  switch (config.aggregation) {
    case Aggregation::SeqMeanTokenMean: {
      const torch::Tensor tokens_N = mask_NT.sum(/*dim=*/1).clamp_min(1.0);  // |o_i|
      return (masked_NT.sum(/*dim=*/1) / tokens_N).mean();
    }
    case Aggregation::TokenMean:
      return masked_NT.sum() / mask_NT.sum().clamp_min(1.0);
    case Aggregation::SeqMeanTokenSumNorm:
      return masked_NT.sum() / (static_cast<double>(N) * config.sum_norm);
  }
  throw std::logic_error("policy_loss: unhandled aggregation");
}

// Mean of a per-token quantity over masked tokens (a token-mean, whatever the loss aggregation);
// on a 0/1 condition it is the share of masked tokens where the condition holds.
torch::Tensor masked_mean(const torch::Tensor& value_NT, const torch::Tensor& mask_NT) {
  return (value_NT.to(mask_NT.scalar_type()) * mask_NT).sum() / mask_NT.sum().clamp_min(1.0);
}

}  // namespace

Aggregation parse_aggregation(const std::string& name) {
  if (name == "seq-mean-token-mean") return Aggregation::SeqMeanTokenMean;
  if (name == "token-mean") return Aggregation::TokenMean;
  if (name == "seq-mean-token-sum-norm") return Aggregation::SeqMeanTokenSumNorm;
  throw std::invalid_argument("unknown loss aggregation \"" + name + "\"; allowed: " + kAllowedAggregations);
}

std::string to_string(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::SeqMeanTokenMean:
      return "seq-mean-token-mean";
    case Aggregation::TokenMean:
      return "token-mean";
    case Aggregation::SeqMeanTokenSumNorm:
      return "seq-mean-token-sum-norm";
  }
  throw std::logic_error("to_string: unhandled aggregation");
}

void PolicyLossConfig::validate() const {
  auto fail = [](const std::string& field, double value, const char* allowed) {
    throw std::invalid_argument("policy loss: " + field + " = " + std::to_string(value) + "; must be " +
                                allowed);
  };
  if (!(clip_low >= 0.0 && clip_low < 1.0)) fail("clip_low", clip_low, "in [0, 1)");
  if (!(clip_high >= 0.0)) fail("clip_high", clip_high, ">= 0");
  if (!(beta >= 0.0)) fail("beta", beta, ">= 0");
  if (!(max_log_ratio > 0.0 && max_log_ratio <= 80.0))
    fail("max_log_ratio", max_log_ratio, "in (0, 80] (exp(88.7) overflows float32)");
  if (!(sum_norm > 0.0)) fail("sum_norm", sum_norm, "> 0");
}

PolicyLossOutput policy_loss(const torch::Tensor& logp_NT, const torch::Tensor& old_logp_NT,
                             const torch::Tensor& ref_logp_NT, const torch::Tensor& advantages_N,
                             const torch::Tensor& mask_NT, const PolicyLossConfig& config) {
  config.validate();
  if (!logp_NT.defined() || logp_NT.dim() != 2)
    throw std::invalid_argument("policy_loss: logp must be a 2-D tensor [N, T]; got " +
                                (logp_NT.defined() ? shape_string(logp_NT) : std::string("undefined")));
  check_same_shape("old_logp", old_logp_NT, logp_NT);
  check_same_shape("mask", mask_NT, logp_NT);
  const bool has_ref = ref_logp_NT.defined();
  if (config.beta > 0.0 && !has_ref)
    throw std::invalid_argument("policy_loss: beta = " + std::to_string(config.beta) +
                                " needs reference log-probs; pass ref_logp or set beta = 0");
  if (logp_NT.size(0) == 0) throw std::invalid_argument("policy_loss: empty batch (N = 0)");
  if (has_ref) check_same_shape("ref_logp", ref_logp_NT, logp_NT);
  if (!advantages_N.defined() || advantages_N.dim() != 1 || advantages_N.size(0) != logp_NT.size(0))
    throw std::invalid_argument(
        "policy_loss: advantages must be [N] with N = " + std::to_string(logp_NT.size(0)) + "; got " +
        (advantages_N.defined() ? shape_string(advantages_N) : "undefined"));
  if (advantages_N.device() != logp_NT.device())
    throw std::invalid_argument("policy_loss: advantages are on " + advantages_N.device().str() +
                                " but logp is on " + logp_NT.device().str());

  const auto dtype = logp_NT.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  const torch::Tensor mask = mask_NT.detach().to(dtype);                    // [N, T]
  const torch::Tensor A_N1 = advantages_N.detach().to(dtype).unsqueeze(1);  // [N, 1], same A_i on every token
  // Padding may hold anything (−inf from a masked vocabulary, NaN from −inf − −inf): multiplying by a 0 mask
  // would still give 0 · NaN = NaN in the loss and the gradient, so padded inputs are replaced by 0 first.
  const torch::Tensor is_token = mask > 0;
  const auto zero_padding = [&](const torch::Tensor& x) {
    return torch::where(is_token, x.to(dtype), torch::zeros({}, mask.options()));
  };
  const torch::Tensor logp = zero_padding(logp_NT);                   // [N, T], carries the gradient
  const torch::Tensor old_logp = zero_padding(old_logp_NT.detach());  // [N, T]

  // Clamp before exp: a stale token can have logπ_θ − logπ_old in the hundreds, exp overflows to inf and
  // the loss and every gradient become NaN. Inside the clamp nothing changes; outside, the token's gradient
  // is 0 (for A > 0 min() has already clipped it; for A < 0 it bounds the otherwise unbounded ratio·A).
  const torch::Tensor log_ratio = torch::clamp(logp - old_logp, -config.max_log_ratio, config.max_log_ratio);
  const torch::Tensor ratio = torch::exp(log_ratio);  // ρ_{i,t}
  const torch::Tensor clipped_ratio = torch::clamp(ratio, 1.0 - config.clip_low, 1.0 + config.clip_high);
  const torch::Tensor surrogate = torch::minimum(ratio * A_N1, clipped_ratio * A_N1);  // [N, T]
  torch::Tensor per_token_loss = -surrogate;

  torch::Tensor k3;  // exp(ref − logp) − (ref − logp) − 1, DeepSeekMath's unbiased KL estimator (≥ 0)
  if (has_ref) {
    const torch::Tensor ref_logp = zero_padding(ref_logp_NT.detach());
    const torch::Tensor log_ref_ratio =
        torch::clamp(ref_logp - logp, -config.max_log_ratio, config.max_log_ratio);
    k3 = torch::exp(log_ref_ratio) - log_ref_ratio - 1.0;
    if (config.beta > 0.0) per_token_loss = per_token_loss + config.beta * k3;
  }

  PolicyLossOutput out;
  out.loss = aggregate(per_token_loss * mask, mask, config);

  torch::NoGradGuard no_grad;
  out.policy_loss = aggregate(-surrogate.detach() * mask, mask, config);
  out.kl = has_ref ? aggregate(k3.detach() * mask, mask, config) : torch::zeros({}, logp.options());
  const torch::Tensor ratio_d = ratio.detach();
  out.clip_frac_low = masked_mean((A_N1 < 0) & (ratio_d < 1.0 - config.clip_low), mask);
  out.clip_frac_high = masked_mean((A_N1 > 0) & (ratio_d > 1.0 + config.clip_high), mask);
  out.ratio_mean = masked_mean(ratio_d, mask);
  return out;
}

}  // namespace aha::grpo
