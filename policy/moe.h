// DeepSeekMoE layer: shared expert(s) always on + routed experts chosen by MoeGate (spec §1.4.5).
// Two dispatches compute the same function:
// - grouped (the default): the N·K (token, expert) assignments are sorted by expert once, the tokens
//   gathered once, each expert runs on its contiguous slice, and the weighted outputs are added back in
//   one index_add. One host sync per layer (the per-expert counts, for the slice sizes); the autograd
//   graph has one gather, one split and one scatter instead of one of each per expert.
// - loop: the naive reference, one index_select / index_add (and one `nonzero` host sync) per expert.
// Within an expert both see the same rows in the same (token) order, and each token's outputs are
// added in expert order in both, so on CPU their outputs and parameter gradients agree bit for bit; the
// input's gradient is summed in another order (within 1e-6; tests/policy/test_moe_dispatch.cpp).
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

enum class MoeDispatch { kGrouped, kLoop };

struct MoeImpl : torch::nn::Module {
  explicit MoeImpl(const ModelConfig& config);

  torch::Tensor forward(const torch::Tensor& x_BTD, const MoeCall& call = {});

  MoeGate gate{nullptr};
  torch::nn::ModuleList experts{nullptr};
  Mlp shared_experts{nullptr};
  torch::Tensor expert_load;  // [E] float64, tokens routed per expert since the last reset (not saved)
  int64_t top_k;
  MoeDispatch dispatch = MoeDispatch::kGrouped;

 private:
  torch::Tensor routed_grouped(const torch::Tensor& x_ND, const Routing& routing);
  torch::Tensor routed_loop(const torch::Tensor& x_ND, const Routing& routing);
};
TORCH_MODULE(Moe);

}  // namespace aha::policy
