// Typed reads of one rule's JSON options with the errors a user should see: an unknown key names the key
// and lists the allowed ones, a bad value names the key, what was expected and what was given, e.g.
//   reward rule 'overlong': option 'cache_length': expected an integer >= 1, got 0
// Used by the shaping and custom rules; every read takes a default, so a missing key is never an error
// unless the rule asks for it with require().
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "rewards/tags.h"

namespace aha::rewards {

class RuleOptions {
 public:
  // `options` must be null or an object whose keys are all in `allowed`.
  RuleOptions(const nlohmann::json& options, std::string rule_name, std::vector<std::string> allowed);

  bool has(const std::string& key) const { return options_.contains(key); }
  // std::invalid_argument unless the key is present.
  void require(const std::string& key, const std::string& example) const;
  const nlohmann::json& raw(const std::string& key) const { return options_.at(key); }

  double number(const std::string& key, double fallback) const;  // any finite JSON number
  int64_t integer(const std::string& key, int64_t fallback, int64_t min) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key, const std::string& fallback) const;  // non-empty
  // One of `choices`; the error lists them.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices) const;
  // The four Tags keys (think_open ... answer_close), where the rule allows them; defaults otherwise.
  Tags tags() const;

  // "reward rule '<name>': option '<key>': <message>"
  std::invalid_argument error(const std::string& key, const std::string& message) const;
  // "reward rule '<name>': <message>"
  std::invalid_argument rule_error(const std::string& message) const;
  const std::string& rule_name() const { return rule_name_; }

 private:
  nlohmann::json options_;
  std::string rule_name_;
};

// "a, b, c"
std::string join_names(const std::vector<std::string>& names);

}  // namespace aha::rewards
