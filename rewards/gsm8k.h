// The GSM8K checker: the completion's final number equals the ground truth's.
// Ground truth: the number after the last "####" (the GSM8K data) or after a line starting "A:" (the
// OpenAI model-solution files), or else the whole text; commas, "$" and spaces are ignored, so
// "#### 1,000" is 1000. A ground truth that is not a number is std::invalid_argument (a data bug).
// Completion: the final answer per math/math_extract.h (answer block, \boxed, "the answer is", "####", "A:",
// then the last number), read as an exact number: "$1,000", "1000.00", "1000 dollars", "\boxed{1000}",
// "50%" (as 50, the percent sign ignored; GSM8K has no percent answers in any other sense) all score for
// 1000 or 50. When the extracted text is not a plain number ("She made $18 a day"), it counts only if it
// contains exactly one number; "10+John's age" or "between 3 and 4" score 0.
// Compared exactly (18.0 = 18, 18.5 != 18). Options: the extraction keys of task_options.h.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "rewards/math/math_extract.h"
#include "rewards/math/math_number.h"
#include "rewards/rule.h"

namespace aha::rewards {

// The ground-truth number of a GSM8K answer or model-solution ground truth; nullopt if there is none.
std::optional<math::Rational> gsm8k_reference(std::string_view truth);

// The number a completion answers with, per the rules above; nullopt if it gives none.
std::optional<math::Rational> gsm8k_prediction(std::string_view completion,
                                               const math::ExtractOptions& options = {});

class Gsm8kRule final : public Rule {
 public:
  explicit Gsm8kRule(math::ExtractOptions extract = {}) : extract_(std::move(extract)) {}
  std::string name() const override { return "gsm8k"; }
  double score(const RewardInput& input) const override;

 private:
  math::ExtractOptions extract_;
};

std::unique_ptr<Rule> make_gsm8k_rule(const nlohmann::json& options);

}  // namespace aha::rewards
