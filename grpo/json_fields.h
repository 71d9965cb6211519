// Reading a JSON object into a plain struct, strictly: each field is type-checked, and keys that no field
// claims are an error that names the key and lists the allowed ones ("rollout.group_sise: unknown key;
// allowed: prompts_per_step, group_size, ..."). Used by the run and pretrain configs.
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace aha::grpo {

class JsonFields {
 public:
  JsonFields(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) throw std::invalid_argument(where_ + ": expected a JSON object, got " + j_.dump());
  }

  template <typename T>
  JsonFields& field(const char* key, T& out) {
    allowed_.push_back(key);
    auto it = j_.find(key);
    if (it == j_.end()) return *this;
    const std::string at = where_ + "." + key;
    auto fail = [&](const char* expected) {
      throw std::invalid_argument(at + ": expected " + expected + ", got " + it->dump());
    };
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) fail("true or false");
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer()) fail("an integer");
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!it->is_number()) fail("a number");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string()) fail("a string");
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!it->is_array()) fail("a list of strings");
      for (const auto& e : *it)
        if (!e.is_string()) fail("a list of strings");
    }
    if constexpr (std::is_same_v<T, nlohmann::json>) out = *it;
    else out = it->get<T>();
    return *this;
  }

  // Throws on the first key no field claimed.
  void finish() const {
    std::set<std::string> known(allowed_.begin(), allowed_.end());
    for (const auto& [key, _] : j_.items()) {
      if (known.count(key)) continue;
      std::string list;
      for (const auto& a : allowed_) list += (list.empty() ? "" : ", ") + a;
      throw std::invalid_argument(where_ + "." + key + ": unknown key; allowed: " + list);
    }
  }

 private:
  const nlohmann::json& j_;
  std::string where_;
  std::vector<std::string> allowed_;
};

// Applies "section.key=value" overrides to a config object. The value is parsed as JSON when it parses
// (numbers, true/false, lists), else taken as a string. Unknown sections/keys are caught by the parser.
void apply_override(nlohmann::json& config, const std::string& assignment);

}  // namespace aha::grpo
