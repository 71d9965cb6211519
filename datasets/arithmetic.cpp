// The "arith" task: generator, question parser and noisy demonstrations (see arithmetic.h).
#include "datasets/arithmetic.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <stdexcept>
#include <unordered_set>

#include "datasets/demo_format.h"
#include "datasets/rng.h"

namespace aha::datasets {
namespace {

constexpr const char* kQuestionPrefix = "What is ";
constexpr const char* kAllowedOptions = "min_terms, max_terms, max_operand";

int64_t apply(int64_t lhs, char op, int64_t rhs) {
  return op == '+' ? lhs + rhs : lhs - rhs;
}

int read_int_option(const std::string& key, const nlohmann::json& value) {
  const bool fits = value.is_number_unsigned() ? value.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX)
                    : value.is_number_integer()
                        ? value.get<int64_t>() >= INT_MIN && value.get<int64_t>() <= INT_MAX
                        : false;
  if (!fits)
    throw std::invalid_argument("task 'arith': option '" + key + "': expected an integer (32-bit), got " +
                                value.dump());
  return value.get<int>();
}

}  // namespace

void ArithmeticConfig::validate() const {
  if (min_terms < 2)
    throw std::invalid_argument("task 'arith': min_terms must be >= 2 (a problem needs one step), got " +
                                std::to_string(min_terms));
  if (max_terms < min_terms)
    throw std::invalid_argument("task 'arith': max_terms (" + std::to_string(max_terms) +
                                ") must be >= min_terms (" + std::to_string(min_terms) + ")");
  if (max_operand < 1)
    throw std::invalid_argument("task 'arith': max_operand must be >= 1, got " + std::to_string(max_operand));
}

ArithmeticConfig arithmetic_config_from_json(const nlohmann::json& options) {
  ArithmeticConfig config;
  if (options.is_null()) return config;
  if (!options.is_object())
    throw std::invalid_argument("task 'arith': options must be an object with keys " +
                                std::string(kAllowedOptions) + ", got " + options.dump());
  for (const auto& [key, value] : options.items()) {
    if (key == "min_terms")
      config.min_terms = read_int_option(key, value);
    else if (key == "max_terms")
      config.max_terms = read_int_option(key, value);
    else if (key == "max_operand")
      config.max_operand = read_int_option(key, value);
    else
      throw std::invalid_argument("task 'arith': unknown option '" + key +
                                  "'; allowed options: " + kAllowedOptions);
  }
  config.validate();
  return config;
}

nlohmann::json to_json(const ArithmeticConfig& config) {
  return {
      {"min_terms", config.min_terms}, {"max_terms", config.max_terms}, {"max_operand", config.max_operand}};
}

std::string format_question(const Expression& e) {
  std::string text = kQuestionPrefix + std::to_string(e.operands.at(0));
  for (size_t i = 0; i < e.ops.size(); ++i)
    text += std::string(" ") + e.ops[i] + " " + std::to_string(e.operands.at(i + 1));
  return text + "?";
}

Expression parse_question(const std::string& question) {
  auto fail = [&](const std::string& why) {
    return std::invalid_argument("arith: cannot parse question '" + question + "' (" + why +
                                 "); expected e.g. 'What is 37 + 48 - 25?'");
  };
  const std::string prefix = kQuestionPrefix;
  if (question.rfind(prefix, 0) != 0 || question.size() < prefix.size() + 2 || question.back() != '?')
    throw fail("missing 'What is ' or '?'");
  const std::string body = question.substr(prefix.size(), question.size() - prefix.size() - 1);

  // Tokens alternate number, operator, number, ... separated by single spaces.
  Expression e;
  size_t pos = 0;
  for (size_t token = 0;; ++token) {
    size_t end = body.find(' ', pos);
    const std::string word = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (token % 2 == 0) {
      // At most 9 digits keeps every sum of an int-sized problem far from int64 overflow.
      if (word.empty() || word.size() > 9 ||
          !std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw fail("'" + word + "' is not a non-negative integer");
      e.operands.push_back(std::stoll(word));
    } else {
      if (word != "+" && word != "-") throw fail("'" + word + "' is not + or -");
      e.ops.push_back(word[0]);
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (e.ops.empty() || e.operands.size() != e.ops.size() + 1) throw fail("expected at least one operator");
  return e;
}

ArithmeticTask::ArithmeticTask(ArithmeticConfig config) : config_(config) {
  config_.validate();
}

std::vector<Problem> ArithmeticTask::problems(Split split, size_t count, uint64_t seed) const {
  return draw_distinct_problems("arith", split, count, seed, "raise max_operand or max_terms",
                                [&](Rng& rng) -> std::optional<std::pair<std::string, std::string>> {
                                  Expression e;
                                  const int64_t n_terms = rng.uniform_int(config_.min_terms, config_.max_terms);
                                  int64_t value = rng.uniform_int(0, config_.max_operand);
                                  e.operands.push_back(value);
                                  for (int64_t i = 1; i < n_terms; ++i) {
                                    const int64_t operand = rng.uniform_int(0, config_.max_operand);
                                    // "-" only when it keeps the running value >= 0; then a fair coin.
                                    const char op = (value >= operand && rng.bernoulli(0.5)) ? '-' : '+';
                                    value = apply(value, op, operand);
                                    e.operands.push_back(operand);
                                    e.ops.push_back(op);
                                  }
                                  return std::pair{format_question(e), std::to_string(value)};
                                });
}

std::string ArithmeticTask::demonstration(const Problem& p, const DemoNoise& noise, uint64_t seed) const {
  noise.validate();
  if (noise.give_up_prob > 0.0)
    throw std::invalid_argument("arith: demo noise give_up_prob must be 0 (only countdown demonstrations search)");
  const Expression e = parse_question(p.question);
  const size_t n_steps = e.ops.size();

  // correct[k] is the running value after step k.
  std::vector<int64_t> correct(n_steps);
  int64_t value = e.operands[0];
  for (size_t k = 0; k < n_steps; ++k) correct[k] = value = apply(value, e.ops[k], e.operands[k + 1]);
  if (std::to_string(correct.back()) != p.answer)
    throw std::invalid_argument("arith: problem " + p.id + " has answer '" + p.answer + "' but '" +
                                p.question + "' evaluates to " + std::to_string(correct.back()));

  Rng rng(mix_seed(seed, fnv1a64(p.question)));
  // Both coins first, so the two kinds of noise stay independent of each other's follow-up draws.
  const bool wrong = rng.bernoulli(noise.wrong_step_prob);
  const bool broken = rng.bernoulli(noise.broken_format_prob);

  size_t wrong_step = n_steps;  // none
  int64_t delta = 0;
  if (wrong) {
    wrong_step = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(n_steps) - 1));
    // The chain from wrong_step on is the correct chain shifted by delta, so delta >= -min(those values)
    // keeps every shown value >= 0. hi >= 1 (validated), so the nonzero range below is never empty.
    const int64_t lowest_later = *std::min_element(correct.begin() + wrong_step, correct.end());
    const int64_t lo = std::max<int64_t>(-noise.max_error, -lowest_later);
    const int64_t hi = noise.max_error;
    delta = rng.uniform_int(lo, hi - 1);  // one value fewer than [lo, hi], then skip over 0
    if (delta >= 0) ++delta;
  }

  std::string reasoning;
  value = e.operands[0];
  for (size_t k = 0; k < n_steps; ++k) {
    const int64_t lhs = value;
    value = apply(lhs, e.ops[k], e.operands[k + 1]) + (k == wrong_step ? delta : 0);
    if (k > 0) reasoning += ' ';
    reasoning += std::to_string(lhs) + ' ' + e.ops[k] + ' ' + std::to_string(e.operands[k + 1]) + " = " +
                 std::to_string(value) + '.';
  }

  DemoFormat format = DemoFormat::Clean;
  if (broken)
    format = kBrokenDemoFormats[static_cast<size_t>(
        rng.uniform_int(0, static_cast<int64_t>(kBrokenDemoFormats.size()) - 1))];
  return render_demonstration(reasoning, std::to_string(value), format);
}

}  // namespace aha::datasets
