// Tests for kernels/lm_head_logprobs: the fused lm_head + log-prob + entropy (logits recomputed in the
// backward) against the plain autograd path it replaces, values and gradients w.r.t. hidden and weight,
// float32 and bfloat16, over temperatures, chunkings that do and do not divide N, and with the entropy
// gradient on and off; which outputs carry a graph; the argument checks; and, with a counting CPU
// allocator, that the fused path keeps no [N, V] tensor alive between forward and backward. The CUDA case
// skips with a warning when no CUDA device is present, and fails instead when AHA_REQUIRE_GPU is set.
// Legend: N rows (tokens), D hidden size, V vocabulary.
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "kernels/counting_allocator.h"
#include "kernels/lm_head_logprobs.h"
#include "kernels/token_logprobs.h"

using aha::kernels::lm_head_logprobs;
using aha::kernels::lm_head_logprobs_reference;
using aha::kernels::LmHeadLogprobs;
using aha::kernels::CountingCpuAllocator;
using aha::kernels::CountingScope;

namespace {

using LmHeadFn = LmHeadLogprobs (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, double,
                                    int64_t, bool, bool);

struct Inputs {
  torch::Tensor hidden_ND, weight_VD, targets_N;
  torch::Tensor grad_logprobs_N, grad_entropy_N;  // the random upstream loss Σ g_logp·logp + Σ g_H·H
};

// Logits of standard deviation ~2 (weights scaled by 2/√D): peaked enough that p spans many decades.
Inputs make_inputs(int64_t N, int64_t V, int64_t D, torch::ScalarType dtype, torch::Device device,
                   uint64_t seed) {
  torch::manual_seed(seed);
  const auto options = torch::TensorOptions().device(device);
  Inputs in;
  in.hidden_ND = torch::randn({N, D}, options).to(dtype);
  in.weight_VD = (torch::randn({V, D}, options) * (2.0 / std::sqrt(static_cast<double>(D)))).to(dtype);
  in.targets_N = torch::randint(V, {N}, options.dtype(torch::kInt64));
  in.grad_logprobs_N = torch::randn({N}, options);
  in.grad_entropy_N = torch::randn({N}, options);
  return in;
}

struct Run {
  torch::Tensor logprobs_N, entropy_N, grad_hidden_ND, grad_weight_VD;
};

Run run(LmHeadFn fn, const Inputs& in, double temperature, int64_t chunk_rows, bool with_entropy,
        bool entropy_grad) {
  const torch::Tensor hidden = in.hidden_ND.clone().requires_grad_(true);
  const torch::Tensor weight = in.weight_VD.clone().requires_grad_(true);
  const LmHeadLogprobs out =
      fn(hidden, weight, in.targets_N, temperature, chunk_rows, with_entropy, entropy_grad);
  torch::Tensor loss = (out.logprobs_N * in.grad_logprobs_N).sum();
  if (with_entropy) loss = loss + (out.entropy_N * in.grad_entropy_N).sum();
  loss.backward();
  return {out.logprobs_N.detach(), with_entropy ? out.entropy_N.detach() : torch::Tensor(), hidden.grad(),
          weight.grad()};
}

// Independent oracle: the same function in float64 with plain autograd (no chunks, no fused code).
Run run_in_double(const Inputs& in, double temperature, bool with_entropy, bool entropy_grad) {
  const torch::Tensor hidden = in.hidden_ND.to(torch::kFloat64).requires_grad_(true);
  const torch::Tensor weight = in.weight_VD.to(torch::kFloat64).requires_grad_(true);
  const torch::Tensor log_p_NV = (hidden.matmul(weight.t()) / temperature).log_softmax(/*dim=*/-1);  // [N, V]
  const torch::Tensor logprobs_N =
      log_p_NV.gather(/*dim=*/1, in.targets_N.unsqueeze(/*dim=*/1)).squeeze(/*dim=*/1);
  torch::Tensor loss = (logprobs_N * in.grad_logprobs_N.to(torch::kFloat64)).sum();
  torch::Tensor entropy_N;
  if (with_entropy) {
    const torch::Tensor source_NV = entropy_grad ? log_p_NV : log_p_NV.detach();
    entropy_N = -(source_NV.exp() * source_NV).sum(/*dim=*/-1);
    loss = loss + (entropy_N * in.grad_entropy_N.to(torch::kFloat64)).sum();
  }
  loss.backward();
  return {logprobs_N.detach(), with_entropy ? entropy_N.detach() : torch::Tensor(), hidden.grad(),
          weight.grad()};
}

// How far |actual − expected| exceeds atol + rtol·|expected| + scale_tol·max|expected| at worst (≤ 0: within
// tolerance), in double. The scale term is for sums whose rounding is relative to their largest terms.
double excess(const torch::Tensor& actual, const torch::Tensor& expected, double atol, double rtol,
              double scale_tol = 0.0) {
  const torch::Tensor a = actual.to(torch::kFloat64).cpu(), e = expected.to(torch::kFloat64).cpu();
  if (a.numel() == 0) return 0.0;
  const double scale = e.abs().max().item<double>();
  return ((a - e).abs() - (atol + scale_tol * scale + rtol * e.abs())).max().item<double>();
}

struct Tolerance {
  double values_atol, values_rtol, grads_atol, grads_rtol, grads_scale_tol;
};

void check_against_reference(const Inputs& in, double temperature, int64_t chunk_rows, bool with_entropy,
                             bool entropy_grad, const Tolerance& tol) {
  INFO("N = " << in.hidden_ND.size(0) << ", V = " << in.weight_VD.size(0) << ", D = " << in.hidden_ND.size(1)
              << ", " << in.hidden_ND.scalar_type() << " on " << in.hidden_ND.device() << ", temperature "
              << temperature << ", chunk_rows " << chunk_rows << ", with_entropy " << with_entropy
              << ", entropy_grad " << entropy_grad);
  const Run fused = run(lm_head_logprobs, in, temperature, chunk_rows, with_entropy, entropy_grad);
  const Run reference =
      run(lm_head_logprobs_reference, in, temperature, chunk_rows, with_entropy, entropy_grad);

  REQUIRE(fused.logprobs_N.scalar_type() == torch::kFloat32);
  REQUIRE(fused.logprobs_N.sizes() == reference.logprobs_N.sizes());
  CHECK(excess(fused.logprobs_N, reference.logprobs_N, tol.values_atol, tol.values_rtol) <= 0.0);
  REQUIRE(fused.entropy_N.defined() == with_entropy);
  if (with_entropy) {
    REQUIRE(fused.entropy_N.scalar_type() == torch::kFloat32);
    CHECK(excess(fused.entropy_N, reference.entropy_N, tol.values_atol, tol.values_rtol) <= 0.0);
  }
  REQUIRE(fused.grad_hidden_ND.scalar_type() == in.hidden_ND.scalar_type());
  REQUIRE(fused.grad_weight_VD.scalar_type() == in.weight_VD.scalar_type());
  const double hidden_excess = excess(fused.grad_hidden_ND, reference.grad_hidden_ND, tol.grads_atol,
                                      tol.grads_rtol, tol.grads_scale_tol);
  const double weight_excess = excess(fused.grad_weight_VD, reference.grad_weight_VD, tol.grads_atol,
                                      tol.grads_rtol, tol.grads_scale_tol);
  INFO("grad hidden beyond tolerance by " << hidden_excess << ", grad weight by " << weight_excess);

  CHECK(hidden_excess <= 0.0);
  CHECK(weight_excess <= 0.0);
}

void check_grid(const Inputs& in, const Tolerance& tol) {
  const int64_t N = in.hidden_ND.size(0);
  for (const double temperature : {1.0, 0.7})
    for (const int64_t chunk_rows : {int64_t{8}, N, N + 27}) {
      check_against_reference(in, temperature, chunk_rows, /*with_entropy=*/false, /*entropy_grad=*/false,
                              tol);
      check_against_reference(in, temperature, chunk_rows, /*with_entropy=*/true, /*entropy_grad=*/false,
                              tol);
      check_against_reference(in, temperature, chunk_rows, /*with_entropy=*/true, /*entropy_grad=*/true, tol);
    }
}

// float32: both paths compute the same logits bit for bit (same matmul, same shapes) and then log p the same
// way ((logits − max) − log Σ exp); they differ in the order of fp32 reductions: the backward's formula
// (−p·(log p + H) here, autograd's chain through log_softmax there) and grad_weight summed in place vs by
// the autograd engine. That is a few fp32 ulps (6e-8 relative) of values of size ~1–10; measured ≤ 5e-7.
constexpr Tolerance kFloat32Tolerance{1e-6, 1e-6, 1e-6, 1e-6, 0.0};

// bfloat16: the logits are again bit-identical (bf16 matmul, then the cast), so the values keep the fp32
// tolerance, and grad_hidden (one matmul per row block, same bf16 inputs) comes out equal too. grad_weight
// is a sum over chunks held in bf16 (8-bit mantissa): the plain path rounds each chunk's product and then
// each running sum, the fused addmm_ rounds once per chunk, so they can differ by half a bf16 ulp of the
// largest element (2^-8 of it) per chunk: 2^-5 of max|grad| covers up to 8 chunks (here 5), plus 2^-7
// relative for the rare bf16 rounding of grad_logits that an fp32 ulp flips. Measured: 2^-7 of max|grad|.
constexpr Tolerance kBFloat16Tolerance{1e-6, 1e-6, 0.0, 1.0 / 128, 1.0 / 32};

// Returns false (after a WARN) when the GPU case cannot run; fails instead under AHA_REQUIRE_GPU.
bool gpu_ready() {
  if (aha::kernels::cuda_device_available()) return true;
  if (std::getenv("AHA_REQUIRE_GPU") != nullptr)
    FAIL("AHA_REQUIRE_GPU is set but no CUDA device is available");
  WARN("no CUDA device; skipping");
  return false;
}

struct MemoryUse {
  int64_t kept_for_backward;  // bytes alive after the forward beyond the inputs, not counting the outputs
  int64_t peak;               // the most bytes alive during forward + backward beyond the inputs
};

MemoryUse measure(LmHeadFn fn, const Inputs& in, int64_t chunk_rows, bool entropy_grad) {
  CountingScope scope;
  CountingCpuAllocator& counter = CountingScope::counter();
  const torch::Tensor hidden = in.hidden_ND.clone().requires_grad_(true);
  const torch::Tensor weight = in.weight_VD.clone().requires_grad_(true);
  const int64_t before = counter.live();
  counter.reset_peak();
  MemoryUse use{};
  {
    const LmHeadLogprobs out = fn(hidden, weight, in.targets_N, /*temperature=*/0.7, chunk_rows,
                                  /*with_entropy=*/true, entropy_grad);
    const int64_t outputs_bytes = 2 * out.logprobs_N.numel() * static_cast<int64_t>(sizeof(float));
    use.kept_for_backward = counter.live() - before - outputs_bytes;
    ((out.logprobs_N * in.grad_logprobs_N).sum() + (out.entropy_N * in.grad_entropy_N).sum()).backward();
  }
  use.peak = counter.peak() - before;
  return use;
}

}  // namespace

// Catches: a chunk loop that drops the tail (37 rows in chunks of 8) or misplaces a chunk's rows; an lse
// or entropy from the wrong row; a backward that forgets 1/temperature or applies it twice; a wrong sign or
// a missing H in the entropy gradient; an entropy gradient applied when entropy_grad is off; grad_weight
// overwritten per chunk instead of accumulated.
TEST_CASE("lm_head_logprobs equals the plain autograd path in float32, values and gradients",
          "[kernels][lm_head_logprobs]") {
  check_grid(make_inputs(/*N=*/37, /*V=*/301, /*D=*/24, torch::kFloat32, torch::kCPU, /*seed=*/11),
             kFloat32Tolerance);
  check_against_reference(make_inputs(/*N=*/1, /*V=*/1, /*D=*/3, torch::kFloat32, torch::kCPU, /*seed=*/12),
                          /*temperature=*/1.0, /*chunk_rows=*/1, true, true,
                          kFloat32Tolerance);  // V = 1: p = 1
}

// The reference is itself held to an independent float64 oracle (no chunks, plain autograd), so the two
// paths cannot agree on a shared mistake (a temperature applied twice, an entropy of log p instead of p).
// Tolerance: fp32 logits of size up to ~15 at T = 0.7 carry a rounding of ~1e-6 into log p and the
// gradients; allow 2e-6 · (1 + max|exact|) per tensor (measured: 1.7e-6 on log-probs, 2.7e-6 on grad_weight
// whose largest element is 11).
TEST_CASE("lm_head_logprobs and its reference equal a float64 oracle in float32",
          "[kernels][lm_head_logprobs]") {
  const Inputs in = make_inputs(/*N=*/37, /*V=*/301, /*D=*/24, torch::kFloat32, torch::kCPU, /*seed=*/13);
  for (const double temperature : {1.0, 0.7})
    for (const bool entropy_grad : {false, true}) {
      const Run exact = run_in_double(in, temperature, /*with_entropy=*/true, entropy_grad);
      for (const LmHeadFn fn : {lm_head_logprobs, lm_head_logprobs_reference}) {
        INFO("temperature " << temperature << ", entropy_grad " << entropy_grad << ", "
                            << (fn == lm_head_logprobs ? "fused" : "reference"));
        const Run got = run(fn, in, temperature, /*chunk_rows=*/8, /*with_entropy=*/true, entropy_grad);
        CHECK(excess(got.logprobs_N, exact.logprobs_N, 2e-6, 0.0, 2e-6) <= 0.0);
        CHECK(excess(got.entropy_N, exact.entropy_N, 2e-6, 0.0, 2e-6) <= 0.0);
        CHECK(excess(got.grad_hidden_ND, exact.grad_hidden_ND, 2e-6, 0.0, 2e-6) <= 0.0);
        CHECK(excess(got.grad_weight_VD, exact.grad_weight_VD, 2e-6, 0.0, 2e-6) <= 0.0);
      }
    }
}

// Catches: a backward that keeps the gradient in fp32 for the matmuls (it would be more exact than the
// plain path and drift from it), a gradient returned in the wrong dtype, a matmul run in fp32.
TEST_CASE("lm_head_logprobs equals the plain autograd path in bfloat16 within bf16 rounding",
          "[kernels][lm_head_logprobs]") {
  check_grid(make_inputs(/*N=*/37, /*V=*/301, /*D=*/24, torch::kBFloat16, torch::kCPU, /*seed=*/21),
             kBFloat16Tolerance);
}

// Catches: an entropy that drags a graph (and a gradient into the policy) when only logged, and an
// entropy_N that is defined when it was not asked for.
TEST_CASE("lm_head_logprobs gives the entropy a grad_fn only when entropy_grad",
          "[kernels][lm_head_logprobs]") {
  const Inputs in = make_inputs(/*N=*/5, /*V=*/13, /*D=*/4, torch::kFloat32, torch::kCPU, /*seed=*/31);
  const torch::Tensor hidden = in.hidden_ND.clone().requires_grad_(true);
  const torch::Tensor weight = in.weight_VD.clone().requires_grad_(true);
  for (const LmHeadFn fn : {lm_head_logprobs, lm_head_logprobs_reference}) {
    const LmHeadLogprobs logged = fn(hidden, weight, in.targets_N, 1.0, 2, /*with_entropy=*/true, false);
    CHECK(logged.logprobs_N.grad_fn() != nullptr);
    CHECK(logged.entropy_N.grad_fn() == nullptr);
    CHECK_FALSE(logged.entropy_N.requires_grad());
    const LmHeadLogprobs bonus = fn(hidden, weight, in.targets_N, 1.0, 2, /*with_entropy=*/true, true);
    CHECK(bonus.entropy_N.grad_fn() != nullptr);
    const LmHeadLogprobs none = fn(hidden, weight, in.targets_N, 1.0, 2, /*with_entropy=*/false, true);
    CHECK_FALSE(none.entropy_N.defined());
  }
  // Under no-grad (the rollout's recompute), nothing carries a graph.
  torch::NoGradGuard no_grad;
  const LmHeadLogprobs out = lm_head_logprobs(hidden, weight, in.targets_N, 1.0, 2, true, true);
  CHECK(out.logprobs_N.grad_fn() == nullptr);
  CHECK(out.entropy_N.grad_fn() == nullptr);
}

// Catches: a backward that returns a gradient for a frozen lm_head (autograd would reject it or waste a
// [V, D] matmul) or that breaks when only the weight is trainable.
TEST_CASE("lm_head_logprobs returns gradients only for the inputs that require grad",
          "[kernels][lm_head_logprobs]") {
  const Inputs in = make_inputs(/*N=*/9, /*V=*/40, /*D=*/6, torch::kFloat32, torch::kCPU, /*seed=*/41);
  const Run both = run(lm_head_logprobs_reference, in, 0.7, 4, true, true);
  for (const bool train_hidden : {true, false}) {
    INFO("hidden requires grad: " << train_hidden);
    const torch::Tensor hidden = in.hidden_ND.clone().requires_grad_(train_hidden);
    const torch::Tensor weight = in.weight_VD.clone().requires_grad_(!train_hidden);
    const LmHeadLogprobs out = lm_head_logprobs(hidden, weight, in.targets_N, 0.7, 4, true, true);
    ((out.logprobs_N * in.grad_logprobs_N).sum() + (out.entropy_N * in.grad_entropy_N).sum()).backward();
    CHECK(hidden.grad().defined() == train_hidden);
    CHECK(weight.grad().defined() == !train_hidden);
    if (train_hidden)
      CHECK(excess(hidden.grad(), both.grad_hidden_ND, 1e-6, 1e-6) <= 0.0);
    else
      CHECK(excess(weight.grad(), both.grad_weight_VD, 1e-6, 1e-6) <= 0.0);
  }
}

TEST_CASE("lm_head_logprobs handles an empty batch", "[kernels][lm_head_logprobs]") {
  const Inputs in = make_inputs(/*N=*/0, /*V=*/7, /*D=*/3, torch::kFloat32, torch::kCPU, /*seed=*/51);
  const Run fused = run(lm_head_logprobs, in, 1.0, 4, true, true);
  CHECK(fused.logprobs_N.numel() == 0);
  CHECK(fused.entropy_N.numel() == 0);
  CHECK(fused.grad_weight_VD.abs().sum().item<double>() == 0.0);
  CHECK(run(lm_head_logprobs_reference, in, 1.0, 4, true, true).logprobs_N.numel() == 0);
}

// The point of the fused path, measured with a counting CPU allocator. Between forward and backward the
// plain path keeps at least one [N, V] fp32 tensor (log_softmax's output) alive; the fused one keeps
// O(N) (lse, H). Through forward + backward the fused peak is a few [chunk_rows, V] buffers plus the
// [N, D] and [V, D] gradients, under half of one [N, V] fp32 tensor here. The reference half of the test
// shows the meter does see the logits (otherwise the fused bound could pass vacuously).
TEST_CASE("lm_head_logprobs keeps no N x V float32 tensor alive for the backward",
          "[kernels][lm_head_logprobs]") {
  const int64_t N = 1024, V = 1000, D = 16, chunk_rows = 64;
  const Inputs in = make_inputs(N, V, D, torch::kFloat32, torch::kCPU, /*seed=*/61);
  const int64_t full_logits_bytes = N * V * static_cast<int64_t>(sizeof(float));
  for (const bool entropy_grad : {false, true}) {
    INFO("entropy_grad " << entropy_grad << "; one [N, V] fp32 tensor is " << full_logits_bytes << " bytes");
    const MemoryUse reference = measure(lm_head_logprobs_reference, in, chunk_rows, entropy_grad);
    const MemoryUse fused = measure(lm_head_logprobs, in, chunk_rows, entropy_grad);
    INFO("kept for backward: reference " << reference.kept_for_backward << ", fused "
                                         << fused.kept_for_backward << "; peak: reference " << reference.peak
                                         << ", fused " << fused.peak);
    CHECK(reference.kept_for_backward >= full_logits_bytes);
    CHECK(fused.kept_for_backward <= 4 * N * static_cast<int64_t>(sizeof(float)));  // lse, H and slack
    CHECK(fused.peak < full_logits_bytes / 2);
  }
}

TEST_CASE("lm_head_logprobs rejects wrong shapes, dtypes, devices, chunk sizes and temperatures",
          "[kernels][lm_head_logprobs]") {
  const torch::Tensor hidden = torch::zeros({4, 3}), weight = torch::zeros({10, 3});
  const torch::Tensor targets = torch::zeros({4}, torch::kInt64);
  const auto call = [](const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& t,
                       double temperature, int64_t chunk_rows) {
    return lm_head_logprobs(h, w, t, temperature, chunk_rows, true, false);
  };
  CHECK_THROWS_WITH(call(torch::zeros({2, 2, 3}), weight, targets, 1.0, 8), Catch::Contains("[N, D]"));
  CHECK_THROWS_WITH(call(hidden.to(torch::kFloat64), weight.to(torch::kFloat64), targets, 1.0, 8),
                    Catch::Contains("float32 or bfloat16"));
  CHECK_THROWS_WITH(call(hidden, torch::zeros({10, 5}), targets, 1.0, 8), Catch::Contains("D = 3"));
  CHECK_THROWS_WITH(call(hidden, torch::zeros({0, 3}), targets, 1.0, 8), Catch::Contains("V >= 1"));
  CHECK_THROWS_WITH(call(hidden, weight.to(torch::kBFloat16), targets, 1.0, 8), Catch::Contains("one dtype"));
  CHECK_THROWS_WITH(call(hidden, weight, torch::zeros({5}, torch::kInt64), 1.0, 8), Catch::Contains("N = 4"));
  CHECK_THROWS_WITH(call(hidden, weight, targets.to(torch::kInt32), 1.0, 8), Catch::Contains("int64"));
  CHECK_THROWS_WITH(call(hidden, weight, targets, 0.0, 8), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(call(hidden, weight, targets, std::nan(""), 8), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(call(hidden, weight, targets, 1.0, 0), Catch::Contains("chunk_rows"));
  CHECK_THROWS_AS(lm_head_logprobs_reference(hidden, weight, targets, -1.0, 8, false, false),
                  std::invalid_argument);
}

// The same equality on the GPU (cuBLAS matmuls, the fused CUDA token_logprobs inside the reference).
// Tolerances: as on CPU for bf16; 1e-5 for fp32 values, as the token_logprobs CUDA tests allow.
TEST_CASE("lm_head_logprobs equals the plain autograd path on CUDA", "[kernels][lm_head_logprobs][gpu]") {
  if (!gpu_ready()) return;
  const torch::Device cuda(torch::kCUDA);
  check_grid(make_inputs(/*N=*/37, /*V=*/301, /*D=*/24, torch::kFloat32, cuda, /*seed=*/71),
             Tolerance{1e-5, 1e-5, 1e-5, 1e-5, 0.0});
  check_grid(make_inputs(/*N=*/37, /*V=*/301, /*D=*/24, torch::kBFloat16, cuda, /*seed=*/72),
             kBFloat16Tolerance);
  const torch::Tensor hidden = torch::zeros({4, 3}, cuda);
  CHECK_THROWS_WITH(lm_head_logprobs(hidden, torch::zeros({10, 3}), torch::zeros({4}, torch::kInt64).to(cuda),
                                     1.0, 8, false, false),
                    Catch::Contains("weight is on cpu"));
}
