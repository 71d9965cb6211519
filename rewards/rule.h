// A reward rule: scores one completion against its problem's ground truth. Rules are built by name
// from a RuleSpec (name, weight, options) so a config file can compose them (see rubric.h).
// Model output is never an error: a rule returns a score (0 for anything malformed) and does not throw
// on the completion. It may throw std::invalid_argument on a malformed ground truth (a data bug).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace aha::rewards {

struct RewardInput {
  std::string prompt;
  std::string completion;
  std::string answer;  // ground truth
};

class Rule {
 public:
  virtual ~Rule() = default;
  virtual std::string name() const = 0;
  virtual double score(const RewardInput& input) const = 0;
};

struct RuleSpec {
  std::string name;
  double weight = 1.0;
  nlohmann::json options;  // null or an object; keys depend on the rule
};

// Known names: "format", "accuracy" (options: the Tags keys, see tags.h). Unknown name or unknown option
// key -> std::invalid_argument naming it and listing what is allowed. The weight is the rubric's business.
std::unique_ptr<Rule> make_rule(const RuleSpec& spec);
std::vector<std::string> known_rules();

}  // namespace aha::rewards
