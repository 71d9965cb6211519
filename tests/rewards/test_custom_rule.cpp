// Tests for declarative custom rules: each kind (regex, contains, length) on literal completions, the
// answer_block target, custom scores, RE2's linear time on a pattern that backtracks exponentially in a
// backtracking engine, and config errors that name the field.
#include <catch2/catch.hpp>
#include <chrono>

#include "rewards/custom/custom_rule.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

double custom(const nlohmann::json& options, const std::string& completion) {
  return make_custom_rule(options, "custom")->score(RewardInput{"prompt", completion, "42"});
}

nlohmann::json regex(const std::string& pattern) {
  return {{"kind", "regex"}, {"pattern", pattern}};
}

}  // namespace

TEST_CASE("custom regex: search anywhere by default, full match on request", "[custom]") {
  const nlohmann::json boxed = regex(R"(\\boxed\{)");
  CHECK(custom(boxed, R"(so the answer is \boxed{42}.)") == 1);
  CHECK(custom(boxed, "so the answer is 42.") == 0);
  CHECK(custom(regex("^\\d+$"), "42") == 1);
  CHECK(custom(regex("\\d+"), "the answer is 42") == 1);

  nlohmann::json full = regex("\\d+");
  full["match"] = "full";
  CHECK(custom(full, "42") == 1);
  CHECK(custom(full, "the answer is 42") == 0);

  // "." does not cross lines unless the pattern says (?s).
  CHECK(custom(regex("^<think>.*</think>$"), "<think>a\nb</think>") == 0);
  CHECK(custom(regex("(?s)^<think>.*</think>$"), "<think>a\nb</think>") == 1);

  nlohmann::json insensitive = regex("therefore");
  CHECK(custom(insensitive, "Therefore, 42") == 0);
  insensitive["case_insensitive"] = true;
  CHECK(custom(insensitive, "Therefore, 42") == 1);
  CHECK(custom(regex("世界"), "你好世界") == 1);  // UTF-8 patterns
}

TEST_CASE("custom rules score score_match or score_miss", "[custom]") {
  nlohmann::json rule = regex("wait");
  rule["score_match"] = 0.5;
  rule["score_miss"] = -1;
  CHECK(custom(rule, "wait, let me check") == 0.5);
  CHECK(custom(rule, "done") == -1);
}

TEST_CASE("custom regex runs in linear time on hostile input", "[custom]") {
  // (a+)+$ on "aaa...ab" takes exponential time in a backtracking engine (std::regex, PCRE without
  // limits). RE2 must answer at once; this guards against a switch to a backtracking engine.
  const std::string hostile = std::string(50000, 'a') + "b";
  const auto start = std::chrono::steady_clock::now();
  CHECK(custom(regex("(a+)+$"), hostile) == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("custom contains: one string, all of several, any of several", "[custom]") {
  CHECK(custom({{"kind", "contains"}, {"pattern", "verify"}}, "let me verify") == 1);
  CHECK(custom({{"kind", "contains"}, {"pattern", "verify"}}, "let me check") == 0);
  const nlohmann::json both = {{"kind", "contains"}, {"pattern", {"<think>", "</think>"}}};
  CHECK(custom(both, "<think>x</think>") == 1);
  CHECK(custom(both, "<think>x") == 0);
  nlohmann::json any = both;
  any["require"] = "any";
  CHECK(custom(any, "<think>x") == 1);
  CHECK(custom(any, "x") == 0);
  const nlohmann::json folded = {{"kind", "contains"}, {"pattern", "WAIT"}, {"case_insensitive", true}};
  CHECK(custom(folded, "Wait, no.") == 1);
  CHECK(custom({{"kind", "contains"}, {"pattern", "WAIT"}}, "Wait, no.") == 0);
}

TEST_CASE("custom length: inclusive range in the chosen unit", "[custom]") {
  const nlohmann::json short_answer = {{"kind", "length"}, {"max", 3}, {"unit", "words"}};
  CHECK(custom(short_answer, "it is 42") == 1);
  CHECK(custom(short_answer, "the answer is 42") == 0);
  const nlohmann::json between = {{"kind", "length"}, {"min", 2}, {"max", 3}};  // chars by default
  CHECK(custom(between, "a") == 0);
  CHECK(custom(between, "ab") == 1);
  CHECK(custom(between, "世界!") == 1);
  CHECK(custom(between, "abcd") == 0);
}

TEST_CASE("custom target answer_block looks only inside the last answer block", "[custom]") {
  nlohmann::json digits = regex("\\d+");
  digits["match"] = "full";
  digits["target"] = "answer_block";
  CHECK(custom(digits, "<think>so 7</think> <answer> 42 </answer>") == 1);  // trimmed
  CHECK(custom(digits, "<think>so 7</think> <answer>forty-two</answer>") == 0);
  CHECK(custom(digits, "42") == 0);                                      // no block: score_miss
  CHECK(custom(digits, "<answer>x</answer> <answer>42</answer>") == 1);  // the last one
  digits["answer_open"] = "<final>";
  digits["answer_close"] = "</final>";
  CHECK(custom(digits, "<final>42</final>") == 1);
}

TEST_CASE("custom config errors name the field", "[custom]") {
  CHECK_THROWS_WITH(
      make_custom_rule({{"kind", "regex"}, {"pattern", "a(b"}}, "custom"),
      Equals("reward rule 'custom': option 'pattern': invalid RE2 regex 'a(b': missing ): a(b"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "regex"}, {"pattern", "(?<name>x)"}}, "custom.named"),
                    Contains("reward rule 'custom.named': option 'pattern': invalid RE2 regex"));
  CHECK_THROWS_WITH(
      make_custom_rule({{"pattern", "x"}}, "custom"),
      Equals("reward rule 'custom': option 'kind': expected one of regex, contains, length, got nothing"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "glob"}}, "custom"), Contains("got \"glob\""));
  CHECK_THROWS_WITH(make_custom_rule(nullptr, "custom"), Contains("option 'kind'"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "regex"}}, "custom"), Contains("option 'pattern': missing"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "regex"}, {"pattern", ""}}, "custom"),
                    Contains("option 'pattern': expected a non-empty string"));
  CHECK_THROWS_WITH(
      make_custom_rule({{"kind", "regex"}, {"pattern", "x"}, {"require", "all"}}, "custom"),
      Contains("unknown option 'require'; allowed options: pattern, match, case_insensitive, kind"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "regex"}, {"pattern", "x"}, {"match", "prefix"}}, "custom"),
                    Contains("option 'match': expected one of search, full"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "contains"}, {"pattern", {"a", 3}}}, "custom"),
                    Contains("option 'pattern': expected a non-empty string or an array of them"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "contains"}, {"pattern", nlohmann::json::array()}}, "custom"),
                    Contains("option 'pattern': expected at least one string"));
  CHECK_THROWS_WITH(make_custom_rule({{"kind", "length"}}, "custom"), Contains("needs min, max or both"));
  CHECK_THROWS_WITH(
      make_custom_rule({{"kind", "contains"}, {"pattern", "a"}, {"score_match", "1"}}, "custom"),
      Contains("option 'score_match': expected a number, got \"1\""));
  CHECK_THROWS_WITH(
      make_custom_rule({{"kind", "contains"}, {"pattern", "a"}, {"target", "prompt"}}, "custom"),
      Contains("option 'target': expected one of completion, answer_block"));
}

TEST_CASE("custom rule reports the name it was registered under", "[custom]") {
  CHECK(make_custom_rule(regex("x"), "custom")->name() == "custom");
  CHECK(make_custom_rule(regex("x"), "custom.has_x")->name() == "custom.has_x");
}
