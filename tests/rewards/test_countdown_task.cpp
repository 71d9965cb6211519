// Tests for the "countdown" task (datasets/countdown.h) against the Countdown reward (rewards/countdown.h):
// every generated puzzle is solvable (a solution found by search and confirmed by the reward's own
// checker), generation is deterministic per seed and splits are disjoint, the question text is exact (data
// files render the same text), clean demonstrations score 1 on the countdown and format rules and noisy
// ones fail at the configured rates. Here and not in tests/datasets because it needs aha_rewards.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <tuple>

#include "datasets/countdown.h"
#include "datasets/demo_format.h"
#include "rewards/countdown.h"
#include "rewards/format.h"

using namespace aha;
using namespace aha::datasets;
using Catch::Matchers::Contains;

namespace {

// Independent of rng.h: the split rule written out with its own FNV-1a loop.
bool in_test_split(const std::string& question) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : question) h = (h ^ c) * 1099511628211ULL;
  return h % 10 == 0;
}

rewards::CountdownProblem reward_problem(const Problem& p) {
  return rewards::countdown_problem_from_json(nlohmann::json::parse(p.answer), p.id);
}

double countdown_score(const Problem& p, const std::string& completion) {
  return rewards::CountdownRule().score({"", completion, p.answer});
}

double format_score(const std::string& completion) {
  return rewards::FormatRule().score({"", completion, ""});
}

const CountdownTask& default_task() {
  static const CountdownTask task{CountdownConfig{}};
  return task;
}

}  // namespace

TEST_CASE("the question text is TinyZero's first sentence, exactly", "[countdown_task]") {
  // A data file's {"nums", "target"} rows are rendered with this same function: a changed word here
  // changes every prompt of both, which the stored base model was pretrained on.
  CHECK(countdown_question({3, 5, 7}, 22) == "Using the numbers [3, 5, 7], create an equation that equals 22.");
  CHECK(countdown_question({19, 36, 55, 7}, 65) ==
        "Using the numbers [19, 36, 55, 7], create an equation that equals 65.");
  const Problem p = default_task().problems(Split::Train, 1, 3)[0];
  const CountdownPuzzle puzzle = countdown_puzzle(p);
  CHECK(p.question == countdown_question(puzzle.numbers, puzzle.target));
}

TEST_CASE("the answer is the puzzle as JSON, read by the reward as it is", "[countdown_task]") {
  CHECK(countdown_answer({{3, 5, 7}, 22}) == R"({"numbers":[3,5,7],"target":22})");
  const Problem p = default_task().problems(Split::Test, 1, 1)[0];
  const rewards::CountdownProblem read = reward_problem(p);
  const CountdownPuzzle puzzle = countdown_puzzle(p);
  CHECK(read.numbers == puzzle.numbers);
  CHECK(read.target == puzzle.target);
  for (const char* bad : {"22", R"({"numbers": [3, 5]})", R"({"numbers": [], "target": 1})",
                          R"({"numbers": [3.5, 5], "target": 1})", R"({"numbers": [3], "target": 1, "x": 2})"})
    CHECK_THROWS_AS(countdown_puzzle(Problem{"bad", "q", bad}), std::invalid_argument);
}

TEST_CASE("every generated puzzle respects the config and is solvable", "[countdown_task]") {
  CountdownConfig four;
  four.min_numbers = 3;
  four.max_numbers = 4;
  four.max_number = 12;
  four.min_target = 10;
  four.max_target = 50;
  CountdownConfig pairs;
  pairs.min_numbers = pairs.max_numbers = 2;
  pairs.max_number = 50;
  pairs.max_target = 100;
  pairs.max_intermediate = 100;
  for (const CountdownConfig& config : {CountdownConfig{}, four, pairs}) {
    const CountdownTask task(config);
    std::set<size_t> sizes;
    for (Split split : {Split::Train, Split::Test})
      for (const Problem& p : task.problems(split, 300, 5)) {
        const CountdownPuzzle puzzle = countdown_puzzle(p);
        sizes.insert(puzzle.numbers.size());
        REQUIRE(puzzle.numbers.size() >= static_cast<size_t>(config.min_numbers));
        REQUIRE(puzzle.numbers.size() <= static_cast<size_t>(config.max_numbers));
        for (int64_t n : puzzle.numbers) {
          REQUIRE(n >= config.min_number);
          REQUIRE(n <= config.max_number);
        }
        REQUIRE(puzzle.target >= config.min_target);
        REQUIRE(puzzle.target <= config.max_target);
        // Solvable: the search finds an expression, and the reward's independent parser and exact
        // arithmetic agree that it uses each number once and hits the target.
        const std::string solution = solve_countdown(puzzle, config.max_intermediate);
        INFO(p.question << " -> '" << solution << "'");
        REQUIRE_FALSE(solution.empty());
        REQUIRE(rewards::check_countdown(solution, reward_problem(p)).verdict == rewards::CountdownVerdict::Correct);
      }
    CHECK(sizes.size() == static_cast<size_t>(config.max_numbers - config.min_numbers + 1));
  }
}

TEST_CASE("solve_countdown finds a solution exactly when one exists", "[countdown_task]") {
  CHECK(solve_countdown({{3, 5, 7}, 22}, 200) == "7+(3*5)");  // first in legal_moves' order
  CHECK(solve_countdown({{2, 3}, 7}, 200).empty());   // 5, 6, 1 are all it can make
  CHECK(solve_countdown({{9, 9, 9}, 1}, 200).empty());  // 9 / 9 = 1, but the third 9 cannot be undone
  // Steps stay positive integers up to the cap: 7 * 8 = 56 is over a cap of 50, and 3 - 5 is never taken.
  CHECK(solve_countdown({{7, 8, 1}, 56}, 50).empty());
  CHECK_FALSE(solve_countdown({{7, 8, 1}, 56}, 56).empty());
  CHECK(solve_countdown({{3, 5}, 2}, 200) == "5-3");
}

TEST_CASE("problems are deterministic in the seed, distinct, and a longer list extends a shorter",
          "[countdown_task]") {
  const auto& task = default_task();
  const auto a = task.problems(Split::Train, 500, 42);
  const auto b = task.problems(Split::Train, 500, 42);
  const auto c = task.problems(Split::Train, 500, 43);
  const auto longer = task.problems(Split::Train, 800, 42);
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
  CHECK(questions.size() == 500);
  CHECK(ids.size() == 500);
  CHECK(same_as_other_seed < 10);
}

TEST_CASE("examples/countdown's data files are the generator's puzzles for make_data.sh's options", "[countdown_task]") {
  // The example trains from these files through the countdown preset; pretraining its base used the
  // generator. A change to the draw order or the puzzle construction must be deliberate and regenerate them.
  const auto options = nlohmann::json::parse(R"({"min_numbers": 3, "max_numbers": 3, "max_number": 9,
      "max_target": 99, "max_intermediate": 100, "max_failed_attempts": 3})");
  const CountdownTask task(countdown_config_from_json(options));
  const std::filesystem::path dir = std::filesystem::path(AHA_SOURCE_DIR) / "examples/countdown";
  for (const auto& [file, split, count, seed] :
       {std::tuple{"train.jsonl", Split::Train, 4000, 11}, std::tuple{"test.jsonl", Split::Test, 200, 2}}) {
    INFO(file);
    const auto problems = task.problems(split, count, seed);
    std::ifstream in(dir / file);
    size_t i = 0;
    for (std::string line; std::getline(in, line); ++i) {
      REQUIRE(i < problems.size());
      const auto row = nlohmann::json::parse(line);
      CHECK(nlohmann::json{{"numbers", row["nums"]}, {"target", row["target"]}}.dump() == problems[i].answer);
    }
    CHECK(i == problems.size());
  }
}

TEST_CASE("train and test splits are disjoint and follow the hash rule", "[countdown_task]") {
  for (uint64_t seed : {1u, 2u}) {
    const auto train = default_task().problems(Split::Train, 3000, seed);
    const auto test = default_task().problems(Split::Test, 300, seed);
    std::set<std::string> train_questions;
    for (const auto& p : train) {
      REQUIRE_FALSE(in_test_split(p.question));
      train_questions.insert(p.question);
    }
    for (const auto& p : test) {
      REQUIRE(in_test_split(p.question));
      REQUIRE(train_questions.count(p.question) == 0);
    }
  }
}

TEST_CASE("noise-free demonstrations are a search that ends in a correct, well-formed answer",
          "[countdown_task][demo]") {
  const DemoNoise clean{0.0, 0.0, 10};
  const Problem p{"x", "Using the numbers [3, 5, 7], create an equation that equals 22.",
                  R"({"numbers": [3, 5, 7], "target": 22})"};
  const std::string demo = default_task().demonstration(p, clean, 0);
  INFO(demo);
  CHECK_THAT(demo, Contains("=22 yes.</think> <answer>"));
  CHECK(demo.rfind("<think>", 0) == 0);
  CHECK(countdown_score(p, demo) == 1.0);

  int failed_attempts = 0;
  for (const Problem& q : default_task().problems(Split::Train, 1500, 9)) {
    const std::string d = default_task().demonstration(q, clean, 17);
    INFO(q.question << "\n" << d);
    REQUIRE(countdown_score(q, d) == 1.0);
    REQUIRE(format_score(d) == 1.0);
    // Exactly one accepted attempt, the last one; the failed ones are marked "no".
    REQUIRE(d.find(" yes.") == d.rfind(" yes."));
    REQUIRE(d.find(" yes.</think>") != std::string::npos);
    for (size_t pos = 0; (pos = d.find(" no.", pos)) != std::string::npos; ++pos) ++failed_attempts;
  }
  // max_failed_attempts = 3: 0..3 failures, 1.5 on average.
  CHECK(failed_attempts > 1500 * 1.3);
  CHECK(failed_attempts < 1500 * 1.7);
  // max_failed_attempts = 0: straight to the solution.
  CountdownConfig direct;
  direct.max_failed_attempts = 0;
  const std::string d = CountdownTask(direct).demonstration(p, clean, 3);
  CHECK(d.find(" no.") == std::string::npos);
}

TEST_CASE("demonstration noise: slips score 0 at the configured rate, broken formats fail the format rule",
          "[countdown_task][demo]") {
  const auto problems = default_task().problems(Split::Train, 2000, 4);
  int wrong = 0, broken = 0, both = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    const std::string d = default_task().demonstration(problems[i], DemoNoise{0.4, 0.2, 10}, i);
    // Noise is deterministic in (problem, seed).
    REQUIRE(d == default_task().demonstration(problems[i], DemoNoise{0.4, 0.2, 10}, i));
    const bool w = countdown_score(problems[i], d) == 0.0, b = format_score(d) == 0.0;
    wrong += w;
    broken += b;
    both += w && b;
  }
  // Binomial(2000, p): 4 standard deviations is under 0.05 for p = 0.4 and under 0.04 for p = 0.2. A bare
  // answer (no tags) also scores 0 on countdown, so `wrong` counts 0.4 + 0.6 * 0.2 / 4.
  CHECK(std::abs(wrong / 2000.0 - (0.4 + 0.6 * 0.05)) < 0.05);
  CHECK(std::abs(broken / 2000.0 - 0.2) < 0.04);

  // Always wrong: every demonstration ends in "= <target> yes." with an expression that is not a solution.
  for (size_t i = 0; i < 300; ++i) {
    const std::string d = default_task().demonstration(problems[i], DemoNoise{1.0, 0.0, 10}, i);
    INFO(problems[i].question << "\n" << d);
    REQUIRE(format_score(d) == 1.0);
    REQUIRE(countdown_score(problems[i], d) == 0.0);
    REQUIRE(d.find("=" + std::to_string(countdown_puzzle(problems[i]).target) + " yes.</think>") !=
            std::string::npos);
  }
}

TEST_CASE("random-search demonstrations: checked attempts until a hit, giving up after a miss at the configured rate",
          "[countdown_task][demo]") {
  CountdownConfig config;
  config.max_number = 9;  // single digits, so an answer's digits are its numbers
  config.max_failed_attempts = 10;
  const CountdownTask task(config);
  const auto problems = task.problems(Split::Train, 1500, 5);
  // Per demonstration: attempts written, whether it ends in a hit, and checks on every attempt.
  auto run = [&](double give_up_prob, int& attempts, int& hits) {
    DemoNoise noise{0.0, 0.0, 10};
    noise.give_up_prob = give_up_prob;
    attempts = hits = 0;
    for (size_t i = 0; i < problems.size(); ++i) {
      const std::string d = task.demonstration(problems[i], noise, i);
      INFO(problems[i].question << "\n" << d);
      REQUIRE(d == task.demonstration(problems[i], noise, i));
      REQUIRE(format_score(d) == 1.0);
      const int64_t target = countdown_puzzle(problems[i]).target;
      // Every attempt ends "=<result> vs <target> yes." or "... no.": "yes" exactly when they are equal.
      int written = 0;
      bool hit = false;
      for (size_t vs = d.find(" vs "); vs != std::string::npos; vs = d.find(" vs ", vs + 1)) {
        const size_t eq = d.rfind('=', vs);
        const size_t verdict = d.find(' ', vs + 4);
        REQUIRE(d.substr(vs + 4, verdict - vs - 4) == std::to_string(target));
        hit = d.compare(verdict, 5, " yes.") == 0;
        REQUIRE((hit || d.compare(verdict, 4, " no.") == 0));
        REQUIRE(hit == (std::stoll(d.substr(eq + 1, vs - eq - 1)) == target));
        ++written;
      }
      REQUIRE(written >= 1);
      REQUIRE(written <= 11);  // at most max_failed_attempts misses, then a hit or giving up
      // The answer is the last attempt's expression: right after a hit, wrong after giving up.
      REQUIRE(countdown_score(problems[i], d) == (hit ? 1.0 : 0.0));
      const size_t open = d.find("<answer>") + 8;
      std::multiset<char> digits, numbers;
      for (char c : d.substr(open, d.find("</answer>") - open))
        if (c >= '0' && c <= '9') digits.insert(c);
      for (int64_t n : countdown_puzzle(problems[i]).numbers) numbers.insert(static_cast<char>('0' + n));
      REQUIRE(digits == numbers);
      attempts += written;
      hits += hit;
    }
  };
  int attempts_always = 0, hits_always = 0;
  run(1.0, attempts_always, hits_always);
  CHECK(attempts_always == 1500);  // gives up after the first miss, or hits first time
  int attempts_often = 0, hits_often = 0, attempts_rarely = 0, hits_rarely = 0;
  run(0.6, attempts_often, hits_often);
  run(0.1, attempts_rarely, hits_rarely);
  // Searching longer finds more solutions: the flaw GRPO can fix.
  CHECK(attempts_always < attempts_often);
  CHECK(attempts_often < attempts_rarely);
  CHECK(hits_always < hits_often);
  CHECK(hits_often < hits_rarely);
  // A random attempt hits about one puzzle in nine: the first-try hits are a small minority.
  CHECK(hits_always > 1500 / 20);
  CHECK(hits_always < 1500 / 4);

  // Slips: a miss written as the target and accepted. The verdict still follows the written result, but the
  // answer is wrong; without slips every "yes" was right (checked above).
  DemoNoise slipping{1.0, 0.0, 10};
  slipping.give_up_prob = 0.3;
  int slipped = 0;
  for (size_t i = 0; i < 300; ++i) {
    const std::string d = task.demonstration(problems[i], slipping, i);
    INFO(problems[i].question << "\n" << d);
    const std::string yes = "=" + std::to_string(countdown_puzzle(problems[i]).target) + " vs ";
    if (d.find(" yes.</think>") == std::string::npos) continue;  // gave up before a hit or a slip
    REQUIRE(d.find(yes) != std::string::npos);
    slipped += countdown_score(problems[i], d) == 0.0;
  }
  // Each miss slips with probability 1/2, so most demonstrations that end in "yes" are slips.
  CHECK(slipped > 100);

  DemoNoise bad{0.0, 0.0, 10};
  bad.give_up_prob = 1.5;
  CHECK_THROWS_WITH(task.demonstration(problems[0], bad, 0), Contains("give_up_prob"));
}

TEST_CASE("demonstration rejects a problem whose question and answer disagree", "[countdown_task][demo]") {
  const Problem mismatched{"x", "Using the numbers [3, 5, 7], create an equation that equals 23.",
                           R"({"numbers": [3, 5, 7], "target": 22})"};
  CHECK_THROWS_AS(default_task().demonstration(mismatched, DemoNoise{}, 0), std::invalid_argument);
  const Problem unsolvable{"y", "Using the numbers [2, 3], create an equation that equals 7.",
                           R"({"numbers": [2, 3], "target": 7})"};
  CHECK_THROWS_WITH(default_task().demonstration(unsolvable, DemoNoise{0, 0, 10}, 0), Contains("no solution"));
}

TEST_CASE("options: strict keys, ranges, round trip, registry", "[countdown_task]") {
  CHECK_THROWS_WITH(countdown_config_from_json({{"max_numbr", 5}}),
                    Contains("unknown option 'max_numbr'") && Contains("max_failed_attempts"));
  CHECK_THROWS_WITH(countdown_config_from_json({{"max_number", "9"}}), Contains("'max_number'"));
  CHECK_THROWS_AS(countdown_config_from_json({{"min_numbers", 1}}), std::invalid_argument);
  CHECK_THROWS_AS(countdown_config_from_json({{"max_numbers", 5}}), std::invalid_argument);
  CHECK_THROWS_AS(countdown_config_from_json({{"min_target", 50}, {"max_target", 40}}), std::invalid_argument);
  CHECK_THROWS_AS(countdown_config_from_json({{"max_intermediate", 50}}), std::invalid_argument);  // < max_target
  CHECK_THROWS_AS(countdown_config_from_json(nlohmann::json::array()), std::invalid_argument);
  const CountdownConfig c = countdown_config_from_json({{"max_number", 9}, {"max_failed_attempts", 2}});
  CHECK(c.max_number == 9);
  CHECK(c.max_failed_attempts == 2);
  CHECK(to_json(countdown_config_from_json(to_json(c))) == to_json(c));
  CHECK(to_json(countdown_config_from_json(nullptr)) == to_json(CountdownConfig{}));

  const auto task = make_task("countdown", {{"max_number", 9}});
  CHECK(task->name() == "countdown");
  bool listed = false;
  for (const std::string& name : known_tasks()) listed = listed || name == "countdown";
  CHECK(listed);
}

TEST_CASE("asking for more puzzles than the space holds fails instead of hanging", "[countdown_task]") {
  CountdownConfig tiny;
  tiny.min_numbers = tiny.max_numbers = 2;
  tiny.max_number = 2;  // [1, 1], [1, 2], [2, 1], [2, 2] and a handful of targets
  CHECK_THROWS_AS(CountdownTask(tiny).problems(Split::Train, 100, 0), std::runtime_error);
}
