// Final-answer extraction (see math_extract.h).
#include "rewards/math/math_extract.h"
#include "rewards/ascii.h"

#include <algorithm>
#include <deque>
#include <vector>

namespace aha::rewards::math {
namespace {


std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct Box {
  size_t start = 0;  // of "\boxed"
  size_t end = 0;    // one past the closing brace (or the token)
  std::string_view content;
};

// The last \boxed / \fbox that starts before `limit`.
std::optional<Box> box_before(std::string_view text, size_t limit) {
  while (limit > 0) {
    const size_t boxed = text.rfind("\\boxed", limit - 1);
    const size_t fbox = text.rfind("\\fbox", limit - 1);
    size_t start;
    size_t command;
    if (boxed != std::string_view::npos && (fbox == std::string_view::npos || boxed > fbox)) {
      start = boxed;
      command = 6;
    } else if (fbox != std::string_view::npos) {
      start = fbox;
      command = 5;
    } else {
      return std::nullopt;
    }
    size_t i = start + command;
    while (i < text.size() && is_space(text[i])) ++i;
    Box box;
    box.start = start;
    if (i < text.size() && text[i] == '{') {
      int depth = 0;
      size_t j = i;
      for (; j < text.size(); ++j) {
        if (text[j] == '\\' && j + 1 < text.size()) {  // \{ and \} do not nest
          ++j;
          continue;
        }
        if (text[j] == '{') ++depth;
        if (text[j] == '}' && --depth == 0) break;
      }
      if (j < text.size()) {
        box.content = trim(text.substr(i + 1, j - i - 1));
        box.end = j + 1;
      } else {  // unclosed: the rest of the text, as Math-Verify does
        box.content = trim(text.substr(i + 1));
        box.end = text.size();
      }
      return box;
    }
    if (i > start + command && i < text.size()) {  // "\boxed 5": the next token
      size_t j = i;
      while (j < text.size() && !is_space(text[j]) && text[j] != '$') ++j;
      box.content = text.substr(i, j - i);
      box.end = j;
      if (!box.content.empty()) return box;
    }
    limit = start;  // "\boxed" with no argument (or "\boxedx"): look further back
  }
  return std::nullopt;
}

// At most `limit` words of letters: "and", "or", ", y = " are list glue; "then after checking again we
// get" is a revision, whose earlier box must not join the answer.
bool few_words(std::string_view between, int limit) {
  int words = 0;
  for (size_t i = 0; i < between.size(); ++i)
    if (is_letter(between[i]) && (i == 0 || !is_letter(between[i - 1])) && ++words > limit) return false;
  return true;
}

bool has_separator(std::string_view between) {
  if (between.find(',') != std::string_view::npos || between.find(';') != std::string_view::npos) return true;
  const std::string low = lowercase(between);
  for (std::string_view word : {"and", "or"}) {
    for (size_t hit = low.find(word); hit != std::string::npos; hit = low.find(word, hit + 1)) {
      const bool before = hit == 0 || !is_letter(low[hit - 1]);
      const bool after = hit + word.size() >= low.size() || !is_letter(low[hit + word.size()]);
      if (before && after) return true;
    }
  }
  return false;
}

// The content of the first $...$, \(...\) or \[...\] in a line, if any.
std::optional<std::string_view> first_math_env(std::string_view line) {
  const size_t dollar = line.find('$');
  const size_t paren = line.find("\\(");
  const size_t bracket = line.find("\\[");
  const size_t first = std::min({dollar, paren, bracket});
  if (first == std::string_view::npos) return std::nullopt;
  if (first == dollar) {
    size_t open = dollar;
    while (open < line.size() && line[open] == '$') ++open;
    const size_t close = line.find('$', open);
    if (close == std::string_view::npos) return trim(line.substr(open));
    return trim(line.substr(open, close - open));
  }
  const std::string_view closer = first == paren ? "\\)" : "\\]";
  const size_t close = line.find(closer, first + 2);
  if (close == std::string_view::npos) return trim(line.substr(first + 2));
  return trim(line.substr(first + 2, close - first - 2));
}

// After a phrase like "the answer is": the rest of the line, narrowed to the answer itself.
std::string_view answer_after(std::string_view text, size_t from) {
  size_t i = from;
  while (i < text.size() && (is_space(text[i]) || text[i] == ':' || text[i] == '*')) ++i;
  size_t end = text.find('\n', i);
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(i, std::min<size_t>(end - i, 512));
  if (const std::optional<std::string_view> math = first_math_env(line)) return *math;
  for (std::string_view stop : {". ", "I hope", " I hope"}) {
    const size_t cut = line.find(stop);
    if (cut != std::string_view::npos) line = line.substr(0, cut);
  }
  line = trim(line);
  while (!line.empty() && (line.back() == '.' || line.back() == '*')) line.remove_suffix(1);
  return trim(line);
}

// The rightmost answer phrase, or nullopt.
std::optional<std::string_view> phrase_answer(std::string_view text) {
  const std::string low = lowercase(text);
  size_t best_end = std::string_view::npos;
  for (std::string_view phrase : {"final answer is", "the answer is", "answer is", "answer:", "####"}) {
    const size_t hit = low.rfind(phrase);
    if (hit == std::string::npos) continue;
    const size_t end = hit + phrase.size();
    if (best_end == std::string_view::npos || end > best_end) best_end = end;
  }
  // "A: 18" at the start of a line (the GSM8K model-solution format).
  size_t line_a = low.rfind("\na:");
  if (line_a != std::string::npos) {
    line_a += 3;
  } else if (low.compare(0, 2, "a:") == 0) {
    line_a = 2;
  }
  if (line_a != std::string::npos && (best_end == std::string_view::npos || line_a > best_end))
    best_end = line_a;
  if (best_end == std::string_view::npos) return std::nullopt;
  const std::string_view answer = answer_after(text, best_end);
  if (answer.empty()) return std::nullopt;
  return answer;
}

struct Span {
  size_t end = 0;
  std::string_view text;
};

// The last $...$ / $$...$$ / \(...\) / \[...\] formula.
std::optional<Span> last_math_env(std::string_view text) {
  std::optional<Span> best;
  // Dollars: the last unescaped "$" closes, the one before it opens ($$ pairs are read as one).
  std::vector<size_t> dollars;
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '$' && (i == 0 || text[i - 1] != '\\')) dollars.push_back(i);
  if (dollars.size() >= 2) {
    size_t k = dollars.size() - 1;
    while (k > 0 && dollars[k - 1] + 1 == dollars[k]) --k;  // "$$" closer
    const size_t close = dollars[k];
    if (k > 0) {
      const size_t content = dollars[k - 1] + 1;
      const std::string_view inside = trim(text.substr(content, close - content));
      if (!inside.empty()) best = Span{dollars.back() + 1, inside};
    }
  }
  for (auto [open, close] : {std::pair<std::string_view, std::string_view>{"\\(", "\\)"}, {"\\[", "\\]"}}) {
    const size_t c = text.rfind(close);
    if (c == std::string_view::npos) continue;
    const size_t o = text.rfind(open, c);
    if (o == std::string_view::npos) continue;
    const std::string_view inside = trim(text.substr(o + 2, c - o - 2));
    if (!inside.empty() && (!best || c + 2 > best->end)) best = Span{c + 2, inside};
  }
  return best;
}

// The last number: "-1,234.5", ".5", "3/4".
std::optional<Span> last_number(std::string_view text) {
  size_t i = text.size();
  while (i > 0 && !is_digit(text[i - 1])) --i;
  if (i == 0) return std::nullopt;
  const size_t end = i;
  size_t start = i;
  auto extend_left = [&](size_t from) {
    size_t s = from;
    while (s > 0) {
      const char c = text[s - 1];
      if (is_digit(c)) {
        --s;
      } else if ((c == ',' || c == '.') && s >= 2 && is_digit(text[s - 2])) {
        --s;
      } else {
        break;
      }
    }
    if (s > 0 && text[s - 1] == '.') --s;  // ".5"
    return s;
  };
  start = extend_left(end);
  if (start >= 2 && text[start - 1] == '/' && is_digit(text[start - 2])) start = extend_left(start - 1);
  if (start > 0 && text[start - 1] == '-') --start;
  return Span{end, text.substr(start, end - start)};
}

// Steps 2 and 3 of the header, on one scope.
std::optional<ExtractedAnswer> marked_answer(std::string_view scope) {
  if (std::optional<std::string> boxed = last_boxed(scope))
    return ExtractedAnswer{std::move(*boxed), AnswerSource::Boxed};
  if (std::optional<std::string_view> phrase = phrase_answer(scope))
    return ExtractedAnswer{std::string(*phrase), AnswerSource::Phrase};
  return std::nullopt;
}

std::string_view scanned(std::string_view text) {
  return text.size() > kMaxScan ? text.substr(text.size() - kMaxScan) : text;
}

// The content of the last complete answer block.
std::optional<std::string_view> answer_block(std::string_view text, const ExtractOptions& options) {
  if (!options.use_answer_tags || options.answer_open.empty() || options.answer_close.empty())
    return std::nullopt;
  const size_t close = text.rfind(options.answer_close);
  if (close == std::string_view::npos) return std::nullopt;
  const size_t open = text.substr(0, close).rfind(options.answer_open);
  if (open == std::string_view::npos) return std::nullopt;
  const size_t begin = open + options.answer_open.size();
  if (begin > close) return std::nullopt;
  return trim(text.substr(begin, close - begin));
}

std::optional<ExtractedAnswer> bounded(std::optional<ExtractedAnswer> answer) {
  if (!answer || answer->text.size() > kMaxAnswer || trim(answer->text).empty()) return std::nullopt;
  return answer;
}

}  // namespace

std::string_view source_name(AnswerSource source) {
  switch (source) {
    case AnswerSource::AnswerTag:
      return "answer_tag";
    case AnswerSource::Boxed:
      return "boxed";
    case AnswerSource::Phrase:
      return "phrase";
    case AnswerSource::MathEnv:
      return "math_env";
    case AnswerSource::LastNumber:
      return "last_number";
    case AnswerSource::WholeText:
      return "whole_text";
  }
  return "unknown";
}

std::optional<std::string> last_boxed(std::string_view text) {
  std::optional<Box> box = box_before(text, text.size());
  if (!box) return std::nullopt;
  std::deque<std::string_view> contents{box->content};
  while (contents.size() < 8) {
    const std::optional<Box> previous = box_before(text, box->start);
    if (!previous || previous->end > box->start) break;
    const std::string_view between = text.substr(previous->end, box->start - previous->end);
    const bool near = between.size() < 10;
    const bool listed = between.size() < 70 && previous->content != contents.front() &&
                        has_separator(between) && few_words(between, 3);
    if (!near && !listed) break;
    if (previous->content != contents.front()) contents.push_front(previous->content);
    box = previous;
  }
  std::string joined;
  for (std::string_view content : contents) {
    if (!joined.empty()) joined += ", ";
    joined += content;
  }
  return joined;
}

std::optional<ExtractedAnswer> extract_answer(std::string_view completion, const ExtractOptions& options) {
  const std::string_view text = scanned(completion);
  if (const std::optional<std::string_view> block = answer_block(text, options)) {
    if (std::optional<ExtractedAnswer> inner = marked_answer(*block)) return bounded(std::move(inner));
    return bounded(ExtractedAnswer{std::string(*block), AnswerSource::AnswerTag});
  }
  if (text.size() < completion.size()) {
    // The answer block or box that steps 1-2 would pick on the whole completion opens before the scanned
    // tail (an "<answer>...</answer>" or a "\boxed{x+x+...+42}" longer than kMaxScan bytes). What the tail
    // shows of it (the trailing 42) is not what the model marked: no answer, and no phrase or last number
    // either.
    const size_t tail_start = completion.size() - text.size();
    if (answer_block(completion, options)) return std::nullopt;
    if (!box_before(text, text.size()) && box_before(completion, tail_start)) return std::nullopt;
  }
  if (std::optional<ExtractedAnswer> marked = marked_answer(text)) return bounded(std::move(marked));
  if (!options.last_number_fallback) return std::nullopt;
  const std::optional<Span> formula = last_math_env(text);
  const std::optional<Span> number = last_number(text);
  if (formula && (!number || formula->end >= number->end))
    return bounded(ExtractedAnswer{std::string(formula->text), AnswerSource::MathEnv});
  if (number) return bounded(ExtractedAnswer{std::string(number->text), AnswerSource::LastNumber});
  return std::nullopt;
}

std::string extract_reference(std::string_view truth, const ExtractOptions& options) {
  const std::string_view text = scanned(truth);
  if (const std::optional<std::string_view> block = answer_block(text, options)) {
    if (std::optional<ExtractedAnswer> inner = marked_answer(*block)) return inner->text;
    return std::string(*block);
  }
  if (std::optional<ExtractedAnswer> marked = marked_answer(text)) return marked->text;
  return std::string(trim(truth));
}

}  // namespace aha::rewards::math
