// Router selection and the bias update; see moe_gate.h for the equations.
#include "policy/moe_gate.h"

#include <limits>

namespace aha::policy {

MoeGateImpl::MoeGateImpl(const ModelConfig& c)
    : n_experts(c.n_routed_experts),
      top_k(c.num_experts_per_tok),
      n_group(c.n_group),
      topk_group(c.topk_group),
      scoring_func(c.scoring_func),
      topk_method(c.topk_method),
      norm_topk_prob(c.norm_topk_prob),
      routed_scaling_factor(c.routed_scaling_factor) {
  weight = register_parameter("weight", torch::zeros({n_experts, c.hidden_size}));
  if (c.has_router_bias())
    e_score_correction_bias = register_buffer("e_score_correction_bias", torch::zeros({n_experts}, torch::kFloat));
}

Routing MoeGateImpl::forward(const torch::Tensor& x_ND, const torch::Tensor& replay_idx_NK) {
  const int64_t N = x_ND.size(0);
  auto logits_NE = torch::matmul(x_ND.to(torch::kFloat), weight.to(torch::kFloat).t());  // fp32 router
  auto scores_NE = scoring_func == ScoringFunc::Softmax ? logits_NE.softmax(/*dim=*/-1) : logits_NE.sigmoid();
  torch::Tensor topk_idx_NK;
  if (replay_idx_NK.defined()) {
    topk_idx_NK = replay_idx_NK;
  } else {
    torch::NoGradGuard no_grad;  // selection is not differentiable; only the gathered weights are
    auto choice_NE = scores_NE.detach();
    if (e_score_correction_bias.defined()) choice_NE = choice_NE + e_score_correction_bias;  // selection only
    if (n_group > 1 && topk_method != TopkMethod::Greedy) {
      auto grouped = choice_NE.view({N, n_group, n_experts / n_group});                      // [N, G, E/G]
      auto group_score_NG = topk_method == TopkMethod::NoauxTc
                                ? std::get<0>(grouped.topk(2, /*dim=*/-1)).sum(/*dim=*/-1)  // V3: top-2 sum
                                : std::get<0>(grouped.max(/*dim=*/-1));                     // V2: max [N, G]
      auto keep_idx = std::get<1>(group_score_NG.topk(topk_group, /*dim=*/-1));              // [N, topk_group]
      auto keep_NG = torch::zeros_like(group_score_NG, torch::kBool).scatter_(1, keep_idx, true);
      auto keep_NE = keep_NG.unsqueeze(-1).expand({N, n_group, n_experts / n_group}).reshape({N, n_experts});
      choice_NE = choice_NE.masked_fill(~keep_NE, -std::numeric_limits<float>::infinity());
    }
    topk_idx_NK = std::get<1>(choice_NE.topk(top_k, /*dim=*/-1));
  }
  auto weight_NK = scores_NE.gather(1, topk_idx_NK);  // unbiased affinities
  if (norm_topk_prob) weight_NK = weight_NK / (weight_NK.sum(/*dim=*/-1, /*keepdim=*/true) + 1e-20);
  return {topk_idx_NK, weight_NK * routed_scaling_factor};
}

void MoeGateImpl::update_bias(const torch::Tensor& load_E, double gamma) {
  if (!e_score_correction_bias.defined()) return;  // softmax (V2) routers have no bias to move
  torch::NoGradGuard no_grad;
  auto load = load_E.to(torch::kFloat).to(e_score_correction_bias.device());
  e_score_correction_bias.add_(torch::sign(load.mean() - load) * gamma);
}

}  // namespace aha::policy
