// The integer accuracy rule (see accuracy.h).
#include "rewards/accuracy.h"

#include <stdexcept>

namespace aha::rewards {

std::optional<std::string_view> last_answer_block(std::string_view completion, const Tags& tags) {
  const size_t close = completion.rfind(tags.answer_close);
  if (close == std::string_view::npos) return std::nullopt;
  const size_t open = completion.substr(0, close).rfind(tags.answer_open);
  if (open == std::string_view::npos) return std::nullopt;
  const size_t begin = open + tags.answer_open.size();
  if (begin > close) return std::nullopt;  // the two tags overlap (only possible with custom tags)
  return trim_whitespace(completion.substr(begin, close - begin));
}

std::optional<std::string> canonical_integer(std::string_view text) {
  text = trim_whitespace(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  // Compared as digit strings, so there is no overflow at any length.
  const size_t first_nonzero = text.find_first_not_of('0');
  if (first_nonzero == std::string_view::npos) return "0";
  std::string canonical = negative ? "-" : "";  // built by append: GCC 12's -Wrestrict misfires on "-" + s
  canonical.append(text.substr(first_nonzero));
  return canonical;
}

double AccuracyRule::score(const RewardInput& input) const {
  const std::optional<std::string> truth = canonical_integer(input.answer);
  if (!truth)
    throw std::invalid_argument("accuracy: ground truth '" + input.answer +
                                "' is not an integer; this rule compares integers only");
  const std::optional<std::string_view> block = last_answer_block(input.completion, tags_);
  if (!block) return 0.0;
  const std::optional<std::string> given = canonical_integer(*block);
  return given && *given == *truth ? 1.0 : 0.0;
}

}  // namespace aha::rewards
