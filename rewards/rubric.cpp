// Weighted rule composition and its JSON form (see rubric.h).
#include "rewards/rubric.h"

#include <cmath>
#include <iostream>
#include <set>
#include <stdexcept>

namespace aha::rewards {

Rubric::Rubric(const std::vector<RuleSpec>& specs) : specs_(specs) {
  if (specs_.empty()) {
    std::string known;
    for (const std::string& k : known_rules()) known += (known.empty() ? "" : ", ") + k;
    throw std::invalid_argument("reward rubric has no rules; give at least one of: " + known);
  }
  std::set<std::string> seen;
  for (const RuleSpec& spec : specs_) {
    if (!seen.insert(spec.name).second)
      throw std::invalid_argument("reward rubric names rule '" + spec.name +
                                  "' twice; each rule may appear once (its scores are logged by name)");
    if (!std::isfinite(spec.weight))
      throw std::invalid_argument("reward rule '" + spec.name + "': weight must be finite, got " +
                                  std::to_string(spec.weight));
    rules_.push_back(make_rule(spec));
  }
}

RubricResult Rubric::score(const RewardInput& input) const {
  RubricResult result;
  result.rules.reserve(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    double s = 0.0;
    try {
      s = rules_[i]->score(input);
    } catch (const std::exception& e) {
      std::cerr << "aha: reward rule '" << specs_[i].name << "' threw (" << e.what() << "); scored 0\n";
    } catch (...) {
      std::cerr << "aha: reward rule '" << specs_[i].name << "' threw a non-exception; scored 0\n";
    }
    if (!std::isfinite(s)) {
      std::cerr << "aha: reward rule '" << specs_[i].name << "' returned " << s << "; scored 0\n";
      s = 0.0;
    }
    result.total += specs_[i].weight * s;
    result.rules.emplace_back(specs_[i].name, s);
  }
  return result;
}

std::vector<RubricResult> Rubric::score_batch(const std::vector<RewardInput>& inputs) const {
  std::vector<RubricResult> results;
  results.reserve(inputs.size());
  for (const RewardInput& input : inputs) results.push_back(score(input));
  return results;
}

std::vector<RuleSpec> parse_rules(const nlohmann::json& rules_array, const std::string& where) {
  if (!rules_array.is_array())
    throw std::invalid_argument(where +
                                ": expected an array of rules like [{\"name\": \"format\", "
                                "\"weight\": 1.0}], got " +
                                rules_array.dump());
  std::vector<RuleSpec> specs;
  for (size_t i = 0; i < rules_array.size(); ++i) {
    const nlohmann::json& item = rules_array[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!item.is_object())
      throw std::invalid_argument(
          at + ": expected an object like {\"name\": \"format\", \"weight\": 1.0}, got " + item.dump());
    RuleSpec spec;
    for (const auto& [key, value] : item.items()) {
      if (key == "name") {
        if (!value.is_string())
          throw std::invalid_argument(at + ".name: expected a string, got " + value.dump());
        spec.name = value.get<std::string>();
      } else if (key == "weight") {
        // is_number() excludes booleans. The finiteness check is for JSON built in code (the parser
        // itself refuses 1e999), where a NaN would poison every total.
        if (!value.is_number() || !std::isfinite(value.get<double>()))
          throw std::invalid_argument(at + ".weight: expected a number, got " + value.dump());
        spec.weight = value.get<double>();
      } else if (key == "options") {
        if (!value.is_null() && !value.is_object())
          throw std::invalid_argument(at + ".options: expected an object, got " + value.dump());
        spec.options = value;
      } else {
        throw std::invalid_argument(at + ": unknown key '" + key + "'; allowed keys: name, weight, options");
      }
    }
    if (!item.contains("name")) throw std::invalid_argument(at + ".name: missing; every rule needs a name");
    try {
      make_rule(spec);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(at + ": " + e.what());
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace aha::rewards
