// aha's policy loss against TRL's own GRPOTrainer._compute_loss (TRL 1.16.0, float64), on the fixtures of
// scripts/make_trl_loss_fixtures.py: for fixed per-token log-probs, old/ref/behaviour log-probs,
// advantages and masks, the loss and d loss / d logp agree to 1e-6 for the grpo, dapo and dr_grpo loss
// types (plus bnpo, GSPO and truncated IS). The mapping of each TRL setting onto aha's config is the
// point of the test; the cases where aha deliberately differs are checked to differ, with the reason.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "grpo/loss.h"

using namespace aha::grpo;

namespace {

constexpr double kTol = 1e-6;

nlohmann::json fixture(const std::string& name) {
  const std::string path = std::string(AHA_SOURCE_DIR) + "/tests/fixtures/trl_loss/" + name + ".json";
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

torch::Tensor matrix(const nlohmann::json& rows) {
  std::vector<double> flat;
  for (const auto& row : rows)
    for (const auto& v : row) flat.push_back(v.get<double>());
  return torch::tensor(flat, torch::kFloat64).reshape({static_cast<int64_t>(rows.size()), -1});
}

struct Result {
  double loss;
  torch::Tensor grad;
};

// Runs aha's loss on the fixture's inputs with TRL's config mapped onto PolicyLossConfig.
Result run_aha(const nlohmann::json& f, LossNormalizer normalizer = {}) {
  const auto& in = f["inputs"];
  const auto& c = f["config"];
  PolicyLossConfig config;
  config.clip_low = c["epsilon_low"].get<double>();
  config.clip_high = c["epsilon_high"].get<double>();
  config.beta = c["beta"].get<double>();
  config.kl_estimator = KlEstimator::K3;  // TRL's only estimator
  config.ratio_level = c["importance_sampling_level"] == "sequence" ? RatioLevel::Sequence : RatioLevel::Token;
  const std::string type = c["loss_type"];
  if (type == "grpo") config.aggregation = Aggregation::SeqMeanTokenMean;
  if (type == "dapo" || type == "bnpo") config.aggregation = Aggregation::TokenMean;
  if (type == "dapo") normalizer.tokens = c["num_items_in_batch"].get<double>();  // TRL: the global count
  if (type == "dr_grpo") {
    config.aggregation = Aggregation::SeqMeanTokenSumNorm;
    config.sum_norm = c["max_completion_length"].get<double>();
  }
  LossInputs inputs;
  inputs.logp_NT = matrix(in["logp"]).requires_grad_(true);
  inputs.old_logp_NT = matrix(in["old_logp"]);
  if (in.contains("ref_logp")) inputs.ref_logp_NT = matrix(in["ref_logp"]);
  if (c.value("vllm_importance_sampling_correction", false)) {
    REQUIRE(c["vllm_importance_sampling_mode"] == "token_truncate");
    config.tis_cap = c["vllm_importance_sampling_clip_max"].get<double>();
    inputs.behaviour_logp_NT = matrix(in["sampling_logp"]);
  }
  std::vector<double> adv;
  for (const auto& a : in["advantages"]) adv.push_back(a.get<double>());
  inputs.advantages_N = torch::tensor(adv, torch::kFloat64);
  inputs.mask_NT = matrix(in["mask"]);
  auto out = policy_loss(inputs, config, normalizer);
  out.loss.backward();
  return {out.loss.item<double>(), inputs.logp_NT.grad()};
}

void check_matches_trl(const std::string& name) {
  INFO("fixture " << name);
  const auto f = fixture(name);
  const auto aha = run_aha(f);
  CHECK(aha.loss == Approx(f["outputs"]["loss"].get<double>()).margin(kTol));
  const auto expected = matrix(f["outputs"]["grad_logp"]);
  CHECK((aha.grad - expected).abs().max().item<double>() <= kTol);
  // the fixture is not trivial: the loss and gradient are far from 0 (a zero loss would match anything)
  CHECK(std::abs(f["outputs"]["loss"].get<double>()) > 1e-3);
  CHECK(expected.abs().max().item<double>() > 1e-2);
}

}  // namespace

TEST_CASE("TRL parity: loss_type grpo (seq-mean-token-mean) with and without k3 KL", "[grpo][trl]") {
  check_matches_trl("grpo_beta0");
  check_matches_trl("grpo_beta0.04_k3");
}

TEST_CASE("TRL parity: loss_type dapo (token-mean over num_items_in_batch) and clip-higher", "[grpo][trl]") {
  check_matches_trl("dapo_beta0");
  check_matches_trl("dapo_beta0.04_k3");
  // num_items_in_batch = 40 while this batch has 26 tokens: the normaliser is the step's, not the batch's
  check_matches_trl("dapo_beta0_global_norm");
}

TEST_CASE("TRL parity: loss_type dr_grpo (sum over N times max_completion_length)", "[grpo][trl]") {
  check_matches_trl("dr_grpo_beta0");
  check_matches_trl("dr_grpo_beta0.04_k3");
}

TEST_CASE("TRL parity: bnpo is token-mean over the local batch", "[grpo][trl]") { check_matches_trl("bnpo_beta0.04_k3"); }

TEST_CASE("TRL parity: GSPO sequence-level ratio", "[grpo][trl]") { check_matches_trl("gspo_beta0"); }

TEST_CASE("TRL parity: truncated importance sampling against the behaviour log-probs", "[grpo][trl]") {
  check_matches_trl("dapo_tis_token_truncate");
}

// TRL 1.16 defaults to use_bias_correction_kl = True: its k3 is multiplied by the (non-detached) ratio
// π_θ/π_old (DeepSeek-V3.2's correction). aha keeps DeepSeekMath/R1's plain k3, so on these fixtures aha
// equals TRL's plain-k3 case and differs from the corrected one. TRL's `delta`, entropy masking,
// off-policy sequence masking and the sequence-level IS modes have no aha counterpart (aha has dual-clip
// and token-level truncated IS instead); their fixtures are kept for when they are added.
TEST_CASE("TRL parity: aha's k3 is the uncorrected one (differs from TRL's default KL bias correction)",
          "[grpo][trl]") {
  for (const std::string type : {"grpo", "dapo", "dr_grpo"}) {
    INFO(type);
    const auto corrected = fixture(type + "_beta0.04_k3_iscorr");
    const auto plain = fixture(type + "_beta0.04_k3");
    const auto aha = run_aha(corrected);
    CHECK(aha.loss == Approx(plain["outputs"]["loss"].get<double>()).margin(kTol));
    CHECK(std::abs(aha.loss - corrected["outputs"]["loss"].get<double>()) > 10 * kTol);  // 2e-5 .. 5e-5 here
  }
}
