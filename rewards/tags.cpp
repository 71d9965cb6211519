// Tag options and text scans shared by the rules (see tags.h).
#include "rewards/tags.h"

#include <stdexcept>

namespace aha::rewards {
namespace {

constexpr std::string_view kWhitespace = " \t\n\r\f\v";
constexpr const char* kAllowedOptions = "think_open, think_close, answer_open, answer_close";

}  // namespace

Tags tags_from_options(const nlohmann::json& options, const std::string& rule_name) {
  Tags tags;
  if (options.is_null()) return tags;
  const std::string where = "reward rule '" + rule_name + "'";
  if (!options.is_object())
    throw std::invalid_argument(where + ": options must be an object with keys " + kAllowedOptions +
                                ", got " + options.dump());
  for (const auto& [key, value] : options.items()) {
    std::string* field = key == "think_open"     ? &tags.think_open
                         : key == "think_close"  ? &tags.think_close
                         : key == "answer_open"  ? &tags.answer_open
                         : key == "answer_close" ? &tags.answer_close
                                                 : nullptr;
    if (!field)
      throw std::invalid_argument(where + ": unknown option '" + key +
                                  "'; allowed options: " + kAllowedOptions);
    if (!value.is_string() || value.get<std::string>().empty())
      throw std::invalid_argument(where + ": option '" + key + "': expected a non-empty string, got " +
                                  value.dump());
    *field = value.get<std::string>();
  }
  // Equal tags would make "each tag exactly once, in order" unsatisfiable or ambiguous.
  const std::string* all[] = {&tags.think_open, &tags.think_close, &tags.answer_open, &tags.answer_close};
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = i + 1; j < 4; ++j)
      if (*all[i] == *all[j])
        throw std::invalid_argument(where + ": tags must differ, but two are '" + *all[i] + "'");
  return tags;
}

std::string_view trim_whitespace(std::string_view text) {
  const size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
}

bool is_all_whitespace(std::string_view text) {
  return text.find_first_not_of(kWhitespace) == std::string_view::npos;
}

size_t count_occurrences(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string_view::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace aha::rewards
