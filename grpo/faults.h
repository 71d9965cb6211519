// Fault injection for the resume and non-finite-guard tests (tests/resume/test_resume.cpp), read once from
// the environment variable AHA_FAULT: a comma-separated list of "<point>@<step>" (step 1-based).
//   after-rollout, after-metrics          SIGKILL when step <step> reaches that point of the loop
//   checkpoint-write                      SIGKILL with every checkpoint file written, before the rename
//   checkpoint-published                  SIGKILL after the rename, before `latest` moves
//   nan                                   every loss of step <step> is NaN
//   error                                 step <step> throws after its rollout (a run failing mid-way)
// Unset, it costs one getenv per process.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace aha::grpo {

class FaultPlan {
 public:
  // Parses AHA_FAULT; a malformed entry is std::invalid_argument naming it.
  FaultPlan();
  bool has(const std::string& point, int64_t step) const;
  void maybe_kill(const std::string& point, int64_t step) const;   // raises SIGKILL when planned
  void maybe_throw(const std::string& point, int64_t step) const;  // std::runtime_error when planned

 private:
  std::multimap<std::string, int64_t> points_;
};

const FaultPlan& faults();  // the process's plan

}  // namespace aha::grpo
