// The loss-family config: presets set their fields together, an explicit field wins over its preset,
// errors name the field; and the data order (ProblemStream).
#include <catch2/catch.hpp>

#include <set>

#include "datasets/problem_stream.h"
#include "grpo/run_config.h"

using namespace aha;
using namespace aha::grpo;

namespace {

RunConfig parse(const nlohmann::json& grpo_section) {
  nlohmann::json j = {{"model", {{"path", "m"}}}, {"rollout", {{"max_new_tokens", 40}}}, {"grpo", grpo_section}};
  return run_config_from_json(j, "run.json");
}

}  // namespace

TEST_CASE("the grpo preset is DeepSeekMath/R1 GRPO", "[grpo][config]") {
  const auto g = parse(nlohmann::json::object()).grpo;  // the default preset
  CHECK(g.preset == "grpo");
  CHECK(g.scale_rewards == ScaleRewards::Group);
  CHECK(g.loss.aggregation == Aggregation::SeqMeanTokenMean);
  CHECK(g.loss.beta == 0.001);
  CHECK(g.loss.kl_estimator == KlEstimator::K3);
  CHECK(g.loss.kl_in_loss);
  CHECK(g.loss.clip_low == 0.2);
  CHECK(g.loss.clip_high == 0.2);
  CHECK_FALSE(g.dynamic_sampling);
  CHECK(g.overlong_buffer == 0);
}

TEST_CASE("the dapo preset: clip-higher, token-mean, no KL, dynamic sampling, overlong penalty", "[grpo][config]") {
  const auto g = parse({{"preset", "dapo"}}).grpo;
  CHECK(g.loss.clip_low == 0.2);
  CHECK(g.loss.clip_high == 0.28);
  CHECK(g.loss.aggregation == Aggregation::TokenMean);
  CHECK(g.loss.beta == 0.0);
  CHECK(g.dynamic_sampling);
  CHECK(g.overlong_buffer == 10);  // max_new_tokens / 4
  CHECK(g.scale_rewards == ScaleRewards::Group);
}

TEST_CASE("the dr_grpo preset: no std scaling and a constant token-sum divisor", "[grpo][config]") {
  const auto g = parse({{"preset", "dr_grpo"}}).grpo;
  CHECK(g.scale_rewards == ScaleRewards::None);
  CHECK(g.loss.aggregation == Aggregation::SeqMeanTokenSumNorm);
  CHECK(g.loss.sum_norm == 40);  // max_new_tokens
  CHECK(g.loss.beta == 0.0);
}

TEST_CASE("a field set next to a preset wins and the resolved config round-trips", "[grpo][config]") {
  const auto c = parse({{"preset", "dapo"}, {"clip_high", 0.3}, {"dynamic_sampling", false}, {"beta", 0.01},
                        {"kl_estimator", "k1"}, {"kl_placement", "reward"}, {"ratio_level", "sequence"},
                        {"dual_clip", 3.0}, {"entropy_coef", 0.001}, {"micro_batch_size", 2}});
  CHECK(c.grpo.loss.clip_high == 0.3);
  CHECK_FALSE(c.grpo.dynamic_sampling);
  CHECK(c.grpo.loss.aggregation == Aggregation::TokenMean);  // still the preset's
  CHECK(c.grpo.loss.kl_estimator == KlEstimator::K1);
  CHECK_FALSE(c.grpo.loss.kl_in_loss);
  CHECK(c.grpo.loss.ratio_level == RatioLevel::Sequence);
  CHECK(c.grpo.loss.beta == 0.01);
  CHECK(c.grpo.loss.dual_clip == 3.0);
  CHECK(c.grpo.loss.entropy_coef == 0.001);
  CHECK(c.grpo.micro_batch_size == 2);
  // every key of the written grpo section is a field the reader knows, with the value it read
  const nlohmann::json written = c.to_json()["grpo"];
  CHECK(written["kl_placement"] == "reward");
  CHECK(written["kl_estimator"] == "k1");
  CHECK(written["aggregation"] == "token-mean");
  CHECK(written["beta"] == 0.01);
  // the saved config.json reproduces the same settings (resume reads it back)
  const auto again = run_config_from_json(c.to_json(), "config.json");
  CHECK(again.to_json() == c.to_json());
}

TEST_CASE("loss-family config errors name the key and the allowed values", "[grpo][config]") {
  CHECK_THROWS_WITH(parse({{"preset", "ppo"}}), Catch::Contains("grpo.preset") && Catch::Contains("grpo, dapo, dr_grpo"));
  CHECK_THROWS_WITH(parse({{"kl_placement", "both"}}), Catch::Contains("grpo.kl_placement"));
  CHECK_THROWS_WITH(parse({{"scale_rewards", "std"}}), Catch::Contains("grpo.scale_rewards"));
  CHECK_THROWS_WITH(parse({{"tis_cap", 2.0}}), Catch::Contains("recompute_old_logprobs"));
  CHECK_THROWS_WITH(parse({{"overlong_buffer", 41}}), Catch::Contains("grpo.overlong_buffer"));
  CHECK_THROWS_WITH(parse({{"preset", 3}}), Catch::Contains("grpo.preset: expected a string"));
}

TEST_CASE("ProblemStream visits every problem once per epoch in a new order each epoch", "[grpo][data]") {
  auto task = datasets::make_task("arith", nlohmann::json::object());
  datasets::ProblemStream stream(*task, 7, 10);
  std::vector<std::string> epochs[3];
  for (int64_t k = 0; k < 30; ++k) epochs[k / 10].push_back(stream.at(k).id);
  for (const auto& e : epochs) CHECK(std::set<std::string>(e.begin(), e.end()).size() == 10);
  CHECK(std::set<std::string>(epochs[0].begin(), epochs[0].end()) ==
        std::set<std::string>(epochs[1].begin(), epochs[1].end()));
  CHECK(epochs[0] != epochs[1]);
  CHECK(stream.epoch_of(19) == 1);
  // random access gives the same problem as sequential access (a resumed run starts mid-epoch)
  datasets::ProblemStream fresh(*task, 7, 10);
  CHECK(fresh.at(23).id == epochs[2][3]);
  // train_size 0: problem k is task.problems(Train, ·, seed)[k]
  datasets::ProblemStream endless(*task, 7, 0);
  const auto list = task->problems(datasets::Split::Train, 50, 7);
  CHECK(endless.at(49).id == list[49].id);
  CHECK(endless.at(3).id == list[3].id);
}
