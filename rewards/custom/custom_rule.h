// Declarative custom rules, written in the run config instead of code:
//   {"name": "custom", "weight": 0.2,
//    "options": {"kind": "regex", "pattern": "\\\\boxed\\{", "score_match": 1, "score_miss": 0}}
// The score is score_match when the target text matches, else score_miss; the rubric weight scales it.
//
// Kinds and their options:
//   regex    pattern (RE2 syntax, required), match: "search" (default, anywhere) | "full" (the whole
//            target), case_insensitive (default false). RE2 runs in time linear in the text, so hostile
//            model output cannot make a pattern backtrack for ever; "." does not match "\n" unless the
//            pattern says (?s). An invalid pattern is a config error naming the option and RE2's reason.
//   contains pattern (a non-empty string, or an array of them), require: "all" (default) | "any",
//            case_insensitive (default false; ASCII letters only).
//   length   min, max, unit as in shaping/length.h (a hard range, no ramp).
// Common options: target: "completion" (default) | "answer_block" (the trimmed content of the last
// answer block, as accuracy.h finds it; a completion without one scores score_miss); score_match
// (default 1), score_miss (default 0); think_open, think_close, answer_open, answer_close (tags.h).
//
// The rule reports the name it was registered under, so a registry may accept "custom.<label>" names and
// let one rubric hold several custom rules (the rubric refuses a name twice).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "rewards/rule.h"
#include "rewards/tags.h"

namespace aha::rewards {

class CustomRule final : public Rule {
 public:
  enum class Target { completion, answer_block };
  using Predicate = std::function<bool(std::string_view)>;
  CustomRule(std::string name, Predicate matches, Target target, Tags tags, double score_match,
             double score_miss);
  std::string name() const override { return name_; }
  double score(const RewardInput& input) const override;

 private:
  std::string name_;
  Predicate matches_;
  Target target_;
  Tags tags_;
  double score_match_, score_miss_;
};

std::unique_ptr<Rule> make_custom_rule(const nlohmann::json& options, const std::string& rule_name);

}  // namespace aha::rewards
