// Test helpers: a Transformer with seeded random weights, and a random batch of token ids, positions
// 0..T-1 and next-token targets for it, drawn from torch's global generator (seeded by the former).
#pragma once

#include <torch/torch.h>

#include "policy/config.h"
#include "policy/transformer.h"

namespace aha::testing {

struct TokenBatch {
  torch::Tensor tokens_BT, positions_BT, targets_BT;  // int64 [B, T]
};

// torch::manual_seed(seed), then a model with init_weights(seed)
inline policy::Transformer seeded_model(const policy::ModelConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  policy::Transformer model(config);
  model->init_weights(seed);
  return model;
}

inline TokenBatch random_token_batch(const policy::ModelConfig& config, int64_t B, int64_t T) {
  TokenBatch batch;
  batch.tokens_BT = torch::randint(1, config.vocab_size, {B, T});
  batch.positions_BT = torch::arange(T).unsqueeze(0).expand({B, T}).contiguous();
  batch.targets_BT = torch::randint(1, config.vocab_size, {B, T});
  return batch;
}

}  // namespace aha::testing
