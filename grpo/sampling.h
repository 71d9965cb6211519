// The first half of a training step (DESIGN.md "one training step"): sample groups, score them, filter.
// A round draws P prompts from the stream, samples G completions for each with the current policy, scores
// every completion with its data source's rubric (rewards.by_source) plus DAPO's soft overlong penalty (rewards/shaping/length.h), and keeps
// groups: all of them, or with dynamic sampling only those whose rewards differ (group_advantages decides
// what "zero spread" is). Dynamic sampling draws further rounds until P groups are kept or
// grpo.max_sampling_rounds is reached. Every random draw is a function of (seed, draw index, sample).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "datasets/problem_stream.h"
#include "grpo/run_config.h"
#include "policy/chat_prompt.h"
#include "rewards/source_rubrics.h"
#include "rollout/engine.h"

namespace aha::grpo {

// What one data source's completions earned.
struct SourceStats {
  std::vector<double> rewards;                          // total reward of each completion
  std::map<std::string, std::vector<double>> per_rule;  // each rule's unweighted score
  int64_t correct = 0;        // completions its verifier gave full marks (score >= 1)
  bool has_verifier = false;  // false: its rules only shape the reward, no accuracy
};

// What the policy earned over every sampled completion of a step, kept or not.
struct RolloutStats {
  std::vector<double> rewards;                          // total reward of each completion
  std::map<std::string, std::vector<double>> per_rule;  // each rule's unweighted score
  std::map<std::string, SourceStats> per_source;        // the same by data source
  int64_t correct = 0, judged = 0;  // completions their source's verifier passed / had a verifier for
  int64_t reward_errors = 0;  // completions on which a rule threw (a bad ground truth)
  int64_t groups = 0, zero_spread_groups = 0;
  int64_t clipped = 0, terminated = 0;  // finish reason "length", or not
  double length_sum = 0, length_min = 0, length_max = 0, terminated_length_sum = 0;
  int64_t generated_tokens = 0;
  double rollout_seconds = 0, reward_seconds = 0;
};

// The groups kept for training, G consecutive completions per prompt.
struct SampledGroups {
  rollout::RolloutResult rollout;             // completions of the kept groups; prompt_index renumbered
  std::vector<std::string> prompts, answers, sources;  // per kept group
  std::vector<rewards::RubricResult> scored;  // per kept completion
  std::vector<double> rewards;                // per kept completion: rubric total + overlong penalty
  std::vector<double> overlong;               // per kept completion: the overlong penalty alone
  int64_t rounds = 0, kept_groups = 0;
  RolloutStats stats;
};

class GroupSampler {
 public:
  // Keeps references: all must outlive the sampler.
  GroupSampler(const RunConfig& config, rollout::Engine& engine, datasets::ProblemStream& stream,
               const policy::PromptRenderer& renderer, const rewards::SourceRubrics& rubrics);
  // Draws prompts from index prompts_drawn on and advances it past every prompt drawn.
  SampledGroups sample(int64_t& prompts_drawn);

 private:
  const RunConfig& config_;
  rollout::Engine& engine_;
  datasets::ProblemStream& stream_;
  const policy::PromptRenderer& renderer_;
  const rewards::SourceRubrics& rubrics_;
};

}  // namespace aha::grpo
