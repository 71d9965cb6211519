// Tests for aha_reward_v1 plugins: the example plugin loaded and scoring (isolated and in-process); a
// plugin that segfaults, aborts, exits or hangs costs only the fallback for the sample that did it, is
// counted, and the next batch is scored by a fresh helper while this test process (the "trainer") lives
// on; bad statuses and NaN scores; and every refusal at load time names the file.
// Plugin paths come from tests/fixtures/reward_plugins/CMakeLists.txt.
#include <catch2/catch.hpp>
#include <chrono>

#include "rewards/custom/plugin_rule.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

std::vector<RewardInput> batch(std::initializer_list<const char*> completions, const char* answer = "42") {
  std::vector<RewardInput> out;
  for (const char* completion : completions) out.push_back({"prompt", completion, answer});
  return out;
}

std::unique_ptr<PluginRule> misbehaving(PluginRule::Isolation isolation = PluginRule::Isolation::process,
                                        double timeout_s = 5) {
  return std::make_unique<PluginRule>(AHA_FIXTURE_PLUGIN_MISBEHAVING, nlohmann::json::object(), isolation,
                                      timeout_s, /*fallback=*/-1.0);
}

}  // namespace

TEST_CASE("example plugin scores boxed answers, in a helper process and in-process", "[plugin]") {
  for (const char* isolation : {"process", "none"}) {
    INFO("isolation " << isolation);
    const auto rule = make_plugin_rule({{"path", AHA_EXAMPLE_REWARD_PLUGIN},
                                        {"config", {{"partial_credit", 0.25}}},
                                        {"isolation", isolation}},
                                       "plugin");
    const auto& plugin = dynamic_cast<const PluginRule&>(*rule);
    CHECK(plugin.name() == "plugin");
    CHECK(plugin.plugin_name() == "boxed_match");
    const auto scores = plugin.score_batch(batch({
        "so \\boxed{42}",                 // match
        "\\boxed{41} no, \\boxed{ 42 }",  // the last box counts, trimmed
        "\\boxed{41}",                    // a box, wrong: partial credit
        "no box",                         // 0
        "\\boxed{\\frac{1}{2}",           // never closes: 0
    }));
    CHECK(scores == std::vector<double>{1, 1, 0.25, 0, 0});
    CHECK(plugin.score(RewardInput{"p", "\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"}) == 1);  // nested braces
    CHECK(plugin.score_batch({}).empty());
    CHECK(plugin.failures() == 0);
  }
}

TEST_CASE("example plugin: a config its init refuses is a config error with the plugin's message",
          "[plugin]") {
  for (const char* isolation : {"process", "none"})
    CHECK_THROWS_WITH(
        make_plugin_rule(
            {{"path", AHA_EXAMPLE_REWARD_PLUGIN}, {"config", {{"bogus", 1}}}, {"isolation", isolation}},
            "plugin"),
        Contains("reward rule 'plugin'") && Contains(AHA_EXAMPLE_REWARD_PLUGIN) &&
            Contains("init failed: config key 'bogus'"));
  CHECK_THROWS_WITH(
      PluginRule(AHA_FIXTURE_PLUGIN_MISBEHAVING, {{"fail_init", true}}, PluginRule::Isolation::process, 5, 0),
      Contains("init failed: asked to fail by its config"));
}

TEST_CASE("a plugin that segfaults costs only that sample, and the trainer lives on", "[plugin][crash]") {
  const auto rule = misbehaving();
  const auto scores = rule->score_batch(batch({"abc", "segfault", "de"}));
  CHECK(scores == std::vector<double>{3, -1, 2});  // retried one by one after the crash
  ExternalStats stats = rule->stats();
  CHECK(stats.crashes == 2);  // the batch, then the segfaulting sample alone
  CHECK(stats.failed_samples == 1);
  CHECK(rule->failures() == 1);
  CHECK(rule->score_batch(batch({"wxyz"})) == std::vector<double>{4});  // fresh helper
  CHECK(rule->stats().restarts == 2);
}

TEST_CASE("a plugin that aborts or exits gives the fallback and is restarted", "[plugin][crash]") {
  const auto rule = misbehaving();
  CHECK(rule->score_batch(batch({"abort"})) == std::vector<double>{-1});
  CHECK(rule->score_batch(batch({"exit"})) == std::vector<double>{-1});
  CHECK(rule->score_batch(batch({"ok"})) == std::vector<double>{2});
  const ExternalStats stats = rule->stats();
  CHECK(stats.crashes == 2);
  CHECK(stats.failed_samples == 2);
  CHECK(stats.restarts == 2);
  CHECK(stats.batches == 3);
  CHECK(stats.samples == 3);
}

TEST_CASE("a plugin that hangs times out, the batch gets the fallback, the next batch works",
          "[plugin][timeout]") {
  const auto rule = misbehaving(PluginRule::Isolation::process, /*timeout_s=*/0.5);
  const auto start = std::chrono::steady_clock::now();
  CHECK(rule->score_batch(batch({"a", "hang", "b"})) == std::vector<double>{-1, -1, -1});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  CHECK(rule->stats().timeouts == 1);
  CHECK(rule->stats().failed_samples == 3);
  CHECK(rule->score_batch(batch({"abc", "de"})) == std::vector<double>{3, 2});
  CHECK(rule->stats().restarts == 1);
}

TEST_CASE("a non-zero status fails the batch, a NaN fails one sample", "[plugin]") {
  for (auto isolation : {PluginRule::Isolation::process, PluginRule::Isolation::none}) {
    INFO("in-process " << (isolation == PluginRule::Isolation::none));
    const auto rule = misbehaving(isolation);
    CHECK(rule->score_batch(batch({"a", "status"})) == std::vector<double>{-1, -1});
    CHECK(rule->stats().protocol_errors == 1);
    CHECK(rule->score_batch(batch({"abc", "nan"})) == std::vector<double>{3, -1});
    CHECK(rule->failures() == 3);
    CHECK(rule->stats().crashes == 0);
    CHECK(rule->stats().restarts == 0);  // neither is a reason to restart
  }
}

TEST_CASE("plugins refused at load time name the file and the fix", "[plugin]") {
  CHECK_THROWS_WITH(load_reward_plugin(AHA_FIXTURE_PLUGIN_BAD_VERSION),
                    Contains(AHA_FIXTURE_PLUGIN_BAD_VERSION) && Contains("ABI version 2") &&
                        Contains("speaks version 1") && Contains("rebuild"));
  CHECK_THROWS_WITH(load_reward_plugin(AHA_FIXTURE_PLUGIN_NO_ENTRY),
                    Contains(AHA_FIXTURE_PLUGIN_NO_ENTRY) && Contains("does not export 'aha_reward_v1'"));
  CHECK_THROWS_WITH(
      load_reward_plugin("/nonexistent/reward.so"),
      Contains("reward plugin '/nonexistent/reward.so': cannot load it") && Contains("No such file"));
  CHECK_THROWS_WITH(make_plugin_rule({{"path", AHA_FIXTURE_PLUGIN_BAD_VERSION}}, "plugin.future"),
                    Contains("reward rule 'plugin.future'") && Contains("ABI version 2"));
}

TEST_CASE("plugin option errors", "[plugin]") {
  CHECK_THROWS_WITH(make_plugin_rule(nullptr, "plugin"), Contains("option 'path': missing"));
  CHECK_THROWS_WITH(
      make_plugin_rule({{"path", AHA_EXAMPLE_REWARD_PLUGIN}, {"isolation", "thread"}}, "plugin"),
      Contains("option 'isolation': expected one of process, none"));
  CHECK_THROWS_WITH(make_plugin_rule({{"path", AHA_EXAMPLE_REWARD_PLUGIN}, {"timeout_s", 0}}, "plugin"),
                    Contains("option 'timeout_s': must be > 0"));
  CHECK_THROWS_WITH(
      make_plugin_rule({{"path", AHA_EXAMPLE_REWARD_PLUGIN}, {"file", "x"}}, "plugin"),
      Contains("unknown option 'file'; allowed options: path, config, isolation, timeout_s, fallback"));
}
