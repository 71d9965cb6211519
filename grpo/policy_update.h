// The second half of a training step: `mu` passes over the kept batch, each split into `minibatches`
// optimizer steps; each optimizer step accumulates the policy loss's gradient over micro-batches of
// `micro_batch_size` rows (the loss is normalised by the whole optimizer step, so the split does not change
// it), clips the gradient norm, steps AdamW on the scheduled learning rate and moves the MoE router biases
// (auxiliary-loss-free balancing). A non-finite loss or gradient skips that update and says where it arose.
//
// Micro-batches follow plan_micro_batches (train_batch.h): grpo.micro_batch_size rows, or with
// train.micro_batch_tokens length-sorted rows packed to a token budget and cut to their own longest row.
//
// Mixed precision: when the model's weights are not fp32 (model.dtype bfloat16), AdamW steps fp32 master
// copies of the parameters with fp32 moments (Micikevicius et al. 2018, "Mixed Precision Training"; what
// torch's AMP and Megatron's distributed optimizer keep). Each micro-batch's bf16 gradients are added into
// the masters' fp32 gradients at once, so accumulation never rounds to bf16; clipping, the non-finite
// guard and the update run on the masters, and the bf16 weights are the masters rounded after each step.
// With fp32 weights the parameters are their own masters: nothing is copied.
//
// π_old is the rollout policy itself by default: its log-probs are the behaviour log-probs the engine
// recorded (tests show they equal a trainer recompute), so no forward pass is spent on them.
// grpo.recompute_old_logprobs spends that pass (truncated IS needs it). Each micro-batch reads its metrics
// back to the host once.
#pragma once

#include <torch/optim/adamw.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpo/run_config.h"
#include "grpo/train_batch.h"
#include "policy/transformer.h"

namespace aha::grpo {

// Loss-side sums over one step's applied updates (the clip/ratio/TIS shares token-weighted per update).
struct UpdateSums {
  double loss = 0, policy_loss = 0, kl = 0, entropy = 0;
  double clip_low = 0, clip_high = 0, dual_clip = 0, ratio = 0, tis_weight = 0, tis_capped = 0;
  UpdateSums& operator+=(const UpdateSums& other);
};

struct UpdateStats {
  UpdateSums sums;
  int64_t updates = 0, skipped = 0;   // applied and skipped (non-finite) optimizer steps
  double grad_norm_sum = 0;           // before clipping, over applied updates
  double learning_rate = 0;           // of the last optimizer step
  std::vector<double> max_violation;  // per MoE layer, the worst MaxVio over the step's updates
  double logprob_diff_mean = 0,
         logprob_diff_max = 0;  // |trainer − rollout| log-prob over the step's first update (before any change)
  std::string nonfinite_where;  // where the first non-finite value arose ("" if none)
};

class PolicyUpdater {
 public:
  PolicyUpdater(const RunConfig& config, policy::Transformer model);
  torch::optim::AdamW& optimizer() { return *optimizer_; }
  // The fp32 master weights under the parameters' names; empty when the weights are fp32 themselves.
  // Checkpoints save them (exact resume); restoring them also rounds them into the weights.
  std::map<std::string, torch::Tensor> master_weights() const;
  void restore_master_weights(const std::map<std::string, torch::Tensor>& masters, const std::string& where);
  // Rows [begin, begin+count) of batch in the configured micro-batches (the reference forward uses it too).
  std::vector<MicroBatch> plan(const TrainBatch& batch, int64_t begin, int64_t count) const;

  // The policy's log-probs of part's targets (router replay as configured); count_load adds the tokens'
  // expert load for the bias update; entropy_NT (optional) receives the per-token entropy.
  torch::Tensor logprobs(const TrainBatch& part, bool count_load, torch::Tensor* entropy_NT = nullptr);
  // Runs the step's updates; optimizer_steps (the schedule's position) advances by the applied ones.
  // poison makes every loss NaN (the fault injection of the non-finite guard's test).
  UpdateStats optimize(const TrainBatch& batch, const torch::Tensor& ref_logp_NT, int64_t& optimizer_steps,
                       bool poison);

 private:
  // Loss and backward over micro-batches of rows [begin, begin+count): one optimizer step's gradient.
  // first_forward (optional) receives the log-prob difference over these rows (the step's first update).
  UpdateSums accumulate(const TrainBatch& batch, const torch::Tensor& ref_logp_NT,
                        const torch::Tensor& old_logp_NT, int64_t begin, int64_t count, bool poison,
                        UpdateStats* first_forward);
  torch::Tensor recompute_old_logprobs(const TrainBatch& batch);
  void move_gradients_to_masters();  // after each backward, when masters are separate
  void copy_masters_to_weights();    // after each optimizer step

  const RunConfig& config_;
  policy::Transformer model_;
  std::vector<std::string> names_;       // parameter names, in parameters() order
  std::vector<torch::Tensor> weights_;   // the model's parameters
  std::vector<torch::Tensor> masters_;   // what AdamW steps: fp32 copies, or weights_ itself
  bool separate_masters_ = false;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

}  // namespace aha::grpo
