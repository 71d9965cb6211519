// Shared-library reward plugins: loading, the forked helper, in-process calls (see plugin_rule.h).
#include "rewards/custom/plugin_rule.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <iostream>
#include <limits>

#include "rewards/rule_options.h"

namespace aha::rewards {
namespace {

constexpr auto kJsonReplace = nlohmann::json::error_handler_t::replace;

std::vector<aha_reward_input_v1> abi_inputs(std::span<const RewardInput> inputs) {
  std::vector<aha_reward_input_v1> out;
  out.reserve(inputs.size());
  for (const RewardInput& in : inputs)
    out.push_back({in.prompt.c_str(), in.prompt.size(), in.completion.c_str(), in.completion.size(),
                   in.answer.c_str(), in.answer.size()});
  return out;
}

// Blocking I/O for the helper side, which has nothing else to do while it waits.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool read_line(int fd, std::string& buffer, std::string& line) {
  while (true) {
    const size_t newline = buffer.find('\n');
    if (newline != std::string::npos) {
      line.assign(buffer, 0, newline);
      buffer.erase(0, newline + 1);
      return true;
    }
    char chunk[1 << 16];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // EOF: the trainer is done with us
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

std::string json_line(const nlohmann::json& value) {
  return value.dump(-1, ' ', true, kJsonReplace) + "\n";
}

// The helper process: init, a {"ready": true} line (or {"error": ...}), then one reply per request line
// until EOF, then destroy. Runs after fork: see plugin_rule.h for what it relies on.
int serve_plugin(const aha_reward_plugin_v1& plugin, const std::string& config, int fd) {
  void* handle = nullptr;
  char error[1024] = {};
  if (const int rc = plugin.init(config.c_str(), &handle, error, sizeof error); rc != 0) {
    error[sizeof error - 1] = '\0';
    const std::string message = error[0] ? error : "init returned " + std::to_string(rc) + " and no message";
    write_all(fd, json_line({{"error", message}}));
    return 0;
  }
  write_all(fd, json_line({{"ready", true}}));
  std::string buffer, line;
  while (read_line(fd, buffer, line)) {
    const nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    nlohmann::json reply;
    if (!request.is_object() || !request.contains("inputs") || !request["inputs"].is_array()) {
      reply = {{"error", "malformed request"}};
    } else {
      std::vector<RewardInput> inputs;
      for (const nlohmann::json& item : request["inputs"])
        inputs.push_back({item.value("prompt", ""), item.value("completion", ""), item.value("answer", "")});
      const std::vector<aha_reward_input_v1> abi = abi_inputs(inputs);
      std::vector<float> scores(inputs.size(), std::numeric_limits<float>::quiet_NaN());
      const int status = plugin.score_batch(handle, abi.size(), abi.data(), scores.data());
      if (status != 0) {
        reply = {{"error", "score_batch returned status " + std::to_string(status)}};
      } else {
        nlohmann::json values = nlohmann::json::array();
        for (float score : scores)
          values.push_back(std::isfinite(score) ? nlohmann::json(score) : nlohmann::json());
        reply = {{"scores", std::move(values)}};
      }
    }
    if (!write_all(fd, json_line(reply))) break;
  }
  if (plugin.destroy) plugin.destroy(handle);
  return 0;
}

// Forks a helper for `plugin` and waits for its handshake.
std::unique_ptr<ChildProcess> start_helper(const aha_reward_plugin_v1* plugin, const std::string& config,
                                           ChildProcess::Clock::time_point deadline) {
  auto child =
      ChildProcess::fork_with([plugin, config](int fd) { return serve_plugin(*plugin, config, fd); });
  std::string line;
  switch (child->exchange("", deadline, line)) {
    case ChildProcess::Read::line:
      break;
    case ChildProcess::Read::timeout:
      child->stop();
      throw std::runtime_error("init did not finish within timeout_s");
    case ChildProcess::Read::closed:
    case ChildProcess::Read::too_long:
      throw std::runtime_error("the helper process " + child->stop(std::chrono::milliseconds(100)) +
                               " during init");
  }
  const nlohmann::json hello = nlohmann::json::parse(line, nullptr, false);
  if (hello.is_object() && hello.contains("ready") && hello["ready"] == true) return child;
  if (hello.is_object() && hello.contains("error") && hello["error"].is_string())
    throw std::runtime_error("init failed: " + hello["error"].get<std::string>());
  throw std::runtime_error("unexpected handshake from the helper: " + line);
}

}  // namespace

const aha_reward_plugin_v1& load_reward_plugin(const std::string& path) {
  const std::string where = "reward plugin '" + path + "'";
  void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* reason = ::dlerror();
    throw std::invalid_argument(where + ": cannot load it: " + (reason ? reason : "unknown dlopen error"));
  }
  void* symbol = ::dlsym(library, AHA_REWARD_ENTRY_V1);
  if (!symbol)
    throw std::invalid_argument(where + ": does not export '" AHA_REWARD_ENTRY_V1
                                        "'; a plugin defines `AHA_REWARD_EXPORT const aha_reward_plugin_v1* "
                                        "aha_reward_v1(void)` (rewards/custom/aha_reward_v1.h), with C "
                                        "linkage");
  const aha_reward_plugin_v1* plugin = reinterpret_cast<aha_reward_entry_v1>(symbol)();
  if (!plugin) throw std::invalid_argument(where + ": " AHA_REWARD_ENTRY_V1 "() returned NULL");
  if (plugin->abi_version != AHA_REWARD_ABI_VERSION)
    throw std::invalid_argument(where + ": implements aha reward ABI version " +
                                std::to_string(plugin->abi_version) + ", but this aha speaks version " +
                                std::to_string(AHA_REWARD_ABI_VERSION) +
                                "; rebuild the plugin against this aha's rewards/custom/aha_reward_v1.h");
  if (plugin->struct_size < sizeof(aha_reward_plugin_v1))
    throw std::invalid_argument(where + ": its table has struct_size " + std::to_string(plugin->struct_size) +
                                ", expected at least " + std::to_string(sizeof(aha_reward_plugin_v1)) +
                                "; set struct_size = sizeof(aha_reward_plugin_v1)");
  if (!plugin->init || !plugin->score_batch)
    throw std::invalid_argument(where + ": init and score_batch must not be NULL");
  return *plugin;
}

PluginRule::PluginRule(const std::string& path, const nlohmann::json& config, Isolation isolation,
                       double timeout_s, double fallback, std::string name)
    : name_(std::move(name)), plugin_(&load_reward_plugin(path)), fallback_(fallback) {
  plugin_name_ = plugin_->name && plugin_->name[0] ? plugin_->name : path;
  const std::string config_text = config.dump(-1, ' ', false, kJsonReplace);
  const std::string where = "reward plugin '" + path + "'";
  if (isolation == Isolation::none) {
    char error[1024] = {};
    if (const int rc = plugin_->init(config_text.c_str(), &handle_, error, sizeof error); rc != 0) {
      error[sizeof error - 1] = '\0';
      throw std::invalid_argument(where + ": init failed: " +
                                  (error[0] ? error : "returned " + std::to_string(rc) + " and no message"));
    }
    return;
  }
  scorer_ = std::make_unique<ExternalScorer>(
      "reward rule '" + name_ + "' (plugin " + plugin_name_ + " from " + path + ")",
      [plugin = plugin_, config_text](ChildProcess::Clock::time_point deadline) {
        return start_helper(plugin, config_text, deadline);
      },
      timeout_s, fallback);
  try {
    scorer_->start_now();
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
}

PluginRule::~PluginRule() {
  if (!scorer_ && plugin_->destroy) plugin_->destroy(handle_);
}

std::vector<double> PluginRule::score_batch(std::span<const RewardInput> inputs) const {
  const std::lock_guard lock(mutex_);
  return scorer_ ? scorer_->score_batch(inputs) : score_in_process(inputs);
}

std::vector<double> PluginRule::score_in_process(std::span<const RewardInput> inputs) const {
  ExternalStats& stats = in_process_stats_;
  ++stats.batches;
  stats.samples += inputs.size();
  std::vector<double> out(inputs.size(), fallback_);
  if (inputs.empty()) return out;
  const std::vector<aha_reward_input_v1> abi = abi_inputs(inputs);
  std::vector<float> scores(inputs.size(), std::numeric_limits<float>::quiet_NaN());
  int status = 0;
  try {
    status = plugin_->score_batch(handle_, abi.size(), abi.data(), scores.data());
  } catch (...) {  // an exception across a C ABI is the plugin's bug; do not let it unwind the trainer
    status = -1;
  }
  if (status != 0) {
    ++stats.protocol_errors;
    stats.failed_samples += inputs.size();
    if (stats.protocol_errors <= 20 || stats.protocol_errors % 100 == 0)
      std::cerr << "aha: reward rule '" << name_ << "' (plugin " << plugin_name_ << "): score_batch returned "
                << status << " on a batch of " << inputs.size() << "; scored the fallback\n";
    return out;
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isfinite(scores[i]))
      out[i] = scores[i];
    else
      ++stats.failed_samples;
  }
  return out;
}

ExternalStats PluginRule::stats() const {
  const std::lock_guard lock(mutex_);
  return scorer_ ? scorer_->stats() : in_process_stats_;
}

std::unique_ptr<Rule> make_plugin_rule(const nlohmann::json& options, const std::string& rule_name) {
  const RuleOptions o(options, rule_name, {"path", "config", "isolation", "timeout_s", "fallback"});
  o.require("path", "{\"path\": \"build/examples/reward_plugin/boxed_match_reward.so\"}");
  const std::string path = o.string("path", "");
  const nlohmann::json config = o.has("config") ? o.raw("config") : nlohmann::json::object();
  const PluginRule::Isolation isolation = o.choice("isolation", "process", {"process", "none"}) == "none"
                                              ? PluginRule::Isolation::none
                                              : PluginRule::Isolation::process;
  const double timeout_s = o.number("timeout_s", 10.0);
  if (timeout_s <= 0) throw o.error("timeout_s", "must be > 0 seconds, got " + o.raw("timeout_s").dump());
  try {
    return std::make_unique<PluginRule>(path, config, isolation, timeout_s, o.number("fallback", 0.0),
                                        rule_name);
  } catch (const std::invalid_argument& e) {
    throw o.rule_error(e.what());
  }
}

}  // namespace aha::rewards
