// The fused attention path (attn_implementation "sdpa": at::scaled_dot_product_attention) against its
// reference (attn_implementation "eager": explicit [B, H, T, T] scores), for MLA (DeepSeek-V3-like tiny,
// YaRN mscale in the softmax scale, Dv 8 != Dn+R 12 so v is zero-padded) and GQA (Qwen2-like tiny, q/k/v
// bias, 6 query heads over 2 kv heads): the module output, the gradients w.r.t. its input and every
// parameter for a random upstream loss, and the whole Transformer's hidden states and gradients.
// Catches: SDPA's default scale (Dqk^-0.5, or the padded dim's) instead of qk_head_dim^-0.5 · mscale², v's
// zero padding leaking into the output, a kv-head grouping order that differs from eager's [Hkv, G] view,
// a missing causal mask, a wrong transpose between [B, T, H, D] and SDPA's [B, H, T, D]. Each of those
// moves some output or gradient by more than 1e-2 of its largest entry.
//
// fp32 tolerances come from the fp32 noise floor, measured against an fp64 result (SDPA's fused kernel
// in double; eager in double is not one, it takes its softmax in fp32): eager in fp32 is itself up to
// 9.6e-7 (one module) and 4.4e-6 (the 3-layer Transformer) of the largest entry away from it, and sdpa
// in fp32 about as far, in another direction (they sum in another order: the fused kernel blocks T and
// rescales partial softmax sums online). So sdpa and eager differ by up to 1.2e-6 (module) and 3.4e-6
// (Transformer), measured; 1e-6 would be below that floor. Held: sdpa vs eager <= 5e-6 (module) and
// 1e-5 (Transformer), and sdpa no further from the fp64 result than 3 times eager's distance (measured
// 0.85 to 1.5 times).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <utility>

#include <ATen/SDPBackend.h>

#include "policy/gqa.h"
#include "policy/mla.h"
#include "policy/rope.h"
#include "policy/transformer.h"
#include "tests/common/tiny_model.h"

using namespace aha;

namespace {

// DeepSeek-V3-like: tiny_config (q_lora, Dn 8, R 4, Dv 8) with YaRN, so softmax_scale carries mscale².
policy::ModelConfig mla_config() {
  auto c = testing::tiny_config();
  c.rope_scaling = {policy::RopeType::Yarn, /*factor=*/4.0, /*original_max_position_embeddings=*/64,
                    /*beta_fast=*/32.0, /*beta_slow=*/1.0, /*mscale=*/1.0, /*mscale_all_dim=*/1.0};
  return c;
}

// Qwen2-like: q/k/v bias, G = 3 query heads per kv head, dense SwiGLU blocks.
policy::ModelConfig gqa_config() {
  auto c = testing::tiny_config();
  c.model_type = "qwen2";
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.qkv_bias = true;
  c.rope_theta = 1e6;
  c.n_routed_experts = 0;
  c.n_shared_experts = 0;
  c.first_k_dense_replace = 0;
  c.tie_word_embeddings = true;
  return c;
}

policy::ModelConfig with_attention(policy::ModelConfig c, const std::string& attn_implementation) {
  c.attn_implementation = attn_implementation;
  return c;
}

void copy_parameters(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(source[p.key()]);
}

struct Result {
  torch::Tensor out, grad_input;               // grad_input undefined for token ids
  std::map<std::string, torch::Tensor> grads;  // by parameter name; absent: no gradient reached it
};

// Forward of `run` on a leaf copy of `input`, then backward of sum(out · upstream).
template <class Run>
Result forward_backward(torch::nn::Module& module, const torch::Tensor& input, const torch::Tensor& upstream,
                        Run run) {
  module.zero_grad();
  auto x = input.detach().clone().requires_grad_(input.is_floating_point());
  Result r;
  r.out = run(x);
  (r.out * upstream).sum().backward();
  if (x.requires_grad()) r.grad_input = x.grad();
  for (const auto& p : module.named_parameters())
    if (p.value().grad().defined()) r.grads[p.key()] = p.value().grad().clone();
  return r;
}

// max |a - b| / max |b| in double; 0 when both are all zero (an expert no token chose)
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = b.abs().max().item<double>();
  const double diff = (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
  return scale == 0.0 ? diff : diff / scale;
}

struct Worst {
  double error = 0;
  std::string tensor;
};

// The largest relative_error over the output, the input gradient and every parameter gradient, and
// where; a gradient that reached one side only is an error of 1.
Worst worst_error(const Result& a, const Result& b) {
  Worst w{relative_error(a.out, b.out), "output"};
  auto take = [&](double error, const std::string& tensor) {
    if (error > w.error) w = {error, tensor};
  };
  if (b.grad_input.defined()) take(relative_error(a.grad_input, b.grad_input), "grad input");
  for (const auto& [name, grad] : b.grads)
    take(a.grads.count(name) ? relative_error(a.grads.at(name), grad) : 1.0, "grad " + name);
  if (a.grads.size() != b.grads.size()) take(1.0, "the set of parameters with a gradient");
  return w;
}

std::ostream& operator<<(std::ostream& os, const Worst& w) {
  return os << w.error << " (" << w.tensor << ")";
}

// sdpa vs eager in fp32 within tol, and sdpa no less accurate than eager against the fp64 result.
void check_fp32(const std::pair<Result, Result>& fp32, const Result& fp64_reference, double tol) {
  const auto& [sdpa, eager] = fp32;
  const Worst between = worst_error(sdpa, eager);
  const Worst sdpa_error = worst_error(sdpa, fp64_reference);
  const Worst eager_error = worst_error(eager, fp64_reference);
  INFO("sdpa vs eager " << between << "; vs fp64: sdpa " << sdpa_error << ", eager " << eager_error);
  CHECK(between.error <= tol);
  CHECK(sdpa_error.error <= 3 * eager_error.error);
}

// One attention module (Mla or Gqa) built twice from `config`, eager and sdpa, with identical random weights;
// output and gradients at batch B, T tokens, in dtype.
template <class Module>
std::pair<Result, Result> attention_pair(const policy::ModelConfig& config, int64_t B, int64_t T,
                                         torch::Dtype dtype) {
  torch::manual_seed(11);
  Module eager(with_attention(config, "eager"));
  Module sdpa(with_attention(config, "sdpa"));
  REQUIRE_FALSE(eager->use_sdpa);
  REQUIRE(sdpa->use_sdpa);
  for (auto& p : eager->parameters()) torch::nn::init::normal_(p, 0.0, 0.3);
  copy_parameters(*eager, *sdpa);
  eager->to(dtype);
  sdpa->to(dtype);
  auto angles = policy::Rope::make(config).angles(torch::arange(T, torch::kLong).expand({B, T}));
  auto cos = angles.first.to(dtype), sin = angles.second.to(dtype);
  auto x = torch::randn({B, T, config.hidden_size}).to(dtype);
  auto upstream = torch::randn({B, T, config.hidden_size}).to(dtype);
  auto run = [&](Module& m) {
    return forward_backward(*m, x, upstream, [&](const torch::Tensor& xi) { return m(xi, cos, sin); });
  };
  return {run(sdpa), run(eager)};
}

// The whole policy built twice (eager, sdpa) with identical weights, norms and biases randomised too.
std::pair<Result, Result> transformer_pair(const policy::ModelConfig& config, int64_t B, int64_t T,
                                           torch::Dtype dtype = torch::kFloat) {
  policy::Transformer eager(with_attention(config, "eager"));
  policy::Transformer sdpa(with_attention(config, "sdpa"));
  eager->init_weights(5);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : eager->parameters()) p.add_(torch::randn_like(p) * 0.05);
  }
  copy_parameters(*eager, *sdpa);
  eager->to(dtype);
  sdpa->to(dtype);
  torch::manual_seed(13);
  auto tokens = torch::randint(config.vocab_size, {B, T}, torch::kLong);
  auto positions = torch::arange(T, torch::kLong).expand({B, T});
  auto upstream = torch::randn({B, T, config.hidden_size}).to(dtype);
  auto run = [&](policy::Transformer& m) {
    return forward_backward(*m, tokens, upstream,
                            [&](const torch::Tensor& t) { return m->hidden_states(t, positions); });
  };
  return {run(sdpa), run(eager)};
}

}  // namespace

// T 37 spans two of the CPU kernel's 32-row query blocks, T 531 two of its 512-column key blocks (the
// online rescaling of a partial softmax); both odd, B > 1.
TEST_CASE("MLA sdpa equals eager in fp32: output and every gradient (max rel err <= 5e-6)") {
  for (auto [B, T] : {std::pair<int64_t, int64_t>{3, 37}, {2, 531}}) {
    INFO("B " << B << " T " << T);
    check_fp32(attention_pair<policy::Mla>(mla_config(), B, T, torch::kFloat),
               attention_pair<policy::Mla>(mla_config(), B, T, torch::kDouble).first, 5e-6);
  }
}

TEST_CASE("MLA sdpa equals eager in fp32 without q_lora (plain q_proj)") {
  auto config = mla_config();
  config.q_lora_rank = 0;
  check_fp32(attention_pair<policy::Mla>(config, 3, 37, torch::kFloat),
             attention_pair<policy::Mla>(config, 3, 37, torch::kDouble).first, 5e-6);
}

TEST_CASE("GQA sdpa equals eager in fp32: output and every gradient (max rel err <= 5e-6)") {
  for (auto [B, T] : {std::pair<int64_t, int64_t>{3, 37}, {2, 531}}) {
    INFO("B " << B << " T " << T);
    check_fp32(attention_pair<policy::Gqa>(gqa_config(), B, T, torch::kFloat),
               attention_pair<policy::Gqa>(gqa_config(), B, T, torch::kDouble).first, 5e-6);
  }
}

// MQA (one kv head) is the edge of enable_gqa's grouping.
TEST_CASE("GQA sdpa equals eager in fp32 with a single kv head") {
  auto config = gqa_config();
  config.num_key_value_heads = 1;
  check_fp32(attention_pair<policy::Gqa>(config, 3, 37, torch::kFloat),
             attention_pair<policy::Gqa>(config, 3, 37, torch::kDouble).first, 5e-6);
}

TEST_CASE("Transformer hidden states and every gradient: sdpa equals eager in fp32 (MLA and GQA, <= 1e-5)") {
  for (const auto& config : {mla_config(), gqa_config()}) {
    INFO(config.model_type);
    check_fp32(transformer_pair(config, 3, 37), transformer_pair(config, 3, 37, torch::kDouble).first, 1e-5);
  }
}

// bf16: eager rounds the scores and the probabilities to bf16 (eps 2^-8 = 3.9e-3) before each matmul,
// SDPA keeps them in fp32 inside the kernel, so the two differ by bf16 roundings, not fp32 ones. Held to
// 3e-2 of the largest entry (measured 8.8e-3 on the output, 1.2e-2 on the input gradient), and sdpa no
// further from the fp32 result than eager is plus that slack.
TEST_CASE("sdpa equals eager in bf16 within bf16 rounding (max rel err <= 3e-2)") {
  for (bool mla : {true, false}) {
    INFO((mla ? "mla" : "gqa"));
    auto pair = [mla](torch::Dtype dtype) {
      return mla ? attention_pair<policy::Mla>(mla_config(), 3, 37, dtype)
                 : attention_pair<policy::Gqa>(gqa_config(), 3, 37, dtype);
    };
    const auto [sdpa, eager] = pair(torch::kBFloat16);
    const auto reference = pair(torch::kFloat).second;
    const double out = relative_error(sdpa.out, eager.out);
    const double grad_input = relative_error(sdpa.grad_input, eager.grad_input);
    const double sdpa_error = relative_error(sdpa.out, reference.out);
    const double eager_error = relative_error(eager.out, reference.out);
    INFO("sdpa vs eager: output " << out << ", grad input " << grad_input << "; output vs fp32: sdpa "
                                  << sdpa_error << ", eager " << eager_error);
    CHECK(out <= 3e-2);
    CHECK(grad_input <= 3e-2);
    CHECK(sdpa_error <= eager_error + 3e-2);
  }
}

// The reason MLA pads v: on CPU, SDPA takes its fused kernel only when q, k and v share one head dim and
// otherwise falls back to the math path, which builds [B, H, T, T] like eager. If a LibTorch upgrade lifts
// that, this fails and the padding in MlaImpl::attend_sdpa can go. GQA's Hkv < H goes to the fused kernel
// as it is with enable_gqa (no repeat of k and v).
TEST_CASE("CPU SDPA fuses only one head dim for q k v (why MLA pads v) and takes GQA's Hkv < H") {
  const int64_t B = 2, H = 4, T = 9;
  auto choice = [](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool gqa) {
    return static_cast<at::SDPBackend>(at::_fused_sdp_choice(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                                             /*is_causal=*/true, /*scale=*/0.3, gqa));
  };
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    auto qk = torch::randn({B, H, T, 12}, dtype);
    CHECK(choice(qk, qk, torch::randn({B, H, T, 8}, dtype), false) == at::SDPBackend::math);
    CHECK(choice(qk, qk, torch::randn({B, H, T, 12}, dtype), false) == at::SDPBackend::flash_attention);
    auto kv = torch::randn({B, 2, T, 12}, dtype);
    CHECK(choice(qk, kv, kv, true) == at::SDPBackend::flash_attention);
  }
}

TEST_CASE("attn_implementation is validated and is never read from or written to config.json") {
  auto config = gqa_config();
  config.attn_implementation = "flash";
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("attn_implementation 'flash'") &&
                                           Catch::Contains("supported: sdpa, eager"));
  CHECK_THROWS_WITH(policy::Gqa(config), Catch::Contains("attn_implementation 'flash'"));
  CHECK_THROWS_WITH(policy::Mla(with_attention(mla_config(), "flash")),
                    Catch::Contains("attn_implementation"));

  const std::string default_implementation = policy::ModelConfig{}.attn_implementation;
  const std::string other = default_implementation == "sdpa" ? "eager" : "sdpa";
  auto json = with_attention(mla_config(), other).to_json();
  CHECK_FALSE(json.contains("attn_implementation"));
  json["attn_implementation"] = other;  // an HF-style key aha does not read
  CHECK(policy::model_config_from_json(json, "config.json").attn_implementation == default_implementation);
}
