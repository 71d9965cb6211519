// The run configuration of `aha train` / `aha eval`: JSON sections mapped to plain structs, one per
// component (model, data, rollout, rewards, grpo, train). Unknown keys and wrong types are errors naming
// the key; validate() checks cross-field rules. The resolved config is saved in the run directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/task.h"
#include "grpo/advantage.h"
#include "grpo/loss.h"
#include "rewards/rule.h"
#include "rollout/engine.h"

namespace aha::grpo {

struct ModelSection {
  std::string path;            // HF-layout policy directory
  std::string device = "cpu";  // "cpu" or "cuda"
};

struct DataSection {
  std::string task = "arith";
  nlohmann::json options = nlohmann::json::object();  // task options
  std::string template_name = "compact";             // preset name or literal text with {question}
  uint64_t seed = 1;                                  // train problems and their order in every epoch
  uint64_t eval_seed = 2;                             // held-out problems
  int64_t train_size = 0;  // problems in one epoch, reshuffled each epoch; 0: a fresh problem every draw
};

struct RolloutSection {
  int64_t prompts_per_step = 16;
  int64_t group_size = 8;
  int64_t max_new_tokens = 48;
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  std::vector<std::string> stop;
  bool record_routes = false;
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
  int64_t eval_problems = 200;
  int64_t eval_samples = 4;
  double eval_temperature = 1.0;
  double eval_top_p = 1.0;
  int64_t eval_every = 0;  // held-out eval every N steps (eval/* metrics); 0: only before and after
  int64_t threads = 0;  // torch intra-op threads; 0 = library default
  int64_t save_every = 0;        // checkpoint every N steps (and on SIGINT/SIGTERM); 0: only on signals
  int64_t keep_checkpoints = 3;  // newest K checkpoints kept
  int64_t max_bad_steps = 3;     // K consecutive steps with a skipped non-finite update stop the run
};

struct RunConfig {
  ModelSection model;
  DataSection data;
  RolloutSection rollout;
  std::vector<rewards::RuleSpec> rewards;
  GrpoSection grpo;
  TrainSection train;

  void validate() const;  // cross-field rules; std::invalid_argument naming the keys
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
