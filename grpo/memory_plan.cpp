// The memory plan; the accounting is in memory_plan.h.
#include "grpo/memory_plan.h"

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>

#include "grpo/run_data.h"
#include "kernels/lm_head_logprobs.h"
#include "policy/checkpoint.h"
#include "policy/memory_probe.h"
#include "policy/weight_shapes.h"

namespace aha::grpo {
namespace fs = std::filesystem;

namespace {

// VmRSS of this process, bytes (0 where /proc is not there)
int64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      int64_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 20, '\n');
  }
  return 0;
}

// The longest rendered prompt among the first step's prompts, in tokens.
int64_t first_step_prompt_tokens(const RunConfig& config) {
  const fs::path dir = config.model.path;
  auto tokenizer = std::make_shared<policy::Tokenizer>(policy::Tokenizer::load(dir / "tokenizer.json"));
  const policy::PromptRenderer renderer(dir, tokenizer, config.data.template_name, "data.template");
  const rewards::SourceRubrics rubrics(config.rewards, config.rewards_by_source);
  RunData data(config, renderer, rubrics);
  int64_t longest = 1;
  for (int64_t k = 0; k < config.rollout.prompts_per_step; ++k)
    longest = std::max<int64_t>(
        longest, static_cast<int64_t>(renderer.encode(renderer.text(data.stream().at(k))).size()));
  return longest;
}

}  // namespace

nlohmann::json plan_memory(const RunConfig& config) {
  const int64_t runtime = resident_bytes();
  const fs::path dir = config.model.path;
  policy::ModelConfig model = policy::load_model_config(dir / "config.json");
  model.attn_implementation = config.model.attention;
  const torch::ScalarType dtype = policy::parse_dtype(
      config.model.dtype.empty() ? model.torch_dtype : config.model.dtype, config.model.dtype.empty()
                                                                              ? (dir / "config.json").string() + ": torch_dtype"
                                                                              : "model.dtype");
  const int64_t w = dtype == torch::kFloat ? 4 : 2;
  int64_t P = 0;
  policy::for_each_weight_shape(model, [&](const std::string&, const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (const int64_t d : shape) n *= d;
    P += n;
  });

  // Shapes: the worst case, every completion at max_new_tokens
  const int64_t rows = config.rollout.prompts_per_step * config.rollout.group_size;
  const int64_t prompt = first_step_prompt_tokens(config);
  const int64_t length = prompt + config.rollout.max_new_tokens - 1;  // training input positions
  int64_t micro_rows = rows / config.grpo.minibatches;
  if (config.grpo.micro_batch_size > 0) micro_rows = std::min(micro_rows, config.grpo.micro_batch_size);
  if (config.train.micro_batch_tokens > 0)
    micro_rows = std::min(micro_rows, std::max<int64_t>(1, config.train.micro_batch_tokens / length));

  // Activations per row: each kind of layer probed once at the full length
  int64_t kept_per_row = 0, transient_per_row = 0, peak_per_row = 0;
  std::map<std::string, policy::LayerMemory> probed;
  for (int64_t l = 0; l < model.num_hidden_layers; ++l) {
    const std::string kind = model.is_moe_layer(l) ? "moe" : "dense";
    if (!probed.count(kind)) probed[kind] = policy::probe_layer_memory(model, l, length, dtype);
    const policy::LayerMemory& layer = probed[kind];
    kept_per_row += layer.kept;
    transient_per_row = std::max(transient_per_row, layer.peak - layer.kept);
    peak_per_row = std::max(peak_per_row, layer.peak);
  }
  // What the micro-batch's forward keeps, and the transient of the one layer whose backward runs (with
  // checkpointing: the layer's recomputed forward plus its backward)
  const int64_t hidden_per_row = length * model.hidden_size * w;  // one layer's input, what checkpointing keeps
  const int64_t kept_plain = micro_rows * (kept_per_row + 2 * hidden_per_row);
  const int64_t kept_checkpointed = micro_rows * (model.num_hidden_layers + 2) * hidden_per_row;
  const int64_t transient_plain = micro_rows * transient_per_row, transient_checkpointed = micro_rows * peak_per_row;
  const int64_t activations_plain = kept_plain + transient_plain;
  const int64_t activations_checkpointed = kept_checkpointed + transient_checkpointed;
  const bool checkpointing = config.train.gradient_checkpointing;
  const int64_t activations = checkpointing ? activations_checkpointed : activations_plain;
  const int64_t V = model.vocab_size;
  const int64_t chunk_rows = std::min(micro_rows * length, kernels::default_chunk_rows(V));
  const int64_t logits_chunk = chunk_rows * V * (3 * 4 + w);  // logits in w, fp32 logits, p, grad_logits

  const auto [width_a, width_b] = model.cache_widths();
  const int64_t kv_cache = rows * (prompt + config.rollout.max_new_tokens) * model.num_hidden_layers *
                           (width_a + width_b) * w;
  // logits, fp32 log-softmax and sort, fp64 cumsums: the sorted draw (top-p/top-k); the token-order draw
  // needs less
  const int64_t sampling = rows * V * (w + 4 * 3 + 8 * 4);

  const int64_t weights = P * w, master_weights = w == 4 ? 0 : P * 4, moments = 2 * P * 4;
  const int64_t gradients = P * 4 + (w == 4 ? 0 : P * 2);
  const int64_t reference = config.grpo.loss.needs_reference() ? P * w : 0;
  const int64_t resident = runtime + weights + master_weights + moments + gradients + reference;
  const int64_t rollout_peak = resident + kv_cache + sampling;
  // the lm_head's backward runs before any layer's: its chunk and a layer's transient are never alive together
  const int64_t micro_batch = (checkpointing ? kept_checkpointed : kept_plain) +
                              std::max(checkpointing ? transient_checkpointed : transient_plain, logits_chunk);
  const int64_t training_peak = resident + micro_batch;
  auto gib = [](int64_t bytes) { return static_cast<double>(bytes) / (1 << 30); };
  nlohmann::json bytes = {{"weights", weights},
                          {"master_weights", master_weights},
                          {"optimizer_moments", moments},
                          {"gradients", gradients},
                          {"reference", reference},
                          {"activations", activations},
                          {"activations_without_checkpointing", activations_plain},
                          {"activations_with_checkpointing", activations_checkpointed},
                          {"logits_chunk", logits_chunk},
                          {"training_micro_batch", micro_batch},
                          {"kv_cache", kv_cache},
                          {"sampling", sampling},
                          {"runtime", runtime}};
  nlohmann::json gib_view = nlohmann::json::object();
  for (const auto& [key, value] : bytes.items()) gib_view[key] = gib(value.get<int64_t>());
  return {{"config", config.model.path},
          {"device", config.model.device},
          {"dtype", policy::dtype_name(dtype)},
          {"parameters", P},
          {"shapes",
           {{"rows_per_step", rows},
            {"longest_prompt_tokens", prompt},
            {"sequence_tokens", length},
            {"micro_batch_rows", micro_rows},
            {"logits_chunk_rows", chunk_rows},
            {"gradient_checkpointing", config.train.gradient_checkpointing}}},
          {"bytes", bytes},
          {"gib", gib_view},
          {"peak_bytes", {{"rollout", rollout_peak}, {"training", training_peak}, {"total", std::max(rollout_peak, training_peak)}}},
          {"peak_gib", gib(std::max(rollout_peak, training_peak))}};
}

}  // namespace aha::grpo
