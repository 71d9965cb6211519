// `aha info --plan CONFIG`: the peak memory a run config will need, split into what holds it, for the
// configured device and dtype, before anything is loaded or allocated beyond one probed layer.
//
// What is counted (P parameters, w bytes per weight element: 4 for float32, 2 for bfloat16):
//   weights              P·w                     the policy
//   master_weights       P·4 when w = 2          fp32 masters AdamW steps (grpo/policy_update.h)
//   optimizer_moments    2·P·4                   AdamW's exp_avg and exp_avg_sq, fp32
//   gradients            P·4 (+ P·2 when w = 2)  fp32 gradients, plus the bf16 ones of the micro-batch in
//                                                flight before they are added into the masters'
//   reference            P·w when beta > 0       the frozen reference policy
//   activations          what one training micro-batch keeps for its backward, plus the transient of the
//                        one layer whose backward runs: per-row figures from running each kind of layer
//                        once (policy/memory_probe.h), times the micro-batch's rows at its full length;
//                        with and without train.gradient_checkpointing
//   logits_chunk         the fused lm_head's [chunk_rows, V] fp32 buffers (kernels/lm_head_logprobs.h)
//   kv_cache             rows · (longest prompt + max_new_tokens) · cache bytes per token (rollout)
//   sampling             the sampler's [rows, V] buffers at one decode step (rollout)
//   runtime              this process's resident memory before any of the above: libraries, allocator
//   training_micro_batch what the training micro-batch adds at its peak: the activations kept, plus the
//                        larger of one layer's transient and the logits chunk (the lm_head's backward runs
//                        before any layer's, so the two are never alive together)
// The peak is everything resident at the worst phase: runtime + weights + master_weights + moments +
// gradients + reference (all alive from the first update on) + the larger of the rollout (kv_cache +
// sampling) and training_micro_batch. The longest prompt is that of the
// first step's prompts, rendered; the sequences are taken at their full max_new_tokens, the worst case.
#pragma once

#include <nlohmann/json.hpp>

#include "grpo/run_config.h"

namespace aha::grpo {

nlohmann::json plan_memory(const RunConfig& config);

}  // namespace aha::grpo
