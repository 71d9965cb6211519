// A reward rule implemented by a shared library with the aha_reward_v1 C ABI
// (rewards/custom/aha_reward_v1.h):
//   {"name": "plugin", "options": {"path": "build/examples/reward_plugin/boxed_match_reward.so",
//                                  "config": {"partial_credit": 0.1}, "timeout_s": 10, "fallback": 0}}
//
// Loading (dlopen, RTLD_NOW) happens when the rule is built; a file that cannot be loaded, lacks the
// aha_reward_v1 symbol, has another ABI version, a short table or a NULL init/score_batch is a config
// error naming the file and what to do. The library stays loaded for the life of the process (never
// dlclosed: unloading code that registered atexit handlers or thread-locals crashes later).
//
// Isolation. The issue demands that a crashing plugin costs a fallback score, not the trainer. A
// segfault in-process cannot be survived, so by default (isolation "process") the plugin scores in a
// helper process forked from the trainer after loading: the helper calls init, then serves the same
// JSON-lines protocol as an external program (program_rule.h), and all of external_scorer.h's handling
// applies: timeout per batch, restart after a crash, samples retried one by one so only the sample
// that crashes it gets the fallback. An init failure when the rule is built is a config error carrying
// the plugin's message. What the helper may rely on after fork: glibc's malloc and stdio are fork-safe;
// the library is already loaded (no dlopen in the child); the helper is single-threaded. A plugin that
// needs threads or a GPU should create them in init, which runs in the helper.
// Isolation "none" calls the plugin in the trainer's process: no fork or JSON cost, raw bytes, but a
// crash or hang in the plugin is the trainer's (trusted code only); a non-zero status or a NaN still
// gives the fallback and is counted. The timeout does not apply.
// Loading always runs the library's static constructors in the trainer; only scoring is isolated.
//
// Options: path (string, required; a name without '/' is searched the dlopen way), config (any JSON,
// passed to init; default {}), isolation ("process" default | "none"), timeout_s (number > 0, default
// 10; per batch, process isolation only), fallback (number, default 0).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "rewards/batch_rule.h"
#include "rewards/custom/aha_reward_v1.h"
#include "rewards/custom/external_scorer.h"

namespace aha::rewards {

// The plugin's table after every check above; std::invalid_argument naming `path` otherwise.
const aha_reward_plugin_v1& load_reward_plugin(const std::string& path);

class PluginRule final : public BatchRule {
 public:
  enum class Isolation { process, none };
  // std::invalid_argument when the library is refused or init fails.
  PluginRule(const std::string& path, const nlohmann::json& config, Isolation isolation, double timeout_s,
             double fallback, std::string name = "plugin");
  ~PluginRule() override;
  std::string name() const override { return name_; }
  std::string plugin_name() const { return plugin_name_; }  // the library's own name, from its table
  std::vector<double> score_batch(std::span<const RewardInput> inputs) const override;
  ExternalStats stats() const override;

 private:
  std::vector<double> score_in_process(std::span<const RewardInput> inputs) const;

  std::string name_, plugin_name_;
  const aha_reward_plugin_v1* plugin_;
  double fallback_;
  mutable std::mutex mutex_;
  mutable std::unique_ptr<ExternalScorer> scorer_;  // process isolation
  void* handle_ = nullptr;                          // isolation "none"
  mutable ExternalStats in_process_stats_;
};

std::unique_ptr<Rule> make_plugin_rule(const nlohmann::json& options, const std::string& rule_name);

}  // namespace aha::rewards
