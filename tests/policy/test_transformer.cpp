// The whole policy: cached (absorbed) decode equals a full re-prefill, routes recorded by one forward
// replay to the same output, checkpoints round-trip exactly, parameter counts match the hand count.
#include <catch2/catch.hpp>

#include "rollout/kv_cache.h"
#include "tests/common/tiny_model.h"
#include "tests/common/token_batch.h"

using namespace aha;

TEST_CASE("cached decode over the latent cache equals a full re-prefill (max rel err <= 1e-5)") {
  torch::NoGradGuard no_grad;
  policy::Transformer model(testing::tiny_config());
  model->init_weights(11);
  const int64_t B = 2, T = 12, prefix = 5, S = 20;
  torch::manual_seed(1);
  auto tokens = torch::randint(1, 320, {B, T}, torch::kLong);
  auto positions = torch::arange(T, torch::kLong).expand({B, T});
  auto full_logits = model->logits(model->hidden_states(tokens, positions));  // [B, T, V]

  std::vector<policy::CacheEntry> latents;
  policy::ForwardOptions options;
  options.latents = &latents;
  model->hidden_states(tokens.narrow(1, 0, prefix), positions.narrow(1, 0, prefix), options);
  const auto& c = model->config();
  auto cache = rollout::KvCache::allocate(c, B, S, torch::kFloat);
  cache.fill_prefix(latents, /*group_size=*/1);
  for (int64_t t = prefix; t < T; ++t) {
    auto pos = torch::full({B}, t, torch::kLong);
    auto logits = model->decode_logits(tokens.select(1, t), pos, cache.first, cache.second);
    INFO("position " << t);
    CHECK(testing::max_relative_error(logits, full_logits.select(1, t)) <= 1e-5);
  }
}

TEST_CASE("router replay of recorded routes reproduces the forward, and other routes change it") {
  torch::NoGradGuard no_grad;
  policy::Transformer model(testing::tiny_config());
  model->init_weights(12);
  auto tokens = torch::randint(1, 320, {2, 7}, torch::kLong);
  auto positions = torch::arange(7, torch::kLong).expand({2, 7});
  policy::RouteTrace trace;
  policy::ForwardOptions record;
  record.record = &trace;
  auto h = model->hidden_states(tokens, positions, record);
  REQUIRE(trace.topk_idx.size() == 2);  // layers 1 and 2 are MoE
  policy::ForwardOptions replay;
  replay.replay = &trace;
  CHECK(torch::equal(model->hidden_states(tokens, positions, replay), h));
  policy::RouteTrace shifted;
  for (const auto& t : trace.topk_idx) shifted.topk_idx.push_back((t + 1) % 8);
  replay.replay = &shifted;
  CHECK_FALSE(torch::allclose(model->hidden_states(tokens, positions, replay), h));
}

TEST_CASE("a saved checkpoint loads back with identical tensors and logits") {
  testing::TempDir dir_tmp("roundtrip");
  auto dir = dir_tmp.path / "policy";
  policy::Transformer model(testing::tiny_config());
  model->init_weights(13);
  {
    torch::NoGradGuard no_grad;
    model->moe_layers()[0]->gate->e_score_correction_bias.copy_(torch::linspace(-0.3, 0.4, 8));
  }
  policy::save_policy(*model, testing::tiny_tokenizer_path(), dir);
  auto loaded = policy::load_policy(dir);
  auto a = policy::state_tensors(*model), b = policy::state_tensors(*loaded.model);
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    CHECK(torch::equal(t, b.at(name)));
  }
  CHECK(a.count("model.layers.1.mlp.gate.e_score_correction_bias") == 1);
  CHECK(a.count("model.layers.2.mlp.experts.7.down_proj.weight") == 1);
  CHECK(a.count("model.layers.0.self_attn.kv_a_proj_with_mqa.weight") == 1);
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(1, 320, {1, 6}, torch::kLong);
  auto positions = torch::arange(6, torch::kLong).unsqueeze(0);
  CHECK(torch::equal(model->logits(model->hidden_states(tokens, positions)),
                     loaded.model->logits(loaded.model->hidden_states(tokens, positions))));
}

TEST_CASE("missing or truncated checkpoint files are errors naming the file") {
  aha::testing::TempDir root_tmp("badckpt");
  auto root = root_tmp.path;
  auto dir = testing::make_tiny_policy(root / "p");
  std::filesystem::remove(dir / "model.safetensors");
  CHECK_THROWS_WITH(policy::load_policy(dir), Catch::Contains("model.safetensors") && Catch::Contains("missing"));
  testing::make_tiny_policy(dir);
  std::filesystem::resize_file(dir / "model.safetensors", std::filesystem::file_size(dir / "model.safetensors") / 2);
  CHECK_THROWS_WITH(policy::load_policy(dir), Catch::Contains("model.safetensors"));
}

TEST_CASE("parameter counts: total and active per token by hand") {
  auto c = testing::tiny_config();
  policy::Transformer model(c);
  auto counts = model->parameter_counts();
  const int64_t D = 32, V = 320, H = 4;
  int64_t attn = D * 24 + 24 + 24 * H * 12 + D * (16 + 4) + 16 + 16 * H * 16 + H * 8 * D;
  int64_t norms = 2 * D;
  int64_t dense = 3 * D * 48;
  int64_t expert = 3 * D * 16;
  int64_t moe = D * 8 + 8 * expert + expert;  // gate + routed + shared(1 x 16)
  int64_t total = 2 * V * D + D + 3 * (attn + norms) + dense + 2 * moe;
  CHECK(counts.total == total);
  CHECK(counts.active_per_token == total - 2 * 8 * expert + 2 * 2 * expert);
}

// Only the needed positions (the generated tokens) go through the lm_head: the same log-probs and
// entropies there as the full projection, 0 elsewhere, and the same gradient w.r.t. the hidden states and
// the lm_head for a loss over the needed positions. Catches a position matched to another row's target,
// results put back at the wrong positions, and a gradient lost on the way back.
TEST_CASE("token_logprobs over the needed positions only equals the full projection there") {
  auto config = testing::tiny_config();
  auto model = testing::seeded_model(config, 9);
  const auto [tokens, positions, targets] = testing::random_token_batch(config, 3, 10);
  auto needed = torch::zeros({3, 10});
  needed.narrow(1, 4, 6).fill_(1);  // a "prompt" of 4 positions, then generated tokens
  needed[2].narrow(0, 8, 2).fill_(0);  // a shorter row: padding at the end
  auto run = [&](const torch::Tensor& only, torch::Tensor* entropy) {
    model->zero_grad();
    auto h = model->hidden_states(tokens, positions).detach().requires_grad_(true);
    auto logp = model->token_logprobs(h, targets, 0.7, /*chunk_rows=*/7, entropy, false, only);
    (logp * needed).sum().backward();
    return std::make_tuple(logp.detach(), h.grad().clone(), model->lm_head->weight.grad().clone());
  };
  torch::Tensor entropy_full, entropy_only;
  const auto [logp_full, hgrad_full, wgrad_full] = run({}, &entropy_full);
  const auto [logp_only, hgrad_only, wgrad_only] = run(needed, &entropy_only);
  const auto keep = needed > 0;
  CHECK(torch::allclose(logp_only.masked_select(keep), logp_full.masked_select(keep), 0, 1e-6));
  CHECK(torch::allclose(entropy_only.masked_select(keep), entropy_full.masked_select(keep), 0, 1e-6));
  CHECK(logp_only.masked_select(~keep).abs().max().item<double>() == 0);
  CHECK(entropy_only.masked_select(~keep).abs().max().item<double>() == 0);
  CHECK(logp_full.masked_select(~keep).abs().min().item<double>() > 0);  // the full path did project them
  CHECK(testing::max_relative_error(hgrad_only, hgrad_full) <= 1e-6);
  CHECK(testing::max_relative_error(wgrad_only, wgrad_full) <= 1e-6);
}
