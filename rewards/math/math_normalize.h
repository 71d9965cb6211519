// Answer normalisation for the math verifier: the LaTeX noise that changes how an answer looks but not
// what it says is removed before parsing (math_parse.h), so "\left( 3, \frac{\pi}{2} \right)" and
// "(3,\pi/2)" meet in the middle. The result is also the key of the verifier's string-equality shortcut,
// so it is deterministic and idempotent.
//
// Removed or rewritten: $ and \$, \( \) \[ \], \left \right \big..., spacing (\! \, \; \: \quad ~ "\ "),
// \displaystyle, \dfrac \tfrac \cfrac -> \frac, \dbinom -> \binom, degree marks (^\circ, ^{\circ}, \circ,
// \degree, the degree sign), "\%" and the words percent/percentage/pct -> "%", "{,}", ",\!" and a thin
// space between digit groups -> one thousands separator (kThousandsSeparator), a doubled backslash before
// a command outside matrices ("\\frac" -> "\frac"), everything from \approx on, \pmod{..}, \ldots and
// friends, the words "and"/"or" between items (-> ","), trailing "." "," and "\", and the Unicode forms of
// minus, times, divide, dot, sqrt, pi, infinity, <=, >=, !=, +-, union.
// Linear in the input; only the first 16 KiB are read (ParseLimits refuses far less anyway).
#pragma once

#include <string>
#include <string_view>

namespace aha::rewards::math {

// What "{,}", ",\!" and "1\,000" become: a separator inside one number, never a list comma.
inline constexpr char kThousandsSeparator = '\x1f';

std::string normalize_answer(std::string_view answer);

}  // namespace aha::rewards::math
