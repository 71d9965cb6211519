// The rule registry (see rule.h).
#include "rewards/rule.h"

#include <stdexcept>

#include "rewards/accuracy.h"
#include "rewards/format.h"
#include "rewards/tags.h"

namespace aha::rewards {

std::vector<std::string> known_rules() {
  return {"accuracy", "format"};
}

std::unique_ptr<Rule> make_rule(const RuleSpec& spec) {
  if (spec.name == "format") return std::make_unique<FormatRule>(tags_from_options(spec.options, spec.name));
  if (spec.name == "accuracy")
    return std::make_unique<AccuracyRule>(tags_from_options(spec.options, spec.name));
  std::string known;
  for (const std::string& k : known_rules()) known += (known.empty() ? "" : ", ") + k;
  throw std::invalid_argument("unknown reward rule '" + spec.name + "'; known rules: " + known);
}

}  // namespace aha::rewards
