// The causal LM (spec §1.3): embed -> blocks -> RMSNorm -> lm_head, for DeepSeek-V3/V2 (MLA + MoE) and
// the GQA families (Qwen2, Llama, Qwen3, Qwen3-MoE), which share this block structure. Module names equal
// the HF checkpoint names ("model.layers.3.mlp.experts.0.gate_proj.weight"), so named_parameters() is the
// one name table; checkpoint.cpp checks it against a file.
//
// Three entry points share the same weights (rollout and training never diverge):
//  - hidden_states(): full causal forward (training, prefill), optionally returning per-layer latents
//    to fill a cache, recording routes, replaying routes, and counting expert load;
//  - decode_logits(): one token per row over the rollout cache (absorbed MLA, or GQA keys/values);
//  - token_logprobs(): lm_head + log-softmax + gather fused per chunk of rows (kernels/lm_head_logprobs.h):
//    never [B, T, V] at once, and the backward recomputes each chunk's logits instead of keeping them.
//
// Legend: B batch, T tokens, L layers, S cache positions, C kv_lora_rank, R rope dim, V vocab, K top-k.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "policy/block.h"
#include "policy/config.h"
#include "policy/linear.h"
#include "policy/rope.h"

#include <map>

namespace aha::policy {

// Expert choices of every MoE layer for the tokens of one forward, [B*T, K] int64 each (row-major B, T).
struct RouteTrace {
  std::vector<torch::Tensor> topk_idx;
};

struct ForwardOptions {
  const RouteTrace* replay = nullptr;  // router replay: use these experts
  RouteTrace* record = nullptr;        // store the experts chosen
  torch::Tensor count_mask_BT;         // bool; count these tokens' expert load for the bias update
  std::vector<CacheEntry>* latents = nullptr;  // per layer cache entries (cache_entry.h), to prefill a cache
  bool recompute = false;  // activation checkpointing per layer (policy/recompute.h) while grad mode is on
};

struct ParameterCounts {
  int64_t total = 0;
  int64_t active_per_token = 0;  // embeddings + attention + dense/shared FFN + top-k routed experts
  int64_t routed_expert_total = 0;
};

class TransformerImpl : public torch::nn::Module {
 public:
  // Parameters are allocated but not initialised (policy/linear.h): call init_weights() or load them.
  explicit TransformerImpl(const ModelConfig& config);

  // tokens_BT, positions_BT int64 -> final-normed hidden [B, T, D]
  torch::Tensor hidden_states(const torch::Tensor& tokens_BT, const torch::Tensor& positions_BT,
                              const ForwardOptions& options = {});
  torch::Tensor logits(const torch::Tensor& hidden);  // [..., D] -> [..., V]

  // One new token per row: tokens_B at positions_B; cache_first [L, B, S, W1] and cache_second
  // [L, B, S, W2] (rollout/kv_cache.h) are written at positions_B. -> logits [B, V]. record (optional)
  // gets [B, K] per MoE layer.
  torch::Tensor decode_logits(const torch::Tensor& tokens_B, const torch::Tensor& positions_B,
                              torch::Tensor& cache_first, torch::Tensor& cache_second, RouteTrace* record = nullptr);

  // log p(targets_BT[b, t] | hidden_BTD[b, t]) under softmax(logits / temperature) -> [B, T] float32.
  // entropy_BT (optional) receives H = −Σ_v p_v log p_v of the same distribution, [B, T] float32; it
  // carries a gradient only when entropy_grad (an entropy bonus), else it is computed without a graph.
  // chunk_rows rows of logits at a time; 0: as many as fit in 64 MiB of fp32 logits (at least 16).
  // With needed_BT defined (non-zero where a log-prob is wanted: the generated tokens), only those positions
  // go through the lm_head, as TRL's logits_to_keep does; the others get 0 (log-prob and entropy). A
  // prompt's positions are then never projected onto the vocabulary.
  torch::Tensor token_logprobs(const torch::Tensor& hidden_BTD, const torch::Tensor& targets_BT,
                               double temperature, int64_t chunk_rows = 0, torch::Tensor* entropy_BT = nullptr,
                               bool entropy_grad = false, const torch::Tensor& needed_BT = {});

  // Normal(0, initializer_range) for matrices, ones for norms, zero router biases; deterministic in seed.
  void init_weights(uint64_t seed);

  // Auxiliary-loss-free update on every MoE layer from the load counted since the last call, then reset.
  // Returns MaxVio = (max load - mean load) / mean load per MoE layer (0 where nothing was counted).
  std::vector<double> update_router_biases(double gamma);
  std::vector<MoeImpl*> moe_layers() const;

  ParameterCounts parameter_counts() const;
  // Rollout cache bytes per token across all layers at the given element size.
  int64_t kv_cache_bytes_per_token(int64_t element_size) const;

  const ModelConfig& config() const { return config_; }
  const Rope& rope() const { return rope_; }

  std::shared_ptr<torch::nn::Module> model;  // "model.*" in HF names
  Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  Linear lm_head{nullptr};  // null when tie_word_embeddings
  // Multi-token-prediction layers (model.layers.{num_hidden_layers + k}.*) as found in the checkpoint:
  // kept unchanged so checkpoints round-trip; not run (drafting with MTP is a later goal).
  std::map<std::string, torch::Tensor> mtp_tensors;

 private:
  ModelConfig config_;
  Rope rope_;
};
TORCH_MODULE(Transformer);

}  // namespace aha::policy
