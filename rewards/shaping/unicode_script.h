// UTF-8 decoding that never fails, and the writing script of a letter, for the length and language rules.
//
// Decoding follows the Unicode well-formedness table (Unicode 15, table 3-7): overlong forms, surrogates
// (U+D800..U+DFFF), values above U+10FFFF and truncated sequences are invalid. An invalid sequence yields
// kInvalidCodePoint and consumes ONE byte, so "one replacement per bad byte" and the next valid character
// is never swallowed. Model output is often cut mid-character at the token limit; this is why.
//
// Scripts are identified by Unicode block, not by the full Script property: a code point counts as a
// letter of a script when it lies in one of the blocks listed for it in unicode_script.cpp. Digits,
// punctuation and symbols inside Latin-1, Arabic and the Indic/Thai blocks that carry their own digits are
// excluded by hand; other marks inside a block (Hebrew points, Devanagari signs) count as letters of that
// script. Code points outside every listed block (digits, ASCII punctuation, emoji, math symbols, scripts
// not in the table) are not letters. This is an approximation chosen to avoid an ICU dependency in the
// reward library; it is exact for the letters of the listed scripts' main blocks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aha::rewards {

inline constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

// Decodes the code point starting at text[pos] and advances pos past it (by one byte if invalid).
// Precondition: pos < text.size().
char32_t next_code_point(std::string_view text, size_t& pos);

// Code points in `text`, each invalid byte counted as one.
size_t count_code_points(std::string_view text);

enum class Script {
  latin,
  greek,
  cyrillic,
  armenian,
  hebrew,
  arabic,
  devanagari,
  bengali,
  gurmukhi,
  gujarati,
  oriya,
  tamil,
  telugu,
  kannada,
  malayalam,
  sinhala,
  thai,
  lao,
  tibetan,
  myanmar,
  georgian,
  ethiopic,
  khmer,
  mongolian,
  hangul,
  kana,
  han,
};

// The script whose letters include `code_point`, or nullopt if it is not a letter of a listed script.
std::optional<Script> letter_script(char32_t code_point);

// Lower-case script names as accepted in options: "latin", "han", ... and the groups "cjk" (han, kana,
// hangul), "japanese" (han, kana), "chinese" (han), "korean" (hangul, han). nullopt for an unknown name.
std::optional<std::vector<Script>> scripts_named(std::string_view name);
std::vector<std::string> script_names();  // every accepted name, for error messages

}  // namespace aha::rewards
