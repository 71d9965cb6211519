// Declarative custom rules: regex, contains, length (see custom_rule.h).
#include "rewards/custom/custom_rule.h"

#include <re2/re2.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "rewards/accuracy.h"
#include "rewards/rule_options.h"
#include "rewards/shaping/length.h"

namespace aha::rewards {
namespace {

const std::vector<std::string> kCommonOptions = {"kind",       "target",      "score_match", "score_miss",
                                                 "think_open", "think_close", "answer_open", "answer_close"};

std::vector<std::string> with_common(std::vector<std::string> specific) {
  specific.insert(specific.end(), kCommonOptions.begin(), kCommonOptions.end());
  return specific;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

CustomRule::Predicate regex_predicate(const RuleOptions& o) {
  o.require("pattern", "{\"kind\": \"regex\", \"pattern\": \"\\\\\\\\boxed\\\\{\"}");
  const std::string pattern = o.string("pattern", "");
  RE2::Options re2_options;
  re2_options.set_log_errors(false);  // the error goes into our exception instead of stderr
  re2_options.set_case_sensitive(!o.boolean("case_insensitive", false));
  auto re = std::make_shared<RE2>(pattern, re2_options);
  if (!re->ok()) throw o.error("pattern", "invalid RE2 regex '" + pattern + "': " + re->error());
  if (o.choice("match", "search", {"search", "full"}) == "full")
    return [re](std::string_view text) { return RE2::FullMatch(text, *re); };
  return [re](std::string_view text) { return RE2::PartialMatch(text, *re); };
}

CustomRule::Predicate contains_predicate(const RuleOptions& o) {
  o.require("pattern", "{\"kind\": \"contains\", \"pattern\": \"Therefore\"}");
  const nlohmann::json& value = o.raw("pattern");
  std::vector<std::string> needles;
  for (const nlohmann::json& item : value.is_array() ? value : nlohmann::json::array({value})) {
    if (!item.is_string() || item.get<std::string>().empty())
      throw o.error("pattern", "expected a non-empty string or an array of them, got " + value.dump());
    needles.push_back(item.get<std::string>());
  }
  if (needles.empty()) throw o.error("pattern", "expected at least one string, got []");
  const bool case_insensitive = o.boolean("case_insensitive", false);
  if (case_insensitive)
    for (std::string& needle : needles) needle = ascii_lowered(needle);
  const bool require_all = o.choice("require", "all", {"all", "any"}) == "all";
  return [needles, case_insensitive, require_all](std::string_view text) {
    const std::string lowered = case_insensitive ? ascii_lowered(text) : std::string();
    const std::string_view haystack = case_insensitive ? std::string_view(lowered) : text;
    const auto found = [&](const std::string& needle) {
      return haystack.find(needle) != std::string_view::npos;
    };
    return require_all ? std::all_of(needles.begin(), needles.end(), found)
                       : std::any_of(needles.begin(), needles.end(), found);
  };
}

CustomRule::Predicate length_predicate(const RuleOptions& o) {
  if (!o.has("min") && !o.has("max"))
    throw o.rule_error("kind 'length' needs min, max or both, e.g. {\"kind\": \"length\", \"max\": 2000}");
  const int64_t min = o.integer("min", 0, 0);
  const int64_t max = o.has("max") ? o.integer("max", 0, min) : std::numeric_limits<int64_t>::max();
  const LengthUnit unit = length_unit_option(o);
  return [min, max, unit](std::string_view text) {
    const auto length = static_cast<int64_t>(text_length(text, unit));
    return length >= min && length <= max;
  };
}

}  // namespace

CustomRule::CustomRule(std::string name, Predicate matches, Target target, Tags tags, double score_match,
                       double score_miss)
    : name_(std::move(name)),
      matches_(std::move(matches)),
      target_(target),
      tags_(std::move(tags)),
      score_match_(score_match),
      score_miss_(score_miss) {}

double CustomRule::score(const RewardInput& input) const {
  if (target_ == Target::completion) return matches_(input.completion) ? score_match_ : score_miss_;
  const std::optional<std::string_view> block = last_answer_block(input.completion, tags_);
  return block && matches_(*block) ? score_match_ : score_miss_;
}

std::unique_ptr<Rule> make_custom_rule(const nlohmann::json& options, const std::string& rule_name) {
  const std::vector<std::string> kinds = {"regex", "contains", "length"};
  const nlohmann::json kind_value =
      options.is_object() && options.contains("kind") ? options.at("kind") : nlohmann::json();
  if (!kind_value.is_string() ||
      std::find(kinds.begin(), kinds.end(), kind_value.get<std::string>()) == kinds.end())
    throw std::invalid_argument("reward rule '" + rule_name + "': option 'kind': expected one of " +
                                join_names(kinds) + ", got " +
                                (kind_value.is_null() ? "nothing" : kind_value.dump()));
  const std::string kind = kind_value.get<std::string>();

  CustomRule::Predicate predicate;
  std::unique_ptr<RuleOptions> o;
  if (kind == "regex") {
    o = std::make_unique<RuleOptions>(options, rule_name,
                                      with_common({"pattern", "match", "case_insensitive"}));
    predicate = regex_predicate(*o);
  } else if (kind == "contains") {
    o = std::make_unique<RuleOptions>(options, rule_name,
                                      with_common({"pattern", "require", "case_insensitive"}));
    predicate = contains_predicate(*o);
  } else {
    o = std::make_unique<RuleOptions>(options, rule_name, with_common({"min", "max", "unit"}));
    predicate = length_predicate(*o);
  }
  const CustomRule::Target target =
      o->choice("target", "completion", {"completion", "answer_block"}) == "answer_block"
          ? CustomRule::Target::answer_block
          : CustomRule::Target::completion;
  return std::make_unique<CustomRule>(rule_name, std::move(predicate), target, o->tags(),
                                      o->number("score_match", 1.0), o->number("score_miss", 0.0));
}

}  // namespace aha::rewards
