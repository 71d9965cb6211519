// Evaluating a scalar subtree of a parsed answer (math_expr.h) to a number: exactly, as a rational, as
// long as the arithmetic stays rational (+ - * /, integer powers, roots of perfect powers, factorials,
// binomials, floor/ceil/abs of rationals), and always approximately as a complex long double so that
// \sqrt{8} and 2\sqrt{2}, or (x+1)^2 and x^2+2x+1 at a given x, can be compared with a tolerance.
//
// Constants: pi, e (Euler's number), i (the imaginary unit). \log without a base is base 10, as in
// Math-Verify (latex2sympy); \ln is natural. An odd root of a negative number is the real root
// (\sqrt[3]{-8} = -2; Math-Verify takes sympy's principal complex root and says no).
// Variables take the values given in Variables; a Word ("ab") is the product of its letters, a Text
// ("\text{apples}") is one more variable. Collections, relations, +- and infinity do not evaluate (the
// comparison in math_equiv.h takes those apart first); neither does a base-b numeral.
// Bounded: every call spends from an evaluation budget, exact powers and factorials stop at
// BigInt::kMaxBits, and a non-finite approximation is "undefined", never a number.
#pragma once

#include <complex>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rewards/math/math_expr.h"

namespace aha::rewards::math {

using Complex = std::complex<long double>;

struct Value {
  bool defined = false;           // false: division by zero, overflow, an unknown variable, ...
  std::optional<Rational> exact;  // set when the value is a known rational
  Complex approx{0, 0};
};

// Variable name -> value; a small vector because answers have a handful of variables at most.
using Variables = std::vector<std::pair<std::string, Complex>>;

struct EvalContext {
  const Variables* variables = nullptr;
  uint32_t plus_minus_signs = 0;  // bit k picks "-" for the k-th +- met in evaluation order
  int plus_minus_seen = 0;
  int64_t budget = 100000;  // node visits left; exhausted means undefined
};

Value evaluate(const Expr& expr, int index, EvalContext& context);

// Names of the variables a subtree uses (Symbols other than pi/e/i/inf, the letters of Words, Texts as
// "text:<name>"), appended to `names` without duplicates.
void collect_variables(const Expr& expr, int index, std::vector<std::string>& names);

// Number of +- nodes in a subtree.
int count_plus_minus(const Expr& expr, int index);

}  // namespace aha::rewards::math
