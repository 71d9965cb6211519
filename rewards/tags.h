// The tag vocabulary of the R1-Zero output format, <think> </think> <answer> </answer>, configurable per
// rule, and the small text scans the rules share. Whitespace means ASCII whitespace (" \t\n\r\f\v").
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace aha::rewards {

struct Tags {
  std::string think_open = "<think>", think_close = "</think>", answer_open = "<answer>",
              answer_close = "</answer>";
};

// Options keys are the Tags field names (each a non-empty string; the four must differ). Null means the
// defaults. Errors name the rule and the key.
Tags tags_from_options(const nlohmann::json& options, const std::string& rule_name);

std::string_view trim_whitespace(std::string_view text);
bool is_all_whitespace(std::string_view text);
// Occurrences of `needle` in `text`, overlapping ones included; needle must be non-empty.
size_t count_occurrences(std::string_view text, std::string_view needle);

}  // namespace aha::rewards
