// Tests for the "arith" task: generator properties (determinism, split disjointness, non-negative
// intermediates, answers matching an independent evaluator), the exact demonstration format, and the
// demonstration noise (rates, independence, a wrong step's chain staying consistent and non-negative).
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "datasets/arithmetic.h"
#include "datasets/demo_format.h"

using namespace aha::datasets;

namespace {

// Independent of the library: tokenises with a stream rather than parse_question, hashes with its own
// FNV-1a loop rather than rng.h.
struct Evaluated {
  std::vector<long long> operands;
  std::vector<char> ops;
  std::vector<long long> running;  // value after each step
  long long value = 0;
};

Evaluated evaluate(const std::string& question) {
  REQUIRE(question.rfind("What is ", 0) == 0);
  REQUIRE(question.back() == '?');
  std::istringstream in(question.substr(8, question.size() - 9));
  Evaluated e;
  long long x;
  REQUIRE(in >> x);
  e.operands.push_back(x);
  e.value = x;
  std::string op;
  while (in >> op) {
    REQUIRE((op == "+" || op == "-"));
    REQUIRE(in >> x);
    e.operands.push_back(x);
    e.ops.push_back(op[0]);
    e.value = op == "+" ? e.value + x : e.value - x;
    e.running.push_back(e.value);
  }
  return e;
}

bool in_test_split(const std::string& question) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : question) h = (h ^ c) * 1099511628211ULL;
  return h % 10 == 0;
}

// One "a op b = c." step as shown in a demonstration.
struct Step {
  long long lhs, rhs, result;
  char op;
};

// The reasoning steps of a demonstration, whatever its layout, plus the steps' text.
std::vector<Step> parse_steps(const std::string& demo, std::string* reasoning_text) {
  static const std::regex step_re(R"((\d+) ([+-]) (\d+) = (-?\d+)\.)");
  std::vector<Step> steps;
  std::string text;
  for (auto it = std::sregex_iterator(demo.begin(), demo.end(), step_re); it != std::sregex_iterator();
       ++it) {
    const std::smatch& m = *it;
    steps.push_back({std::stoll(m[1]), std::stoll(m[3]), std::stoll(m[4]), m[2].str()[0]});
    if (!text.empty()) text += ' ';
    text += m.str();
  }
  if (reasoning_text) *reasoning_text = text;
  return steps;
}

const ArithmeticTask& default_task() {
  static const ArithmeticTask task{ArithmeticConfig{}};
  return task;
}

}  // namespace

TEST_CASE("problems are deterministic in the seed, distinct, and a longer list extends a shorter",
          "[arith]") {
  const auto& task = default_task();
  const auto a = task.problems(Split::Train, 500, 42);
  const auto b = task.problems(Split::Train, 500, 42);
  const auto c = task.problems(Split::Train, 500, 43);
  const auto longer = task.problems(Split::Train, 800, 42);
  REQUIRE(a.size() == 500);
  std::set<std::string> questions, ids;
  int same_as_other_seed = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].question == b[i].question);
    CHECK(a[i].answer == b[i].answer);
    CHECK(a[i].id == b[i].id);
    CHECK(longer[i].question == a[i].question);
    same_as_other_seed += a[i].question == c[i].question;
    questions.insert(a[i].question);
    ids.insert(a[i].id);
  }
  CHECK(questions.size() == 500);  // distinct problems
  CHECK(ids.size() == 500);        // ids are unique too
  CHECK(same_as_other_seed < 10);  // another seed is another list
}

TEST_CASE("golden problems pin the generator's output bytes", "[arith]") {
  // A change to the PRNG, the draw order or the question text would change every downstream result and
  // every stored checkpoint's meaning; this makes such a change deliberate.
  const auto train = default_task().problems(Split::Train, 3, 0);
  const auto test = default_task().problems(Split::Test, 2, 0);
  CHECK(train[0].question == "What is 59 + 73 - 61?");
  CHECK(train[1].question == "What is 41 + 86 + 18?");
  CHECK(train[2].question == "What is 75 + 94?");
  CHECK(test[0].question == "What is 59 + 5?");
  CHECK(test[1].question == "What is 84 + 5?");
  CHECK(train[0].answer == "71");
  CHECK(train[0].id == "arith-6d75b319db69c0eb");
  // Noise draws are pinned too: these seeds show a wrong last step, a clean demo, and a wrong first step
  // with a missing </think>.
  CHECK(default_task().demonstration(train[0], DemoNoise{}, 0) ==
        "<think>59 + 73 = 132. 132 - 61 = 75.</think> <answer>75</answer>");
  CHECK(default_task().demonstration(train[0], DemoNoise{}, 1) ==
        "<think>59 + 73 = 132. 132 - 61 = 71.</think> <answer>71</answer>");
  CHECK(default_task().demonstration(train[0], DemoNoise{}, 4) ==
        "<think>59 + 73 = 125. 125 - 61 = 64. <answer>64</answer>");
}

TEST_CASE("train and test splits are disjoint and follow the hash rule", "[arith]") {
  for (uint64_t seed : {1u, 2u}) {
    const auto train = default_task().problems(Split::Train, 5000, seed);
    const auto test = default_task().problems(Split::Test, 5000, seed);
    std::set<std::string> train_questions;
    for (const auto& p : train) {
      REQUIRE_FALSE(in_test_split(p.question));
      train_questions.insert(p.question);
    }
    for (const auto& p : test) {
      REQUIRE(in_test_split(p.question));
      REQUIRE(train_questions.count(p.question) == 0);
    }
    // Disjoint across seeds too: the split depends on the question only.
    const auto other_seed_train = default_task().problems(Split::Train, 5000, seed + 100);
    for (const auto& p : other_seed_train) REQUIRE_FALSE(in_test_split(p.question));
    CHECK(split_of(test[0].question) == Split::Test);
    CHECK(split_of(train[0].question) == Split::Train);
  }
}

TEST_CASE("every problem respects the config, stays >= 0 at each step, and its answer evaluates", "[arith]") {
  for (const ArithmeticConfig config :
       {ArithmeticConfig{}, ArithmeticConfig{4, 6, 9}, ArithmeticConfig{2, 2, 1000}}) {
    const ArithmeticTask task(config);
    std::map<size_t, int> term_counts;
    int subtractions = 0;
    for (Split split : {Split::Train, Split::Test}) {
      for (const auto& p : task.problems(split, 2000, 5)) {
        const Evaluated e = evaluate(p.question);
        term_counts[e.operands.size()]++;
        REQUIRE(p.answer == std::to_string(e.value));
        for (long long x : e.operands) {
          REQUIRE(x >= 0);
          REQUIRE(x <= config.max_operand);
        }
        for (long long v : e.running) REQUIRE(v >= 0);
        for (char op : e.ops) subtractions += op == '-';
        // parse_question is the inverse of format_question.
        const Expression parsed = parse_question(p.question);
        REQUIRE(format_question(parsed) == p.question);
      }
    }
    // Every term count in range occurs and nothing outside it does.
    CHECK(term_counts.begin()->first == static_cast<size_t>(config.min_terms));
    CHECK(term_counts.rbegin()->first == static_cast<size_t>(config.max_terms));
    CHECK(term_counts.size() == static_cast<size_t>(config.max_terms - config.min_terms + 1));
    CHECK(subtractions > 100);  // "-" is actually used
  }
}

TEST_CASE("asking for more problems than the space holds fails instead of hanging", "[arith]") {
  const ArithmeticTask tiny(ArithmeticConfig{2, 2, 1});  // only 7 distinct questions exist
  CHECK_THROWS_AS(tiny.problems(Split::Train, 100, 0), std::runtime_error);
}

TEST_CASE("parse_question rejects text that is not an arith question", "[arith]") {
  for (const char* bad : {"What is 3?", "What is 3 + ?", "What is 3 * 4?", "what is 3 + 4?", "What is 3 + 4",
                          "What is 3  + 4?", "What is -3 + 4?", "What is 1234567890 + 1?"})
    CHECK_THROWS_AS(parse_question(bad), std::invalid_argument);
  const Expression e = parse_question("What is 37 + 48 - 25?");
  CHECK(e.operands == std::vector<int64_t>{37, 48, 25});
  CHECK(e.ops == std::vector<char>{'+', '-'});
}

TEST_CASE("a noise-free demonstration has the documented text and the right answer", "[arith][demo]") {
  const DemoNoise clean{0.0, 0.0, 10};
  const Problem p{"x", "What is 37 + 48 - 25?", "60"};
  CHECK(default_task().demonstration(p, clean, 0) ==
        "<think>37 + 48 = 85. 85 - 25 = 60.</think> <answer>60</answer>");
  CHECK(default_task().demonstration(Problem{"y", "What is 5 - 5?", "0"}, clean, 7) ==
        "<think>5 - 5 = 0.</think> <answer>0</answer>");

  const std::regex layout(
      R"(<think>\d+ [+-] \d+ = \d+\.( \d+ [+-] \d+ = \d+\.)*</think> <answer>(\d+)</answer>)");
  uint64_t seed = 0;
  for (const auto& p : default_task().problems(Split::Train, 1000, 3)) {
    const std::string demo = default_task().demonstration(p, clean, seed++);
    std::smatch m;
    REQUIRE(std::regex_match(demo, m, layout));
    REQUIRE(m[2] == p.answer);
    const Evaluated e = evaluate(p.question);
    const auto steps = parse_steps(demo, nullptr);
    REQUIRE(steps.size() == e.ops.size());
    for (size_t k = 0; k < steps.size(); ++k) REQUIRE(steps[k].result == e.running[k]);
    REQUIRE(demo.find("<|") == std::string::npos);  // no end-of-text or other special token
  }
}

TEST_CASE("demonstrations are deterministic in the seed and noise differs across problems", "[arith][demo]") {
  const auto problems = default_task().problems(Split::Train, 200, 11);
  const DemoNoise noise{};
  int wrong_under_one_seed = 0;
  for (const auto& p : problems) {
    CHECK(default_task().demonstration(p, noise, 5) == default_task().demonstration(p, noise, 5));
    const auto steps = parse_steps(default_task().demonstration(p, noise, 5), nullptr);
    wrong_under_one_seed += std::to_string(steps.back().result) != p.answer;
  }
  // One seed for a whole corpus must still give per-problem noise, not all-wrong or all-right.
  CHECK(wrong_under_one_seed > 40);
  CHECK(wrong_under_one_seed < 120);
}

TEST_CASE("demonstration rejects a problem whose answer disagrees with its question", "[arith][demo]") {
  CHECK_THROWS_AS(default_task().demonstration(Problem{"x", "What is 2 + 2?", "5"}, DemoNoise{}, 0),
                  std::invalid_argument);
  CHECK_THROWS_AS(default_task().demonstration(Problem{"x", "2 + 2", "4"}, DemoNoise{}, 0),
                  std::invalid_argument);
  CHECK_THROWS_AS(default_task().demonstration(Problem{"x", "What is 2 + 2?", "4"}, DemoNoise{2.0, 0, 1}, 0),
                  std::invalid_argument);
}

TEST_CASE("noise rates match the configured probabilities and each demo has one documented layout",
          "[arith][demo]") {
  const DemoNoise noise{};  // 0.4 wrong step, 0.2 broken format, max_error 10
  const int n = 5000;
  const auto problems = default_task().problems(Split::Train, n, 21);
  int wrong = 0, broken = 0, both = 0;
  std::map<DemoFormat, int> layouts;
  for (int i = 0; i < n; ++i) {
    const Problem& p = problems[i];
    const std::string demo = default_task().demonstration(p, noise, 1000 + i);
    const Evaluated e = evaluate(p.question);
    std::string reasoning;
    const auto steps = parse_steps(demo, &reasoning);
    REQUIRE(steps.size() == e.ops.size());

    // The chain is consistent: each step starts from the previous shown value, uses the question's
    // operand and operator, and at most one step's result is off, by 1..max_error, never below 0.
    int off_steps = 0;
    long long previous = e.operands[0];
    for (size_t k = 0; k < steps.size(); ++k) {
      REQUIRE(steps[k].lhs == previous);
      REQUIRE(steps[k].rhs == e.operands[k + 1]);
      REQUIRE(steps[k].op == e.ops[k]);
      const long long exact = steps[k].op == '+' ? steps[k].lhs + steps[k].rhs : steps[k].lhs - steps[k].rhs;
      if (steps[k].result != exact) {
        ++off_steps;
        REQUIRE(std::llabs(steps[k].result - exact) <= noise.max_error);
      }
      REQUIRE(steps[k].result >= 0);
      previous = steps[k].result;
    }
    REQUIRE(off_steps <= 1);
    const bool is_wrong = std::to_string(previous) != p.answer;
    REQUIRE(is_wrong == (off_steps == 1));  // a wrong step always makes a wrong final answer

    // Exactly one of the documented layouts, showing the chain's own final value.
    int matches = 0;
    for (DemoFormat f : {DemoFormat::Clean, DemoFormat::MisspeltThinkClose, DemoFormat::BareAnswer,
                         DemoFormat::AnswerFirst, DemoFormat::MissingThinkClose}) {
      if (render_demonstration(reasoning, std::to_string(previous), f) == demo) {
        ++matches;
        layouts[f]++;
      }
    }
    REQUIRE(matches == 1);
    const bool is_broken =
        render_demonstration(reasoning, std::to_string(previous), DemoFormat::Clean) != demo;
    wrong += is_wrong;
    broken += is_broken;
    both += is_wrong && is_broken;
  }
  // Binomial sd at n = 5000: 0.0069 (p = 0.4), 0.0057 (p = 0.2), 0.0038 (p = 0.08); margins are > 4 sd.
  CHECK(wrong / double(n) == Approx(0.4).margin(0.03));
  CHECK(broken / double(n) == Approx(0.2).margin(0.025));
  CHECK(both / double(n) == Approx(0.4 * 0.2).margin(0.016));  // the two kinds are independent
  // Each broken variant takes about a quarter of the ~1000 broken demos (sd ~0.014).
  for (DemoFormat f : kBrokenDemoFormats) CHECK(layouts[f] / double(broken) == Approx(0.25).margin(0.07));
}

TEST_CASE("a wrong step never pushes the chain below zero", "[arith][demo]") {
  // 5 - 5 = 0: a negative delta would show "-3"; with one step the delta must be in [1, max_error].
  const DemoNoise always_wrong{1.0, 0.0, 10};
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const std::string demo =
        default_task().demonstration(Problem{"x", "What is 5 - 5?", "0"}, always_wrong, seed);
    const auto steps = parse_steps(demo, nullptr);
    REQUIRE(steps.size() == 1);
    REQUIRE(steps[0].result >= 1);
    REQUIRE(steps[0].result <= 10);
    seen.insert(demo);
  }
  CHECK(seen.size() == 10);  // every allowed delta is reachable

  // 50 - 30 + 7 - 27 = 0 ends at zero: a wrong first step must not go negative later either.
  const Problem p{"y", "What is 50 - 30 + 7 - 27?", "0"};
  for (uint64_t seed = 0; seed < 300; ++seed)
    for (const Step& s : parse_steps(default_task().demonstration(p, always_wrong, seed), nullptr))
      REQUIRE(s.result >= 0);
}
