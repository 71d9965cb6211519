// Tests for rewards/answer_key.h, table-driven on literal completions: each key reads the answer its rule
// grades (a key that read a different answer than the rule would let maj@k vote on something the verifier
// never saw), math groups equivalent answers, and rules without an answer have no key.
#include <catch2/catch.hpp>

#include "rewards/answer_key.h"

using namespace aha::rewards;

namespace {

std::optional<std::string> key_of(const std::string& rule, const std::string& completion,
                                  const nlohmann::json& options = nullptr) {
  auto key = make_answer_key({rule, 1.0, options});
  REQUIRE(key);
  return key->canonical(completion);
}

}  // namespace

TEST_CASE("answer keys read the answer each rule grades", "[answer_key]") {
  struct Case {
    std::string rule, completion;
    std::optional<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"accuracy", "<think>2+2</think> <answer> +004 </answer>", "4"},
      {"accuracy", "<answer>1</answer> then <answer>-7</answer>", "-7"},
      {"accuracy", "<answer>4.0</answer>", std::nullopt},  // the accuracy rule wants an integer
      {"accuracy", "the answer is 4", std::nullopt},       // no answer block
      {"math", "so it is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"},
      {"math", "<answer>x^2-4</answer>", "x^2-4"},
      {"math", "I give up.", std::nullopt},
      {"gsm8k", "She makes $1,000.00 a day. #### 1,000", "1000"},
      {"gsm8k", "The answer is 3.5", "7/2"},
      {"gsm8k", "nothing numeric here", std::nullopt},
      {"integer", "\\boxed{\\frac{54}{2}}", "27"},
      {"integer", "\\boxed{027}", "27"},
      {"aime", "\\boxed{27.5}", "55/2"},  // a wrong answer still votes
      {"integer", "\\boxed{x+1}", std::nullopt},
  };
  for (const Case& c : cases) {
    INFO(c.rule << ": " << c.completion);
    CHECK(key_of(c.rule, c.completion) == c.expected);
  }
}

TEST_CASE("answer keys follow the rule's tag options", "[answer_key]") {
  const nlohmann::json tags = {{"answer_open", "<a>"}, {"answer_close", "</a>"}};
  CHECK(key_of("accuracy", "<a>12</a>", tags) == std::optional<std::string>("12"));
  CHECK(key_of("accuracy", "<answer>12</answer>", tags) == std::nullopt);
}

TEST_CASE("the math key groups equivalent answers and exact keys compare text", "[answer_key]") {
  auto math = make_answer_key({"math", 1.0, nullptr});
  CHECK(math->same("\\frac{1}{2}", "0.5"));
  CHECK(math->same("(x-2)(x+2)", "x^2-4"));
  CHECK_FALSE(math->same("x^2-4", "x^2+4"));
  auto integer = make_answer_key({"integer", 1.0, nullptr});
  CHECK(integer->same("27", "27"));
  CHECK_FALSE(integer->same("27", "28"));
}

TEST_CASE("rules without one answer to vote on have no key", "[answer_key]") {
  for (const char* rule : {"code", "format", "countdown", "overlong"}) {
    INFO(rule);
    CHECK(make_answer_key({rule, 1.0, nullptr}) == nullptr);
  }
}
