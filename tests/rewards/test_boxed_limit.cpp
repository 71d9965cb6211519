// An answer the extractor cannot read within its bounds (rewards/math/math_extract.h: the last kMaxScan
// bytes, answers of at most kMaxAnswer bytes) scores 0 under every rule that shares the extraction (math,
// integer = aime, gsm8k), never the score of a fallback candidate. The bug this guards: a \boxed{} opening
// more than 64 KiB before the end was cut off by the scan window, so the number at its end was graded as
// the last number: \boxed{x+x+...+x+42} scored 1 against 42.
#include <catch2/catch.hpp>
#include <string>

#include "rewards/math/math_extract.h"
#include "rewards/registry.h"

using namespace aha::rewards;

namespace {

// "x+x+...+x+42", `bytes` long or a little longer.
std::string long_sum(size_t bytes) {
  std::string sum;
  while (sum.size() < bytes) sum += "x+";
  return sum + "42";
}

double score(const std::string& rule, const std::string& completion, const std::string& truth) {
  return make_rule(RuleSpec{rule})->score(RewardInput{"", completion, truth});
}

const char* const kRules[] = {"math", "integer", "aime", "gsm8k"};

// Its first and last 30 bytes, for a failure message.
std::string preview(const std::string& text) {
  return text.size() <= 60 ? text : text.substr(0, 30) + " ... " + text.substr(text.size() - 30);
}

}  // namespace

TEST_CASE("a boxed answer that opens beyond the 64 KiB scan scores 0 and never its trailing number",
          "[math][extract][limits]") {
  const std::string sum = long_sum(math::kMaxScan + 1000);
  const std::string completions[] = {
      "Let me add them up. \\boxed{" + sum + "}",
      "Let me add them up. \\fbox{" + sum + "}",
      "\\boxed{" + sum + "}\n",       // trailing whitespace
      "\\boxed{" + sum,               // never closed
      "\\boxed{" + sum + "} so 42.",  // a number after the box is no way round it
      "\\boxed{" + sum + "} The answer is 42.",
      "<answer>" + sum + "</answer>",  // the same with answer tags
      "<answer>\\boxed{" + sum + "}</answer>",
  };
  for (const std::string& completion : completions) {
    INFO(preview(completion));
    CHECK_FALSE(math::extract_answer(completion));
    for (const char* rule : kRules) {
      INFO(rule);
      CHECK(score(rule, completion, "42") == 0.0);
    }
  }
}

TEST_CASE("a box longer than the answer bound scores 0 even inside the scan", "[math][extract][limits]") {
  const std::string completion = "so \\boxed{" + long_sum(math::kMaxAnswer + 100) + "} hence 42";
  REQUIRE(completion.size() < math::kMaxScan);
  CHECK_FALSE(math::extract_answer(completion));
  for (const char* rule : kRules) {
    INFO(rule);
    CHECK(score(rule, completion, "42") == 0.0);
  }
}

// The refusal must not catch honest answers: a normal box scores 1, also at the end of a completion far
// longer than the scan, also when a long earlier box has been closed well inside the scan.
TEST_CASE("normal boxed answers still score 1 around the limit", "[math][extract][limits]") {
  const std::string reasoning(math::kMaxScan * 2, 'a');
  const std::string completions[] = {
      "\\boxed{42}",
      reasoning + " so \\boxed{42}",
      reasoning + " <answer>42</answer>",
      "\\boxed{" + long_sum(100) + "} no wait, that sums to \\boxed{42}",
      "\\boxed{" + long_sum(math::kMaxScan + 1000) + "} no wait, \\boxed{42}",  // the last box is in the scan
      reasoning + " the answer is 42",  // no box anywhere: phrases still count
  };
  for (const std::string& completion : completions) {
    INFO(preview(completion));
    for (const char* rule : kRules) {
      INFO(rule);
      CHECK(score(rule, completion, "42") == 1.0);
    }
  }
}
