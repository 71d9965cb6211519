// The "math" and "integer" checkers (see math_rule.h).
#include "rewards/math/math_rule.h"

#include <stdexcept>

#include "rewards/task_options.h"

namespace aha::rewards {

double MathRule::score(const RewardInput& input) const {
  const std::string truth = math::extract_reference(input.answer, extract_);
  const math::PreparedAnswer gold = math::prepare_answer(truth);
  if (gold.normalized.empty())
    throw std::invalid_argument("math: the ground truth '" + input.answer.substr(0, 200) + "' has no answer");
  const std::optional<math::ExtractedAnswer> answer = math::extract_answer(input.completion, extract_);
  if (!answer) return 0.0;
  return math::equivalent(gold, math::prepare_answer(answer->text), equiv_) ? 1.0 : 0.0;
}

double IntegerRule::score(const RewardInput& input) const {
  const std::string truth = math::extract_reference(input.answer, extract_);
  const std::optional<math::Rational> gold = math::exact_number(math::prepare_answer(truth));
  if (!gold || !gold->is_integer())
    throw std::invalid_argument(name_ + ": the ground truth '" + input.answer.substr(0, 200) +
                                "' is not an integer; this rule compares integers (27 and 27.0 both work)");
  const std::optional<math::ExtractedAnswer> answer = math::extract_answer(input.completion, extract_);
  if (!answer) return 0.0;
  const std::optional<math::Rational> given = math::exact_number(math::prepare_answer(answer->text));
  return given && *given == *gold ? 1.0 : 0.0;
}

std::unique_ptr<Rule> make_math_rule(const nlohmann::json& options) {
  std::vector<std::string> allowed = kExtractOptionKeys;
  allowed.push_back("float_rounding");
  check_option_keys(options, "math", allowed);
  math::EquivOptions equiv;
  equiv.float_rounding =
      static_cast<int>(option_integer(options, "float_rounding", equiv.float_rounding, 0, 15, "math"));
  return std::make_unique<MathRule>(extract_options(options, "math"), equiv);
}

std::unique_ptr<Rule> make_integer_rule(const nlohmann::json& options, const std::string& name) {
  check_option_keys(options, name, kExtractOptionKeys);
  return std::make_unique<IntegerRule>(extract_options(options, name), name);
}

}  // namespace aha::rewards
