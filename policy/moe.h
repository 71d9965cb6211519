// DeepSeekMoE layer: shared expert(s) always on + routed experts chosen by MoeGate (spec §1.4.5).
// This is the naive reference dispatch (a loop over experts with index_select / index_add); the grouped
// GEMM path for GPUs comes later and will be tested against it.
//
// Legend: B batch, T tokens, N = B*T, D hidden, E experts, K top-k.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "policy/config.h"
#include "policy/mlp.h"
#include "policy/moe_gate.h"

namespace aha::policy {

// How one MoE forward interacts with routing (router replay, route recording and load counting).
struct MoeCall {
  torch::Tensor replay_idx_NK;           // defined: use these experts
  torch::Tensor* record_idx_NK = nullptr;  // set: store the experts used
  torch::Tensor count_mask_N;            // defined: add the load of these tokens (bool) to expert_load
};

struct MoeImpl : torch::nn::Module {
  explicit MoeImpl(const ModelConfig& config);

  torch::Tensor forward(const torch::Tensor& x_BTD, const MoeCall& call = {});

  MoeGate gate{nullptr};
  torch::nn::ModuleList experts{nullptr};
  Mlp shared_experts{nullptr};
  torch::Tensor expert_load;  // [E] float64, tokens routed per expert since the last reset (not saved)
  int64_t top_k;
};
TORCH_MODULE(Moe);

}  // namespace aha::policy
