// Tests for grpo/loss: the clipped GRPO surrogate, the k3 KL term, the three aggregations, the clip
// metrics and the log-ratio clamp, each value and each gradient d loss / d logp worked by hand.
//
// The shared case: N = 3 sequences, T = 4 positions, clip_low = clip_high = 0.2 (range [0.8, 1.2]).
// Ratios ρ = exp(logp − old_logp) are chosen per token (logp is built as old_logp + ln ρ):
//   seq 0, A = +1,  mask [1 1 1 0]:  ρ = [1.1  1.5  0.5  3.0]
//   seq 1, A = −1,  mask [1 1 0 0]:  ρ = [0.5  1.5  1.0  1.0]
//   seq 2, A = +0.5, mask [1 1 1 1]: ρ = [1.0  0.9  1.25 0.7]
// Per token, surrogate = min(ρA, clamp(ρ, 0.8, 1.2)A), loss_t = −surrogate, and d loss_t / d logp is
// −Aρ on the unclipped side of min and 0 where the clipped (constant) side wins:
//   seq 0 t0: inside the range         min(1.1, 1.1)   = 1.1   loss −1.1   grad −1.1
//   seq 0 t1: clipped high, A > 0      min(1.5, 1.2)   = 1.2   loss −1.2   grad 0
//   seq 0 t2: A > 0, ρ < 0.8 unclipped min(0.5, 0.8)   = 0.5   loss −0.5   grad −0.5
//   seq 0 t3: padding (mask 0)                                 —           grad 0
//   seq 1 t0: clipped low, A < 0       min(−0.5, −0.8) = −0.8  loss 0.8    grad 0
//   seq 1 t1: A < 0, ρ > 1.2 unclipped min(−1.5, −1.2) = −1.5  loss 1.5    grad +1.5
//   seq 2 t0: inside                   min(0.5, 0.5)   = 0.5   loss −0.5   grad −0.5
//   seq 2 t1: inside                   min(0.45, 0.45) = 0.45  loss −0.45  grad −0.45
//   seq 2 t2: clipped high, A > 0      min(0.625, 0.6) = 0.6   loss −0.6   grad 0
//   seq 2 t3: A > 0, ρ < 0.8 unclipped min(0.35, 0.4)  = 0.35  loss −0.35  grad −0.35
// Masked sums: seq 0 = −2.8 over 3 tokens, seq 1 = 2.3 over 2, seq 2 = −1.9 over 4; total −2.4 over 9.
//
// For the KL term, δ = ref_logp − logp is chosen per token; k3 = e^δ − δ − 1, d k3 / d logp = 1 − e^δ:
//   δ = 0:     k3 = 0                                 grad 0
//   δ = ln 2:  k3 = 2 − ln 2 − 1   = 0.30685282       grad 1 − 2   = −1
//   δ = −ln 2: k3 = 0.5 + ln 2 − 1 = 0.19314718       grad 1 − 0.5 = +0.5
//   seq 0: δ = [ln 2, 0, −ln 2, 5 (padding)]  masked k3 sum = 0.30685282 + 0 + 0.19314718 = 0.5
//   seq 1: δ = [−ln 2, ln 2, 0, 0]            masked k3 sum = 0.5
//   seq 2: δ = [0, ln 2, −ln 2, 0]            masked k3 sum = 0.5;   total 1.5 over 9 tokens
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "grpo/loss.h"

using aha::grpo::Aggregation;
using aha::grpo::parse_aggregation;
using aha::grpo::policy_loss;
using aha::grpo::PolicyLossConfig;

namespace {

const double kLn2 = std::log(2.0);
constexpr double kTol = 1e-12;  // the case runs in float64; everything here is a few exact operations

torch::Tensor f64(const std::vector<std::vector<double>>& rows) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kFloat64).reshape({static_cast<int64_t>(rows.size()), -1});
}

struct Case {
  torch::Tensor logp, old_logp, ref_logp, advantages, mask;
};

Case make_case() {
  Case c;
  c.old_logp = f64({{-1.0, -2.0, -0.5, -3.0}, {-1.5, -0.2, -1.0, -1.0}, {-2.5, -0.7, -1.2, -0.9}});
  const torch::Tensor ratio = f64({{1.1, 1.5, 0.5, 3.0}, {0.5, 1.5, 1.0, 1.0}, {1.0, 0.9, 1.25, 0.7}});
  c.logp = (c.old_logp + ratio.log()).detach().requires_grad_(true);
  const torch::Tensor delta =
      f64({{kLn2, 0.0, -kLn2, 5.0}, {-kLn2, kLn2, 0.0, 0.0}, {0.0, kLn2, -kLn2, 0.0}});
  c.ref_logp = c.logp.detach() + delta;
  c.advantages = torch::tensor({1.0, -1.0, 0.5}, torch::kFloat64);
  c.mask = f64({{1, 1, 1, 0}, {1, 1, 0, 0}, {1, 1, 1, 1}});
  return c;
}

void check_tensor(const torch::Tensor& actual, const std::vector<std::vector<double>>& expected) {
  const torch::Tensor a = actual.to(torch::kFloat64).contiguous();
  REQUIRE(a.size(0) == static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    for (size_t t = 0; t < expected[i].size(); ++t) {
      INFO("seq " << i << " token " << t);
      CHECK(a[i][t].item<double>() == Approx(expected[i][t]).margin(kTol));
    }
}

double scalar(const torch::Tensor& t) {
  return t.item<double>();
}

}  // namespace

TEST_CASE("parse_aggregation accepts the three names and lists them on error", "[grpo][loss]") {
  CHECK(parse_aggregation("seq-mean-token-mean") == Aggregation::SeqMeanTokenMean);
  CHECK(parse_aggregation("token-mean") == Aggregation::TokenMean);
  CHECK(parse_aggregation("seq-mean-token-sum-norm") == Aggregation::SeqMeanTokenSumNorm);
  CHECK(aha::grpo::to_string(Aggregation::TokenMean) == "token-mean");
  CHECK_THROWS_AS(parse_aggregation("sum"), std::invalid_argument);
  CHECK_THROWS_WITH(parse_aggregation("sum"),
                    Catch::Contains("\"sum\"") && Catch::Contains("seq-mean-token-sum-norm"));
}

// Catches: a wrong side of min() (gradient leaking through clipped tokens or missing on the unclipped
// side), a symmetric clip applied as one-sided, padding tokens counted, and 1/|o_i| taken over T.
TEST_CASE("policy_loss seq-mean-token-mean: values, clip metrics and gradient", "[grpo][loss]") {
  Case c = make_case();
  PolicyLossConfig config;  // clip 0.2 / 0.2, beta 0, seq-mean-token-mean
  const auto out = policy_loss(c.logp, c.old_logp, torch::Tensor(), c.advantages, c.mask, config);
  // (−2.8/3 + 2.3/2 − 1.9/4) / 3 = (−0.93333333 + 1.15 − 0.475) / 3 = −0.08611111
  const double expected = (-2.8 / 3 + 2.3 / 2 - 1.9 / 4) / 3;
  CHECK(scalar(out.loss) == Approx(expected).margin(kTol));
  CHECK(scalar(out.policy_loss) == Approx(expected).margin(kTol));
  CHECK(scalar(out.kl) == 0.0);
  CHECK_FALSE(out.policy_loss.requires_grad());
  // low clip active only at seq 1 t0; high clip at seq 0 t1 and seq 2 t2 (seq 1 t1 has A < 0): 1/9, 2/9
  CHECK(scalar(out.clip_frac_low) == Approx(1.0 / 9).margin(kTol));
  CHECK(scalar(out.clip_frac_high) == Approx(2.0 / 9).margin(kTol));
  // (1.1 + 1.5 + 0.5 + 0.5 + 1.5 + 1.0 + 0.9 + 1.25 + 0.7) / 9 = 8.95 / 9
  CHECK(scalar(out.ratio_mean) == Approx(8.95 / 9).margin(kTol));

  out.loss.backward();
  // each token's grad (table above) times 1 / (N · |o_i|): 1/9 for seq 0, 1/6 for seq 1, 1/12 for seq 2
  check_tensor(
      c.logp.grad(),
      {{-1.1 / 9, 0.0, -0.5 / 9, 0.0}, {0.0, 1.5 / 6, 0.0, 0.0}, {-0.5 / 12, -0.45 / 12, 0.0, -0.35 / 12}});
}

TEST_CASE("policy_loss token-mean divides by all masked tokens of the batch (DAPO)", "[grpo][loss]") {
  Case c = make_case();
  PolicyLossConfig config;
  config.aggregation = Aggregation::TokenMean;
  const auto out = policy_loss(c.logp, c.old_logp, torch::Tensor(), c.advantages, c.mask, config);
  CHECK(scalar(out.loss) == Approx(-2.4 / 9).margin(kTol));  // −0.26666667
  out.loss.backward();
  check_tensor(
      c.logp.grad(),
      {{-1.1 / 9, 0.0, -0.5 / 9, 0.0}, {0.0, 1.5 / 9, 0.0, 0.0}, {-0.5 / 9, -0.45 / 9, 0.0, -0.35 / 9}});
}

TEST_CASE("policy_loss seq-mean-token-sum-norm divides by N · sum_norm (Dr. GRPO)", "[grpo][loss]") {
  Case c = make_case();
  PolicyLossConfig config;
  config.aggregation = Aggregation::SeqMeanTokenSumNorm;
  config.sum_norm = 4.0;  // e.g. max_new_tokens = T
  const auto out = policy_loss(c.logp, c.old_logp, torch::Tensor(), c.advantages, c.mask, config);
  CHECK(scalar(out.loss) == Approx(-2.4 / (3 * 4.0)).margin(kTol));  // −0.2
  out.loss.backward();
  check_tensor(c.logp.grad(), {{-1.1 / 12, 0.0, -0.5 / 12, 0.0},
                               {0.0, 1.5 / 12, 0.0, 0.0},
                               {-0.5 / 12, -0.45 / 12, 0.0, -0.35 / 12}});
}

// Catches: the wrong KL estimator (k1 = −δ would give a different sum and a constant gradient), the wrong
// sign of its gradient, KL dropped on clipped tokens (its gradient must flow where the surrogate's is 0).
TEST_CASE("policy_loss adds beta · k3 with gradient 1 − exp(ref − logp)", "[grpo][loss]") {
  Case c = make_case();
  PolicyLossConfig config;
  config.aggregation = Aggregation::TokenMean;
  config.beta = 0.1;
  const auto out = policy_loss(c.logp, c.old_logp, c.ref_logp, c.advantages, c.mask, config);
  CHECK(scalar(out.kl) == Approx(1.5 / 9).margin(kTol));  // 0.16666667
  CHECK(scalar(out.policy_loss) == Approx(-2.4 / 9).margin(kTol));
  CHECK(scalar(out.loss) == Approx((-2.4 + 0.1 * 1.5) / 9).margin(kTol));  // −2.25 / 9 = −0.25
  out.loss.backward();
  // surrogate grad + 0.1 · (1 − e^δ), all over 9 tokens:
  //   seq 0: −1.1 + 0.1·(−1) = −1.2 | 0 + 0 | −0.5 + 0.1·0.5 = −0.45 | padding 0
  //   seq 1:  0 + 0.1·0.5 = 0.05 (clipped, KL only) | 1.5 + 0.1·(−1) = 1.4
  //   seq 2: −0.5 + 0 | −0.45 + 0.1·(−1) = −0.55 | 0 + 0.1·0.5 = 0.05 (clipped, KL only) | −0.35 + 0
  check_tensor(c.logp.grad(), {{-1.2 / 9, 0.0, -0.45 / 9, 0.0},
                               {0.05 / 9, 1.4 / 9, 0.0, 0.0},
                               {-0.5 / 9, -0.55 / 9, 0.05 / 9, -0.35 / 9}});
}

TEST_CASE("policy_loss aggregates kl like the loss, and reports it with beta = 0", "[grpo][loss]") {
  Case c = make_case();
  PolicyLossConfig config;  // seq-mean-token-mean
  config.beta = 0.04;
  const auto out = policy_loss(c.logp, c.old_logp, c.ref_logp, c.advantages, c.mask, config);
  // per sequence 0.5/3, 0.5/2, 0.5/4 -> (0.16666667 + 0.25 + 0.125) / 3 = 0.18055556
  CHECK(scalar(out.kl) == Approx((0.5 / 3 + 0.5 / 2 + 0.5 / 4) / 3).margin(kTol));
  CHECK(scalar(out.loss) == Approx(scalar(out.policy_loss) + 0.04 * scalar(out.kl)).margin(kTol));

  config.beta = 0.0;  // a ref given with beta 0: kl is logged, the loss is the surrogate alone
  const auto logged = policy_loss(c.logp, c.old_logp, c.ref_logp, c.advantages, c.mask, config);
  CHECK(scalar(logged.kl) == Approx((0.5 / 3 + 0.5 / 2 + 0.5 / 4) / 3).margin(kTol));
  CHECK(scalar(logged.loss) == Approx(scalar(logged.policy_loss)).margin(kTol));
}

// Catches: padding cleared by multiplying with the mask only (0 · NaN = NaN in the loss and 0 · inf = NaN
// in the gradient), which would poison a whole step when the rollout pads log-probs with −inf.
TEST_CASE("policy_loss ignores whatever padded positions hold, even -inf and NaN", "[grpo][loss]") {
  Case c = make_case();
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const torch::Tensor padded = c.mask == 0;  // seq 0 t3, seq 1 t2 and t3
  const torch::Tensor logp =
      torch::where(padded, torch::full({3, 4}, -inf, torch::kFloat64), c.logp.detach()).requires_grad_(true);
  const torch::Tensor old_logp = torch::where(padded, torch::full({3, 4}, nan, torch::kFloat64), c.old_logp);
  const torch::Tensor ref_logp = torch::where(padded, torch::full({3, 4}, inf, torch::kFloat64), c.ref_logp);
  PolicyLossConfig config;
  config.aggregation = Aggregation::TokenMean;
  config.beta = 0.1;
  const auto out = policy_loss(logp, old_logp, ref_logp, c.advantages, c.mask, config);
  CHECK(scalar(out.loss) == Approx((-2.4 + 0.1 * 1.5) / 9).margin(kTol));  // as in the KL case above
  CHECK(scalar(out.ratio_mean) == Approx(8.95 / 9).margin(kTol));
  out.loss.backward();
  check_tensor(logp.grad(), {{-1.2 / 9, 0.0, -0.45 / 9, 0.0},
                             {0.05 / 9, 1.4 / 9, 0.0, 0.0},
                             {-0.5 / 9, -0.55 / 9, 0.05 / 9, -0.35 / 9}});
}

// Catches: exp() of an unclamped log-ratio; without the clamp ρ = exp(1000) = inf, the A < 0 token's
// loss is inf and its gradient NaN.
TEST_CASE("policy_loss clamps the log-ratio so stale tokens give a finite loss", "[grpo][loss]") {
  // float32, one sequence, A = −1, token-mean over 2 tokens:
  //   t0: logp − old = +1000 -> clamped to 20: ρ = e^20, min(−e^20, −1.2) = −e^20, loss e^20, grad 0
  //   (clamped) t1: logp − old = −1000 -> clamped to −20: ρ = e^−20, min(−e^−20, −0.8) = −0.8, loss 0.8, grad
  //   0 loss = (e^20 + 0.8) / 2 = 242582598.1
  const torch::Tensor old_logp = torch::tensor({{-1000.0f, 0.0f}});
  const torch::Tensor logp = torch::tensor({{0.0f, -1000.0f}}).requires_grad_(true);
  const torch::Tensor mask = torch::ones({1, 2});
  const torch::Tensor advantages = torch::tensor({-1.0f});
  PolicyLossConfig config;
  config.aggregation = Aggregation::TokenMean;
  const auto out = policy_loss(logp, old_logp, torch::Tensor(), advantages, mask, config);
  CHECK(out.loss.scalar_type() == torch::kFloat32);
  CHECK(scalar(out.loss) == Approx((std::exp(20.0) + 0.8) / 2).epsilon(1e-6));
  out.loss.backward();
  CHECK(torch::equal(logp.grad(), torch::zeros({1, 2})));

  // The same clamp bounds ref − logp inside k3: δ = −1000 and +1000 stay finite.
  logp.mutable_grad() = torch::Tensor();
  config.beta = 0.001;
  const torch::Tensor ref_logp = torch::tensor({{-1000.0f, 0.0f}});
  const auto with_kl = policy_loss(logp, old_logp, ref_logp, advantages, mask, config);
  CHECK(std::isfinite(scalar(with_kl.loss)));
  CHECK(std::isfinite(scalar(with_kl.kl)));
  with_kl.loss.backward();
  CHECK(torch::isfinite(logp.grad()).all().item<bool>());
}

TEST_CASE("policy_loss in float32 matches the float64 case", "[grpo][loss]") {
  Case c = make_case();
  const torch::Tensor logp32 = c.logp.detach().to(torch::kFloat32).requires_grad_(true);
  PolicyLossConfig config;
  config.beta = 0.1;
  const auto out = policy_loss(logp32, c.old_logp.to(torch::kFloat32), c.ref_logp.to(torch::kFloat32),
                               c.advantages.to(torch::kFloat32), c.mask.to(torch::kFloat32), config);
  CHECK(out.loss.scalar_type() == torch::kFloat32);
  const double expected = (-2.8 / 3 + 2.3 / 2 - 1.9 / 4) / 3 + 0.1 * (0.5 / 3 + 0.5 / 2 + 0.5 / 4) / 3;
  CHECK(scalar(out.loss) == Approx(expected).margin(1e-6));
}

TEST_CASE("policy_loss rejects bad shapes and a missing reference, validate() a bad config", "[grpo][loss]") {
  Case c = make_case();
  PolicyLossConfig config;
  CHECK_THROWS_WITH(
      policy_loss(c.logp, c.old_logp.slice(1, 0, 3), torch::Tensor(), c.advantages, c.mask, config),
      Catch::Contains("old_logp") && Catch::Contains("[3, 3]"));
  CHECK_THROWS_AS(
      policy_loss(c.logp, c.old_logp, torch::Tensor(), c.advantages.slice(0, 0, 2), c.mask, config),
      std::invalid_argument);
  config.beta = 0.1;
  CHECK_THROWS_WITH(policy_loss(c.logp, c.old_logp, torch::Tensor(), c.advantages, c.mask, config),
                    Catch::Contains("ref_logp"));
  config.beta = 0.0;
  config.clip_low = 1.5;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("clip_low"));
}
