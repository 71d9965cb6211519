// Activation checkpointing per decoder layer; see recompute.h.
#include "policy/recompute.h"

#include <torch/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace aha::policy {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct RecomputedBlock : torch::autograd::Function<RecomputedBlock> {
  // Runs without a graph (custom functions' forward always does); keeps h, cos, sin and the routes.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& cos,
                               const torch::Tensor& sin, BlockImpl* block, const MoeCall& call) {
    MoeCall first = call;
    torch::Tensor routes;
    if (block->moe && !first.record_idx_NK) first.record_idx_NK = &routes;
    auto out = block->forward(h, cos, sin, nullptr, first);
    if (block->moe) ctx->saved_data["routes"] = call.replay_idx_NK.defined() ? call.replay_idx_NK
                                                                            : *first.record_idx_NK;
    ctx->saved_data["block"] = reinterpret_cast<int64_t>(block);  // the module outlives the graph
    ctx->saved_data["cos"] = cos;
    ctx->saved_data["sin"] = sin;
    ctx->save_for_backward({h});
    return out;
  }

  // One more forward of the block, with a graph, then its backward: the block's parameters accumulate
  // their gradients there, and h's gradient goes on to the layer below.
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto* block = reinterpret_cast<BlockImpl*>(ctx->saved_data["block"].toInt());
    const torch::Tensor h = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    MoeCall again;
    if (block->moe) again.replay_idx_NK = ctx->saved_data["routes"].toTensor();
    {
      torch::AutoGradMode with_graph(true);
      auto out = block->forward(h, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor(),
                                nullptr, again);
      torch::autograd::backward({out}, {grad_out[0]});
    }
    return {h.grad(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor recomputed_block_forward(BlockImpl& block, const torch::Tensor& h, const torch::Tensor& cos,
                                       const torch::Tensor& sin, const MoeCall& call) {
  return RecomputedBlock::apply(h, cos, sin, &block, call);
}

}  // namespace aha::policy
