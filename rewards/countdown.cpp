// The Countdown checker (see countdown.h): a strict recursive-descent parser with exact arithmetic.
#include "rewards/countdown.h"
#include "rewards/ascii.h"

#include <algorithm>
#include <stdexcept>

#include "rewards/math/math_extract.h"
#include "rewards/task_options.h"

namespace aha::rewards {
namespace {

constexpr size_t kMaxExpression = 512;
constexpr int kMaxDepth = 32;
constexpr size_t kMaxNumbers = 16;

enum class Tok : uint8_t { End, Number, Plus, Minus, Times, Divide, Open, Close, Equals, Bad };

struct Token {
  Tok type = Tok::End;
  std::string_view text;
};


// Tokens, or a Bad token naming the first thing that is not allowed.
std::vector<Token> lex(std::string_view s) {
  std::vector<Token> tokens;
  static constexpr std::pair<std::string_view, Tok> kSpelled[] = {
      {"\u00d7", Tok::Times}, {"\\times", Tok::Times}, {"\\cdot", Tok::Times}, {"\u00f7", Tok::Divide},
      {"\\div", Tok::Divide}, {"\u2212", Tok::Minus},  {"*", Tok::Times},      {"/", Tok::Divide},
      {"+", Tok::Plus},       {"-", Tok::Minus},       {"(", Tok::Open},       {")", Tok::Close},
      {"=", Tok::Equals},
  };
  for (size_t i = 0; i < s.size();) {
    if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
      ++i;
      continue;
    }
    if (is_digit(s[i])) {
      size_t j = i;
      while (j < s.size() && is_digit(s[j])) ++j;
      tokens.push_back({Tok::Number, s.substr(i, j - i)});
      i = j;
      continue;
    }
    bool matched = false;
    for (const auto& [spelling, type] : kSpelled) {
      if (s.compare(i, spelling.size(), spelling) == 0) {
        // "\times" must not be the start of a longer command.
        const size_t end = i + spelling.size();
        if (spelling[0] == '\\' && end < s.size() && std::isalpha(static_cast<unsigned char>(s[end])))
          continue;
        tokens.push_back({type, s.substr(i, spelling.size())});
        i = end;
        matched = true;
        break;
      }
    }
    if (!matched) {
      tokens.push_back({Tok::Bad, s.substr(i, 1)});
      return tokens;
    }
  }
  tokens.push_back({Tok::End, {}});
  return tokens;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::vector<int64_t> available)
      : tokens_(tokens), available_(std::move(available)) {}

  // The value of the whole expression; sets error_/verdict_ on failure.
  std::optional<math::Rational> parse_expression(int depth) {
    if (depth > kMaxDepth) return fail(CountdownVerdict::Malformed, "nesting deeper than 32");
    std::optional<math::Rational> value = parse_term(depth);
    while (value && (peek() == Tok::Plus || peek() == Tok::Minus)) {
      const bool plus = peek() == Tok::Plus;
      ++pos_;
      const std::optional<math::Rational> right = parse_term(depth);
      if (!right) return std::nullopt;
      value = plus ? math::Rational::add(*value, *right) : math::Rational::sub(*value, *right);
      if (!value) return fail(CountdownVerdict::Malformed, "a value too large");
    }
    return value;
  }

  Tok peek() const { return tokens_[pos_].type; }
  const Token& current() const { return tokens_[pos_]; }
  void advance() { ++pos_; }
  const std::vector<int64_t>& unused() const { return available_; }
  CountdownVerdict verdict() const { return verdict_; }
  const std::string& error() const { return error_; }

 private:
  const std::vector<Token>& tokens_;
  std::vector<int64_t> available_;  // the given numbers not yet used
  size_t pos_ = 0;
  CountdownVerdict verdict_ = CountdownVerdict::Malformed;
  std::string error_;

  std::nullopt_t fail(CountdownVerdict verdict, std::string message) {
    if (error_.empty()) {
      verdict_ = verdict;
      error_ = std::move(message);
    }
    return std::nullopt;
  }

  std::optional<math::Rational> parse_term(int depth) {
    std::optional<math::Rational> value = parse_factor(depth);
    while (value && (peek() == Tok::Times || peek() == Tok::Divide)) {
      const bool times = peek() == Tok::Times;
      ++pos_;
      if (peek() == Tok::Times || peek() == Tok::Divide)
        return fail(CountdownVerdict::Malformed, "a doubled operator (** or //)");
      const std::optional<math::Rational> right = parse_factor(depth);
      if (!right) return std::nullopt;
      if (!times && right->is_zero()) return fail(CountdownVerdict::DivisionByZero, "division by zero");
      value = times ? math::Rational::mul(*value, *right) : math::Rational::div(*value, *right);
      if (!value) return fail(CountdownVerdict::Malformed, "a value too large");
    }
    return value;
  }

  std::optional<math::Rational> parse_factor(int depth) {
    const Token& t = tokens_[pos_];
    if (t.type == Tok::Open) {
      ++pos_;
      std::optional<math::Rational> value = parse_expression(depth + 1);
      if (!value) return std::nullopt;
      if (peek() != Tok::Close) return fail(CountdownVerdict::Malformed, "an unclosed '('");
      ++pos_;
      return value;
    }
    if (t.type != Tok::Number) {
      if (t.type == Tok::Minus || t.type == Tok::Plus)
        return fail(CountdownVerdict::Malformed, "a unary sign");
      if (t.type == Tok::End) return fail(CountdownVerdict::Malformed, "an expression that ends too early");
      return fail(CountdownVerdict::Malformed, "'" + std::string(t.text) + "' where a number or '(' belongs");
    }
    ++pos_;
    if (t.text.size() > 1 && t.text[0] == '0') return fail(CountdownVerdict::Malformed, "a leading zero");
    if (t.text.size() > 18)
      return fail(CountdownVerdict::WrongNumbers, std::string(t.text) + " is not given");
    const int64_t n = std::stoll(std::string(t.text));
    const auto it = std::find(available_.begin(), available_.end(), n);
    if (it == available_.end())
      return fail(CountdownVerdict::WrongNumbers, std::to_string(n) + " is not given or is used too often");
    available_.erase(it);
    return math::Rational(n);
  }
};

std::optional<std::string_view> answer_of(std::string_view completion, const Tags& tags) {
  const size_t close = completion.rfind(tags.answer_close);
  if (close != std::string_view::npos) {
    const size_t open = completion.substr(0, close).rfind(tags.answer_open);
    if (open != std::string_view::npos && open + tags.answer_open.size() <= close)
      return completion.substr(open + tags.answer_open.size(), close - open - tags.answer_open.size());
  }
  return std::nullopt;
}

}  // namespace

CountdownProblem countdown_problem_from_json(const nlohmann::json& problem, const std::string& where) {
  const std::string example = R"( (expected {"numbers": [3, 5, 7], "target": 22}))";
  if (!problem.is_object() || !problem.contains("numbers") || !problem.contains("target"))
    throw std::invalid_argument(where + ": the problem must be an object with 'numbers' and 'target', got " +
                                problem.dump().substr(0, 200) + example);
  const nlohmann::json& numbers = problem.at("numbers");
  if (!numbers.is_array() || numbers.empty() || numbers.size() > kMaxNumbers)
    throw std::invalid_argument(where + ": 'numbers' must be an array of 1 to 16 integers, got " +
                                numbers.dump().substr(0, 200) + example);
  CountdownProblem out;
  for (const nlohmann::json& n : numbers) {
    if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() > 1000000000000LL)
      throw std::invalid_argument(where + ": every number must be an integer in [0, 1e12], got " + n.dump() +
                                  example);
    out.numbers.push_back(n.get<int64_t>());
  }
  const nlohmann::json& target = problem.at("target");
  if (!target.is_number_integer())
    throw std::invalid_argument(where + ": 'target' must be an integer, got " + target.dump() + example);
  out.target = target.get<int64_t>();
  return out;
}

CountdownResult check_countdown(std::string_view expression, const CountdownProblem& problem) {
  CountdownResult result;
  if (expression.size() > kMaxExpression) {
    result.detail = "longer than 512 characters";
    return result;
  }
  const std::vector<Token> tokens = lex(expression);
  if (tokens.back().type == Tok::Bad) {
    result.detail = "'" + std::string(tokens.back().text) + "' is not allowed";
    return result;
  }
  Parser parser(tokens, problem.numbers);
  const std::optional<math::Rational> value = parser.parse_expression(0);
  if (!value) {
    result.verdict = parser.verdict();
    result.detail = parser.error();
    return result;
  }
  // An optional "= target" after the expression.
  if (parser.peek() == Tok::Equals) {
    parser.advance();
    const Token& t = parser.current();
    if (t.type != Tok::Number || t.text != std::to_string(problem.target)) {
      result.detail = "'=' not followed by the target";
      return result;
    }
    parser.advance();
  }
  if (parser.peek() != Tok::End) {
    result.detail = "'" + std::string(parser.current().text) + "' after the expression";
    return result;
  }
  result.value = value;
  if (!parser.unused().empty()) {
    result.verdict = CountdownVerdict::WrongNumbers;
    result.detail = std::to_string(parser.unused().size()) + " given number(s) unused";
    return result;
  }
  result.verdict =
      *value == math::Rational(problem.target) ? CountdownVerdict::Correct : CountdownVerdict::WrongValue;
  return result;
}

double CountdownRule::score(const RewardInput& input) const {
  CountdownProblem problem;
  if (!input.answer.empty() || !fixed_) {
    nlohmann::json parsed = nlohmann::json::parse(input.answer, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded())
      throw std::invalid_argument("countdown: the ground truth is not JSON: '" + input.answer.substr(0, 200) +
                                  R"(' (expected {"numbers": [3, 5, 7], "target": 22}))");
    problem = countdown_problem_from_json(parsed, "countdown");
  } else {
    problem = *fixed_;
  }
  std::optional<std::string_view> answer = answer_of(input.completion, tags_);
  std::optional<std::string> boxed;
  if (!answer) {
    boxed = math::last_boxed(
        input.completion.size() > math::kMaxScan
            ? std::string_view(input.completion).substr(input.completion.size() - math::kMaxScan)
            : std::string_view(input.completion));
    if (!boxed) return 0.0;
    answer = *boxed;
  }
  return check_countdown(*answer, problem).verdict == CountdownVerdict::Correct ? 1.0 : 0.0;
}

std::unique_ptr<Rule> make_countdown_rule(const nlohmann::json& options) {
  check_option_keys(options, "countdown", {"answer_open", "answer_close", "numbers", "target"});
  Tags tags;
  tags.answer_open = option_string(options, "answer_open", tags.answer_open, "countdown");
  tags.answer_close = option_string(options, "answer_close", tags.answer_close, "countdown");
  if (tags.answer_open == tags.answer_close)
    throw std::invalid_argument("reward rule 'countdown': answer_open and answer_close must differ");
  std::optional<CountdownProblem> fixed;
  const bool has_numbers = options.is_object() && options.contains("numbers");
  const bool has_target = options.is_object() && options.contains("target");
  if (has_numbers != has_target)
    throw std::invalid_argument(
        "reward rule 'countdown': options 'numbers' and 'target' go together; got only '" +
        std::string(has_numbers ? "numbers" : "target") + "'");
  if (has_numbers) fixed = countdown_problem_from_json(options, "reward rule 'countdown'");
  return std::make_unique<CountdownRule>(std::move(tags), std::move(fixed));
}

}  // namespace aha::rewards
