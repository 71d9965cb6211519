// RMSNorm as DeepSeek-V3/HF compute it: normalise in fp32, cast back, then scale (spec §1.4.1).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

namespace aha::policy {

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps) : eps(eps) { weight = register_parameter("weight", torch::ones({dim})); }

  torch::Tensor forward(const torch::Tensor& x) {
    auto xf = x.to(torch::kFloat);
    auto normed = xf * torch::rsqrt(xf.pow(2).mean(/*dim=*/-1, /*keepdim=*/true) + eps);
    return weight * normed.to(x.scalar_type());
  }

  double eps;
  torch::Tensor weight;
};
TORCH_MODULE(RMSNorm);

}  // namespace aha::policy
