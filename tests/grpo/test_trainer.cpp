// The trainer: same seed gives bitwise-identical losses (catches hidden nondeterminism: unseeded
// sampling, unordered reductions, state leaking between runs); batch assembly puts behaviour log-probs
// and the completion mask exactly under the generated tokens; config errors name the key.
#include <catch2/catch.hpp>

#include "grpo/json_fields.h"
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
}  // namespace

TEST_CASE("two runs with one seed give bitwise-identical losses and weights") {
  aha::testing::TempDir root_tmp("determinism");
  auto root = root_tmp.path;
  auto dir = testing::make_tiny_policy(root / "p", 31).string();
  auto config = grpo::run_config_from_json(tiny_run(dir), "test");
  std::vector<double> losses[2];
  torch::Tensor weights[2];
  for (int run = 0; run < 2; ++run) {
    grpo::Trainer trainer(config);
    for (int s = 0; s < 2; ++s) {
      auto log = trainer.step(s);
      losses[run].push_back(log.metrics["loss"].get<double>());
      losses[run].push_back(log.metrics["kl"].get<double>());
    }
    weights[run] = trainer.model()->lm_head->weight.detach().clone();
  }
  CHECK(losses[0] == losses[1]);
  CHECK(torch::equal(weights[0], weights[1]));
}

// Guards the replay plumbing end to end: routes recorded under InferenceMode must reach the training
// forward as ordinary tensors (an inference tensor saved for backward by the gate's gather would throw).
TEST_CASE("a training step with router replay trains on the rollout's recorded experts") {
  aha::testing::TempDir root_tmp("replay");
  auto dir = testing::make_tiny_policy(root_tmp.path / "p", 32).string();
  auto j = tiny_run(dir);
  j["rollout"]["record_routes"] = true;
  j["grpo"]["router_replay"] = true;
  grpo::Trainer trainer(grpo::run_config_from_json(j, "test"));
  auto log = trainer.step(0);
  CHECK(std::isfinite(log.metrics["loss"].get<double>()));
  CHECK(std::isfinite(log.metrics["grad_norm"].get<double>()));
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
  grpo::apply_override(ok, "grpo.beta=0.5");
  grpo::apply_override(ok, "train.run_name=abc");
  auto parsed = grpo::run_config_from_json(ok, "run.json");
  CHECK(parsed.grpo.loss.beta == 0.5);
  CHECK(parsed.train.run_name == "abc");
}

// Gradient accumulation: one optimizer step split into micro-batches of 1 or 3 sequences, each normalised
// by the whole minibatch, gives the unsplit step's loss and gradient (its norm, before clipping) up to
// float32 summation order, for each aggregation. A micro-batch normalised by its own size would change
// both by a factor of up to 8 here. (Weights after AdamW are not compared: Adam's first update is
// g/|g|-like, so it turns 1e-9 noise in a near-zero gradient into a visible step.)
TEST_CASE("training steps do not depend on how a minibatch is split into micro-batches") {
  aha::testing::TempDir root_tmp("split");
  auto dir = testing::make_tiny_policy(root_tmp.path / "p", 33).string();
  for (const std::string aggregation : {"seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm"}) {
    INFO(aggregation);
    std::vector<nlohmann::json> logs;
    for (int64_t micro : {0, 1, 3}) {
      auto j = tiny_run(dir);
      j["grpo"]["aggregation"] = aggregation;
      j["grpo"]["micro_batch_size"] = micro;
      j["grpo"]["minibatches"] = 1;
      j["grpo"]["mu"] = 1;
      j["train"]["max_grad_norm"] = 0;
      grpo::Trainer trainer(grpo::run_config_from_json(j, "test"));
      // the tiny random model earns no reward, so the step trains on the KL term alone (beta 0.04): make the
      // policy differ from the reference first, the same way in every run
      {
        torch::NoGradGuard no_grad;
        torch::manual_seed(9);
        for (auto& p : trainer.model()->parameters()) p.add_(torch::randn_like(p) * 0.05);
      }
      logs.push_back(trainer.step(0).metrics);
    }
    REQUIRE(logs[0]["grad_norm"].get<double>() > 1e-3);
    for (size_t k = 1; k < logs.size(); ++k) {
      CHECK(logs[k]["grad_norm"].get<double>() == Approx(logs[0]["grad_norm"].get<double>()).epsilon(1e-5));
      CHECK(logs[k]["loss"].get<double>() == Approx(logs[0]["loss"].get<double>()).epsilon(1e-5));
      CHECK(logs[k]["kl"].get<double>() == Approx(logs[0]["kl"].get<double>()).epsilon(1e-5));
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
  CHECK(first["kl_penalty/mean"].get<double>() > 1e-4);  // π_old (perturbed) differs from π_ref
  CHECK(first["loss"].get<double>() == Approx(first["policy_loss"].get<double>()).margin(1e-7));
  CHECK(first["kl"].get<double>() > 0);  // still measured
  CHECK(first["reference_refreshed"] == 1);
  CHECK(trainer.state().reference_step == 1);
  // after the refresh the rollout policy is the reference: the penalty vanishes
  auto second = trainer.step(1).metrics;
  CHECK(second["kl_penalty/mean"].get<double>() < 1e-8);  // decode vs forward numerics only
}
