// The trainer on a policy that learns: the demo base (examples/tiny/base) earns rewards with spread on the
// arith task, so advantages, losses and gradients are non-zero and the weights move. On that, the same
// seed gives bitwise-identical metrics and weights (catches unseeded sampling, unordered reductions, state
// leaking between runs); micro-batching does not change a step; router replay trains on the rollout's
// experts; KL placed in the reward reaches the advantages. Batch assembly puts behaviour log-probs and the
// completion mask exactly under the generated tokens; config errors name the key.
#include <catch2/catch.hpp>

#include "common/json_fields.h"
#include "grpo/run_config.h"
#include "grpo/trainer.h"
#include "tests/common/tiny_model.h"

using namespace aha;

namespace {
nlohmann::json tiny_run(const std::string& model_dir) {
  return {{"model", {{"path", model_dir}}},
          {"data", {{"task", "arith"}, {"template", "compact"}}},
          {"rollout", {{"prompts_per_step", 2}, {"group_size", 4}, {"max_new_tokens", 12}}},
          {"rewards", {{"rules", {{{"name", "accuracy"}, {"weight", 1.0}}, {{"name", "format"}, {"weight", 0.5}}}}}},
          {"grpo", {{"beta", 0.04}, {"mu", 2}, {"minibatches", 2}}},
          {"train", {{"steps", 3}, {"lr", 1e-3}, {"threads", 1}}}};
}

// The demo's task and base, smaller: 4 prompts x 8 completions, where about half the groups have spread.
nlohmann::json demo_run() {
  auto j = tiny_run(std::string(AHA_SOURCE_DIR) + "/examples/tiny/base");
  j["data"]["options"] = {{"min_terms", 2}, {"max_terms", 3}, {"max_operand", 99}};
  j["data"]["seed"] = 11;
  j["rollout"]["prompts_per_step"] = 4;
  j["rollout"]["group_size"] = 8;
  j["rollout"]["max_new_tokens"] = 48;
  j["train"]["lr"] = 2e-4;
  return j;
}

torch::Tensor flat_weights(grpo::Trainer& trainer) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : trainer.model()->parameters()) parts.push_back(p.detach().flatten().clone());
  return torch::cat(parts);
}

double value(const nlohmann::json& metrics, const char* key) { return metrics.at(key).get<double>(); }
}  // namespace

TEST_CASE("two runs with one seed give bitwise-identical metrics and weights, and the weights move") {
  auto config = grpo::run_config_from_json(demo_run(), "test");
  std::vector<nlohmann::json> logs[2];
  torch::Tensor weights[2];
  for (int run = 0; run < 2; ++run) {
    grpo::Trainer trainer(config);
    const torch::Tensor initial = flat_weights(trainer);
    for (int s = 0; s < 2; ++s) {
      auto log = trainer.step(s);
      // the step has something to learn from, so the comparison below is not of zeros
      REQUIRE(value(log.metrics, "frac_reward_zero_std") < 1.0);
      REQUIRE(value(log.metrics, "grad_norm") > 1e-3);
      REQUIRE(std::abs(value(log.metrics, "loss")) > 0);
      logs[run].push_back(log.metrics);
    }
    weights[run] = flat_weights(trainer);
    REQUIRE((weights[run] - initial).abs().max().item<double>() > 1e-6);
  }
  for (size_t s = 0; s < logs[0].size(); ++s)
    for (const char* key : {"reward", "loss", "policy_loss", "kl", "entropy", "grad_norm", "clip_ratio/region_mean",
                            "sampling/logprob_diff_max", "completions/mean_length"}) {
      INFO("step " << s + 1 << " " << key);
      CHECK(value(logs[0][s], key) == value(logs[1][s], key));
    }
  CHECK(torch::equal(weights[0], weights[1]));
}

// Guards the replay plumbing end to end: routes recorded under InferenceMode must reach the training
// forward as ordinary tensors (an inference tensor saved for backward by the gate's gather would throw).
// The first forward sees the rollout's experts, so its log-probs equal the rollout's up to decode-vs-forward
// numerics, and the step still learns (a non-zero gradient through the replayed routes).
TEST_CASE("a training step with router replay trains on the rollout's recorded experts") {
  auto j = demo_run();
  j["rollout"]["record_routes"] = true;
  j["grpo"]["router_replay"] = true;
  grpo::Trainer trainer(grpo::run_config_from_json(j, "test"));
  auto log = trainer.step(0);
  REQUIRE(value(log.metrics, "frac_reward_zero_std") < 1.0);
  CHECK(value(log.metrics, "grad_norm") > 1e-3);
  CHECK(value(log.metrics, "sampling/logprob_diff_max") < 1e-4);
  CHECK(trainer.state().optimizer_steps == 4);
}

TEST_CASE("make_train_batch aligns targets, mask and behaviour log-probs") {
  rollout::RolloutResult r;
  r.prompt_ids = {{5, 6, 7}};
  rollout::Completion a, b;
  a.token_ids = {8, 9, 0};
  a.logprobs = {-0.1f, -0.2f, -0.3f};
  b.token_ids = {10};
  b.logprobs = {-0.5f};
  r.completions = {a, b};
  auto batch = grpo::make_train_batch(r, torch::tensor({1.0f, -1.0f}), 0, false, torch::kCPU);
  // sequence a = 5 6 7 8 9 0: inputs 5 6 7 8 9, targets 6 7 8 9 0, generated targets at t = 2, 3, 4
  CHECK(batch.tokens_NT.sizes() == torch::IntArrayRef({2, 5}));
  CHECK(torch::equal(batch.targets_NT[0], torch::tensor({6, 7, 8, 9, 0}, torch::kLong)));
  CHECK(torch::equal(batch.mask_NT[0], torch::tensor({0.f, 0.f, 1.f, 1.f, 1.f})));
  CHECK(torch::equal(batch.old_logp_NT[0], torch::tensor({0.f, 0.f, -0.1f, -0.2f, -0.3f})));
  // sequence b = 5 6 7 10: inputs 5 6 7 (+2 pads), one generated target at t = 2
  CHECK(torch::equal(batch.mask_NT[1], torch::tensor({0.f, 0.f, 1.f, 0.f, 0.f})));
  CHECK(torch::equal(batch.valid_NT[1], torch::tensor({true, true, true, false, false})));
}

TEST_CASE("run config errors name the key and what is allowed") {
  auto base = tiny_run("examples/tiny/base");
  auto bad = base;
  bad["rollout"]["group_sise"] = 4;
  CHECK_THROWS_WITH(grpo::run_config_from_json(bad, "run.json"),
                    Catch::Contains("rollout.group_sise: unknown key") && Catch::Contains("group_size"));
  bad = base;
  bad["grpo"]["beta"] = "high";
  CHECK_THROWS_WITH(grpo::run_config_from_json(bad, "run.json"),
                    Catch::Contains("grpo.beta: expected a number"));
  bad = base;
  bad["grpo"]["minibatches"] = 3;  // 8 completions do not split into 3
  CHECK_THROWS_WITH(grpo::run_config_from_json(bad, "run.json"), Catch::Contains("grpo.minibatches"));
  bad = base;
  bad["grpo"]["router_replay"] = true;
  CHECK_THROWS_WITH(grpo::run_config_from_json(bad, "run.json"), Catch::Contains("rollout.record_routes"));
  bad = base;
  bad["extra"] = 1;
  CHECK_THROWS_WITH(grpo::run_config_from_json(bad, "run.json"), Catch::Contains("run.json.extra: unknown key"));
  auto ok = base;
  common::apply_override(ok, "grpo.beta=0.5");
  common::apply_override(ok, "train.run_name=abc");
  auto parsed = grpo::run_config_from_json(ok, "run.json");
  CHECK(parsed.grpo.loss.beta == 0.5);
  CHECK(parsed.train.run_name == "abc");
}

// Gradient accumulation: one optimizer step split into micro-batches of 1 or 3 sequences, each normalised
// by the whole minibatch, gives the unsplit step's loss and gradient (its norm, before clipping) up to
// float32 summation order, for each aggregation. The demo base earns rewards with spread and beta is 0, so
// the gradient is the advantage-weighted policy gradient alone; a micro-batch normalised by its own size,
// or given another micro-batch's advantages, would change it. (Weights after AdamW are not compared: Adam's
// first update is g/|g|-like and turns float noise into a visible step.)
TEST_CASE("training steps do not depend on how a minibatch is split into micro-batches") {
  for (const std::string aggregation : {"seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm"}) {
    INFO(aggregation);
    std::vector<nlohmann::json> logs;
    for (int64_t micro : {0, 1, 3}) {
      auto j = demo_run();
      j["grpo"]["beta"] = 0.0;
      j["grpo"]["aggregation"] = aggregation;
      j["grpo"]["micro_batch_size"] = micro;
      j["grpo"]["minibatches"] = 1;
      j["grpo"]["mu"] = 1;
      j["train"]["max_grad_norm"] = 0;
      grpo::Trainer trainer(grpo::run_config_from_json(j, "test"));
      logs.push_back(trainer.step(0).metrics);
    }
    REQUIRE(value(logs[0], "frac_reward_zero_std") < 1.0);
    REQUIRE(value(logs[0], "grad_norm") > 1e-3);
    for (size_t k = 1; k < logs.size(); ++k) {
      CHECK(value(logs[k], "grad_norm") == Approx(value(logs[0], "grad_norm")).epsilon(1e-5));
      // on-policy with seq-mean-token-mean the loss is −mean(A) = 0 up to float noise: a margin, not a ratio
      CHECK(value(logs[k], "loss") == Approx(value(logs[0], "loss")).epsilon(1e-5).margin(1e-7));
      CHECK(value(logs[k], "entropy") == Approx(value(logs[0], "entropy")).epsilon(1e-5));
    }
  }
}

// DAPO dynamic sampling on a policy that never earns a reward: every group is zero-spread, so the step
// draws max_sampling_rounds rounds of prompts, keeps nothing and skips the update.
TEST_CASE("dynamic sampling draws more prompts until groups with reward spread fill the batch") {
  aha::testing::TempDir root_tmp("dynamic");
  auto dir = testing::make_tiny_policy(root_tmp.path / "p", 34).string();
  auto j = tiny_run(dir);
  j["grpo"]["dynamic_sampling"] = true;
  j["grpo"]["max_sampling_rounds"] = 3;
  grpo::Trainer trainer(grpo::run_config_from_json(j, "test"));
  auto log = trainer.step(0);
  CHECK(log.metrics["sampling/rounds"] == 3);
  CHECK(log.metrics["sampling/kept_groups"] == 0);
  CHECK(log.metrics["frac_reward_zero_std"] == 1.0);
  CHECK(trainer.state().prompts_drawn == 3 * 2);
  CHECK(trainer.state().optimizer_steps == 0);

  // the demo base earns rewards: the kept groups all have spread and fill the batch of 4 prompts
  auto demo = tiny_run(std::string(AHA_SOURCE_DIR) + "/examples/tiny/base");
  demo["grpo"]["dynamic_sampling"] = true;
  demo["grpo"]["max_sampling_rounds"] = 8;
  demo["rollout"]["prompts_per_step"] = 4;
  demo["rollout"]["max_new_tokens"] = 48;
  demo["data"]["options"] = {{"min_terms", 2}, {"max_terms", 3}, {"max_operand", 99}};
  grpo::Trainer learner(grpo::run_config_from_json(demo, "test"));
  auto step = learner.step(0);
  CHECK(step.metrics["sampling/kept_groups"] == 4);
  CHECK(learner.state().prompts_drawn == 4 * step.metrics["sampling/rounds"].get<int64_t>());
  CHECK(learner.state().optimizer_steps == 4);  // mu 2 x minibatches 2
}

// KL placed in the reward: the penalty beta·Σ_t k3(π_old‖π_ref) is subtracted from each completion's reward
// (and logged), and the loss is the policy loss alone. A reference refresh makes the reference the policy.
TEST_CASE("KL in the reward and the reference refresh") {
  aha::testing::TempDir root_tmp("kl_reward");
  auto dir = testing::make_tiny_policy(root_tmp.path / "p", 35).string();
  auto j = tiny_run(dir);
  j["grpo"]["kl_placement"] = "reward";
  j["grpo"]["ref_refresh_steps"] = 1;
  grpo::Trainer trainer(grpo::run_config_from_json(j, "test"));
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(10);
    for (auto& p : trainer.model()->parameters()) p.add_(torch::randn_like(p) * 0.05);
  }
  auto first = trainer.step(0).metrics;
  // the random policy earns no rule reward (every group is flat), so all of the gradient comes from the
  // KL penalty's spread within each group: it reached the advantages
  REQUIRE(first["frac_reward_zero_std"] == 1.0);
  CHECK(first["grad_norm"].get<double>() > 1e-6);
  CHECK(first["kl_penalty/mean"].get<double>() > 1e-4);  // π_old (perturbed) differs from π_ref
  CHECK(first["loss"].get<double>() == Approx(first["policy_loss"].get<double>()).margin(1e-7));
  CHECK(first["kl"].get<double>() > 0);  // still measured
  CHECK(first["reference_refreshed"] == 1);
  CHECK(trainer.state().reference_step == 1);
  // after the refresh the rollout policy is the reference: the penalty vanishes
  auto second = trainer.step(1).metrics;
  CHECK(second["kl_penalty/mean"].get<double>() < 1e-8);  // decode vs forward numerics only
}
