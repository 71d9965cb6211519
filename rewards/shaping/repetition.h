// N-gram repetition penalty, as open-r1's repetition_penalty reward (get_repetition_penalty_reward, from
// "Demystifying Long Chain-of-Thought Reasoning in LLMs", arXiv 2502.03373, appendix C.2):
//   words  = the completion lower-cased and split on whitespace
//   ngrams = the len(words) - n + 1 windows of n consecutive words
//   r      = 1 - distinct(ngrams) / len(ngrams)               (0 = no repeats, -> 1 = one phrase looped)
//   score  = max_penalty * r                                   (0 when there are fewer than n words)
// Added here: a threshold t in [0, 1) below which repetition is free, rescaled so the penalty still
// reaches max_penalty at r = 1:  score = max_penalty * max(0, r - t) / (1 - t).  t = 0 is open-r1.
// Differs from open-r1 in that lower-casing and whitespace are ASCII only (Python's str.lower/split also
// fold non-ASCII letters and split on Unicode spaces); open-r1's optional jieba split for Chinese is not
// reproduced, so unspaced CJK text is few long "words" and rarely penalised.
//
// Options: n (integer >= 1, default 3), max_penalty (number <= 0, default -1), threshold (number in
// [0, 1), default 0).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "rewards/rule.h"

namespace aha::rewards {

// r above: the fraction of n-gram windows that repeat an earlier one.
double repeated_ngram_fraction(std::string_view text, size_t n);

class RepetitionRule final : public Rule {
 public:
  RepetitionRule(size_t n = 3, double max_penalty = -1.0, double threshold = 0.0,
                 std::string name = "repetition");
  std::string name() const override { return name_; }
  double score(const RewardInput& input) const override;

 private:
  size_t n_;
  double max_penalty_, threshold_;
  std::string name_;
};

std::unique_ptr<Rule> make_repetition_rule(const nlohmann::json& options, const std::string& rule_name);

}  // namespace aha::rewards
