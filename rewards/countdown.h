// The Countdown checker (the TinyZero task): given numbers and a target, the completion's answer must be an
// arithmetic expression that uses each given number exactly once and evaluates to the target.
//
// Where the problem comes from: RewardInput::answer holds it as JSON, {"numbers": [3, 5, 7], "target": 22}
// (integers; numbers non-empty, at most 16). The rule's options may carry "numbers" and "target" instead,
// used when `answer` is empty (a fixed puzzle). A missing or malformed problem is std::invalid_argument.
//
// What the answer may be: the content of the last <answer>...</answer> block (tags configurable), else
// the last \boxed{...}; nothing else is read. It is parsed by its own strict grammar, never evaluated as
// code:
//   expression := term (('+' | '-') term)*
//   term       := factor (('*' | '/') factor)*
//   factor     := integer | '(' expression ')'
// Accepted spellings: '*', the Unicode times sign, \times and \cdot for multiplication; '/', the Unicode
// division sign and \div for division; '-' and the Unicode minus for subtraction. Not accepted, so that
// the usual tricks fail: unary minus or plus ("-3+5"), '**' and '^', '//' and '%', decimals ("1.5"),
// leading zeros ("05"), juxtaposition and digit concatenation ("2 5" or "25" from 2 and 5), the letter x
// as a times sign (ambiguous; the prompt says * and /), brackets other than (), any other character.
// Optionally followed by "= <target>" (that number is not counted as used). Arithmetic is exact (rational):
// 7/2*2 is 7, and division by zero fails. Bounded: at most 512 characters and nesting depth 32.
// Score 1 or 0; CountdownResult says why, for tests and logs.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rewards/math/math_number.h"
#include "rewards/rule.h"
#include "rewards/tags.h"

namespace aha::rewards {

struct CountdownProblem {
  std::vector<int64_t> numbers;
  int64_t target = 0;
};

// {"numbers": [...], "target": N}; std::invalid_argument saying what is wrong, prefixed by `where`.
CountdownProblem countdown_problem_from_json(const nlohmann::json& problem, const std::string& where);

enum class CountdownVerdict { Correct, Malformed, WrongNumbers, DivisionByZero, WrongValue };

struct CountdownResult {
  CountdownVerdict verdict = CountdownVerdict::Malformed;
  std::string detail;                   // for Malformed / WrongNumbers: what was wrong
  std::optional<math::Rational> value;  // the expression's value when it has one
};

// Checks one expression (already taken out of the completion) against the problem.
CountdownResult check_countdown(std::string_view expression, const CountdownProblem& problem);

class CountdownRule final : public Rule {
 public:
  explicit CountdownRule(Tags tags = {}, std::optional<CountdownProblem> fixed = std::nullopt)
      : tags_(std::move(tags)), fixed_(std::move(fixed)) {}
  std::string name() const override { return "countdown"; }
  double score(const RewardInput& input) const override;

 private:
  Tags tags_;
  std::optional<CountdownProblem> fixed_;
};

// Options: answer_open, answer_close, numbers, target (numbers and target together or not at all).
std::unique_ptr<Rule> make_countdown_rule(const nlohmann::json& options);

}  // namespace aha::rewards
