// The code execution reward (issue 4, item 3): runs the Python in a completion against its row's tests
// in the sandbox (sandbox.h) through the harness (code_harness.h), on a pool of worker threads.
//
// The ground truth, RewardInput::answer, is a JSON object in one of two formats:
//   HumanEval:    {"prompt": "...", "test": "def check(candidate): ...", "entry_point": "f"}
//   stdin/stdout: {"tests": [{"input": "1 2\n", "output": "3\n"}, ...]}
// (other keys, such as task_id or canonical_solution, are ignored: rows are passed through as they are).
// Score: 1 when the test passes (HumanEval) or every case's output matches (stdin/stdout; with
// partial_credit, the fraction of cases that match), else 0. A timeout (wall clock or CPU limit) or a
// sandbox failure scores `fallback_score`; every verdict carries an outcome and a reason, and stats()
// counts them. Model output never throws; a malformed ground truth throws std::invalid_argument.
//
// Registered as "code" in registry.cpp. Options (JSON keys = CodeOptions fields, the sandbox's under
// "sandbox" = SandboxConfig fields, Want values as "off" | "auto" | "required"), e.g.
//   {"workers": 4, "sandbox": {"wall_seconds": 5, "namespaces": "required"}}
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rewards/batch_rule.h"
#include "rewards/code/sandbox.h"
#include "rewards/rule.h"

namespace aha::rewards {

struct CodeOptions {
  int workers = 2;              // sandboxed runs at a time, in judge_batch (each run is 1-2 processes)
  double fallback_score = 0;    // for a timeout or a sandbox failure
  bool partial_credit = false;  // stdin/stdout: score = passed cases / cases, not all-or-nothing
  double float_tolerance = 0;   // stdin/stdout: see outputs_match; 0 = exact text per line
  bool site_packages = false;   // run Python with its site-packages (drops -S; slower start-up)
  SandboxConfig sandbox;

  // std::invalid_argument naming the field: workers < 1, a non-finite score, a negative tolerance, or a
  // process limit too small for `workers` concurrent runs of the sandbox uid.
  void validate() const;
};

// Null -> defaults. Unknown keys -> std::invalid_argument naming the key and the allowed ones.
CodeOptions code_options_from_json(const nlohmann::json& options, const std::string& rule_name = "code");

enum class CodeOutcome { passed, failed, timeout, sandbox_error };
const char* outcome_name(CodeOutcome outcome);

struct CodeVerdict {
  double score = 0;
  CodeOutcome outcome = CodeOutcome::failed;
  std::string
      reason;  // "" when passed; else the first failure, e.g. "AssertionError: ", "case 2: wrong output"
  int cases = 0, cases_passed = 0;
  double seconds = 0;   // sandbox wall time, summed over the cases run
  uint32_t layers = 0;  // isolation layers every run of this completion entered (see describe_layers)
};

struct CodeStats {
  uint64_t batches = 0, completions = 0, passed = 0, failed = 0, timeouts = 0, sandbox_errors = 0;
  uint64_t output_limited = 0;  // runs killed for passing output_bytes (counted under failed)
  uint64_t cases_skipped = 0;   // all-or-nothing cases not run because an earlier one failed
};

// A row's ground truth, parsed from RewardInput::answer.
struct CodeTask {
  std::string prompt, test, entry_point;                   // HumanEval
  std::vector<std::pair<std::string, std::string>> cases;  // stdin/stdout: (input, expected output)
  bool humaneval() const { return !entry_point.empty(); }
};
// std::invalid_argument "code reward: answer ..." when it is not one of the two formats.
CodeTask parse_code_task(std::string_view answer);

// A BatchRule: Rubric::score_batch hands it the whole batch, whose cases then run on `workers` threads.
class CodeRule final : public BatchRule {
 public:
  // Builds and probes the sandbox; std::runtime_error if Python cannot run in it (no interpreter, a
  // required layer this host refuses), so a bad setup fails at start-up, not as silent zeros.
  explicit CodeRule(CodeOptions options = {});
  ~CodeRule() override;
  std::string name() const override { return "code"; }
  std::vector<double> score_batch(std::span<const RewardInput> inputs) const override;
  void check_ground_truth(const RewardInput& input) const override;
  // BatchRule's counters: samples, failed_samples (those given fallback_score: timeouts and sandbox
  // errors), timeouts (samples), start_failures (sandbox errors). code_stats() has the full picture.
  ExternalStats stats() const override;

  CodeVerdict judge(const RewardInput& input) const;
  // Every case of every input on `workers` threads; verdicts in input order.
  std::vector<CodeVerdict> judge_batch(std::span<const RewardInput> inputs) const;

  CodeStats code_stats() const;
  const Sandbox& sandbox() const { return *sandbox_; }
  const CodeOptions& options() const { return options_; }

 private:
  struct Counters;
  CodeOptions options_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<Counters> counters_;
};

std::unique_ptr<Rule> make_code_rule(const nlohmann::json& options);

}  // namespace aha::rewards
