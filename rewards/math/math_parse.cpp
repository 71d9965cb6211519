// The lexer and recursive-descent parser for answers (see math_parse.h for the grammar and choices).
#include "rewards/math/math_parse.h"
#include "rewards/ascii.h"

#include <algorithm>
#include <array>

#include "rewards/math/math_normalize.h"

namespace aha::rewards::math {
namespace {

constexpr char kThousands = kThousandsSeparator;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// ---------------------------------------------------------------------------------------------------
// Lexer

enum class Tok : uint8_t { End, Number, Letter, Command, Char };

struct Token {
  Tok type = Tok::End;
  std::string_view text;  // Number: the literal (may hold separators); Command: the name without "\"
  bool space_before = false;
};

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> tokens;
  int bracket_depth = 0;  // ( [ \{ nesting: a bare "," is a thousands separator only outside them
  bool space = false;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ' ') {
      space = true;
      ++i;
      continue;
    }
    Token token;
    token.space_before = space;
    space = false;
    const size_t start = i;
    if (is_digit(c) || (c == '.' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      token.type = Tok::Number;
      while (i < s.size() && is_digit(s[i])) ++i;
      const size_t integer_digits = i - start;
      // "1,000,000" / "1{,}000": groups of exactly three digits after a 1-3 digit lead.
      const bool plain_groups_ok = bracket_depth == 0 && integer_digits >= 1 && integer_digits <= 3 &&
                                   s[start] != '0' &&
                                   (start == 0 || (s[start - 1] != '.' && s[start - 1] != ','));
      bool used_plain = false, used_marker = false;
      while (i + 3 < s.size() && (s[i] == kThousands || (s[i] == ',' && plain_groups_ok)) &&
             is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
             (i + 4 == s.size() || !is_digit(s[i + 4]))) {
        if (s[i] == ',') {
          if (used_marker) break;
          used_plain = true;
        } else {
          if (used_plain) break;
          used_marker = true;
        }
        i += 4;
      }
      // A fractional part needs a digit after the point; "3." is 3 and a full stop.
      if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
      }
      if (i + 1 < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && is_digit(s[j])) {
          while (j < s.size() && is_digit(s[j])) ++j;
          if (j == s.size() || !is_letter(s[j])) i = j;  // "2e3x" is not notation; "1e3" is
        }
      }
      token.text = s.substr(start, i - start);
    } else if (is_letter(c)) {
      token.type = Tok::Letter;
      token.text = s.substr(i, 1);
      ++i;
    } else if (c == '\\') {
      token.type = Tok::Command;
      ++i;
      if (i < s.size() && is_letter(s[i])) {
        while (i < s.size() && is_letter(s[i])) ++i;
        token.text = s.substr(start + 1, i - start - 1);
      } else if (i < s.size()) {
        token.text = s.substr(i, 1);
        ++i;
      } else {
        token.text = "";
      }
      if (token.text == "{") ++bracket_depth;
      if (token.text == "}") --bracket_depth;
    } else {
      token.type = Tok::Char;
      token.text = s.substr(i, 1);
      if (c == kThousands) token.text = ",";
      if (c == '(' || c == '[') ++bracket_depth;
      if (c == ')' || c == ']') --bracket_depth;
      ++i;
    }
    tokens.push_back(token);
  }
  tokens.push_back(Token{Tok::End, {}, space});
  return tokens;
}

// ---------------------------------------------------------------------------------------------------
// Parser

constexpr std::array<std::string_view, 22> kFunctions = {
    "sin",  "cos",  "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "sinh",
    "cosh", "tanh", "ln",  "log", "exp", "lg",  "sgn",    "det",    "arcsec", "arccsc", "coth"};

constexpr std::array<std::string_view, 37> kGreek = {
    "alpha", "beta",   "gamma",   "delta", "epsilon", "varepsilon", "zeta",  "eta",   "theta",  "vartheta",
    "iota",  "kappa",  "lambda",  "mu",    "nu",      "xi",         "rho",   "sigma", "tau",    "upsilon",
    "phi",   "varphi", "chi",     "psi",   "omega",   "Gamma",      "Delta", "Theta", "Lambda", "Xi",
    "Pi",    "Sigma",  "Upsilon", "Phi",   "Psi",     "Omega",      "varrho"};

constexpr std::array<std::string_view, 14> kTextCommands = {
    "text", "textbf", "textit", "textrm", "textsf", "texttt",     "textnormal",
    "mbox", "mathrm", "mathbf", "mathit", "mathsf", "boldsymbol", "operatorname"};

// Units and count nouns of 2-3 letters that follow a quantity; longer words are dropped by length.
constexpr std::array<std::string_view, 40> kShortUnits = {
    "cm",  "mm",  "km",  "nm",  "ft",  "yd",  "mi",  "kg",  "mg", "lb",  "lbs", "oz",  "hr", "hrs",
    "min", "sec", "ms",  "ml",  "mph", "kmh", "kph", "sq",  "cu", "deg", "rs",  "usd", "yr", "yrs",
    "wk",  "wks", "day", "per", "gal", "pts", "pt",  "men", "cc", "dm",  "kw",  "eur"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const ParseLimits& limits, Expr& out, int depth)
      : tokens_(std::move(tokens)), limits_(limits), out_(out), depth_(depth) {}

  // The whole token stream as a list; -1 on failure.
  int parse_all() {
    std::vector<int> elements = parse_elements();
    if (failed_ || peek().type != Tok::End || elements.empty()) return -1;
    if (elements.size() == 1) return elements[0];
    Node list;
    list.kind = Kind::List;
    list.args = std::move(elements);
    return add(std::move(list));
  }

 private:
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  const ParseLimits& limits_;
  Expr& out_;
  int depth_;
  int abs_depth_ = 0;  // inside |...|, a "|" closes instead of opening
  bool failed_ = false;

  // -- tokens --------------------------------------------------------------------------------------
  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  bool is_char(char c, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.type == Tok::Char && t.text[0] == c;
  }
  bool is_command(std::string_view name, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.type == Tok::Command && t.text == name;
  }
  void next() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool accept_char(char c) {
    if (!is_char(c)) return false;
    next();
    return true;
  }
  bool accept_command(std::string_view name) {
    if (!is_command(name)) return false;
    next();
    return true;
  }
  int fail() {
    failed_ = true;
    return -1;
  }

  // -- nodes ---------------------------------------------------------------------------------------
  int add(Node node) {
    if (static_cast<int>(out_.nodes.size()) >= limits_.max_nodes) return fail();
    // Height bounds the recursion of every tree walk; chains without brackets ("a/b/c/...", "5!!!")
    // deepen the tree without deepening the parse.
    node.height = 1;
    for (int a : node.args) node.height = std::max<int>(node.height, out_.at(a).height + 1);
    if (node.height > limits_.max_height) return fail();
    out_.nodes.push_back(std::move(node));
    return static_cast<int>(out_.nodes.size()) - 1;
  }
  int make(Kind kind, std::vector<int> args, std::string name = {}) {
    for (int a : args)
      if (a < 0) return fail();
    Node node;
    node.kind = kind;
    node.args = std::move(args);
    node.name = std::move(name);
    return add(std::move(node));
  }
  int number(const Rational& value) {
    Node node;
    node.kind = Kind::Number;
    node.value = value;
    return add(std::move(node));
  }
  int symbol(std::string name) {
    Node node;
    node.kind = Kind::Symbol;
    node.name = std::move(name);
    return add(std::move(node));
  }
  // Flattens nested products so "2xy" is one Mul of three.
  int product(int left, int right) {
    if (left < 0 || right < 0) return fail();
    std::vector<int> args;
    for (int side : {left, right}) {
      const Node& n = out_.at(side);
      if (n.kind == Kind::Mul) {
        args.insert(args.end(), n.args.begin(), n.args.end());
      } else {
        args.push_back(side);
      }
    }
    return make(Kind::Mul, std::move(args));
  }
  bool has_variables(int index) const {
    const Node& n = out_.at(index);
    if (n.kind == Kind::Symbol || n.kind == Kind::Word || n.kind == Kind::Text) return true;
    for (int a : n.args)
      if (has_variables(a)) return true;
    return false;
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > p.limits_.max_depth) p.failed_ = true;
    }
    ~DepthGuard() { --p.depth_; }
  };

  // -- grammar -------------------------------------------------------------------------------------
  std::vector<int> parse_elements() {
    std::vector<int> elements;
    while (!failed_) {
      const int element = parse_relation();
      if (element < 0) {
        fail();
        break;
      }
      elements.push_back(element);
      if (!accept_char(',') && !accept_char(';')) break;
    }
    return elements;
  }

  std::optional<Rel> peek_relation(size_t& width) const {
    width = 1;
    const Token& t = peek();
    if (t.type == Tok::Char) {
      const bool then_equals = is_char('=', 1);
      switch (t.text[0]) {
        case '=':
          return Rel::Eq;
        case '<':
          if (then_equals) width = 2;
          return then_equals ? Rel::Le : Rel::Lt;
        case '>':
          if (then_equals) width = 2;
          return then_equals ? Rel::Ge : Rel::Gt;
        case '!':
          if (then_equals) {
            width = 2;
            return Rel::Ne;
          }
          return std::nullopt;
        default:
          return std::nullopt;
      }
    }
    if (t.type != Tok::Command) return std::nullopt;
    if (t.text == "le" || t.text == "leq" || t.text == "leqslant") return Rel::Le;
    if (t.text == "ge" || t.text == "geq" || t.text == "geqslant") return Rel::Ge;
    if (t.text == "lt") return Rel::Lt;
    if (t.text == "gt") return Rel::Gt;
    if (t.text == "ne" || t.text == "neq") return Rel::Ne;
    if (t.text == "in") return Rel::In;
    return std::nullopt;
  }

  int parse_relation() {
    if (failed_) return -1;
    int first = parse_union();
    if (first < 0) return fail();
    size_t width = 0;
    std::optional<Rel> rel = peek_relation(width);
    if (!rel) return first;
    Node chain;
    chain.kind = Kind::Relation;
    chain.args.push_back(first);
    while (rel) {
      for (size_t k = 0; k < width; ++k) next();
      const int operand = parse_union();
      if (operand < 0) return fail();
      chain.rels.push_back(*rel);
      chain.args.push_back(operand);
      rel = peek_relation(width);
    }
    return add(std::move(chain));
  }

  int parse_union() {
    int first = parse_sum();
    if (first < 0 || !is_command("cup")) return first;
    std::vector<int> parts{first};
    while (accept_command("cup")) parts.push_back(parse_sum());
    return make(Kind::Union, std::move(parts));
  }

  int sum_of(std::vector<int> terms) {
    if (terms.size() == 1) return terms[0];
    return make(Kind::Add, std::move(terms));
  }

  int parse_sum() {
    if (failed_) return -1;
    std::vector<int> terms{parse_term()};
    if (terms[0] < 0) return fail();
    while (!failed_) {
      if (accept_char('+')) {
        terms.push_back(parse_term());
      } else if (is_char('-')) {
        next();
        terms.push_back(make(Kind::Neg, {parse_term()}));
      } else if (is_command("pm") || is_command("mp")) {
        const bool minus_first = is_command("mp");
        next();
        int right = parse_term();
        if (minus_first) right = make(Kind::Neg, {right});
        const int left = sum_of(std::move(terms));
        terms = {make(Kind::PlusMinus, {left, right})};
      } else {
        break;
      }
      if (terms.back() < 0) return fail();
    }
    return sum_of(std::move(terms));
  }

  // Whether the next token can begin an operand multiplied by juxtaposition ("2x", "(x-2)(x+2)").
  bool starts_implicit_operand() const {
    const Token& t = peek();
    switch (t.type) {
      case Tok::Number:
      case Tok::Letter:
        return true;
      case Tok::Char:
        return t.text[0] == '(' || t.text[0] == '{' || (t.text[0] == '|' && abs_depth_ == 0);
      case Tok::Command: {
        static constexpr std::array<std::string_view, 16> kNotOperands = {
            "cdot", "times", "div", "pm", "mp",  "cup", "cap", "le",
            "leq",  "ge",    "geq", "ne", "neq", "in",  "lt",  "gt"};
        if (contains(kNotOperands, t.text)) return false;
        if (t.text == "}" || t.text == "\\" || t.text == "rfloor" || t.text == "rceil" || t.text == "end" ||
            t.text == "rvert" || t.text == "rangle" || t.text == "leqslant" || t.text == "geqslant")
          return false;
        return true;
      }
      default:
        return false;
    }
  }

  bool is_text_command(size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.type == Tok::Command && contains(kTextCommands, t.text) && t.text != "operatorname";
  }

  // The letters written together from the current token on ("cm" in "5cm"), without consuming them.
  std::string peek_letter_run(size_t& count) const {
    std::string run;
    count = 0;
    while (peek(count).type == Tok::Letter && (count == 0 || !peek(count).space_before)) {
      run.push_back(peek(count).text[0]);
      ++count;
    }
    return run;
  }

  bool is_unit_word(const std::string& run, bool space_before) const {
    if (run.size() < 2) return false;
    std::string word;
    for (char c : run) word.push_back(lower(c));
    if (contains(kShortUnits, word)) return true;
    if (word.size() >= 3 && word.back() == 's' &&
        contains(kShortUnits, std::string_view(word).substr(0, word.size() - 1)))
      return true;
    static constexpr std::array<std::string_view, 6> kMultipliers = {"hundred", "thousand", "million",
                                                                     "billion", "trillion", "infinity"};
    return space_before && word.size() >= 4 && !contains(kMultipliers, word);
  }

  // Skips "^2" / "^{2}" after a dropped unit ("cm^2").
  void skip_unit_exponent() {
    if (!accept_char('^')) return;
    if (peek().type == Tok::Number || peek().type == Tok::Letter) {
      next();
    } else if (accept_char('{')) {
      int depth = 1;
      while (peek().type != Tok::End && depth > 0) {
        if (is_char('{')) ++depth;
        if (is_char('}')) --depth;
        next();
      }
    }
  }

  int parse_term() {
    if (failed_) return -1;
    int acc = parse_unary();
    if (acc < 0) return fail();
    bool dropped_unit = false;
    while (!failed_) {
      if ((is_char('*') && !is_char('*', 1)) || is_command("cdot") || is_command("times") ||
          is_command("ast")) {
        next();
        acc = product(acc, parse_unary());
      } else if (is_char('/') || is_command("div")) {
        next();
        acc = make(Kind::Div, {acc, parse_unary()});
      } else if (starts_implicit_operand()) {
        // A unit after a quantity: "10\text{ units}", "64 square feet", "5cm".
        if (is_text_command()) {
          const size_t saved = pos_;
          const int text = parse_primary();
          if (text >= 0 && out_.at(text).kind == Kind::Text) {
            skip_unit_exponent();
            dropped_unit = true;
            continue;
          }
          pos_ = saved;  // mathematics in \mathrm{...}: parsed again below as a factor
          failed_ = false;
        }
        if (peek().type == Tok::Letter && !has_variables(acc)) {
          size_t count = 0;
          const std::string run = peek_letter_run(count);
          if ((dropped_unit && run.size() >= 2) || is_unit_word(run, peek().space_before)) {
            for (size_t k = 0; k < count; ++k) next();
            skip_unit_exponent();
            dropped_unit = true;
            continue;
          }
        }
        if (dropped_unit) return fail();  // "5 cm x": a unit in the middle of an expression
        // A mixed number: an integer written right before \frac{int}{int} ("-2\frac12" is -(2 + 1/2)).
        const bool negated = out_.at(acc).kind == Kind::Neg;
        const int whole = negated ? out_.at(acc).args[0] : acc;
        const bool integer_left = out_.at(whole).kind == Kind::Number && out_.at(whole).integer_literal;
        const int right = parse_postfix();
        if (right < 0) return fail();
        if (integer_left && is_mixed_fraction(out_.at(right))) {
          acc = make(Kind::Add, {whole, right});
          if (negated) acc = make(Kind::Neg, {acc});
        } else {
          acc = product(acc, right);
        }
      } else {
        break;
      }
      if (acc < 0) return fail();
    }
    return acc;
  }

  bool is_mixed_fraction(const Node& n) const {
    if (n.kind != Kind::Div || !n.latex_frac) return false;
    const Node& a = out_.at(n.args[0]);
    const Node& b = out_.at(n.args[1]);
    return a.kind == Kind::Number && a.integer_literal && b.kind == Kind::Number && b.integer_literal;
  }

  int parse_unary() {
    if (failed_) return -1;
    if (!is_char('-') && !is_char('+') && !is_command("pm") && !is_command("mp")) return parse_postfix();
    DepthGuard guard(*this);  // "- - - - x" recurses without brackets
    if (failed_) return -1;
    if (accept_char('-')) return make(Kind::Neg, {parse_unary()});
    if (accept_char('+')) return parse_unary();
    if (is_command("pm") || is_command("mp")) {
      next();
      return make(Kind::PlusMinus, {number(Rational(0)), parse_unary()});
    }
    return parse_postfix();
  }

  int parse_postfix() {
    int base = parse_power();
    while (base >= 0) {
      if (is_char('!') && !is_char('=', 1)) {
        next();
        base = make(Kind::Func, {base}, "factorial");
      } else if (accept_char('%')) {
        base = make(Kind::Percent, {base});
      } else {
        break;
      }
      if (base >= 0 && is_char('^')) base = parse_power_of(base);
    }
    return base;
  }

  bool at_power() const { return is_char('^') || (is_char('*') && is_char('*', 1)); }

  int parse_power_of(int base) {
    if (accept_char('^')) return make(Kind::Pow, {base, parse_exponent()});
    next();
    next();  // "**"
    return make(Kind::Pow, {base, parse_exponent()});
  }

  int parse_power() {
    if (failed_) return -1;
    int base = parse_primary();
    if (base >= 0 && at_power()) base = parse_power_of(base);
    return base;
  }

  // After "^": a braced group, a parenthesised expression, a signed operand ("2^-1"), a whole number
  // ("2^10", the plain-text reading), one letter, or one command; right-associative.
  int parse_exponent() {
    DepthGuard guard(*this);
    if (failed_) return -1;
    int exponent;
    if (is_char('-') || is_char('+')) {
      const bool negative = is_char('-');
      next();
      exponent = parse_exponent();
      if (negative) exponent = make(Kind::Neg, {exponent});
      return exponent;
    }
    if (peek().type == Tok::Letter) {
      exponent = symbol(std::string(1, lower(peek().text[0])));
      next();
    } else {
      exponent = parse_primary();
    }
    if (exponent >= 0 && at_power()) exponent = parse_power_of(exponent);
    return exponent;
  }

  // One LaTeX argument: a {group}, or else a single character or command ("\frac12", "\sqrt3", "\frac\pi2").
  int parse_argument() {
    if (failed_) return -1;
    if (is_char('{')) return parse_primary();
    Token& t = tokens_[pos_];
    if (t.type == Tok::Number) {
      if (t.text.size() == 1) return parse_primary();
      // Split the literal: the first digit is this argument, the rest stays for the next one.
      const std::string_view digit = t.text.substr(0, 1);
      t.text.remove_prefix(1);
      t.space_before = false;
      Node node;
      node.kind = Kind::Number;
      node.value = Rational(digit[0] - '0');
      node.integer_literal = true;
      return add(std::move(node));
    }
    if (t.type == Tok::Letter) {
      const int s = symbol(std::string(1, lower(t.text[0])));
      next();
      return s;
    }
    if (t.type == Tok::Command) return parse_primary();
    return fail();
  }

  int parse_number_token() {
    const std::string_view text = peek().text;
    std::string digits;
    bool decimal = false;
    for (char c : text) {
      if (c == ',' || c == kThousands) continue;
      if (c == '.' || c == 'e' || c == 'E') decimal = true;
      digits.push_back(c);
    }
    const std::optional<Rational> value = Rational::from_decimal(digits);
    if (!value) return fail();
    next();
    // "52_8", "2516_8", "4210_{5}": a numeral in another base.
    if (!decimal && is_char('_')) {
      next();
      std::string base_text;
      if (accept_char('{')) {
        while (peek().type == Tok::Number) {
          base_text += peek().text;
          next();
        }
        if (!accept_char('}')) return fail();
      } else if (peek().type == Tok::Number) {
        base_text = peek().text;
        next();
      }
      if (base_text.empty() || base_text.size() > 2 || !is_digit(base_text[0]) || !is_digit(base_text.back()))
        return fail();
      const int base =
          base_text.size() == 1 ? base_text[0] - '0' : (base_text[0] - '0') * 10 + (base_text[1] - '0');
      if (base < 2 || base > 36) return fail();
      std::string canonical = digits.substr(std::min(digits.find_first_not_of('0'), digits.size() - 1));
      for (char c : canonical)
        if (c - '0' >= base) return fail();
      Node node;
      node.kind = Kind::BaseNumeral;
      node.name = canonical;
      node.base = base;
      return add(std::move(node));
    }
    Node node;
    node.kind = Kind::Number;
    node.value = *value;
    node.decimal_literal = decimal;
    node.integer_literal = !decimal && text.find(',') == std::string_view::npos;
    return add(std::move(node));
  }

  // Subscript and primes after a one-letter name: "x_1", "a_{n}", "f'".
  std::string decorate_name(std::string name) {
    if (accept_char('_')) {
      name.push_back('_');
      if (accept_char('{')) {
        int depth = 1;
        while (peek().type != Tok::End) {
          if (is_char('{')) ++depth;
          if (is_char('}') && --depth == 0) break;
          name.append(peek().text);
          next();
        }
        if (!accept_char('}')) fail();
      } else if (peek().type == Tok::Number || peek().type == Tok::Letter) {
        name.append(peek().text.substr(0, 1));
        if (peek().type == Tok::Number && peek().text.size() > 1) {
          tokens_[pos_].text.remove_prefix(1);
        } else {
          next();
        }
      } else {
        fail();
      }
    }
    while (accept_char('\'')) name.push_back('\'');
    return name;
  }

  int parse_letters() {
    size_t count = 0;
    const std::string run = peek_letter_run(count);
    std::string low;
    for (char c : run) low.push_back(lower(c));
    // A function name written in plain text: "sin x", "sqrt(2)", "log 8", and "sinx" (name + one letter).
    for (size_t len = std::min<size_t>(run.size(), 6); len >= 2; --len) {
      const std::string_view head = std::string_view(low).substr(0, len);
      if ((contains(kFunctions, head) || head == "sqrt") && run.size() - len <= 1) {
        for (size_t k = 0; k < len; ++k) next();
        return parse_function(std::string(head));
      }
    }
    if (low == "pi") {
      next();
      next();
      return symbol("pi");
    }
    if (low == "inf" || low == "infinity" || low == "infty") {
      for (size_t k = 0; k < count; ++k) next();
      return symbol("inf");
    }
    // One letter, or the first of several when the run ends in a power, subscript or prime: in "xe^x"
    // the exponent belongs to the e alone, so the letters are taken one at a time.
    const Token& after = peek(count);
    const bool decorated = after.type == Tok::Char && !after.space_before &&
                           (after.text[0] == '^' || after.text[0] == '_' || after.text[0] == '\'');
    if (count == 1 || decorated) {
      next();
      return symbol(decorate_name(std::string(1, lower(run[0]))));
    }
    for (size_t k = 0; k < count; ++k) next();
    Node word;
    word.kind = Kind::Word;
    word.name = low;
    return add(std::move(word));
  }

  // \sin x, \sin(x), \sin^2 x, \log_2 8, \ln{2}: the argument is a parenthesised or braced group, or
  // else the juxtaposed factors that follow ("\sin 2x" = sin(2x)), stopping at the next function.
  int parse_function(const std::string& name) {
    if (failed_) return -1;
    int exponent = -1;
    int base = -1;
    for (int k = 0; k < 2; ++k) {
      if (is_char('^') && exponent < 0) {
        next();
        exponent = parse_exponent();
      } else if ((name == "log") && is_char('_') && base < 0) {
        next();
        base = parse_argument();
      }
    }
    if (failed_) return -1;
    int argument;
    if (is_char('(') || is_char('{')) {
      argument = parse_power();
    } else {
      argument = parse_postfix();
      while (argument >= 0 && starts_implicit_operand() && !starts_function())
        argument = product(argument, parse_postfix());
    }
    std::vector<int> args{argument};
    if (base >= 0) args.push_back(base);
    std::string canonical = name == "lg" ? "log10" : name;
    int call = make(Kind::Func, std::move(args), canonical);
    if (exponent >= 0) call = make(Kind::Pow, {call, exponent});
    return call;
  }

  bool starts_function() const {
    const Token& t = peek();
    if (t.type == Tok::Command) return contains(kFunctions, t.text) || t.text == "sqrt";
    return false;
  }

  // The raw text of a {group} starting at the current "{" token, consumed.
  std::optional<std::string> raw_group() {
    if (!accept_char('{')) return std::nullopt;
    std::string text;
    int depth = 1;
    while (peek().type != Tok::End) {
      if (is_char('{')) ++depth;
      if (is_char('}') && --depth == 0) break;
      if (peek().space_before && !text.empty()) text.push_back(' ');
      if (peek().type == Tok::Command) text.push_back('\\');
      text.append(peek().text);
      next();
    }
    if (!accept_char('}')) return std::nullopt;
    return text;
  }

  // \text{...} and its relatives: one letter is that symbol, "(C)" is C, words are Text, anything with
  // digits or operators is parsed as mathematics.
  int parse_text_command(std::string_view command) {
    const std::optional<std::string> content = raw_group();
    if (!content) return fail();
    std::string trimmed;
    for (char c : *content)
      if (c != ' ' || (!trimmed.empty() && trimmed.back() != ' ')) trimmed.push_back(c);
    while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
    std::string letters = trimmed;
    if (letters.size() == 3 && letters.front() == '(' && letters.back() == ')')
      letters = letters.substr(1, 1);
    if (letters.size() == 1 && is_letter(letters[0])) return symbol(std::string(1, lower(letters[0])));
    bool wordy = !trimmed.empty();
    for (char c : trimmed)
      if (!is_letter(c) && c != ' ' && c != '\'' && c != '-' && c != '(' && c != ')' && c != '.')
        wordy = false;
    if (wordy && command == "operatorname") {
      std::string low;
      for (char c : trimmed) low.push_back(lower(c));
      if (contains(kFunctions, low)) return parse_function(low);
    }
    if (wordy) {
      Node text;
      text.kind = Kind::Text;
      for (char c : trimmed)
        if (c != '(' && c != ')') text.name.push_back(lower(c));
      return add(std::move(text));
    }
    if (trimmed.empty()) return fail();
    // Mathematics inside \text or \mathrm: parse it on its own.
    Parser inner(lex(trimmed), limits_, out_, depth_ + 1);
    const int node = inner.parse_all();
    if (node < 0) return fail();
    return node;
  }

  int parse_matrix(const std::string& environment) {
    // "array" carries a column spec: \begin{array}{cc}.
    if (environment == "array" && is_char('{')) {
      if (!raw_group()) return fail();
    }
    std::vector<std::vector<int>> rows(1);
    while (!failed_) {
      if (is_command("end")) break;
      if (peek().type == Tok::End) return fail();
      const int cell = parse_relation();
      if (cell < 0) return fail();
      rows.back().push_back(cell);
      if (accept_char('&')) continue;
      if (accept_command("\\")) {
        if (!is_command("end")) rows.emplace_back();
        continue;
      }
      if (!is_command("end")) return fail();
    }
    next();  // \end
    const std::optional<std::string> closing = raw_group();
    if (!closing || *closing != environment) return fail();
    const size_t cols = rows[0].size();
    Node matrix;
    matrix.kind = Kind::Matrix;
    for (const std::vector<int>& row : rows) {
      if (row.size() != cols || cols == 0) return fail();
      matrix.args.insert(matrix.args.end(), row.begin(), row.end());
    }
    matrix.rows = static_cast<int>(rows.size());
    matrix.cols = static_cast<int>(cols);
    return add(std::move(matrix));
  }

  // ( list ), [ list ], (a, b], [a, b): one element in matching round brackets is grouping; more make a
  // Seq that remembers its brackets.
  int parse_bracketed(char open) {
    next();
    std::vector<int> elements = parse_elements();
    if (failed_) return -1;
    char close;
    if (accept_char(')')) {
      close = ')';
    } else if (accept_char(']')) {
      close = ']';
    } else {
      return fail();
    }
    if (elements.size() == 1) {
      if ((open == '(' && close == ')') || (open == '[' && close == ']')) return elements[0];
      return fail();
    }
    Node seq;
    seq.kind = Kind::Seq;
    seq.open = open;
    seq.close = close;
    seq.args = std::move(elements);
    return add(std::move(seq));
  }

  int parse_primary() {
    DepthGuard guard(*this);
    if (failed_) return -1;
    const Token& t = peek();
    switch (t.type) {
      case Tok::Number:
        return parse_number_token();
      case Tok::Letter:
        return parse_letters();
      case Tok::Char: {
        const char c = t.text[0];
        if (c == '(' || c == '[') return parse_bracketed(c);
        if (c == '{') {
          next();
          std::vector<int> elements = parse_elements();
          if (failed_ || !accept_char('}')) return fail();
          if (elements.size() == 1) return elements[0];
          return make(Kind::List, std::move(elements));
        }
        if (c == '|' && abs_depth_ == 0) {
          next();
          ++abs_depth_;
          const int inner = parse_sum();
          --abs_depth_;
          if (!accept_char('|')) return fail();
          return make(Kind::Func, {inner}, "abs");
        }
        return fail();
      }
      case Tok::Command:
        return parse_command();
      default:
        return fail();
    }
  }

  int parse_command() {
    const std::string name(peek().text);
    next();
    if (name == "frac") {
      const int top = parse_argument();
      const int bottom = parse_argument();
      const int fraction = make(Kind::Div, {top, bottom});
      if (fraction >= 0) out_.nodes[static_cast<size_t>(fraction)].latex_frac = true;
      return fraction;
    }
    if (name == "binom") {
      const int n = parse_argument();
      const int k = parse_argument();
      return make(Kind::Func, {n, k}, "binom");
    }
    if (name == "sqrt") {
      int index = -1;
      if (accept_char('[')) {
        index = parse_sum();
        if (!accept_char(']')) return fail();
      }
      const int radicand = parse_argument();
      if (index >= 0) return make(Kind::Func, {radicand, index}, "root");
      return make(Kind::Func, {radicand}, "sqrt");
    }
    if (contains(kFunctions, name)) return parse_function(name);
    if (name == "pi") return symbol("pi");
    if (name == "infty" || name == "infin") return symbol("inf");
    if (name == "imath") return symbol("i");
    if (contains(kGreek, name)) return symbol(decorate_name(name));
    if (contains(kTextCommands, name)) return parse_text_command(name);
    if (name == "mathbb" || name == "mathcal" || name == "mathfrak") return parse_text_command("text");
    if (name == "boxed" || name == "fbox" || name == "overline" || name == "bar" || name == "hat" ||
        name == "vec") {
      return parse_argument();
    }
    if (name == "{") {
      std::vector<int> elements;
      if (!is_command("}")) elements = parse_elements();
      if (failed_ || !accept_command("}")) return fail();
      return make(Kind::Set, std::move(elements));
    }
    if (name == "emptyset" || name == "varnothing") return make(Kind::Set, {});
    if (name == "lfloor" || name == "lceil") {
      const int inner = parse_sum();
      if (!accept_command(name == "lfloor" ? "rfloor" : "rceil")) return fail();
      return make(Kind::Func, {inner}, name == "lfloor" ? "floor" : "ceil");
    }
    if (name == "lvert" || name == "vert") {
      const int inner = parse_sum();
      if (!accept_command(name == "lvert" ? "rvert" : "vert")) return fail();
      return make(Kind::Func, {inner}, "abs");
    }
    if (name == "langle") {
      std::vector<int> elements = parse_elements();
      if (failed_ || !accept_command("rangle")) return fail();
      Node seq;
      seq.kind = Kind::Seq;
      seq.open = '<';
      seq.close = '>';
      seq.args = std::move(elements);
      return add(std::move(seq));
    }
    if (name == "begin") {
      const std::optional<std::string> environment = raw_group();
      static constexpr std::array<std::string_view, 6> kMatrices = {"pmatrix", "bmatrix",     "matrix",
                                                                    "Bmatrix", "smallmatrix", "array"};
      if (!environment || !contains(kMatrices, *environment)) return fail();
      return parse_matrix(*environment);
    }
    return fail();  // an unknown command: not something this grammar can judge
  }
};

void render(const Expr& expr, int index, std::string& out) {
  const Node& n = expr.at(index);
  static constexpr std::array<std::string_view, 19> kNames = {
      "Number",  "Symbol",    "Word", "Text",     "Base", "Add", "Mul", "Div",   "Pow",   "Neg",
      "Percent", "PlusMinus", "Func", "Relation", "List", "Set", "Seq", "Union", "Matrix"};
  switch (n.kind) {
    case Kind::Number:
      out += n.value.to_string();
      if (n.decimal_literal) out += "f";
      return;
    case Kind::Symbol:
      out += n.name;
      return;
    case Kind::Word:
    case Kind::Text:
      out += std::string(kNames[static_cast<size_t>(n.kind)]) + "'" + n.name + "'";
      return;
    case Kind::BaseNumeral:
      out += n.name + "_" + std::to_string(n.base);
      return;
    default:
      break;
  }
  out += n.kind == Kind::Func ? n.name : std::string(kNames[static_cast<size_t>(n.kind)]);
  if (n.kind == Kind::Seq) out += std::string(1, n.open) + std::string(1, n.close);
  if (n.kind == Kind::Matrix) out += std::to_string(n.rows) + "x" + std::to_string(n.cols);
  out += "(";
  static constexpr std::array<std::string_view, 7> kRels = {"=", "!=", "<", "<=", ">", ">=", "in"};
  for (size_t k = 0; k < n.args.size(); ++k) {
    if (k > 0)
      out += n.kind == Kind::Relation ? " " + std::string(kRels[static_cast<size_t>(n.rels[k - 1])]) + " "
                                      : ", ";
    render(expr, n.args[k], out);
  }
  out += ")";
}

}  // namespace

std::optional<Expr> parse_answer(std::string_view normalized, const ParseLimits& limits) {
  if (normalized.empty() || normalized.size() > limits.max_chars) return std::nullopt;
  Expr expr;
  Parser parser(lex(normalized), limits, expr, 0);
  const int root = parser.parse_all();
  if (root < 0) return std::nullopt;
  expr.root = root;
  return expr;
}

std::string debug_string(const Expr& expr, int index) {
  if (index < 0) return "<none>";
  std::string out;
  render(expr, index, out);
  return out;
}

}  // namespace aha::rewards::math
