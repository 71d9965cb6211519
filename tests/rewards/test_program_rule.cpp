// Tests for external reward programs (JSON lines): the Python example serving its own rule and a TRL-style
// function unchanged; a program that hangs is killed at the timeout and the next batch works; one that
// exits is restarted and only the sample that killed it gets the fallback; garbage, wrong counts and
// error replies; a dead program never raises SIGPIPE in the trainer; and the protocol's own encoding.
// The Python cases are skipped, loudly, where python3 is not on PATH.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "rewards/custom/program_rule.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

const std::string kSource = AHA_SOURCE_DIR;
const std::string kExample = kSource + "/examples/reward_program/reward_program.py";
const std::string kMisbehaving = kSource + "/tests/fixtures/reward_plugins/misbehaving_program.py";

bool have_python() {
  static const bool found = [] {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');)
      if (!dir.empty() && ::access((dir + "/python3").c_str(), X_OK) == 0) return true;
    return false;
  }();
  if (!found) WARN("python3 is not on PATH; skipping this reward-program test");
  return found;
}

std::vector<RewardInput> batch(std::initializer_list<const char*> completions, const char* answer = "42") {
  std::vector<RewardInput> out;
  for (const char* completion : completions) out.push_back({"prompt", completion, answer});
  return out;
}

std::unique_ptr<ProgramRule> misbehaving(double timeout_s = 5) {
  return std::make_unique<ProgramRule>(std::vector<std::string>{"python3", kMisbehaving}, timeout_s, -1.0);
}

}  // namespace

TEST_CASE("reward protocol: requests are one ASCII line, replies are checked", "[program][protocol]") {
  const std::vector<RewardInput> inputs = {{"p\n1", "caf\xc3\xa9 \xff", "a\"b"}};
  const std::string line = encode_reward_request(inputs);
  CHECK(line ==
        "{\"inputs\":[{\"answer\":\"a\\\"b\",\"completion\":\"caf\\u00e9 \\ufffd\",\"prompt\":\"p\\n1\"}],"
        "\"version\":1}\n");

  std::string why;
  auto reply = decode_reward_reply(R"({"scores": [1, 0.5, null, "x"]})", 4, why);
  REQUIRE(reply);
  CHECK(reply->scores == std::vector<std::optional<double>>{1.0, 0.5, std::nullopt, std::nullopt});
  reply = decode_reward_reply(R"({"error": "boom"})", 4, why);
  REQUIRE(reply);
  CHECK(reply->error == "boom");
  CHECK_FALSE(decode_reward_reply(R"({"scores": [1]})", 2, why));
  CHECK(why == "expected 2 scores, got 1");
  CHECK_FALSE(decode_reward_reply("[1, 2]", 2, why));
  CHECK_FALSE(decode_reward_reply("1.0", 1, why));
  CHECK_FALSE(decode_reward_reply(R"({"score": 1})", 1, why));
  CHECK_FALSE(decode_reward_reply("", 1, why));
}

TEST_CASE("the Python example program scores a batch", "[program]") {
  if (!have_python()) return;
  const auto rule = make_program_rule({{"command", {"python3", kExample}}, {"fallback", -1}}, "program");
  const auto& program = dynamic_cast<const ProgramRule&>(*rule);
  CHECK(program.name() == "program");
  const std::vector<RewardInput> inputs = {
      {"p", "37 + 5 = 42", "42"}, {"p", "it is 1,234", "1234"}, {"p", "no idea", "42"},
      {"p", "41", "42"},          {"p", "4", "not a number"},  // the rule returns None: fallback
  };
  CHECK(program.score_batch(inputs) == std::vector<double>{1, 1, 0, 0, -1});
  CHECK(program.failures() == 1);
  CHECK(program.score(RewardInput{"p", "42", "42"}) == 1);
  // How a rubric finds the batch call and the failure counters without knowing the rule's class.
  const auto* as_batch = dynamic_cast<const BatchRule*>(rule.get());
  REQUIRE(as_batch);
  CHECK(as_batch->stats().batches == 2);
  CHECK(as_batch->failures() == 1);
}

TEST_CASE("a TRL-style reward function runs unchanged behind the example program", "[program]") {
  if (!have_python()) return;
  const ProgramRule rule(
      {"python3", kExample, kSource + "/examples/reward_program/trl_style_rules.py:format_reward"}, 5, -1);
  CHECK(rule.score_batch(batch({"<think>\nx\n</think>\n<answer>\n42\n</answer>", "42"})) ==
        std::vector<double>{1, 0});
}

TEST_CASE("a program that hangs is killed at the timeout and the next batch works", "[program][timeout]") {
  if (!have_python()) return;
  const auto rule = misbehaving(/*timeout_s=*/0.5);
  const auto start = std::chrono::steady_clock::now();
  CHECK(rule->score_batch(batch({"a", "hang"})) == std::vector<double>{-1, -1});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  CHECK(rule->stats().timeouts == 1);
  CHECK(rule->failures() == 2);
  CHECK(rule->score_batch(batch({"abc", "de"})) == std::vector<double>{3, 2});
  CHECK(rule->stats().restarts == 1);
}

TEST_CASE("a program that exits is restarted, only the sample that killed it gets the fallback",
          "[program][crash]") {
  if (!have_python()) return;
  const auto rule = misbehaving();
  CHECK(rule->score_batch(batch({"a", "exit", "bcd"})) == std::vector<double>{1, -1, 3});
  ExternalStats stats = rule->stats();
  CHECK(stats.crashes == 2);  // the batch, then "exit" alone
  CHECK(stats.restarts == 2);
  CHECK(stats.failed_samples == 1);
  CHECK(rule->score_batch(batch({"exit"})) == std::vector<double>{-1});
  CHECK(rule->score_batch(batch({"xy"})) == std::vector<double>{2});
  CHECK(rule->stats().restarts == 3);
}

TEST_CASE("garbage and wrong counts restart the program, an error reply keeps it", "[program]") {
  if (!have_python()) return;
  const auto rule = misbehaving();
  CHECK(rule->score_batch(batch({"garbage", "a"})) == std::vector<double>{-1, -1});
  CHECK(rule->stats().protocol_errors == 1);
  CHECK(rule->score_batch(batch({"wrong-count"})) == std::vector<double>{-1});
  CHECK(rule->stats().protocol_errors == 2);
  CHECK(rule->stats().restarts == 1);  // after the garbage; the wrong count is restarted lazily, below
  CHECK(rule->score_batch(batch({"error", "a"})) == std::vector<double>{-1, -1});
  CHECK(rule->stats().protocol_errors == 3);
  CHECK(rule->stats().restarts == 2);
  CHECK(rule->score_batch(batch({"null", "ab"})) == std::vector<double>{-1, 2});
  CHECK(rule->stats().restarts == 2);  // an error reply or a null score is no reason to restart
  CHECK(rule->failures() == 6);
  CHECK(rule->stats().crashes == 0);
}

TEST_CASE("a program that dies at once: bounded retries, then the fallback", "[program][crash]") {
  if (!have_python()) return;
  ProgramRule rule({"python3", "-c", "import sys; sys.exit(5)"}, 5, -1);
  CHECK(rule.score_batch(batch({"a", "b", "c", "d", "e", "f"})) == std::vector<double>(6, -1));
  CHECK(rule.stats().crashes == 1 + ExternalScorer::kMaxCrashRetries);
  CHECK(rule.stats().failed_samples == 6);
}

TEST_CASE("a program that quits without reading does not SIGPIPE the trainer", "[program][crash]") {
  // `true` exits at once; writing a 4 MiB request into its closed socket must fail quietly.
  ProgramRule rule({"true"}, 5, -1);
  std::vector<RewardInput> big = {{"p", std::string(4 << 20, 'x'), "a"}};
  CHECK(rule.score_batch(big) == std::vector<double>{-1});
  CHECK(rule.stats().crashes == 1);
}

TEST_CASE("program config errors", "[program]") {
  CHECK_THROWS_WITH(
      make_program_rule({{"command", {"/nonexistent/reward-program"}}}, "program"),
      Contains("reward rule 'program': option 'command': cannot run '/nonexistent/reward-program'") &&
          Contains("No such file"));
  CHECK_THROWS_WITH(make_program_rule({{"command", "python3 reward.py"}}, "program"),
                    Contains("option 'command': expected a non-empty array of strings"));
  CHECK_THROWS_WITH(make_program_rule({{"command", nlohmann::json::array()}}, "program"),
                    Contains("option 'command': expected a non-empty array"));
  CHECK_THROWS_WITH(make_program_rule(nullptr, "program"), Contains("option 'command': missing"));
  CHECK_THROWS_WITH(make_program_rule({{"command", {"true"}}, {"timeout_s", -1}}, "program"),
                    Contains("option 'timeout_s': must be > 0"));
}
