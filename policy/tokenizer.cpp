// Byte-level BPE tokenizer (see tokenizer.h for what is supported). The pipeline mirrors HF `tokenizers`
// step for step so that ids are bit-exact:
//   1. added tokens are cut out of the text: non-normalized tokens from the raw text, then each remaining
//      piece is normalized (NFC, if the file asks for it) and normalized tokens are cut out of that;
//   2. every remaining segment runs through the pre-tokenizer steps (Split / Digits / ByteLevel);
//   3. every pre-token is merged by BPE with HF's exact priority-queue order (rank, then position);
//   4. decode maps tokens back through the ByteLevel byte table and repairs invalid UTF-8 like
//      Rust's String::from_utf8_lossy.
// HF compiles its regexes with Oniguruma; we use RE2, so patterns are translated (Unicode \s \d \w, \uXXXX)
// and the lookahead alternative `\s+(?!\S)` is run by hand, because RE2 has no lookaround.
#include "policy/tokenizer.h"

#include <re2/re2.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

#include "policy/unicode_nfc.h"

namespace aha::policy {
namespace {

using json = nlohmann::json;
struct Span {
  size_t begin = 0, end = 0;
};

// ---------------------------------------------------------------------------------------------------
// UTF-8

// Byte length of the character at s[i]; an invalid sequence counts as one byte so scans always advance.
size_t char_len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

// Code point at s[i] (length from char_len); invalid bytes decode to a value no predicate accepts.
uint32_t code_point(std::string_view s, size_t i, size_t len) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (len == 1) return c < 0x80 ? c : 0xFFFFFFFFu;
  uint32_t cp = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

// Unicode White_Space: what Oniguruma's and Rust's `\s` match (checked against HF over U+0000..U+3000).
bool is_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

void append_code_point(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Rust's String::from_utf8_lossy: each maximal ill-formed subpart becomes one U+FFFD (Unicode 3.9,
// "substitution of maximal subparts"), so partial characters decode exactly as HF decodes them.
std::string utf8_lossy(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c == 0xE0) {
      need = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      need = 2;
    } else if (c == 0xED) {
      need = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      need = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      need = 3;
    } else if (c == 0xF4) {
      need = 3, hi = 0x8F;
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t k = 1;
    for (; k <= need && i + k < s.size(); ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) break;
    }
    if (k == need + 1) {
      out.append(s.substr(i, need + 1));
    } else {
      out += kReplacement;
    }
    i += k;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The GPT-2 byte <-> printable character table (HF bytes_char): printable Latin-1 bytes map to
// themselves, the other 68 bytes to U+0100.. in byte order.
struct ByteTable {
  std::array<std::string, 256> byte_to_char;  // UTF-8 of the stand-in character
  std::array<int, 512> char_to_byte;          // stand-in code point -> byte, -1 if none
};

const ByteTable& byte_table() {
  static const ByteTable table = [] {
    ByteTable t;
    t.char_to_byte.fill(-1);
    uint32_t extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : 256 + extra++;
      append_code_point(t.byte_to_char[b], cp);
      t.char_to_byte[cp] = b;
    }
    return t;
  }();
  return table;
}

// Bytes of one token under the ByteLevel decoder: every character must be a stand-in, otherwise (an added
// token such as "<｜end▁of▁sentence｜>") the token's own UTF-8 is used, as HF does.
std::string byte_level_decode_token(std::string_view token) {
  const ByteTable& t = byte_table();
  std::string out;
  for (size_t i = 0; i < token.size();) {
    const size_t len = char_len(token, i);
    const uint32_t cp = code_point(token, i, len);
    if (cp >= t.char_to_byte.size() || t.char_to_byte[cp] < 0) return std::string(token);
    out += static_cast<char>(t.char_to_byte[cp]);
    i += len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Regexes: Oniguruma syntax (what tokenizer.json holds) run on RE2.

// Oniguruma's Unicode \s and \w, as RE2 class bodies (RE2's own \s and \w are ASCII-only).
constexpr std::string_view kSpaceBody =
    "\\t\\n\\v\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";
constexpr std::string_view kWordBody = "\\p{L}\\p{M}\\p{N}\\p{Pc}";
// The only lookaround real byte-level tokenizers use: trailing whitespace that leaves the last space to
// the next word.
constexpr std::string_view kSpaceLookahead = "\\s+(?!\\S)";

// Top-level alternatives of an Oniguruma pattern ('|' outside groups and classes).
std::vector<std::string> split_alternatives(std::string_view p) {
  std::vector<std::string> alts(1);
  int depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      alts.back() += p.substr(i, 2);
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      alts.back() += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < p.size() && p[i + 1] == '^') alts.back() += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') alts.back() += p[++i];
      continue;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      alts.emplace_back();
      continue;
    }
    alts.back() += c;
  }
  return alts;
}

// Translates one alternative from Oniguruma to RE2 syntax; throws std::invalid_argument saying why not.
std::string onig_to_re2(std::string_view p) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) throw std::invalid_argument("pattern ends with a backslash");
      const char e = p[++i];
      switch (e) {
        case 's':
          out += in_class ? std::string(kSpaceBody) : "[" + std::string(kSpaceBody) + "]";
          break;
        case 'w':
          out += in_class ? std::string(kWordBody) : "[" + std::string(kWordBody) + "]";
          break;
        case 'S':
        case 'W':
          if (in_class) throw std::invalid_argument(std::string("\\") + e + " inside [...] is unsupported");
          out += "[^" + std::string(e == 'S' ? kSpaceBody : kWordBody) + "]";
          break;
        case 'd':
          out += "\\p{Nd}";
          break;
        case 'D':
          out += "\\P{Nd}";
          break;
        case 'h':
          out += in_class ? "0-9a-fA-F" : "[0-9a-fA-F]";
          break;
        case 'u': {
          if (i + 4 >= p.size() || !std::all_of(p.begin() + i + 1, p.begin() + i + 5,
                                                [](char h) { return std::isxdigit(h) != 0; })) {
            throw std::invalid_argument("\\u must be followed by 4 hex digits");
          }
          out += "\\x{" + std::string(p.substr(i + 1, 4)) + "}";
          i += 4;
          break;
        }
        default:  // \p{..} \P{..} \x.. \t \r \n and escaped punctuation mean the same in RE2
          out += '\\';
          out += e;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') {
        in_class = false;
      } else if (c == '[') {
        if (i + 1 < p.size() && p[i + 1] == ':') {  // POSIX bracket [:alpha:], same in RE2
          const size_t close = p.find(":]", i + 2);
          if (close == std::string_view::npos) throw std::invalid_argument("unterminated [: in a class");
          out += p.substr(i, close + 2 - i);
          i = close + 1;
          continue;
        }
        throw std::invalid_argument("nested character classes are unsupported");
      } else if (c == '&' && i + 1 < p.size() && p[i + 1] == '&') {
        throw std::invalid_argument("class intersection && is unsupported");
      }
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') {
        out += "\\]";
        ++i;
      }
      continue;
    }
    if (c == '(' && i + 2 < p.size() && p[i + 1] == '?' &&
        (p[i + 2] == '=' || p[i + 2] == '!' || p[i + 2] == '>' ||
         (p[i + 2] == '<' && i + 3 < p.size() && (p[i + 3] == '=' || p[i + 3] == '!')))) {
      throw std::invalid_argument(
          "lookaround and atomic groups are unsupported (RE2); only the whole "
          "alternative \\s+(?!\\S) is emulated");
    }
    out += c;
  }
  return out;
}

std::unique_ptr<RE2> compile_re2(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);  // Unicode classes in alternations need more DFA room than the 8 MiB default
  auto re = std::make_unique<RE2>(pattern, options);
  if (!re->ok()) throw std::invalid_argument("RE2 rejects it: " + re->error());
  return re;
}

// "(?i)"-style groups set flags up to the end of the enclosing group, which cutting a pattern into its
// alternatives would change.
bool has_inline_flag_group(std::string_view alt) {
  for (size_t i = alt.find("(?"); i != std::string_view::npos; i = alt.find("(?", i + 1)) {
    size_t j = i + 2;
    while (j < alt.size() && (std::isalpha(static_cast<unsigned char>(alt[j])) || alt[j] == '-')) ++j;
    if (j > i + 2 && j < alt.size() && alt[j] == ')') return true;
  }
  return false;
}

void append_alternative(std::string& alternation, const std::string& re) {
  if (!alternation.empty()) alternation += '|';
  alternation.append("(?:").append(re).append(")");
}

// A compiled pattern with Oniguruma's leftmost-first semantics, including `\s+(?!\S)` alternatives.
class Pattern {
 public:
  static Pattern onig(std::string_view pattern) {
    Pattern p;
    std::vector<std::string> alts = split_alternatives(pattern);
    bool has_lookahead = false;
    std::string whole, group;
    auto flush_group = [&] {
      if (!group.empty()) p.segments_.push_back(compile_re2(group));
      group.clear();
    };
    for (const std::string& alt : alts) {
      const bool lookahead = alt == kSpaceLookahead;
      // The lookahead alternative is a subset of `\s+`, so `whole` (with it widened to `\s+`) finds every
      // start position the real pattern can match at, plus some that find() then rejects.
      const std::string re = lookahead ? onig_to_re2("\\s+") : onig_to_re2(alt);
      append_alternative(whole, re);
      if (lookahead) {
        has_lookahead = true;
        flush_group();
        p.segments_.push_back(nullptr);
      } else {
        append_alternative(group, re);
      }
    }
    flush_group();
    if (!has_lookahead) {
      // Compiled as written, so that a leading inline flag such as (?i) keeps covering every alternative.
      p.segments_.clear();
      p.whole_ = compile_re2(onig_to_re2(pattern));
      return p;
    }
    for (const std::string& alt : alts) {
      if (has_inline_flag_group(alt)) {
        throw std::invalid_argument(
            "an inline flag group like (?i) next to \\s+(?!\\S) is unsupported; "
            "scope it as (?i:...)");
      }
    }
    p.whole_ = compile_re2(whole);
    return p;
  }

  static Pattern literal(std::string_view s) {
    Pattern p;
    p.whole_ = compile_re2(RE2::QuoteMeta(re2::StringPiece(s.data(), s.size())));
    return p;
  }

  // The match Oniguruma's search would return when starting at `from`.
  std::optional<Span> find(std::string_view text, size_t from) const {
    const re2::StringPiece sp(text.data(), text.size());
    re2::StringPiece m;
    while (from <= text.size()) {
      if (!whole_->Match(sp, from, text.size(), RE2::UNANCHORED, &m, 1)) return std::nullopt;
      const size_t start = static_cast<size_t>(m.data() - text.data());
      if (segments_.empty()) return Span{start, start + m.size()};
      for (const auto& segment : segments_) {
        if (segment == nullptr) {
          if (auto s = space_lookahead(text, start)) return s;
        } else if (segment->Match(sp, start, text.size(), RE2::ANCHOR_START, &m, 1)) {
          return Span{start, start + m.size()};
        }
      }
      from = start + (start < text.size() ? char_len(text, start) : 1);
    }
    return std::nullopt;
  }

 private:
  // `\s+(?!\S)` at `start`: the whole whitespace run if it ends the text, else the run minus its last
  // character (what backtracking would give), else no match.
  static std::optional<Span> space_lookahead(std::string_view text, size_t start) {
    size_t end = start, last = start, count = 0;
    while (end < text.size()) {
      const size_t len = char_len(text, end);
      if (!is_space(code_point(text, end, len))) break;
      last = end;
      end += len;
      ++count;
    }
    if (count == 0) return std::nullopt;
    if (end == text.size()) return Span{start, end};
    if (count >= 2) return Span{start, last};
    return std::nullopt;
  }

  std::unique_ptr<RE2> whole_;
  std::vector<std::unique_ptr<RE2>> segments_;  // nullptr = the lookahead alternative; empty = none
};

// ---------------------------------------------------------------------------------------------------
// Pre-tokenizer steps.

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct SplitStep {
  Pattern pattern;
  Behavior behavior;
  bool invert;
};
struct ByteLevelStep {
  bool add_prefix_space;
  bool use_regex;
};
using PreTokenizerStep = std::variant<SplitStep, ByteLevelStep>;

const Pattern& gpt2_pattern() {
  static const Pattern p =
      Pattern::onig("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
  return p;
}

// HF Pattern::find_matches over an onig FindMatches iterator: the text cut into (span, is_match) runs.
std::vector<std::pair<Span, bool>> find_matches(const Pattern& pattern, std::string_view s) {
  std::vector<std::pair<Span, bool>> out;
  size_t prev = 0, search_from = 0;
  std::optional<size_t> last_match_end;
  while (search_from <= s.size()) {
    const std::optional<Span> m = pattern.find(s, search_from);
    if (!m) break;
    if (m->begin == m->end && last_match_end == m->end) {
      // onig's iterator never accepts an empty match right after the previous match.
      search_from += search_from < s.size() ? char_len(s, search_from) : 1;
      continue;
    }
    search_from = m->end;
    last_match_end = m->end;
    if (prev != m->begin) out.push_back({{prev, m->begin}, false});
    out.push_back({*m, true});
    prev = m->end;
  }
  if (prev != s.size()) out.push_back({{prev, s.size()}, false});
  return out;
}

// HF NormalizedString::split: the spans to keep for one behaviour (empty ones are dropped by the caller).
std::vector<Span> apply_behavior(const std::vector<std::pair<Span, bool>>& matches, Behavior behavior) {
  std::vector<Span> out;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::kIsolated:
      for (const auto& [span, is_match] : matches) out.push_back(span);
      break;
    case Behavior::kRemoved:
      for (const auto& [span, is_match] : matches) {
        if (!is_match) out.push_back(span);
      }
      break;
    case Behavior::kContiguous:
      for (const auto& [span, is_match] : matches) {
        if (is_match == previous_match && !out.empty()) {
          out.back().end = span.end;
        } else {
          out.push_back(span);
        }
        previous_match = is_match;
      }
      break;
    case Behavior::kMergedWithPrevious:
      for (const auto& [span, is_match] : matches) {
        if (is_match && !previous_match && !out.empty()) {
          out.back().end = span.end;
        } else {
          out.push_back(span);
        }
        previous_match = is_match;
      }
      break;
    case Behavior::kMergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->second && !previous_match && !out.empty()) {
          out.back().begin = it->first.begin;
        } else {
          out.push_back(it->first);
        }
        previous_match = it->second;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  return out;
}

void split_into(const Pattern& pattern, Behavior behavior, bool invert, const std::string& piece,
                std::vector<std::string>& out) {
  std::vector<std::pair<Span, bool>> matches = find_matches(pattern, piece);
  if (invert) {
    for (auto& m : matches) m.second = !m.second;
  }
  for (const Span& span : apply_behavior(matches, behavior)) {
    if (span.end > span.begin) out.emplace_back(piece, span.begin, span.end - span.begin);
  }
}

std::vector<std::string> run_step(const PreTokenizerStep& step, std::vector<std::string> pieces) {
  std::vector<std::string> out;
  if (const auto* split = std::get_if<SplitStep>(&step)) {
    for (const std::string& piece : pieces)
      split_into(split->pattern, split->behavior, split->invert, piece, out);
    return out;
  }
  const auto& byte_level = std::get<ByteLevelStep>(step);
  std::vector<std::string> words;
  for (std::string& piece : pieces) {
    if (byte_level.add_prefix_space && piece.front() != ' ') piece.insert(piece.begin(), ' ');
    if (byte_level.use_regex) {
      split_into(gpt2_pattern(), Behavior::kIsolated, false, piece, words);
    } else {
      words.push_back(std::move(piece));
    }
  }
  const ByteTable& table = byte_table();
  for (const std::string& word : words) {
    std::string mapped;
    mapped.reserve(word.size() * 2);
    for (const char b : word) mapped += table.byte_to_char[static_cast<unsigned char>(b)];
    out.push_back(std::move(mapped));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Added tokens: a byte trie searched leftmost-longest, like HF's Aho-Corasick automaton.

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

class AddedTokenMatcher {
 public:
  void add(const std::string& content, size_t token_index) {
    if (nodes_.empty()) nodes_.emplace_back();
    int node = 0;
    for (const char c : content) {
      auto& next = nodes_[node].next;
      auto it = std::find_if(next.begin(), next.end(), [&](const auto& e) { return e.first == c; });
      if (it == next.end()) {
        const int child = static_cast<int>(nodes_.size());
        nodes_[node].next.emplace_back(c, child);
        nodes_.emplace_back();
        node = child;
      } else {
        node = it->second;
      }
    }
    nodes_[node].token = static_cast<int64_t>(token_index);
  }
  bool empty() const { return nodes_.empty(); }

  struct Found {
    Span span;
    size_t token_index;
  };
  std::optional<Found> find(std::string_view s, size_t from) const {
    if (nodes_.empty()) return std::nullopt;
    for (size_t start = from; start < s.size(); ++start) {
      int node = 0;
      std::optional<Found> best;
      for (size_t i = start; i < s.size(); ++i) {
        const auto& next = nodes_[node].next;
        auto it = std::find_if(next.begin(), next.end(), [&](const auto& e) { return e.first == s[i]; });
        if (it == next.end()) break;
        node = it->second;
        if (nodes_[node].token >= 0) best = Found{{start, i + 1}, static_cast<size_t>(nodes_[node].token)};
      }
      if (best) return best;
    }
    return std::nullopt;
  }

 private:
  struct Node {
    std::vector<std::pair<char, int>> next;
    int64_t token = -1;
  };
  std::vector<Node> nodes_;
};

// Rust regex `\w` (Unicode), used only to decide single_word added tokens.
bool is_word_char(std::string_view ch) {
  static const RE2 word("[\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]");
  return RE2::FullMatch(re2::StringPiece(ch.data(), ch.size()), word);
}

// Start of the last (up to 4-byte) character of a non-empty string.
size_t last_char_start(std::string_view s) {
  size_t i = s.size() - 1;
  for (int back = 0; back < 3 && i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; ++back) --i;
  return i;
}

// ---------------------------------------------------------------------------------------------------
// BPE merge (HF Word::merge_all, including its order of merges and stale-entry rule).

struct MergeRule {
  uint32_t rank;
  int64_t new_id;
};
uint64_t pair_key(int64_t a, int64_t b) {
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
}

}  // namespace

struct Tokenizer::Impl {
  std::string file;  // for error messages raised after loading
  std::vector<AddedToken> added;
  AddedTokenMatcher raw_matcher, normalized_matcher;
  std::unordered_map<std::string, int64_t> added_by_content;
  bool nfc = false;  // the normalizer: NFC or nothing
  std::vector<PreTokenizerStep> steps;
  int byte_level_decoders = 1;

  std::unordered_map<std::string, int64_t> vocab;
  std::unordered_map<uint64_t, MergeRule> merges;
  std::optional<int64_t> unk_id;
  bool fuse_unk = false, ignore_merges = false;

  int64_t size = 0;
  std::vector<std::string> token_bytes;  // id -> bytes after the first ByteLevel decoder
  std::vector<uint8_t> known, special;   // id -> in some vocabulary / is a special token

  static constexpr size_t kCacheCapacity = 10000, kCacheMaxWordBytes = 256;  // HF's defaults
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;

  void split_added(std::string_view text, const AddedTokenMatcher& matcher,
                   std::vector<std::pair<std::string_view, int64_t>>& out) const;
  void bpe(const std::string& word, std::vector<int64_t>& ids) const;
  std::vector<int64_t> merge_word(const std::string& word) const;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const;
};

// HF AddedVocabulary::find_matches on one segment: cut out added tokens, honouring single_word, lstrip,
// rstrip. Pieces are (text, id) with id -1 for ordinary text.
void Tokenizer::Impl::split_added(std::string_view text, const AddedTokenMatcher& matcher,
                                  std::vector<std::pair<std::string_view, int64_t>>& out) const {
  size_t start_offset = 0, search_from = 0;
  while (auto found = matcher.find(text, search_from)) {
    size_t start = found->span.begin, stop = found->span.end;
    search_from = stop;
    const AddedToken& token = added[found->token_index];
    if (token.single_word) {
      const std::string_view before = text.substr(0, start);
      const bool start_space = start == 0 || !is_word_char(before.substr(last_char_start(before)));
      const bool stop_space = stop == text.size() || !is_word_char(text.substr(stop, char_len(text, stop)));
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip) {
      size_t new_start = start;
      while (new_start > start_offset) {
        const size_t prev = last_char_start(text.substr(0, new_start));
        if (!is_space(code_point(text, prev, char_len(text, prev)))) break;
        new_start = prev;
      }
      start = new_start;
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        const size_t len = char_len(text, stop);
        if (!is_space(code_point(text, stop, len))) break;
        stop += len;
      }
      search_from = stop;
    }
    if (start_offset < start) out.emplace_back(text.substr(start_offset, start - start_offset), -1);
    out.emplace_back(text.substr(start, stop - start), token.id);
    start_offset = stop;
  }
  if (start_offset < text.size()) out.emplace_back(text.substr(start_offset), -1);
}

std::vector<int64_t> Tokenizer::Impl::merge_word(const std::string& word) const {
  struct Symbol {
    int64_t c;
    int64_t prev, next;
    size_t len;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](int64_t id, size_t len) {
    const auto n = static_cast<int64_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, len});
  };
  size_t pending_unk_len = 0;  // bytes of unknown characters waiting to become one (fused) unk token
  for (size_t i = 0; i < word.size();) {
    const size_t len = char_len(word, i);
    const auto it = vocab.find(word.substr(i, len));
    if (it != vocab.end()) {
      if (pending_unk_len > 0) add(*unk_id, pending_unk_len), pending_unk_len = 0;
      add(it->second, len);
    } else if (unk_id) {
      if (pending_unk_len > 0 && !fuse_unk) add(*unk_id, pending_unk_len), pending_unk_len = 0;
      pending_unk_len += len;
    } else {
      // HF silently drops such a character; a missing byte token means a broken vocab, so say so.
      throw std::runtime_error(file + ": model.vocab has no token for '" + word.substr(i, len) +
                               "' and model.unk_token is null; a byte-level vocab needs all 256 byte tokens");
    }
    i += len;
  }
  if (pending_unk_len > 0) add(*unk_id, pending_unk_len);

  struct Merge {
    size_t pos;
    uint32_t rank;
    int64_t new_id;
  };
  // Lowest rank first, then leftmost position: HF's min-heap order.
  auto later = [](const Merge& a, const Merge& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::priority_queue<Merge, std::vector<Merge>, decltype(later)> queue(later);
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    const auto it = merges.find(pair_key(symbols[i].c, symbols[i + 1].c));
    if (it != merges.end()) queue.push({i, it->second.rank, it->second.new_id});
  }
  while (!queue.empty()) {
    const Merge top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next == -1) continue;
    const auto next_pos = static_cast<size_t>(left.next);
    const Symbol right = symbols[next_pos];
    // A queue entry is stale when the pair at its position has changed since it was pushed.
    const auto now = merges.find(pair_key(left.c, right.c));
    if (now == merges.end() || now->second.new_id != top.new_id) continue;
    left.c = top.new_id;
    left.len += right.len;
    left.next = right.next;
    symbols[next_pos].len = 0;
    if (right.next >= 0 && static_cast<size_t>(right.next) < symbols.size()) {
      symbols[static_cast<size_t>(right.next)].prev = static_cast<int64_t>(top.pos);
    }
    if (left.prev >= 0) {
      const auto it = merges.find(pair_key(symbols[static_cast<size_t>(left.prev)].c, left.c));
      if (it != merges.end())
        queue.push({static_cast<size_t>(left.prev), it->second.rank, it->second.new_id});
    }
    if (left.next >= 0 && static_cast<size_t>(left.next) < symbols.size()) {
      const auto it = merges.find(pair_key(left.c, symbols[static_cast<size_t>(left.next)].c));
      if (it != merges.end()) queue.push({top.pos, it->second.rank, it->second.new_id});
    }
  }
  std::vector<int64_t> ids;
  for (const Symbol& s : symbols) {
    if (s.len != 0) ids.push_back(s.c);
  }
  return ids;
}

void Tokenizer::Impl::bpe(const std::string& word, std::vector<int64_t>& ids) const {
  if (ignore_merges) {
    if (const auto it = vocab.find(word); it != vocab.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() < kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (const auto it = cache.find(word); it != cache.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> merged = merge_word(word);
  ids.insert(ids.end(), merged.begin(), merged.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() < kCacheCapacity) cache.emplace(word, std::move(merged));
  }
}

std::string Tokenizer::Impl::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string bytes;
  for (const int64_t id : ids) {
    if (id < 0 || id >= size || !known[static_cast<size_t>(id)]) continue;
    if (skip_special && special[static_cast<size_t>(id)]) continue;
    bytes += token_bytes[static_cast<size_t>(id)];
  }
  std::string text = utf8_lossy(bytes);
  // Further ByteLevel decoders in a Sequence re-map the already decoded text, as HF chains them.
  for (int i = 1; i < byte_level_decoders; ++i) text = utf8_lossy(byte_level_decode_token(text));
  return text;
}

// ---------------------------------------------------------------------------------------------------
// Loading.

namespace {

std::string short_dump(const json& j) {
  std::string s = j.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

struct Loader {
  std::string file;

  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw std::runtime_error(file + ": " + field + ": " + message);
  }
  const json& require(const json& obj, const std::string& key, const std::string& field) const {
    const auto it = obj.find(key);
    if (it == obj.end()) fail(field + "." + key, "missing");
    return *it;
  }
  std::string string_field(const json& obj, const std::string& key, const std::string& field) const {
    const json& v = require(obj, key, field);
    if (!v.is_string()) fail(field + "." + key, "expected a string, got " + short_dump(v));
    return v.get<std::string>();
  }
  bool bool_field(const json& obj, const std::string& key, const std::string& field,
                  std::optional<bool> fallback) const {
    const auto it = obj.find(key);
    if (it == obj.end() || (it->is_null() && fallback)) {
      if (!fallback) fail(field + "." + key, "missing");
      return *fallback;
    }
    if (!it->is_boolean()) fail(field + "." + key, "expected true or false, got " + short_dump(*it));
    return it->get<bool>();
  }
  std::string type_of(const json& obj, const std::string& field) const {
    if (!obj.is_object()) fail(field, "expected an object, got " + short_dump(obj));
    return string_field(obj, "type", field);
  }

  void pre_tokenizer(const json& j, const std::string& field, std::vector<PreTokenizerStep>& steps) const {
    static const std::string kSupported = "supported: Sequence, Split, ByteLevel, Digits";
    if (j.is_null()) return;
    const std::string type = type_of(j, field);
    if (type == "Sequence") {
      const json& list = require(j, "pretokenizers", field);
      if (!list.is_array()) fail(field + ".pretokenizers", "expected an array");
      for (size_t i = 0; i < list.size(); ++i) {
        pre_tokenizer(list[i], field + ".pretokenizers[" + std::to_string(i) + "]", steps);
      }
    } else if (type == "Split") {
      steps.emplace_back(split(j, field));
    } else if (type == "ByteLevel") {
      steps.emplace_back(ByteLevelStep{bool_field(j, "add_prefix_space", field, true),
                                       bool_field(j, "use_regex", field, true)});
    } else if (type == "Digits") {
      // HF splits on char::is_numeric (= \p{N}); Contiguous over one-character matches is \p{N}+ Isolated.
      const bool individual = bool_field(j, "individual_digits", field, false);
      steps.emplace_back(
          SplitStep{Pattern::onig(individual ? "\\p{N}" : "\\p{N}+"), Behavior::kIsolated, false});
    } else {
      fail(field + ".type", "'" + type + "' is unsupported; " + kSupported);
    }
  }

  SplitStep split(const json& j, const std::string& field) const {
    const json& pattern = require(j, "pattern", field);
    const std::string pfield = field + ".pattern";
    if (!pattern.is_object() || pattern.size() != 1 || !pattern.begin().value().is_string() ||
        (!pattern.contains("Regex") && !pattern.contains("String"))) {
      fail(pfield, "expected {\"Regex\": \"...\"} or {\"String\": \"...\"}, got " + short_dump(pattern));
    }
    const std::string text = pattern.begin().value().get<std::string>();
    std::optional<Pattern> compiled;
    try {
      compiled = pattern.contains("Regex") ? Pattern::onig(text) : Pattern::literal(text);
    } catch (const std::invalid_argument& e) {
      fail(pfield + "." + pattern.begin().key(), "cannot use pattern " + short_dump(text) + ": " + e.what());
    }
    static const std::unordered_map<std::string, Behavior> kBehaviors = {
        {"Removed", Behavior::kRemoved},
        {"Isolated", Behavior::kIsolated},
        {"MergedWithPrevious", Behavior::kMergedWithPrevious},
        {"MergedWithNext", Behavior::kMergedWithNext},
        {"Contiguous", Behavior::kContiguous}};
    const std::string behavior = string_field(j, "behavior", field);
    const auto it = kBehaviors.find(behavior);
    if (it == kBehaviors.end()) {
      fail(field + ".behavior", "'" + behavior +
                                    "' is unsupported; supported: Removed, Isolated, MergedWithPrevious, "
                                    "MergedWithNext, Contiguous");
    }
    return SplitStep{std::move(*compiled), it->second, bool_field(j, "invert", field, std::nullopt)};
  }

  int decoder(const json& j, const std::string& field) const {
    static const std::string kSupported = "supported: ByteLevel or a Sequence of ByteLevel";
    if (j.is_null()) fail(field, "null is unsupported; " + kSupported);
    const std::string type = type_of(j, field);
    if (type == "ByteLevel") return 1;
    if (type != "Sequence") fail(field + ".type", "'" + type + "' is unsupported; " + kSupported);
    const json& list = require(j, "decoders", field);
    if (!list.is_array() || list.empty()) fail(field + ".decoders", "expected a non-empty array");
    int count = 0;
    for (size_t i = 0; i < list.size(); ++i)
      count += decoder(list[i], field + ".decoders[" + std::to_string(i) + "]");
    return count;
  }

  void post_processor(const json& j, const std::string& field) const {
    if (j.is_null()) return;
    const std::string type = type_of(j, field);
    if (type == "ByteLevel" || type == "TemplateProcessing") return;
    if (type == "Sequence") {
      const json& list = require(j, "processors", field);
      if (!list.is_array()) fail(field + ".processors", "expected an array");
      for (size_t i = 0; i < list.size(); ++i)
        post_processor(list[i], field + ".processors[" + std::to_string(i) + "]");
      return;
    }
    fail(field + ".type",
         "'" + type + "' is unsupported; supported: null, ByteLevel, TemplateProcessing, Sequence");
  }

  // Sets impl.nfc. NFC is idempotent, so any Sequence of NFCs (an empty one too: DeepSeek-V3 ships that)
  // is NFC or nothing.
  void normalizer(const json& j, const std::string& field, Tokenizer::Impl& impl) const {
    if (j.is_null()) return;
    const std::string type = type_of(j, field);
    if (type == "NFC") {
      impl.nfc = true;
      return;
    }
    if (type == "Sequence") {
      const json& list = require(j, "normalizers", field);
      if (!list.is_array()) fail(field + ".normalizers", "expected an array");
      for (size_t i = 0; i < list.size(); ++i) {
        normalizer(list[i], field + ".normalizers[" + std::to_string(i) + "]", impl);
      }
      return;
    }
    fail(field + ".type", "'" + type + "' is unsupported; supported: null, NFC, Sequence of those");
  }

  int64_t id_value(const json& v, const std::string& field) const {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      fail(field, "expected a token id (integer 0..2^31-1), got " + short_dump(v));
    }
    return v.get<int64_t>();
  }

  void model(const json& j, Tokenizer::Impl& impl) const {
    const std::string field = "model";
    const std::string type = type_of(j, field);
    if (type != "BPE") fail("model.type", "'" + type + "' is unsupported; supported: BPE");
    if (j.contains("dropout") && !j["dropout"].is_null() &&
        !(j["dropout"].is_number() && j["dropout"].get<double>() == 0.0)) {
      fail("model.dropout",
           "BPE dropout is unsupported (must be null or 0), got " + short_dump(j["dropout"]));
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (j.contains(key) && !j[key].is_null() && j[key] != "") {
        fail(std::string("model.") + key,
             "unsupported for byte-level BPE (must be null), got " + short_dump(j[key]));
      }
    }
    if (bool_field(j, "byte_fallback", field, false)) {
      fail("model.byte_fallback", "true is unsupported; byte-level BPE has a token for every byte");
    }
    impl.fuse_unk = bool_field(j, "fuse_unk", field, false);
    impl.ignore_merges = bool_field(j, "ignore_merges", field, false);

    const json& vocab = require(j, "vocab", field);
    if (!vocab.is_object()) fail("model.vocab", "expected an object {token: id}");
    std::unordered_map<int64_t, std::string> seen;
    for (const auto& [token, id_json] : vocab.items()) {
      const int64_t id = id_value(id_json, "model.vocab[" + short_dump(token) + "]");
      if (const auto [it, fresh] = seen.emplace(id, token); !fresh) {
        fail("model.vocab", "id " + std::to_string(id) + " is used by both " + short_dump(it->second) +
                                " and " + short_dump(token));
      }
      impl.vocab.emplace(token, id);
    }
    if (j.contains("unk_token") && !j["unk_token"].is_null()) {
      const std::string unk = string_field(j, "unk_token", field);
      const auto it = impl.vocab.find(unk);
      if (it == impl.vocab.end()) fail("model.unk_token", short_dump(unk) + " is not in model.vocab");
      impl.unk_id = it->second;
    }

    const json& merges = require(j, "merges", field);
    if (!merges.is_array()) fail("model.merges", "expected an array");
    uint32_t rank = 0;
    for (size_t i = 0; i < merges.size(); ++i) {
      const json& m = merges[i];
      const std::string mfield = "model.merges[" + std::to_string(i) + "]";
      std::string a, b;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        if (s.rfind("#version", 0) == 0) continue;  // header line of a legacy merges.txt
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
          fail(mfield, "is not a pair; expected [\"a\",\"b\"] or \"a b\", got " + short_dump(m));
        }
        a = s.substr(0, space), b = s.substr(space + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>(), b = m[1].get<std::string>();
      } else {
        fail(mfield, "is not a pair; expected [\"a\",\"b\"] or \"a b\", got " + short_dump(m));
      }
      auto lookup = [&](const std::string& token) {
        const auto it = impl.vocab.find(token);
        if (it == impl.vocab.end()) fail(mfield, "token " + short_dump(token) + " is not in model.vocab");
        return it->second;
      };
      const int64_t a_id = lookup(a), b_id = lookup(b), new_id = lookup(a + b);
      // A repeated pair keeps its last rank, as HF's HashMap collect does.
      impl.merges[pair_key(a_id, b_id)] = MergeRule{rank++, new_id};
    }
  }

  void added_tokens(const json& j, Tokenizer::Impl& impl) const {
    if (j.is_null()) return;
    if (!j.is_array()) fail("added_tokens", "expected an array");
    for (size_t i = 0; i < j.size(); ++i) {
      const std::string field = "added_tokens[" + std::to_string(i) + "]";
      if (!j[i].is_object()) fail(field, "expected an object");
      AddedToken t;
      t.content = string_field(j[i], "content", field);
      t.id = id_value(require(j[i], "id", field), field + ".id");
      t.special = bool_field(j[i], "special", field, false);
      t.single_word = bool_field(j[i], "single_word", field, false);
      t.lstrip = bool_field(j[i], "lstrip", field, false);
      t.rstrip = bool_field(j[i], "rstrip", field, false);
      t.normalized = bool_field(j[i], "normalized", field, !t.special);
      if (t.content.empty()) continue;  // HF ignores empty added tokens
      if (const auto it = impl.vocab.find(t.content); it != impl.vocab.end() && it->second != t.id) {
        fail(field + ".id", short_dump(t.content) + " has id " + std::to_string(t.id) + " here but " +
                                std::to_string(it->second) + " in model.vocab");
      }
      if (const auto [it, fresh] = impl.added_by_content.emplace(t.content, t.id);
          !fresh && it->second != t.id) {
        fail(field + ".id", short_dump(t.content) + " is listed twice with different ids");
      }
      impl.added.push_back(t);
    }
    // HF matches a normalized token by its normalized content, in the normalized text.
    for (size_t i = 0; i < impl.added.size(); ++i) {
      const AddedToken& t = impl.added[i];
      if (t.normalized) {
        impl.normalized_matcher.add(impl.nfc ? nfc(t.content) : t.content, i);
      } else {
        impl.raw_matcher.add(t.content, i);
      }
    }
  }
};

}  // namespace

std::string read_file_maybe_gzip(const std::filesystem::path& path, const std::string& what) {
  const std::string file = path.string();
  std::error_code ignored;
  gzFile in = std::filesystem::is_regular_file(path, ignored) ? gzopen(file.c_str(), "rb") : nullptr;
  if (in == nullptr) throw std::runtime_error(file + ": cannot open " + what);
  std::string text;
  std::array<char, 1 << 16> chunk;
  int got = 0;
  while ((got = gzread(in, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) {
    text.append(chunk.data(), static_cast<size_t>(got));
  }
  int error = Z_OK;
  const std::string message = got < 0 ? gzerror(in, &error) : "";
  gzclose(in);
  if (got < 0) throw std::runtime_error(file + ": cannot read " + what + " (gzip: " + message + ")");
  return text;
}

Tokenizer Tokenizer::load(const std::filesystem::path& tokenizer_json) {
  return load_from_string(read_file_maybe_gzip(tokenizer_json, "tokenizer file"), tokenizer_json.string());
}

Tokenizer Tokenizer::load_from_string(std::string_view json_text, const std::string& name_for_errors) {
  Loader loader{name_for_errors};
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse errors, and numbers out of range (1e400)
    throw std::runtime_error(loader.file + ": invalid JSON: " + e.what());
  }
  if (!root.is_object()) loader.fail("(root)", "expected a JSON object");

  auto impl = std::make_shared<Impl>();
  impl->file = loader.file;
  if (root.contains("version") && root["version"] != "1.0") {
    loader.fail("version", "expected \"1.0\", got " + short_dump(root["version"]));
  }
  for (const char* key : {"truncation", "padding"}) {
    if (root.contains(key) && !root[key].is_null()) {
      loader.fail(key, "must be null; aha never truncates or pads inside the tokenizer");
    }
  }
  loader.normalizer(root.value("normalizer", json()), "normalizer", *impl);
  loader.pre_tokenizer(root.value("pre_tokenizer", json()), "pre_tokenizer", impl->steps);
  if (std::none_of(impl->steps.begin(), impl->steps.end(),
                   [](const PreTokenizerStep& s) { return std::holds_alternative<ByteLevelStep>(s); })) {
    loader.fail("pre_tokenizer", "has no ByteLevel step; only byte-level BPE tokenizers are supported");
  }
  loader.model(loader.require(root, "model", "(root)"), *impl);
  loader.added_tokens(root.value("added_tokens", json()), *impl);
  impl->byte_level_decoders = loader.decoder(root.value("decoder", json()), "decoder");
  loader.post_processor(root.value("post_processor", json()), "post_processor");

  // Id tables: added tokens win over the model vocab for the same id, as HF's id_to_token does.
  int64_t max_id = -1;
  for (const auto& [token, id] : impl->vocab) max_id = std::max(max_id, id);
  for (const AddedToken& t : impl->added) max_id = std::max(max_id, t.id);
  // Ids index dense tables, so a tokenizer whose ids are mostly holes (one token with id 2^31 - 1) would
  // allocate gigabytes; real vocabularies are dense (a few added tokens past the model vocab at most).
  const int64_t tokens = static_cast<int64_t>(impl->vocab.size() + impl->added.size());
  if (max_id >= 2 * tokens + 4096)
    loader.fail("model.vocab", "token ids are sparse: the largest id is " + std::to_string(max_id) + " for " +
                                   std::to_string(tokens) + " tokens (expected ids below 2 x tokens + 4096)");
  impl->size = max_id + 1;
  const auto n = static_cast<size_t>(impl->size);
  std::vector<std::string> text(n);
  impl->known.assign(n, 0);
  impl->special.assign(n, 0);
  for (const auto& [token, id] : impl->vocab)
    text[static_cast<size_t>(id)] = token, impl->known[static_cast<size_t>(id)] = 1;
  std::unordered_set<std::string> special_contents;
  for (const AddedToken& t : impl->added) {
    text[static_cast<size_t>(t.id)] = t.content;
    impl->known[static_cast<size_t>(t.id)] = 1;
    if (t.special) special_contents.insert(t.content);
  }
  impl->token_bytes.resize(n);
  for (size_t id = 0; id < n; ++id) {
    impl->token_bytes[id] = byte_level_decode_token(text[id]);
    impl->special[id] = special_contents.count(text[id]) ? 1 : 0;
  }
  return Tokenizer(std::move(impl));
}

std::vector<int64_t> Tokenizer::encode(std::string_view text) const {
  std::vector<std::pair<std::string_view, int64_t>> segments, normalized_segments;
  impl_->split_added(text, impl_->raw_matcher, segments);
  std::deque<std::string> normalized_text;  // owns what normalized_segments point into; never reallocates
  for (const auto& [segment, id] : segments) {
    if (id >= 0) {
      normalized_segments.emplace_back(segment, id);
    } else if (impl_->nfc) {
      impl_->split_added(normalized_text.emplace_back(nfc(segment)), impl_->normalized_matcher,
                         normalized_segments);
    } else {
      impl_->split_added(segment, impl_->normalized_matcher, normalized_segments);
    }
  }
  std::vector<int64_t> ids;
  for (const auto& [segment, id] : normalized_segments) {
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    std::vector<std::string> pieces{std::string(segment)};
    for (const PreTokenizerStep& step : impl_->steps) pieces = run_step(step, std::move(pieces));
    for (const std::string& piece : pieces) impl_->bpe(piece, ids);
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  return impl_->decode(ids, skip_special);
}

std::string Tokenizer::token_text(int64_t id) const {
  if (id < 0 || id >= impl_->size || !impl_->known[static_cast<size_t>(id)]) {
    throw std::out_of_range(impl_->file + ": token id " + std::to_string(id) + " is in no vocabulary (size " +
                            std::to_string(impl_->size) + ")");
  }
  return impl_->decode({id}, false);
}

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  const std::string key(token);
  if (const auto it = impl_->added_by_content.find(key); it != impl_->added_by_content.end())
    return it->second;
  if (const auto it = impl_->vocab.find(key); it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

int64_t Tokenizer::vocab_size() const {
  return impl_->size;
}

}  // namespace aha::policy
