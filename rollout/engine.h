// The batched rollout engine: G completions for each of P prompts from the current policy weights (the
// very tensors the trainer updates). Each prompt is prefilled once (one batched, right-padded prefill of
// all P prompts) and its latent cache copied to its G rows; decoding then runs the unfinished rows in
// lockstep with the absorbed MLA over a pre-allocated cache, under InferenceMode: finished rows leave the
// decode batch (the cache is compacted to the live rows once an eighth of its slots has finished) and
// attention reads only the cache's live prefix. Every row has its own seed, so a completion does not
// depend on which rows share its batch or when they leave.
// Per completion it returns tokens, text, finish reason and the behaviour log-prob of each token, and
// optionally the experts every MoE layer chose for each input token (router replay).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "policy/tokenizer.h"
#include "policy/transformer.h"
#include "rollout/sampler.h"

namespace aha::rollout {

struct GenerationConfig {
  int64_t max_new_tokens = 64;
  SamplingConfig sampling;
  std::vector<std::string> stop_strings;  // the completion ends after the token that completes one
  bool record_routes = false;
};

// Why a completion ended: its EOS token, a stop string, or max_new_tokens.
enum class FinishReason { Eos, Stop, Length };
const char* to_string(FinishReason reason);  // "eos", "stop", "length" (the names vLLM and TRL log)

struct Completion {
  int64_t prompt_index = 0;
  std::vector<int64_t> token_ids;  // generated tokens, incl. the EOS token when finish_reason is Eos
  std::vector<float> logprobs;     // behaviour log-prob of each generated token
  std::string text;                // decoded completion, without the EOS token
  FinishReason finish_reason = FinishReason::Length;
  // routes[m]: [prompt_len + token_ids.size() - 1, K] experts of MoE layer m for every input token of the
  // training forward (prompt + completion minus its last token); empty unless record_routes.
  std::vector<torch::Tensor> routes;
};

struct RolloutResult {
  std::vector<std::vector<int64_t>> prompt_ids;  // [P]
  std::vector<Completion> completions;           // [P*G], group-major: index p*G + g
  int64_t generated_tokens = 0;
  double seconds = 0;
};

class Engine {
 public:
  Engine(policy::Transformer model, std::shared_ptr<const policy::Tokenizer> tokenizer, int64_t eos_token_id);

  // How prompt texts become token ids; by default tokenizer.encode as-is (no BOS is added). The trainer
  // and `aha eval` set policy::PromptRenderer::encode, which adds BOS as the model's tokenizer_config says.
  void set_prompt_encoder(std::function<std::vector<int64_t>(const std::string&)> encode) {
    encode_prompt_ = std::move(encode);
  }

  // seeds: one per completion (P*G).
  RolloutResult generate(const std::vector<std::string>& prompts, int64_t group_size,
                         const GenerationConfig& config, const std::vector<uint64_t>& seeds);

 private:
  policy::Transformer model_;
  std::shared_ptr<const policy::Tokenizer> tokenizer_;
  int64_t eos_token_id_;
  std::function<std::vector<int64_t>(const std::string&)> encode_prompt_;
};

}  // namespace aha::rollout
