// The R1-Zero loop (DESIGN.md "one training step"): draw prompts, sample G completions each with the
// current policy, score them with the rubric (plus DAPO's soft overlong penalty and, when KL is placed in
// the reward, −beta·Σ_t kl_t), keep only groups with reward spread when dynamic sampling is on (drawing
// more prompts to refill), turn group rewards into advantages, take `mu` passes of `minibatches` optimizer
// steps on the policy loss (each optimizer step accumulated over micro-batches), update the router biases
// after every optimizer step, log. Held-out eval runs before, every train.eval_every steps and after.
//
// A run directory (run_dir.h) holds config.json, metrics.jsonl, samples.jsonl, TensorBoard event files,
// curves.svg, summary.json, checkpoints/ and final/. Checkpoints (every train.save_every steps, on SIGINT
// and SIGTERM, and when max_bad_steps stops the run) hold everything the next step depends on: weights and
// router biases, AdamW moments, counters (step, optimizer steps, prompts drawn: the data position and
// epoch), the reference policy when it was refreshed, torch's CPU RNG state and the resolved config. Every
// random draw is a pure function of (seed, draw index, sample), so a resumed run's metrics and weights
// equal an uninterrupted run's bit for bit (tests/grpo/test_resume.cpp).
//
// π_old is the rollout policy itself by default: its log-probs are the behaviour log-probs the engine
// recorded (the parity test shows they equal a trainer recompute), so no extra forward pass is spent on
// them. grpo.recompute_old_logprobs spends that pass (needed for truncated IS, and a check of the claim:
// sampling/logprob_diff_* compare the two).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include "datasets/problem_stream.h"
#include "grpo/evaluate.h"
#include "grpo/run_config.h"
#include "grpo/tensorboard.h"
#include "policy/checkpoint.h"
#include "rewards/rubric.h"
#include "rollout/engine.h"

namespace aha::grpo {

// One step's tensors for the trainer, built from a rollout. Legend: N completions, T input positions.
struct TrainBatch {
  torch::Tensor tokens_NT, positions_NT, targets_NT;  // int64; inputs are prompt + completion[:-1]
  torch::Tensor mask_NT;                              // float: 1 where the target is a generated token
  torch::Tensor valid_NT;                             // bool: real (non-pad) input tokens
  torch::Tensor old_logp_NT;                          // behaviour log-probs at the masked positions
  torch::Tensor advantages_N;
  std::vector<torch::Tensor> routes;  // per MoE layer [N*T, K] when router replay is on

  TrainBatch slice(int64_t begin, int64_t count) const;  // rows [begin, begin+count)
};

TrainBatch make_train_batch(const rollout::RolloutResult& rollout, const torch::Tensor& advantages_N,
                            int64_t pad_token_id, bool with_routes, const torch::Device& device);

// Counters that, with the weights, optimizer moments and config, determine every later step.
struct TrainerState {
  int64_t step = 0;              // RL steps completed
  int64_t optimizer_steps = 0;   // updates applied (the lr schedule's position)
  int64_t prompts_drawn = 0;     // draw index of the next prompt (data position; epoch = drawn / train_size)
  int64_t bad_steps_in_row = 0;  // consecutive steps with a skipped non-finite update
  int64_t skipped_updates = 0;   // non-finite updates skipped so far
  int64_t num_tokens = 0;        // generated tokens so far (TRL's num_tokens)
  int64_t reference_step = 0;    // step at which the reference was last copied from the policy (0: the start)

  nlohmann::json to_json() const;
  static TrainerState from_json(const nlohmann::json& j, const std::string& where);
};

struct StepLog {
  nlohmann::json metrics;
  std::string console;
};

// SIGINT/SIGTERM set a flag the training loop checks after each step: it writes a checkpoint and returns.
// A second signal kills the process the default way.
void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked to stop, 0 if none

class Trainer {
 public:
  // Loads the policy, task and rubric; nothing is written until run().
  explicit Trainer(RunConfig config);
  // Creates the run directory (fails if it exists unless overwrite), trains, evaluates, saves.
  nlohmann::json run(bool overwrite);
  // Continues the run in run_dir from its latest checkpoint (its config.json, with the trainer's config
  // taken from it by the caller): truncates the logs to that step and trains to train.steps.
  nlohmann::json resume(const std::filesystem::path& run_dir);

  // One RL step (exposed for tests): rollout, rewards, updates. Returns the step's metrics.
  StepLog step(int64_t step_index);
  // Writes checkpoints/step-<state.step>/ atomically, moves `latest` to it and prunes.
  void save_checkpoint();
  policy::Transformer& model() { return policy_.model; }
  const TrainerState& state() const { return state_; }
  const std::filesystem::path& run_dir() const { return run_dir_; }

 private:
  struct Scored;
  // Loss-side sums of one optimizer step over its micro-batches (the clip/ratio/TIS shares token-weighted).
  struct UpdateSums {
    double loss = 0, policy_loss = 0, kl = 0, entropy = 0;
    double clip_low = 0, clip_high = 0, dual_clip = 0, ratio = 0, tis_weight = 0, tis_capped = 0;
    UpdateSums& operator+=(const UpdateSums& other);
  };
  struct LogprobDiff {  // |trainer − rollout| log-prob over the masked tokens of the step's first forward
    double mean = 0, max = 0;
  };
  // The policy's log-probs of part's targets (router replay as configured); count_load adds the tokens'
  // expert load for the bias update; entropy_NT (optional) receives the per-token entropy.
  torch::Tensor logprobs(const TrainBatch& part, bool count_load, torch::Tensor* entropy_NT = nullptr);
  // mu passes x minibatches optimizer steps on one rollout batch; adds loss/KL/clip/grad metrics.
  void optimize(const TrainBatch& batch, const torch::Tensor& ref_logp_NT, nlohmann::json& metrics);
  // Loss and backward over micro-batches of rows [begin, begin+count): one optimizer step's gradient.
  // first_forward (optional) receives the log-prob difference of the first micro-batch.
  UpdateSums accumulate(const TrainBatch& batch, const torch::Tensor& ref_logp_NT, const torch::Tensor& old_logp_NT,
                        int64_t begin, int64_t count, LogprobDiff* first_forward);
  nlohmann::json train_loop(int64_t first_step);
  // Appends one metrics row to metrics.jsonl (when to_jsonl), the TensorBoard events and curves.svg.
  void log_metrics(const nlohmann::json& row, bool to_jsonl = true);
  void add_to_plots(const nlohmann::json& row);  // TensorBoard events + curve rows, without redrawing
  // The held-out eval before training: eval_before.json and the step-0 metrics row.
  void evaluate_before();
  // Starts fresh TensorBoard events from metrics.jsonl (on resume, after it was cut back to the checkpoint).
  void reopen_logs();
  EvalOptions eval_options() const;
  void load_checkpoint(const std::filesystem::path& dir);

  RunConfig config_;
  policy::LoadedPolicy policy_;
  policy::Transformer reference_{nullptr};
  std::unique_ptr<datasets::Task> task_;
  std::unique_ptr<datasets::ProblemStream> stream_;
  std::string template_text_;
  std::unique_ptr<rewards::Rubric> rubric_;
  std::unique_ptr<rollout::Engine> engine_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<datasets::Problem> eval_problems_;
  int64_t eos_token_id_ = 0;
  TrainerState state_;
  std::filesystem::path run_dir_;
  std::unique_ptr<EventWriter> events_;
  std::vector<nlohmann::json> curve_rows_;
};

}  // namespace aha::grpo
