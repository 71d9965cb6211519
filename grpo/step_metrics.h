// One training step's metrics row, under the names TRL and veRL users know (README "metrics.jsonl"), and
// its console line. Rollout metrics cover every sampled completion, kept or not (what the policy earned);
// update metrics average over the step's applied optimizer steps.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "grpo/policy_update.h"
#include "grpo/run_config.h"
#include "grpo/sampling.h"
#include "rewards/source_rubrics.h"

namespace aha::grpo {

// reward, rewards/<rule>/{mean,std}, accuracy, format_rate, completions/*, frac_reward_zero_std,
// rewards/overlong_penalty/mean, sampling/{rounds,kept_groups}, rewards/<rule>/failures, rewards/errors;
// per data source: reward/<source>, rewards/<source>/<rule>/mean, accuracy/<source>. accuracy is the share
// of completions whose source's verifier gave full marks.
void add_rollout_metrics(const SampledGroups& groups, const RunConfig& config,
                         const rewards::SourceRubrics& rubrics, nlohmann::json& m);

// loss, policy_loss, kl, entropy, clip_ratio/*, importance_ratio/mean, sampling/tis_*,
// sampling/logprob_diff_*, grad_norm, learning_rate, moe/max_violation*, nonfinite/skipped_updates.
void add_update_metrics(const UpdateStats& update, const RunConfig& config, nlohmann::json& m);

// {"step": step, "eval/<name>/<key>": value} for the numeric keys of each eval set's summary
// ({"<name>": summary, ...}); timing keys go under timing/eval_<name>_*.
nlohmann::json eval_row(int64_t step, const nlohmann::json& summaries);

// "step  12/300  reward 1.031  acc 0.555  format 0.951  len 32.4  kl 0.0012  ent 0.091  812 tok/s"
std::string console_line(const nlohmann::json& m, int64_t steps);
std::string format_eta(double seconds);  // "m:ss"

}  // namespace aha::grpo
