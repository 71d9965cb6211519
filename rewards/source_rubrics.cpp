// Rubrics per data source; see source_rubrics.h.
#include "rewards/source_rubrics.h"

#include <stdexcept>

#include "rewards/registry.h"

namespace aha::rewards {

SourceRubrics::SourceRubrics(const std::vector<RuleSpec>& default_rules,
                             const std::map<std::string, std::vector<RuleSpec>>& by_source)
    : default_(default_rules) {
  for (const auto& [source, specs] : by_source) {
    try {
      by_source_[source] = std::make_unique<Rubric>(specs);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("rewards.by_source." + source + ": " + e.what());
    }
  }
}

const Rubric& SourceRubrics::for_source(const std::string& source) const {
  auto it = by_source_.find(source);
  return it == by_source_.end() ? default_ : *it->second;
}

std::optional<std::string> SourceRubrics::verifier(const std::string& source) const {
  for (const RuleSpec& spec : specs(source))
    if (!is_shaping_rule(spec.name)) return spec.name;
  return std::nullopt;
}

std::vector<RubricResult> SourceRubrics::score_batch(const std::vector<RewardInput>& inputs,
                                                     const std::vector<std::string>& sources, int workers) const {
  if (sources.size() != inputs.size())
    throw std::invalid_argument("SourceRubrics::score_batch: one source per input expected");
  std::map<const Rubric*, std::vector<size_t>> parts;
  for (size_t i = 0; i < inputs.size(); ++i) parts[&for_source(sources[i])].push_back(i);
  std::vector<RubricResult> results(inputs.size());
  for (const auto& [rubric, indices] : parts) {
    std::vector<RewardInput> part;
    for (size_t i : indices) part.push_back(inputs[i]);
    std::vector<RubricResult> scored = rubric->score_batch(part, workers);
    for (size_t k = 0; k < indices.size(); ++k) results[indices[k]] = std::move(scored[k]);
  }
  return results;
}

std::vector<RuleFailures> SourceRubrics::failures() const {
  std::vector<RuleFailures> out = default_.failures();
  for (const auto& [source, rubric] : by_source_)
    for (RuleFailures f : rubric->failures()) {
      f.rule = source + "/" + f.rule;
      out.push_back(std::move(f));
    }
  return out;
}

void SourceRubrics::check_ground_truth(const RewardInput& input, const std::string& source) const {
  for_source(source).check_ground_truth(input);
}

}  // namespace aha::rewards
