// Test-only fault injection; see faults.h.
#include "grpo/faults.h"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace aha::grpo {

FaultPlan::FaultPlan() {
  const char* env = std::getenv("AHA_FAULT");
  if (!env) return;
  std::stringstream list(env);
  std::string item;
  while (std::getline(list, item, ',')) {
    const auto at = item.find('@');
    const std::string step = at == std::string::npos ? "" : item.substr(at + 1);
    if (step.empty() || step.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("AHA_FAULT: \"" + item + "\": expected point@step");
    points_.emplace(item.substr(0, at), std::stoll(step));
  }
}

bool FaultPlan::has(const std::string& point, int64_t step) const {
  auto [begin, end] = points_.equal_range(point);
  for (auto it = begin; it != end; ++it)
    if (it->second == step) return true;
  return false;
}

void FaultPlan::maybe_kill(const std::string& point, int64_t step) const {
  if (!has(point, step)) return;
  std::cout << std::flush;
  std::raise(SIGKILL);
}

void FaultPlan::maybe_throw(const std::string& point, int64_t step) const {
  if (has(point, step)) throw std::runtime_error("AHA_FAULT: " + point + "@" + std::to_string(step));
}

const FaultPlan& faults() {
  static const FaultPlan plan;
  return plan;
}

}  // namespace aha::grpo
