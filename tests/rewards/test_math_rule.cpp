// The "math" and "integer" (AIME/AMC) checkers as reward rules (rewards/math/math_rule.h): whole completions
// against whole or bare ground truths, options and their errors, and the never-throw-on-output promise.
#include <catch2/catch.hpp>

#include "rewards/math/math_rule.h"
#include "tests/common/rule_cases.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;
using aha::testing::check_rule_cases;
using aha::testing::RuleCase;

TEST_CASE("math rule: completions against ground truths", "[math][rule]") {
  const auto rule = make_math_rule(nullptr);
  const RuleCase rows[] = {
      {"boxed vs bare", "<think>...</think> <answer>\\boxed{\\frac{1}{2}}</answer>", "0.5", 1},
      {"answer tag vs bare", "<think>...</think> <answer>0.5</answer>", "\\frac{1}{2}", 1},
      {"truth is a whole solution", "so \\boxed{(3, \\pi/2)}",
       "We have $r=3$ ... $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$The answer is: \\left( 3, "
       "\\frac{\\pi}{2} \\right)",
       1},
      {"wrong answer", "\\boxed{0.6}", "\\frac{1}{2}", 0},
      {"last number fallback", "Adding up gives 42", "42", 1},
      {"an earlier right answer does not count", "\\boxed{42} hmm, no: \\boxed{41}", "42", 0},
      {"no answer at all", "I give up.", "42", 0},
      {"empty completion", "", "42", 0},
      {"equation answer", "\\boxed{x = 5}", "5", 1},
      {"interval answer", "<answer>[2, 7)</answer>", "x \\in [2,7)", 1},
      {"units in the completion", "\\boxed{15 \\text{ cm}^2}", "15", 1},
  };
  check_rule_cases(*rule, rows);
  CHECK(rule->name() == "math");
}

TEST_CASE("math rule options", "[math][rule]") {
  const auto strict = make_math_rule({{"last_number_fallback", false}});
  CHECK(strict->score(RewardInput{"", "Adding up gives 42", "42"}) == 0);
  const auto coarse = make_math_rule({{"float_rounding", 2}});
  CHECK(coarse->score(RewardInput{"", "\\boxed{0.33}", "\\frac{1}{3}"}) == 1);
  CHECK(make_math_rule(nullptr)->score(RewardInput{"", "\\boxed{0.33}", "\\frac{1}{3}"}) == 0);
  const auto tags = make_math_rule({{"answer_open", "[A]"}, {"answer_close", "[/A]"}});
  CHECK(tags->score(RewardInput{"", "[A]7[/A] 8", "7"}) == 1);

  CHECK_THROWS_WITH(make_math_rule({{"precision", 3}}),
                    Contains("unknown option 'precision'") && Contains("float_rounding"));
  CHECK_THROWS_WITH(make_math_rule({{"float_rounding", 40}}),
                    Contains("'float_rounding'") && Contains("[0, 15]"));
  CHECK_THROWS_WITH(make_math_rule({{"last_number_fallback", "yes"}}), Contains("true or false"));
  CHECK_THROWS_WITH(make_math_rule({{"answer_open", "x"}, {"answer_close", "x"}}), Contains("must differ"));
  CHECK_THROWS_AS(make_math_rule(nlohmann::json::array()), std::invalid_argument);
}

TEST_CASE("math rule: an empty ground truth is a data error, model output never is", "[math][rule]") {
  const auto rule = make_math_rule(nullptr);
  CHECK_THROWS_WITH(rule->score(RewardInput{"", "\\boxed{1}", "  "}), Contains("no answer"));
  for (const char* hostile :
       {"\\boxed{", "}}}}", "\\boxed{\\frac{1}{0}}", "\\boxed{0^{-1}}", "\\boxed{\\sqrt{-1}}",
        "<answer></answer>", "\\boxed{\\begin{pmatrix}1&2\\\\3\\end{pmatrix}}", "$$$$", "\\boxed{\\\\}"}) {
    INFO(hostile);
    CHECK_NOTHROW(rule->score(RewardInput{"", hostile, "1"}));
  }
}

TEST_CASE("integer rule: AIME and AMC answers", "[math][rule]") {
  const auto rule = make_integer_rule(nullptr, "aime");
  CHECK(rule->name() == "aime");
  const RuleCase rows[] = {
      {"same integer", "\\boxed{27}", "27", 1},
      {"float ground truth (amc23)", "\\boxed{27}", "27.0", 1},
      {"float answer", "\\boxed{27.0}", "27", 1},
      {"leading zeros (aime24)", "\\boxed{25}", "025", 1},
      {"zero-padded answer", "\\boxed{025}", "25", 1},
      {"exact expression", "\\boxed{\\frac{54}{2}}", "27", 1},
      {"near miss", "\\boxed{27.5}", "27", 0},
      {"rounded float is not the integer", "\\boxed{27.0000001}", "27", 0},
      {"variable", "\\boxed{x}", "27", 0},
      {"list", "\\boxed{27, 28}", "27", 0},
      {"negative", "\\boxed{-1}", "-1.0", 1},
      {"answer tag", "<answer>204</answer>", "204", 1},
  };
  check_rule_cases(*rule, rows);
  CHECK_THROWS_WITH(rule->score(RewardInput{"", "\\boxed{1}", "27.5"}),
                    Contains("'27.5'") && Contains("not an integer"));
  CHECK_THROWS_AS(rule->score(RewardInput{"", "\\boxed{1}", "x"}), std::invalid_argument);
  CHECK_THROWS_WITH(make_integer_rule({{"float_rounding", 2}}), Contains("unknown option 'float_rounding'"));
}
