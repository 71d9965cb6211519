// Activation checkpointing per decoder layer (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
// Cost"; the reentrant form of torch.utils.checkpoint): the forward runs a block without recording a graph
// and keeps only the block's input; the backward runs the block again, this time with a graph, and
// backpropagates through that. What a training forward keeps for the backward falls from every layer's
// intermediates (attention scores or SDPA state, SwiGLU activations, norms) to one [B, T, D] hidden state
// per layer, plus one layer's intermediates while its backward runs; the price is a second forward of
// each layer.
//
// MoE layers: the second pass replays the experts the first pass chose (router replay), so both passes
// route alike even where a tie could break either way, and it counts no expert load (the first did). The
// gate weights are recomputed, so the router still gets its gradient.
//
// As with torch's reentrant checkpoint, the parameters' gradients are accumulated by the inner backward,
// which needs the block's input to require a gradient (it does in training: the embedding is trained).
#pragma once

#include <torch/types.h>

#include "policy/block.h"

namespace aha::policy {

// BlockImpl::forward(h, cos, sin, nullptr, call) with the same output and gradients, keeping no
// intermediate activation for the backward. call.record_idx_NK gets the routes as usual.
torch::Tensor recomputed_block_forward(BlockImpl& block, const torch::Tensor& h, const torch::Tensor& cos,
                                       const torch::Tensor& sin, const MoeCall& call);

}  // namespace aha::policy
