// Batched generation; see engine.h. The decode loop reads sampled tokens back to the host once per step
// (to check EOS and stop strings); on the GPU path this becomes a device-side finished mask.
#include "rollout/engine.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

#include <torch/torch.h>

#include "rollout/kv_cache.h"

namespace aha::rollout {

const char* to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::Eos: return "eos";
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
  }
  return "?";
}

Engine::Engine(policy::Transformer model, std::shared_ptr<const policy::Tokenizer> tokenizer, int64_t eos_token_id)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), eos_token_id_(eos_token_id) {}

RolloutResult Engine::generate(const std::vector<std::string>& prompts, int64_t group_size,
                               const GenerationConfig& config, const std::vector<uint64_t>& seeds) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t P = static_cast<int64_t>(prompts.size()), G = group_size, B = P * G;
  if (P == 0 || G <= 0) throw std::invalid_argument("rollout: need at least one prompt and group_size >= 1");
  if (static_cast<int64_t>(seeds.size()) != B)
    throw std::invalid_argument("rollout: expected " + std::to_string(B) + " seeds, got " + std::to_string(seeds.size()));
  torch::InferenceMode inference;
  const auto device = model_->embed_tokens->weight.device();
  const auto dtype = model_->embed_tokens->weight.scalar_type();

  RolloutResult result;
  int64_t T = 0;
  for (const auto& prompt : prompts) {
    result.prompt_ids.push_back(encode_prompt_ ? encode_prompt_(prompt) : tokenizer_->encode(prompt));
    if (result.prompt_ids.back().empty()) throw std::invalid_argument("rollout: empty prompt");
    T = std::max<int64_t>(T, result.prompt_ids.back().size());
  }
  const int64_t S = T + config.max_new_tokens;
  if (S > model_->config().max_position_embeddings)
    throw std::invalid_argument("rollout: prompt + max_new_tokens = " + std::to_string(S) +
                                " exceeds max_position_embeddings " +
                                std::to_string(model_->config().max_position_embeddings));

  // Prefill all prompts at once, right-padded with EOS (pads only affect positions the decode overwrites
  // or masks).
  auto tokens_PT = torch::full({P, T}, eos_token_id_, torch::kLong);
  std::vector<int64_t> lengths(P);
  for (int64_t p = 0; p < P; ++p) {
    lengths[p] = static_cast<int64_t>(result.prompt_ids[p].size());
    tokens_PT[p].narrow(0, 0, lengths[p]).copy_(torch::tensor(result.prompt_ids[p], torch::kLong));
  }
  tokens_PT = tokens_PT.to(device);
  auto positions_PT = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device)).expand({P, T});
  std::vector<policy::CacheEntry> latents;
  policy::RouteTrace prefill_routes;
  policy::ForwardOptions options;
  options.latents = &latents;
  if (config.record_routes) options.record = &prefill_routes;
  auto hidden_PTD = model_->hidden_states(tokens_PT, positions_PT, options);
  auto lengths_P = torch::tensor(lengths, torch::kLong).to(device);
  auto last_PD = hidden_PTD.index({torch::arange(P, lengths_P.options()), lengths_P - 1});
  auto logits_BV = model_->logits(last_PD).repeat_interleave(G, /*dim=*/0);  // [B, V]

  auto cache = KvCache::allocate(model_->config(), B, S, torch::TensorOptions().dtype(dtype).device(device));
  cache.fill_prefix(latents, G);
  latents.clear();
  auto positions_B = lengths_P.repeat_interleave(G);  // next write position of each row

  result.completions.resize(B);
  // A stop string completed by this step's token lies within the last `stop_window` tokens (every token
  // of the tokenizer is at least one byte), so only that tail is decoded each step, not the whole
  // completion. Ids with no text (embedding rows past the tokenizer's vocab) would shorten the window.
  size_t stop_window = 0;
  for (const auto& stop : config.stop_strings) stop_window = std::max(stop_window, stop.size());
  std::vector<bool> finished(B, false);
  // The decode batch: slot i decodes completion rows[i]. Finished rows leave it: once an eighth of the
  // slots hold finished rows, the cache keeps only the live rows' slots (one gather per compaction, so
  // its memory follows the live rows too). Attention reads only the cache's live prefix: every row's
  // positions lie below T + step + 1 (rows of shorter prompts mask the rest, as before).
  std::vector<int64_t> rows(B);
  for (int64_t b = 0; b < B; ++b) rows[b] = b;
  int64_t finished_in_batch = 0;
  std::vector<std::vector<torch::Tensor>> decode_routes;  // [step][moe layer] -> [slots, K]
  std::vector<std::vector<int64_t>> decode_slot;          // [step] -> each row's slot that step (-1: gone)
  int64_t active = B;
  for (int64_t step = 0; step < config.max_new_tokens && active > 0; ++step) {
    const int64_t n = static_cast<int64_t>(rows.size());
    std::vector<double> u(n);
    for (int64_t i = 0; i < n; ++i) u[i] = seeded_uniform(seeds[rows[i]], step);
    auto sampled = sample_tokens(logits_BV, torch::tensor(u, torch::kDouble).to(device), config.sampling);
    auto tokens_cpu = sampled.tokens_B.cpu();
    auto logprobs_cpu = sampled.logprobs_B.cpu();
    auto tok = tokens_cpu.accessor<int64_t, 1>();
    auto lp = logprobs_cpu.accessor<float, 1>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = rows[i];
      if (finished[b]) continue;
      auto& c = result.completions[b];
      c.token_ids.push_back(tok[i]);
      c.logprobs.push_back(lp[i]);
      std::optional<FinishReason> reason;
      if (tok[i] == eos_token_id_) {
        reason = FinishReason::Eos;
      } else if (!config.stop_strings.empty()) {
        const size_t from = c.token_ids.size() > stop_window ? c.token_ids.size() - stop_window : 0;
        const std::string text =
            tokenizer_->decode(std::vector<int64_t>(c.token_ids.begin() + from, c.token_ids.end()));
        for (const auto& stop : config.stop_strings)
          if (text.find(stop) != std::string::npos) reason = FinishReason::Stop;
      }
      if (!reason && step + 1 == config.max_new_tokens) reason = FinishReason::Length;
      if (reason) {
        c.finish_reason = *reason;
        finished[b] = true;
        --active;
        ++finished_in_batch;
      }
    }
    if (active == 0) break;
    auto next_B = sampled.tokens_B;
    if (finished_in_batch * 8 >= n) {  // compact: finished rows leave the decode batch
      std::vector<int64_t> keep, kept_rows;
      for (int64_t i = 0; i < n; ++i)
        if (!finished[rows[i]]) keep.push_back(i), kept_rows.push_back(rows[i]);
      const auto index = torch::tensor(keep, torch::kLong).to(device);
      cache.first = cache.first.index_select(1, index);
      cache.second = cache.second.index_select(1, index);
      positions_B = positions_B.index_select(0, index);
      next_B = next_B.index_select(0, index);
      rows = std::move(kept_rows);
      finished_in_batch = 0;
    }
    const int64_t live = std::min(S, T + step + 1);
    auto first = cache.first.narrow(2, 0, live), second = cache.second.narrow(2, 0, live);
    policy::RouteTrace step_routes;
    logits_BV = model_->decode_logits(next_B, positions_B, first, second,
                                      config.record_routes ? &step_routes : nullptr);
    if (config.record_routes) {
      decode_routes.push_back(step_routes.topk_idx);
      std::vector<int64_t> slot_of(B, -1);
      for (int64_t i = 0; i < static_cast<int64_t>(rows.size()); ++i) slot_of[rows[i]] = i;
      decode_slot.push_back(std::move(slot_of));
    }
    positions_B = positions_B + 1;
  }

  for (int64_t b = 0; b < B; ++b) {
    auto& c = result.completions[b];
    c.prompt_index = b / G;
    std::vector<int64_t> visible = c.token_ids;
    if (c.finish_reason == FinishReason::Eos) visible.pop_back();
    c.text = tokenizer_->decode(visible);
    result.generated_tokens += static_cast<int64_t>(c.token_ids.size());
    if (!config.record_routes) continue;
    const int64_t p = b / G, n_fed = static_cast<int64_t>(c.token_ids.size()) - 1;
    for (size_t m = 0; m < prefill_routes.topk_idx.size(); ++m) {
      const int64_t K = prefill_routes.topk_idx[m].size(1);
      auto prompt_routes = prefill_routes.topk_idx[m].view({P, T, K})[p].narrow(0, 0, lengths[p]);
      std::vector<torch::Tensor> parts{prompt_routes.cpu()};
      for (int64_t s = 0; s < n_fed; ++s)  // the row was live, so in the batch, at every step it was fed
        parts.push_back(decode_routes[s][m][decode_slot[s][b]].unsqueeze(0).cpu());
      c.routes.push_back(torch::cat(parts, 0));
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace aha::rollout
