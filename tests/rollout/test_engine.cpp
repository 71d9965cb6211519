// Rollout engine: the behaviour log-probs it records equal what the trainer recomputes for the same
// tokens (the parity test: rollout and training share weights and must share numbers), sampling is
// reproducible per seed and independent of batch composition, and stop rules end completions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "grpo/trainer.h"
#include "rollout/engine.h"
#include "rollout/sampler.h"
#include "tests/common/tiny_model.h"

using namespace aha;

namespace {
std::vector<uint64_t> seeds_for(int64_t n, uint64_t base) {
  std::vector<uint64_t> s;
  for (int64_t i = 0; i < n; ++i) s.push_back(base * 1000 + i);
  return s;
}
}  // namespace

TEST_CASE("rollout behaviour log-probs equal the trainer's recompute (max abs diff <= 1e-5)") {
  aha::testing::TempDir root_tmp("parity");
  auto root = root_tmp.path;
  auto policy = policy::load_policy(testing::make_tiny_policy(root / "p", 21));
  rollout::Engine engine(policy.model, policy.tokenizer, 0);
  for (double temperature : {1.0, 0.7}) {
    rollout::GenerationConfig g;
    g.max_new_tokens = 24;
    g.sampling.temperature = temperature;
    g.record_routes = true;
    std::vector<std::string> prompts = {"User: What is 3 + 4?\nAssistant: ", "User: Hi\nAssistant: <think>"};
    auto result = engine.generate(prompts, 3, g, seeds_for(6, 1));
    auto adv = torch::zeros({6});
    auto batch = grpo::make_train_batch(result, adv, 0, /*with_routes=*/true, torch::kCPU);
    torch::NoGradGuard no_grad;
    auto h = policy.model->hidden_states(batch.tokens_NT, batch.positions_NT);
    auto logp = policy.model->token_logprobs(h, batch.targets_NT, temperature);
    auto diff = ((logp - batch.old_logp_NT) * batch.mask_NT).abs().max().item<double>();
    INFO("temperature " << temperature);
    CHECK(batch.mask_NT.sum().item<double>() > 20);
    CHECK(diff <= 1e-5);
    // the recorded routes replay to the same forward the router would choose itself
    policy::RouteTrace trace;
    trace.topk_idx = batch.routes;
    policy::ForwardOptions replay;
    replay.replay = &trace;
    auto h_replay = policy.model->hidden_states(batch.tokens_NT, batch.positions_NT, replay);
    auto valid = batch.valid_NT.unsqueeze(-1);
    CHECK(((h_replay - h).abs() * valid).max().item<double>() <= 1e-5);
  }
}

TEST_CASE("GQA + softmax MoE (Qwen3-MoE fixture): rollout log-probs and routes equal the trainer's") {
  // Same parity as above through the key/value cache of grouped-query attention (rows of different prompt
  // lengths decode in lockstep, so a wrong position mask or kv-head grouping in decode shows here).
  auto policy = policy::load_policy(std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures/hf_qwen3_moe");
  rollout::Engine engine(policy.model, policy.tokenizer, 0);
  rollout::GenerationConfig g;
  g.max_new_tokens = 20;
  g.record_routes = true;
  auto result = engine.generate({"User: What is 3 + 4?\nAssistant:", "Hi"}, 2, g, seeds_for(4, 3));
  auto batch = grpo::make_train_batch(result, torch::zeros({4}), 0, /*with_routes=*/true, torch::kCPU);
  torch::NoGradGuard no_grad;
  auto h = policy.model->hidden_states(batch.tokens_NT, batch.positions_NT);
  auto logp = policy.model->token_logprobs(h, batch.targets_NT, 1.0);
  CHECK(batch.mask_NT.sum().item<double>() > 20);
  CHECK(((logp - batch.old_logp_NT) * batch.mask_NT).abs().max().item<double>() <= 1e-5);
  policy::RouteTrace trace;
  trace.topk_idx = batch.routes;
  policy::ForwardOptions replay;
  replay.replay = &trace;
  auto h_replay = policy.model->hidden_states(batch.tokens_NT, batch.positions_NT, replay);
  CHECK(((h_replay - h).abs() * batch.valid_NT.unsqueeze(-1)).max().item<double>() <= 1e-5);
}

TEST_CASE("a completion depends only on its seed, not on the batch it shares") {
  aha::testing::TempDir root_tmp("seeds");
  auto root = root_tmp.path;
  auto policy = policy::load_policy(testing::make_tiny_policy(root / "p", 22));
  rollout::Engine engine(policy.model, policy.tokenizer, 0);
  rollout::GenerationConfig g;
  g.max_new_tokens = 16;
  auto big = engine.generate({"User: a\nAssistant: ", "User: What is 12 + 30?\nAssistant: "}, 4, g, seeds_for(8, 2));
  auto small = engine.generate({"User: What is 12 + 30?\nAssistant: "}, 2, g, {2004, 2005});
  CHECK(small.completions[0].token_ids == big.completions[4].token_ids);
  CHECK(small.completions[1].token_ids == big.completions[5].token_ids);
  auto again = engine.generate({"User: a\nAssistant: ", "User: What is 12 + 30?\nAssistant: "}, 4, g, seeds_for(8, 2));
  for (int i = 0; i < 8; ++i) CHECK(again.completions[i].token_ids == big.completions[i].token_ids);
  for (const auto& c : big.completions) {
    CHECK(c.logprobs.size() == c.token_ids.size());
    CHECK((c.finish_reason == rollout::FinishReason::Eos || c.finish_reason == rollout::FinishReason::Length));
    if (c.finish_reason == rollout::FinishReason::Length) CHECK(c.token_ids.size() == 16);
  }
}

// Finished rows leave the decode batch and the cache is compacted, so rows decode beside different
// neighbours at different steps. Catches: a slot read for the wrong row after compaction (seeds, tokens,
// cache rows or positions), a live-prefix cut that drops a position still attended, and routes recorded
// under the slot instead of the row.
TEST_CASE("rows that finish early leave the batch: every completion equals its row decoded alone") {
  aha::testing::TempDir root_tmp("compact");
  auto policy = policy::load_policy(testing::make_tiny_policy(root_tmp.path / "p", 24));
  const std::vector<std::string> prompts{"User: a\nAssistant: ", "User: What is 12 + 30?\nAssistant: <think>"};
  rollout::GenerationConfig g;
  g.max_new_tokens = 40;
  g.record_routes = true;
  // an "EOS" the random model emits often, so rows end at scattered steps
  auto free_run = rollout::Engine(policy.model, policy.tokenizer, 0).generate(prompts, 4, g, seeds_for(8, 5));
  std::map<int64_t, int> counts;
  for (const auto& c : free_run.completions)
    for (auto t : c.token_ids) ++counts[t];
  const int64_t eos = std::max_element(counts.begin(), counts.end(), [](auto& a, auto& b) {
                        return a.second < b.second;
                      })->first;
  rollout::Engine engine(policy.model, policy.tokenizer, eos);
  const auto batch = engine.generate(prompts, 4, g, seeds_for(8, 5));
  size_t shortest = g.max_new_tokens, longest = 0;
  for (const auto& c : batch.completions) {
    shortest = std::min(shortest, c.token_ids.size());
    longest = std::max(longest, c.token_ids.size());
  }
  INFO("eos " << eos << ", lengths " << shortest << ".." << longest);
  REQUIRE(shortest * 3 < longest);  // rows left at very different steps
  const auto seeds = seeds_for(8, 5);
  for (int64_t b = 0; b < 8; ++b) {
    const auto alone = engine.generate({prompts[b / 4]}, 1, g, {seeds[b]}).completions[0];
    const auto& c = batch.completions[b];
    CHECK(c.token_ids == alone.token_ids);
    REQUIRE(c.logprobs.size() == alone.logprobs.size());
    for (size_t t = 0; t < c.logprobs.size(); ++t) CHECK(std::abs(c.logprobs[t] - alone.logprobs[t]) <= 1e-5);
    REQUIRE(c.routes.size() == alone.routes.size());
    for (size_t m = 0; m < c.routes.size(); ++m) CHECK(torch::equal(c.routes[m], alone.routes[m]));
  }
}

TEST_CASE("stop strings end a completion at the token that completes them") {
  aha::testing::TempDir root_tmp("stop");
  auto root = root_tmp.path;
  auto policy = policy::load_policy(testing::make_tiny_policy(root / "p", 23));
  rollout::Engine engine(policy.model, policy.tokenizer, 0);
  rollout::GenerationConfig g;
  g.max_new_tokens = 40;
  auto free_run = engine.generate({"User: x\nAssistant: "}, 1, g, {77});
  std::string text = free_run.completions[0].text;
  REQUIRE(text.size() >= 6);
  std::string stop = text.substr(3, 2);  // something the unconstrained completion does produce
  g.stop_strings = {stop};
  auto stopped = engine.generate({"User: x\nAssistant: "}, 1, g, {77});
  const auto& c = stopped.completions[0];
  CHECK(c.finish_reason == rollout::FinishReason::Stop);
  CHECK(c.text.find(stop) != std::string::npos);
  CHECK(c.text.size() <= c.text.find(stop) + stop.size() + 8);  // ends within a token of the stop string
  CHECK(c.token_ids.size() < free_run.completions[0].token_ids.size());
}

TEST_CASE("sampler: top-k 1 and top-p tiny are greedy, and uniforms map through the kept CDF") {
  auto logits = torch::tensor({{0.0f, 2.0f, 1.0f, -1.0f}});
  for (double u : {0.0, 0.5, 0.999}) {
    auto k1 = rollout::sample_tokens(logits, torch::tensor({u}, torch::kDouble), {1.0, 1.0, 1});
    CHECK(k1.tokens_B[0].item<int64_t>() == 1);
    auto p0 = rollout::sample_tokens(logits, torch::tensor({u}, torch::kDouble), {1.0, 1e-6, 0});
    CHECK(p0.tokens_B[0].item<int64_t>() == 1);
  }
  // probs: token0 .0871, token1 .6439, token2 .2369, token3 .0321
  // top-p 0.95 keeps {1, 2, 0} (mass before token 3 is .9679) and draws in descending order over their
  // mass .9679: u = 0.7 -> target .6775 falls past token 1 (.6439) into token 2
  auto s = rollout::sample_tokens(logits, torch::tensor({0.7}, torch::kDouble), {1.0, 0.95, 0});
  CHECK(s.tokens_B[0].item<int64_t>() == 2);
  CHECK(s.logprobs_B[0].item<float>() == Approx(std::log(0.2368828)).epsilon(1e-5));
  // top-p and top-k off: no sort, the CDF runs in token order (.0871, .7310, .9679, 1)
  const std::vector<std::pair<double, int64_t>> natural{{0.05, 0}, {0.088, 1}, {0.7, 1}, {0.75, 2}, {0.99, 3}};
  for (const auto& [u, token] : natural) {
    auto n = rollout::sample_tokens(logits, torch::tensor({u}, torch::kDouble), {1.0, 1.0, 0});
    CHECK(n.tokens_B[0].item<int64_t>() == token);
  }
  // top-k 2 renormalises over {1, 2}: token 1 has .7311 of the kept mass, so u = 0.7 -> token 1
  auto k2 = rollout::sample_tokens(logits, torch::tensor({0.7}, torch::kDouble), {1.0, 1.0, 2});
  CHECK(k2.tokens_B[0].item<int64_t>() == 1);
}

TEST_CASE("sampler without top-p/top-k: never a zero-probability token, and frequencies follow softmax") {
  const float inf = std::numeric_limits<float>::infinity();
  // the largest uniform below 1: u·total may round up to total; the draw must still land on token 1
  auto masked = torch::tensor({{-inf, 0.0f, -inf, 1.0f, -inf}});
  for (double u : {0.0, 0.5, 1.0 - 0x1.0p-53}) {
    auto m = rollout::sample_tokens(masked, torch::tensor({u}, torch::kDouble), {1.0, 1.0, 0});
    const int64_t token = m.tokens_B[0].item<int64_t>();
    CHECK((token == 1 || token == 3));
  }
  CHECK(rollout::sample_tokens(masked, torch::tensor({1.0 - 0x1.0p-53}, torch::kDouble), {1.0, 1.0, 0})
            .tokens_B[0].item<int64_t>() == 3);
  // u = 1 stands for u·total rounded up to total: every cdf entry is <= the target, and the draw must still
  // land on the last token with mass (3), not past it on the masked token 4
  CHECK(rollout::sample_tokens(masked, torch::tensor({1.0}, torch::kDouble), {1.0, 1.0, 0})
            .tokens_B[0].item<int64_t>() == 3);
  // 20,000 counter-based uniforms through one row at temperature 0.5: each token's frequency within
  // 4 standard errors of softmax(logits / 0.5)
  const int64_t n = 20000;
  auto logits = torch::tensor({0.3f, -0.2f, 0.9f, 0.0f, -1.5f, 0.6f}).unsqueeze(0).expand({n, 6}).contiguous();
  std::vector<double> u(n);
  for (int64_t i = 0; i < n; ++i) u[i] = rollout::seeded_uniform(17, static_cast<uint64_t>(i));
  auto drawn = rollout::sample_tokens(logits, torch::tensor(u, torch::kDouble), {0.5, 1.0, 0});
  auto counts = torch::bincount(drawn.tokens_B, {}, 6).to(torch::kDouble) / n;
  auto p = torch::softmax(logits[0].to(torch::kDouble) / 0.5, 0);
  for (int64_t v = 0; v < 6; ++v) {
    const double pv = p[v].item<double>(), se = std::sqrt(pv * (1 - pv) / n);
    CHECK(std::abs(counts[v].item<double>() - pv) < 4 * se);
  }
  CHECK(drawn.logprobs_B[0].item<double>() ==
        Approx(std::log(p[drawn.tokens_B[0].item<int64_t>()].item<double>())).epsilon(1e-5));
}
