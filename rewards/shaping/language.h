// Language consistency: the share of letters written in the target script(s),
//   score = letters in a target script / letters of any listed script      (0 when there are no letters)
// DeepSeek-R1 (arXiv 2501.12948, §2.3.3) rewards "the proportion of target language words in the CoT" to
// stop language mixing; this counts letters rather than words, so it needs no word segmenter and treats
// unspaced Chinese and spaced English alike. What a letter is, and which script it belongs to, is the
// block table of unicode_script.h; digits, punctuation, symbols and emoji are not letters, so "x = 42"
// inside Chinese reasoning costs only the one Latin letter. Invalid UTF-8 bytes are skipped.
// The four tag strings are removed before counting (the default tags are Latin words).
//
// Options: script (a name from unicode_script.h or an array of them, required, e.g. "latin", "cjk",
// ["han", "kana"]); scope: "completion" (default) or "think" (the content of the first
// think_open...think_close block, as R1 scores the CoT; no complete block scores 0); think_open,
// think_close, answer_open, answer_close as in tags.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rewards/rule.h"
#include "rewards/shaping/unicode_script.h"
#include "rewards/tags.h"

namespace aha::rewards {

// The formula above on raw text (no tag removal, no scope).
double script_share(std::string_view text, const std::vector<Script>& target);

class LanguageRule final : public Rule {
 public:
  enum class Scope { completion, think };
  LanguageRule(std::vector<Script> target, Scope scope = Scope::completion, Tags tags = {},
               std::string name = "language");
  std::string name() const override { return name_; }
  double score(const RewardInput& input) const override;

 private:
  std::vector<Script> target_;
  Scope scope_;
  Tags tags_;
  std::string name_;
};

std::unique_ptr<Rule> make_language_rule(const nlohmann::json& options, const std::string& rule_name);

}  // namespace aha::rewards
