// Table-driven tests for the integer accuracy rule on literal completions. Each row names the case.
#include <catch2/catch.hpp>

#include "rewards/accuracy.h"
#include "tests/common/rule_cases.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;
using aha::testing::check_rule_cases;
using aha::testing::RuleCase;

TEST_CASE("accuracy rule: literal completions", "[accuracy]") {
  const RuleCase rows[] = {
      {"exact", "<think>a</think> <answer>60</answer>", "60", 1},
      {"surrounding spaces", "<answer> 60 </answer>", "60", 1},
      {"surrounding newlines", "<answer>\n60\n</answer>", "60", 1},
      {"leading plus", "<answer>+60</answer>", "60", 1},
      {"leading zero", "<answer>060</answer>", "60", 1},
      {"plus and zeros", "<answer> +00060</answer>", "60", 1},
      {"ground truth with spaces", "<answer>60</answer>", " 60 ", 1},
      {"zero written as 000", "<answer>000</answer>", "0", 1},
      {"negative zero is zero", "<answer>-0</answer>", "0", 1},
      {"negative answers compare with sign", "<answer>-7</answer>", "-7", 1},
      {"longer than 64 bits, exact", "<answer>+0123456789012345678901234567890</answer>",
       "123456789012345678901234567890", 1},
      {"two answer blocks: the last counts", "<answer>59</answer> ... <answer>60</answer>", "60", 1},
      {"two answer blocks: an earlier right one does not count", "<answer>60</answer> <answer>59</answer>",
       "60", 0},
      {"an unclosed trailing block is ignored", "<answer>60</answer> <answer>7", "60", 1},
      {"accuracy ignores the format", "<think>a <answer>60</answer>", "60", 1},
      {"answer first still counts", "<answer>60</answer> <think>a</think>", "60", 1},

      {"wrong number", "<answer>61</answer>", "60", 0},
      {"decimal form not accepted for integer task", "<answer>60.0</answer>", "60", 0},
      {"scientific form", "<answer>6e1</answer>", "60", 0},
      {"thousands separator", "<answer>1,000</answer>", "1000", 0},
      {"words", "<answer>sixty</answer>", "60", 0},
      {"trailing words", "<answer>60 apples</answer>", "60", 0},
      {"inner space", "<answer>6 0</answer>", "60", 0},
      {"sign is not ignored", "<answer>-60</answer>", "60", 0},
      {"double sign", "<answer>--60</answer>", "60", 0},
      {"sign only", "<answer>+</answer>", "60", 0},
      {"empty answer", "<answer></answer>", "60", 0},
      {"missing tags", "60", "60", 0},
      {"bare number after think", "<think>a</think> 60", "60", 0},
      {"missing close tag", "<answer>60", "60", 0},
      {"missing open tag", "60</answer>", "60", 0},
      {"misspelt answer tag", "<answr>60</answr>", "60", 0},
      {"empty completion", "", "60", 0},
  };
  check_rule_cases(AccuracyRule(), rows);
}

TEST_CASE("accuracy rule reads the configured answer tags", "[accuracy]") {
  const AccuracyRule rule(Tags{"<think>", "</think>", "\\boxed{", "}"});
  CHECK(rule.score(RewardInput{"", "so \\boxed{60}", "60"}) == 1);
  CHECK(rule.score(RewardInput{"", "<answer>60</answer>", "60"}) == 0);
}

TEST_CASE("a non-integer ground truth is a loud data error, not a silent 0", "[accuracy]") {
  CHECK_THROWS_WITH(AccuracyRule().score(RewardInput{"", "<answer>60</answer>", "60.5"}),
                    Contains("'60.5'") && Contains("not an integer"));
  CHECK_THROWS_AS(AccuracyRule().score(RewardInput{"", "<answer>60</answer>", ""}), std::invalid_argument);
}

TEST_CASE("canonical_integer and last_answer_block", "[accuracy]") {
  CHECK(canonical_integer("007") == "7");
  CHECK(canonical_integer(" -0012 ") == "-12");
  CHECK(canonical_integer("-000") == "0");
  CHECK_FALSE(canonical_integer("1.5"));
  CHECK_FALSE(canonical_integer("+-1"));
  CHECK_FALSE(canonical_integer(""));
  CHECK_FALSE(canonical_integer("\xd9\xa6"));  // ARABIC-INDIC DIGIT SIX: only ASCII digits count
  const Tags tags;
  CHECK(last_answer_block("<answer> a </answer><answer> b </answer>", tags) == "b");
  CHECK(last_answer_block("<answer><answer>5</answer>", tags) == "5");
  CHECK_FALSE(last_answer_block("</answer><answer>", tags));
  CHECK_FALSE(last_answer_block("no tags", tags));
}
