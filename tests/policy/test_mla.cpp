// MLA: the absorbed decode over a latent-only cache equals the naive form (the bug it catches: a wrong
// W_UK/W_UV split, a wrong scale in the absorbed path, or RoPE applied at the wrong position).
#include <catch2/catch.hpp>

#include "policy/mla.h"
#include "policy/rope.h"
#include "tests/common/tiny_model.h"

using namespace aha;

TEST_CASE("absorbed MLA decode equals naive MLA (fp32, max rel err <= 1e-5)") {
  torch::manual_seed(3);
  for (bool q_lora : {true, false}) {
    auto config = testing::tiny_config();
    if (!q_lora) config.q_lora_rank = 0;
    policy::Mla mla(config);
    for (auto& p : mla->parameters()) torch::nn::init::normal_(p, 0.0, 0.3);
    auto rope = policy::Rope::make(config);
    const int64_t B = 3, T = 9, S = 16;
    auto x = torch::randn({B, T, config.hidden_size});
    auto positions = torch::arange(T, torch::kLong).expand({B, T});
    auto [cos, sin] = rope.angles(positions);
    auto naive = mla(x, cos, sin);  // [B, T, D]

    auto kv_cache = torch::zeros({B, S, config.kv_lora_rank});
    auto rope_cache = torch::zeros({B, S, config.qk_rope_head_dim});
    std::vector<torch::Tensor> absorbed;
    for (int64_t t = 0; t < T; ++t) {
      auto pos_B = torch::full({B}, t, torch::kLong);
      auto [c, s] = rope.angles(pos_B.unsqueeze(1));
      absorbed.push_back(mla->decode(x.narrow(1, t, 1), c, s, pos_B, kv_cache, rope_cache));
    }
    auto absorbed_all = torch::cat(absorbed, 1);
    INFO("q_lora " << q_lora);
    CHECK(testing::max_relative_error(absorbed_all, naive) <= 1e-5);
    // and the cache holds exactly the naive latents
    policy::CacheEntry latent;
    mla(x, cos, sin, &latent);
    CHECK(torch::allclose(kv_cache.narrow(1, 0, T), latent.first, 1e-6, 1e-6));
    CHECK(torch::allclose(rope_cache.narrow(1, 0, T), latent.second, 1e-6, 1e-6));
  }
}

TEST_CASE("RoPE rotates consecutive pairs by position * inv_freq (hand-computed)") {
  auto config = testing::tiny_config();  // rope dim 4, theta 10000: inv_freq = [1, 0.01]
  auto rope = policy::Rope::make(config);
  CHECK(rope.inv_freq[0].item<float>() == Approx(1.0f));
  CHECK(rope.inv_freq[1].item<float>() == Approx(0.01f));
  auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 4});
  auto [cos, sin] = rope.angles(torch::tensor({2}, torch::kLong));
  auto y = policy::apply_rope(x, cos, sin);
  // pair 0: (1, 0) rotated by 2 rad -> (cos 2, sin 2); pair 1: (0, 1) rotated by 0.02 -> (-sin .02, cos .02)
  CHECK(y[0][0].item<float>() == Approx(std::cos(2.0)).margin(1e-6));
  CHECK(y[0][1].item<float>() == Approx(std::sin(2.0)).margin(1e-6));
  CHECK(y[0][2].item<float>() == Approx(-std::sin(0.02)).margin(1e-6));
  CHECK(y[0][3].item<float>() == Approx(std::cos(0.02)).margin(1e-6));
}

TEST_CASE("YaRN inv_freq and softmax scale match DeepSeek-V3's published values") {
  policy::ModelConfig c = testing::tiny_config();
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.rope_scaling = {policy::RopeType::Yarn, 40.0, 4096, 32.0, 1.0, 1.0, 1.0};
  auto rope = policy::Rope::make(c);
  // spec §1.4.3: inv_freq[0..3] = 1, 0.749894, 0.562341, 0.421697; inv_freq[31] = 3.3338e-6
  CHECK(rope.inv_freq[1].item<float>() == Approx(0.749894).epsilon(1e-5));
  CHECK(rope.inv_freq[3].item<float>() == Approx(0.421697).epsilon(1e-5));
  CHECK(rope.inv_freq[31].item<float>() == Approx(3.3338e-6).epsilon(1e-4));
  CHECK(c.softmax_scale() == Approx(0.1352338).epsilon(1e-6));  // 192^-0.5 * mscale^2
  CHECK(rope.attention_factor == Approx(1.0));
}
