// Held-out evaluation: k sampled completions for each of n problems, scored by the accuracy and format
// rules. pass@1 is the mean accuracy over all n·k samples (the mean over k of per-sample correctness,
// as in DeepSeek-R1's reporting); format_rate the mean format score. Used by `aha eval` and by the
// trainer before and after RL.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/task.h"
#include "rewards/rule.h"
#include "rollout/engine.h"

namespace aha::grpo {

struct EvalOptions {
  int64_t samples = 4;
  rollout::GenerationConfig generation;
  uint64_t seed = 0;
  int64_t prompts_per_batch = 64;
  std::vector<rewards::RuleSpec> rules;  // accuracy/format specs to use (defaults when absent)
};

struct EvalProblemResult {
  std::string id;
  std::string answer;
  std::vector<std::string> responses;
  std::vector<double> accuracy;
  std::vector<double> format;
};

struct EvalResult {
  double pass_at_1 = 0;
  double format_rate = 0;
  double mean_length = 0;  // generated tokens per completion
  double truncation_rate = 0;
  int64_t problems = 0, samples = 0;
  double seconds = 0;
  double tokens_per_second = 0;
  std::vector<EvalProblemResult> per_problem;

  nlohmann::json summary() const;  // {"pass@1", "format_rate", "mean_length", ...}
};

EvalResult evaluate(rollout::Engine& engine, const std::vector<datasets::Problem>& problems,
                    const std::string& template_text, const EvalOptions& options);

// The default accuracy + format specs, taking options from same-named rules in `rules`.
std::vector<rewards::RuleSpec> eval_rule_specs(const std::vector<rewards::RuleSpec>& rules);

}  // namespace aha::grpo
