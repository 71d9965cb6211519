// The format rule (see format.h).
#include "rewards/format.h"

namespace aha::rewards {

double FormatRule::score(const RewardInput& input) const {
  const std::string_view text = trim_whitespace(input.completion);
  for (const std::string* tag :
       {&tags_.think_open, &tags_.think_close, &tags_.answer_open, &tags_.answer_close})
    if (count_occurrences(text, *tag) != 1) return 0.0;
  if (!text.starts_with(tags_.think_open) || !text.ends_with(tags_.answer_close)) return 0.0;

  const size_t think_close = text.find(tags_.think_close);
  const size_t after_think = think_close + tags_.think_close.size();
  const size_t answer_open = text.find(tags_.answer_open);
  const size_t answer_begin = answer_open + tags_.answer_open.size();
  const size_t answer_end = text.size() - tags_.answer_close.size();
  // Order checks also reject tags that overlap each other (possible only with custom tags).
  if (think_close < tags_.think_open.size() || answer_open < after_think || answer_begin > answer_end)
    return 0.0;
  if (!is_all_whitespace(text.substr(after_think, answer_open - after_think))) return 0.0;
  if (is_all_whitespace(text.substr(answer_begin, answer_end - answer_begin))) return 0.0;
  return 1.0;
}

}  // namespace aha::rewards
