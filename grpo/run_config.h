// The run configuration of `aha train`: JSON sections mapped to plain structs, one per component (model,
// data, rollout, rewards, grpo, train). Each section lists its keys once, in fields(), which both reads
// and writes it (common/json_fields.h): unknown keys and wrong types are errors naming the key, and named
// options (aggregation, kl_estimator, ...) become enums at load. validate() checks ranges and cross-field
// rules, also at load, so nothing downstream re-checks. The resolved config is saved in the run directory.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/benchmarks.h"
#include "datasets/sources.h"
#include "datasets/task.h"
#include "eval/sources.h"
#include "grpo/advantage.h"
#include "grpo/loss.h"
#include "rewards/rule.h"
#include "rollout/engine.h"

namespace aha::grpo {

struct ModelSection {
  std::string path;            // HF-layout policy directory
  std::string device = "cpu";  // "cpu" or "cuda"
  // The policy's and reference's weights: "float32" or "bfloat16"; "" loads the checkpoint's own dtype.
  // bfloat16 trains fp32 master weights and fp32 AdamW moments (grpo/policy_update.h).
  std::string dtype;
  // Training and prefill attention: "sdpa" (at::scaled_dot_product_attention) or "eager" (the explicit
  // [B, H, T, T] scores it is tested against).
  std::string attention = "sdpa";

  template <class F>
  void fields(F& f) {
    f("path", path);
    f("device", device);
    f("dtype", dtype);
    f("attention", attention);
  }
};

// data.train / data.eval: sources (datasets/sources.h). data.task, options and train_size are the short
// form of one generator source, data.train = [{"generator": task, "options": options, "size": train_size}],
// whose held-out eval is that generator's test split (train.eval_problems problems, data.eval_seed);
// they may not be written next to data.train.
struct DataSection {
  nlohmann::json train;  // a source or a list of sources; null: the short form below
  nlohmann::json eval;   // sources of the held-out evals; null: the short form's test split, or none
  std::string task = "arith";
  nlohmann::json options = nlohmann::json::object();  // task options
  int64_t train_size = 0;  // problems in one epoch, reshuffled each epoch; 0: a fresh problem every draw
  std::string template_name = eval::HeldOutDefaults::template_name;  // preset, text with {question}, "chat"
  int64_t max_prompt_length = 0;  // prompts longer (in tokens) are dropped and counted; 0: no limit
  datasets::OnBadRow on_bad_row = datasets::OnBadRow::Error;
  std::string shared_data = datasets::kDefaultDataDir.string();  // where benchmark folders live
  uint64_t seed = 1;                                   // train problems and their order in every epoch
  uint64_t eval_seed = eval::HeldOutDefaults::seed;  // held-out problems and their samples

  template <class F>
  void fields(F& f) {
    f("train", train);
    f("eval", eval);
    f("task", task);
    f("options", options);
    f("train_size", train_size);
    f("template", template_name);
    f("max_prompt_length", max_prompt_length);
    f("on_bad_row", on_bad_row, datasets::parse_on_bad_row);
    f("shared_data", shared_data);
    f("seed", seed);
    f("eval_seed", eval_seed);
  }
};

struct RolloutSection {
  int64_t prompts_per_step = 16;
  int64_t group_size = 8;
  int64_t max_new_tokens = eval::HeldOutDefaults::max_new_tokens;
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  std::vector<std::string> stop;
  bool record_routes = false;

  template <class F>
  void fields(F& f) {
    f("prompts_per_step", prompts_per_step);
    f("group_size", group_size);
    f("max_new_tokens", max_new_tokens);
    f("temperature", temperature);
    f("top_p", top_p);
    f("top_k", top_k);
    f("stop", stop);
    f("record_routes", record_routes);
  }
};

// Presets set several GrpoSection fields together (README "The GRPO family"); any field set in the
// config wins over its preset value.
//   grpo     DeepSeekMath / R1: group std scaling, seq-mean-token-mean, k3 KL in the loss (beta 0.001)
//   dapo     clip 0.2 / 0.28, token-mean, no KL, dynamic sampling, soft overlong penalty (buffer L/4)
//   dr_grpo  no std scaling, seq-mean-token-sum-norm (sum_norm = max_new_tokens), no KL
std::vector<std::string> grpo_presets();

struct GrpoSection {
  std::string preset = "grpo";
  PolicyLossConfig loss;
  ScaleRewards scale_rewards = ScaleRewards::Group;
  double advantage_eps = 1e-4;
  int64_t mu = 1;                 // passes over each rollout batch
  int64_t minibatches = 1;        // optimizer steps per pass
  int64_t micro_batch_size = 0;   // sequences per forward/backward (gradient accumulation); 0: a whole minibatch
  bool recompute_old_logprobs = false;  // π_old from a trainer forward before the first update (TIS needs it)
  bool dynamic_sampling = false;  // DAPO: keep only groups with reward spread, draw more prompts to refill
  int64_t max_sampling_rounds = 4;  // rollouts per step at most when dynamic_sampling
  int64_t overlong_buffer = 0;      // soft overlong penalty over the last L_cache tokens; 0 off
  double overlong_penalty = 1.0;    // the penalty at max_new_tokens (DAPO's factor)
  int64_t ref_refresh_steps = 0;    // copy the policy into the reference every N steps; 0 never
  bool router_replay = false;
  double bias_update_gamma = 0.001;  // auxiliary-loss-free balancing speed γ; 0 disables

  template <class F>
  void fields(F& f) {
    f("preset", preset);
    f("beta", loss.beta);
    f("kl_estimator", loss.kl_estimator, parse_kl_estimator);
    f("kl_placement", loss.kl_in_loss, parse_kl_placement, kl_placement_name);
    f("clip_low", loss.clip_low);
    f("clip_high", loss.clip_high);
    f("dual_clip", loss.dual_clip);
    f("ratio_level", loss.ratio_level, parse_ratio_level);
    f("entropy_coef", loss.entropy_coef);
    f("tis_cap", loss.tis_cap);
    f("max_log_ratio", loss.max_log_ratio);
    f("aggregation", loss.aggregation, parse_aggregation);
    f("sum_norm", loss.sum_norm);
    f("scale_rewards", scale_rewards, parse_scale_rewards);
    f("advantage_eps", advantage_eps);
    f("mu", mu);
    f("minibatches", minibatches);
    f("micro_batch_size", micro_batch_size);
    f("recompute_old_logprobs", recompute_old_logprobs);
    f("dynamic_sampling", dynamic_sampling);
    f("max_sampling_rounds", max_sampling_rounds);
    f("overlong_buffer", overlong_buffer);
    f("overlong_penalty", overlong_penalty);
    f("ref_refresh_steps", ref_refresh_steps);
    f("router_replay", router_replay);
    f("bias_update_gamma", bias_update_gamma);
  }
  // kl_placement: "loss" (kl_in_loss) or "reward"
  static bool parse_kl_placement(const std::string& name);
  static std::string kl_placement_name(bool kl_in_loss) { return kl_in_loss ? "loss" : "reward"; }
};

// Sets the preset's fields (g.preset names it; unknown -> std::invalid_argument listing the presets).
void apply_grpo_preset(GrpoSection& g, int64_t max_new_tokens);

struct TrainSection {
  std::string run_name = "run";
  std::string output_dir = "runs";
  int64_t steps = 50;
  double lr = 1e-4;
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.1;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.99;
  double max_grad_norm = 1.0;
  uint64_t seed = 1;
  int64_t samples_per_step = 4;  // completions written to samples.jsonl per step
  int64_t eval_problems = eval::HeldOutDefaults::problems;
  int64_t eval_samples = eval::HeldOutDefaults::samples;
  double eval_temperature = eval::HeldOutDefaults::temperature;
  double eval_top_p = eval::HeldOutDefaults::top_p;
  int64_t eval_every = 0;  // held-out eval every N steps (eval/* metrics); 0: only before and after
  int64_t threads = 0;  // torch intra-op threads; 0 = library default
  int64_t save_every = 0;        // checkpoint every N steps (and on SIGINT/SIGTERM); 0: only on signals
  int64_t keep_checkpoints = 3;  // newest K checkpoints kept
  int64_t max_bad_steps = 3;     // K consecutive steps with a skipped non-finite update stop the run
  // Recompute each decoder layer's activations in the backward instead of keeping them (policy/recompute.h).
  bool gradient_checkpointing = false;
  // Rows per forward are packed, longest first, until rows × their longest length would pass this many
  // tokens, and each micro-batch is cut to its own longest row; 0: grpo.micro_batch_size rows, padded to
  // the batch's longest row. The loss is normalised by the whole optimizer step either way.
  int64_t micro_batch_tokens = 0;

  template <class F>
  void fields(F& f) {
    f("run_name", run_name);
    f("output_dir", output_dir);
    f("steps", steps);
    f("lr", lr);
    f("warmup_steps", warmup_steps);
    f("min_lr_ratio", min_lr_ratio);
    f("weight_decay", weight_decay);
    f("adam_beta1", adam_beta1);
    f("adam_beta2", adam_beta2);
    f("max_grad_norm", max_grad_norm);
    f("seed", seed);
    f("samples_per_step", samples_per_step);
    f("eval_problems", eval_problems);
    f("eval_samples", eval_samples);
    f("eval_temperature", eval_temperature);
    f("eval_top_p", eval_top_p);
    f("eval_every", eval_every);
    f("threads", threads);
    f("save_every", save_every);
    f("keep_checkpoints", keep_checkpoints);
    f("max_bad_steps", max_bad_steps);
    f("gradient_checkpointing", gradient_checkpointing);
    f("micro_batch_tokens", micro_batch_tokens);
  }
};

struct RunConfig {
  ModelSection model;
  DataSection data;
  std::vector<datasets::SourceSpec> train_sources, eval_sources;  // data.train / data.eval, resolved
  RolloutSection rollout;
  std::vector<rewards::RuleSpec> rewards;                              // rewards.rules: the default
  std::map<std::string, std::vector<rewards::RuleSpec>> rewards_by_source;  // rewards.by_source
  GrpoSection grpo;
  TrainSection train;
  // --set overrides given at `aha train --resume`, with the step each took effect:
  // [{"from_step": S, "set": ["section.key=value", ...]}] (S: the first step trained with them); kept in the run's config.json so a later plain resume
  // keeps them.
  nlohmann::json overrides = nlohmann::json::array();

  void validate() const;  // ranges and cross-field rules; std::invalid_argument naming the keys
  nlohmann::json to_json() const;
  rollout::GenerationConfig generation() const;
};

// Parses and validates; `where` names the file in errors. Relative model.path resolves against the
// current directory (configs are run from the repository root).
RunConfig run_config_from_json(const nlohmann::json& j, const std::string& where);
// Reads the file, applies --set overrides, parses.
RunConfig load_run_config(const std::filesystem::path& file, const std::vector<std::string>& overrides);
nlohmann::json read_json_file(const std::filesystem::path& file);

}  // namespace aha::grpo
