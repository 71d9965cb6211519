// Length shaping: DAPO's soft overlong penalty and a length range.
//
// Soft overlong punishment, DAPO (arXiv 2503.14476, "Soft Overlong Punishment"; TRL's
// get_soft_overlong_punishment; veRL's overlong_buffer), with L = length, L_max = max_length and
// L_cache = cache_length:
//   R_length = 0                                  if L <= L_max - L_cache
//            = ((L_max - L_cache) - L) / L_cache   if L_max - L_cache < L <= L_max   (0 down to -1)
//            = -1                                  if L > L_max
// It is a penalty to ADD to the task reward (weight 1 in the rubric gives DAPO's form).
//
// Length range: 1 for min <= L <= max; outside, 0 with ramp = 0, else a linear ramp that reaches 0 at
// `ramp` units below min or above max: max(0, 1 - distance / ramp).
//
// Units. DAPO counts tokens, but a Rule sees RewardInput {prompt, completion, answer}: text only (rule.h
// is shared and has no token count), and re-tokenising in the reward library would pull the tokenizer into
// a library that depends on nothing. So the rule measures text in a documented unit:
//   "chars" (default): Unicode code points, each invalid UTF-8 byte counting as one. Roughly 3-4 per token
//                      for English BPE vocabularies, about 1-1.5 per token for Chinese; the most uniform
//                      across languages of the three.
//   "words": maximal runs of non-whitespace (ASCII whitespace); about 0.75 per English token, and a whole
//            unspaced CJK sentence counts as one word.
//   "bytes": UTF-8 bytes.
// Where the token count is known (the trainer has it), call soft_overlong_penalty() with it directly.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rewards/rule.h"
#include "rewards/rule_options.h"

namespace aha::rewards {

enum class LengthUnit { chars, words, bytes };

size_t text_length(std::string_view text, LengthUnit unit);
// Reads option "unit" ("chars", "words", "bytes"; default "chars").
LengthUnit length_unit_option(const RuleOptions& options);

// The DAPO formula above, for a length in any unit (tokens where known). Requires
// 0 < cache_length <= max_length.
double soft_overlong_penalty(double length, double max_length, double cache_length);

// The length-range formula above; max may be +infinity, ramp 0 means a hard step.
double length_range_score(double length, double min, double max, double ramp);

// Options: max_length (integer >= 1, required), cache_length (integer >= 1, <= max_length, required),
// unit. Scores in [-1, 0].
class OverlongRule final : public Rule {
 public:
  OverlongRule(int64_t max_length, int64_t cache_length, LengthUnit unit, std::string name = "overlong");
  std::string name() const override { return name_; }
  double score(const RewardInput& input) const override;

 private:
  int64_t max_length_, cache_length_;
  LengthUnit unit_;
  std::string name_;
};

// Options: min (integer >= 0, default 0), max (integer >= min, default unbounded), ramp (integer >= 0,
// default 0), unit; at least one of min and max. Scores in [0, 1].
class LengthRangeRule final : public Rule {
 public:
  LengthRangeRule(int64_t min, std::optional<int64_t> max, int64_t ramp, LengthUnit unit,
                  std::string name = "length_range");
  std::string name() const override { return name_; }
  double score(const RewardInput& input) const override;

 private:
  int64_t min_;
  std::optional<int64_t> max_;
  int64_t ramp_;
  LengthUnit unit_;
  std::string name_;
};

// Factories for the registry; std::invalid_argument names the rule and the option.
std::unique_ptr<Rule> make_overlong_rule(const nlohmann::json& options, const std::string& rule_name);
std::unique_ptr<Rule> make_length_range_rule(const nlohmann::json& options, const std::string& rule_name);

}  // namespace aha::rewards
