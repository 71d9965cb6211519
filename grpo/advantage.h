// Group-relative advantages: the critic-free baseline of GRPO (DeepSeekMath §4.1.2, outcome supervision).
// For the G completions o_1..o_G of one prompt with rewards r_1..r_G, every token of o_i gets
//     A_i = (r_i − mean(r)) / (std(r) + eps)       ScaleRewards::Group  (GRPO; TRL scale_rewards="group")
//     A_i = (r_i − mean(r)) / (std(r_all) + eps)   ScaleRewards::Batch  (TRL "batch": one std over the step)
//     A_i =  r_i − mean(r)                          ScaleRewards::None   (Dr. GRPO, no difficulty bias)
// std is the unbiased (n−1) sample std, as torch.std and TRL use. A group whose rewards are all equal
// ("zero spread") carries no learning signal: its advantages are exactly 0 and it is counted, so the
// trainer can log frac_reward_zero_std and DAPO's dynamic sampling can drop and refill such groups.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace aha::grpo {

enum class ScaleRewards { Group, Batch, None };

// "group", "batch", "none"; anything else throws std::invalid_argument naming the allowed values.
ScaleRewards parse_scale_rewards(const std::string& name);
std::string to_string(ScaleRewards scale);

struct AdvantageResult {
  torch::Tensor advantages;        // [N] float32, same device as the rewards
  torch::Tensor zero_spread_P;     // [P] bool on the CPU: group p's rewards are all equal (advantage 0)
  int64_t zero_spread_groups = 0;  // how many groups are zero-spread
};

// rewards_N: [N] rewards laid out group by group (the G completions of prompt 0, then of prompt 1, ...).
// Throws std::invalid_argument when rewards_N is not 1-D, group_size < 1, N % group_size != 0 or eps < 0.
AdvantageResult group_advantages(const torch::Tensor& rewards_N, int64_t group_size, ScaleRewards scale,
                                 double eps = 1e-4);

}  // namespace aha::grpo
