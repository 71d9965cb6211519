// UTF-8 decoding and the block table of letter scripts (see unicode_script.h).
#include "rewards/shaping/unicode_script.h"

#include <algorithm>
#include <array>

namespace aha::rewards {
namespace {

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

struct Block {
  char32_t first, last;
  Script script;
};

// Sorted by first code point and non-overlapping (the static_assert below), for the binary search.
constexpr std::array kLetterBlocks = {
    Block{'A', 'Z', Script::latin},
    Block{'a', 'z', Script::latin},
    Block{0x00AA, 0x00AA, Script::latin},  // feminine ordinal
    Block{0x00BA, 0x00BA, Script::latin},  // masculine ordinal
    Block{0x00C0, 0x00D6, Script::latin},  // skips U+00D7 multiplication sign
    Block{0x00D8, 0x00F6, Script::latin},  // skips U+00F7 division sign
    Block{0x00F8, 0x02AF, Script::latin},  // Latin Extended-A/B, IPA extensions
    Block{0x0370, 0x03FF, Script::greek},
    Block{0x0400, 0x052F, Script::cyrillic},
    Block{0x0531, 0x058F, Script::armenian},
    Block{0x0591, 0x05FF, Script::hebrew},
    Block{0x0620, 0x065F, Script::arabic},  // skips U+0600..061F: signs, comma, semicolon, question mark
    Block{0x066E, 0x06D3, Script::arabic},  // skips U+0660..066D: Arabic-Indic digits and separators
    Block{0x06D5, 0x06EF, Script::arabic},  // skips U+06D4 full stop
    Block{0x06FA, 0x06FF, Script::arabic},  // skips U+06F0..06F9: extended digits
    Block{0x0750, 0x077F, Script::arabic},
    Block{0x08A0, 0x08FF, Script::arabic},
    Block{0x0900, 0x0963, Script::devanagari},  // skips U+0964..096F: dandas and digits
    Block{0x0970, 0x097F, Script::devanagari},
    Block{0x0980, 0x09E5, Script::bengali},  // skips U+09E6..09EF digits
    Block{0x09F0, 0x09FF, Script::bengali},
    Block{0x0A00, 0x0A65, Script::gurmukhi},
    Block{0x0A70, 0x0A7F, Script::gurmukhi},
    Block{0x0A80, 0x0AE5, Script::gujarati},
    Block{0x0AF0, 0x0AFF, Script::gujarati},
    Block{0x0B00, 0x0B65, Script::oriya},
    Block{0x0B70, 0x0B7F, Script::oriya},
    Block{0x0B80, 0x0BE5, Script::tamil},
    Block{0x0BF0, 0x0BFF, Script::tamil},
    Block{0x0C00, 0x0C65, Script::telugu},
    Block{0x0C70, 0x0C7F, Script::telugu},
    Block{0x0C80, 0x0CE5, Script::kannada},
    Block{0x0CF0, 0x0CFF, Script::kannada},
    Block{0x0D00, 0x0D65, Script::malayalam},
    Block{0x0D70, 0x0D7F, Script::malayalam},
    Block{0x0D80, 0x0DFF, Script::sinhala},
    Block{0x0E01, 0x0E4E, Script::thai},  // skips U+0E50..0E59 digits
    Block{0x0E81, 0x0ECF, Script::lao},
    Block{0x0F00, 0x0FFF, Script::tibetan},
    Block{0x1000, 0x103F, Script::myanmar},  // skips U+1040..1049 digits
    Block{0x104A, 0x109F, Script::myanmar},
    Block{0x10A0, 0x10FF, Script::georgian},
    Block{0x1100, 0x11FF, Script::hangul},  // Jamo
    Block{0x1200, 0x139F, Script::ethiopic},
    Block{0x1780, 0x17DF, Script::khmer},      // skips U+17E0..17E9 digits
    Block{0x1800, 0x180F, Script::mongolian},  // skips U+1810..1819 digits
    Block{0x1820, 0x18AF, Script::mongolian},
    Block{0x1C80, 0x1C8F, Script::cyrillic},
    Block{0x1C90, 0x1CBF, Script::georgian},
    Block{0x1E00, 0x1EFF, Script::latin},  // Latin Extended Additional (Vietnamese)
    Block{0x1F00, 0x1FFF, Script::greek},
    Block{0x2C60, 0x2C7F, Script::latin},
    Block{0x2D00, 0x2D2F, Script::georgian},
    Block{0x2DE0, 0x2DFF, Script::cyrillic},
    Block{0x3005, 0x3005, Script::han},   // ideographic iteration mark
    Block{0x3007, 0x3007, Script::han},   // ideographic zero
    Block{0x3041, 0x30FA, Script::kana},  // Hiragana and Katakana; skips U+30FB middle dot
    Block{0x30FC, 0x30FF, Script::kana},
    Block{0x3131, 0x318E, Script::hangul},  // compatibility Jamo
    Block{0x31F0, 0x31FF, Script::kana},
    Block{0x3400, 0x4DBF, Script::han},  // Extension A
    Block{0x4E00, 0x9FFF, Script::han},  // Unified Ideographs
    Block{0xA640, 0xA69F, Script::cyrillic},
    Block{0xA720, 0xA7FF, Script::latin},
    Block{0xA960, 0xA97F, Script::hangul},
    Block{0xAB30, 0xAB6F, Script::latin},
    Block{0xAC00, 0xD7FF, Script::hangul},  // syllables and Jamo Extended-B
    Block{0xF900, 0xFAFF, Script::han},     // compatibility ideographs
    Block{0xFB00, 0xFB06, Script::latin},   // ligatures
    Block{0xFB13, 0xFB17, Script::armenian},
    Block{0xFB1D, 0xFB4F, Script::hebrew},
    Block{0xFB50, 0xFDFF, Script::arabic},
    Block{0xFE70, 0xFEFF, Script::arabic},
    Block{0xFF21, 0xFF3A, Script::latin},  // fullwidth
    Block{0xFF41, 0xFF5A, Script::latin},
    Block{0xFF66, 0xFF9F, Script::kana},  // halfwidth
    Block{0xFFA0, 0xFFDC, Script::hangul},
    Block{0x1B000, 0x1B16F, Script::kana},
    Block{0x20000, 0x2FA1F, Script::han},  // Extensions B..F, compatibility supplement
    Block{0x30000, 0x323AF, Script::han},  // Extensions G, H
};

constexpr bool blocks_sorted_and_disjoint() {
  for (size_t i = 0; i < kLetterBlocks.size(); ++i) {
    if (kLetterBlocks[i].first > kLetterBlocks[i].last) return false;
    if (i > 0 && kLetterBlocks[i - 1].last >= kLetterBlocks[i].first) return false;
  }
  return true;
}
static_assert(blocks_sorted_and_disjoint(), "kLetterBlocks must be sorted and disjoint for letter_script");

struct NamedScripts {
  const char* name;
  std::vector<Script> scripts;
};

const std::vector<NamedScripts>& named_scripts() {
  static const std::vector<NamedScripts> table = {
      {"latin", {Script::latin}},
      {"greek", {Script::greek}},
      {"cyrillic", {Script::cyrillic}},
      {"armenian", {Script::armenian}},
      {"hebrew", {Script::hebrew}},
      {"arabic", {Script::arabic}},
      {"devanagari", {Script::devanagari}},
      {"bengali", {Script::bengali}},
      {"gurmukhi", {Script::gurmukhi}},
      {"gujarati", {Script::gujarati}},
      {"oriya", {Script::oriya}},
      {"tamil", {Script::tamil}},
      {"telugu", {Script::telugu}},
      {"kannada", {Script::kannada}},
      {"malayalam", {Script::malayalam}},
      {"sinhala", {Script::sinhala}},
      {"thai", {Script::thai}},
      {"lao", {Script::lao}},
      {"tibetan", {Script::tibetan}},
      {"myanmar", {Script::myanmar}},
      {"georgian", {Script::georgian}},
      {"ethiopic", {Script::ethiopic}},
      {"khmer", {Script::khmer}},
      {"mongolian", {Script::mongolian}},
      {"hangul", {Script::hangul}},
      {"kana", {Script::kana}},
      {"han", {Script::han}},
      {"cjk", {Script::han, Script::kana, Script::hangul}},
      {"japanese", {Script::han, Script::kana}},
      {"chinese", {Script::han}},
      {"korean", {Script::hangul, Script::han}},
  };
  return table;
}

}  // namespace

char32_t next_code_point(std::string_view text, size_t& pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  size_t length = 0;
  char32_t value = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;  // the legal range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, value = lead & 0x0F;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, value = lead & 0x07;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    ++pos;  // a continuation byte, C0/C1 or F5..FF
    return kInvalidCodePoint;
  }
  if (pos + length > text.size() || byte(pos + 1) < second_min || byte(pos + 1) > second_max) {
    ++pos;
    return kInvalidCodePoint;
  }
  for (size_t i = 1; i < length; ++i) {
    if (!is_continuation(byte(pos + i))) {
      ++pos;
      return kInvalidCodePoint;
    }
    value = (value << 6) | (byte(pos + i) & 0x3F);
  }
  pos += length;
  return value;
}

size_t count_code_points(std::string_view text) {
  size_t count = 0;
  for (size_t pos = 0; pos < text.size(); ++count) next_code_point(text, pos);
  return count;
}

std::optional<Script> letter_script(char32_t code_point) {
  // The last block starting at or before the code point is the only one that can hold it.
  const auto after = std::upper_bound(kLetterBlocks.begin(), kLetterBlocks.end(), code_point,
                                      [](char32_t cp, const Block& block) { return cp < block.first; });
  if (after == kLetterBlocks.begin()) return std::nullopt;
  const Block& block = *(after - 1);
  if (code_point > block.last) return std::nullopt;
  return block.script;
}

std::optional<std::vector<Script>> scripts_named(std::string_view name) {
  for (const NamedScripts& entry : named_scripts())
    if (name == entry.name) return entry.scripts;
  return std::nullopt;
}

std::vector<std::string> script_names() {
  std::vector<std::string> names;
  for (const NamedScripts& entry : named_scripts()) names.push_back(entry.name);
  return names;
}

}  // namespace aha::rewards
