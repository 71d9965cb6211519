// SwiGLU feed-forward, down(silu(gate(x)) * up(x)): the dense layers, every routed expert and the shared
// expert(s) of DeepSeekMoE (shared experts are one MLP of width moe_intermediate_size * n_shared_experts).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/functional/activation.h>

#include "policy/linear.h"

namespace aha::policy {

struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t hidden, int64_t intermediate) {
    gate_proj = register_module("gate_proj", Linear(hidden, intermediate));
    up_proj = register_module("up_proj", Linear(hidden, intermediate));
    down_proj = register_module("down_proj", Linear(intermediate, hidden));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
  }

  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace aha::policy
