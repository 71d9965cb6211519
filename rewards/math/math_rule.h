// The accuracy checkers for math answers, as reward rules:
//   "math"     MATH-style answers: the completion's final answer (math_extract.h) equals the ground
//              truth's (itself extracted, so a whole reference solution works) under the equivalence
//              policy of math_equiv.h. Options: the extraction keys of task_options.h and
//              float_rounding (decimal places when a side is written as a decimal, default 6).
//   "integer"  AIME/AMC-style integer answers (also registered as "aime"): the completion's answer is
//              a number without variables whose exact value is the ground-truth integer. "27", "27.0",
//              "027", "\boxed{27}", "\frac{54}{2}" all score for 27; "27.5", "x" and "27, 28" do not.
//              The ground truth must be an integer, possibly written "27.0" as in amc23; anything else
//              is std::invalid_argument (a data bug). Options: the extraction keys.
// Score 1 or 0. Model output never throws; an empty ground truth does (std::invalid_argument).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "rewards/math/math_equiv.h"
#include "rewards/math/math_extract.h"
#include "rewards/rule.h"

namespace aha::rewards {

class MathRule final : public Rule {
 public:
  explicit MathRule(math::ExtractOptions extract = {}, math::EquivOptions equiv = {})
      : extract_(std::move(extract)), equiv_(equiv) {}
  std::string name() const override { return "math"; }
  double score(const RewardInput& input) const override;

 private:
  math::ExtractOptions extract_;
  math::EquivOptions equiv_;
};

class IntegerRule final : public Rule {
 public:
  explicit IntegerRule(math::ExtractOptions extract = {}, std::string name = "integer")
      : extract_(std::move(extract)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  double score(const RewardInput& input) const override;

 private:
  math::ExtractOptions extract_;
  std::string name_;
};

// Factories from a rule spec's JSON options (null or an object); unknown keys and bad values are
// std::invalid_argument naming the rule and the key.
std::unique_ptr<Rule> make_math_rule(const nlohmann::json& options);
std::unique_ptr<Rule> make_integer_rule(const nlohmann::json& options, const std::string& name = "integer");

}  // namespace aha::rewards
