// The "arith" task: multi-step non-negative integer arithmetic, "What is 37 + 48 - 25?" -> "60", and
// demonstrations "<think>37 + 48 = 85. 85 - 25 = 60.</think> <answer>60</answer>" (one step per operator,
// left to right) with optional noise (a wrong step, a broken format).
// Deliberate choices: every intermediate result is >= 0 ("-" is drawn only when the running value is at
// least the next operand); a wrong step's delta is also kept so that no later value of the (consistent,
// shifted) chain goes below 0.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/task.h"

namespace aha::datasets {

struct ArithmeticConfig {
  int min_terms = 2;  // number of operands, uniform in [min_terms, max_terms]
  int max_terms = 3;
  int max_operand = 99;  // operands uniform in [0, max_operand]

  // min_terms >= 2 (a problem has at least one step), max_terms >= min_terms, max_operand >= 1.
  void validate() const;
};

// Keys are the field names; null means all defaults. Errors name the key and the allowed keys.
ArithmeticConfig arithmetic_config_from_json(const nlohmann::json& options);
nlohmann::json to_json(const ArithmeticConfig& config);

// A question in parsed form: operands[0] ops[0] operands[1] ops[1] ... ; ops are '+' or '-'.
struct Expression {
  std::vector<int64_t> operands;
  std::vector<char> ops;
};

std::string format_question(const Expression& e);  // "What is 37 + 48 - 25?"
// Inverse of format_question; std::invalid_argument on any other text.
Expression parse_question(const std::string& question);

class ArithmeticTask final : public Task {
 public:
  explicit ArithmeticTask(ArithmeticConfig config);
  std::string name() const override { return "arith"; }
  const ArithmeticConfig& config() const { return config_; }
  // Throws std::runtime_error when the configured problem space cannot supply `count` distinct problems.
  std::vector<Problem> problems(Split split, size_t count, uint64_t seed) const override;
  // The noise stream is seeded from (seed, question), so one seed for a whole corpus still gives each
  // problem independent noise. Throws std::invalid_argument if the question does not parse or its
  // answer disagrees with it, or if `noise` is invalid.
  std::string demonstration(const Problem& p, const DemoNoise& noise, uint64_t seed) const override;

 private:
  ArithmeticConfig config_;
};

}  // namespace aha::datasets
