// The reward rule interface: a Rule scores one completion against its problem's ground truth. Rules are
// built by name from a RuleSpec (name, weight, options) so a config file can compose them (registry.h
// builds one, rubric.h sums several). This header includes no rule: every rule includes it.
// Model output is never an error: a rule returns a score (0 for anything malformed) and does not throw
// on the completion. It may throw std::invalid_argument on a malformed ground truth (a data bug).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace aha::rewards {

struct RewardInput {
  std::string prompt;
  std::string completion;
  std::string answer;                   // ground truth
  const nlohmann::json* row = nullptr;  // the problem's whole data row (datasets/sources.h), or null
};

class Rule {
 public:
  virtual ~Rule() = default;
  virtual std::string name() const = 0;
  virtual double score(const RewardInput& input) const = 0;
  // Throws std::invalid_argument when this rule cannot read `input`'s ground truth; run on every data row
  // before training so a bad answer is found at load time, not as zeros mid-run. The default scores an
  // empty completion: every built-in per-sample rule reads the ground truth first and throws on a bad one.
  virtual void check_ground_truth(const RewardInput& input) const {
    RewardInput empty = input;
    empty.completion.clear();
    (void)score(empty);
  }
};

struct RuleSpec {
  std::string name;
  double weight = 1.0;
  nlohmann::json options;  // null or an object; keys depend on the rule
};

}  // namespace aha::rewards
