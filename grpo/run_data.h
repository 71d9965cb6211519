// The problems of a run, loaded and checked before anything is written (DESIGN.md "data"): data.train's
// sources become the training stream, data.eval's the held-out eval sets. Every row is checked up front:
// its mapping (datasets/sources.h), its prompt (policy::PromptRenderer: a chat-message prompt needs a chat
// template) and its ground truth against the rules of its data source (rewards/source_rubrics.h). A bad row
// is an error naming the file, the line or row and the field, or with data.on_bad_row "skip" it is dropped
// and counted; a prompt longer than data.max_prompt_length tokens is dropped and counted. The counts are
// printed at the start and kept in report() (summary.json "data").
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/problem_stream.h"
#include "eval/evaluate.h"
#include "grpo/run_config.h"
#include "policy/chat_prompt.h"
#include "rewards/source_rubrics.h"

namespace aha::grpo {

struct EvalSet {
  std::string name;  // eval/<name>/... in the metrics
  std::vector<datasets::Problem> problems;
  std::vector<std::string> prompts;  // rendered, one per problem
  std::string verifier;
  std::vector<rewards::RuleSpec> rules;  // where the verifier and format rules take their options from
};

class RunData {
 public:
  // Keeps references to all three: they must outlive it.
  RunData(const RunConfig& config, const policy::PromptRenderer& renderer, const rewards::SourceRubrics& rubrics);

  datasets::ProblemStream& stream() { return *stream_; }
  const std::vector<EvalSet>& evals() const { return evals_; }
  // {"train": {"<source>": {"rows", "problems", "skipped_rows", "too_long", "weight"}}, "eval": {...}}
  nlohmann::json report() const;

 private:
  // Checks every problem of `source` (ground truth and prompt); bad ones throw or are skipped and counted.
  void check(datasets::LoadedSource& source, nlohmann::json& counts) const;
  bool fits(const datasets::Problem& p) const;  // data.max_prompt_length

  const RunConfig& config_;
  const policy::PromptRenderer& renderer_;
  const rewards::SourceRubrics& rubrics_;
  std::unique_ptr<datasets::ProblemStream> stream_;
  std::vector<EvalSet> evals_;
  nlohmann::json report_ = {{"train", nlohmann::json::object()}, {"eval", nlohmann::json::object()}};
};

}  // namespace aha::grpo
