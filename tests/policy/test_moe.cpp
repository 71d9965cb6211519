// DeepSeekMoE router and balancing. Catches: bias leaking into the combine weights, group limits
// ignored, wrong group score (top-2 sum), missing renormalisation/scaling, a sign error in the bias update.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "policy/moe.h"
#include "tests/common/tiny_model.h"

using namespace aha;

TEST_CASE("gate selection with negative biases and group limits equals the hand-computed case") {
  auto config = testing::tiny_config();
  config.hidden_size = 8;  // gate weight = identity, so x is the router logits
  policy::MoeGate gate(config);
  torch::NoGradGuard no_grad;
  gate->weight.copy_(torch::eye(8));
  gate->e_score_correction_bias.copy_(torch::tensor({0.f, 0.f, 0.f, 0.f, 0.f, -2.5f, 0.3f, 0.3f}));
  auto x = torch::tensor({2.0f, 1.0f, 2.5f, -3.0f, -1.0f, 3.0f, 0.0f, 0.1f}).view({1, 8});
  // s = sigmoid(x) = .880797 .731059 .924142 .047426 .268941 .952574 .5 .524979
  // s + b          = .880797 .731059 .924142 .047426 .268941 -1.547426 .8 .824979
  // group top-2 sums (pairs): g0 1.611856, g1 0.971568, g2 -1.278485, g3 1.624979 -> keep g3, g0
  // experts left: 0 (.8808) 1 (.7311) 6 (.8) 7 (.8250) -> top-2 = {0, 7}
  // (without groups expert 2 would win; without the bias expert 5 would)
  auto routing = gate(x);
  auto idx = std::get<0>(routing.topk_idx_NK.sort(-1));
  auto order = std::get<1>(routing.topk_idx_NK.sort(-1));
  auto w = routing.topk_weight_NK.gather(1, order);
  CHECK(idx[0][0].item<int64_t>() == 0);
  CHECK(idx[0][1].item<int64_t>() == 7);
  // weights from the unbiased s: .880797/1.405776*2.5 = 1.566390, .524979/1.405776*2.5 = 0.933610
  CHECK(w[0][0].item<float>() == Approx(1.566390).epsilon(1e-5));
  CHECK(w[0][1].item<float>() == Approx(0.933610).epsilon(1e-5));
}

// Also catches replayed weights taken from the wrong experts (or the gate's own choice), the selection bias
// leaking into them, and a replay path that skips the renormalisation or the routed scaling.
TEST_CASE("router replay uses the given experts and still differentiates the gate") {
  auto config = testing::tiny_config();
  REQUIRE(config.scoring_func == policy::ScoringFunc::Sigmoid);
  REQUIRE(config.norm_topk_prob);
  policy::MoeGate gate(config);
  torch::manual_seed(0);
  torch::nn::init::normal_(gate->weight, 0, 0.5);
  {
    torch::NoGradGuard no_grad;
    // the bias steers selection only; it must not reach the weights
    torch::nn::init::normal_(gate->e_score_correction_bias, 0, 0.5);
  }
  auto x = torch::randn({5, config.hidden_size});
  auto replay = torch::tensor({1, 2, 3, 4, 5, 6, 7, 0, 0, 1}, torch::kLong).view({5, 2});
  auto routing = gate(x, replay);
  CHECK(torch::equal(routing.topk_idx_NK, replay));
  // By hand, in double: s_e = sigmoid(w_e . x) for the replayed experts, divided by their sum, times
  // routed_scaling_factor (2.5).
  auto x_double = x.to(torch::kDouble);
  auto w_double = gate->weight.detach().to(torch::kDouble);
  for (int64_t n = 0; n < 5; ++n) {
    std::vector<double> s;
    for (int64_t k = 0; k < 2; ++k) {
      const int64_t e = replay[n][k].item<int64_t>();
      const double logit = (x_double[n] * w_double[e]).sum().item<double>();
      s.push_back(1.0 / (1.0 + std::exp(-logit)));
    }
    for (int64_t k = 0; k < 2; ++k) {
      INFO("token " << n << ", slot " << k);
      CHECK(routing.topk_weight_NK[n][k].item<double>() ==
            Approx(s[k] / (s[0] + s[1]) * config.routed_scaling_factor).epsilon(1e-6));
    }
  }
  // (the weights of a token sum to 2.5, so differentiate one slot rather than the sum)
  routing.topk_weight_NK.select(1, 0).sum().backward();
  CHECK(gate->weight.grad().abs().sum().item<double>() > 0);
}

TEST_CASE("auxiliary-loss-free update moves overloaded experts down and underloaded up") {
  auto config = testing::tiny_config();
  policy::MoeGate gate(config);
  auto load = torch::tensor({10., 0., 5., 5., 5., 5., 5., 5.});  // mean 5
  gate->update_bias(load, 0.01);
  auto b = gate->e_score_correction_bias;
  CHECK(b[0].item<float>() == Approx(-0.01f));
  CHECK(b[1].item<float>() == Approx(0.01f));
  CHECK(b[2].item<float>() == 0.0f);
}

TEST_CASE("MoE layer equals a per-token loop over its chosen experts plus the shared expert") {
  auto config = testing::tiny_config();
  torch::manual_seed(5);
  policy::Moe moe(config);
  for (auto& p : moe->parameters()) torch::nn::init::normal_(p, 0.0, 0.3);
  auto x = torch::randn({2, 3, config.hidden_size});
  torch::Tensor recorded;
  policy::MoeCall call;
  call.record_idx_NK = &recorded;
  call.count_mask_N = torch::ones({6}, torch::kBool);
  auto y = moe(x, call).reshape({6, -1});
  auto routing = moe->gate(x.reshape({6, -1}));
  auto xs = x.reshape({6, -1});
  for (int64_t n = 0; n < 6; ++n) {
    auto expect = moe->shared_experts(xs[n]);
    for (int64_t k = 0; k < config.num_experts_per_tok; ++k) {
      int64_t e = routing.topk_idx_NK[n][k].item<int64_t>();
      expect = expect + routing.topk_weight_NK[n][k] * moe->experts[e]->as<policy::MlpImpl>()->forward(xs[n]);
    }
    CHECK(torch::allclose(y[n], expect, 1e-5, 1e-5));
  }
  CHECK(torch::equal(recorded, routing.topk_idx_NK));
  CHECK(moe->expert_load.sum().item<double>() == 6 * config.num_experts_per_tok);
}
