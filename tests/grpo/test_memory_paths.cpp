// The memory-lean training paths against the plain one (issue 12): activation checkpointing
// (train.gradient_checkpointing), token-budget micro-batches with length-sorted rows cut to their own
// length (train.micro_batch_tokens) and both together give the loss, the metrics and every parameter's
// gradient of the plain step, in fp32. The batch is the demo base's own rollout (rows of uneven length,
// so cutting to each micro-batch's longest row changes the shapes), with a reference (beta > 0, its
// forward micro-batched too) and the MoE's expert-load counting on.
//
// Tolerance: gradient checkpointing reruns the same kernels on the same shapes, so it is held to exact
// equality; the token budget changes matrix shapes and the order of the loss's sums, so float32 rounding
// differs: 1e-6 relative to each tensor's largest entry (float32's epsilon is 1.2e-7; these sums run over
// a few thousand tokens), as the relative L2 error of the whole gradient. A single tensor may differ by
// 1e-5 of its norm: a routed expert's gradient sums a few tokens' terms of opposite sign (advantages),
// whose cancellation magnifies float32 reassociation (one-row micro-batches measured 1.8e-6).
//
// bf16 (model.dtype): the weights are bf16, AdamW steps fp32 master weights with fp32 moments, and after
// each step the weights are exactly the masters rounded to bf16.
#include <catch2/catch.hpp>

#include "grpo/run_config.h"
#include "grpo/trainer.h"
#include "policy/checkpoint.h"
#include "rollout/engine.h"
#include "tests/common/tiny_model.h"

using namespace aha;

namespace {

nlohmann::json demo_step(const nlohmann::json& train_extra) {
  nlohmann::json j = {
      {"model", {{"path", std::string(AHA_SOURCE_DIR) + "/examples/tiny/base"}}},
      {"data", {{"task", "arith"}, {"template", "compact"}, {"seed", 11},
                {"options", {{"min_terms", 2}, {"max_terms", 3}, {"max_operand", 99}}}}},
      {"rollout", {{"prompts_per_step", 4}, {"group_size", 8}, {"max_new_tokens", 48}}},
      {"rewards", {{"rules", {{{"name", "accuracy"}, {"weight", 1.0}}, {{"name", "format"}, {"weight", 0.5}}}}}},
      {"grpo", {{"beta", 0.04}, {"mu", 1}, {"minibatches", 1}}},
      {"train", {{"steps", 3}, {"lr", 2e-4}, {"threads", 1}, {"max_grad_norm", 0}}}};
  if (!train_extra.is_null()) j["train"].update(train_extra);
  return j;
}

struct StepResult {
  nlohmann::json metrics;
  std::vector<std::pair<std::string, torch::Tensor>> grads;
};

StepResult one_step(const nlohmann::json& train_extra) {
  grpo::Trainer trainer(grpo::run_config_from_json(demo_step(train_extra), "test"));
  StepResult out{trainer.step(0).metrics, {}};
  // one update per step (mu 1, one minibatch): the gradients it applied are still on the parameters
  for (const auto& p : trainer.model()->named_parameters())
    out.grads.emplace_back(p.key(), p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor());
  return out;
}

double metric(const nlohmann::json& m, const char* key) { return m.at(key).get<double>(); }

}  // namespace

TEST_CASE("gradient checkpointing and micro_batch_tokens give the plain step's loss and gradients") {
  const StepResult plain = one_step({});
  REQUIRE(metric(plain.metrics, "frac_reward_zero_std") < 1.0);  // there is something to learn
  REQUIRE(metric(plain.metrics, "grad_norm") > 1e-3);
  struct Variant {
    const char* name;
    nlohmann::json train;
    double tolerance;
  };
  const std::vector<Variant> variants = {
      {"gradient_checkpointing", {{"gradient_checkpointing", true}}, 0.0},
      {"micro_batch_tokens 300", {{"micro_batch_tokens", 300}}, 1e-6},
      {"micro_batch_tokens 1 (one row each)", {{"micro_batch_tokens", 1}}, 1e-6},
      {"both", {{"gradient_checkpointing", true}, {"micro_batch_tokens", 300}}, 1e-6},
  };
  for (const Variant& v : variants) {
    INFO(v.name);
    const StepResult other = one_step(v.train);
    // on-policy with seq-mean-token-mean the loss is −mean(A) = 0 up to float noise: a margin, not a ratio
    for (const char* key : {"loss", "kl", "entropy", "grad_norm", "moe/max_violation"})
      CHECK(metric(other.metrics, key) == Approx(metric(plain.metrics, key)).epsilon(v.tolerance).margin(1e-7));
    // trainer vs rollout log-probs over the same rows, however they were split (a float32-noise margin)
    CHECK(metric(other.metrics, "sampling/logprob_diff_max") ==
          Approx(metric(plain.metrics, "sampling/logprob_diff_max")).margin(1e-5));
    REQUIRE(other.grads.size() == plain.grads.size());
    int64_t compared = 0;
    double diff_sq = 0, norm_sq = 0;
    for (size_t i = 0; i < plain.grads.size(); ++i) {
      INFO(plain.grads[i].first);
      REQUIRE(plain.grads[i].second.defined() == other.grads[i].second.defined());
      if (!plain.grads[i].second.defined()) continue;
      const auto& a = other.grads[i].second;
      const auto& b = plain.grads[i].second;
      ++compared;
      if (v.tolerance == 0.0) {
        CHECK(torch::equal(a, b));
        continue;
      }
      diff_sq += (a - b).pow(2).sum().item<double>();
      norm_sq += b.pow(2).sum().item<double>();
      if (b.abs().max().item<double>() > 0) CHECK(((a - b).norm() / b.norm()).item<double>() <= 10 * v.tolerance);
    }
    CHECK(std::sqrt(diff_sq) <= v.tolerance * std::sqrt(norm_sq));
    CHECK(compared > 20);
  }
}

TEST_CASE("micro_batch_tokens packs length-sorted rows within the budget and cuts each to its longest row") {
  grpo::TrainBatch batch;
  batch.tokens_NT = torch::zeros({6, 10}, torch::kLong);
  batch.lengths_N = torch::tensor({3, 10, 7, 7, 2, 9}, torch::kLong);
  const auto plan = grpo::plan_micro_batches(batch, 0, 6, /*max_rows=*/0, /*tokens_budget=*/20);
  // longest first (1, 5, 2, 3, 0, 4 with lengths 10, 9, 7, 7, 3, 2); a micro-batch's first row sets its
  // length: [1, 5] 2 × 10 = 20; row 2 would make 3 × 10 = 30, so [2, 3] 2 × 7; row 0 would make 21: [0, 4]
  REQUIRE(plan.size() == 3);
  CHECK(plan[0].rows == std::vector<int64_t>{1, 5});
  CHECK(plan[0].length == 10);
  CHECK(plan[1].rows == std::vector<int64_t>{2, 3});
  CHECK(plan[1].length == 7);
  CHECK(plan[2].rows == std::vector<int64_t>{0, 4});
  CHECK(plan[2].length == 3);
  // a row cap as well
  const auto capped = grpo::plan_micro_batches(batch, 0, 6, /*max_rows=*/1, /*tokens_budget=*/1000);
  CHECK(capped.size() == 6);
  // without a budget: consecutive runs at the full length, as grpo.micro_batch_size always did
  const auto runs = grpo::plan_micro_batches(batch, 2, 4, /*max_rows=*/3, /*tokens_budget=*/0);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].rows == std::vector<int64_t>{2, 3, 4});
  CHECK(runs[1].rows == std::vector<int64_t>{5});
  CHECK(runs[1].length == 10);
}

TEST_CASE("bf16 training steps fp32 master weights with fp32 moments and rounds them into the weights") {
  auto j = demo_step({});
  j["model"]["dtype"] = "bfloat16";
  j["train"]["lr"] = 1e-3;
  grpo::Trainer trainer(grpo::run_config_from_json(j, "test"));
  for (const auto& p : trainer.model()->parameters()) REQUIRE(p.scalar_type() == torch::kBFloat16);
  const auto before = trainer.updater().master_weights();
  REQUIRE(!before.empty());
  std::map<std::string, torch::Tensor> start;
  for (const auto& [name, t] : before) start[name] = t.clone();
  const auto m = trainer.step(0).metrics;
  REQUIRE(metric(m, "grad_norm") > 1e-3);
  const auto masters = trainer.updater().master_weights();
  int64_t moved_below_bf16 = 0;
  for (const auto& p : trainer.model()->named_parameters()) {
    INFO(p.key());
    const auto& master = masters.at(p.key());
    CHECK(master.scalar_type() == torch::kFloat);
    CHECK(torch::equal(p.value(), master.to(torch::kBFloat16)));  // the weights are the masters rounded
    // the masters keep what bf16 cannot: some change smaller than the weight's bf16 spacing survives
    const auto& was = start.at(p.key());
    const auto changed = (master != was) & (master.to(torch::kBFloat16) == was.to(torch::kBFloat16));
    moved_below_bf16 += changed.sum().item<int64_t>();
  }
  CHECK(moved_below_bf16 > 0);
  // AdamW's moments are fp32
  int64_t moments = 0;
  for (const auto& [key, state] : trainer.updater().optimizer().state()) {
    const auto& adam = static_cast<const torch::optim::AdamWParamState&>(*state);
    CHECK(adam.exp_avg().scalar_type() == torch::kFloat);
    CHECK(adam.exp_avg_sq().scalar_type() == torch::kFloat);
    ++moments;
  }
  CHECK(moments > 20);
}

TEST_CASE("model.dtype and --dtype: the checkpoint's dtype by default, errors name the field") {
  testing::TempDir tmp;
  {
    auto fp32 = policy::load_policy(std::string(AHA_SOURCE_DIR) + "/examples/tiny/base");
    CHECK(fp32.model->embed_tokens->weight.scalar_type() == torch::kFloat);
    fp32.model->to(torch::kBFloat16);
    policy::save_policy(*fp32.model, testing::tiny_tokenizer_path(), tmp.path / "bf16");
  }
  auto bf16 = policy::load_policy(tmp.path / "bf16");  // loads as it was saved
  for (const auto& p : bf16.model->parameters()) CHECK(p.scalar_type() == torch::kBFloat16);
  CHECK(bf16.config.torch_dtype == "bfloat16");
  auto widened = policy::load_policy(tmp.path / "bf16", {torch::kFloat});
  for (const auto& p : widened.model->parameters()) CHECK(p.scalar_type() == torch::kFloat);
  CHECK_THROWS_WITH(policy::parse_dtype("fp8", "--dtype"), Catch::Contains("--dtype: 'fp8'") &&
                                                             Catch::Contains("float32, bfloat16 or float16"));
  CHECK_THROWS_WITH(policy::parse_device("tpu", "--device"), Catch::Contains("--device: 'tpu'"));
  auto j = demo_step({});
  j["model"]["dtype"] = "float16";
  CHECK_THROWS_WITH(grpo::run_config_from_json(j, "run.json"), Catch::Contains("model.dtype: 'float16'"));
  j = demo_step({{"micro_batch_tokens", -1}});
  CHECK_THROWS_WITH(grpo::run_config_from_json(j, "run.json"), Catch::Contains("train.micro_batch_tokens"));
}

TEST_CASE("gradient checkpointing counts each token's expert load once and records the same routes") {
  testing::TempDir tmp;
  auto policy = policy::load_policy(testing::make_tiny_policy(tmp.path / "p", 5));
  auto& model = *policy.model;
  torch::manual_seed(3);
  const auto tokens = torch::randint(1, 320, {3, 11}, torch::kLong);
  const auto positions = torch::arange(11, torch::kLong).expand({3, 11});
  const auto count = torch::ones({3, 11}, torch::kBool);
  struct Pass {
    std::vector<torch::Tensor> loads, routes, grads;
  };
  auto run = [&](bool recompute) {
    for (auto* moe : model.moe_layers()) moe->expert_load.zero_();
    model.zero_grad();
    policy::RouteTrace record;
    policy::ForwardOptions options;
    options.count_mask_BT = count;
    options.record = &record;
    options.recompute = recompute;
    model.hidden_states(tokens, positions, options).pow(2).sum().backward();
    Pass pass;
    for (auto* moe : model.moe_layers()) pass.loads.push_back(moe->expert_load.clone());
    pass.routes = record.topk_idx;
    for (const auto& p : model.parameters())  // lm_head is not in hidden_states: no gradient
      pass.grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros({0}));
    return pass;
  };
  const Pass plain = run(false), recomputed = run(true);
  REQUIRE(plain.loads.size() == 2);
  for (size_t l = 0; l < plain.loads.size(); ++l) {
    CHECK(torch::equal(recomputed.loads[l], plain.loads[l]));
    CHECK(plain.loads[l].sum().item<double>() == 3 * 11 * 2);  // every token, top-2
    CHECK(torch::equal(recomputed.routes[l], plain.routes[l]));
  }
  for (size_t i = 0; i < plain.grads.size(); ++i) CHECK(torch::equal(recomputed.grads[i], plain.grads[i]));
}

// bf16 against fp32 on the demo base, teacher-forced over the demo's own kind of text. bf16 keeps 8
// significant bits: each weight and activation is rounded by up to 2^-9 relative, the logits (up to ~15)
// by up to 0.03, and the rounding compounds through 4 layers. Measured when this was written, over 292
// tokens: with the fp32 forward's experts replayed, mean |Δ log p| 0.0062 and max 0.16; transformers 5.25
// on the same checkpoint and texts (eager, bf16 against fp32) gives mean 0.0070 and max 0.43. With each
// forward routing for itself a near-tie can pick another expert: one such flip moved one token by 1.59
// nats and the mean to 0.0154. The bounds are about twice the replayed figures, and the free-routing mean
// gets twice its own; a bf16 softmax or a mis-cast weight moves log-probs by tenths of a nat on average.
TEST_CASE("bf16 log-probs of the demo base agree with fp32 within bf16 rounding") {
  const std::string base = std::string(AHA_SOURCE_DIR) + "/examples/tiny/base";
  auto fp32 = policy::load_policy(base);
  auto bf16 = policy::load_policy(base, {torch::kBFloat16});
  const std::vector<std::string> texts = {
      "User: What is 87 + 80 - 37?\nAssistant: <think>87 + 80 = 167. 167 - 37 = 130.</think> <answer>130</answer>",
      "User: What is 12 * 7?\nAssistant: <think>12 * 7 = 84.</think> <answer>84</answer>",
      "User: What is 45 - 19 + 3?\nAssistant: <think>45 - 19 = 26. 26 + 3 = 29.</think> <answer>29</answer>",
      "User: What is 9 + 99 + 56?\nAssistant: <think>9 + 99 = 108. 108 + 56 = 164.</think> <answer>164</answer>",
      "User: What is 73 - 8?\nAssistant: <think>73 - 8 = 65.</think> <answer>65</answer>",
      "User: What is 60 + 6 * 2?\nAssistant: <think>6 * 2 = 12. 60 + 12 = 72.</think> <answer>72</answer>",
  };
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> diffs, own_routes;
  for (const auto& text : texts) {
    const auto ids = fp32.tokenizer->encode(text);
    const int64_t L = static_cast<int64_t>(ids.size()) - 1;
    const auto all = torch::tensor(ids, torch::kLong).unsqueeze(0);
    const auto inputs = all.narrow(1, 0, L), targets = all.narrow(1, 1, L);
    const auto positions = torch::arange(L, torch::kLong).unsqueeze(0);
    policy::RouteTrace routes;
    policy::ForwardOptions record, replay;
    record.record = &routes;
    replay.replay = &routes;
    const auto a = fp32.model->token_logprobs(fp32.model->hidden_states(inputs, positions, record), targets, 1.0);
    const auto b = bf16.model->token_logprobs(bf16.model->hidden_states(inputs, positions, replay), targets, 1.0);
    const auto own = bf16.model->token_logprobs(bf16.model->hidden_states(inputs, positions), targets, 1.0);
    own_routes.push_back((a - own).abs().flatten());
    CHECK(b.scalar_type() == torch::kFloat);  // log-probs are computed in fp32 from bf16 logits
    diffs.push_back((a - b).abs().flatten());
  }
  const auto diff = torch::cat(diffs);
  const double mean = diff.mean().item<double>(), max = diff.max().item<double>();
  INFO("tokens " << diff.numel() << " mean |Δ log p| " << mean << " max " << max);
  CHECK(mean > 0);  // bf16 really ran
  CHECK(mean < 0.0125);
  CHECK(max < 0.35);
  const double own_mean = torch::cat(own_routes).mean().item<double>();
  INFO("routing for itself: mean |Δ log p| " << own_mean);
  CHECK(own_mean < 0.03);
}
