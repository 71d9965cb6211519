// Loading and checking a run's problems; see run_data.h.
#include "grpo/run_data.h"

#include <iostream>
#include <stdexcept>

#include "datasets/benchmarks.h"

namespace aha::grpo {
namespace {

// The field a ground truth came from, for messages.
std::string answer_field(const datasets::FieldMapping& m) {
  if (!m.answer_fields.is_object()) return m.answer_key;
  std::string fields;
  for (const auto& [key, path] : m.answer_fields.items()) fields += (fields.empty() ? "" : ", ") + path.get<std::string>();
  return fields;
}

// The eval verifier of a source: its by_source entry's, a benchmark's own, else the default rules'.
std::string eval_verifier(const datasets::SourceSpec& spec, const rewards::SourceRubrics& rubrics,
                          const std::string& where) {
  if (!rubrics.has_entry(spec.name) && spec.kind == datasets::SourceKind::Benchmark)
    return datasets::find_benchmark(spec.location).rule;
  if (auto verifier = rubrics.verifier(spec.name)) return *verifier;
  throw std::invalid_argument(where + ": no rule decides whether an answer to " + spec.name +
                              " is right (its rules only shape the reward); add one to rewards.by_source." +
                              spec.name + " or rewards.rules");
}

}  // namespace

RunData::RunData(const RunConfig& config, const policy::PromptRenderer& renderer,
                 const rewards::SourceRubrics& rubrics)
    : config_(config), renderer_(renderer), rubrics_(rubrics) {
  const DataSection& d = config.data;
  std::vector<datasets::LoadedSource> train;
  for (const auto& spec : config.train_sources) {
    train.push_back(datasets::load_source(spec, datasets::Split::Train, d.seed, d.on_bad_row, d.shared_data));
    check(train.back(), report_["train"][spec.name]);
  }
  stream_ = std::make_unique<datasets::ProblemStream>(
      std::move(train), d.seed, [this](const datasets::Problem& p) { return fits(p); });
  for (size_t i = 0; i < stream_->sources().size(); ++i) {
    const auto& source = stream_->sources()[i];
    nlohmann::json& counts = report_["train"][source.name];
    counts["too_long"] = stream_->dropped()[i];
    counts["problems"] = source.infinite() ? nlohmann::json("unbounded") : nlohmann::json(source.problems.size());
    counts["weight"] = source.spec.weight;
  }
  for (size_t i = 0; i < config.eval_sources.size(); ++i) {
    const auto& spec = config.eval_sources[i];
    const std::string where = "data.eval[" + std::to_string(i) + "] (" + spec.name + ")";
    datasets::LoadedSource source =
        datasets::load_source(spec, datasets::Split::Test, d.eval_seed, d.on_bad_row, d.shared_data);
    nlohmann::json& counts = report_["eval"][spec.name];
    check(source, counts);
    EvalSet set{spec.name, {}, {}, eval_verifier(spec, rubrics, where), rubrics.specs(spec.name)};
    int64_t too_long = 0;
    for (auto& p : source.problems) {
      if (!fits(p)) {
        ++too_long;
        continue;
      }
      set.prompts.push_back(renderer.text(p));
      set.problems.push_back(std::move(p));
    }
    counts["too_long"] = too_long;
    counts["problems"] = set.problems.size();
    if (set.problems.empty())
      throw std::invalid_argument(where + ": no problem left to evaluate (" + std::to_string(too_long) +
                                  " longer than data.max_prompt_length)");
    evals_.push_back(std::move(set));
  }
  for (const auto& [part, sources] : report_.items())
    for (const auto& [name, counts] : sources.items())
      std::cout << "aha data: " << part << " " << name << ": " << counts.dump() << std::endl;
}

void RunData::check(datasets::LoadedSource& source, nlohmann::json& counts) const {
  int64_t skipped = source.skipped;
  std::vector<std::string> reasons = source.skip_reasons;
  auto bad = [&](const datasets::Problem& p) {
    try {
      rubrics_.check_ground_truth({"", "", p.answer, p.row.get()}, p.data_source);
    } catch (const std::invalid_argument& e) {
      const std::string message = p.where + ": field '" + answer_field(source.spec.mapping) + "': " + e.what();
      if (config_.data.on_bad_row == datasets::OnBadRow::Error) throw std::invalid_argument(message);
      if (reasons.size() < 5) reasons.push_back(message);
      return true;
    }
    (void)renderer_.text(p);  // a chat-message prompt without a chat template: a setup error, always thrown
    return false;
  };
  const size_t before = source.problems.size();
  std::erase_if(source.problems, bad);
  skipped += static_cast<int64_t>(before - source.problems.size());
  counts["rows"] = source.rows;
  counts["skipped_rows"] = skipped;
  if (!reasons.empty()) counts["first_skipped"] = reasons;
  if (!source.infinite() && source.problems.empty())
    throw std::invalid_argument("data source " + source.name + ": no usable rows; " + std::to_string(skipped) +
                                " bad rows skipped (first: " + (reasons.empty() ? "?" : reasons.front()) + ")");
}

bool RunData::fits(const datasets::Problem& p) const {
  const int64_t limit = config_.data.max_prompt_length;
  return limit <= 0 || static_cast<int64_t>(renderer_.encode(renderer_.text(p)).size()) <= limit;
}

nlohmann::json RunData::report() const {
  return report_;
}

}  // namespace aha::grpo
