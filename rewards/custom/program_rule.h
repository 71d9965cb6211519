// A reward rule run by an external program that speaks JSON lines on stdin/stdout, so a rule written in
// Python (or anything) works without touching aha:
//   {"name": "program", "options": {"command": ["python3", "examples/reward_program/reward_program.py"],
//                                   "timeout_s": 10, "fallback": 0}}
//
// Protocol "aha reward JSON lines", version 1. One request line per batch, one reply line per request:
//   aha  -> program  {"version": 1, "inputs": [{"prompt": "...", "completion": "...", "answer": "...",
//                     "row": {...}}, ...]}   (row: the data row's every field, when the problem came from a data file)
//   program -> aha   {"scores": [1.0, 0.0, null, ...]}       one number or null per input, in order
//              or    {"error": "why"}                          the whole batch failed
// Requests are single-line, ASCII-only JSON (non-ASCII is \u-escaped; invalid UTF-8 in model output
// arrives as U+FFFD). The program must flush stdout after each reply and write anything else (logs,
// warnings) to stderr, which aha passes through. A null score, an error reply, a reply with the wrong
// number of scores or that is not JSON, a crash, an exit, or no reply within timeout_s gives the affected
// samples the fallback score; each is counted (stats()) and logged, and the program is restarted when it
// died, hung or replied nonsense (see external_scorer.h for the exact policy). EOF on stdin means "finish
// and exit"; a program that ignores it is killed 100 ms later.
//
// The program runs in its own process group (the group is killed on timeout), with the trainer's
// environment and working directory and no other inherited file descriptors. It is started when the rule
// is built, so a command that cannot be run is a config error; a program that starts but then dies is
// reported at its first batch.
//
// Options: command (non-empty array of strings, no shell; argv[0] searched in PATH; required),
// timeout_s (number > 0, default 10; per batch), fallback (number, default 0).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rewards/batch_rule.h"
#include "rewards/custom/external_scorer.h"

namespace aha::rewards {

class ProgramRule final : public BatchRule {
 public:
  // std::runtime_error when the command cannot be started.
  ProgramRule(std::vector<std::string> command, double timeout_s, double fallback,
              std::string name = "program");
  std::string name() const override { return name_; }
  std::vector<double> score_batch(std::span<const RewardInput> inputs) const override;
  ExternalStats stats() const override;

 private:
  std::string name_;
  mutable std::mutex mutex_;
  mutable ExternalScorer scorer_;
};

std::unique_ptr<Rule> make_program_rule(const nlohmann::json& options, const std::string& rule_name);

}  // namespace aha::rewards
