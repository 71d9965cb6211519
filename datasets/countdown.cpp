// The "countdown" task: puzzle generator, solver and search demonstrations (see countdown.h).
#include "datasets/countdown.h"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "datasets/demo_format.h"
#include "datasets/rng.h"

namespace aha::datasets {
namespace {

constexpr const char* kAllowedOptions =
    "min_numbers, max_numbers, min_number, max_number, min_target, max_target, max_intermediate, "
    "max_failed_attempts";
constexpr int kMaxNumbersLimit = 4;
constexpr int kMaxFailedAttemptsLimit = 10;
constexpr const char kOps[] = {'+', '-', '*', '/'};

int read_int_option(const std::string& key, const nlohmann::json& value) {
  const bool fits = value.is_number_unsigned() ? value.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX)
                    : value.is_number_integer()
                        ? value.get<int64_t>() >= INT_MIN && value.get<int64_t>() <= INT_MAX
                        : false;
  if (!fits)
    throw std::invalid_argument("task 'countdown': option '" + key + "': expected an integer (32-bit), got " +
                                value.dump());
  return value.get<int>();
}

// A value in the pool of a search: its number and the expression that made it ("7", "(5*3)").
struct Item {
  int64_t value;
  std::string expr;
};

// Combining pool[i] op pool[j]. + and * are listed once per pair (i < j); - only from the larger value
// and / only when exact, so every step stays a positive integer; and never above max_intermediate.
struct Move {
  size_t i, j;
  char op;
  int64_t result;
};

std::vector<Move> legal_moves(const std::vector<Item>& pool, int64_t max_intermediate) {
  std::vector<Move> moves;
  for (size_t i = 0; i < pool.size(); ++i)
    for (size_t j = 0; j < pool.size(); ++j) {
      if (i == j) continue;
      const int64_t a = pool[i].value, b = pool[j].value;
      for (char op : kOps) {
        int64_t r = 0;
        if (op == '+' && i < j) r = a + b;
        else if (op == '*' && i < j) r = a * b;
        else if (op == '-' && a > b) r = a - b;
        else if (op == '/' && a % b == 0) r = a / b;  // values are >= 1, so b != 0
        else continue;
        if (r <= max_intermediate) moves.push_back({i, j, op, r});
      }
    }
  return moves;
}

// One written step and the pool after it; `swap` shows a commutative move's operands the other way round.
struct Step {
  std::string text;  // "5*3=15"
  std::vector<Item> pool;
};

Step apply_move(const std::vector<Item>& pool, const Move& m, bool swap) {
  const Item& lhs = swap ? pool[m.j] : pool[m.i];
  const Item& rhs = swap ? pool[m.i] : pool[m.j];
  Step step;
  step.text = std::to_string(lhs.value) + m.op + std::to_string(rhs.value) + '=' + std::to_string(m.result);
  Item made{m.result, "(" + lhs.expr + m.op + rhs.expr + ")"};
  for (size_t k = 0; k < pool.size(); ++k)
    if (k != m.i && k != m.j) step.pool.push_back(pool[k]);
  step.pool.push_back(std::move(made));
  return step;
}

std::vector<Item> initial_pool(const std::vector<int64_t>& numbers) {
  std::vector<Item> pool;
  for (int64_t n : numbers) pool.push_back({n, std::to_string(n)});
  return pool;
}

// The finished expression without its outermost parentheses: "((5*3)+7)" -> "(5*3)+7".
std::string strip_outer(const std::string& expr) {
  return expr.size() >= 2 && expr.front() == '(' ? expr.substr(1, expr.size() - 2) : expr;
}

// A full attempt: the steps' texts, the final value and the expression.
struct Attempt {
  std::vector<std::string> steps;
  int64_t value = 0;
  std::string expr;
};

// Random moves until one value is left; nullopt if the pool gets stuck (no legal move).
std::optional<Attempt> random_attempt(const std::vector<int64_t>& numbers, int64_t max_intermediate, Rng& rng) {
  std::vector<Item> pool = initial_pool(numbers);
  Attempt attempt;
  while (pool.size() > 1) {
    const std::vector<Move> moves = legal_moves(pool, max_intermediate);
    if (moves.empty()) return std::nullopt;
    const Move& m = moves[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(moves.size()) - 1))];
    const bool commutative = m.op == '+' || m.op == '*';
    Step step = apply_move(pool, m, commutative && rng.bernoulli(0.5));
    attempt.steps.push_back(std::move(step.text));
    pool = std::move(step.pool);
  }
  attempt.value = pool[0].value;
  attempt.expr = strip_outer(pool[0].expr);
  return attempt;
}

// Depth-first search for a solution; with `rng`, moves are tried in a random order (and commutative
// operands shown in a random order), without it in legal_moves' order.
bool search(const std::vector<Item>& pool, int64_t target, int64_t max_intermediate, Rng* rng,
            std::vector<std::string>& steps, std::string& expr) {
  if (pool.size() == 1) {
    if (pool[0].value != target) return false;
    expr = strip_outer(pool[0].expr);
    return true;
  }
  std::vector<Move> moves = legal_moves(pool, max_intermediate);
  if (rng)
    for (size_t k = moves.size(); k > 1; --k)  // Fisher-Yates
      std::swap(moves[k - 1], moves[static_cast<size_t>(rng->uniform_int(0, static_cast<int64_t>(k) - 1))]);
  for (const Move& m : moves) {
    const bool commutative = m.op == '+' || m.op == '*';
    Step step = apply_move(pool, m, rng && commutative && rng->bernoulli(0.5));
    steps.push_back(step.text);
    if (search(step.pool, target, max_intermediate, rng, steps, expr)) return true;
    steps.pop_back();
  }
  return false;
}

// "3+5=8, 8*7=56 no.", or with `versus` (" vs 22") "3+5=8, 8*7=56 vs 22 no.".
std::string render_attempt(const std::vector<std::string>& steps, const std::string& verdict,
                           const std::string& versus = "") {
  std::string text;
  for (size_t k = 0; k < steps.size(); ++k) text += (k ? ", " : "") + steps[k];
  return text + versus + ' ' + verdict + '.';
}

DemoFormat broken_format(Rng& rng) {
  return kBrokenDemoFormats[static_cast<size_t>(
      rng.uniform_int(0, static_cast<int64_t>(kBrokenDemoFormats.size()) - 1))];
}

// A slip: the attempt's last result is written as the target ("...=18" -> "...=24").
void misreport_as_target(Attempt& attempt, int64_t target) {
  std::string& last = attempt.steps.back();
  last = last.substr(0, last.rfind('=') + 1) + std::to_string(target);
}

struct Written {
  std::string reasoning, answer;
};

// The random search (DemoNoise::give_up_prob > 0): attempts until one hits the target, each checked and
// marked "no" or "yes". After a miss it gives up (with give_up_prob, or at max_misses misses) and answers
// that miss. With `slips`, each miss is instead reported as the target and accepted with probability 1/2.
Written random_search(const Problem& p, const CountdownPuzzle& puzzle, int64_t max_intermediate,
                      int64_t max_misses, double give_up_prob, bool slips, Rng& rng) {
  // Each verdict restates the target ("6*3=18 vs 24 no."), so deciding it compares two numbers that stand
  // side by side instead of looking back at the prompt.
  const std::string versus = " vs " + std::to_string(puzzle.target);
  Written out;
  for (int64_t misses = 0, stuck = 0; out.answer.empty();) {
    std::optional<Attempt> a = random_attempt(puzzle.numbers, max_intermediate, rng);
    if (!a) {
      if (++stuck == 1000)
        throw std::invalid_argument("countdown: problem " + p.id + " (" + p.question + "): 1000 random " +
                                    "attempts in a row got stuck before using every number");
      continue;
    }
    const bool slip = a->value != puzzle.target && slips && rng.bernoulli(0.5);
    if (slip) misreport_as_target(*a, puzzle.target);
    if (a->value == puzzle.target || slip) {
      out.reasoning += render_attempt(a->steps, "yes", versus);
      out.answer = a->expr;
    } else {
      out.reasoning += render_attempt(a->steps, "no", versus);
      if (++misses >= max_misses || rng.bernoulli(give_up_prob)) out.answer = a->expr;
      else out.reasoning += ' ';
    }
  }
  return out;
}

}  // namespace

void CountdownConfig::validate() const {
  auto fail = [](const std::string& what) { return std::invalid_argument("task 'countdown': " + what); };
  if (min_numbers < 2 || max_numbers < min_numbers || max_numbers > kMaxNumbersLimit)
    throw fail("need 2 <= min_numbers <= max_numbers <= " + std::to_string(kMaxNumbersLimit) + ", got " +
               std::to_string(min_numbers) + " and " + std::to_string(max_numbers));
  if (min_number < 1 || max_number < min_number)
    throw fail("need 1 <= min_number <= max_number, got " + std::to_string(min_number) + " and " +
               std::to_string(max_number));
  if (min_target < 1 || max_target < min_target)
    throw fail("need 1 <= min_target <= max_target, got " + std::to_string(min_target) + " and " +
               std::to_string(max_target));
  if (max_intermediate < max_target || max_intermediate < max_number)
    throw fail("max_intermediate (" + std::to_string(max_intermediate) +
               ") must be >= max_target and >= max_number, or no puzzle could reach its target");
  if (max_failed_attempts < 0 || max_failed_attempts > kMaxFailedAttemptsLimit)
    throw fail("max_failed_attempts must be in [0, " + std::to_string(kMaxFailedAttemptsLimit) + "], got " +
               std::to_string(max_failed_attempts));
}

CountdownConfig countdown_config_from_json(const nlohmann::json& options) {
  CountdownConfig config;
  if (options.is_null()) return config;
  if (!options.is_object())
    throw std::invalid_argument("task 'countdown': options must be an object with keys " +
                                std::string(kAllowedOptions) + ", got " + options.dump());
  const std::pair<const char*, int*> fields[] = {
      {"min_numbers", &config.min_numbers},           {"max_numbers", &config.max_numbers},
      {"min_number", &config.min_number},             {"max_number", &config.max_number},
      {"min_target", &config.min_target},             {"max_target", &config.max_target},
      {"max_intermediate", &config.max_intermediate}, {"max_failed_attempts", &config.max_failed_attempts},
  };
  for (const auto& [key, value] : options.items()) {
    int* field = nullptr;
    for (const auto& [name, target] : fields)
      if (key == name) field = target;
    if (!field)
      throw std::invalid_argument("task 'countdown': unknown option '" + key +
                                  "'; allowed options: " + kAllowedOptions);
    *field = read_int_option(key, value);
  }
  config.validate();
  return config;
}

nlohmann::json to_json(const CountdownConfig& config) {
  return {{"min_numbers", config.min_numbers},
          {"max_numbers", config.max_numbers},
          {"min_number", config.min_number},
          {"max_number", config.max_number},
          {"min_target", config.min_target},
          {"max_target", config.max_target},
          {"max_intermediate", config.max_intermediate},
          {"max_failed_attempts", config.max_failed_attempts}};
}

std::string countdown_question(const std::vector<int64_t>& nums, int64_t target) {
  std::string list;
  for (int64_t n : nums) list += (list.empty() ? "" : ", ") + std::to_string(n);
  return "Using the numbers [" + list + "], create an equation that equals " + std::to_string(target) + ".";
}

std::string countdown_answer(const CountdownPuzzle& puzzle) {
  return nlohmann::json{{"numbers", puzzle.numbers}, {"target", puzzle.target}}.dump();
}

CountdownPuzzle countdown_puzzle(const Problem& p) {
  const auto fail = [&](const std::string& why) {
    return std::invalid_argument("countdown: problem " + p.id + ": answer '" + p.answer + "' " + why +
                                 "; expected {\"numbers\": [3, 5, 7], \"target\": 22}");
  };
  const nlohmann::json j = nlohmann::json::parse(p.answer, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw fail("is not a JSON object");
  if (j.size() != 2 || !j.contains("numbers") || !j.contains("target"))
    throw fail("must have exactly the keys numbers and target");
  CountdownPuzzle puzzle;
  if (!j["target"].is_number_integer()) throw fail("has a target that is not an integer");
  puzzle.target = j["target"].get<int64_t>();
  if (!j["numbers"].is_array() || j["numbers"].empty()) throw fail("has no list of numbers");
  for (const auto& n : j["numbers"]) {
    if (!n.is_number_integer()) throw fail("has a number that is not an integer");
    puzzle.numbers.push_back(n.get<int64_t>());
  }
  return puzzle;
}

std::string solve_countdown(const CountdownPuzzle& puzzle, int64_t max_intermediate) {
  std::vector<std::string> steps;
  std::string expr;
  return search(initial_pool(puzzle.numbers), puzzle.target, max_intermediate, nullptr, steps, expr) ? expr : "";
}

CountdownTask::CountdownTask(CountdownConfig config) : config_(config) {
  config_.validate();
}

std::vector<Problem> CountdownTask::problems(Split split, size_t count, uint64_t seed) const {
  return draw_distinct_problems(
      "countdown", split, count, seed, "widen the number or target range",
      [&](Rng& rng) -> std::optional<std::pair<std::string, std::string>> {
        CountdownPuzzle puzzle;
        const int64_t n = rng.uniform_int(config_.min_numbers, config_.max_numbers);
        for (int64_t k = 0; k < n; ++k) puzzle.numbers.push_back(rng.uniform_int(config_.min_number, config_.max_number));
        // The target is the value of a random expression over the numbers, so the puzzle has a solution.
        const std::optional<Attempt> made = random_attempt(puzzle.numbers, config_.max_intermediate, rng);
        if (!made || made->value < config_.min_target || made->value > config_.max_target) return std::nullopt;
        puzzle.target = made->value;
        return std::pair{countdown_question(puzzle.numbers, puzzle.target), countdown_answer(puzzle)};
      });
}

std::string CountdownTask::demonstration(const Problem& p, const DemoNoise& noise, uint64_t seed) const {
  noise.validate();
  const CountdownPuzzle puzzle = countdown_puzzle(p);
  if (countdown_question(puzzle.numbers, puzzle.target) != p.question)
    throw std::invalid_argument("countdown: problem " + p.id + ": question '" + p.question +
                                "' does not state its answer's puzzle " + p.answer);
  const int64_t cap = config_.max_intermediate;

  Rng rng(mix_seed(seed, fnv1a64(p.question)));
  // Both noise coins first, so the two kinds stay independent of each other's follow-up draws.
  const bool wrong = rng.bernoulli(noise.wrong_step_prob);
  const bool broken = rng.bernoulli(noise.broken_format_prob);
  const int64_t failed = rng.uniform_int(0, config_.max_failed_attempts);
  // (`failed` is drawn even when the random search ignores it: the committed example base was pretrained
  // on that stream.)
  if (noise.give_up_prob > 0.0) {
    const Written w =
        random_search(p, puzzle, cap, config_.max_failed_attempts, noise.give_up_prob, wrong, rng);
    return render_demonstration(w.reasoning, w.answer, broken ? broken_format(rng) : DemoFormat::Clean);
  }

  // A random attempt that misses the target; nullopt when a few tries all hit it (an easy puzzle).
  auto miss = [&]() -> std::optional<Attempt> {
    for (int tries = 0; tries < 16; ++tries)
      if (auto a = random_attempt(puzzle.numbers, cap, rng); a && a->value != puzzle.target) return a;
    return std::nullopt;
  };

  std::string reasoning;
  for (int64_t k = 0; k < failed; ++k)
    if (auto a = miss()) reasoning += render_attempt(a->steps, "no") + ' ';

  std::string answer;
  if (wrong) {
    // A slip: the last attempt's final result is misreported as the target and accepted. Prefer an
    // attempt that lands within max_error of the target, where such a slip is plausible.
    std::optional<Attempt> slipped;
    for (int tries = 0; tries < 16; ++tries) {
      std::optional<Attempt> a = miss();
      if (!a) break;
      const bool close = std::llabs(a->value - puzzle.target) <= noise.max_error;
      if (!slipped || close) slipped = std::move(a);
      if (close) break;
    }
    if (slipped) {
      misreport_as_target(*slipped, puzzle.target);
      reasoning += render_attempt(slipped->steps, "yes");
      answer = slipped->expr;
    }
  }
  if (answer.empty()) {  // no noise, or every attempt hits the target
    std::vector<std::string> steps;
    if (!search(initial_pool(puzzle.numbers), puzzle.target, cap, &rng, steps, answer))
      throw std::invalid_argument("countdown: problem " + p.id + " (" + p.question +
                                  ") has no solution with every step a positive integer <= max_intermediate (" +
                                  std::to_string(cap) + ")");
    reasoning += render_attempt(steps, "yes");
  }

  return render_demonstration(reasoning, answer, broken ? broken_format(rng) : DemoFormat::Clean);
}

}  // namespace aha::datasets
