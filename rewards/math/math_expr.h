// The expression tree the math verifier parses answers into (math_parse.h builds it, math_equiv.h
// compares two of them). Nodes live in one arena (a vector) and refer to their operands by index, so a
// parsed answer is one allocation-light object with a hard node budget.
//
// What each kind means:
//   Number       an exact rational `value`; `decimal_literal` if it was written with a point or an
//                exponent ("0.5", "1e3"): Math-Verify's float rounding applies to those (math_equiv.h)
//   Symbol       a variable: a Latin letter (lower-cased), a Greek letter name ("theta"), with an optional
//                subscript or prime ("x_1", "f'"). "e" evaluates to Euler's number, "i" to the imaginary
//                unit, "pi" to pi, "inf" to infinity; they stay Symbols so "E" can match \text{E}
//   Word         a run of two or more letters written together ("ab", "even"): the product of its
//                letters in arithmetic, the word itself when compared with \text{...}
//   Text         \text{...} content that is not mathematics ("evelyn", "(c)" becomes "c")
//   BaseNumeral  digits with a numeric base subscript, "52_8": digits in `name`, base in `base`
//   Add, Mul     n-ary sum and product; subtraction is Add of Neg
//   Div, Pow     binary: args[0] / args[1], args[0] ^ args[1]
//   Neg          unary minus
//   Percent      args[0] percent
//   PlusMinus    args[0] +- args[1]; a unary +-x has args[0] = 0
//   Func         a named function: sqrt, root (args: radicand, index), sin ... arccot, sinh, cosh, tanh,
//                ln, log (args: argument[, base]), exp, abs, floor, ceil, factorial, binom
//   Relation     args[0] rels[0] args[1] rels[1] args[2] ...: a chain like "-2 <= x <= 7" or "x = 5"
//   List         a bare comma-separated list "1, 2, 3" (unordered, see math_equiv.h)
//   Set          braces \{1, 2\} (unordered)
//   Seq          a bracketed sequence with its brackets in open/close: "(1, 2)", "[0, 1)", "(1,2,3)"
//   Union        A \cup B \cup ... of sets or intervals
//   Matrix       rows x cols elements, row-major in args
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rewards/math/math_number.h"

namespace aha::rewards::math {

enum class Kind : uint8_t {
  Number,
  Symbol,
  Word,
  Text,
  BaseNumeral,
  Add,
  Mul,
  Div,
  Pow,
  Neg,
  Percent,
  PlusMinus,
  Func,
  Relation,
  List,
  Set,
  Seq,
  Union,
  Matrix,
};

enum class Rel : uint8_t { Eq, Ne, Lt, Le, Gt, Ge, In };

struct Node {
  Kind kind = Kind::Number;
  bool decimal_literal = false;  // Number: written with a decimal point or an exponent
  bool integer_literal = false;  // Number: written as plain digits (for mixed numbers, 2\frac12)
  bool latex_frac = false;       // Div: written as \frac (the fraction part of a mixed number)
  char open = 0, close = 0;      // Seq brackets
  int base = 0;                  // BaseNumeral
  int rows = 0, cols = 0;        // Matrix
  int height = 1;                // of the subtree rooted here (a leaf is 1)
  Rational value;                // Number
  std::string name;              // Symbol, Word, Text, BaseNumeral digits, Func name
  std::vector<int> args;         // operands, as indices into Expr::nodes
  std::vector<Rel> rels;         // Relation: rels.size() == args.size() - 1
};

struct Expr {
  std::vector<Node> nodes;
  int root = -1;

  const Node& at(int index) const { return nodes[static_cast<size_t>(index)]; }
  const Node& top() const { return at(root); }
};

// A readable rendering for test messages and logs, e.g. "Add(Mul(2, x), 1)".
std::string debug_string(const Expr& expr, int index);
inline std::string debug_string(const Expr& expr) {
  return debug_string(expr, expr.root);
}

}  // namespace aha::rewards::math
