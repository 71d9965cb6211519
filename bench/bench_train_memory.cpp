// The training-memory paths of issue 12 against their plain baselines, in one run, on Qwen2.5-0.5B's
// layer shapes (hidden 896, 14 query / 2 key-value heads of 64, SwiGLU 4864, vocabulary 151,936) and a
// DeepSeek-V3 MLA layer shape cut to 16 heads:
//   1. attention, forward + backward of one attention module: eager ([B, H, T, T] scores) vs SDPA;
//   2. one whole decoder layer: what its forward keeps for the backward, plain vs activation checkpointing
//      (policy/memory_probe.h; checkpointing keeps the layer's input only);
//   3. lm_head + log-prob + entropy over N tokens: the plain autograd chunks vs the fused path that
//      recomputes the logits in the backward (kernels/lm_head_logprobs.h).
// Bytes are tensor storages counted by the counting CPU allocator (kernels/counting_allocator.h): exact and
// machine-independent. Times are medians of back-to-back repeats on this machine's CPU threads.
//   build/bench/bench_train_memory [ROWS=4] [TOKENS=512] [REPEATS=3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "kernels/counting_allocator.h"
#include "kernels/lm_head_logprobs.h"
#include "policy/gqa.h"
#include "policy/memory_probe.h"
#include "policy/mla.h"
#include "policy/rope.h"

using namespace aha;

namespace {

policy::ModelConfig qwen05b(const std::string& attention) {
  policy::ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 151936;
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.qkv_bias = true;
  c.rope_theta = 1e6;
  c.max_position_embeddings = 32768;
  c.tie_word_embeddings = true;
  c.attn_implementation = attention;
  c.validate();
  return c;
}

policy::ModelConfig mla16(const std::string& attention) {  // DeepSeek-V3's MLA dims, 16 heads, hidden 2048
  policy::ModelConfig c;
  c.model_type = "deepseek_v3";
  c.vocab_size = 1024;
  c.hidden_size = 2048;
  c.intermediate_size = 4096;
  c.moe_intermediate_size = 512;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 16;
  c.q_lora_rank = 1536;
  c.kv_lora_rank = 512;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.v_head_dim = 128;
  c.n_routed_experts = 8;
  c.num_experts_per_tok = 2;
  c.n_group = 1;
  c.topk_group = 1;
  c.first_k_dense_replace = 1;
  c.max_position_embeddings = 4096;
  c.attn_implementation = attention;
  c.validate();
  return c;
}

struct Measure {
  double median_s = 0;
  int64_t peak_bytes = 0;
};

// fn once under the counting allocator (peak bytes above what was alive before), then timed repeats
Measure measure(int repeats, const std::function<void()>& fn) {
  Measure m;
  {
    kernels::CountingScope scope;
    auto& counter = kernels::CountingScope::counter();
    const int64_t before = counter.live();
    counter.reset_peak();
    fn();
    m.peak_bytes = counter.peak() - before;
  }
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  m.median_s = times[times.size() / 2];
  return m;
}

template <class Module>
Measure attention(const policy::ModelConfig& c, int64_t B, int64_t T, int repeats) {
  torch::manual_seed(0);
  Module module(c);
  for (auto& p : module->parameters()) {
    torch::NoGradGuard no_grad;
    p.normal_(0.0, 0.02);
    if (p.dim() == 1) p.fill_(1.0);
  }
  const auto [cos, sin] = policy::Rope::make(c).angles(torch::arange(T, torch::kLong).expand({B, T}));
  const auto x = torch::randn({B, T, c.hidden_size}).requires_grad_(true);
  const auto up = torch::randn({B, T, c.hidden_size});
  return measure(repeats, [&] {
    (module(x, cos, sin, nullptr) * up).sum().backward();
    x.mutable_grad() = torch::Tensor();
    module->zero_grad();
  });
}

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

}  // namespace

int main(int argc, char** argv) {
  const int64_t B = argc > 1 ? std::atoll(argv[1]) : 4, T = argc > 2 ? std::atoll(argv[2]) : 512;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  std::printf("bench_train_memory: %lld rows x %lld tokens, fp32, torch threads %d, median of %d\n",
              static_cast<long long>(B), static_cast<long long>(T), torch::get_num_threads(), repeats);

  std::printf("\n1. attention forward + backward (peak tensor bytes above the inputs, time)\n");
  for (const char* shape : {"qwen2.5-0.5b GQA 14/2 x 64", "deepseek-v3 MLA 16 heads 192/128"}) {
    const bool gqa = shape[0] == 'q';
    Measure eager = gqa ? attention<policy::Gqa>(qwen05b("eager"), B, T, repeats)
                        : attention<policy::Mla>(mla16("eager"), B, T, repeats);
    Measure sdpa = gqa ? attention<policy::Gqa>(qwen05b("sdpa"), B, T, repeats)
                       : attention<policy::Mla>(mla16("sdpa"), B, T, repeats);
    std::printf("  %-34s eager %8.1f MiB %7.3f s | sdpa %8.1f MiB %7.3f s | memory %.2fx, time %.2fx\n", shape,
                mib(eager.peak_bytes), eager.median_s, mib(sdpa.peak_bytes), sdpa.median_s,
                static_cast<double>(sdpa.peak_bytes) / eager.peak_bytes, sdpa.median_s / eager.median_s);
  }

  std::printf("\n2. one qwen2.5-0.5b decoder layer, per row of %lld tokens (policy/memory_probe.h)\n",
              static_cast<long long>(T));
  for (const char* attn : {"eager", "sdpa"}) {
    const auto layer = policy::probe_layer_memory(qwen05b(attn), 0, T, torch::kFloat);
    const double input = static_cast<double>(T * 896 * 4);
    std::printf("  %-5s kept for the backward %7.1f MiB (checkpointed: the input, %.1f MiB: %.0fx less); "
                "forward + backward peak %7.1f MiB\n",
                attn, mib(layer.kept), input / (1 << 20), layer.kept / input, mib(layer.peak));
  }

  std::printf("\n3. lm_head + log-prob + entropy, %lld tokens, vocabulary 151936, hidden 896\n",
              static_cast<long long>(B * T));
  torch::manual_seed(0);
  const int64_t N = B * T, V = 151936, D = 896;
  const auto hidden0 = torch::randn({N, D}), weight0 = torch::randn({V, D}) * 0.05;
  const auto targets = torch::randint(V, {N}, torch::kLong);
  const int64_t chunk = kernels::default_chunk_rows(V);
  for (const bool fused : {false, true}) {
    const Measure m = measure(repeats, [&] {
      const auto hidden = hidden0.clone().requires_grad_(true), weight = weight0.clone().requires_grad_(true);
      const auto out = (fused ? kernels::lm_head_logprobs : kernels::lm_head_logprobs_reference)(
          hidden, weight, targets, 1.0, fused ? chunk : 2048, /*with_entropy=*/true, /*entropy_grad=*/false);
      out.logprobs_N.sum().backward();
    });
    std::printf("  %-46s %8.1f MiB %7.3f s\n",
                fused ? "fused, logits recomputed (chunk 110 rows)" : "plain autograd, chunks of 2048 rows kept",
                mib(m.peak_bytes - 2 * (N * D + V * D) * 4), m.median_s);
  }
  return 0;
}
