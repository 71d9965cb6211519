// Soft overlong penalty and length range (see length.h).
#include "rewards/shaping/length.h"

#include <algorithm>
#include <limits>

#include "rewards/shaping/unicode_script.h"

namespace aha::rewards {
namespace {

bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t count_words(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = is_ascii_whitespace(c);
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace

size_t text_length(std::string_view text, LengthUnit unit) {
  switch (unit) {
    case LengthUnit::chars:
      return count_code_points(text);
    case LengthUnit::words:
      return count_words(text);
    case LengthUnit::bytes:
      return text.size();
  }
  return text.size();
}

LengthUnit length_unit_option(const RuleOptions& options) {
  const std::string unit = options.choice("unit", "chars", {"chars", "words", "bytes"});
  return unit == "words" ? LengthUnit::words : unit == "bytes" ? LengthUnit::bytes : LengthUnit::chars;
}

double soft_overlong_penalty(double length, double max_length, double cache_length) {
  const double expected = max_length - cache_length;
  if (length <= expected) return 0.0;
  if (length <= max_length) return (expected - length) / cache_length;
  return -1.0;
}

double length_range_score(double length, double min, double max, double ramp) {
  if (length >= min && length <= max) return 1.0;
  if (ramp <= 0) return 0.0;
  const double distance = length < min ? min - length : length - max;
  return std::max(0.0, 1.0 - distance / ramp);
}

OverlongRule::OverlongRule(int64_t max_length, int64_t cache_length, LengthUnit unit, std::string name)
    : max_length_(max_length), cache_length_(cache_length), unit_(unit), name_(std::move(name)) {}

double OverlongRule::score(const RewardInput& input) const {
  return soft_overlong_penalty(static_cast<double>(text_length(input.completion, unit_)),
                               static_cast<double>(max_length_), static_cast<double>(cache_length_));
}

LengthRangeRule::LengthRangeRule(int64_t min, std::optional<int64_t> max, int64_t ramp, LengthUnit unit,
                                 std::string name)
    : min_(min), max_(max), ramp_(ramp), unit_(unit), name_(std::move(name)) {}

double LengthRangeRule::score(const RewardInput& input) const {
  const double max = max_ ? static_cast<double>(*max_) : std::numeric_limits<double>::infinity();
  return length_range_score(static_cast<double>(text_length(input.completion, unit_)),
                            static_cast<double>(min_), max, static_cast<double>(ramp_));
}

std::unique_ptr<Rule> make_overlong_rule(const nlohmann::json& options, const std::string& rule_name) {
  const RuleOptions o(options, rule_name, {"max_length", "cache_length", "unit"});
  o.require("max_length", "{\"max_length\": 4096, \"cache_length\": 512}");
  o.require("cache_length", "{\"max_length\": 4096, \"cache_length\": 512}");
  const int64_t max_length = o.integer("max_length", 0, 1);
  const int64_t cache_length = o.integer("cache_length", 0, 1);
  if (cache_length > max_length)
    throw o.error("cache_length", "must be <= max_length (" + std::to_string(max_length) + "), got " +
                                      std::to_string(cache_length));
  return std::make_unique<OverlongRule>(max_length, cache_length, length_unit_option(o), rule_name);
}

std::unique_ptr<Rule> make_length_range_rule(const nlohmann::json& options, const std::string& rule_name) {
  const RuleOptions o(options, rule_name, {"min", "max", "ramp", "unit"});
  if (!o.has("min") && !o.has("max"))
    throw o.rule_error("give min, max or both, e.g. {\"min\": 200, \"max\": 2000, \"ramp\": 100}");
  const int64_t min = o.integer("min", 0, 0);
  std::optional<int64_t> max;
  if (o.has("max")) max = o.integer("max", 0, min);
  return std::make_unique<LengthRangeRule>(min, max, o.integer("ramp", 0, 0), length_unit_option(o),
                                           rule_name);
}

}  // namespace aha::rewards
