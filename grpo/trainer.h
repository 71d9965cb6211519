// The R1-Zero loop (DESIGN.md "one training step"): draw prompts, sample G completions each with the
// current policy, score them with the rubric, turn group rewards into advantages, take `mu` passes of
// `minibatches` optimizer steps on the clipped GRPO loss (+ k3 KL when beta > 0), update the router
// biases after every optimizer step, log. Held-out eval runs before and after; the run directory gets
// config.json, metrics.jsonl, samples.jsonl, summary.json and the final policy in HF layout.
//
// π_old is the rollout policy itself: its log-probs are the behaviour log-probs the engine recorded
// (the parity test shows they equal a trainer recompute), so no extra forward pass is spent on them.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include "grpo/run_config.h"
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

struct StepLog {
  nlohmann::json metrics;
  std::string console;
};

class Trainer {
 public:
  // Loads the policy, task and rubric; nothing is written until run().
  explicit Trainer(RunConfig config);
  // Creates the run directory (fails if it exists unless overwrite), trains, evaluates, saves.
  nlohmann::json run(bool overwrite);

  // One RL step (exposed for tests): rollout, rewards, updates. Returns the step's metrics.
  StepLog step(int64_t step_index);
  policy::Transformer& model() { return policy_.model; }
  const std::filesystem::path& run_dir() const { return run_dir_; }

 private:
  // mu passes x minibatches optimizer steps on one rollout batch; adds loss/KL/clip/grad metrics.
  void optimize(const TrainBatch& batch, nlohmann::json& metrics);

  RunConfig config_;
  policy::LoadedPolicy policy_;
  policy::Transformer reference_{nullptr};
  std::unique_ptr<datasets::Task> task_;
  std::string template_text_;
  std::unique_ptr<rewards::Rubric> rubric_;
  std::unique_ptr<rollout::Engine> engine_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<datasets::Problem> train_problems_;
  int64_t eos_token_id_ = 0;
  int64_t optimizer_steps_ = 0;
  std::filesystem::path run_dir_;
};

// The end-of-text id: config.json eos_token_id, else the tokenizer's <|endoftext|>.
int64_t resolve_eos_token(const policy::LoadedPolicy& policy);

}  // namespace aha::grpo
