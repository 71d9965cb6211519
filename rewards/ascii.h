// ASCII character classes for the math and task checkers. Locale-free on purpose (std::isdigit and friends
// depend on the C locale and are undefined for negative chars, which every UTF-8 continuation byte is).
#pragma once

namespace aha::rewards {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace aha::rewards
