// Held-out evaluation: k sampled completions for each of n problems, graded by one verifier rule (the
// arith task's accuracy, math, gsm8k, integer, code) and the R1-Zero format rule, summarised as DeepSeek-R1
// reports them (section 3.1, "Evaluation Setup"): pass@1 is the mean correctness over all n·k samples;
// pass@k the unbiased estimator of Chen et al. 2021; maj@k a majority vote over the verifier's canonical
// answers (metrics.h has the formulas, rewards/answer_key.h the answers). A sample is correct when the
// verifier gives it full marks (score >= 1; only code with partial_credit gives less than 1 and more than 0).
// Also reported: format rate (mean format score), truncation rate (finish_reason "length"), and the
// mean/min/max completion length. Used by `aha eval` (generated or given completions) and by the trainer
// before, during and after RL; where the problems and their default settings come from is sources.h, how
// results are written is report.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/task.h"
#include "policy/chat_prompt.h"
#include "policy/checkpoint.h"
#include "policy/tokenizer.h"
#include "rewards/rule.h"
#include "rollout/engine.h"

namespace aha::eval {

struct EvalOptions {
  int64_t samples = 4;  // k completions per problem
  rollout::GenerationConfig generation;
  uint64_t seed = 0;  // completion s of problem i samples with sample_seed(seed, i, s)
  int64_t prompts_per_batch = 64;
  std::string verifier = "accuracy";     // the rule deciding correctness
  std::vector<rewards::RuleSpec> rules;  // the verifier and "format" take their options from same-named rules
  int workers = 1;                       // scoring threads (for code: sandboxed runs at a time)
};

struct EvalSample {
  std::string text;
  std::string finish_reason;  // "eos", "stop", "length"; "" when unknown (completions made elsewhere)
  int64_t length = 0;         // completion length in EvalResult::length_unit
  double score = 0;           // the verifier's score
  bool correct = false;       // score >= 1
  double format = 0;
  std::optional<std::string> answer;  // the verifier's canonical answer; nullopt: none, does not vote
};

struct EvalProblemResult {
  std::string id;
  std::string answer;  // ground truth
  std::vector<EvalSample> samples;
  int64_t correct = 0;                               // c of pass@k
  std::vector<std::pair<int64_t, double>> pass_at;   // (k, pass@k) over pass_at_k_ladder(n)
  std::optional<std::string> majority_answer;        // nullopt: no sample had an answer (or no answer key)
  int64_t majority_votes = 0;
  bool majority_correct = false;
  std::string error;  // the verifier's complaint about this ground truth, if any (the problem scores 0)

  // {"id", "answer", "responses", "correct", "score", "format", "canonical", "length", "finish_reason",
  //  "pass@1", ..., "majority_answer", "majority_votes", "majority_correct", "error"?}
  nlohmann::json to_json() const;
};

struct EvalResult {
  std::string verifier;
  int64_t problems = 0, k = 0, samples = 0;        // samples = problems · k
  double pass_at_1 = 0;
  std::vector<std::pair<int64_t, double>> pass_at;  // (k, mean over problems of pass@k)
  std::optional<double> maj_at_k;                   // nullopt when the verifier has no answer key (code)
  double format_rate = 0;
  std::optional<double> truncation_rate;  // over samples with a known finish reason; nullopt if none
  double mean_length = 0, min_length = 0, max_length = 0;
  std::string length_unit = "tokens";  // or "bytes" for completions given as text without token counts
  double seconds = 0;                  // generation + grading
  int64_t generated_tokens = 0;        // 0 when scoring completions made elsewhere
  double generation_seconds = 0;
  std::vector<EvalProblemResult> per_problem;

  // {"pass@1", "pass@2", ..., "pass@<k>", "maj@<k>", "format_rate", "truncation_rate", "mean_length",
  //  "min_length", "max_length", "length_unit", "problems", "k", "samples", "verifier", "seconds",
  //  "tokens_per_second"}; rates as fractions in [0, 1].
  nlohmann::json summary() const;
};

// One problem's completions, made here or elsewhere, before grading.
struct EvalCase {
  std::string id, prompt, answer;
  std::vector<EvalSample> samples;  // text, finish_reason and length filled in
  std::shared_ptr<const nlohmann::json> row = nullptr;  // the problem's data row, for the rules; may be null
};

// Grades every sample and computes the metrics. Every case must hold the same number (>= 1) of samples;
// otherwise std::invalid_argument. A verifier or format rule that options.rules configures badly is
// std::invalid_argument before anything is graded.
EvalResult score_cases(std::vector<EvalCase> cases, const EvalOptions& options,
                       const std::string& length_unit = "tokens");

// Samples options.samples completions per problem (prompt = template_text with the question) and grades
// them.
EvalResult evaluate(rollout::Engine& engine, const std::vector<datasets::Problem>& problems,
                    const std::string& template_text, const EvalOptions& options);

// The same with the prompts already rendered (prompts[i] for problems[i]), e.g. through a chat template.
EvalResult evaluate_prompts(rollout::Engine& engine, const std::vector<datasets::Problem>& problems,
                            const std::vector<std::string>& prompts, const EvalOptions& options);

// Loads the policy in model_dir, renders the prompts (render_prompts) and evaluates it on `problems`.
// load: the weights' dtype and device (policy/checkpoint.h).
EvalResult evaluate_model(const std::string& model_dir, const std::vector<datasets::Problem>& problems,
                          const std::string& template_name, const EvalOptions& options,
                          const policy::LoadOptions& load = {});

// The prompt of each problem (policy::PromptRenderer: a text template, or the model's chat template for
// "chat" and for prompts given as chat messages).
std::vector<std::string> render_prompts(const policy::PromptRenderer& renderer,
                                        const std::vector<datasets::Problem>& problems);

// The verifier and format specs, taking options from same-named rules in `rules`.
std::vector<rewards::RuleSpec> eval_rule_specs(const std::string& verifier, const std::vector<rewards::RuleSpec>& rules);

// Options every evaluation shares: the verifier, the scoring workers, and (for code) the sandbox's own
// workers, which take the same number.
EvalOptions scoring_options(const std::string& verifier, int workers);

}  // namespace aha::eval
