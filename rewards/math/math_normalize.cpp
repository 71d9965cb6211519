// Answer normalisation: LaTeX noise out, whitespace collapsed (see math_normalize.h).
#include "rewards/math/math_normalize.h"
#include "rewards/ascii.h"

#include <array>
#include <utility>

namespace aha::rewards::math {
namespace {

constexpr char kThousands = kThousandsSeparator;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit = s.find(from); hit != std::string::npos; hit = s.find(from, pos)) {
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos);
  s = std::move(out);
}

// Replaces the command \name (not when it is the prefix of a longer command, \left vs \leftarrow).
void replace_command(std::string& s, std::string_view name, std::string_view to) {
  if (s.find(name) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit = s.find(name); hit != std::string::npos; hit = s.find(name, pos)) {
    const size_t end = hit + name.size();
    const bool whole = end >= s.size() || !is_letter(s[end]) || !is_letter(name.back());
    out.append(s, pos, hit - pos);
    if (whole) {
      out.append(to);
    } else {
      out.append(name);
    }
    pos = end;
  }
  out.append(s, pos);
  s = std::move(out);
}

// Index just past the brace group opening at s[open] == '{', or npos if unbalanced.
size_t skip_group(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

// "\pmod{7}" and the like vanish with their argument.
void remove_command_with_group(std::string& s, std::string_view name) {
  for (size_t hit = s.find(name); hit != std::string::npos; hit = s.find(name, hit)) {
    size_t open = hit + name.size();
    while (open < s.size() && s[open] == ' ') ++open;
    const size_t end = open < s.size() && s[open] == '{' ? skip_group(s, open) : std::string::npos;
    if (end == std::string::npos) {
      s.erase(hit, name.size());
    } else {
      s.erase(hit, end - hit);
    }
  }
}

// "\text{ and }" / "\mbox{or}" -> ","; the words "and"/"or" between items -> "," (eating a comma before
// them, so "1, 2, and 3" becomes "1, 2, 3").
void replace_conjunctions(std::string& s) {
  for (std::string_view command : {"\\text{", "\\mbox{", "\\textrm{"}) {
    for (size_t hit = s.find(command); hit != std::string::npos; hit = s.find(command, hit + 1)) {
      const size_t end = skip_group(s, hit + command.size() - 1);
      if (end == std::string::npos) break;
      std::string word;
      for (size_t i = hit + command.size(); i + 1 < end; ++i)
        if (!is_space(s[i])) word.push_back(lower(s[i]));
      if (word == "and" || word == "or") s.replace(hit, end - hit, " and ");
    }
  }
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    if (s.compare(i, 3, "and") == 0) len = 3;
    if (s.compare(i, 2, "or") == 0) len = 2;
    const bool boundary_before = i == 0 || (!is_letter(s[i - 1]) && s[i - 1] != '\\');
    const bool boundary_after = i + len >= s.size() || !is_letter(s[i + len]);
    if (len > 0 && boundary_before && boundary_after && i > 0) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      if (!out.empty() && out.back() == ',') out.pop_back();
      out.push_back(',');
      i += len;
      continue;
    }
    out.push_back(s[i++]);
  }
  s = std::move(out);
}

// The spacing commands \! \, \; \: "\ " and "~" become nothing (\!) or a space; a "\\" row separator
// is kept whole, so "\\ 0" is not read as "\" + "\ ".
void remove_spacing(std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '~') {
      out.push_back(' ');
    } else if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[i + 1];
      if (c == '!') {
        ++i;
      } else if (c == ',' || c == ';' || c == ':' || c == ' ') {
        out.push_back(' ');
        ++i;
      } else {
        out.push_back(s[i]);
        out.push_back(c);
        ++i;
      }
    } else {
      out.push_back(s[i]);
    }
  }
  s = std::move(out);
}

// "50 percent", "\text{percent}", "pct" -> "50%" (as Math-Verify's normaliser does).
void replace_percent_words(std::string& s) {
  for (std::string_view text : {"\\text{percent}", "\\text{ percent}", "\\%"}) replace_all(s, text, "%");
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    for (std::string_view word : {"percentage", "percent", "pct"}) {
      if (s.compare(i, word.size(), word) == 0) {
        len = word.size();
        break;
      }
    }
    const bool boundary =
        len > 0 && (i == 0 || !is_letter(s[i - 1])) && (i + len >= s.size() || !is_letter(s[i + len]));
    if (boundary) {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out.push_back('%');
      i += len;
      continue;
    }
    out.push_back(s[i++]);
  }
  s = std::move(out);
}

}  // namespace

std::string normalize_answer(std::string_view answer) {
  std::string s(answer.substr(0, 16384));  // far past ParseLimits::max_chars; bounds the work here
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kUnicode = {{
      {"\u2212", "-"},
      {"\u00d7", "\\times "},
      {"\u00f7", "\\div "},
      {"\u00b7", "\\cdot "},
      {"\u22c5", "\\cdot "},
      {"\u221a", "\\sqrt"},
      {"\u03c0", "\\pi "},
      {"\u221e", "\\infty "},
      {"\u2264", "\\le "},
      {"\u2265", "\\ge "},
      {"\u2260", "\\ne "},
      {"\u00b1", "\\pm "},
      {"\u222a", "\\cup "},
      {"\u00b0", ""},
      {"\u00a0", " "},
      {"\u2013", "-"},
      {"\u2061", ""},
  }};
  for (const auto& [from, to] : kUnicode) replace_all(s, from, to);

  // A doubled backslash before a command is an escaping accident ("\\frac"); inside matrices "\\" is
  // the row separator and may be followed by a letter.
  if (s.find("matrix") == std::string::npos && s.find("array") == std::string::npos) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 2 < s.size() && s[i + 1] == '\\' && is_letter(s[i + 2])) continue;
      out.push_back(s[i]);
    }
    s = std::move(out);
  }

  // Thousands separators before the spacing commands go (",\!" would otherwise become a list comma).
  for (size_t hit = s.find(",\\!"); hit != std::string::npos; hit = s.find(",\\!", hit)) {
    size_t end = hit + 3;
    while (end < s.size() && s[end] == ' ') ++end;
    s.replace(hit, end - hit, std::string(1, kThousands));
  }
  replace_all(s, "{,}", std::string(1, kThousands));
  // A thin space between digit groups is a separator too: "1\,000".
  for (size_t hit = s.find("\\,"); hit != std::string::npos; hit = s.find("\\,", hit + 1)) {
    const bool digits_around = hit > 0 && is_digit(s[hit - 1]) && hit + 5 <= s.size() &&
                               is_digit(s[hit + 2]) && is_digit(s[hit + 3]) && is_digit(s[hit + 4]) &&
                               (hit + 5 == s.size() || !is_digit(s[hit + 5]));
    if (digits_around) s.replace(hit, 2, std::string(1, kThousands));
  }

  remove_spacing(s);
  for (std::string_view name : {"\\quad", "\\qquad"}) replace_command(s, name, " ");
  for (std::string_view name : {"\\displaystyle", "\\textstyle", "\\limits", "\\nolimits"})
    replace_command(s, name, "");
  replace_all(s, "\\left.", "");
  replace_all(s, "\\right.", "");
  for (std::string_view name : {"\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\biggl",
                                "\\biggr", "\\Biggl", "\\Biggr", "\\big", "\\Big", "\\bigg", "\\Bigg"})
    replace_command(s, name, "");
  replace_all(s, "\\$", "");
  replace_all(s, "$", "");
  for (std::string_view delimiter : {"\\(", "\\)", "\\[", "\\]"}) replace_all(s, delimiter, " ");
  for (std::string_view name : {"\\dfrac", "\\tfrac", "\\cfrac"}) replace_command(s, name, "\\frac");
  for (std::string_view name : {"\\dbinom", "\\tbinom"}) replace_command(s, name, "\\binom");
  for (std::string_view degree : {"^{\\circ}", "^\\circ", "^{\\degree}", "\\degree"})
    replace_all(s, degree, "");
  replace_command(s, "\\circ", "");
  replace_all(s, "\\%", "%");
  if (const size_t approx = s.find("\\approx"); approx != std::string::npos && approx > 0) s.erase(approx);
  remove_command_with_group(s, "\\pmod");
  for (std::string_view name : {"\\ldots", "\\cdots", "\\dots", "\\dotsc", "\\dotsb"})
    replace_command(s, name, "");
  for (std::string_view empty : {"\\text{}", "\\text{ }", "\\mbox{}", "\\mathrm{}"})
    replace_all(s, empty, "");
  replace_conjunctions(s);
  replace_percent_words(s);

  // Whitespace collapsed; trailing sentence punctuation and stray backslashes or commas dropped.
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '.' || out.back() == '\\' || out.back() == ','))
    out.pop_back();
  size_t first = 0;
  while (first < out.size() && out[first] == ' ') ++first;
  return out.substr(first);
}

}  // namespace aha::rewards::math
