// External-program rules (see program_rule.h).
#include "rewards/custom/program_rule.h"

#include "rewards/rule_options.h"

namespace aha::rewards {
namespace {

std::string joined_command(const std::vector<std::string>& command) {
  std::string out;
  for (const std::string& arg : command) out += (out.empty() ? "" : " ") + arg;
  return out;
}

}  // namespace

ProgramRule::ProgramRule(std::vector<std::string> command, double timeout_s, double fallback,
                         std::string name)
    : name_(std::move(name)),
      scorer_(
          "reward rule '" + name_ + "' (" + joined_command(command) + ")",
          [command](ChildProcess::Clock::time_point) { return ChildProcess::spawn(command); }, timeout_s,
          fallback) {
  scorer_.start_now();
}

std::vector<double> ProgramRule::score_batch(std::span<const RewardInput> inputs) const {
  const std::lock_guard lock(mutex_);
  return scorer_.score_batch(inputs);
}

ExternalStats ProgramRule::stats() const {
  const std::lock_guard lock(mutex_);
  return scorer_.stats();
}

std::unique_ptr<Rule> make_program_rule(const nlohmann::json& options, const std::string& rule_name) {
  const RuleOptions o(options, rule_name, {"command", "timeout_s", "fallback"});
  const char* example = "{\"command\": [\"python3\", \"examples/reward_program/reward_program.py\"]}";
  o.require("command", example);
  const nlohmann::json& value = o.raw("command");
  std::vector<std::string> command;
  if (value.is_array())
    for (const nlohmann::json& arg : value) {
      if (!arg.is_string()) {
        command.clear();
        break;
      }
      command.push_back(arg.get<std::string>());
    }
  if (command.empty() || command.front().empty())
    throw o.error("command", std::string("expected a non-empty array of strings (argv, no shell), e.g. ") +
                                 example + ", got " + value.dump());
  const double timeout_s = o.number("timeout_s", 10.0);
  if (timeout_s <= 0) throw o.error("timeout_s", "must be > 0 seconds, got " + o.raw("timeout_s").dump());
  try {
    return std::make_unique<ProgramRule>(std::move(command), timeout_s, o.number("fallback", 0.0), rule_name);
  } catch (const std::runtime_error& e) {
    throw o.error("command", e.what());
  }
}

}  // namespace aha::rewards
