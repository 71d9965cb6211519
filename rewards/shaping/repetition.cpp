// N-gram repetition penalty (see repetition.h).
#include "rewards/shaping/repetition.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "rewards/rule_options.h"

namespace aha::rewards {
namespace {

bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

double repeated_ngram_fraction(std::string_view text, size_t n) {
  // The words, lower-cased and joined by single spaces, so that an n-gram is one substring of `joined`
  // and equal n-grams are equal substrings whatever whitespace separated them in the text.
  std::string joined;
  std::vector<size_t> word_begin, word_end;
  for (size_t i = 0; i < text.size();) {
    if (is_ascii_whitespace(text[i])) {
      ++i;
      continue;
    }
    if (!joined.empty()) joined += ' ';
    word_begin.push_back(joined.size());
    for (; i < text.size() && !is_ascii_whitespace(text[i]); ++i)
      joined += (text[i] >= 'A' && text[i] <= 'Z') ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    word_end.push_back(joined.size());
  }
  if (n == 0 || word_begin.size() < n) return 0.0;
  const size_t windows = word_begin.size() - n + 1;
  std::unordered_set<std::string_view> distinct;
  distinct.reserve(windows);
  const std::string_view all = joined;
  for (size_t i = 0; i < windows; ++i)
    distinct.insert(all.substr(word_begin[i], word_end[i + n - 1] - word_begin[i]));
  return 1.0 - static_cast<double>(distinct.size()) / static_cast<double>(windows);
}

RepetitionRule::RepetitionRule(size_t n, double max_penalty, double threshold, std::string name)
    : n_(n), max_penalty_(max_penalty), threshold_(threshold), name_(std::move(name)) {}

double RepetitionRule::score(const RewardInput& input) const {
  const double r = repeated_ngram_fraction(input.completion, n_);
  if (r <= threshold_) return 0.0;  // not max_penalty * 0, which is -0.0 and logs as "-0"
  return max_penalty_ * (r - threshold_) / (1.0 - threshold_);
}

std::unique_ptr<Rule> make_repetition_rule(const nlohmann::json& options, const std::string& rule_name) {
  const RuleOptions o(options, rule_name, {"n", "max_penalty", "threshold"});
  const double max_penalty = o.number("max_penalty", -1.0);
  if (max_penalty > 0)
    throw o.error("max_penalty", "must be <= 0 (it is a penalty), got " + o.raw("max_penalty").dump());
  const double threshold = o.number("threshold", 0.0);
  if (threshold < 0 || threshold >= 1)
    throw o.error("threshold", "must be in [0, 1), got " + o.raw("threshold").dump());
  return std::make_unique<RepetitionRule>(static_cast<size_t>(o.integer("n", 3, 1)), max_penalty, threshold,
                                          rule_name);
}

}  // namespace aha::rewards
