// The Countdown checker (rewards/countdown.h): the strict grammar, exact arithmetic, each number exactly
// once, and the known reward hacks (powers, floor division, decimals, unary signs, concatenation) failing.
#include <catch2/catch.hpp>
#include <string>

#include "rewards/countdown.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

struct Row {
  const char* why;
  const char* expression;
  CountdownVerdict expected;
};

const char* verdict_name(CountdownVerdict v) {
  switch (v) {
    case CountdownVerdict::Correct:
      return "correct";
    case CountdownVerdict::Malformed:
      return "malformed";
    case CountdownVerdict::WrongNumbers:
      return "wrong numbers";
    case CountdownVerdict::DivisionByZero:
      return "division by zero";
    case CountdownVerdict::WrongValue:
      return "wrong value";
  }
  return "?";
}

}  // namespace

TEST_CASE("countdown: expressions for numbers 3 5 7 and target 22", "[countdown]") {
  const CountdownProblem problem{{3, 5, 7}, 22};
  using V = CountdownVerdict;
  const Row rows[] = {
      {"plain", "3*5+7", V::Correct},
      {"order is free", "7 + 5 * 3", V::Correct},
      {"parentheses", "(5*3)+7", V::Correct},
      {"unicode times", "3\u00d75+7", V::Correct},
      {"latex times", "3 \\times 5 + 7", V::Correct},
      {"cdot", "3 \\cdot 5 + 7", V::Correct},
      {"equals target", "3*5+7 = 22", V::Correct},
      {"equals another number", "3*5+7 = 23", V::Malformed},
      {"wrong value", "3+5+7", V::WrongValue},
      {"number unused", "3*5", V::WrongNumbers},
      {"number used twice", "3*5+7+3-3", V::WrongNumbers},
      {"number not given", "4*5+2", V::WrongNumbers},
      {"concatenated digits", "35-7-6", V::WrongNumbers},
      {"juxtaposed numbers", "3 5 7", V::Malformed},
      {"power with **", "3**5+7", V::Malformed},
      {"power with ^", "3^5+7", V::Malformed},
      {"floor division", "7//5+3", V::Malformed},
      {"modulo", "7%5+3", V::Malformed},
      {"decimal", "1.5*3+7", V::Malformed},
      {"unary minus", "-3+5*7", V::Malformed},
      {"unary plus", "+3*5+7", V::Malformed},
      {"letter x as times", "3x5+7", V::Malformed},
      {"brackets", "[3*5]+7", V::Malformed},
      {"leading zero", "03*5+7", V::Malformed},
      {"python call", "eval('3*5+7')", V::Malformed},
      {"unclosed parenthesis", "(3*5+7", V::Malformed},
      {"empty", "", V::Malformed},
      {"trailing operator", "3*5+7+", V::Malformed},
  };
  for (const Row& row : rows) {
    const CountdownResult result = check_countdown(row.expression, problem);
    INFO(row.why << ": '" << row.expression << "' -> " << verdict_name(result.verdict) << " ("
                 << result.detail << ")");
    CHECK(verdict_name(result.verdict) == std::string(verdict_name(row.expected)));
  }
}

TEST_CASE("countdown: exact rational arithmetic", "[countdown]") {
  // 7/2*2 is exactly 7 (a float evaluator might say 7.000000000000001); 1/3*3 is exactly 1.
  CHECK(check_countdown("7/2*2", {{7, 2, 2}, 7}).verdict == CountdownVerdict::Correct);
  CHECK(check_countdown("(1/3)*3", {{1, 3, 3}, 1}).verdict == CountdownVerdict::Correct);
  // Integer division would give 4/3 -> 1, 1 * 3 = 3; exact arithmetic gives 4, not 3.
  CHECK(check_countdown("4/3*3", {{4, 3, 3}, 3}).verdict == CountdownVerdict::WrongValue);
  CHECK(check_countdown("5/(3-3)", {{5, 3, 3}, 1}).verdict == CountdownVerdict::DivisionByZero);
  CHECK(check_countdown("6-8+4", {{6, 8, 4}, 2}).verdict == CountdownVerdict::Correct);  // negative midway
  CHECK(check_countdown("(((((1+1)))))", {{1, 1}, 2}).verdict == CountdownVerdict::Correct);
  std::string deep = std::string(100, '(') + "1+1" + std::string(100, ')');
  CHECK(check_countdown(deep, {{1, 1}, 2}).verdict == CountdownVerdict::Malformed);
  CHECK(check_countdown(std::string(600, '1'), {{1}, 1}).verdict == CountdownVerdict::Malformed);
  CHECK(check_countdown("99999999999999999999999", {{1}, 1}).verdict == CountdownVerdict::WrongNumbers);
}

TEST_CASE("countdown rule: the problem in the answer field, the expression in the answer tag",
          "[countdown]") {
  const auto rule = make_countdown_rule(nullptr);
  const std::string problem = R"({"numbers": [3, 5, 7], "target": 22})";
  CHECK(rule->score(RewardInput{"", "<think>3*5=15</think> <answer>3*5+7</answer>", problem}) == 1);
  CHECK(rule->score(RewardInput{"", "<answer>3+5+7</answer>", problem}) == 0);
  CHECK(rule->score(RewardInput{"", "<answer>3**5</answer> <answer>3*5+7</answer>", problem}) ==
        1);                                                    // the last
  CHECK(rule->score(RewardInput{"", "3*5+7", problem}) == 0);  // no tags
  CHECK(rule->score(RewardInput{"", "so \\boxed{3*5+7}", problem}) == 1);
  CHECK(rule->score(RewardInput{"", "", problem}) == 0);

  CHECK_THROWS_WITH(rule->score(RewardInput{"", "<answer>1</answer>", "22"}),
                    Contains("'numbers' and 'target'"));
  CHECK_THROWS_WITH(rule->score(RewardInput{"", "<answer>1</answer>", "{nope"}), Contains("not JSON"));
  CHECK_THROWS_WITH(rule->score(RewardInput{"", "<answer>1</answer>", R"({"numbers": [1.5], "target": 2})"}),
                    Contains("integer"));
  CHECK_THROWS_WITH(rule->score(RewardInput{"", "<answer>1</answer>", R"({"numbers": [], "target": 2})"}),
                    Contains("1 to 16"));
}

TEST_CASE("countdown rule options", "[countdown]") {
  const auto fixed = make_countdown_rule({{"numbers", {3, 5, 7}}, {"target", 22}});
  CHECK(fixed->score(RewardInput{"", "<answer>3*5+7</answer>", ""}) == 1);
  // A problem in the answer field still wins over the fixed one.
  CHECK(fixed->score(RewardInput{"", "<answer>1+1</answer>", R"({"numbers": [1, 1], "target": 2})"}) == 1);
  const auto tags = make_countdown_rule({{"answer_open", "<eq>"}, {"answer_close", "</eq>"}});
  CHECK(tags->score(RewardInput{"", "<eq>1+1</eq>", R"({"numbers": [1, 1], "target": 2})"}) == 1);
  CHECK_THROWS_WITH(make_countdown_rule({{"numbers", {1, 2}}}), Contains("go together"));
  CHECK_THROWS_WITH(make_countdown_rule({{"allow_power", true}}), Contains("unknown option 'allow_power'"));
  CHECK_THROWS_WITH(make_countdown_rule(nullptr)->score(RewardInput{"", "<answer>1</answer>", ""}),
                    Contains("not JSON"));
}
