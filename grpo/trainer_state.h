// What a checkpoint holds besides the weights, and its I/O. A checkpoint (checkpoints/step-N/, written
// atomically by policy::save_policy) holds everything the next step depends on: weights and router biases,
// AdamW moments and step counts, the counters below (the data position and epoch among them), the
// reference policy when it was refreshed, torch's CPU RNG state and the resolved config. Every random draw
// is a pure function of (seed, draw index, sample), so a resumed run's metrics and weights equal an
// uninterrupted run's bit for bit (tests/resume/test_resume.cpp).
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "policy/transformer.h"

namespace aha::grpo {

// Counters that, with the weights, optimizer moments and config, determine every later step.
struct TrainerState {
  int64_t step = 0;              // RL steps completed
  int64_t optimizer_steps = 0;   // updates applied (the lr schedule's position)
  int64_t prompts_drawn = 0;     // draw index of the next prompt (data position; epoch = drawn / train_size)
  int64_t bad_steps_in_row = 0;  // consecutive steps with a skipped non-finite update
  int64_t skipped_updates = 0;   // non-finite updates skipped so far
  int64_t num_tokens = 0;        // generated tokens so far (TRL's num_tokens)
  int64_t reference_step = 0;    // step at which the reference was last copied from the policy (0: the start)

  template <class F>
  void fields(F& f) {
    f("step", step);
    f("optimizer_steps", optimizer_steps);
    f("prompts_drawn", prompts_drawn);
    f("bad_steps_in_row", bad_steps_in_row);
    f("skipped_updates", skipped_updates);
    f("num_tokens", num_tokens);
    f("reference_step", reference_step);
  }
};

// The parts of a training run a checkpoint saves and restores. reference is null when beta == 0; it is
// saved only once refreshed (otherwise it is the start checkpoint, config model.path).
// master_weights: the fp32 masters when the weights are bf16 (PolicyUpdater::master_weights), saved in
// trainer_state.pt so a resumed bf16 run continues from the unrounded weights; restore_master_weights
// receives them back (it is not called when the checkpoint has none and none are expected).
struct CheckpointParts {
  policy::Transformer model;
  torch::optim::Optimizer& optimizer;
  policy::Transformer reference;
  std::filesystem::path tokenizer_json;  // copied into every checkpoint
  std::map<std::string, torch::Tensor> master_weights;
  std::function<void(const std::map<std::string, torch::Tensor>&, const std::string& where)> restore_master_weights;
};

// Writes run_dir/checkpoints/step-<state.step>/ atomically (trainer_state.json carries `extra`, e.g. the
// epoch and config, for people), moves `latest` to it and keeps the newest keep_checkpoints.
// before_rename/after_rename are the fault-injection points (checkpoint-write, checkpoint-published).
void save_trainer_checkpoint(const std::filesystem::path& run_dir, const TrainerState& state,
                             const nlohmann::json& extra, CheckpointParts parts, int64_t keep_checkpoints,
                             const std::function<void()>& before_rename,
                             const std::function<void()>& after_rename);

// Restores the parts from a checkpoint directory and returns its counters. A damaged file is an error
// naming it.
TrainerState load_trainer_checkpoint(const std::filesystem::path& dir, CheckpointParts parts);

}  // namespace aha::grpo
