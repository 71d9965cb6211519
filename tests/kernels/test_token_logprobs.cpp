// Tests for kernels/token_logprobs. CPU: the reference (log_softmax + gather) against explicit double
// loops, forward and gradient, on odd shapes. GPU: the fused CUDA kernels against the reference, forward
// and backward, float32 and bfloat16, up to DeepSeek-V3's V = 129280. The GPU cases skip with a warning
// when no CUDA device is present, and fail instead when AHA_REQUIRE_GPU is set (scripts/gpu-check sets it).
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "kernels/token_logprobs.h"

using aha::kernels::token_logprobs;
using aha::kernels::token_logprobs_reference;

namespace {

// Independent oracle in double: logprob[n] = x[n, t] − (m + log Σ_v exp(x[n, v] − m)), m = max_v x[n, v];
// d(Σ_n g[n] · logprob[n]) / dx[n, v] = g[n] · ([v == t] − exp(x[n, v] − lse[n])).
struct Expected {
  std::vector<double> logprobs;           // [N]
  std::vector<std::vector<double>> grad;  // [N][V]
};

Expected loops_in_double(const torch::Tensor& logits_NV, const torch::Tensor& targets_N,
                         const std::vector<double>& g) {
  const torch::Tensor x = logits_NV.to(torch::kFloat64).contiguous();
  const int64_t N = x.size(0), V = x.size(1);
  const double* data = x.data_ptr<double>();
  const int64_t* targets = targets_N.data_ptr<int64_t>();
  Expected e;
  for (int64_t n = 0; n < N; ++n) {
    const double* row = data + n * V;
    double m = row[0];
    for (int64_t v = 1; v < V; ++v) m = std::max(m, row[v]);
    double sum = 0.0;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - m);
    const double lse = m + std::log(sum);
    e.logprobs.push_back(row[targets[n]] - lse);
    std::vector<double> grad_row(V);
    for (int64_t v = 0; v < V; ++v)
      grad_row[v] = g[n] * ((v == targets[n] ? 1.0 : 0.0) - std::exp(row[v] - lse));
    e.grad.push_back(grad_row);
  }
  return e;
}

void check_cpu_case(int64_t N, int64_t V, double scale) {
  INFO("N = " << N << ", V = " << V << ", logit scale " << scale);
  torch::manual_seed(1234 + N * 7 + V);
  const torch::Tensor logits = (torch::randn({N, V}) * scale).requires_grad_(true);
  const torch::Tensor targets = torch::randint(V, {N}, torch::kInt64);
  std::vector<double> g(N);
  for (int64_t n = 0; n < N; ++n)
    g[n] = 0.5 + 0.25 * static_cast<double>(n);  // distinct per-row upstream grads
  const Expected expected = loops_in_double(logits.detach(), targets, g);

  const torch::Tensor logprobs = token_logprobs_reference(logits, targets);
  REQUIRE(logprobs.sizes() == torch::IntArrayRef{N});
  REQUIRE(logprobs.scalar_type() == torch::kFloat32);
  const torch::Tensor fused = token_logprobs(logits, targets);  // on CPU this is the reference
  CHECK(torch::equal(fused, logprobs));
  for (int64_t n = 0; n < N; ++n)
    CHECK(logprobs[n].item<double>() == Approx(expected.logprobs[n]).margin(1e-5));

  (logprobs * torch::tensor(std::vector<float>(g.begin(), g.end()))).sum().backward();
  const torch::Tensor grad = logits.grad().to(torch::kFloat64);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t v = 0; v < V; ++v) {
      INFO("row " << n << " column " << v);
      CHECK(grad[n][v].item<double>() == Approx(expected.grad[n][v]).margin(1e-6));
    }
}

// Returns false (after a WARN) when the GPU cases cannot run; fails instead under AHA_REQUIRE_GPU.
bool gpu_ready() {
  const bool require = std::getenv("AHA_REQUIRE_GPU") != nullptr;
  if (!aha::kernels::cuda_device_available()) {
    if (require) FAIL("AHA_REQUIRE_GPU is set but no CUDA device is available");
    WARN("no CUDA device; skipping");
    return false;
  }
  if (!aha::kernels::cuda_kernels_compiled()) {
    if (require) FAIL("AHA_REQUIRE_GPU is set but aha was built without nvcc (AHA_WITH_CUDA undefined)");
    WARN("CUDA device present but kernels not compiled (no nvcc at configure time); skipping");
    return false;
  }
  return true;
}

// Fused forward and backward on CUDA against the reference (run on the same device, in fp32 from the
// same input values). Tolerance 1e-5 absolute on log-probs (fp32 sums over up to 1.3e5 terms: rounding
// ~1e-6) and, for gradients, 1e-5 plus one bf16 rounding (2^-8 relative) when the logits are bf16,
// because that gradient is stored in bf16.
void check_gpu_case(int64_t N, int64_t V, torch::ScalarType dtype, double scale) {
  INFO("N = " << N << ", V = " << V << ", dtype " << dtype << ", logit scale " << scale);
  torch::manual_seed(99 + N + V);
  const torch::Device cuda(torch::kCUDA);
  const torch::Tensor base = (torch::randn({N, V}, torch::TensorOptions().device(cuda)) * scale).to(dtype);
  const torch::Tensor targets =
      torch::randint(V, {N}, torch::TensorOptions().dtype(torch::kInt64).device(cuda));
  const torch::Tensor g = torch::rand({N}, torch::TensorOptions().device(cuda)) + 0.5;

  const torch::Tensor logits = base.clone().requires_grad_(true);
  const torch::Tensor fused = token_logprobs(logits, targets);
  (fused * g).sum().backward();

  const torch::Tensor logits_ref = base.to(torch::kFloat32).requires_grad_(true);
  const torch::Tensor reference = token_logprobs_reference(logits_ref, targets);
  (reference * g).sum().backward();

  REQUIRE(fused.scalar_type() == torch::kFloat32);
  REQUIRE(fused.device().is_cuda());
  const double forward_err = (fused - reference).abs().max().item<double>();
  INFO("max |fused - reference| = " << forward_err);
  CHECK(forward_err <= 1e-5);

  REQUIRE(logits.grad().scalar_type() == dtype);
  const torch::Tensor grad = logits.grad().to(torch::kFloat32);
  const torch::Tensor grad_ref = logits_ref.grad();
  const double rtol = dtype == torch::kBFloat16 ? 1.0 / 256 : 0.0;
  const double excess = ((grad - grad_ref).abs() - (1e-5 + rtol * grad_ref.abs())).max().item<double>();
  INFO("max gradient error beyond tolerance = " << excess);
  CHECK(excess <= 0.0);
}

}  // namespace

// Catches: a wrong normaliser (max not subtracted, log Σ off by a row), a gather along the wrong dim,
// and a reference that breaks on the degenerate V = 1 (log-prob 0, gradient 0) or N = 1 shapes.
TEST_CASE("token_logprobs_reference equals explicit double loops, forward and gradient",
          "[kernels][logprobs]") {
  check_cpu_case(/*N=*/1, /*V=*/1, 1.0);
  check_cpu_case(/*N=*/1, /*V=*/3, 1.0);
  check_cpu_case(/*N=*/4, /*V=*/1, 1.0);
  check_cpu_case(/*N=*/5, /*V=*/3, 3.0);
  check_cpu_case(/*N=*/7, /*V=*/1000, 4.0);
  check_cpu_case(/*N=*/2, /*V=*/17, 40.0);  // large logits: exp without the max shift would overflow fp32
}

TEST_CASE("token_logprobs accepts bfloat16 logits on CPU and computes in float32", "[kernels][logprobs]") {
  torch::manual_seed(5);
  const torch::Tensor logits = torch::randn({3, 11}).to(torch::kBFloat16).requires_grad_(true);
  const torch::Tensor targets = torch::tensor({0, 10, 4}, torch::kInt64);
  const torch::Tensor out = token_logprobs(logits, targets);
  CHECK(out.scalar_type() == torch::kFloat32);
  const Expected expected = loops_in_double(logits.detach(), targets, {1.0, 1.0, 1.0});
  for (int64_t n = 0; n < 3; ++n) CHECK(out[n].item<double>() == Approx(expected.logprobs[n]).margin(1e-5));
  out.sum().backward();
  CHECK(logits.grad().scalar_type() == torch::kBFloat16);
}

TEST_CASE("token_logprobs rejects wrong shapes, dtypes and empty vocabularies", "[kernels][logprobs]") {
  const torch::Tensor targets = torch::zeros({4}, torch::kInt64);
  CHECK_THROWS_WITH(token_logprobs(torch::zeros({4}), targets), Catch::Contains("[N, V]"));
  CHECK_THROWS_WITH(token_logprobs(torch::zeros({4, 0}), targets), Catch::Contains("V >= 1"));
  CHECK_THROWS_WITH(token_logprobs(torch::zeros({4, 8}, torch::kFloat64), targets),
                    Catch::Contains("float32"));
  CHECK_THROWS_WITH(token_logprobs(torch::zeros({3, 8}), targets), Catch::Contains("N = 3"));
  CHECK_THROWS_WITH(token_logprobs(torch::zeros({4, 8}), targets.to(torch::kInt32)),
                    Catch::Contains("int64"));
  CHECK_THROWS_AS(token_logprobs_reference(torch::zeros({4, 8, 2}), targets), std::invalid_argument);
}

TEST_CASE("cuda_kernels_compiled reports the build", "[kernels][logprobs]") {
#ifdef AHA_WITH_CUDA
  CHECK(aha::kernels::cuda_kernels_compiled());
#else
  CHECK_FALSE(aha::kernels::cuda_kernels_compiled());
#endif
}

// Catches: a block reduction that drops warps or the tail of the row (V not a multiple of the block,
// V smaller than a warp), a wrong row stride, bf16 loads read as fp32, a backward missing the one-hot or
// scaled by the wrong row's upstream gradient, and grad written in the wrong dtype.
TEST_CASE("token_logprobs CUDA kernels match the reference, forward and backward",
          "[kernels][logprobs][gpu]") {
  if (!gpu_ready()) return;
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    check_gpu_case(/*N=*/1, /*V=*/1, dtype, 1.0);
    check_gpu_case(/*N=*/3, /*V=*/3, dtype, 1.0);
    check_gpu_case(/*N=*/7, /*V=*/1000, dtype, 4.0);
    check_gpu_case(/*N=*/33, /*V=*/513, dtype, 2.0);
    check_gpu_case(/*N=*/64, /*V=*/129280, dtype, 3.0);  // DeepSeek-V3 vocabulary
  }
  check_gpu_case(/*N=*/5, /*V=*/77, torch::kFloat32, 30.0);  // large logits: needs the max shift
}

TEST_CASE("token_logprobs CUDA handles empty batches and non-contiguous logits", "[kernels][logprobs][gpu]") {
  if (!gpu_ready()) return;
  const torch::Device cuda(torch::kCUDA);
  const auto int64_cuda = torch::TensorOptions().dtype(torch::kInt64).device(cuda);
  CHECK(token_logprobs(torch::zeros({0, 10}, torch::TensorOptions().device(cuda)),
                       torch::zeros({0}, int64_cuda))
            .numel() == 0);
  torch::manual_seed(3);
  const torch::Tensor wide = torch::randn({6, 40}, torch::TensorOptions().device(cuda));
  const torch::Tensor logits = wide.slice(/*dim=*/1, 0, 20);  // row stride 40: not contiguous
  const torch::Tensor targets = torch::randint(20, {6}, int64_cuda);
  const double err = (token_logprobs(logits, targets) - token_logprobs_reference(logits, targets))
                         .abs()
                         .max()
                         .item<double>();
  CHECK(err <= 1e-5);
  CHECK_THROWS_WITH(token_logprobs(wide, targets.cpu()), Catch::Contains("cuda"));
}
