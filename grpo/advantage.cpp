// Group-relative advantages (DeepSeekMath §4.1.2): A_i = (r_i − mean_g) / (std + eps), or r_i − mean_g.
// Computed in float64 so that a zero-spread group is detected exactly and tiny spreads are not rounded away;
// returned as float32, the dtype the loss consumes.
#include "grpo/advantage.h"

#include <torch/types.h>

#include <stdexcept>
#include <string>

namespace aha::grpo {

ScaleRewards parse_scale_rewards(const std::string& name) {
  if (name == "group") return ScaleRewards::Group;
  if (name == "batch") return ScaleRewards::Batch;
  if (name == "none") return ScaleRewards::None;
  throw std::invalid_argument("unknown scale_rewards \"" + name + "\"; allowed: group, batch, none");
}

std::string to_string(ScaleRewards scale) {
  switch (scale) {
    case ScaleRewards::Group:
      return "group";
    case ScaleRewards::Batch:
      return "batch";
    case ScaleRewards::None:
      return "none";
  }
  throw std::logic_error("to_string: unhandled ScaleRewards");
}

AdvantageResult group_advantages(const torch::Tensor& rewards_N, int64_t group_size, ScaleRewards scale,
                                 double eps) {
  if (!rewards_N.defined() || rewards_N.dim() != 1)
    throw std::invalid_argument("group_advantages: rewards must be a 1-D tensor [N]; got " +
                                (rewards_N.defined() ? std::to_string(rewards_N.dim()) + "-D" : "undefined"));
  if (group_size < 1)
    throw std::invalid_argument("group_advantages: group_size must be >= 1; got " +
                                std::to_string(group_size));
  const int64_t N = rewards_N.size(0);
  if (N % group_size != 0)
    throw std::invalid_argument("group_advantages: " + std::to_string(N) +
                                " rewards do not split into groups of " + std::to_string(group_size) +
                                "; pass group_size completions for every prompt");
  if (!(eps >= 0.0))
    throw std::invalid_argument("group_advantages: eps must be >= 0; got " + std::to_string(eps));

  const int64_t num_groups = N / group_size;
  const torch::Tensor r_PG =
      rewards_N.detach().to(torch::kFloat64).reshape({num_groups, group_size});  // [P, G]
  const torch::Tensor mean_P1 = r_PG.mean(/*dim=*/1, /*keepdim=*/true);          // [P, 1]
  const torch::Tensor zero_spread_P1 = std::get<0>(r_PG.max(/*dim=*/1, /*keepdim=*/true)) ==
                                       std::get<0>(r_PG.min(/*dim=*/1, /*keepdim=*/true));

  torch::Tensor advantages_PG = r_PG - mean_P1;
  if (scale == ScaleRewards::Group && group_size > 1) {  // G == 1: no std (n − 1 = 0); all zero-spread
    const torch::Tensor std_P1 = r_PG.std(/*dim=*/1, /*unbiased=*/true, /*keepdim=*/true);
    advantages_PG = advantages_PG / (std_P1 + eps);
  } else if (scale == ScaleRewards::Batch && N > 1) {
    advantages_PG = advantages_PG / (r_PG.std(/*unbiased=*/true) + eps);
  }
  advantages_PG = torch::where(zero_spread_P1, torch::zeros_like(advantages_PG), advantages_PG);

  AdvantageResult result;
  result.advantages = advantages_PG.reshape({N}).to(torch::kFloat32);
  result.zero_spread_P = zero_spread_P1.reshape({num_groups}).cpu();
  result.zero_spread_groups = num_groups == 0 ? 0 : result.zero_spread_P.sum().item<int64_t>();
  return result;
}

}  // namespace aha::grpo
