// Held-out evaluation; see evaluate.h.
#include "grpo/evaluate.h"

#include <chrono>

#include "datasets/template.h"
#include "rewards/rubric.h"
#include "grpo/seeds.h"

namespace aha::grpo {

std::vector<rewards::RuleSpec> eval_rule_specs(const std::vector<rewards::RuleSpec>& rules) {
  std::vector<rewards::RuleSpec> out{{"accuracy", 1.0, nullptr}, {"format", 1.0, nullptr}};
  for (auto& spec : out)
    for (const auto& r : rules)
      if (r.name == spec.name) spec.options = r.options;
  return out;
}

nlohmann::json EvalResult::summary() const {
  return {{"pass@1", pass_at_1},         {"format_rate", format_rate}, {"mean_length", mean_length},
          {"truncation_rate", truncation_rate}, {"problems", problems}, {"samples", samples},
          {"seconds", seconds},           {"tokens_per_second", tokens_per_second}};
}

EvalResult evaluate(rollout::Engine& engine, const std::vector<datasets::Problem>& problems,
                    const std::string& template_text, const EvalOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  rewards::Rubric rubric(eval_rule_specs(options.rules));
  EvalResult result;
  result.problems = static_cast<int64_t>(problems.size());
  int64_t tokens = 0, truncated = 0;
  double accuracy_sum = 0, format_sum = 0;
  const int64_t k = options.samples;
  for (size_t begin = 0; begin < problems.size(); begin += options.prompts_per_batch) {
    size_t end = std::min(problems.size(), begin + static_cast<size_t>(options.prompts_per_batch));
    std::vector<std::string> prompts;
    std::vector<uint64_t> seeds;
    for (size_t i = begin; i < end; ++i) {
      prompts.push_back(datasets::render_prompt(template_text, problems[i]));
      for (int64_t s = 0; s < k; ++s) seeds.push_back(sample_seed(options.seed, i, s));
    }
    auto rollout = engine.generate(prompts, k, options.generation, seeds);
    for (size_t i = begin; i < end; ++i) {
      EvalProblemResult pr{problems[i].id, problems[i].answer, {}, {}, {}};
      for (int64_t s = 0; s < k; ++s) {
        const auto& c = rollout.completions[(i - begin) * k + s];
        auto scored = rubric.score({prompts[i - begin], c.text, problems[i].answer});
        pr.responses.push_back(c.text);
        pr.accuracy.push_back(scored.rules[0].second);
        pr.format.push_back(scored.rules[1].second);
        accuracy_sum += scored.rules[0].second;
        format_sum += scored.rules[1].second;
        truncated += c.finish_reason == "length";
      }
      result.per_problem.push_back(std::move(pr));
    }
    tokens += rollout.generated_tokens;
  }
  result.samples = result.problems * k;
  if (result.samples > 0) {
    result.pass_at_1 = accuracy_sum / result.samples;
    result.format_rate = format_sum / result.samples;
    result.mean_length = static_cast<double>(tokens) / result.samples;
    result.truncation_rate = static_cast<double>(truncated) / result.samples;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.tokens_per_second = result.seconds > 0 ? tokens / result.seconds : 0;
  return result;
}

}  // namespace aha::grpo
