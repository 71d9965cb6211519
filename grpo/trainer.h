// The R1-Zero loop (README "Design", DESIGN.md "one training step"). Each step reads top to bottom in
// Trainer::step: sample groups -> score -> filter (sampling.h) -> advantages (advantage.h) -> optimize
// (policy_update.h) -> log (step_metrics.h). Held-out eval (eval/) runs before the first step, every
// train.eval_every steps and after the last.
//
// A run directory (runlog/) holds config.json, metrics.jsonl, samples.jsonl, TensorBoard event files,
// curves.svg, summary.json, checkpoints/ and final/. Checkpoints (every train.save_every steps, on SIGINT
// and SIGTERM, and when max_bad_steps stops the run) make resume exact (trainer_state.h).
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "eval/evaluate.h"
#include "grpo/policy_update.h"
#include "grpo/run_config.h"
#include "grpo/run_data.h"
#include "grpo/sampling.h"
#include "grpo/train_batch.h"
#include "grpo/trainer_state.h"
#include "policy/checkpoint.h"
#include "rewards/source_rubrics.h"
#include "rollout/engine.h"
#include "runlog/metrics_log.h"
#include "runlog/run_lock.h"

namespace aha::grpo {

struct StepLog {
  nlohmann::json metrics;
  std::string console;
};

class Trainer {
 public:
  // Loads the policy, the rubrics and every data source (checking each row, run_data.h); nothing is written
  // until run(), so bad data fails before a run directory exists.
  explicit Trainer(RunConfig config);
  // Creates output_dir/run_name, trains, evaluates, saves. An existing directory there is replaced only
  // with overwrite and only when it is an aha run (runlog::is_run_directory) that no process holds: it is
  // moved aside and deleted once the new run has completed its first step; a new run that fails before
  // that is removed and the old one put back.
  nlohmann::json run(bool overwrite);
  // Continues the run in run_dir from its latest checkpoint (its config.json, with the trainer's config
  // taken from it by the caller): truncates the logs to that step and trains to train.steps. `overrides`
  // (the --set given now, already in the config) are recorded in the run's config.json with the first step
  // they apply to, so a later plain resume keeps them.
  nlohmann::json resume(const std::filesystem::path& run_dir, const std::vector<std::string>& overrides = {});

  // One RL step (exposed for tests): rollout, rewards, updates. Returns the step's metrics.
  StepLog step(int64_t step_index);
  // Writes checkpoints/step-<state.step>/ atomically, moves `latest` to it and prunes.
  void save_checkpoint();
  policy::Transformer& model() { return policy_.model; }
  PolicyUpdater& updater() { return *updater_; }  // for tests: the master weights and the optimizer
  const TrainerState& state() const { return state_; }
  const std::filesystem::path& run_dir() const { return run_dir_; }

 private:
  // The frozen reference's log-probs of the batch's targets (undefined without a reference).
  torch::Tensor reference_logprobs(const TrainBatch& batch);
  // Rewards minus beta·Σ_t KL_t(π_old ‖ π_ref) when KL is placed in the reward (logs kl_penalty/mean).
  torch::Tensor rewards_for_advantages(const SampledGroups& groups, const TrainBatch& batch,
                                       const torch::Tensor& ref_logp_NT, nlohmann::json& m);
  void log_samples(const SampledGroups& groups, const torch::Tensor& advantages_N, int64_t step);
  void refresh_reference(nlohmann::json& m);  // every grpo.ref_refresh_steps: reference := policy
  nlohmann::json train_loop(int64_t first_step);
  void check_sizes_against_model() const;
  void evaluate_before();  // the held-out evals before training: eval_before.json and the step-0 row
  nlohmann::json evaluate();  // every data.eval set: {"<name>": summary, ...}
  eval::EvalOptions eval_options(const EvalSet& set) const;
  CheckpointParts checkpoint_parts();
  void restore_replaced_run();  // a new run failed before its first step: the run it replaced comes back
  void discard_replaced_run();  // the new run completed a step: the replaced run is deleted

  RunConfig config_;
  policy::LoadedPolicy policy_;
  policy::Transformer reference_{nullptr};
  std::unique_ptr<rewards::SourceRubrics> rubrics_;
  std::unique_ptr<policy::PromptRenderer> renderer_;
  std::unique_ptr<RunData> data_;
  std::unique_ptr<rollout::Engine> engine_;
  std::unique_ptr<GroupSampler> sampler_;
  std::unique_ptr<PolicyUpdater> updater_;
  int64_t eos_token_id_ = 0;
  TrainerState state_;
  std::filesystem::path run_dir_;
  std::unique_ptr<runlog::MetricsLog> log_;
  std::unique_ptr<runlog::RunLock> lock_;  // one writer per run directory
  std::filesystem::path replaced_run_;     // the run --overwrite moved aside, until the new run's first step
};

}  // namespace aha::grpo
