// From an answer string (LaTeX or plain text, already extracted by math_extract.h and cleaned by
// normalize_answer in math_normalize.h) to an expression tree (math_expr.h), by recursive descent.
//
// The grammar, loosest binding first:
//   list      := relation ((',' | ';') relation)*           "1, 2"  "x=2, y=3"
//   relation  := union (relop union)*                       = < > \le \ge \ne \in (<= >= != too)
//   union     := sum (\cup sum)*
//   sum       := term (('+' | '-' | \pm | \mp) term)*
//   term      := unary (('*' | \cdot | \times | '/' | \div | implicit) unary)*
//   unary     := ('-' | '+' | \pm) unary | postfix
//   postfix   := power ('!' | '%')*
//   power     := primary ('^' | '**') exponent               right-associative
//   primary   := number | letters | \command... | ( list ) | [ list ] | (a, b] | \{ list \} | { list }
//                | |sum| | \begin{pmatrix}...\end{pmatrix}
// Choices where LaTeX and plain text disagree, made the way a reader means them:
//   - "\frac12" and "\sqrt2" take one character per argument (LaTeX), but "2^10" is 2^{10} (plain text;
//     LaTeX would read 2^1 0, which nobody means).
//   - An integer written right before a \frac of two integers is a mixed number: "918\frac{1}{2}" =
//     918 + 1/2 (Math-Verify and the MATH data agree); "2\frac{\pi}{3}" stays a product.
//   - Letters written together multiply ("2xy"), except known function names (sin, log, sqrt, ...), "pi"
//     and "inf"/"infinity".
//   - Thousands separators: "{,}", ",\!" and a thin space "\," between digit groups anywhere; a bare ","
//     only outside brackets and only in the exact form 1-3 digits then groups of 3 ("1,000" and "58,500"
//     but not "(2,500)" or "1,2"). Math-Verify reads "1\,000" as 1*000; we read 1000.
//   - Scientific notation "1.5e-3", "2E10" is a number (Math-Verify reads "1e3" as 1*e*3; we do not).
//   - Units are dropped where they follow a quantity: a \text{...}/\mbox{...} in product position (with
//     its exponent, "15\mbox{ cm}^2" -> 15), and a plain word after a number: a known unit ("cm", "km",
//     "mph", "day", ...) or any word of 4+ letters separated by a space ("64 square feet" -> 64). Single
//     letters are never units ("5 m" stays 5m).
//   - "**" is a power, as in Python (Math-Verify cannot parse it; a model writing x**2 means x^2).
// Bounded work: inputs over ParseLimits::max_chars, nesting deeper than max_depth, trees over max_nodes or
// max_height are refused (nullopt), never partly parsed. Nothing here throws on any input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rewards/math/math_expr.h"
#include "rewards/math/math_normalize.h"

namespace aha::rewards::math {

struct ParseLimits {
  size_t max_chars = 2000;  // MATH-500's longest answer is ~90 characters
  int max_depth = 64;       // nesting of brackets, braces, \frac, \sqrt, unary signs, ...
  int max_nodes = 2000;
  int max_height = 128;  // of the tree: every walk over it recurses this deep at most
};

// Parses an answer that has already been through normalize_answer. nullopt if it is not mathematics this
// grammar knows (free text, an unknown command, unbalanced brackets) or exceeds the limits.
std::optional<Expr> parse_answer(std::string_view normalized, const ParseLimits& limits = {});

}  // namespace aha::rewards::math
