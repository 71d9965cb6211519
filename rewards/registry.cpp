// The rule registry (see registry.h): every built-in rule by name.
#include "rewards/registry.h"

#include <stdexcept>

#include "rewards/accuracy.h"
#include "rewards/code/code_reward.h"
#include "rewards/countdown.h"
#include "rewards/custom/custom_rule.h"
#include "rewards/custom/plugin_rule.h"
#include "rewards/custom/program_rule.h"
#include "rewards/format.h"
#include "rewards/gsm8k.h"
#include "rewards/math/math_rule.h"
#include "rewards/shaping/language.h"
#include "rewards/shaping/length.h"
#include "rewards/shaping/repetition.h"
#include "rewards/tags.h"

namespace aha::rewards {

std::vector<std::string> known_rules() {
  return {"accuracy", "aime",     "code",     "countdown", "custom",  "format", "gsm8k", "integer",
          "language", "length_range", "math", "overlong",  "plugin", "program", "repetition"};
}

std::unique_ptr<Rule> make_rule(const RuleSpec& spec) {
  const std::string& name = spec.name;
  const nlohmann::json& options = spec.options;
  if (name == "format") return std::make_unique<FormatRule>(tags_from_options(options, name));
  if (name == "accuracy") return std::make_unique<AccuracyRule>(tags_from_options(options, name));
  if (name == "math") return make_math_rule(options);
  if (name == "integer" || name == "aime") return make_integer_rule(options, name);
  if (name == "gsm8k") return make_gsm8k_rule(options);
  if (name == "countdown") return make_countdown_rule(options);
  if (name == "code") return make_code_rule(options);
  if (name == "overlong") return make_overlong_rule(options, name);
  if (name == "length_range") return make_length_range_rule(options, name);
  if (name == "language") return make_language_rule(options, name);
  if (name == "repetition") return make_repetition_rule(options, name);
  auto family = [&](const std::string& kind) { return name == kind || name.starts_with(kind + "."); };
  if (family("custom")) return make_custom_rule(options, name);
  if (family("plugin")) return make_plugin_rule(options, name);
  if (family("program")) return make_program_rule(options, name);
  std::string known;
  for (const std::string& k : known_rules()) known += (known.empty() ? "" : ", ") + k;
  throw std::invalid_argument("unknown reward rule '" + name + "'; known rules: " + known +
                              " (custom, plugin and program also as <kind>.<label>)");
}

bool is_shaping_rule(const std::string& name) {
  for (const char* shaping : {"format", "overlong", "length_range", "language", "repetition"})
    if (name == shaping) return true;
  return false;
}

}  // namespace aha::rewards
