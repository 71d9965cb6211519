// Typed option reads with named errors (see rule_options.h).
#include "rewards/rule_options.h"

#include <algorithm>
#include <cmath>

namespace aha::rewards {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

RuleOptions::RuleOptions(const nlohmann::json& options, std::string rule_name,
                         std::vector<std::string> allowed)
    : options_(options.is_null() ? nlohmann::json::object() : options), rule_name_(std::move(rule_name)) {
  if (!options_.is_object())
    throw rule_error("options must be an object with keys " + join_names(allowed) + ", got " +
                     options.dump());
  for (const auto& [key, value] : options_.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      throw rule_error("unknown option '" + key + "'; allowed options: " + join_names(allowed));
}

void RuleOptions::require(const std::string& key, const std::string& example) const {
  if (!has(key)) throw error(key, "missing; this rule needs it, e.g. " + example);
}

double RuleOptions::number(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = options_.at(key);
  // is_number() excludes booleans; finiteness matters for JSON built in code (the parser refuses 1e999).
  if (!value.is_number() || !std::isfinite(value.get<double>()))
    throw error(key, "expected a number, got " + value.dump());
  return value.get<double>();
}

int64_t RuleOptions::integer(const std::string& key, int64_t fallback, int64_t min) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = options_.at(key);
  if (!value.is_number_integer() || value.get<int64_t>() < min)
    throw error(key, "expected an integer >= " + std::to_string(min) + ", got " + value.dump());
  return value.get<int64_t>();
}

bool RuleOptions::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = options_.at(key);
  if (!value.is_boolean()) throw error(key, "expected true or false, got " + value.dump());
  return value.get<bool>();
}

std::string RuleOptions::string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = options_.at(key);
  if (!value.is_string() || value.get<std::string>().empty())
    throw error(key, "expected a non-empty string, got " + value.dump());
  return value.get<std::string>();
}

std::string RuleOptions::choice(const std::string& key, const std::string& fallback,
                                const std::vector<std::string>& choices) const {
  if (!has(key)) return fallback;
  const nlohmann::json& value = options_.at(key);
  if (value.is_string() &&
      std::find(choices.begin(), choices.end(), value.get<std::string>()) != choices.end())
    return value.get<std::string>();
  throw error(key, "expected one of " + join_names(choices) + ", got " + value.dump());
}

Tags RuleOptions::tags() const {
  Tags tags;
  tags.think_open = string("think_open", tags.think_open);
  tags.think_close = string("think_close", tags.think_close);
  tags.answer_open = string("answer_open", tags.answer_open);
  tags.answer_close = string("answer_close", tags.answer_close);
  const std::string* all[] = {&tags.think_open, &tags.think_close, &tags.answer_open, &tags.answer_close};
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = i + 1; j < 4; ++j)
      if (*all[i] == *all[j]) throw rule_error("tags must differ, but two are '" + *all[i] + "'");
  return tags;
}

std::invalid_argument RuleOptions::error(const std::string& key, const std::string& message) const {
  return std::invalid_argument("reward rule '" + rule_name_ + "': option '" + key + "': " + message);
}

std::invalid_argument RuleOptions::rule_error(const std::string& message) const {
  return std::invalid_argument("reward rule '" + rule_name_ + "': " + message);
}

}  // namespace aha::rewards
