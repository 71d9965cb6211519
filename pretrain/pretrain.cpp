// Synthetic-corpus pretraining for the demo base; see pretrain.h.
#include "pretrain/pretrain.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include "datasets/template.h"
#include "common/json_fields.h"
#include "grpo/run_config.h"
#include "grpo/schedule.h"
#include "rollout/seeds.h"
#include "policy/checkpoint.h"
#include "policy/eos.h"

namespace aha::pretrain {

PretrainConfig load_pretrain_config(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  auto j = grpo::read_json_file(file);
  for (const auto& o : overrides) common::apply_override(j, o);
  const std::string where = file.string();
  PretrainConfig c;
  nlohmann::json model, data = nlohmann::json::object(), train = nlohmann::json::object(), noise = nlohmann::json::object();
  common::FieldReader top(j, where);
  top("model", model);
  top("tokenizer", c.tokenizer);
  top("data", data);
  top("train", train);
  top.finish();
  c.model = policy::model_config_from_json(model, where + ": model");
  common::FieldReader data_fields(data, where + ": data");
  data_fields("task", c.task);
  data_fields("options", c.task_options);
  data_fields("template", c.template_name);
  data_fields("seed", c.data_seed);
  data_fields("noise", noise);
  data_fields("problems", c.problems);
  data_fields.finish();
  common::FieldReader noise_fields(noise, where + ": data.noise");
  noise_fields("wrong_step_prob", c.noise.wrong_step_prob);
  noise_fields("broken_format_prob", c.noise.broken_format_prob);
  noise_fields("max_error", c.noise.max_error);
  noise_fields("give_up_prob", c.noise.give_up_prob);
  noise_fields.finish();
  c.noise.validate();
  if (c.noise.give_up_prob > 0.0 && c.task != "countdown")
    throw std::invalid_argument(where + ": data.noise.give_up_prob: only the countdown task's demonstrations " +
                                "search and can give up, got task '" + c.task + "'");
  if (c.problems < 0)
    throw std::invalid_argument(where + ": data.problems must be >= 0, got " + std::to_string(c.problems));
  common::FieldReader train_fields(train, where + ": train");
  train_fields("steps", c.steps);
  train_fields("batch_size", c.batch_size);
  train_fields("lr", c.lr);
  train_fields("warmup_steps", c.warmup_steps);
  train_fields("min_lr_ratio", c.min_lr_ratio);
  train_fields("weight_decay", c.weight_decay);
  train_fields("max_grad_norm", c.max_grad_norm);
  train_fields("bias_update_gamma", c.bias_update_gamma);
  train_fields("seed", c.seed);
  train_fields("output", c.output);
  train_fields("log_every", c.log_every);
  train_fields("threads", c.threads);
  train_fields.finish();
  if (c.tokenizer.empty()) throw std::invalid_argument(where + ": tokenizer: required (path to tokenizer.json)");
  if (c.output.empty()) throw std::invalid_argument(where + ": train.output: required (directory to write)");
  if (c.steps < 1 || c.batch_size < 1) throw std::invalid_argument(where + ": train.steps and train.batch_size must be >= 1");
  datasets::make_task(c.task, c.task_options);  // validates task name and options
  datasets::resolve_template(c.template_name);
  return c;
}

std::vector<std::string> pretrain_documents(const PretrainConfig& config, size_t count, size_t offset) {
  auto task = datasets::make_task(config.task, config.task_options);
  const size_t distinct = config.problems > 0 ? std::min(static_cast<size_t>(config.problems), offset + count)
                                              : offset + count;
  auto problems = task->problems(datasets::Split::Train, distinct, config.data_seed);
  auto template_text = datasets::resolve_template(config.template_name);
  std::vector<std::string> docs;
  for (size_t i = offset; i < offset + count; ++i) {
    const datasets::Problem& problem = problems[i % distinct];
    // prompt + " " + demonstration: templates end at "Assistant:" and the completion the model learns to
    // write starts with " <think>", so the prompt's last token is the same in training and in rollout.
    docs.push_back(datasets::render_prompt(template_text, problem) + " " +
                   task->demonstration(problem, config.noise, rollout::mix64(config.data_seed ^ (i * 0x9E37ull + 1))));
  }
  return docs;
}

nlohmann::json pretrain(const PretrainConfig& config) {
  // before training: replaces a model directory, never the tokenizer's directory or any other user files
  policy::check_output_dir(config.output, config.tokenizer, /*overwrite=*/true, "train.output");
  if (config.threads > 0) torch::set_num_threads(static_cast<int>(config.threads));
  auto tokenizer = policy::Tokenizer::load(config.tokenizer);
  if (tokenizer.vocab_size() > config.model.vocab_size)
    throw std::invalid_argument("model.vocab_size " + std::to_string(config.model.vocab_size) +
                                " is smaller than the tokenizer's " + std::to_string(tokenizer.vocab_size()));
  const int64_t eos = policy::resolve_eos_token(config.model, tokenizer, "pretrain config model");
  policy::Transformer model(config.model);
  model->init_weights(config.seed);
  torch::optim::AdamWOptions options(config.lr);
  options.betas({0.9, 0.95}).weight_decay(config.weight_decay);
  torch::optim::AdamW optimizer(model->parameters(), options);

  const size_t total_docs = static_cast<size_t>(config.steps * config.batch_size);
  std::cout << "aha pretrain: building " << total_docs << " documents" << std::endl;
  auto docs = pretrain_documents(config, total_docs);
  const auto start = std::chrono::steady_clock::now();
  double loss_ema = 0;
  for (int64_t step = 0; step < config.steps; ++step) {
    std::vector<std::vector<int64_t>> ids;
    int64_t T = 0;
    for (int64_t b = 0; b < config.batch_size; ++b) {
      ids.push_back(tokenizer.encode(docs[step * config.batch_size + b]));
      ids.back().push_back(eos);
      T = std::max<int64_t>(T, ids.back().size() - 1);
    }
    const int64_t B = config.batch_size;
    auto tokens = torch::full({B, T}, eos, torch::kLong), targets = torch::zeros({B, T}, torch::kLong);
    auto mask = torch::zeros({B, T}, torch::kFloat);
    for (int64_t b = 0; b < B; ++b) {
      auto seq = torch::tensor(ids[b], torch::kLong);
      const int64_t L = seq.size(0) - 1;
      tokens[b].narrow(0, 0, L).copy_(seq.narrow(0, 0, L));
      targets[b].narrow(0, 0, L).copy_(seq.narrow(0, 1, L));
      mask[b].narrow(0, 0, L).fill_(1.0f);
    }
    auto positions = torch::arange(T, torch::kLong).expand({B, T});
    policy::ForwardOptions fwd;
    fwd.count_mask_BT = mask > 0;
    auto hidden = model->hidden_states(tokens, positions, fwd);
    auto logp = model->token_logprobs(hidden, targets, 1.0);
    auto loss = -(logp * mask).sum() / mask.sum();
    double lr = grpo::learning_rate(step, config.steps, config.lr, config.warmup_steps, config.min_lr_ratio);
    grpo::set_learning_rate(optimizer, lr);
    optimizer.zero_grad();
    loss.backward();
    if (config.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), config.max_grad_norm);
    optimizer.step();
    if (config.bias_update_gamma > 0) model->update_router_biases(config.bias_update_gamma);
    double l = loss.item<double>();
    loss_ema = step == 0 ? l : 0.95 * loss_ema + 0.05 * l;
    if ((step + 1) % config.log_every == 0 || step + 1 == config.steps) {
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("pretrain step %5lld/%lld  loss %.4f  lr %.2e  %.1fs\n", static_cast<long long>(step + 1),
                  static_cast<long long>(config.steps), loss_ema, lr, elapsed);
      std::fflush(stdout);
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  policy::save_policy(*model, config.tokenizer, config.output);
  std::cout << "aha pretrain: wrote " << config.output << " in " << seconds << " s" << std::endl;
  return {{"final_loss", loss_ema}, {"seconds", seconds}, {"output", config.output}};
}

}  // namespace aha::pretrain
