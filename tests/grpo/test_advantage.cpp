// Tests for grpo/advantage: group-normalised advantages (GRPO) and mean-centred ones (Dr. GRPO),
// zero-spread groups, and the boundary errors. Expected values are worked by hand in the comments.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

#include "grpo/advantage.h"

using aha::grpo::group_advantages;

namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kFloat32);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void check_close(const torch::Tensor& actual, const std::vector<double>& expected, double tol = 1e-6) {
  REQUIRE(actual.dim() == 1);
  REQUIRE(actual.size(0) == static_cast<int64_t>(expected.size()));
  const std::vector<float> a = to_vector(actual);
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("index " << i);
    CHECK(a[i] == Approx(expected[i]).margin(tol));
  }
}

}  // namespace

// Catches: biased std (would give 1.2247 instead of 1), a missing eps, groups mixed across prompts,
// and NaN/garbage for a zero-spread group.
TEST_CASE("group_advantages normalises by the unbiased group std and zeroes zero-spread groups",
          "[grpo][advantage]") {
  // group 0 = [1, 2, 3]: mean 2, deviations [-1, 0, 1], unbiased var = (1 + 0 + 1) / (3 - 1) = 1, std = 1
  //   A = [-1, 0, 1] / (1 + 1e-4) = [-0.99990001, 0, 0.99990001]
  // group 1 = [5, 5, 5]: zero spread -> A = [0, 0, 0], counted
  // group 2 = [0, 0, 4]: mean 4/3, deviations [-4/3, -4/3, 8/3],
  //   unbiased var = (16/9 + 16/9 + 64/9) / 2 = 16/3, std = 4/sqrt(3) = 2.30940108
  //   A = [-4/3, -4/3, 8/3] / (2.30940108 + 1e-4) = [-0.57732527, -0.57732527, 1.15465054]
  const torch::Tensor rewards = torch::tensor({1.0f, 2.0f, 3.0f, 5.0f, 5.0f, 5.0f, 0.0f, 0.0f, 4.0f});
  const auto result = group_advantages(rewards, /*group_size=*/3, aha::grpo::ScaleRewards::Group);
  CHECK(result.advantages.scalar_type() == torch::kFloat32);
  CHECK(result.zero_spread_groups == 1);
  check_close(result.advantages,
              {-0.99990001, 0.0, 0.99990001, 0.0, 0.0, 0.0, -0.57732527, -0.57732527, 1.15465054});
}

TEST_CASE("group_advantages without std scaling is Dr. GRPO's r - mean", "[grpo][advantage]") {
  // group 0 = [1, 2, 3] -> [-1, 0, 1]; group 1 = [5, 5, 5] -> [0, 0, 0]; group 2 = [0, 0, 4] -> [-4/3, -4/3,
  // 8/3]
  const torch::Tensor rewards = torch::tensor({1.0f, 2.0f, 3.0f, 5.0f, 5.0f, 5.0f, 0.0f, 0.0f, 4.0f});
  const auto result = group_advantages(rewards, /*group_size=*/3, aha::grpo::ScaleRewards::None);
  CHECK(result.zero_spread_groups == 1);
  check_close(result.advantages, {-1.0, 0.0, 1.0, 0.0, 0.0, 0.0, -4.0 / 3.0, -4.0 / 3.0, 8.0 / 3.0});
}

// Catches: a per-group std in batch mode (group 0 would get ±0.9999), or a biased batch std.
TEST_CASE("group_advantages batch scaling divides group-centred rewards by one std over the step",
          "[grpo][advantage]") {
  // rewards [1, 2, 3 | 0, 0, 4]: centred per group [-1, 0, 1 | -4/3, -4/3, 8/3]
  // batch mean 5/3; squared deviations (4 + 1 + 16 + 25 + 25 + 49) / 9 = 40/3; unbiased var 40/3 / 5 = 8/3
  const torch::Tensor rewards = torch::tensor({1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 4.0f});
  const auto result = group_advantages(rewards, /*group_size=*/3, aha::grpo::ScaleRewards::Batch);
  const double d = std::sqrt(8.0 / 3.0) + 1e-4;
  check_close(result.advantages, {-1 / d, 0.0, 1 / d, -4.0 / 3 / d, -4.0 / 3 / d, 8.0 / 3 / d});
  CHECK(aha::grpo::parse_scale_rewards("batch") == aha::grpo::ScaleRewards::Batch);
  CHECK_THROWS_WITH(aha::grpo::parse_scale_rewards("std"), Catch::Contains("group, batch, none"));
}

// Catches: a zero-spread test that compares r - mean to 0 in float (0.1f * 3 / 3 != 0.1f) and so
// returns tiny non-zero advantages blown up by 1/eps.
TEST_CASE("group_advantages detects zero spread exactly for non-representable rewards", "[grpo][advantage]") {
  const torch::Tensor rewards = torch::tensor({0.1f, 0.1f, 0.1f, 0.7f, 0.7f, 0.7f});
  const auto result = group_advantages(rewards, /*group_size=*/3, aha::grpo::ScaleRewards::Group);
  CHECK(result.zero_spread_groups == 2);
  CHECK(torch::equal(result.advantages, torch::zeros({6})));
}

// Catches: NaN from the unbiased std of a single sample (n - 1 = 0).
TEST_CASE("group_advantages with group_size 1 gives zeros, every group zero-spread", "[grpo][advantage]") {
  const torch::Tensor rewards = torch::tensor({1.0f, 0.0f, 0.5f});
  const auto result = group_advantages(rewards, /*group_size=*/1, aha::grpo::ScaleRewards::Group);
  CHECK(result.zero_spread_groups == 3);
  CHECK(torch::equal(result.advantages, torch::zeros({3})));
}

TEST_CASE("group_advantages rejects rewards that do not split into groups", "[grpo][advantage]") {
  CHECK_THROWS_AS(group_advantages(torch::ones({7}), 4, aha::grpo::ScaleRewards::Group), std::invalid_argument);
  CHECK_THROWS_WITH(group_advantages(torch::ones({7}), 4, aha::grpo::ScaleRewards::Group), Catch::Contains("groups of 4"));
  CHECK_THROWS_AS(group_advantages(torch::ones({2, 4}), 4, aha::grpo::ScaleRewards::Group), std::invalid_argument);
  CHECK_THROWS_AS(group_advantages(torch::ones({8}), 0, aha::grpo::ScaleRewards::Group), std::invalid_argument);
}
