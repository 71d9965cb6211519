// The code reward's harness (see code_harness.h): completion parsing, output comparison, and the three
// Python programs the sandbox runs (code/harness/*.py). The Python avoids imports beyond
// os/sys/builtins: every import is paid on every run (json alone costs more than the judge's own work).
#include "rewards/code/code_harness.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <span>
#include <vector>

#include "rewards/code/harness_python.h"  // generated in the build tree from code/harness/*.py

namespace aha::rewards {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_trailing_blanks(std::string_view line) {
  while (!line.empty() && (is_blank(line.back()) || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

struct Fence {
  std::string_view language;  // "" when untagged
  std::string_view body;
};

// ``` fences that open at the start of a line (after optional indentation).
std::vector<Fence> fenced_blocks(std::string_view text) {
  std::vector<Fence> blocks;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("```", pos);
    if (open == std::string_view::npos) break;
    size_t line_start = open;
    while (line_start > 0 && is_blank(text[line_start - 1])) --line_start;
    if (line_start > 0 && text[line_start - 1] != '\n') {
      pos = open + 3;
      continue;
    }
    const size_t eol = text.find('\n', open);
    if (eol == std::string_view::npos) break;
    std::string_view language = trim_trailing_blanks(text.substr(open + 3, eol - open - 3));
    while (!language.empty() && is_blank(language.front())) language.remove_prefix(1);
    // The closing fence also starts its line (after optional indentation, which is not the body's).
    size_t close = text.find("```", eol + 1), body_end = text.size();
    for (; close != std::string_view::npos; close = text.find("```", close + 3)) {
      size_t s = close;
      while (s > eol + 1 && is_blank(text[s - 1])) --s;
      if (s == eol + 1 || text[s - 1] == '\n') {
        body_end = s;
        break;
      }
    }
    blocks.push_back({language, text.substr(eol + 1, body_end - eol - 1)});
    if (close == std::string_view::npos) break;
    pos = close + 3;
  }
  return blocks;
}

bool is_python_tag(std::string_view language) {
  return language.empty() || language == "python" || language == "py" || language == "python3" ||
         language == "Python";
}

bool parse_number(std::string_view token, double& value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  return error == std::errc() && end == token.data() + token.size() && std::isfinite(value);
}

std::vector<std::string_view> split_tokens(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (is_blank(line[i]) || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && !is_blank(line[j]) && line[j] != '\r') ++j;
    if (j > i) tokens.push_back(line.substr(i, j - i));
    i = j;
  }
  return tokens;
}

std::vector<std::string_view> significant_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(trim_trailing_blanks(text.substr(start, end - start)));
    start = end + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace

std::string extract_code(std::string_view completion, std::string_view entry_point) {
  const std::vector<Fence> blocks = fenced_blocks(completion);
  if (blocks.empty()) return std::string(completion);
  if (!entry_point.empty())
    for (const Fence& b : blocks)
      if (is_python_tag(b.language) && defines_function(b.body, entry_point)) return std::string(b.body);
  for (const Fence& b : blocks)
    if (is_python_tag(b.language)) return std::string(b.body);
  return std::string(blocks.front().body);
}

bool defines_function(std::string_view code, std::string_view name) {
  size_t start = 0;
  while (start < code.size()) {
    const size_t end = std::min(code.find('\n', start), code.size());
    std::string_view line = code.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("async ")) {
      line.remove_prefix(6);
      while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    }
    if (!line.starts_with("def ")) continue;
    line.remove_prefix(4);
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    if (!line.starts_with(name)) continue;
    line.remove_prefix(name.size());
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    if (line.starts_with("(")) return true;
  }
  return false;
}

std::string humaneval_program(std::string_view prompt, std::string_view code, std::string_view entry_point) {
  if (!prompt.empty() && code.starts_with(prompt)) return std::string(code);  // the completion repeats the prompt
  std::string program(prompt);
  if (defines_function(code, entry_point)) program += '\n';
  program += code;
  return program;
}

bool outputs_match(std::string_view got, std::string_view expected, double float_tolerance) {
  const std::vector<std::string_view> a = significant_lines(got), b = significant_lines(expected);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (!(float_tolerance > 0)) return false;
    const std::vector<std::string_view> ta = split_tokens(a[i]), tb = split_tokens(b[i]);
    if (ta.size() != tb.size()) return false;
    for (size_t k = 0; k < ta.size(); ++k) {
      if (ta[k] == tb[k]) continue;
      double x = 0, y = 0;
      if (!parse_number(ta[k], x) || !parse_number(tb[k], y)) return false;
      if (!(std::fabs(x - y) <= float_tolerance * std::max(1.0, std::fabs(y)))) return false;
    }
  }
  return true;
}

std::string frame_fields(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (std::string_view f : fields) {
    out += std::to_string(f.size());
    out += '\n';
    out += f;
  }
  return out;
}

// ---- Python ----
// The programs are code/harness/*.py, embedded by the build (code/embed_harness.cmake): codec.py, the
// value codec both sides share, then judge.py or candidate.py; stdio.py alone.

namespace {

std::string embedded(std::span<const unsigned char> program) {
  return {program.begin(), program.end()};
}

}  // namespace

const std::string& judge_source() {
  static const std::string source = embedded(kCodecPy) + embedded(kJudgePy);
  return source;
}
const std::string& candidate_source() {
  static const std::string source = embedded(kCodecPy) + embedded(kCandidatePy);
  return source;
}
const std::string& stdio_source() {
  static const std::string source = embedded(kStdioPy);
  return source;
}

}  // namespace aha::rewards
