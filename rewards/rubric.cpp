// Weighted rule composition and its JSON form (see rubric.h).
#include "rewards/rubric.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>
#include <set>
#include <stdexcept>
#include <thread>

#include "rewards/registry.h"

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

namespace {

// One rule on one input: the score, or 0 with `error` set when it throws or returns a non-finite value.
double guarded_score(const Rule& rule, const std::string& name, const RewardInput& input, std::string& error) {
  double s = 0.0;
  try {
    s = rule.score(input);
  } catch (const std::exception& e) {
    error = name + ": " + e.what();
  } catch (...) {
    error = name + ": threw a non-exception";
  }
  if (error.empty() && !std::isfinite(s)) error = name + ": returned " + std::to_string(s);
  return error.empty() ? s : 0.0;
}

}  // namespace

RubricResult Rubric::score(const RewardInput& input) const { return score_batch({input}).front(); }

std::vector<RubricResult> Rubric::score_batch(const std::vector<RewardInput>& inputs, int workers) const {
  const size_t n = inputs.size();
  std::vector<RubricResult> results(n);
  for (size_t i = 0; i < rules_.size(); ++i) {
    const std::string& name = specs_[i].name;
    std::vector<double> scores(n, 0.0);
    std::vector<std::string> errors(n);
    if (const auto* batch = dynamic_cast<const BatchRule*>(rules_[i].get())) {
      try {
        scores = batch->score_batch(inputs);
      } catch (const std::exception& e) {
        for (auto& err : errors) err = name + ": " + e.what();
      }
      for (size_t k = 0; k < n && k < scores.size(); ++k)
        if (errors[k].empty() && !std::isfinite(scores[k])) errors[k] = name + ": returned " + std::to_string(scores[k]);
      scores.resize(n, 0.0);
      for (size_t k = 0; k < n; ++k)
        if (!errors[k].empty()) scores[k] = 0.0;
    } else {
      const size_t threads = std::min<size_t>(std::max(workers, 1), std::max<size_t>(n, 1));
      std::atomic<size_t> next{0};
      auto work = [&] {
        for (size_t k = next++; k < n; k = next++) scores[k] = guarded_score(*rules_[i], name, inputs[k], errors[k]);
      };
      std::vector<std::thread> pool;
      for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
      work();
      for (auto& t : pool) t.join();
    }
    for (size_t k = 0; k < n; ++k) {
      if (!errors[k].empty()) {
        std::cerr << "aha: reward rule " << errors[k] << "; scored 0\n";
        if (!results[k].error.empty()) results[k].error += "; ";
        results[k].error += errors[k];
      }
      results[k].total += specs_[i].weight * scores[k];
      results[k].rules.emplace_back(name, scores[k]);
    }
  }
  return results;
}

void Rubric::check_ground_truth(const RewardInput& input) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    try {
      rules_[i]->check_ground_truth(input);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("the rule " + specs_[i].name + " cannot read it: " + e.what());
    }
  }
}

std::vector<RuleFailures> Rubric::failures() const {
  std::vector<RuleFailures> out;
  for (size_t i = 0; i < rules_.size(); ++i)
    if (const auto* batch = dynamic_cast<const BatchRule*>(rules_[i].get()))
      out.push_back({specs_[i].name, batch->stats()});
  return out;
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
