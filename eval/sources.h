// Where held-out problems come from, and the settings that go with each source: the arith task keeps the
// trainer's held-out eval (HeldOutDefaults), so `aha eval --task arith` reproduces a run's eval_before /
// eval_after; a standard benchmark (datasets/benchmarks.h) takes DeepSeek-R1's evaluation setup
// (BenchmarkDefaults; R1 paper section 3.1). Also the other way in: completions made elsewhere, read from
// JSONL and graded by the verifier a task or benchmark name picks.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/task.h"
#include "eval/evaluate.h"

namespace aha::eval {

// The held-out eval of a GRPO run on the arith task, defined once: the trainer's run config takes its
// defaults from here, and `aha eval --task arith` uses them for every setting not given. The template is
// also the run's training template (the eval asks in the format the policy is trained on); the seed picks
// the problems of the test split and seeds every sample (rollout/seeds.h).
struct HeldOutDefaults {
  static constexpr int64_t problems = 200;
  static constexpr int64_t samples = 4;  // k of pass@k and maj@k
  static constexpr double temperature = 1.0;
  static constexpr double top_p = 1.0;
  static constexpr int64_t max_new_tokens = 48;  // also the run's rollout length
  static constexpr const char* template_name = "compact";
  static constexpr uint64_t seed = 2;
};

// DeepSeek-R1's evaluation setup for reasoning benchmarks (temperature 0.6, top-p 0.95), the R1-Zero prompt
// and room for a long chain of thought; problems = 0: every problem of the file.
struct BenchmarkDefaults {
  static constexpr int64_t problems = 0;
  static constexpr double temperature = 0.6;
  static constexpr double top_p = 0.95;
  static constexpr int64_t max_new_tokens = 4096;
  static constexpr const char* template_name = "r1zero";
};

// Problems and the defaults that go with them; a caller's own settings override the defaults.
struct ProblemSource {
  std::vector<datasets::Problem> problems;
  std::string verifier;       // the rule deciding correctness
  std::string template_name;  // preset name, "chat", or text with {question}
  double temperature = 1.0, top_p = 1.0;
  int64_t max_new_tokens = 0;
  nlohmann::json description;  // {"task", "split"} or {"benchmark", "data"}: the run summary's fields
};

// `problems` problems (unset: HeldOutDefaults::problems) of a task's split ("train" or "test"), drawn with
// `seed`, graded by the task's accuracy rule. Unknown task or split: std::invalid_argument.
ProblemSource task_source(const std::string& task, const std::string& split, std::optional<int64_t> problems,
                          uint64_t seed);

// The first `problems` problems (0: all) of a benchmark's file; `data_file` "" reads its default file under
// datasets::kDefaultDataDir. Graded by the benchmark's rule. problems < 0 or an unknown benchmark:
// std::invalid_argument; errors reading the file as datasets::load_benchmark gives them.
ProblemSource benchmark_source(const std::string& benchmark, const std::string& data_file, int64_t problems);

// Any data source as the run config's data.eval writes it (datasets/sources.h): `spec` is its JSON object or
// its string form. `problems` (unset: all; generators: HeldOutDefaults::problems) caps it; `verifier` ""
// takes the source's natural one (datasets::natural_verifier), and a source without one needs it given.
// Generators keep HeldOutDefaults, everything else BenchmarkDefaults. Errors as load_source gives them.
ProblemSource data_source(const std::string& spec, const std::string& verifier, std::optional<int64_t> problems,
                          uint64_t seed);

// The verifier rule for completions made elsewhere: a benchmark name grades as that benchmark does,
// "arith" as the arith task does (accuracy); anything else is a rule name (math, gsm8k, integer, code, ...).
std::string verifier_for(const std::string& name);

// Completions made elsewhere, one problem per JSONL line: {"id"?, "prompt"?, "answer", "responses": [...]},
// each response a string or {"text", "finish_reason"?, "tokens"?}; the answer a string, a number (as
// written) or an object (the code rule's ground truth, as JSON text). Every line must give the same number
// of responses. Lengths are in tokens when every response gives "tokens", else in bytes of text.
struct Responses {
  std::vector<EvalCase> cases;
  std::string length_unit;  // "tokens" or "bytes"
};

// std::runtime_error when the file cannot be opened; std::invalid_argument naming file:line and the field
// for a bad line, or when the file holds no problems.
Responses read_responses(const std::string& file);

}  // namespace aha::eval
