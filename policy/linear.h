// Linear and Embedding layers whose parameters are allocated but not initialised. torch::nn::Linear and
// torch::nn::Embedding fill every weight with random numbers in their constructors; for a checkpoint that
// is pure waste (0.8 s for a 1.1 GB model on the dev machine, more than reading the file), because
// load_policy overwrites every parameter. A fresh model gets its values from
// TransformerImpl::init_weights instead. Names ("weight", "bias") and the math (y = x Wᵀ + b, row lookup)
// are torch's.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

namespace aha::policy {

struct LinearImpl : torch::nn::Module {
  LinearImpl(int64_t in_features, int64_t out_features, bool with_bias = false) {
    weight = register_parameter("weight", torch::empty({out_features, in_features}));
    if (with_bias) bias = register_parameter("bias", torch::empty({out_features}));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out], undefined without bias
};
TORCH_MODULE(Linear);

struct EmbeddingImpl : torch::nn::Module {
  EmbeddingImpl(int64_t num_embeddings, int64_t dim) {
    weight = register_parameter("weight", torch::empty({num_embeddings, dim}));
  }
  torch::Tensor forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

  torch::Tensor weight;  // [V, D]
};
TORCH_MODULE(Embedding);

}  // namespace aha::policy
