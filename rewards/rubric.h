// A rubric: the reward is a weighted sum of named rules, total = sum_i weight_i * score_i, and every
// rule's unweighted score is reported on its own so each can be logged.
// A rule that throws (it should not on model output; it may on a malformed ground truth) scores 0 for that
// input, the error is kept in the result (and said on stderr) and scoring goes on: one bad rule or row must
// not take down a training step. score_batch() hands a BatchRule (plugins, programs, code) the whole batch
// in one call, and runs the other rules over the inputs on `workers` threads.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "rewards/batch_rule.h"
#include "rewards/rule.h"

namespace aha::rewards {

struct RubricResult {
  double total = 0;
  std::vector<std::pair<std::string, double>> rules;  // (rule name, unweighted score), in rubric order
  std::string error;  // "" or "<rule>: <what it threw>; ..." for rules that threw on this input
};

// Failure counters of one rule that runs code outside aha (plugin, program, code sandbox).
struct RuleFailures {
  std::string rule;
  ExternalStats stats;
};

class Rubric {
 public:
  // std::invalid_argument if specs is empty, names a rule twice, has a non-finite weight, or a spec that
  // make_rule rejects.
  explicit Rubric(const std::vector<RuleSpec>& specs);
  RubricResult score(const RewardInput& input) const;
  std::vector<RubricResult> score_batch(const std::vector<RewardInput>& inputs, int workers = 1) const;
  // Cumulative counters of every BatchRule in the rubric, in rubric order.
  std::vector<RuleFailures> failures() const;
  const std::vector<RuleSpec>& specs() const { return specs_; }
  // Throws std::invalid_argument "<rule>: ..." when one of the rules cannot read input's ground truth.
  void check_ground_truth(const RewardInput& input) const;

 private:
  std::vector<RuleSpec> specs_;
  std::vector<std::unique_ptr<Rule>> rules_;
};

// Parses [{"name": "format", "weight": 0.5, "options": {...}}, ...]; weight defaults to 1, options to
// null. Each rule is also built once, so a bad name or option is reported here, with its place:
// errors read "<where>[<index>].<key>: ...", e.g. rewards.rules[1].weight: expected a number, got "x".
std::vector<RuleSpec> parse_rules(const nlohmann::json& rules_array, const std::string& where);

}  // namespace aha::rewards
