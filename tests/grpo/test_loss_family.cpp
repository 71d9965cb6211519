// The pieces of the loss family beyond the clipped surrogate + k3 (test_loss.cpp): dual-clip, k1/k2,
// the entropy bonus, truncated importance sampling, GSPO's sequence ratio, KL placed in the reward, and
// split invariance: micro-batches normalised by their optimizer step sum to the unsplit loss and gradient.
// Every expected value is worked by hand in the comments.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "grpo/loss.h"

using namespace aha::grpo;

namespace {

constexpr double kTol = 1e-12;

torch::Tensor row(std::vector<double> values) {
  return torch::tensor(values, torch::kFloat64).reshape({1, static_cast<int64_t>(values.size())});
}

LossInputs one_sequence(const std::vector<double>& log_ratio, double advantage) {
  LossInputs in;
  in.old_logp_NT = row(std::vector<double>(log_ratio.size(), -1.0));
  in.logp_NT = (in.old_logp_NT + row(log_ratio)).detach().requires_grad_(true);
  in.advantages_N = torch::tensor({advantage}, torch::kFloat64);
  in.mask_NT = torch::ones_like(in.old_logp_NT);
  return in;
}

double grad_at(const LossInputs& in, int64_t t) { return in.logp_NT.grad()[0][t].item<double>(); }

}  // namespace

// A = −1, ρ = [5, 2], clip 0.2, c = 3. Plain PPO: min(−ρ, −clamp(ρ)) = [−5, −2]: loss [5, 2], grads −Aρ
// = [5, 2]. Dual clip takes max(·, cA = −3): [−3, −2]: loss [3, 2], the capped token's gradient is 0.
// seq-mean-token-mean over 2 tokens: plain 3.5, dual 2.5; grads divided by 2.
TEST_CASE("dual clip caps the loss of a negative-advantage token whose ratio exploded", "[grpo][loss]") {
  PolicyLossConfig config;
  auto plain = one_sequence({std::log(5.0), std::log(2.0)}, -1.0);
  policy_loss(plain, config).loss.backward();
  CHECK(grad_at(plain, 0) == Approx(2.5).margin(kTol));
  config.dual_clip = 3.0;
  auto dual = one_sequence({std::log(5.0), std::log(2.0)}, -1.0);
  const auto out = policy_loss(dual, config);
  CHECK(out.loss.item<double>() == Approx(2.5).margin(kTol));
  CHECK(out.dual_clip_frac.item<double>() == Approx(0.5).margin(kTol));
  out.loss.backward();
  CHECK(grad_at(dual, 0) == Approx(0.0).margin(kTol));
  CHECK(grad_at(dual, 1) == Approx(1.0).margin(kTol));
  // A > 0 is untouched by the dual clip: ρ = 5 is clipped to 1.2 as before, loss −1.2
  auto positive = one_sequence({std::log(5.0)}, 1.0);
  CHECK(policy_loss(positive, config).loss.item<double>() == Approx(-1.2).margin(kTol));
}

// δ = ref − logp = ln 2 on one token, A = 0 (no policy term), beta = 1:
//   k1 = −δ = −0.69314718, d/dlogp = +1;   k2 = δ²/2 = 0.24022651, d/dlogp = −δ = −0.69314718;
//   k3 = e^δ − δ − 1 = 0.30685282, d/dlogp = 1 − e^δ = −1.
TEST_CASE("k1 k2 and k3 KL estimators: values and gradients", "[grpo][loss]") {
  const double d = std::log(2.0);
  const struct {
    KlEstimator estimator;
    double value, grad;
  } cases[] = {{KlEstimator::K1, -d, 1.0}, {KlEstimator::K2, d * d / 2, -d}, {KlEstimator::K3, 1 - d, -1.0}};
  for (const auto& c : cases) {
    INFO(to_string(c.estimator));
    PolicyLossConfig config;
    config.beta = 1.0;
    config.kl_estimator = c.estimator;
    auto in = one_sequence({0.0}, 0.0);
    in.ref_logp_NT = in.logp_NT.detach() + d;
    const auto out = policy_loss(in, config);
    CHECK(out.kl.item<double>() == Approx(c.value).margin(kTol));
    out.loss.backward();
    CHECK(grad_at(in, 0) == Approx(c.grad).margin(kTol));
  }
  CHECK(parse_kl_estimator("k2") == KlEstimator::K2);
  CHECK_THROWS_WITH(parse_kl_estimator("k4"), Catch::Contains("k1, k2, k3"));
}

// KL placed in the reward: the loss carries no KL term (only the metric) and needs no reference.
TEST_CASE("kl_in_loss false leaves the KL out of the loss but still reports it", "[grpo][loss]") {
  PolicyLossConfig config;
  config.beta = 1.0;
  config.kl_in_loss = false;
  auto in = one_sequence({0.0}, 0.0);
  in.ref_logp_NT = in.logp_NT.detach() + std::log(2.0);
  const auto out = policy_loss(in, config);
  CHECK(out.loss.item<double>() == Approx(0.0).margin(kTol));
  CHECK(out.kl.item<double>() == Approx(1 - std::log(2.0)).margin(kTol));
  auto no_ref = one_sequence({0.0}, 0.0);
  CHECK_NOTHROW(policy_loss(no_ref, config));
}

// Entropy bonus, seq-mean-token-mean over N = 1 sequence of 2 tokens, H = [1.5, 0.5], coef 0.1, A = 0:
// loss = −0.1 · (1.5 + 0.5) / 2 = −0.1; d loss / d H_t = −0.1 / 2 = −0.05.
TEST_CASE("entropy bonus lowers the loss by coef times the aggregated entropy", "[grpo][loss]") {
  PolicyLossConfig config;
  config.entropy_coef = 0.1;
  auto in = one_sequence({0.0, 0.0}, 0.0);
  in.entropy_NT = row({1.5, 0.5}).requires_grad_(true);
  const auto out = policy_loss(in, config);
  CHECK(out.loss.item<double>() == Approx(-0.1).margin(kTol));
  CHECK(out.entropy.item<double>() == Approx(1.0).margin(kTol));
  out.loss.backward();
  CHECK(in.entropy_NT.grad()[0][0].item<double>() == Approx(-0.05).margin(kTol));
  auto missing = one_sequence({0.0}, 0.0);
  CHECK_THROWS_WITH(policy_loss(missing, config), Catch::Contains("entropy"));
}

// Truncated IS, cap 1.5, A = 1, ρ = 1 (θ = old) on both tokens: old − behaviour = [ln 2, ln 0.5] gives
// weights [min(2, 1.5), 0.5] = [1.5, 0.5]; loss_t = −w_t·ρA = [−1.5, −0.5], mean −1; grads −w_t/2.
TEST_CASE("truncated importance sampling weighs tokens by min(pi_old / pi_behaviour, cap)", "[grpo][loss]") {
  PolicyLossConfig config;
  config.tis_cap = 1.5;
  auto in = one_sequence({0.0, 0.0}, 1.0);
  in.behaviour_logp_NT = in.old_logp_NT - row({std::log(2.0), std::log(0.5)});
  const auto out = policy_loss(in, config);
  CHECK(out.loss.item<double>() == Approx(-1.0).margin(kTol));
  CHECK(out.tis_weight_mean.item<double>() == Approx(1.0).margin(kTol));
  CHECK(out.tis_capped_frac.item<double>() == Approx(0.5).margin(kTol));
  out.loss.backward();
  CHECK(grad_at(in, 0) == Approx(-0.75).margin(kTol));
  CHECK(grad_at(in, 1) == Approx(-0.25).margin(kTol));
}

// GSPO: log-ratios [0.1, −0.3] give s = exp(mean) = exp(−0.1) = 0.90483742, inside [0.8, 1.2]; A = 1.
// Every token's loss is −s, so the sequence's loss is −s; d/dlogp_t = −s/|o| = −0.45241871 for both
// tokens (the token ratio would have given −e^0.1/2 and −e^−0.3/2). With log-ratios [ln 2, 0] s = √2 is
// clipped at 1.2 for A > 0: loss −1.2 and no gradient.
TEST_CASE("GSPO uses the length-normalised sequence ratio for every token", "[grpo][loss]") {
  PolicyLossConfig config;
  config.ratio_level = RatioLevel::Sequence;
  auto in = one_sequence({0.1, -0.3}, 1.0);
  const auto out = policy_loss(in, config);
  const double s = std::exp(-0.1);
  CHECK(out.loss.item<double>() == Approx(-s).margin(kTol));
  out.loss.backward();
  CHECK(grad_at(in, 0) == Approx(-s / 2).margin(kTol));
  CHECK(grad_at(in, 1) == Approx(-s / 2).margin(kTol));
  auto clipped = one_sequence({std::log(2.0), 0.0}, 1.0);
  const auto out2 = policy_loss(clipped, config);
  CHECK(out2.loss.item<double>() == Approx(-1.2).margin(kTol));
  out2.loss.backward();
  CHECK(grad_at(clipped, 0) == Approx(0.0).margin(kTol));
}

// Random batch of 7 sequences with ragged masks: for every aggregation and ratio level, splitting it into
// micro-batches of 1, 2, 3 and 7 rows, each normalised by the whole batch (LossNormalizer), and summing
// the losses and gradients gives the unsplit loss and gradient.
TEST_CASE("micro-batches normalised by their step sum to the unsplit loss and gradient", "[grpo][loss]") {
  torch::manual_seed(5);
  const int64_t N = 7, T = 6;
  const auto logp0 = -torch::rand({N, T}, torch::kFloat64) * 3 - 0.05;
  const auto old = logp0 + (torch::rand({N, T}, torch::kFloat64) - 0.5) * 0.8;
  const auto ref = logp0 + (torch::rand({N, T}, torch::kFloat64) - 0.5) * 0.6;
  const auto adv = torch::randn({N}, torch::kFloat64);
  auto mask = torch::zeros({N, T}, torch::kFloat64);
  const int64_t lengths[] = {1, 6, 3, 5, 2, 4, 6};
  for (int64_t i = 0; i < N; ++i) mask[i].narrow(0, 0, lengths[i]).fill_(1.0);
  for (auto aggregation : {Aggregation::SeqMeanTokenMean, Aggregation::TokenMean, Aggregation::SeqMeanTokenSumNorm}) {
    for (auto level : {RatioLevel::Token, RatioLevel::Sequence}) {
      INFO(to_string(aggregation) << " " << to_string(level));
      PolicyLossConfig config;
      config.aggregation = aggregation;
      config.ratio_level = level;
      config.beta = 0.04;
      config.sum_norm = 6;
      LossInputs whole{logp0.clone().requires_grad_(true), old, ref, {}, {}, adv, mask};
      const auto full = policy_loss(whole, config);
      full.loss.backward();
      for (int64_t micro : {1, 2, 3, 7}) {
        INFO("micro-batch " << micro);
        const auto logp = logp0.clone().requires_grad_(true);
        LossNormalizer normalizer{static_cast<double>(N), mask.sum().item<double>()};
        double loss = 0;
        for (int64_t m = 0; m < N; m += micro) {
          const int64_t rows = std::min(micro, N - m);
          LossInputs part{logp.narrow(0, m, rows), old.narrow(0, m, rows), ref.narrow(0, m, rows), {}, {},
                          adv.narrow(0, m, rows), mask.narrow(0, m, rows)};
          auto out = policy_loss(part, config, normalizer);
          out.loss.backward();
          loss += out.loss.item<double>();
        }
        CHECK(loss == Approx(full.loss.item<double>()).margin(kTol));
        CHECK((logp.grad() - whole.logp_NT.grad()).abs().max().item<double>() < kTol);
      }
    }
  }
}

TEST_CASE("loss-family config errors name the field", "[grpo][loss]") {
  PolicyLossConfig config;
  config.dual_clip = 0.5;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("dual_clip"));
  config = {};
  config.tis_cap = 0.5;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("tis_cap"));
  config = {};
  config.tis_cap = 2;
  auto in = one_sequence({0.0}, 1.0);
  CHECK_THROWS_WITH(policy_loss(in, config), Catch::Contains("behaviour"));
  CHECK_THROWS_WITH(parse_ratio_level("seq"), Catch::Contains("token, sequence"));
}
