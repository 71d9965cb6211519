// The GRPO policy-loss family; the formulas are in loss.h. Shapes: N sequences, T token positions
// (padded; mask_NT marks real ones).
#include "grpo/loss.h"

#include <sstream>
#include <stdexcept>

namespace aha::grpo {
namespace {

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

// Reduces a per-token quantity [N, T] (already multiplied by the mask) to a scalar, dividing by the
// optimizer step's size (the normaliser) rather than this call's.
torch::Tensor aggregate(const torch::Tensor& masked_NT, const torch::Tensor& mask_NT, const PolicyLossConfig& config,
                        double sequences, double tokens) {
  switch (config.aggregation) {
    case Aggregation::SeqMeanTokenMean: {
      const torch::Tensor tokens_N = mask_NT.sum(/*dim=*/1).clamp_min(1.0);  // |o_i|
      return (masked_NT.sum(/*dim=*/1) / tokens_N).sum() / sequences;
    }
    case Aggregation::TokenMean:
      return masked_NT.sum() / std::max(tokens, 1.0);
    case Aggregation::SeqMeanTokenSumNorm:
      return masked_NT.sum() / (sequences * config.sum_norm);
  }
  throw std::logic_error("policy_loss: unhandled aggregation");
}

// Mean of a per-token quantity over masked tokens; on a 0/1 condition, the share where it holds.
torch::Tensor masked_mean(const torch::Tensor& value_NT, const torch::Tensor& mask_NT) {
  return (value_NT.to(mask_NT.scalar_type()) * mask_NT).sum() / mask_NT.sum().clamp_min(1.0);
}

template <typename Enum, size_t K>
Enum parse_enum(const std::string& what, const std::string& name, const std::pair<const char*, Enum> (&table)[K]) {
  std::string allowed;
  for (const auto& [text, value] : table) {
    if (name == text) return value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(text);
  }
  throw std::invalid_argument("unknown " + what + " \"" + name + "\"; allowed: " + allowed);
}

template <typename Enum, size_t K>
std::string enum_name(Enum value, const std::pair<const char*, Enum> (&table)[K]) {
  for (const auto& [text, v] : table)
    if (v == value) return text;
  throw std::logic_error("to_string: unhandled enum value");
}

constexpr std::pair<const char*, Aggregation> kAggregations[] = {
    {"seq-mean-token-mean", Aggregation::SeqMeanTokenMean},
    {"token-mean", Aggregation::TokenMean},
    {"seq-mean-token-sum-norm", Aggregation::SeqMeanTokenSumNorm}};
constexpr std::pair<const char*, RatioLevel> kRatioLevels[] = {{"token", RatioLevel::Token},
                                                              {"sequence", RatioLevel::Sequence}};
constexpr std::pair<const char*, KlEstimator> kKlEstimators[] = {
    {"k1", KlEstimator::K1}, {"k2", KlEstimator::K2}, {"k3", KlEstimator::K3}};

}  // namespace

Aggregation parse_aggregation(const std::string& name) { return parse_enum("loss aggregation", name, kAggregations); }
std::string to_string(Aggregation aggregation) { return enum_name(aggregation, kAggregations); }
RatioLevel parse_ratio_level(const std::string& name) { return parse_enum("ratio level", name, kRatioLevels); }
std::string to_string(RatioLevel level) { return enum_name(level, kRatioLevels); }
KlEstimator parse_kl_estimator(const std::string& name) { return parse_enum("KL estimator", name, kKlEstimators); }
std::string to_string(KlEstimator estimator) { return enum_name(estimator, kKlEstimators); }

void PolicyLossConfig::validate() const {
  auto fail = [](const std::string& field, double value, const char* allowed) {
    throw std::invalid_argument("policy loss: " + field + " = " + std::to_string(value) + "; must be " +
                                allowed);
  };
  if (!(clip_low >= 0.0 && clip_low < 1.0)) fail("clip_low", clip_low, "in [0, 1)");
  if (!(clip_high >= 0.0)) fail("clip_high", clip_high, ">= 0");
  if (!(dual_clip == 0.0 || dual_clip > 1.0)) fail("dual_clip", dual_clip, "0 (off) or > 1");
  if (!(beta >= 0.0)) fail("beta", beta, ">= 0");
  if (!(entropy_coef >= 0.0)) fail("entropy_coef", entropy_coef, ">= 0");
  if (!(tis_cap == 0.0 || tis_cap >= 1.0)) fail("tis_cap", tis_cap, "0 (off) or >= 1");
  if (!(max_log_ratio > 0.0 && max_log_ratio <= 80.0))
    fail("max_log_ratio", max_log_ratio, "in (0, 80] (exp(88.7) overflows float32)");
  if (!(sum_norm > 0.0)) fail("sum_norm", sum_norm, "> 0");
}

torch::Tensor kl_estimate(const torch::Tensor& x, KlEstimator estimator) {
  switch (estimator) {
    case KlEstimator::K1:
      return -x;  // logπ_θ − logπ_ref: unbiased, can be negative per token
    case KlEstimator::K2:
      return 0.5 * x * x;  // biased, low variance; its gradient is the true KL's
    case KlEstimator::K3:
      return torch::exp(x) - x - 1.0;  // unbiased and ≥ 0 (DeepSeekMath eq. 4)
  }
  throw std::logic_error("kl_estimate: unhandled estimator");
}

PolicyLossOutput policy_loss(const torch::Tensor& logp_NT, const torch::Tensor& old_logp_NT,
                             const torch::Tensor& ref_logp_NT, const torch::Tensor& advantages_N,
                             const torch::Tensor& mask_NT, const PolicyLossConfig& config) {
  LossInputs inputs;
  inputs.logp_NT = logp_NT;
  inputs.old_logp_NT = old_logp_NT;
  inputs.ref_logp_NT = ref_logp_NT;
  inputs.advantages_N = advantages_N;
  inputs.mask_NT = mask_NT;
  return policy_loss(inputs, config);
}

PolicyLossOutput policy_loss(const LossInputs& in, const PolicyLossConfig& config, const LossNormalizer& normalizer) {
  const torch::Tensor& logp_NT = in.logp_NT;
  if (!logp_NT.defined() || logp_NT.dim() != 2)
    throw std::invalid_argument("policy_loss: logp must be a 2-D tensor [N, T]; got " +
                                (logp_NT.defined() ? shape_string(logp_NT) : std::string("undefined")));
  if (logp_NT.size(0) == 0) throw std::invalid_argument("policy_loss: empty batch (N = 0)");
  check_same_shape("old_logp", in.old_logp_NT, logp_NT);
  check_same_shape("mask", in.mask_NT, logp_NT);
  const bool has_ref = in.ref_logp_NT.defined();
  if (config.beta > 0.0 && config.kl_in_loss && !has_ref)
    throw std::invalid_argument("policy_loss: beta = " + std::to_string(config.beta) +
                                " needs reference log-probs; pass ref_logp or set beta = 0");
  if (has_ref) check_same_shape("ref_logp", in.ref_logp_NT, logp_NT);
  if (config.tis_cap > 0.0) {
    if (!in.behaviour_logp_NT.defined())
      throw std::invalid_argument("policy_loss: tis_cap > 0 needs the behaviour (rollout) log-probs");
    check_same_shape("behaviour_logp", in.behaviour_logp_NT, logp_NT);
  }
  const bool has_entropy = in.entropy_NT.defined();
  if (config.entropy_coef > 0.0 && !has_entropy)
    throw std::invalid_argument("policy_loss: entropy_coef > 0 needs the per-token entropy");
  if (has_entropy) check_same_shape("entropy", in.entropy_NT, logp_NT);
  const torch::Tensor& advantages_N = in.advantages_N;
  if (!advantages_N.defined() || advantages_N.dim() != 1 || advantages_N.size(0) != logp_NT.size(0))
    throw std::invalid_argument(
        "policy_loss: advantages must be [N] with N = " + std::to_string(logp_NT.size(0)) + "; got " +
        (advantages_N.defined() ? shape_string(advantages_N) : "undefined"));
  if (advantages_N.device() != logp_NT.device())
    throw std::invalid_argument("policy_loss: advantages are on " + advantages_N.device().str() +
                                " but logp is on " + logp_NT.device().str());

  const auto dtype = logp_NT.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  const torch::Tensor mask = in.mask_NT.detach().to(dtype);                    // [N, T]
  const torch::Tensor A_N1 = advantages_N.detach().to(dtype).unsqueeze(1);  // [N, 1], same A_i on every token
  // Padding may hold anything (−inf from a masked vocabulary, NaN from −inf − −inf): multiplying by a 0 mask
  // would still give 0 · NaN = NaN in the loss and the gradient, so padded inputs are replaced by 0 first.
  const torch::Tensor is_token = mask > 0;
  const auto zero_padding = [&](const torch::Tensor& x) {
    return torch::where(is_token, x.to(dtype), torch::zeros({}, mask.options()));
  };
  const torch::Tensor logp = zero_padding(logp_NT);                      // [N, T], carries the gradient
  const torch::Tensor old_logp = zero_padding(in.old_logp_NT.detach());  // [N, T]
  const double sequences = normalizer.sequences > 0 ? normalizer.sequences : static_cast<double>(logp.size(0));
  // The trainer passes the step's token count, so the loss itself never waits for the device; only a call
  // without a normaliser counts its tokens here (a host sync).
  const double step_tokens = normalizer.tokens > 0 ? normalizer.tokens : mask.sum().item<double>();
  const auto agg = [&](const torch::Tensor& x_NT) { return aggregate(x_NT * mask, mask, config, sequences, step_tokens); };

  // Clamp before exp: a stale token can have logπ_θ − logπ_old in the hundreds, exp overflows to inf and
  // the loss and every gradient become NaN. Inside the clamp nothing changes; outside, the token's gradient
  // is 0 (for A > 0 min() has already clipped it; for A < 0 it bounds the otherwise unbounded ratio·A).
  torch::Tensor log_ratio;
  if (config.ratio_level == RatioLevel::Token) {
    log_ratio = torch::clamp(logp - old_logp, -config.max_log_ratio, config.max_log_ratio);
  } else {  // GSPO: every token carries the sequence ratio's value and its own log-prob's gradient
    const torch::Tensor lengths_N1 = mask.sum(1, /*keepdim=*/true).clamp_min(1.0);
    const torch::Tensor seq_log_ratio_N1 =
        torch::clamp(((logp - old_logp) * mask).sum(1, /*keepdim=*/true) / lengths_N1, -config.max_log_ratio,
                     config.max_log_ratio);
    log_ratio = seq_log_ratio_N1.detach() + logp - logp.detach();
  }
  const torch::Tensor ratio = torch::exp(log_ratio);  // ρ_{i,t}
  const torch::Tensor clipped_ratio = torch::clamp(ratio, 1.0 - config.clip_low, 1.0 + config.clip_high);
  torch::Tensor surrogate = torch::minimum(ratio * A_N1, clipped_ratio * A_N1);  // [N, T]
  torch::Tensor dual_clipped;
  if (config.dual_clip > 0.0) {
    const torch::Tensor floor = config.dual_clip * A_N1;  // c·A < 0 for A < 0
    dual_clipped = (A_N1 < 0) & (surrogate < floor);
    surrogate = torch::where(A_N1 < 0, torch::maximum(surrogate, floor), surrogate);
  }
  torch::Tensor tis_weight;
  if (config.tis_cap > 0.0) {
    const torch::Tensor behaviour = zero_padding(in.behaviour_logp_NT.detach());
    const torch::Tensor log_w = torch::clamp(old_logp - behaviour, -config.max_log_ratio, config.max_log_ratio);
    tis_weight = torch::exp(log_w).clamp_max(config.tis_cap);
    surrogate = surrogate * tis_weight;
  }
  torch::Tensor per_token_loss = -surrogate;

  torch::Tensor kl;
  if (has_ref) {
    const torch::Tensor ref_logp = zero_padding(in.ref_logp_NT.detach());
    kl = kl_estimate(torch::clamp(ref_logp - logp, -config.max_log_ratio, config.max_log_ratio), config.kl_estimator);
    if (config.beta > 0.0 && config.kl_in_loss) per_token_loss = per_token_loss + config.beta * kl;
  }
  torch::Tensor entropy;
  if (has_entropy) {
    entropy = zero_padding(in.entropy_NT);
    if (config.entropy_coef > 0.0) per_token_loss = per_token_loss - config.entropy_coef * entropy;
  }

  PolicyLossOutput out;
  out.loss = agg(per_token_loss);

  torch::NoGradGuard no_grad;
  const auto zero = torch::zeros({}, logp.options());
  out.policy_loss = agg(-surrogate.detach());
  out.kl = has_ref ? agg(kl.detach()) : zero;
  out.entropy = has_entropy ? agg(entropy.detach()) : zero;
  const torch::Tensor ratio_d = ratio.detach();
  out.clip_frac_low = masked_mean((A_N1 < 0) & (ratio_d < 1.0 - config.clip_low), mask);
  out.clip_frac_high = masked_mean((A_N1 > 0) & (ratio_d > 1.0 + config.clip_high), mask);
  out.dual_clip_frac = dual_clipped.defined() ? masked_mean(dual_clipped, mask) : zero;
  out.ratio_mean = masked_mean(ratio_d, mask);
  out.tis_weight_mean = tis_weight.defined() ? masked_mean(tis_weight, mask) : torch::ones({}, logp.options());
  out.tis_capped_frac = tis_weight.defined() ? masked_mean(tis_weight >= config.tis_cap, mask) : zero;
  return out;
}

}  // namespace aha::grpo
