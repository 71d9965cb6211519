// The accuracy reward for integer answers: 1 if the content of the completion's last
// answer_open...answer_close block, trimmed, equals the ground truth as an integer, else 0.
// "Last block" = the text between the last answer_close and the nearest answer_open before it, so a model
// that revises its answer is judged on the final one. Integers are [+-]digits after trimming: a leading
// "+", leading zeros and surrounding whitespace are tolerated ("+060" == "60", "-0" == "0"), compared
// exactly at any length. Deliberately NOT accepted: "60.0", "6e1", "1,000", "sixty", "60 apples", a bare
// number without tags — the arith task asks for an integer, and accepting decimal forms would reward
// output the task's own demonstrations never produce. Math-expression equivalence is a different rule.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rewards/rule.h"
#include "rewards/tags.h"

namespace aha::rewards {

// The trimmed content of the last answer block, or nullopt when there is no complete block.
std::optional<std::string_view> last_answer_block(std::string_view completion, const Tags& tags);

// Canonical decimal form ("-12", "0", "60") of an integer written as above, or nullopt if it is not one.
std::optional<std::string> canonical_integer(std::string_view text);

class AccuracyRule final : public Rule {
 public:
  explicit AccuracyRule(Tags tags = {}) : tags_(std::move(tags)) {}
  std::string name() const override { return "accuracy"; }
  // std::invalid_argument if the ground truth is not an integer (a data bug, not model output).
  double score(const RewardInput& input) const override;

 private:
  Tags tags_;
};

}  // namespace aha::rewards
