// Option reading for the task checkers (see task_options.h).
#include "rewards/task_options.h"

#include <stdexcept>

namespace aha::rewards {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::invalid_argument bad_value(const std::string& rule, const std::string& key, const std::string& expected,
                                const nlohmann::json& got) {
  return std::invalid_argument("reward rule '" + rule + "': option '" + key + "': expected " + expected +
                               ", got " + got.dump());
}

}  // namespace

void check_option_keys(const nlohmann::json& options, const std::string& rule,
                       const std::vector<std::string>& allowed) {
  if (options.is_null()) return;
  if (!options.is_object())
    throw std::invalid_argument("reward rule '" + rule + "': options must be an object with keys " +
                                joined(allowed) + ", got " + options.dump());
  for (const auto& [key, value] : options.items()) {
    bool known = false;
    for (const std::string& name : allowed) known = known || name == key;
    if (!known)
      throw std::invalid_argument("reward rule '" + rule + "': unknown option '" + key +
                                  "'; allowed options: " + joined(allowed));
  }
}

bool option_bool(const nlohmann::json& options, const std::string& key, bool fallback,
                 const std::string& rule) {
  if (!options.is_object() || !options.contains(key)) return fallback;
  const nlohmann::json& value = options.at(key);
  if (!value.is_boolean()) throw bad_value(rule, key, "true or false", value);
  return value.get<bool>();
}

std::string option_string(const nlohmann::json& options, const std::string& key, const std::string& fallback,
                          const std::string& rule) {
  if (!options.is_object() || !options.contains(key)) return fallback;
  const nlohmann::json& value = options.at(key);
  if (!value.is_string() || value.get<std::string>().empty())
    throw bad_value(rule, key, "a non-empty string", value);
  return value.get<std::string>();
}

int64_t option_integer(const nlohmann::json& options, const std::string& key, int64_t fallback, int64_t min,
                       int64_t max, const std::string& rule) {
  if (!options.is_object() || !options.contains(key)) return fallback;
  const nlohmann::json& value = options.at(key);
  const std::string expected = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (!value.is_number_integer()) throw bad_value(rule, key, expected, value);
  const int64_t n = value.get<int64_t>();
  if (n < min || n > max) throw bad_value(rule, key, expected, value);
  return n;
}

math::ExtractOptions extract_options(const nlohmann::json& options, const std::string& rule) {
  math::ExtractOptions extract;
  extract.answer_open = option_string(options, "answer_open", extract.answer_open, rule);
  extract.answer_close = option_string(options, "answer_close", extract.answer_close, rule);
  if (extract.answer_open == extract.answer_close)
    throw std::invalid_argument("reward rule '" + rule +
                                "': answer_open and answer_close must differ, both are '" +
                                extract.answer_open + "'");
  extract.use_answer_tags = option_bool(options, "use_answer_tags", extract.use_answer_tags, rule);
  extract.last_number_fallback =
      option_bool(options, "last_number_fallback", extract.last_number_fallback, rule);
  return extract;
}

}  // namespace aha::rewards
