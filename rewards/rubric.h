// A rubric: the reward is a weighted sum of named rules, total = sum_i weight_i * score_i, and every
// rule's unweighted score is reported on its own so each can be logged.
// A rule that throws (it should not) scores 0 for that input, the rubric says so on stderr and goes on:
// one bad rule must not take down a training step.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "rewards/rule.h"

namespace aha::rewards {

struct RubricResult {
  double total = 0;
  std::vector<std::pair<std::string, double>> rules;  // (rule name, unweighted score), in rubric order
};

class Rubric {
 public:
  // std::invalid_argument if specs is empty, names a rule twice, has a non-finite weight, or a spec that
  // make_rule rejects.
  explicit Rubric(const std::vector<RuleSpec>& specs);
  RubricResult score(const RewardInput& input) const;
  std::vector<RubricResult> score_batch(const std::vector<RewardInput>& inputs) const;
  const std::vector<RuleSpec>& specs() const { return specs_; }

 private:
  std::vector<RuleSpec> specs_;
  std::vector<std::unique_ptr<Rule>> rules_;
};

// Parses [{"name": "format", "weight": 0.5, "options": {...}}, ...]; weight defaults to 1, options to
// null. Each rule is also built once, so a bad name or option is reported here, with its place:
// errors read "<where>[<index>].<key>: ...", e.g. rewards.rules[1].weight: expected a number, got "x".
std::vector<RuleSpec> parse_rules(const nlohmann::json& rules_array, const std::string& where);

}  // namespace aha::rewards
