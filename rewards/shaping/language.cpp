// Language consistency by script share (see language.h).
#include "rewards/shaping/language.h"

#include <algorithm>

#include "rewards/rule_options.h"

namespace aha::rewards {
namespace {

std::string without_tags(std::string_view text, const Tags& tags) {
  std::string out(text);
  for (const std::string* tag : {&tags.think_open, &tags.think_close, &tags.answer_open, &tags.answer_close})
    for (size_t pos = out.find(*tag); pos != std::string::npos; pos = out.find(*tag, pos))
      out.erase(pos, tag->size());
  return out;
}

}  // namespace

double script_share(std::string_view text, const std::vector<Script>& target) {
  size_t letters = 0, in_target = 0;
  for (size_t pos = 0; pos < text.size();) {
    const std::optional<Script> script = letter_script(next_code_point(text, pos));
    if (!script) continue;
    ++letters;
    if (std::find(target.begin(), target.end(), *script) != target.end()) ++in_target;
  }
  return letters == 0 ? 0.0 : static_cast<double>(in_target) / static_cast<double>(letters);
}

LanguageRule::LanguageRule(std::vector<Script> target, Scope scope, Tags tags, std::string name)
    : target_(std::move(target)), scope_(scope), tags_(std::move(tags)), name_(std::move(name)) {}

double LanguageRule::score(const RewardInput& input) const {
  std::string_view text = input.completion;
  if (scope_ == Scope::think) {
    const size_t open = text.find(tags_.think_open);
    if (open == std::string_view::npos) return 0.0;
    const size_t begin = open + tags_.think_open.size();
    const size_t close = text.find(tags_.think_close, begin);
    if (close == std::string_view::npos) return 0.0;
    text = text.substr(begin, close - begin);
  }
  return script_share(without_tags(text, tags_), target_);
}

std::unique_ptr<Rule> make_language_rule(const nlohmann::json& options, const std::string& rule_name) {
  const RuleOptions o(options, rule_name,
                      {"script", "scope", "think_open", "think_close", "answer_open", "answer_close"});
  o.require("script", "{\"script\": \"latin\"} or {\"script\": [\"han\", \"kana\"]}");
  const nlohmann::json& value = o.raw("script");
  std::vector<nlohmann::json> names =
      value.is_array() ? value.get<std::vector<nlohmann::json>>() : std::vector<nlohmann::json>{value};
  if (names.empty()) throw o.error("script", "expected at least one script name, got []");
  std::vector<Script> target;
  for (const nlohmann::json& name : names) {
    const std::optional<std::vector<Script>> scripts =
        name.is_string() ? scripts_named(name.get<std::string>()) : std::nullopt;
    if (!scripts)
      throw o.error("script",
                    "unknown script " + name.dump() + "; known scripts: " + join_names(script_names()));
    target.insert(target.end(), scripts->begin(), scripts->end());
  }
  const LanguageRule::Scope scope = o.choice("scope", "completion", {"completion", "think"}) == "think"
                                        ? LanguageRule::Scope::think
                                        : LanguageRule::Scope::completion;
  return std::make_unique<LanguageRule>(std::move(target), scope, o.tags(), rule_name);
}

}  // namespace aha::rewards
