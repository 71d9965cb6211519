// Normalisation (rewards/math/math_normalize.h) and parsing (rewards/math/math_parse.h) of answers: the
// trees the equivalence check relies on, written out with debug_string so a change in how something
// parses shows up as a readable diff.
#include <catch2/catch.hpp>
#include <string>

#include "rewards/math/math_parse.h"

using namespace aha::rewards::math;

namespace {

std::string tree(const std::string& answer) {
  const std::optional<Expr> expr = parse_answer(normalize_answer(answer));
  return expr ? debug_string(*expr) : "<refused>";
}

}  // namespace

TEST_CASE("normalize_answer strips LaTeX noise", "[math][parse]") {
  const std::pair<const char*, const char*> rows[] = {
      {"$\\displaystyle \\frac{1}{2}$", "\\frac{1}{2}"},
      {"\\left( 3, \\frac{\\pi}{2} \\right)", "( 3, \\frac{\\pi}{2} )"},
      {"\\dfrac{1}{2} + \\tfrac{1}{3}", "\\frac{1}{2} + \\frac{1}{3}"},
      {"90^\\circ", "90"},
      {"90^{\\circ}", "90"},
      {"\\$18.90", "18.90"},
      {"50\\%", "50%"},
      {"10 percent", "10%"},
      {"1, 2, and 3", "1, 2, 3"},
      {"1 \\text{ or } 2", "1, 2"},
      {"x \\approx 0.577", "x"},
      {"3 \\pmod{7}", "3"},
      {"185\\", "185"},
      {"5.", "5"},
      {"  a \n\t b  ", "a b"},
      {"\\\\frac{1}{2}", "\\frac{1}{2}"},
      {"\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"},
      {"\u2212 3 \u00d7 4", "- 3 \\times 4"},
  };
  for (const auto& [input, expected] : rows) {
    INFO(input);
    CHECK(normalize_answer(input) == expected);
    CHECK(normalize_answer(normalize_answer(input)) == normalize_answer(input));  // idempotent
  }
}

TEST_CASE("parse_answer builds the expected trees", "[math][parse]") {
  const std::pair<const char*, const char*> rows[] = {
      {"2x+1", "Add(Mul(2, x), 1)"},
      {"-x^2", "Neg(Pow(x, 2))"},
      {"2^10", "Pow(2, 10)"},
      {"x^23", "Pow(x, 23)"},
      {"2^-1", "Pow(2, Neg(1))"},
      {"a^b^c", "Pow(a, Pow(b, c))"},
      {"\\frac12", "Div(1, 2)"},
      {"\\frac{1}{2}x", "Mul(Div(1, 2), x)"},
      {"918\\frac{1}{2}", "Add(918, Div(1, 2))"},
      {"-2\\frac{1}{2}", "Neg(Add(2, Div(1, 2)))"},
      {"2(1/2)", "Mul(2, Div(1, 2))"},
      {"\\sqrt2", "sqrt(2)"},
      {"\\sqrt[3]{x}", "root(x, 3)"},
      {"1.5e-3", "3/2000f"},
      {"2e", "Mul(2, e)"},
      {"1,000", "1000"},
      {"1,2", "List(1, 2)"},
      {"(2,500)", "Seq()(2, 500)"},
      {"[1,2)", "Seq[)(1, 2)"},
      {"\\{1,2\\}", "Set(1, 2)"},
      {"(0,1)\\cup(2,3)", "Union(Seq()(0, 1), Seq()(2, 3))"},
      {"x \\in [1,2]", "Relation(x in Seq[](1, 2))"},
      {"-2 \\le x < 7", "Relation(Neg(2) <= x < 7)"},
      {"a \\ne b", "Relation(a != b)"},
      {"1 \\pm \\sqrt{5}", "PlusMinus(1, sqrt(5))"},
      {"50%", "Percent(50)"},
      {"5!", "factorial(5)"},
      {"\\sin^2 x", "Pow(sin(x), 2)"},
      {"\\sin 2x", "sin(Mul(2, x))"},
      {"\\sin x \\cos x", "Mul(sin(x), cos(x))"},
      {"\\log_2 8", "log(8, 2)"},
      {"sqrt(2)", "sqrt(2)"},
      {"|x-1|", "abs(Add(x, Neg(1)))"},
      {"\\text{Evelyn}", "Text'evelyn'"},
      {"\\text{(C)}", "c"},
      {"10\\text{ units}", "10"},
      {"64 square feet", "64"},
      {"5 m", "Mul(5, m)"},
      {"xy", "Word'xy'"},
      {"xe^x", "Mul(x, Pow(e, x))"},
      {"x_1 + a_{n}", "Add(x_1, a_n)"},
      {"f'", "f'"},
      {"52_8", "52_8"},
      {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "Matrix2x2(1, 2, 3, 4)"},
      {"\\lfloor x \\rfloor", "floor(x)"},
      {"x**2", "Pow(x, 2)"},
      {"\\infty", "inf"},
  };
  for (const auto& [input, expected] : rows) {
    INFO(input);
    CHECK(tree(input) == expected);
  }
}

TEST_CASE("parse_answer refuses what it cannot read", "[math][parse]") {
  for (const char* input : {"", "(1,2", "1,2)", "\\foo{1}", "x +", "\\frac{1}", "5 cm x",
                            "\\begin{cases} 1 \\end{cases}", "1 \\cap 2", "a := b", "3 \\to 4"}) {
    INFO(input);
    CHECK(tree(input) == "<refused>");
  }
}

TEST_CASE("parse_answer enforces its limits", "[math][parse][limits]") {
  ParseLimits limits;
  CHECK_FALSE(parse_answer(std::string(limits.max_chars + 1, '1'), limits));
  CHECK(parse_answer(std::string(limits.max_depth / 2, '(') + "1" + std::string(limits.max_depth / 2, ')'),
                     limits));
  CHECK_FALSE(parse_answer(
      std::string(limits.max_depth + 1, '(') + "1" + std::string(limits.max_depth + 1, ')'), limits));
  std::string wide = "1";
  for (int k = 0; k < 600; ++k) wide += "+1";
  ParseLimits small = limits;
  small.max_nodes = 100;
  CHECK_FALSE(parse_answer(wide, small));
  CHECK(parse_answer(wide, limits));
  // Chains deepen the tree without brackets; the height cap keeps every tree walk's recursion bounded.
  auto chain = [](const std::string& op, int n) {
    std::string s = "1";
    for (int k = 0; k < n; ++k) s += op;
    return s;
  };
  CHECK(parse_answer(chain("/2", 100), limits));
  CHECK_FALSE(parse_answer(chain("/2", 500), limits));
  CHECK_FALSE(parse_answer(chain("!", 500), limits));
  CHECK_FALSE(parse_answer(chain("%", 500), limits));
  CHECK_FALSE(parse_answer(chain("^2", 500), limits));
}

// Found by fuzzing: a base subscript that is not two plain digits ("52_{.5}") threw from std::stoi.
TEST_CASE("parse_answer refuses malformed base subscripts without throwing", "[math][parse]") {
  for (const char* input : {"52_{.5}", "52_.5", "52_{}", "52_{123}", "52_1", "52_{37}", "58_8"}) {
    INFO(input);
    CHECK_NOTHROW(parse_answer(normalize_answer(input)));
    CHECK(tree(input) == "<refused>");
  }
  CHECK(tree("52_{8}") == "52_8");
}
