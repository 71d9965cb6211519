// One step's tensors for the trainer, built from the kept rollout groups. Legend: N completions, T input
// positions. Row i is prompt + completion[:-1] as inputs and prompt[1:] + completion as targets; the mask
// marks the targets that are generated tokens, where the behaviour log-probs sit.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "rollout/engine.h"

namespace aha::grpo {

struct TrainBatch {
  torch::Tensor tokens_NT, positions_NT, targets_NT;  // int64; inputs are prompt + completion[:-1]
  torch::Tensor mask_NT;                              // float: 1 where the target is a generated token
  torch::Tensor valid_NT;                             // bool: real (non-pad) input tokens
  torch::Tensor old_logp_NT;                          // behaviour log-probs at the masked positions
  torch::Tensor advantages_N;
  torch::Tensor tokens_N;  // float64 on the CPU: generated tokens per row (the loss normaliser's count)
  torch::Tensor lengths_N;  // int64 on the CPU: input positions per row before the padding
  std::vector<torch::Tensor> routes;  // per MoE layer [N*T, K] when router replay is on

  TrainBatch slice(int64_t begin, int64_t count) const;  // rows [begin, begin+count)
  // rows (any order), every tensor cut to the first `length` positions
  TrainBatch select(const std::vector<int64_t>& rows, int64_t length) const;
};

// The rows of one forward/backward and the input length they are cut to.
struct MicroBatch {
  std::vector<int64_t> rows;
  int64_t length = 0;
};

// Splits rows [begin, begin+count) of `batch` into micro-batches.
//  - tokens_budget > 0: rows sorted longest first (ties by index) are packed while rows × the longest
//    row's length stay within the budget (a row longer than the budget goes alone), and at most
//    max_rows rows (0: no cap); each micro-batch is cut to its longest row, so short rows are not padded
//    to the batch's longest.
//  - else: consecutive runs of max_rows rows (0: all of them) at the batch's full length (as before).
std::vector<MicroBatch> plan_micro_batches(const TrainBatch& batch, int64_t begin, int64_t count, int64_t max_rows,
                                           int64_t tokens_budget);

// Runs `forward` on each micro-batch of `plan` and puts its [rows, length] result back into a [N, T]
// float32 tensor (zeros past each row's cut), in the batch's row order.
torch::Tensor gather_micro_batches(const TrainBatch& batch, const std::vector<MicroBatch>& plan,
                                   const std::function<torch::Tensor(const TrainBatch& part)>& forward);

// Pads with pad_token_id (never a target). with_routes copies each completion's recorded experts.
TrainBatch make_train_batch(const rollout::RolloutResult& rollout, const torch::Tensor& advantages_N,
                            int64_t pad_token_id, bool with_routes, const torch::Device& device);

}  // namespace aha::grpo
