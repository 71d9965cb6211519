// Whether a predicted answer equals a gold answer, both given as the answer text already extracted (see
// math_extract.h): "\frac{1}{2}" vs "0.5", "(x-2)(x+2)" vs "x^2-4", "[1, 2)" vs "[1,2)".
//
// How: the strings are normalised (math_parse.h); equal normalised strings are equal answers. Otherwise
// both are parsed and compared structurally, with numbers compared exactly as rationals where the
// arithmetic allows and to a tolerance otherwise, and expressions with variables compared numerically at
// EquivOptions::points pseudo-random points (the same points for both sides, so different variables mean
// different answers). Unparseable answers are equal only as normalised strings.
//
// Policy. The default is HuggingFace Math-Verify's (verify(parse(gold), parse(pred)) with its defaults,
// v0.9.0); where graders publicly disagree we say which way we go:
//   - Percent. "10%" equals both 10 and 0.1 (Math-Verify); two percents compare as numbers. hendrycks
//     MATH and NeMo-Skills agree that 10% = 10; simple-evals' judge is stricter.
//   - Lists and order. A bare list "1, 2, 3" and a set "\{1,2,3\}" are unordered (Math-Verify treats
//     both as sets): "10, 4, -2" equals "4, 10, -2". hendrycks MATH's is_equiv compares strings, so for
//     it order matters; we do not follow it. As sets, duplicates collapse ("2, 2" = "2", as sympy's
//     FiniteSet does); at most 64 elements.
//   - Tuples and intervals. A bracketed sequence is ordered: "(1,2,3)" vs "(3,2,1)" is false. With two
//     elements the brackets matter: "(1,2)" (open interval or ordered pair) vs "[1,2]" or "[1,2)" is
//     false. With three or more, "(1,2,3)" = "[1,2,3]". A tuple against a bare list compares in written
//     order ("(1,2)" = "1, 2"), and a two-element tuple only if it is "(a, b)". Unions of intervals are
//     unordered.
//   - Units. Dropped after a quantity (math_parse.h): "10\text{ units}" = 10, "64 square feet" = 64,
//     "90^\circ" = 90 (degrees are never converted: "90^\circ" is not "\frac{\pi}{2}"), as in
//     Math-Verify and hendrycks MATH; simple-evals' judge gives units the benefit of the doubt too.
//   - Dollars. "\$" and "$" are removed everywhere: "\$10" = 10 (all three published graders agree).
//   - Floats. When either side is written as a decimal ("0.333333", "1.5e3"), both are rounded to
//     EquivOptions::float_rounding places (6, Math-Verify's float_rounding) before comparing:
//     1/3 = 0.333333 but 1/3 != 0.33; \pi = 3.141593 but \pi != 3.14. Otherwise numbers are exact:
//     5 != 5.001, 3245/5 = 649 (simple-evals' judge wants 649 written out; we do not).
//   - Equations. If the gold is an assignment (one variable, or a product of symbols like f(x), on the
//     left: "x = 5", "y = 2x+3", "x \in [1,2]") and the prediction is not an equation, the right side is
//     compared: "x = 5" vs "5" is true. If the prediction is an equation and the gold is not, the
//     prediction's last right side is compared ("5" vs "x = 5" true). Two assignments need the same
//     variable ("x = 5" vs "y = 5" false); other equations are equal when lhs - rhs are proportional
//     ("3x+3y=6" = "x+y=2", as Math-Verify's solve() would find). Inequalities must have the same
//     direction and strictness after flipping ("x > 3" = "3 < x", "x > 3" != "x >= 3"), and a gold
//     inequality in one variable equals the matching interval ("x > 3" = "(3, \infty)"; not the other way
//     round, as in Math-Verify).
//   - Letters and text. Latin letters are case-insensitive ("X+1" = "x+1", "\text{(C)}" = "C"), as in
//     Math-Verify; "\text{even}" = "even"; a word is also the product of its letters, so "ab" = "ba".
//   - Plus-minus. "1 \pm \sqrt{19}" is the set {1 + \sqrt{19}, 1 - \sqrt{19}}.
//   - Matrices. pmatrix/bmatrix/matrix are the same; same shape and equal entries. A column vector is
//     not a tuple.
//   - Base-b numerals. "52_8" equals "52_{8}" but not 42.
//   - Deliberate departures from Math-Verify: "1e3" is scientific notation (Math-Verify: 1*e*3);
//     "1\,000" is 1000; "\fbox{}" is read like "\boxed{}"; "x**2" is a power; odd roots of negatives
//     are real (\sqrt[3]{-8} = -2); e^{i\pi} = -1 (Math-Verify assumes real symbols and says no); the
//     float rounding applies against integers too (2 = 2.0000001 here; Math-Verify says no for an
//     integer gold but yes for 1.23 = 1.2300001); boxes separated by a sentence are a revision, not a
//     list (math_extract.h).
// Never throws, never hangs: input length, parse depth and size, evaluation work and the number of
// comparisons are all capped; anything past a cap is "not equal".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rewards/math/math_expr.h"

namespace aha::rewards::math {

struct EquivOptions {
  int float_rounding = 6;         // decimal places when one side is written as a decimal
  int points = 5;                 // random points for expressions with variables
  long double tolerance = 1e-9L;  // relative, for values that are not exact rationals
};

// An answer ready to compare: the normalised text and, when it parses, its tree. Build the gold once and
// reuse it across completions.
struct PreparedAnswer {
  std::string normalized;
  std::optional<Expr> expr;
};

PreparedAnswer prepare_answer(std::string_view answer);

// Not symmetric, as in Math-Verify: the gold decides how an equation is read (see above).
bool equivalent(const PreparedAnswer& gold, const PreparedAnswer& pred, const EquivOptions& options = {});
bool equivalent(std::string_view gold, std::string_view pred, const EquivOptions& options = {});

// The exact value of an answer that is a plain number without variables ("27", "27.0", "\frac{54}{2}",
// "2^{10}", "1,000"), for the integer (AIME) and GSM8K checkers; nullopt otherwise.
std::optional<Rational> exact_number(const PreparedAnswer& answer);

}  // namespace aha::rewards::math
