// One step's tensors for the trainer, built from the kept rollout groups. Legend: N completions, T input
// positions. Row i is prompt + completion[:-1] as inputs and prompt[1:] + completion as targets; the mask
// marks the targets that are generated tokens, where the behaviour log-probs sit.
#pragma once

#include <torch/types.h>

#include <cstdint>
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
  std::vector<torch::Tensor> routes;  // per MoE layer [N*T, K] when router replay is on

  TrainBatch slice(int64_t begin, int64_t count) const;  // rows [begin, begin+count)
};

// Pads with pad_token_id (never a target). with_routes copies each completion's recorded experts.
TrainBatch make_train_batch(const rollout::RolloutResult& rollout, const torch::Tensor& advantages_N,
                            int64_t pad_token_id, bool with_routes, const torch::Device& device);

}  // namespace aha::grpo
