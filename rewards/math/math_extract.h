// Finding the final answer in a completion, and in a ground truth that may itself be a whole solution
// (MATH's "...so the answer is $\boxed{5}$.", GSM8K's "... #### 5", the model-solution files' "A: 5").
//
// Order, first hit wins:
//   1. The last complete <answer>...</answer> block (tags configurable) narrows the search to its content;
//      inside it the steps below run again, and if none hits the whole trimmed content is the answer.
//   2. The last \boxed{...} or \fbox{...} (nested braces balanced; "\boxed 5" takes the next token). Boxes
//      just before it (within 10 characters, or within 70 with "," / "and" / "or" between, at most three
//      words and a different content) are kept too, joined by ", ", as Math-Verify does for
//      "\boxed{1}, \boxed{2}". The word limit is ours: "\boxed{3}, then after checking we get \boxed{4}"
//      is a revision, and only 4 counts (Math-Verify would read the list 3, 4).
//   3. The rightmost of the phrases "final answer is", "the answer is", "answer is", "answer:", "####" and
//      a line starting "A:" (case-insensitive): the rest of that line, the inside of the first $...$ or
//      \(...\) on it if there is one, cut at the end of the sentence (". ", "I hope").
//   4. Only for completions, never for ground truths: the last $...$ / \(...\) / \[...\] formula or the
//      last number, whichever ends later (ExtractOptions::last_number_fallback; Math-Verify does the same
//      without an anchor). A ground truth without any marker is the answer as it stands.
// Bounded: only the last kMaxScan bytes of a text are searched (answers come at the end); the result is
// at most kMaxAnswer bytes. A completion whose answer cannot be read within those bounds has no answer and
// scores 0, with no fallback to a later phrase or number: an answer block or box that opens before the last
// kMaxScan bytes (and is the one step 1 or 2 would pick), or a box whose content (up to its closing brace,
// or to the end when it never closes) is longer than kMaxAnswer bytes. Never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aha::rewards::math {

inline constexpr size_t kMaxScan = 65536;
inline constexpr size_t kMaxAnswer = 4096;

struct ExtractOptions {
  std::string answer_open = "<answer>", answer_close = "</answer>";
  bool use_answer_tags = true;
  bool last_number_fallback = true;
};

enum class AnswerSource { AnswerTag, Boxed, Phrase, MathEnv, LastNumber, WholeText };

struct ExtractedAnswer {
  std::string text;
  AnswerSource source = AnswerSource::WholeText;
};

std::string_view source_name(AnswerSource source);

// The completion's final answer, or nullopt when nothing answer-like is found.
std::optional<ExtractedAnswer> extract_answer(std::string_view completion,
                                              const ExtractOptions& options = {});

// The ground truth's answer: steps 1-3 above, else the whole trimmed text.
std::string extract_reference(std::string_view truth, const ExtractOptions& options = {});

// The content of the last \boxed{...}/\fbox{...} (with the adjacent boxes rule above), or nullopt.
std::optional<std::string> last_boxed(std::string_view text);

}  // namespace aha::rewards::math
