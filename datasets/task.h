// A task: named problems per split with ground-truth answers, plus demonstrations (the text a
// demonstrator would write after the prompt) used as the pretraining corpus for the CPU demo.
// Tasks are chosen by name with JSON options whose keys are the task's config fields.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aha::datasets {

enum class Split { Train, Test };

// "train" or "test"; anything else is std::invalid_argument naming the allowed values.
Split parse_split(const std::string& text);
std::string split_name(Split split);

// The split a question belongs to: Test iff fnv1a64(question) % 10 == 0. Deciding by the question text
// (not by the seed or the draw order) keeps the splits disjoint for every seed and count.
Split split_of(const std::string& question);

struct Problem {
  std::string id;        // stable across seeds: derived from the question text
  std::string question;  // the text substituted for {question} in a prompt template ("" with messages)
  std::string answer;    // ground truth as the reward rules compare it
  // Rows read from data files (datasets/sources.h) also carry:
  std::string data_source;   // picks the row's reward rules (rewards.by_source) and names its metrics
  nlohmann::json messages;   // null, or the prompt as chat messages [{"role", "content"}, ...]
  std::shared_ptr<const nlohmann::json> row;  // the whole row, passed to every reward rule; may be null
  std::string where;         // "<file>:<line>" or "<file>: row <n>", for errors about this row
};

// Noise injected into demonstrations so the pretrained base is only partly right (GRPO has something
// to fix): each kind is drawn independently per demonstration.
struct DemoNoise {
  double wrong_step_prob = 0.4;     // one step's result is off; later steps continue from it
  double broken_format_prob = 0.2;  // the think/answer tag format is broken in one of several ways
  int max_error = 10;               // |delta| of a wrong step is in [1, max_error]
  // Countdown only (arith rejects it): > 0 makes the demonstration a random search, attempts until one
  // hits the target, that after each miss gives up with this probability and answers the missed
  // expression. A base that gives up early has a fix for GRPO to find: keep searching, i.e. think longer.
  double give_up_prob = 0.0;

  // Probabilities in [0, 1]; max_error >= 0, and >= 1 when wrong steps can happen.
  void validate() const;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // `count` distinct problems of `split`, deterministic in (split, count, seed); a larger count with the
  // same seed extends the smaller one's list.
  virtual std::vector<Problem> problems(Split split, size_t count, uint64_t seed) const = 0;
  // Deterministic in (p, noise, seed). Never contains the end-of-text token: the caller appends it.
  virtual std::string demonstration(const Problem& p, const DemoNoise& noise, uint64_t seed) const = 0;
};

// The draw loop every generator shares: `candidate` draws one (question, answer) from the stream of
// (seed, split) or nullopt to draw again; a question of the other split or seen before is skipped. A longer
// count extends a shorter one's list. Ids are "<task>-<16 hex digits of the question's hash>". After
// 200·count + 100000 draws it throws std::runtime_error naming the task and `widen` (what to change).
class Rng;
std::vector<Problem> draw_distinct_problems(
    const std::string& task, Split split, size_t count, uint64_t seed, const std::string& widen,
    const std::function<std::optional<std::pair<std::string, std::string>>(Rng&)>& candidate);

// Known names: "arith". Unknown name -> std::invalid_argument listing the known tasks; an unknown option
// key or a value of the wrong type -> std::invalid_argument naming the key and the allowed keys.
std::unique_ptr<Task> make_task(const std::string& name, const nlohmann::json& options);
std::vector<std::string> known_tasks();

}  // namespace aha::datasets
