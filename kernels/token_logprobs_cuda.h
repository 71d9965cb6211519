// Torch-free launchers for the fused token log-prob kernels in token_logprobs.cu (see token_logprobs.h
// for the math). Plain device pointers, sizes and a stream; the caller checks cudaGetLastError().
#pragma once

#ifdef AHA_WITH_CUDA

#include <cuda_runtime_api.h>

#include <cstdint>

namespace aha::kernels::cuda {

enum class LogitsDtype { Float32, BFloat16 };

// One block per row n < N, t = targets[n]: logprobs[n] = logits[n, t] − lse[n],
// lse[n] = logsumexp(logits[n, :]). logits: [N, V] contiguous of `dtype`; targets: [N] int64; logprobs, lse:
// [N] float32. A target outside [0, V) gives logprobs[n] = NaN (lse is still written).
void launch_token_logprobs_forward(const void* logits, LogitsDtype dtype, const int64_t* targets,
                                   float* logprobs, float* lse, int64_t N, int64_t V, cudaStream_t stream);

// One block per row: grad_logits[n, v] = grad_logprobs[n] · ([v == t] − exp(logits[n, v] − lse[n])),
// written in `dtype`. A target outside [0, V) gives a zero row.
void launch_token_logprobs_backward(const void* logits, LogitsDtype dtype, const int64_t* targets,
                                    const float* grad_logprobs, const float* lse, void* grad_logits,
                                    int64_t N, int64_t V, cudaStream_t stream);

}  // namespace aha::kernels::cuda

#endif  // AHA_WITH_CUDA
