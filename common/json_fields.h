// Config sections as plain structs whose fields are listed once. A section lists its keys in a member
//   template <class F> void fields(F& f) { f("path", path); f("device", device); f("kind", kind, parse_kind);
//   }
// and the same list both reads and writes it:
//   read_section(json, "run.json: model", section)  strict: each field is type-checked, a key no field
//       claims is an error naming it and listing the allowed ones ("rollout.group_sise: unknown key;
//       allowed: prompts_per_step, group_size, ..."); an absent key keeps the struct's default;
//   write_section(section)  the same keys with their values.
// A field given a parse function (string -> value) is an enum or a named choice: it is read from a string
// through `parse` (whose std::invalid_argument is prefixed with the key) and written through `print`
// (by default the ADL to_string of the value), so no option stays a string past loading.
// Used by the run config (grpo/), the pretrain config and the trainer state.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace aha::common {

class FieldReader {
 public:
  FieldReader(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) throw std::invalid_argument(where_ + ": expected a JSON object, got " + j_.dump());
  }

  template <typename T>
  void operator()(const char* key, T& out) {
    const nlohmann::json* value = find(key);
    if (!value) return;
    auto fail = [&](const char* expected) {
      throw std::invalid_argument(where_ + "." + key + ": expected " + expected + ", got " + value->dump());
    };
    if constexpr (std::is_same_v<T, bool>) {
      if (!value->is_boolean()) fail("true or false");
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
      if (!value->is_number_integer() || (!value->is_number_unsigned() && value->get<int64_t>() < 0))
        fail("an integer >= 0");
    } else if constexpr (std::is_integral_v<T>) {
      if (!value->is_number_integer()) fail("an integer");
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!value->is_number()) fail("a number");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!value->is_string()) fail("a string");
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!value->is_array()) fail("a list of strings");
      for (const auto& e : *value)
        if (!e.is_string()) fail("a list of strings");
    }
    if constexpr (std::is_same_v<T, nlohmann::json>)
      out = *value;
    else
      out = value->get<T>();
  }

  // A named choice: the JSON string goes through parse (std::invalid_argument -> "<where>.<key>: ...").
  template <typename T, typename Parse, typename... Print>
  void operator()(const char* key, T& out, Parse parse, Print...) {
    const nlohmann::json* value = find(key);
    if (!value) return;
    if (!value->is_string())
      throw std::invalid_argument(where_ + "." + key + ": expected a string, got " + value->dump());
    try {
      out = parse(value->get<std::string>());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where_ + "." + key + ": " + e.what());
    }
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
  const nlohmann::json* find(const char* key) {
    allowed_.push_back(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  const nlohmann::json& j_;
  std::string where_;
  std::vector<std::string> allowed_;
};

class FieldWriter {
 public:
  template <typename T>
  void operator()(const char* key, const T& value) {
    json[key] = value;
  }
  template <typename T, typename Parse>
  void operator()(const char* key, const T& value, Parse) {
    json[key] = to_string(value);  // ADL: the enum's own to_string
  }
  template <typename T, typename Parse, typename Print>
  void operator()(const char* key, const T& value, Parse, Print print) {
    json[key] = print(value);
  }

  nlohmann::json json = nlohmann::json::object();
};

template <typename Section>
void read_section(const nlohmann::json& j, const std::string& where, Section& section) {
  FieldReader reader(j, where);
  section.fields(reader);
  reader.finish();
}

template <typename Section>
nlohmann::json write_section(Section section) {  // by value: fields() is one non-const list for both ways
  FieldWriter writer;
  section.fields(writer);
  return std::move(writer.json);
}

// Applies a "section.key=value" override to a config object. The value is parsed as JSON when it parses
// (numbers, true/false, lists), else taken as a string. Unknown sections/keys are caught by the reader.
void apply_override(nlohmann::json& config, const std::string& assignment);

}  // namespace aha::common
