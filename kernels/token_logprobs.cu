// Fused token log-prob kernels (forward and backward of logits[n, t] − logsumexp(logits[n, :])), torch-free.
// Forward: one block per row reads the row once, keeping a running (max, Σ exp(x − max)) per thread — the
// online softmax of Milakov & Gimelshein (2018) — merges the pairs across the block, and thread 0 gathers
// the target logit. Backward: one block per row writes g · (onehot(t) − exp(x − lse)) from the saved lse.
// All arithmetic is fp32 whatever the logits' dtype. Legend: N rows, V vocabulary.

#include <cuda_bf16.h>
#include <math_constants.h>

#include <cstdint>

#include "kernels/token_logprobs_cuda.h"

namespace aha::kernels::cuda {
namespace {

constexpr int kMaxThreads = 512;  // 16 warps: enough loads in flight for V ~ 1e5 rows
constexpr int kWarpSize = 32;

__device__ __forceinline__ float to_float(float x) {
  return x;
}
__device__ __forceinline__ float to_float(__nv_bfloat16 x) {
  return __bfloat162float(x);
}

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}

// Running max and Σ exp(x − max) of a set of values; the empty set is (−inf, 0).
struct MaxSum {
  float max;
  float sum;
};

// Adds one value. A −inf value adds nothing (and must not compute exp(−inf − −inf) = NaN); a NaN value
// makes the sum NaN, so bad logits surface as a NaN log-prob as they do in log_softmax.
__device__ __forceinline__ void accumulate(MaxSum& acc, float x) {
  if (x > acc.max) {
    acc.sum = acc.sum * expf(acc.max - x) + 1.0f;
    acc.max = x;
  } else if (x != -CUDART_INF_F) {
    acc.sum += expf(x - acc.max);
  }
}

__device__ __forceinline__ MaxSum combine(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.max, b.max);
  if (m == -CUDART_INF_F) return {m, a.sum + b.sum};  // both empty: keep 0 (or a NaN) without exp(NaN)
  return {m, a.sum * expf(a.max - m) + b.sum * expf(b.max - m)};
}

__device__ __forceinline__ MaxSum warp_reduce(MaxSum v) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const MaxSum other{__shfl_xor_sync(0xffffffffu, v.max, offset),
                       __shfl_xor_sync(0xffffffffu, v.sum, offset)};
    v = combine(v, other);
  }
  return v;
}

// Reduces every thread's pair; the result is valid in thread 0. blockDim.x is a multiple of 32, <=
// kMaxThreads.
__device__ MaxSum block_reduce(MaxSum v) {
  __shared__ MaxSum per_warp[kMaxThreads / kWarpSize];
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  v = warp_reduce(v);
  if (lane == 0) per_warp[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int num_warps = blockDim.x / kWarpSize;
    v = lane < num_warps ? per_warp[lane] : MaxSum{-CUDART_INF_F, 0.0f};
    v = warp_reduce(v);
  }
  return v;
}

template <typename T>
__global__ void __launch_bounds__(kMaxThreads)
    token_logprobs_forward_kernel(const T* __restrict__ logits_NV, const int64_t* __restrict__ targets_N,
                                  float* __restrict__ logprobs_N, float* __restrict__ lse_N, int64_t V) {
  const int64_t n = blockIdx.x;
  const T* row = logits_NV + n * V;
  MaxSum acc{-CUDART_INF_F, 0.0f};
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) accumulate(acc, to_float(row[v]));
  acc = block_reduce(acc);
  if (threadIdx.x == 0) {
    const float log_sum = logf(acc.sum);
    lse_N[n] = acc.max + log_sum;
    const int64_t t = targets_N[n];
    // (x_t − max) − log Σ keeps the small difference exact instead of subtracting a rounded lse.
    logprobs_N[n] = (t >= 0 && t < V) ? (to_float(row[t]) - acc.max) - log_sum : CUDART_NAN_F;
  }
}

template <typename T>
__global__ void __launch_bounds__(kMaxThreads)
    token_logprobs_backward_kernel(const T* __restrict__ logits_NV, const int64_t* __restrict__ targets_N,
                                   const float* __restrict__ grad_logprobs_N, const float* __restrict__ lse_N,
                                   T* __restrict__ grad_logits_NV, int64_t V) {
  const int64_t n = blockIdx.x;
  const T* row = logits_NV + n * V;
  T* grad_row = grad_logits_NV + n * V;
  const int64_t t = targets_N[n];
  const bool valid = t >= 0 && t < V;
  const float g = grad_logprobs_N[n];
  const float lse = lse_N[n];
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const float softmax = expf(to_float(row[v]) - lse);
    const float onehot = v == t ? 1.0f : 0.0f;
    grad_row[v] = from_float<T>(valid ? g * (onehot - softmax) : 0.0f);
  }
}

// Threads per row: enough warps to cover V, at most kMaxThreads (small rows do not idle 16 warps).
unsigned threads_for(int64_t V) {
  const int64_t warps = (V + kWarpSize - 1) / kWarpSize;
  return static_cast<unsigned>(warps >= kMaxThreads / kWarpSize ? kMaxThreads : warps * kWarpSize);
}

}  // namespace

void launch_token_logprobs_forward(const void* logits, LogitsDtype dtype, const int64_t* targets,
                                   float* logprobs, float* lse, int64_t N, int64_t V, cudaStream_t stream) {
  if (N == 0) return;
  const dim3 grid(static_cast<unsigned>(N));
  const dim3 block(threads_for(V));
  switch (dtype) {
    case LogitsDtype::Float32:
      token_logprobs_forward_kernel<float>
          <<<grid, block, 0, stream>>>(static_cast<const float*>(logits), targets, logprobs, lse, V);
      break;
    case LogitsDtype::BFloat16:
      token_logprobs_forward_kernel<__nv_bfloat16>
          <<<grid, block, 0, stream>>>(static_cast<const __nv_bfloat16*>(logits), targets, logprobs, lse, V);
      break;
  }
}

void launch_token_logprobs_backward(const void* logits, LogitsDtype dtype, const int64_t* targets,
                                    const float* grad_logprobs, const float* lse, void* grad_logits,
                                    int64_t N, int64_t V, cudaStream_t stream) {
  if (N == 0) return;
  const dim3 grid(static_cast<unsigned>(N));
  const dim3 block(threads_for(V));
  switch (dtype) {
    case LogitsDtype::Float32:
      token_logprobs_backward_kernel<float><<<grid, block, 0, stream>>>(static_cast<const float*>(logits),
                                                                        targets, grad_logprobs, lse,
                                                                        static_cast<float*>(grad_logits), V);
      break;
    case LogitsDtype::BFloat16:
      token_logprobs_backward_kernel<__nv_bfloat16>
          <<<grid, block, 0, stream>>>(static_cast<const __nv_bfloat16*>(logits), targets, grad_logprobs, lse,
                                       static_cast<__nv_bfloat16*>(grad_logits), V);
      break;
  }
}

}  // namespace aha::kernels::cuda
