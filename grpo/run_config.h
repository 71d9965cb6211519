// The run configuration of `aha train` / `aha eval`: JSON sections mapped to plain structs, one per
// component (model, data, rollout, rewards, grpo, train). Unknown keys and wrong types are errors naming
// the key; validate() checks cross-field rules. The resolved config is saved in the run directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/task.h"
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
  uint64_t seed = 1;                                  // train problem order
  uint64_t eval_seed = 2;                             // held-out problems
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

struct GrpoSection {
  PolicyLossConfig loss;
  bool scale_by_std = true;
  double advantage_eps = 1e-4;
  int64_t mu = 1;           // passes over each rollout batch
  int64_t minibatches = 1;  // optimizer steps per pass
  bool router_replay = false;
  double bias_update_gamma = 0.001;  // auxiliary-loss-free balancing speed γ; 0 disables
};

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
  int64_t threads = 0;  // torch intra-op threads; 0 = library default
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
