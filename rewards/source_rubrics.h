// Rewards per data source (rewards.by_source): each row is scored by the rules its data source names, the
// default rules (rewards.rules) when by_source has no entry for it. One Rubric per distinct rule list; a
// batch is split by source, each part scored in one score_batch call (batch rules still get one call per
// rubric), and the results come back in input order. The source's verifier is its first rule that decides
// correctness (not a shaping rule, registry.h is_shaping_rule): accuracy metrics and held-out evals use it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rewards/rubric.h"

namespace aha::rewards {

class SourceRubrics {
 public:
  // std::invalid_argument as Rubric gives it, prefixed with "rewards.by_source.<source>" for an entry.
  SourceRubrics(const std::vector<RuleSpec>& default_rules,
                const std::map<std::string, std::vector<RuleSpec>>& by_source);

  const Rubric& for_source(const std::string& source) const;
  bool has_entry(const std::string& source) const { return by_source_.count(source) > 0; }
  const std::vector<RuleSpec>& specs(const std::string& source) const { return for_source(source).specs(); }
  // The name of the source's verifier rule; nullopt when every rule of its rubric is a shaping rule.
  std::optional<std::string> verifier(const std::string& source) const;

  // sources[i] picks the rubric of inputs[i].
  std::vector<RubricResult> score_batch(const std::vector<RewardInput>& inputs,
                                        const std::vector<std::string>& sources, int workers = 1) const;
  // Failure counters of every batch rule, default rubric first (names prefixed "<source>/" for entries).
  std::vector<RuleFailures> failures() const;
  // Throws std::invalid_argument when a rule of `source`'s rubric cannot read the ground truth.
  void check_ground_truth(const RewardInput& input, const std::string& source) const;

 private:
  Rubric default_;
  std::map<std::string, std::unique_ptr<Rubric>> by_source_;
};

}  // namespace aha::rewards
