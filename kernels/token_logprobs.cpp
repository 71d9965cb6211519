// Token log-probs, logprob[n] = logits[n, t_n] − logsumexp(logits[n, :]): input checks, the CPU reference
// (log_softmax + gather, also the test oracle) and the dispatch to the fused CUDA kernels through a
// torch::autograd::Function whose backward is grad_logits = g[n] · (onehot(t_n) − softmax(logits[n, :])).
#include "kernels/token_logprobs.h"

#include <torch/autograd.h>
#include <torch/cuda.h>

#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#ifdef AHA_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "kernels/token_logprobs_cuda.h"
#endif

namespace aha::kernels {
namespace {

void check_inputs(const torch::Tensor& logits_NV, const torch::Tensor& targets_N) {
  if (!logits_NV.defined() || !targets_N.defined())
    throw std::invalid_argument("token_logprobs: logits and targets must be defined tensors");
  if (logits_NV.dim() != 2 || logits_NV.size(1) < 1)
    throw std::invalid_argument("token_logprobs: logits must be [N, V] with V >= 1; got " +
                                describe_tensor(logits_NV) + " (flatten [B, T, V] chunks with reshape({-1, V}))");
  if (logits_NV.scalar_type() != torch::kFloat32 && logits_NV.scalar_type() != torch::kBFloat16)
    throw std::invalid_argument("token_logprobs: logits must be float32 or bfloat16; got " +
                                describe_tensor(logits_NV));
  if (targets_N.dim() != 1 || targets_N.size(0) != logits_NV.size(0))
    throw std::invalid_argument(
        "token_logprobs: targets must be [N] with N = " + std::to_string(logits_NV.size(0)) +
        " (one per logits row); got " + describe_tensor(targets_N));
  if (targets_N.scalar_type() != torch::kInt64)
    throw std::invalid_argument("token_logprobs: targets must be int64; got " + describe_tensor(targets_N));
  if (targets_N.device() != logits_NV.device())
    throw std::invalid_argument("token_logprobs: targets are on " + targets_N.device().str() +
                                " but logits are on " + logits_NV.device().str());
}

#ifdef AHA_WITH_CUDA
void check_launch(const char* kernel) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("token_logprobs: launching ") + kernel +
                             " failed: " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

cuda::LogitsDtype logits_dtype(const torch::Tensor& logits_NV) {
  return logits_NV.scalar_type() == torch::kBFloat16 ? cuda::LogitsDtype::BFloat16
                                                     : cuda::LogitsDtype::Float32;
}

// Saves the logits (not a [N, V] softmax) and the per-row lse [N]; backward re-reads the logits once.
class TokenLogprobsCuda : public torch::autograd::Function<TokenLogprobsCuda> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits_NV,
                               const torch::Tensor& targets_N) {
    const c10::cuda::CUDAGuard device_guard(logits_NV.device());
    const int64_t N = logits_NV.size(0);
    const int64_t V = logits_NV.size(1);
    const auto float_options = logits_NV.options().dtype(torch::kFloat32);
    torch::Tensor logprobs_N = torch::empty({N}, float_options);
    torch::Tensor lse_N = torch::empty({N}, float_options);
    cuda::launch_token_logprobs_forward(logits_NV.data_ptr(), logits_dtype(logits_NV),
                                        targets_N.data_ptr<int64_t>(), logprobs_N.data_ptr<float>(),
                                        lse_N.data_ptr<float>(), N, V, c10::cuda::getCurrentCUDAStream());
    check_launch("token_logprobs_forward_kernel");
    ctx->save_for_backward({logits_NV, targets_N, lse_N});
    return logprobs_N;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& logits_NV = saved[0];
    const torch::Tensor& targets_N = saved[1];
    const torch::Tensor& lse_N = saved[2];
    const c10::cuda::CUDAGuard device_guard(logits_NV.device());
    const torch::Tensor grad_N = grad_outputs[0].to(torch::kFloat32).contiguous();  // [N]
    torch::Tensor grad_logits_NV = torch::empty_like(logits_NV);                    // [N, V], logits' dtype
    cuda::launch_token_logprobs_backward(
        logits_NV.data_ptr(), logits_dtype(logits_NV), targets_N.data_ptr<int64_t>(),
        grad_N.data_ptr<float>(), lse_N.data_ptr<float>(), grad_logits_NV.data_ptr(), logits_NV.size(0),
        logits_NV.size(1), c10::cuda::getCurrentCUDAStream());
    check_launch("token_logprobs_backward_kernel");
    return {grad_logits_NV, torch::Tensor()};
  }
};
#endif

}  // namespace

torch::Tensor token_logprobs_reference(const torch::Tensor& logits_NV, const torch::Tensor& targets_N) {
  check_inputs(logits_NV, targets_N);
  const torch::Tensor logprobs_NV = logits_NV.to(torch::kFloat32).log_softmax(/*dim=*/-1);  // [N, V]
  return logprobs_NV.gather(/*dim=*/1, targets_N.unsqueeze(/*dim=*/1)).squeeze(/*dim=*/1);  // [N]
}

torch::Tensor token_logprobs(const torch::Tensor& logits_NV, const torch::Tensor& targets_N) {
  check_inputs(logits_NV, targets_N);
#ifdef AHA_WITH_CUDA
  if (logits_NV.is_cuda()) {
    if (logits_NV.size(0) > std::numeric_limits<int32_t>::max())
      throw std::invalid_argument("token_logprobs: " + std::to_string(logits_NV.size(0)) +
                                  " rows exceed one CUDA grid (2^31 - 1); pass smaller chunks");
    return TokenLogprobsCuda::apply(logits_NV.contiguous(), targets_N.contiguous());
  }
#endif
  return token_logprobs_reference(logits_NV, targets_N);
}

bool cuda_kernels_compiled() {
#ifdef AHA_WITH_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_device_available() {
  return torch::cuda::is_available();
}

std::string describe_tensor(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes() << " " << t.scalar_type() << " on " << t.device();
  return out.str();
}

}  // namespace aha::kernels
