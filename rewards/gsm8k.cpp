// The GSM8K checker (see gsm8k.h).
#include "rewards/gsm8k.h"
#include "rewards/ascii.h"

#include <stdexcept>
#include <vector>

#include "rewards/math/math_equiv.h"
#include "rewards/task_options.h"

namespace aha::rewards {
namespace {


// The plain decimal numbers in a text ("1,000", "-3.5", ".5"), as exact values.
std::vector<math::Rational> numbers_in(std::string_view text) {
  std::vector<math::Rational> numbers;
  for (size_t i = 0; i < text.size();) {
    const bool starts = is_digit(text[i]) || (text[i] == '.' && i + 1 < text.size() && is_digit(text[i + 1]));
    if (!starts) {
      ++i;
      continue;
    }
    const bool negative = i > 0 && text[i - 1] == '-' && (i < 2 || !is_digit(text[i - 2]));
    std::string digits;
    size_t j = i;
    for (; j < text.size(); ++j) {
      const char c = text[j];
      if (is_digit(c)) {
        digits.push_back(c);
      } else if (c == ',' && j + 3 < text.size() && is_digit(text[j + 1]) && is_digit(text[j + 2]) &&
                 is_digit(text[j + 3]) && (j + 4 == text.size() || !is_digit(text[j + 4])) &&
                 digits.find('.') == std::string::npos) {
        continue;  // a thousands separator: "1,000"
      } else if (c == '.' && j + 1 < text.size() && is_digit(text[j + 1]) &&
                 digits.find('.') == std::string::npos) {
        digits.push_back(c);
      } else {
        break;
      }
    }
    if (const std::optional<math::Rational> value = math::Rational::from_decimal(digits))
      numbers.push_back(negative ? -*value : *value);
    if (numbers.size() > 64) break;
    i = j;
  }
  return numbers;
}

// An answer that is one number, possibly dressed: "$1,000", "18 dollars", "\boxed{18}", "50%".
std::optional<math::Rational> as_number(std::string_view answer) {
  const math::PreparedAnswer prepared = math::prepare_answer(answer);
  if (prepared.expr && prepared.expr->top().kind == math::Kind::Percent) {
    math::PreparedAnswer inner = prepared;
    inner.expr->root = prepared.expr->top().args[0];
    return math::exact_number(inner);
  }
  return math::exact_number(prepared);
}

}  // namespace

std::optional<math::Rational> gsm8k_reference(std::string_view truth) {
  const std::string answer = math::extract_reference(truth);
  if (std::optional<math::Rational> value = as_number(answer)) return value;
  return std::nullopt;
}

std::optional<math::Rational> gsm8k_prediction(std::string_view completion,
                                               const math::ExtractOptions& options) {
  const std::optional<math::ExtractedAnswer> answer = math::extract_answer(completion, options);
  if (!answer) return std::nullopt;
  if (std::optional<math::Rational> value = as_number(answer->text)) return value;
  const std::vector<math::Rational> numbers = numbers_in(answer->text);
  if (numbers.size() == 1) return numbers[0];
  return std::nullopt;
}

double Gsm8kRule::score(const RewardInput& input) const {
  const std::optional<math::Rational> truth = gsm8k_reference(input.answer);
  if (!truth)
    throw std::invalid_argument("gsm8k: the ground truth '" + input.answer.substr(0, 200) +
                                "' has no number (expected '#### 72', 'A: 72' or '72')");
  const std::optional<math::Rational> given = gsm8k_prediction(input.completion, extract_);
  return given && *given == *truth ? 1.0 : 0.0;
}

std::unique_ptr<Rule> make_gsm8k_rule(const nlohmann::json& options) {
  check_option_keys(options, "gsm8k", kExtractOptionKeys);
  return std::make_unique<Gsm8kRule>(extract_options(options, "gsm8k"));
}

}  // namespace aha::rewards
