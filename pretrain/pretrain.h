// `aha pretrain`: makes the demo's base checkpoint from scratch by next-token prediction on a synthetic
// corpus of prompts + noisy demonstrations (DemoNoise), so the base is only partly right and RL has
// something to fix. Not a general pretraining stack: one task, one process, AdamW + cosine.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/task.h"
#include "policy/config.h"

namespace aha::pretrain {

struct PretrainConfig {
  policy::ModelConfig model;
  std::string tokenizer;  // tokenizer.json to train with and copy into the output
  std::string task = "arith";
  nlohmann::json task_options = nlohmann::json::object();
  std::string template_name = "compact";
  datasets::DemoNoise noise;
  uint64_t data_seed = 7;
  // Distinct problems the corpus cycles through (data.problems); 0 = every document its own problem.
  // Each repeat of a problem gets its own demonstration (different attempts and noise).
  int64_t problems = 0;
  int64_t steps = 1000;
  int64_t batch_size = 64;
  double lr = 3e-3;
  int64_t warmup_steps = 50;
  double min_lr_ratio = 0.1;
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;
  double bias_update_gamma = 0.001;  // auxiliary-loss-free router balancing, as in GRPO training
  uint64_t seed = 1;
  std::string output;
  int64_t log_every = 50;
  int64_t threads = 0;
};

PretrainConfig load_pretrain_config(const std::filesystem::path& file, const std::vector<std::string>& overrides);

// Document i of the corpus: prompt + demonstration (no end-of-text; the trainer appends the token).
std::vector<std::string> pretrain_documents(const PretrainConfig& config, size_t count, size_t offset = 0);

// Trains and writes config.output atomically (HF layout). Returns {"final_loss", "seconds", ...}.
nlohmann::json pretrain(const PretrainConfig& config);

}  // namespace aha::pretrain
