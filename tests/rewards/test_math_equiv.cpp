// Answer equivalence (rewards/math/math_equiv.h) on literal strings, one table per class of answer, each row
// naming the behaviour it guards. Expected values follow Math-Verify 0.9.0 (verify(parse("\boxed{gold}"),
// parse("\boxed{pred}"))) except the rows marked "departs", which math_equiv.h documents.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "rewards/math/math_equiv.h"
#include "rewards/math/math_parse.h"

using aha::rewards::math::equivalent;
using aha::rewards::math::prepare_answer;

namespace {

struct Row {
  const char* why;
  const char* gold;
  const char* pred;
  bool expected;
};

void check_rows(std::initializer_list<Row> rows) {
  for (const Row& row : rows) {
    const auto gold = prepare_answer(row.gold), pred = prepare_answer(row.pred);
    INFO(row.why << ": gold [" << row.gold << "] pred [" << row.pred << "]");
    INFO("trees: " << (gold.expr ? debug_string(*gold.expr) : "unparsed '" + gold.normalized + "'") << " | "
                   << (pred.expr ? debug_string(*pred.expr) : "unparsed '" + pred.normalized + "'"));
    CHECK(equivalent(gold, pred) == row.expected);
  }
}

double seconds_for(const std::string& gold, const std::string& pred, bool& result) {
  const auto start = std::chrono::steady_clock::now();
  result = equivalent(gold, pred);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("equivalence: integers, decimals, separators, scientific notation", "[math][equiv]") {
  check_rows({
      {"same integer", "5", "5", true},
      {"different integer", "5", "6", false},
      {"integer vs decimal form", "5", "5.0", true},
      {"trailing zeros", "3.21", "3.210", true},
      {"leading point", ".35625", "0.35625", true},
      {"negative zero", "0", "-0", true},
      {"sign matters", "-3", "3", false},
      {"spaced minus", "-3", "- 3", true},
      {"thousands comma", "1000", "1,000", true},
      {"thousands braces", "1000", "1{,}000", true},
      {"thousands with \\!", "10080", "10,\\!080", true},
      {"millions", "11111111100", "11,\\! 111,\\! 111,\\! 100", true},
      {"several groups", "1000000", "1,000,000", true},
      {"departs: thin space separator", "1000", "1\\,000", true},
      {"comma in a pair is no separator", "(2,500)", "(2500)", false},
      {"comma and space is a list", "58,500", "58, 500", false},
      {"departs: scientific notation", "1500", "1.5e3", true},
      {"departs: negative exponent", "0.0015", "1.5e-3", true},
      {"times ten to the", "1500", "1.5\\times 10^{3}", true},
      {"small decimal vs times-ten form", "0.0000672", "6.72\\times10^{-5}", true},
      {"big integers stay exact", "2^{100}", "1267650600228229401496703205376", true},
      {"off by one past 64 bits", "2^{100}", "1267650600228229401496703205377", false},
      {"close decimals differ", "5", "5.001", false},
      {"dollar sign", "\\$18.90", "18.9", true},
  });
}

TEST_CASE("equivalence: fractions, mixed numbers, float rounding", "[math][equiv]") {
  check_rows({
      {"frac vs decimal", "\\frac{1}{2}", "0.5", true},
      {"decimal vs frac", "0.5", "\\frac{1}{2}", true},
      {"slash vs decimal", "1/2", "0.5", true},
      {"frac vs slash", "\\frac{1}{2}", "1/2", true},
      {"dfrac", "\\frac{1}{2}", "\\dfrac{1}{2}", true},
      {"tfrac", "\\frac{1}{2}", "\\tfrac{1}{2}", true},
      {"frac12 shorthand", "0.5", "\\frac12", true},
      {"frac with one braced argument", "\\frac{270}{7}", "\\frac{270}7", true},
      {"unreduced", "\\frac{2}{4}", "\\frac{1}{2}", true},
      {"sign inside the fraction", "2/(-3)", "-2/3", true},
      {"wrong fraction", "\\frac{1}{2}", "\\frac{1}{3}", false},
      {"mixed number", "\\frac{3}{2}", "1\\frac{1}{2}", true},
      {"mixed number shorthand", "\\frac{7}{2}", "3\\frac12", true},
      {"negative mixed number", "-\\frac{5}{2}", "-2\\frac{1}{2}", true},
      {"mixed number is not a product", "2\\frac{1}{2}", "1", false},
      {"mixed number vs decimal", "918\\frac{1}{2}", "918.5", true},
      {"frac of pi stays a product", "2\\frac{\\pi}{3}", "\\frac{2\\pi}{3}", true},
      {"float rounding: six places", "1/3", "0.333333", true},
      {"float rounding: too short", "1/3", "0.33", false},
      {"float rounding: sevenths", "1/7", "0.142857", true},
      {"float rounding: pi to six places", "\\pi", "3.141593", true},
      {"float rounding: pi to two places", "\\pi", "3.14", false},
      {"float rounding: sqrt", "\\frac{3840}{289}", "13.287197", true},
      {"exact fractions are not rounded", "3245/5", "649", true},
  });
}

TEST_CASE("equivalence: percentages", "[math][equiv]") {
  check_rows({
      {"percent vs fraction", "50\\%", "0.5", true},
      {"percent vs number", "50\\%", "50", true},
      {"fraction vs percent", "0.5", "50\\%", true},
      {"plain percent sign", "10%", "10", true},
      {"percent word", "10", "10 percent", true},
      {"percent of a different number", "50\\%", "5", false},
      {"two percents compare as written", "10\\%", "1000\\%", false},
      {"two equal percents", "12.5\\%", "12.5%", true},
  });
}

TEST_CASE("equivalence: roots, pi, powers, functions, complex numbers", "[math][equiv]") {
  check_rows({
      {"sqrt simplification", "\\sqrt{8}", "2\\sqrt{2}", true},
      {"sqrt shorthand", "11\\sqrt2", "11\\sqrt{2}", true},
      {"rationalised denominator", "\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", true},
      {"wrong root", "\\sqrt{12}", "3\\sqrt{2}", false},
      {"cube root", "\\sqrt[3]{8}", "2", true},
      {"departs: real odd root", "\\sqrt[3]{-8}", "-2", true},
      {"pi spacing", "288 \\pi", "288\\pi", true},
      {"pi product order", "2\\pi", "\\pi \\cdot 2", true},
      {"power", "2^{10}", "1024", true},
      {"plain-text power", "2^10", "1024", true},
      {"departs: python power", "x^2", "x**2", true},
      {"factorial", "5!", "120", true},
      {"binomial", "\\binom{5}{2}", "10", true},
      {"absolute value", "|-3|", "3", true},
      {"sine value", "\\sin(\\pi/6)", "1/2", true},
      {"log base 10 by default", "\\log 100", "2", true},
      {"log with a base", "\\log_2 8", "3", true},
      {"natural log rounded", "\\ln 2", "0.693147", true},
      {"cot identity", "\\cot x", "\\frac{\\cos x}{\\sin x}", true},
      {"euler's number", "e", "2.718282", true},
      {"complex order", "1+2i", "2i+1", true},
      {"complex conjugate differs", "1+2i", "1-2i", false},
      {"departs: euler's identity", "e^{i\\pi}", "-1", true},
      {"degrees are not radians", "\\frac{\\pi}{2}", "90^\\circ", false},
  });
}

TEST_CASE("equivalence: algebraic expressions", "[math][equiv]") {
  check_rows({
      {"expanded vs factored", "x^2+2x+1", "(x+1)^2", true},
      {"wrong power", "x^2+2x+1", "(x+1)^3", false},
      {"difference of squares", "x^2-4", "(x-2)(x+2)", true},
      {"left right noise", "\\left(x-2\\right)\\left(x+2\\right)", "(x-2)(x+2)", true},
      {"explicit multiplication", "x^2+2x+1", "x^2 + 2*x + 1", true},
      {"double negative", "x^2+2x+1", "x^2 + 2*x - (-1)", true},
      {"half x", "\\frac{x}{2}", "0.5x", true},
      {"commuted product", "a^2b", "ba^2", true},
      {"factor out", "2k+2", "2(k+1)", true},
      {"different variable", "x^2+2x+1", "y^2+2y+1", false},
      {"letters are case-insensitive", "X+1", "x+1", true},
      {"rational function", "x^8 + x^7 + x^6 + x^5 + x^4 + x^3 + x^2 + x + 1", "\\frac{x^9-1}{x-1}", true},
      {"sum order", "$2x+3$", "$3+2x$", true},
      {"i over 4", "\\frac34i", "\\frac{3}{4}i", true},
      {"sqrt sums", "10\\sqrt{3} + \\sqrt4", "10\\sqrt3 + \\sqrt{4}", true},
      {"different sums", "\\tfrac{1}{2} + \\frac1{72}", "\\\\frac{1}{2} + 2/3", false},
      {"doubled backslash", "\\tfrac{1}{2} +\\! \\frac1{72}", "\\\\dfrac{1}{2} +\\frac{1}{72}", true},
  });
}

TEST_CASE("equivalence: equations and inequalities", "[math][equiv]") {
  check_rows({
      {"assignment vs value", "x=5", "5", true},
      {"value vs assignment", "5", "x=5", true},
      {"different variables", "x=5", "y=5", false},
      {"line vs its right side", "y=2x+3", "2x+3", true},
      {"line vs implicit form", "y=2x+3", "2x-y+3=0", true},
      {"scaled equation", "3x+3y=6", "x+y=2", true},
      {"different equation", "x+y=2", "x+y=3", false},
      {"plane equations differ", "5x - 7y + 11z + 4 = 0", "x + y - z + 2 = 0", false},
      {"flipped inequality", "x>3", "3<x", true},
      {"strictness matters", "x>3", "x\\ge 3", false},
      {"inequality vs interval", "x>3", "(3,\\infty)", true},
      {"closed ray", "x \\ge 3", "[3,\\infty)", true},
      {"double inequality", "-2 \\le x \\le 7", "[-2,7]", true},
      {"membership", "x \\in [-2,7]", "[-2,7]", true},
      {"membership in a union", "x \\in (0,9) \\cup (9,36)", "(0,9) \\cup (9,36)", true},
      {"assignments in a list", "x=2, y=3", "y=3,x=2", true},
      {"assignments vs values", "x=2, y=3", "2,3", true},
  });
}

TEST_CASE("equivalence: intervals, tuples, sets, unions, plus-minus", "[math][equiv]") {
  check_rows({
      {"open vs closed interval", "(1,2)", "[1,2]", false},
      {"same open interval", "(1,2)", "(1,2)", true},
      {"pair order", "(1,2)", "(2,1)", false},
      {"half-open", "[1,2)", "[1,2)", true},
      {"half-open vs closed", "[1,2)", "[1,2]", false},
      {"half-open the other way", "(1,2]", "[1,2)", false},
      {"infinite end", "(-\\infty,3]", "(-\\infty, 3]", true},
      {"closed vs open end", "(-\\infty,3]", "(-\\infty, 3)", false},
      {"infinity sign", "(-\\infty,3]", "(\\infty, 3]", false},
      {"interval with noise", "\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]",
       "[\\pi^2/8, 5\\pi^2/4]", true},
      {"union order", "(0,9) \\cup (9,36)", "(9,36) \\cup (0,9)", true},
      {"union member differs", "(0,9) \\cup (9,36)", "(0,9) \\cup (9,37)", false},
      {"set order", "\\{1,2\\}", "\\{2,1\\}", true},
      {"bare list order (Math-Verify; hendrycks differs)", "10, 4, -2", "4, 10, -2", true},
      {"list with a missing element", "1,2,3", "1,2", false},
      {"list with a wrong element", "10, 4, 2", "4, 12, 2", false},
      {"duplicates collapse", "2", "2, 2", true},
      {"tuple order", "(1,2,3)", "(3,2,1)", false},
      {"long tuple brackets", "(1,2,3)", "[1,2,3]", true},
      {"pair vs list", "(1,2)", "1,2", true},
      {"closed interval vs list", "[1,2]", "1,2", false},
      {"set vs list", "\\{1,2,3\\}", "1,2,3", true},
      {"scalar vs singleton", "5", "\\{5\\}", true},
      {"scalar vs pair", "\\sqrt{67}", "\\sqrt{67},-\\sqrt{85}", false},
      {"plus-minus", "1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", true},
      {"plus-minus half", "1 \\pm \\sqrt{19}", "1+\\sqrt{19}", false},
      {"plus-minus in a set", "\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt5, 1-\\sqrt5", true},
      {"polar point", "\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", true},
  });
}

TEST_CASE("equivalence: matrices", "[math][equiv]") {
  check_rows({
      {"pmatrix vs bmatrix", "\\begin{pmatrix}0&0&0\\\\0&1&0\\\\0&0&1\\end{pmatrix}",
       "\\begin{bmatrix} 0 & 0 & 0 \\\\ 0 & 1 & 0 \\\\ 0 & 0 & 1 \\end{bmatrix}", true},
      {"column vector with decimals", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}",
       "\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}", true},
      {"column vector is not a tuple", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", "(1/5,-18/5)",
       false},
      {"transposed", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
       "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}", false},
      {"shape matters", "\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
       false},
  });
}

TEST_CASE("equivalence: LaTeX noise, units, text", "[math][equiv]") {
  check_rows({
      {"dollars in math mode", "10", "$10$", true},
      {"escaped dollar", "10", "\\$10", true},
      {"text units", "10\\text{ units}", "10", true},
      {"text units differ", "10\\text{ units}", "100", false},
      {"any trailing text", "17\\text{ any text}", "17", true},
      {"mbox unit with exponent", "15\\mbox{ cm}^2", "15", true},
      {"plain units", "64", "64 square feet", true},
      {"plain unit word", "72 degrees", "72", true},
      {"short unit glued", "5cm", "5", true},
      {"degree mark", "90^\\circ", "90", true},
      {"degree mark braced", "90^{\\circ}", "90", true},
      {"spacing commands", "\\frac{1}{2}", "\\frac {1}{2}", true},
      {"displaystyle", "\\displaystyle\\frac{1}{2}", "0.5", true},
      {"thin spaces", "2\\,\\sqrt{5}", "2\\sqrt{5}", true},
      {"approx tail", "\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{3} \\approx 0.577", true},
      {"trailing backslash", "185", "185\\", true},
      {"trailing period", "185", "185.", true},
      {"text answer", "\\text{Evelyn}", "Evelyn", true},
      {"different names", "\\text{Evelyn}", "\\text{Navin}", false},
      {"near-miss word", "odd", "\\text{oddd}", false},
      {"choice letter", "\\text{(C)}", "C", true},
      {"choice in parentheses", "\\text{(C)}", "(C)", true},
      {"mathrm letter", "E", "\\mathrm{E}", true},
      {"textbf letter", "A", "\\textbf{A}", true},
      {"letter times two", "E", "\\mathrm{E}*2", false},
      {"different choices", "A", "B", false},
      {"words case-insensitive", "\\text{east}", "East", true},
      {"base numeral", "52_8", "52_{8}", true},
      {"base numeral is not its value", "52_8", "42", false},
      {"prime", "f'", "f'", true},
      {"and between items", "1, 2, and 3", "3, 2, 1", true},
      {"million is not a unit", "1.8", "1.8 million", false},
  });
}

TEST_CASE("equivalence: empty and unparseable answers", "[math][equiv]") {
  check_rows({
      {"empty prediction", "5", "", false},
      {"empty gold", "", "5", false},
      {"whitespace prediction", "5", "   ", false},
      {"free text differs", "5", "I do not know", false},
      {"unbalanced brackets", "(1,2)", "(1,2", false},
      {"unknown command", "5", "\\foo{5}", false},
      {"identical unparsed strings", "\\foo{5}", "\\foo{5}", true},
  });
}

// Hostile inputs must come back quickly with "not equal": the verifier sits inside the training loop.
TEST_CASE("equivalence: pathological inputs return quickly", "[math][equiv][limits]") {
  const std::string nested_braces = std::string(10000, '{') + "1" + std::string(10000, '}');
  const std::string nested_parens = std::string(5000, '(') + "1" + std::string(5000, ')');
  const std::string nested_fracs = [] {
    std::string s = "1";
    for (int k = 0; k < 300; ++k) s = "\\frac{" + s + "}{2}";
    return s;
  }();
  std::string long_sum;
  for (int k = 0; k < 3000; ++k) long_sum += "x+";
  long_sum += "1";
  std::string many_plus_minus;
  for (int k = 0; k < 40; ++k) many_plus_minus += "1\\pm ";
  many_plus_minus += "1";
  std::string long_list;
  for (int k = 0; k < 5000; ++k) long_list += std::to_string(k) + ",";
  long_list += "0";
  const struct {
    const char* why;
    std::string gold, pred;
    bool expected;
  } cases[] = {
      {"10,000 nested braces", "1", nested_braces, false},
      {"5,000 nested parentheses", "1", nested_parens, false},
      {"300 nested fractions", "1", nested_fracs, false},
      {"tower of powers", "5", "10^{10^{10}}", false},
      {"two towers", "10^{10^{10}}", "10^{10^{11}}", false},
      {"huge factorial", "5", "100000!", false},
      {"huge binomial", "5", "\\binom{1000000000}{500000000}", false},
      {"huge exponent of a fraction", "0", "(1/2)^{1000000000}", false},
      {"long sum with a variable", "1", long_sum, false},
      {"40 plus-minus signs", "1", many_plus_minus, false},
      {"5,000-element list", "1, 2", long_list, false},
      {"a megabyte of digits", "1", std::string(1 << 20, '7'), false},
      {"400-digit integers", std::string(400, '9'), std::string(400, '9') + "0", false},
      {"deep sqrt", "2",
       std::string(200, ' ') +
           [] {
             std::string s = "2";
             for (int k = 0; k < 100; ++k) s = "\\sqrt{" + s + "}";
             return s;
           }(),
       false},
  };
  for (const auto& c : cases) {
    bool result = true;
    const double seconds = seconds_for(c.gold, c.pred, result);
    INFO(c.why << " took " << seconds << " s");
    CHECK(result == c.expected);
    CHECK(seconds < 0.25);
  }
}
