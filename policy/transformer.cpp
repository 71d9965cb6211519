// The causal LM; see transformer.h.
#include "policy/transformer.h"

#include <torch/nn/init.h>

#include "kernels/lm_head_logprobs.h"
#include "policy/recompute.h"

namespace aha::policy {

TransformerImpl::TransformerImpl(const ModelConfig& config) : config_(config), rope_(Rope::make(config)) {
  config_.validate();
  model = register_module("model", std::make_shared<torch::nn::Module>("Model"));
  embed_tokens = model->register_module("embed_tokens", Embedding(config.vocab_size, config.hidden_size));
  layers = model->register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) layers->push_back(Block(config, l));
  norm = model->register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps));
  if (!config.tie_word_embeddings)
    lm_head = register_module(
        "lm_head", Linear(config.hidden_size, config.vocab_size));
}

torch::Tensor TransformerImpl::hidden_states(const torch::Tensor& tokens_BT, const torch::Tensor& positions_BT,
                                             const ForwardOptions& options) {
  auto [cos, sin] = rope_.angles(positions_BT);  // [B, T, R/2]
  auto h = embed_tokens(tokens_BT);              // [B, T, D]
  torch::Tensor count_mask_N;
  if (options.count_mask_BT.defined()) count_mask_N = options.count_mask_BT.reshape({-1}).to(torch::kBool);
  if (options.latents) options.latents->assign(layers->size(), {});
  if (options.record) options.record->topk_idx.clear();
  // no graph, nothing to save: prefill and the reference forward run every layer plainly
  const bool recompute = options.recompute && torch::GradMode::is_enabled() && !options.latents;
  size_t moe_index = 0;
  for (size_t l = 0; l < layers->size(); ++l) {
    auto* block = layers[l]->as<BlockImpl>();
    MoeCall call;
    torch::Tensor recorded;
    if (block->moe) {
      if (options.replay) call.replay_idx_NK = options.replay->topk_idx.at(moe_index);
      if (options.record) call.record_idx_NK = &recorded;
      call.count_mask_N = count_mask_N;
    }
    if (recompute)
      h = recomputed_block_forward(*block, h, cos, sin, call);
    else
      h = block->forward(h, cos, sin, options.latents ? &(*options.latents)[l] : nullptr, call);
    if (block->moe) {
      if (options.record) options.record->topk_idx.push_back(recorded);
      ++moe_index;
    }
  }
  return norm(h);
}

torch::Tensor TransformerImpl::logits(const torch::Tensor& hidden) {
  return lm_head ? lm_head(hidden) : torch::matmul(hidden, embed_tokens->weight.t());
}

torch::Tensor TransformerImpl::decode_logits(const torch::Tensor& tokens_B, const torch::Tensor& positions_B,
                                             torch::Tensor& cache_first, torch::Tensor& cache_second,
                                             RouteTrace* record) {
  auto positions_B1 = positions_B.unsqueeze(1);
  auto [cos, sin] = rope_.angles(positions_B1);  // [B, 1, R/2]
  auto h = embed_tokens(tokens_B.unsqueeze(1));  // [B, 1, D]
  if (record) record->topk_idx.clear();
  for (size_t l = 0; l < layers->size(); ++l) {
    auto* block = layers[l]->as<BlockImpl>();
    auto first = cache_first.select(0, l), second = cache_second.select(0, l);  // views [B, S, W1], [B, S, W2]
    MoeCall call;
    torch::Tensor recorded;
    if (block->moe && record) call.record_idx_NK = &recorded;
    h = block->decode(h, cos, sin, positions_B, first, second, call);
    if (block->moe && record) record->topk_idx.push_back(recorded);
  }
  return logits(norm(h)).squeeze(1);  // [B, V]
}

torch::Tensor TransformerImpl::token_logprobs(const torch::Tensor& hidden_BTD, const torch::Tensor& targets_BT,
                                              double temperature, int64_t chunk_rows, torch::Tensor* entropy_BT,
                                              bool entropy_grad, const torch::Tensor& needed_BT) {
  const auto& weight_VD = lm_head ? lm_head->weight : embed_tokens->weight;
  if (chunk_rows <= 0) chunk_rows = kernels::default_chunk_rows(weight_VD.size(0));
  auto hidden_ND = hidden_BTD.reshape({-1, hidden_BTD.size(-1)});
  auto targets_N = targets_BT.reshape({-1});
  torch::Tensor index_M;  // the needed positions, when only those are projected
  if (needed_BT.defined()) {
    index_M = needed_BT.reshape({-1}).nonzero().squeeze(1);
    hidden_ND = hidden_ND.index_select(0, index_M);
    targets_N = targets_N.index_select(0, index_M);
  }
  const auto out = kernels::lm_head_logprobs(hidden_ND, weight_VD, targets_N, temperature, chunk_rows,
                                             /*with_entropy=*/entropy_BT != nullptr, entropy_grad);
  const auto place = [&](const torch::Tensor& x_M) {  // back to [B, T], 0 where not needed
    if (!index_M.defined()) return x_M.view(targets_BT.sizes());
    return torch::zeros({targets_BT.numel()}, x_M.options()).index_copy(0, index_M, x_M).view(targets_BT.sizes());
  };
  if (entropy_BT) *entropy_BT = place(out.entropy_N);
  return place(out.logprobs_N);
}

void TransformerImpl::init_weights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    auto& t = p.value();
    if (name.find("norm") != std::string::npos) t.fill_(1.0);
    else if (name.ends_with(".bias")) t.zero_();
    else t.normal_(0.0, config_.initializer_range);
  }
  for (auto* moe : moe_layers())
    if (moe->gate->e_score_correction_bias.defined()) moe->gate->e_score_correction_bias.zero_();
}

std::vector<MoeImpl*> TransformerImpl::moe_layers() const {
  std::vector<MoeImpl*> out;
  for (const auto& layer : *layers) {
    auto* block = layer->as<BlockImpl>();
    if (block->moe) out.push_back(block->moe.get());
  }
  return out;
}

std::vector<double> TransformerImpl::update_router_biases(double gamma) {
  std::vector<double> max_violation;
  for (auto* moe : moe_layers()) {
    auto load = moe->expert_load;
    double mean = load.mean().item<double>();
    max_violation.push_back(mean > 0 ? (load.max().item<double>() - mean) / mean : 0.0);
    if (mean > 0) moe->gate->update_bias(load, gamma);
    moe->expert_load.zero_();
  }
  return max_violation;
}

ParameterCounts TransformerImpl::parameter_counts() const {
  ParameterCounts counts;
  for (const auto& p : named_parameters()) {
    counts.total += p.value().numel();
    if (p.key().find(".mlp.experts.") != std::string::npos) counts.routed_expert_total += p.value().numel();
  }
  int64_t per_expert = 3 * config_.hidden_size * config_.moe_intermediate_size;
  int64_t moe_layer_count = static_cast<int64_t>(moe_layers().size());
  counts.active_per_token =
      counts.total - counts.routed_expert_total + moe_layer_count * config_.num_experts_per_tok * per_expert;
  return counts;
}

int64_t TransformerImpl::kv_cache_bytes_per_token(int64_t element_size) const {
  auto [first_width, second_width] = config_.cache_widths();
  return config_.num_hidden_layers * (first_width + second_width) * element_size;
}

}  // namespace aha::policy
