// A step's metrics row; see step_metrics.h.
#include "grpo/step_metrics.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

namespace aha::grpo {
namespace {

// mean and unbiased std, as torch computes them (0 std for one value)
std::pair<double, double> mean_std(const std::vector<double>& values) {
  auto v = torch::tensor(values, torch::kFloat64);
  return {v.mean().item<double>(), v.numel() > 1 ? v.std().item<double>() : 0.0};
}

}  // namespace

void add_rollout_metrics(const SampledGroups& groups, const RunConfig& config,
                         const rewards::SourceRubrics& rubrics, nlohmann::json& m) {
  const RolloutStats& s = groups.stats;
  const double n = static_cast<double>(s.rewards.size());
  std::tie(m["reward"], m["reward_std"]) = mean_std(s.rewards);
  for (const auto& [name, values] : s.per_rule)
    std::tie(m["rewards/" + name + "/mean"], m["rewards/" + name + "/std"]) = mean_std(values);
  if (s.reward_errors > 0) m["rewards/errors"] = s.reward_errors;  // rules that threw (a bad ground truth)
  // Samples that got a rule's fallback score (a crashed plugin, a hung program, a sandbox failure) so far
  for (const auto& f : rubrics.failures()) m["rewards/" + f.rule + "/failures"] = f.stats.failed_samples;
  m["accuracy"] = static_cast<double>(s.correct) / n;  // each completion judged by its source's verifier
  for (const auto& [source, stats] : s.per_source) {
    m["reward/" + source] = mean_std(stats.rewards).first;
    for (const auto& [name, values] : stats.per_rule)
      m["rewards/" + source + "/" + name + "/mean"] = mean_std(values).first;
    if (stats.has_verifier)
      m["accuracy/" + source] = static_cast<double>(stats.correct) / static_cast<double>(stats.rewards.size());
  }
  m["format_rate"] = s.per_rule.count("format") ? m["rewards/format/mean"].get<double>() : 0.0;
  m["completions/mean_length"] = s.length_sum / n;
  m["completions/min_length"] = s.length_min;
  m["completions/max_length"] = s.length_max;
  m["completions/clipped_ratio"] = static_cast<double>(s.clipped) / n;
  m["completions/mean_terminated_length"] =
      s.terminated > 0 ? s.terminated_length_sum / static_cast<double>(s.terminated) : 0.0;
  if (config.grpo.overlong_buffer > 0) {
    double sum = 0;
    for (double v : groups.overlong) sum += v;
    m["rewards/overlong_penalty/mean"] = groups.overlong.empty() ? 0.0 : sum / groups.overlong.size();
  }
  m["frac_reward_zero_std"] = static_cast<double>(s.zero_spread_groups) / static_cast<double>(s.groups);
  if (config.grpo.dynamic_sampling) {
    m["sampling/rounds"] = groups.rounds;
    m["sampling/kept_groups"] = groups.kept_groups;
  }
}

void add_update_metrics(const UpdateStats& u, const RunConfig& config, nlohmann::json& m) {
  const double n = static_cast<double>(std::max<int64_t>(u.updates, 1));
  m["loss"] = u.sums.loss / n;
  m["policy_loss"] = u.sums.policy_loss / n;
  m["kl"] = u.sums.kl / n;
  m["entropy"] = u.sums.entropy / n;
  m["clip_ratio/low_mean"] = u.sums.clip_low / n;
  m["clip_ratio/high_mean"] = u.sums.clip_high / n;
  m["clip_ratio/region_mean"] = (u.sums.clip_low + u.sums.clip_high) / n;
  if (config.grpo.loss.dual_clip > 0) m["clip_ratio/dual_mean"] = u.sums.dual_clip / n;
  m["importance_ratio/mean"] = u.sums.ratio / n;
  if (config.grpo.loss.tis_cap > 0) {
    m["sampling/tis_weight_mean"] = u.sums.tis_weight / n;
    m["sampling/tis_capped_frac"] = u.sums.tis_capped / n;
  }
  m["sampling/logprob_diff_mean"] = u.logprob_diff_mean;
  m["sampling/logprob_diff_max"] = u.logprob_diff_max;
  m["grad_norm"] = u.grad_norm_sum / n;
  m["learning_rate"] = u.learning_rate;
  double worst = 0;
  for (size_t l = 0; l < u.max_violation.size(); ++l) {
    m["moe/max_violation/layer_" + std::to_string(l)] = u.max_violation[l];
    worst = std::max(worst, u.max_violation[l]);
  }
  m["moe/max_violation"] = worst;
  m["nonfinite/skipped_updates"] = u.skipped;
  if (u.skipped > 0) m["nonfinite/where"] = u.nonfinite_where;
}

nlohmann::json eval_row(int64_t step, const nlohmann::json& summaries) {
  nlohmann::json row = {{"step", step}};
  for (const auto& [name, summary] : summaries.items())
    for (auto it = summary.begin(); it != summary.end(); ++it) {
      if (!it->is_number()) continue;
      const bool timing = it.key() == "seconds" || it.key() == "tokens_per_second";
      row[(timing ? "timing/eval_" + name + "_" : "eval/" + name + "/") + it.key()] = *it;
    }
  return row;
}

std::string console_line(const nlohmann::json& m, int64_t steps) {
  char line[256];
  std::snprintf(
      line, sizeof line,
      "step %3lld/%lld  reward %.3f  acc %.3f  format %.3f  len %.1f  kl %.4f  ent %.3f  %.0f tok/s",
      static_cast<long long>(m["step"].get<int64_t>()), static_cast<long long>(steps),
      m["reward"].get<double>(), m["accuracy"].get<double>(), m["format_rate"].get<double>(),
      m["completions/mean_length"].get<double>(), m.value("kl", 0.0), m.value("entropy", 0.0),
      m["perf/tokens_per_second"].get<double>());
  return line;
}

std::string format_eta(double seconds) {
  char buf[32];
  const int s = static_cast<int>(seconds + 0.5);
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

}  // namespace aha::grpo
