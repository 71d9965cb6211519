// The "countdown" task (TinyZero's Countdown, Pan et al. 2025): given numbers and a target, write an
// arithmetic expression that uses each number exactly once and equals the target, e.g.
//   "Using the numbers [3, 5, 7], create an equation that equals 22."  ->  (5*3)+7
// The ground truth is the puzzle itself, {"numbers": [3, 5, 7], "target": 22}, which rewards/countdown.h
// checks any answer against. Demonstrations are a search written out step by step:
//   <think>3+5=8, 8*7=56 no. 5*3=15, 15+7=22 yes.</think> <answer>(5*3)+7</answer>
// a few failed attempts (random, never hitting the target) and then a solution, each attempt combining
// two of the remaining numbers at a time. With DemoNoise::give_up_prob > 0 it is a random search instead:
// random attempts, each checked against the target, until one hits or the demonstration gives up after a
// miss (and answers it), so a base learns to search for as long as its demonstrations did:
//   <think>3+5=8, 8*7=56 vs 22 no. 5*3=15, 15+7=22 vs 22 yes.</think> <answer>(5*3)+7</answer>
// Steps and answers are written without spaces: with one token per digit, " 15 + 7 = 22" costs 11 tokens
// and "15+7=22" 7, and rollouts on a CPU pay for every token.
// Deliberate choices, differing from TinyZero: every puzzle is built from a random expression over its
// numbers, so it is solvable by construction; every step of a puzzle's construction and of a
// demonstration keeps a positive integer no larger than max_intermediate ('-' only from a larger number,
// '/' only when it divides exactly), so a demonstration never shows fractions, zero or negative values;
// the question is TinyZero's first sentence only (the tiny demo model reads its format from the
// demonstrations, not from instructions).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/task.h"

namespace aha::datasets {

struct CountdownConfig {
  int min_numbers = 3;  // numbers per puzzle, uniform in [min_numbers, max_numbers]
  int max_numbers = 3;
  int min_number = 1;  // each number uniform in [min_number, max_number]
  int max_number = 20;
  int min_target = 1;  // a construction whose value falls outside [min_target, max_target] is redrawn
  int max_target = 99;
  int max_intermediate = 200;    // largest value any step may produce (construction and demonstrations)
  int max_failed_attempts = 3;   // demonstrations: failed attempts before the answer, uniform in [0, this];
                                 // the random search's most misses before it gives up

  // 2 <= min_numbers <= max_numbers <= 4 (a demonstration's search enumerates every expression shape);
  // 1 <= min_number <= max_number; 1 <= min_target <= max_target <= max_intermediate;
  // max_number <= max_intermediate; 0 <= max_failed_attempts <= 10.
  void validate() const;
};

// Keys are the field names; null means all defaults. Errors name the key and the allowed keys.
CountdownConfig countdown_config_from_json(const nlohmann::json& options);
nlohmann::json to_json(const CountdownConfig& config);

// The question of a puzzle, the same for generated problems and for rows of a data file:
//   countdown_question({3, 5, 7}, 22) == "Using the numbers [3, 5, 7], create an equation that equals 22."
std::string countdown_question(const std::vector<int64_t>& nums, int64_t target);

// The puzzle in a countdown Problem::answer (JSON text {"numbers": [...], "target": T}).
struct CountdownPuzzle {
  std::vector<int64_t> numbers;
  int64_t target = 0;
};
std::string countdown_answer(const CountdownPuzzle& puzzle);  // {"numbers":[3,5,7],"target":22}
// std::invalid_argument naming the problem when the answer is not that JSON (integers, >= 1 number).
CountdownPuzzle countdown_puzzle(const Problem& p);

// A solution in the demonstrations' answer form ("(5*3)+7": each combination of two values in
// parentheses, the outermost without), found by depth-first search over the same steps a demonstration
// may take (positive integers up to max_intermediate); "" when none exists. Deterministic: the first
// solution in the order numbers are listed and + - * / are tried.
std::string solve_countdown(const CountdownPuzzle& puzzle, int64_t max_intermediate);

class CountdownTask final : public Task {
 public:
  explicit CountdownTask(CountdownConfig config);
  std::string name() const override { return "countdown"; }
  const CountdownConfig& config() const { return config_; }
  // Throws std::runtime_error when the configured puzzle space cannot supply `count` distinct problems.
  std::vector<Problem> problems(Split split, size_t count, uint64_t seed) const override;
  // Noise (drawn from (seed, question)): wrong_step_prob -> the last attempt is not a solution but its
  // last step's result is misreported as the target (preferring attempts within max_error of it), and the
  // answer is that wrong expression; broken_format_prob -> one of the broken tag layouts; give_up_prob > 0
  // -> the random search instead (task.h), where a slip is a miss reported as the target. Throws
  // std::invalid_argument if the answer is not a countdown puzzle, the question does not match it, the
  // puzzle has no solution within max_intermediate, or `noise` is invalid.
  std::string demonstration(const Problem& p, const DemoNoise& noise, uint64_t seed) const override;

 private:
  CountdownConfig config_;
};

}  // namespace aha::datasets
