// The second half of a training step: `mu` passes over the kept batch, each split into `minibatches`
// optimizer steps; each optimizer step accumulates the policy loss's gradient over micro-batches of
// `micro_batch_size` rows (the loss is normalised by the whole optimizer step, so the split does not change
// it), clips the gradient norm, steps AdamW on the scheduled learning rate and moves the MoE router biases
// (auxiliary-loss-free balancing). A non-finite loss or gradient skips that update and says where it arose.
//
// π_old is the rollout policy itself by default: its log-probs are the behaviour log-probs the engine
// recorded (tests show they equal a trainer recompute), so no forward pass is spent on them.
// grpo.recompute_old_logprobs spends that pass (truncated IS needs it). Each micro-batch reads its metrics
// back to the host once.
#pragma once

#include <torch/optim/adamw.h>

#include <cstdint>
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
         logprob_diff_max = 0;  // |trainer − rollout| log-prob on the step's first forward
  std::string nonfinite_where;  // where the first non-finite value arose ("" if none)
};

class PolicyUpdater {
 public:
  PolicyUpdater(const RunConfig& config, policy::Transformer model);
  torch::optim::AdamW& optimizer() { return *optimizer_; }

  // The policy's log-probs of part's targets (router replay as configured); count_load adds the tokens'
  // expert load for the bias update; entropy_NT (optional) receives the per-token entropy.
  torch::Tensor logprobs(const TrainBatch& part, bool count_load, torch::Tensor* entropy_NT = nullptr);
  // Runs the step's updates; optimizer_steps (the schedule's position) advances by the applied ones.
  // poison makes every loss NaN (the fault injection of the non-finite guard's test).
  UpdateStats optimize(const TrainBatch& batch, const torch::Tensor& ref_logp_NT, int64_t& optimizer_steps,
                       bool poison);

 private:
  // Loss and backward over micro-batches of rows [begin, begin+count): one optimizer step's gradient.
  // stats (optional) receives the log-prob difference of the first micro-batch.
  UpdateSums accumulate(const TrainBatch& batch, const torch::Tensor& ref_logp_NT,
                        const torch::Tensor& old_logp_NT, int64_t begin, int64_t count, bool poison,
                        UpdateStats* first_forward);
  torch::Tensor recompute_old_logprobs(const TrainBatch& batch);

  const RunConfig& config_;
  policy::Transformer model_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

}  // namespace aha::grpo
