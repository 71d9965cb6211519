// DeepSeekMoE router (spec §1.4.5, DeepSeek-V3 report §2.1.2). V3 (topk_method noaux_tc): sigmoid
// affinities in fp32; selection by s + e_score_correction_bias, group-limited (each of n_group groups
// scored by the sum of its top-2, keep topk_group groups, masked groups at -inf like the original
// model.py), then top-k; combine weights from the unbiased s, renormalised and scaled by
// routed_scaling_factor. The bias is a buffer moved only by the auxiliary-loss-free update
// (update_bias), never by gradients. V2: softmax affinities, no bias; "greedy" is a plain top-k and
// "group_limited_greedy" scores each group by its max; weights renormalised only if norm_topk_prob.
//
// Legend: N tokens, D hidden, E routed experts, K experts per token, G groups.
#pragma once

#include <torch/nn/module.h>

#include "policy/config.h"

namespace aha::policy {

struct Routing {
  torch::Tensor topk_idx_NK;     // int64 expert ids
  torch::Tensor topk_weight_NK;  // float32 combine weights (differentiable w.r.t. the gate weight)
};

struct MoeGateImpl : torch::nn::Module {
  explicit MoeGateImpl(const ModelConfig& config);

  // x_ND -> routing. With replay_idx_NK defined, uses those experts instead of selecting (router replay);
  // the weights are still recomputed from the current gate so the router keeps learning.
  Routing forward(const torch::Tensor& x_ND, const torch::Tensor& replay_idx_NK = {});

  // Auxiliary-loss-free balancing: b_i += gamma * sign(mean_load - load_i). load_E: tokens per expert.
  void update_bias(const torch::Tensor& load_E, double gamma);

  int64_t n_experts, top_k, n_group, topk_group;
  ScoringFunc scoring_func;
  TopkMethod topk_method;
  bool norm_topk_prob;
  double routed_scaling_factor;
  torch::Tensor weight;                   // [E, D]
  torch::Tensor e_score_correction_bias;  // [E] float32 buffer; undefined without noaux_tc (V2)
};
TORCH_MODULE(MoeGate);

}  // namespace aha::policy
