// A rule that scores a whole batch in one call, for rules whose cost is per call rather than per sample:
// a plugin in a helper process or an external program pays one round trip (and one timeout budget) per
// batch instead of one per completion. score() is a batch of one, so a BatchRule is still a Rule and
// works anywhere a Rule does; a caller that holds many inputs (Rubric::score_batch) can check
// dynamic_cast<const BatchRule*> and call score_batch once.
//
// ExternalStats are the failure counters of a rule that runs code outside aha's control (plugins,
// programs); every sample that got the fallback score is counted in failed_samples, and failures() is
// that number. A rule with nothing external reports zeros. A trainer logs them per rule with one
// dynamic_cast<const BatchRule*>.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rewards/rule.h"

namespace aha::rewards {

struct ExternalStats {
  uint64_t batches = 0;          // score_batch calls
  uint64_t samples = 0;          // inputs asked for
  uint64_t failed_samples = 0;   // inputs that got the fallback score, for any reason below
  uint64_t timeouts = 0;         // batches cut short by the timeout (the process is killed)
  uint64_t crashes = 0;          // times the process died or closed its output while scoring
  uint64_t protocol_errors = 0;  // error replies, unreadable or wrongly sized replies, non-zero status
  uint64_t start_failures = 0;   // times a (re)start failed
  uint64_t restarts = 0;         // processes started after the first
};

class BatchRule : public Rule {
 public:
  // One score per input, in order. Never throws on model output; failures give the rule's fallback.
  virtual std::vector<double> score_batch(std::span<const RewardInput> inputs) const = 0;
  double score(const RewardInput& input) const final { return score_batch({&input, 1}).front(); }
  virtual ExternalStats stats() const { return {}; }
  // Running code outside aha (a plugin, a program) per data row would be slow and have side effects: no
  // check unless the rule can parse its ground truth itself (code).
  void check_ground_truth(const RewardInput&) const override {}
  uint64_t failures() const { return stats().failed_samples; }
};

}  // namespace aha::rewards
