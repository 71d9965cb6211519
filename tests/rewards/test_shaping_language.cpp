// Tests for the UTF-8 decoder (the well-formedness table, one invalid byte at a time, never swallowing the
// next character) and the language-consistency rule on literal mixed-script text with hand-counted
// letters.
#include <catch2/catch.hpp>

#include "rewards/shaping/language.h"
#include "rewards/shaping/unicode_script.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

std::vector<char32_t> decode(std::string_view text) {
  std::vector<char32_t> out;
  for (size_t pos = 0; pos < text.size();) out.push_back(next_code_point(text, pos));
  return out;
}

constexpr char32_t X = kInvalidCodePoint;

double language(const nlohmann::json& options, const std::string& completion) {
  return make_language_rule(options, "language")->score(RewardInput{"prompt", completion, "answer"});
}

}  // namespace

TEST_CASE("utf-8 decoding of valid sequences of every length", "[shaping][utf8]") {
  CHECK(decode("a") == std::vector<char32_t>{'a'});
  CHECK(decode("é") == std::vector<char32_t>{0xE9});
  CHECK(decode("世") == std::vector<char32_t>{0x4E16});
  CHECK(decode("😀") == std::vector<char32_t>{0x1F600});
  CHECK(decode("\xf4\x8f\xbf\xbf") == std::vector<char32_t>{0x10FFFF});  // the last code point
  CHECK(decode("\xef\xbf\xbd") == std::vector<char32_t>{0xFFFD});
  CHECK(count_code_points("héllo 世界 😀") == 10);
}

TEST_CASE("utf-8 decoding rejects ill-formed input one byte at a time", "[shaping][utf8]") {
  const struct {
    const char* why;
    std::string bytes;
    std::vector<char32_t> expected;
  } rows[] = {
      {"lone continuation byte", "\x80", {X}},
      {"C0/C1 overlong two-byte lead", "\xc0\xaf", {X, X}},
      {"overlong three-byte form", "\xe0\x80\xaf", {X, X, X}},
      {"UTF-16 surrogate", "\xed\xa0\x80", {X, X, X}},
      {"above U+10FFFF", "\xf4\x90\x80\x80", {X, X, X, X}},
      {"F5 lead", "\xf5\x80", {X, X}},
      {"truncated at the end (cut at the token limit)", "ab\xf0\x9f\x98", {'a', 'b', X, X, X}},
      {"truncated before a valid character",
       "\xe4\xb8"
       "a",
       {X, X, 'a'}},
      {"bad byte does not swallow the next character", "\xff\xc3\xa9", {X, 0xE9}},
      {"lead followed by a lead", "\xc3\xc3\xa9", {X, 0xE9}},
  };
  for (const auto& row : rows) {
    INFO(row.why);
    CHECK(decode(row.bytes) == row.expected);
    CHECK(count_code_points(row.bytes) == row.expected.size());
  }
}

TEST_CASE("letter scripts: letters by block, digits and punctuation are not letters", "[shaping][language]") {
  CHECK(letter_script('a') == Script::latin);
  CHECK(letter_script(0xE9) == Script::latin);      // é
  CHECK(letter_script(0x1EA1) == Script::latin);    // ạ (Vietnamese)
  CHECK(letter_script(0xFF21) == Script::latin);    // fullwidth A
  CHECK(letter_script(0x3B1) == Script::greek);     // α
  CHECK(letter_script(0x416) == Script::cyrillic);  // Ж
  CHECK(letter_script(0x5D0) == Script::hebrew);    // א
  CHECK(letter_script(0x628) == Script::arabic);    // ب
  CHECK(letter_script(0x915) == Script::devanagari);
  CHECK(letter_script(0xE01) == Script::thai);
  CHECK(letter_script(0x4E16) == Script::han);     // 世
  CHECK(letter_script(0x20000) == Script::han);    // Extension B
  CHECK(letter_script(0x3042) == Script::kana);    // あ
  CHECK(letter_script(0x30AB) == Script::kana);    // カ
  CHECK(letter_script(0xD55C) == Script::hangul);  // 한
  for (char32_t not_letter : {U'0', U'9', U' ', U'+', U'<', U'_', U'\u00D7', U'\u00F7', U'\u0663', U'\u0966',
                              U'\u0E51', U'\u3002', U'\uFF0C', U'\U0001F600', U'\u2211', kInvalidCodePoint})
    CHECK_FALSE(letter_script(not_letter));
}

TEST_CASE("language rule: share of letters in the target script", "[shaping][language]") {
  const struct {
    const char* why;
    nlohmann::json script;
    const char* completion;
    double expected;
  } rows[] = {
      {"5 latin of 7 letters", "latin", "Hello 世界", 5.0 / 7},
      {"2 han of 7 letters", "cjk", "Hello 世界", 2.0 / 7},
      {"digits and math symbols are not letters", "han", "答案是 12 + 30 = 42", 1},
      {"no letters at all scores 0", "latin", "12 + 30 = 42", 0},
      {"empty completion scores 0", "latin", "", 0},
      {"accented Latin counts as Latin", "latin", "café naïve", 1},
      {"6 cyrillic of 11 letters", "cyrillic", "Привет, world!", 6.0 / 11},
      {"3 han of 8: kana are not han", "han", "日本語のテキスト", 3.0 / 8},
      {"han plus kana is all of it", nlohmann::json::array({"han", "kana"}), "日本語のテキスト", 1},
      {"japanese group = han + kana", "japanese", "日本語のテキスト", 1},
      {"a Latin variable inside Chinese costs one letter", "chinese", "设x为五", 3.0 / 4},
      {"default tags are not counted as Latin", "han", "<think>思考</think> <answer>四十二</answer>", 1},
      {"invalid bytes are skipped, not letters", "latin", "abc\xff\xfe世", 3.0 / 4},
      {"a character cut mid-sequence is not a letter", "latin",
       "\xe4\xb8"
       "ab",
       1},
  };
  for (const auto& row : rows) {
    INFO(row.why << ": " << row.completion);
    CHECK(language({{"script", row.script}}, row.completion) == Approx(row.expected).epsilon(1e-12));
  }
}

TEST_CASE("language rule: think scope scores only the reasoning", "[shaping][language]") {
  const char* mixed = "<think>abc</think> <answer>日本</answer>";
  CHECK(language({{"script", "latin"}}, mixed) == Approx(3.0 / 5));
  CHECK(language({{"script", "latin"}, {"scope", "think"}}, mixed) == 1);
  CHECK(language({{"script", "han"}, {"scope", "think"}}, mixed) == 0);
  // No complete think block: there is no reasoning to measure.
  CHECK(language({{"script", "latin"}, {"scope", "think"}}, "abc <answer>x</answer>") == 0);
  CHECK(language({{"script", "latin"}, {"scope", "think"}}, "<think>abc") == 0);
  // Custom tags.
  CHECK(language({{"script", "han"}, {"scope", "think"}, {"think_open", "<r>"}, {"think_close", "</r>"}},
                 "<r>推理</r> answer") == 1);
}

TEST_CASE("language option errors", "[shaping][language]") {
  CHECK_THROWS_WITH(make_language_rule(nullptr, "language"), Contains("option 'script': missing"));
  CHECK_THROWS_WITH(make_language_rule({{"script", "klingon"}}, "language"),
                    Contains("option 'script': unknown script \"klingon\"") && Contains("latin, greek"));
  CHECK_THROWS_WITH(make_language_rule({{"script", nlohmann::json::array()}}, "language"),
                    Contains("at least one script"));
  CHECK_THROWS_WITH(make_language_rule({{"script", "latin"}, {"scope", "answer"}}, "language"),
                    Contains("option 'scope': expected one of completion, think"));
  CHECK_THROWS_WITH(
      make_language_rule({{"script", "latin"}, {"think_open", "<a>"}, {"think_close", "<a>"}}, "language"),
      Contains("tags must differ"));
}
