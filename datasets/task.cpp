// Task registry, split rules and DemoNoise checks (see task.h).
#include "datasets/task.h"

#include <cstdio>
#include <stdexcept>
#include <unordered_set>

#include "datasets/arithmetic.h"
#include "datasets/countdown.h"
#include "datasets/rng.h"

namespace aha::datasets {
namespace {

std::string hex16(uint64_t x) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

}  // namespace

Split parse_split(const std::string& text) {
  if (text == "train") return Split::Train;
  if (text == "test") return Split::Test;
  throw std::invalid_argument("unknown split '" + text + "'; allowed splits: train, test");
}

std::string split_name(Split split) {
  return split == Split::Train ? "train" : "test";
}

Split split_of(const std::string& question) {
  return fnv1a64(question) % 10 == 0 ? Split::Test : Split::Train;
}

void DemoNoise::validate() const {
  auto check_prob = [](const char* key, double p) {
    if (!(p >= 0.0 && p <= 1.0))  // written this way so NaN fails too
      throw std::invalid_argument(std::string("demo noise: ") + key + " must be in [0, 1], got " +
                                  std::to_string(p));
  };
  check_prob("wrong_step_prob", wrong_step_prob);
  check_prob("broken_format_prob", broken_format_prob);
  check_prob("give_up_prob", give_up_prob);
  if (max_error < 0)
    throw std::invalid_argument("demo noise: max_error must be >= 0, got " + std::to_string(max_error));
  if (wrong_step_prob > 0.0 && max_error == 0)
    throw std::invalid_argument(
        "demo noise: wrong_step_prob > 0 needs max_error >= 1 (a wrong step must be off by a nonzero "
        "amount); set max_error or wrong_step_prob = 0");
}

std::vector<Problem> draw_distinct_problems(
    const std::string& task, Split split, size_t count, uint64_t seed, const std::string& widen,
    const std::function<std::optional<std::pair<std::string, std::string>>(Rng&)>& candidate) {
  // One stream per (seed, split), consumed in order, so a longer list extends a shorter one.
  Rng rng(mix_seed(seed, split == Split::Train ? 1 : 2));
  std::vector<Problem> out;
  out.reserve(count);
  std::unordered_set<std::string> seen;
  // Generous cap (the test split accepts ~1 draw in 10) so an impossible request fails instead of hanging.
  const size_t max_draws = 200 * count + 100000;
  for (size_t draws = 0; out.size() < count; ++draws) {
    if (draws == max_draws)
      throw std::runtime_error("task '" + task + "': found only " + std::to_string(out.size()) + " distinct " +
                               split_name(split) + " problems in " + std::to_string(max_draws) +
                               " draws, asked for " + std::to_string(count) + "; " + widen + ", or ask for fewer");
    auto drawn = candidate(rng);
    if (!drawn || split_of(drawn->first) != split || !seen.insert(drawn->first).second) continue;
    Problem p;
    p.id = task + "-" + hex16(fnv1a64(drawn->first));
    p.question = std::move(drawn->first);
    p.answer = std::move(drawn->second);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::string> known_tasks() {
  return {"arith", "countdown"};
}

std::unique_ptr<Task> make_task(const std::string& name, const nlohmann::json& options) {
  if (name == "arith") return std::make_unique<ArithmeticTask>(arithmetic_config_from_json(options));
  if (name == "countdown") return std::make_unique<CountdownTask>(countdown_config_from_json(options));
  std::string known;
  for (const std::string& k : known_tasks()) known += (known.empty() ? "" : ", ") + k;
  throw std::invalid_argument("unknown task '" + name + "'; known tasks: " + known);
}

}  // namespace aha::datasets
