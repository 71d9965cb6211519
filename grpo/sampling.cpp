// Rollout rounds with dynamic sampling; see sampling.h.
#include "grpo/sampling.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "grpo/advantage.h"
#include "rewards/shaping/length.h"
#include "rollout/seeds.h"

namespace aha::grpo {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void add_completion(RolloutStats& stats, const rollout::Completion& c, const rewards::RubricResult& scored,
                    double total, const std::string& source, const std::optional<std::string>& verifier) {
  const double length = static_cast<double>(c.token_ids.size());
  const bool first = stats.rewards.empty();
  stats.rewards.push_back(total);
  SourceStats& by_source = stats.per_source[source];
  by_source.rewards.push_back(total);
  by_source.has_verifier = verifier.has_value();
  for (const auto& [name, score] : scored.rules) {
    stats.per_rule[name].push_back(score);
    by_source.per_rule[name].push_back(score);
    if (verifier && name == *verifier && score >= 1.0) {
      ++by_source.correct;
      ++stats.correct;
    }
  }
  stats.judged += verifier ? 1 : 0;
  stats.reward_errors += scored.error.empty() ? 0 : 1;
  stats.length_sum += length;
  stats.length_min = first ? length : std::min(stats.length_min, length);
  stats.length_max = first ? length : std::max(stats.length_max, length);
  if (c.finish_reason == rollout::FinishReason::Length) {
    ++stats.clipped;
  } else {
    stats.terminated_length_sum += length;
    ++stats.terminated;
  }
}

}  // namespace

GroupSampler::GroupSampler(const RunConfig& config, rollout::Engine& engine, datasets::ProblemStream& stream,
                           const policy::PromptRenderer& renderer, const rewards::SourceRubrics& rubrics)
    : config_(config), engine_(engine), stream_(stream), renderer_(renderer), rubrics_(rubrics) {}

SampledGroups GroupSampler::sample(int64_t& prompts_drawn) {
  const int64_t P = config_.rollout.prompts_per_step, G = config_.rollout.group_size;
  const GrpoSection& grpo = config_.grpo;
  const int64_t max_rounds = grpo.dynamic_sampling ? grpo.max_sampling_rounds : 1;
  SampledGroups kept;
  RolloutStats& stats = kept.stats;
  while (kept.kept_groups < P && kept.rounds < max_rounds) {
    // Sample: P prompts, G completions each
    const auto round_start = std::chrono::steady_clock::now();
    std::vector<std::string> prompts, answers, sources;
    std::vector<std::shared_ptr<const nlohmann::json>> rows;
    std::vector<uint64_t> seeds;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t k = prompts_drawn + p;
      const auto& problem = stream_.at(k);
      prompts.push_back(renderer_.text(problem));
      answers.push_back(problem.answer);
      sources.push_back(problem.data_source);
      rows.push_back(problem.row);
      for (int64_t g = 0; g < G; ++g) seeds.push_back(rollout::sample_seed(config_.train.seed, k, g));
    }
    prompts_drawn += P;
    const auto rollout = engine_.generate(prompts, G, config_.generation(), seeds);
    stats.generated_tokens += rollout.generated_tokens;
    stats.rollout_seconds += seconds_since(round_start);
    ++kept.rounds;

    // Score: per-sample rules run on every core; batch rules (plugins, programs) get the batch in one call
    const auto reward_start = std::chrono::steady_clock::now();
    std::vector<rewards::RewardInput> inputs;
    std::vector<std::string> input_sources;
    for (const auto& c : rollout.completions) {
      inputs.push_back({prompts[c.prompt_index], c.text, answers[c.prompt_index], rows[c.prompt_index].get()});
      input_sources.push_back(sources[c.prompt_index]);
    }
    const auto scored =
        rubrics_.score_batch(inputs, input_sources, std::max(1u, std::thread::hardware_concurrency()));
    std::vector<double> totals, overlong;
    for (size_t i = 0; i < scored.size(); ++i) {
      const auto& c = rollout.completions[i];
      const double penalty =
          grpo.overlong_buffer > 0
              ? grpo.overlong_penalty *
                    rewards::soft_overlong_penalty(static_cast<double>(c.token_ids.size()),
                                                   static_cast<double>(config_.rollout.max_new_tokens),
                                                   static_cast<double>(grpo.overlong_buffer))
              : 0.0;
      overlong.push_back(penalty);
      totals.push_back(scored[i].total + penalty);
      add_completion(stats, c, scored[i], totals.back(), input_sources[i], rubrics_.verifier(input_sources[i]));
    }

    // Filter: keep groups (all, or with dynamic sampling those with spread) until P are kept
    const torch::Tensor zero_spread_P =
        group_advantages(torch::tensor(totals, torch::kFloat64), G, ScaleRewards::None).zero_spread_P;
    const auto zero_spread = zero_spread_P.accessor<bool, 1>();
    stats.groups += P;
    for (int64_t p = 0; p < P; ++p) {
      const bool spread = !zero_spread[p];
      stats.zero_spread_groups += spread ? 0 : 1;
      if (kept.kept_groups == P || (grpo.dynamic_sampling && !spread)) continue;
      const int64_t new_index = static_cast<int64_t>(kept.prompts.size());
      kept.prompts.push_back(prompts[p]);
      kept.answers.push_back(answers[p]);
      kept.sources.push_back(sources[p]);
      kept.rollout.prompt_ids.push_back(rollout.prompt_ids[p]);
      for (int64_t g = 0; g < G; ++g) {
        const size_t i = static_cast<size_t>(p * G + g);
        kept.rollout.completions.push_back(rollout.completions[i]);
        kept.rollout.completions.back().prompt_index = new_index;
        kept.scored.push_back(scored[i]);
        kept.rewards.push_back(totals[i]);
        kept.overlong.push_back(overlong[i]);
      }
      ++kept.kept_groups;
    }
    stats.reward_seconds += seconds_since(reward_start);
  }
  return kept;
}

}  // namespace aha::grpo
