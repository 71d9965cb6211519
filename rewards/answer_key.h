// The final answer a checker reads from a completion, as a key that majority voting (maj@k, the
// self-consistency of Wang et al. 2022 that DeepSeek-R1 reports as cons@64) can group by. Each key reads
// the completion exactly as its rule does, with the rule's options, so a sample votes for the answer it
// was graded on:
//   accuracy  the last <answer> block's integer in canonical form ("+060" -> "60")
//   math      the extracted answer text (math/math_extract.h); two answers are the same when the math rule's
//             equivalence holds with the group's first answer as gold ("\frac{1}{2}" and "0.5" vote
//             together)
//   gsm8k     the final number as an exact rational ("1,000.00" -> "1000", "7/2")
//   integer   (= aime) the exact value of a number without variables ("027", "\frac{54}{2}" -> "27");
//             non-integers vote too (a wrong answer is still an answer), non-numbers do not
// Rules without a single answer to vote on (code: a program passes or not; format, shaping, external
// rules) have no key: make_answer_key returns nullptr and maj@k is not reported for them.
// A completion without an extractable answer has no key (nullopt) and does not vote. Never throws on
// model output.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rewards/rule.h"

namespace aha::rewards {

class AnswerKey {
 public:
  virtual ~AnswerKey() = default;
  // The completion's answer in the rule's canonical form, or nullopt when it gives none.
  virtual std::optional<std::string> canonical(std::string_view completion) const = 0;
  // Whether `other` votes with the group whose first answer is `representative`. Exact match unless the
  // rule has its own equivalence (math).
  virtual bool same(const std::string& representative, const std::string& other) const {
    return representative == other;
  }
};

// The key of the rule `spec` names, with its options (already accepted by make_rule); nullptr when the
// rule has no answer to vote on (see above).
std::unique_ptr<AnswerKey> make_answer_key(const RuleSpec& spec);

}  // namespace aha::rewards
