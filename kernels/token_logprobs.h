// Per-token log-probabilities of chosen targets, fused:
//   logprob[n] = logits[n, target[n]] − logsumexp(logits[n, :])
// The trainer calls this on chunks of lm_head output so that no [B, T, V] float32 log-softmax is ever
// materialised. On CUDA one kernel does max, Σ exp and the gather in a single read of each row (fp32
// accumulation, bf16 accepted), and the backward writes
//   grad_logits[n, :] = g[n] · (onehot(target[n]) − softmax(logits[n, :]))
// from the saved per-row logsumexp, without recomputing the reductions.
// Legend: N rows (tokens), V vocabulary.
#pragma once

#include <torch/types.h>

#include <string>

namespace aha::kernels {

// logits_NV: [N, V] float32 (or bfloat16, computed in fp32); targets_N: [N] int64 on the same device.
// Returns [N] float32, differentiable w.r.t. logits (the gradient comes back in the logits' dtype).
// CPU: the reference. CUDA: the fused kernels when built with AHA_WITH_CUDA, else the reference.
// Throws std::invalid_argument on wrong dims, dtypes or devices. The target range is checked on CPU
// (by gather); on CUDA it is not checked on the host (that would sync): an out-of-range target gives
// NaN for that row and a zero gradient row, never an out-of-bounds read.
torch::Tensor token_logprobs(const torch::Tensor& logits_NV, const torch::Tensor& targets_N);

// log_softmax(logits, dim=-1).gather(targets) in float32: the CPU path and the oracle of the CUDA kernels.
torch::Tensor token_logprobs_reference(const torch::Tensor& logits_NV, const torch::Tensor& targets_N);

// "[2, 3] Float on cpu": a tensor's sizes, dtype and device, for argument errors.
std::string describe_tensor(const torch::Tensor& t);

bool cuda_kernels_compiled();  // true when built with AHA_WITH_CUDA (nvcc found at configure time)
bool cuda_device_available();  // torch::cuda::is_available()

}  // namespace aha::kernels
