// Decode throughput of the rollout path (absorbed MLA over the latent cache) against the naive baseline
// (re-running the full causal forward over the whole prefix for every new token), in the same run, on
// the same policy. Prints the workload, the machine's thread count, and the ratio.
//   build/bench/bench_decode [MODEL_DIR] [BATCH] [NEW_TOKENS]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <torch/torch.h>

#include "policy/checkpoint.h"
#include "rollout/kv_cache.h"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "examples/tiny/base";
  const int64_t B = argc > 2 ? std::atoll(argv[2]) : 64;
  const int64_t new_tokens = argc > 3 ? std::atoll(argv[3]) : 40;
  const int64_t prompt = 24;
  auto policy = aha::policy::load_policy(dir);
  auto& model = policy.model;
  const auto& c = model->config();
  torch::InferenceMode guard;
  torch::manual_seed(0);
  auto tokens = torch::randint(1, policy.tokenizer->vocab_size(), {B, prompt + new_tokens}, torch::kLong);
  std::printf("bench_decode: model %s, batch %lld, prompt %lld, new tokens %lld, torch threads %d\n", dir.c_str(),
              static_cast<long long>(B), static_cast<long long>(prompt), static_cast<long long>(new_tokens),
              torch::get_num_threads());

  auto time_it = [](auto&& fn) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  // cached: prefill once, then one absorbed decode step per token
  double cached = time_it([&] {
    std::vector<aha::policy::CacheEntry> latents;
    aha::policy::ForwardOptions options;
    options.latents = &latents;
    auto positions = torch::arange(prompt, torch::kLong).expand({B, prompt});
    model->hidden_states(tokens.narrow(1, 0, prompt), positions, options);
    const int64_t S = prompt + new_tokens;
    auto cache = aha::rollout::KvCache::allocate(c, B, S, torch::kFloat);
    cache.fill_prefix(latents, /*group_size=*/1);
    for (int64_t t = prompt; t < prompt + new_tokens; ++t)
      model->decode_logits(tokens.select(1, t), torch::full({B}, t, torch::kLong), cache.first, cache.second);
  });
  // naive: full forward over the prefix for every new token
  double naive = time_it([&] {
    for (int64_t t = prompt; t < prompt + new_tokens; ++t) {
      auto positions = torch::arange(t + 1, torch::kLong).expand({B, t + 1});
      auto h = model->hidden_states(tokens.narrow(1, 0, t + 1), positions);
      model->logits(h.select(1, t));
    }
  });
  const double generated = static_cast<double>(B * new_tokens);
  std::printf("cached absorbed decode: %.3f s  %.0f tok/s\n", cached, generated / cached);
  std::printf("naive re-prefill:       %.3f s  %.0f tok/s\n", naive, generated / naive);
  std::printf("speed-up (cached / naive): %.2fx\n", naive / cached);
  return 0;
}
