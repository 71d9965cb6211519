// The GRPO trainer; see trainer.h.
#include "grpo/trainer.h"

#include <chrono>
#include <thread>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include "datasets/template.h"
#include "grpo/advantage.h"
#include "grpo/evaluate.h"
#include "grpo/loss.h"
#include "grpo/schedule.h"
#include "grpo/seeds.h"

namespace aha::grpo {
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void append_line(const fs::path& file, const nlohmann::json& j) {
  std::ofstream out(file, std::ios::app);
  out << j.dump() << "\n";
}

void write_json(const fs::path& file, const nlohmann::json& j) {
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) throw std::runtime_error(tmp.string() + ": write failed");
  }
  fs::rename(tmp, file);
}

std::string format_eta(double seconds) {
  char buf[32];
  int s = static_cast<int>(seconds + 0.5);
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

}  // namespace

int64_t resolve_eos_token(const policy::LoadedPolicy& policy) {
  if (policy.config.eos_token_id) return *policy.config.eos_token_id;
  if (auto id = policy.tokenizer->token_to_id("<|endoftext|>")) return *id;
  throw std::runtime_error((policy.dir / "config.json").string() +
                           ": no eos_token_id and the tokenizer has no <|endoftext|> token");
}

TrainBatch TrainBatch::slice(int64_t begin, int64_t count) const {
  TrainBatch out{tokens_NT.narrow(0, begin, count),  positions_NT.narrow(0, begin, count),
                 targets_NT.narrow(0, begin, count), mask_NT.narrow(0, begin, count),
                 valid_NT.narrow(0, begin, count),   old_logp_NT.narrow(0, begin, count),
                 advantages_N.narrow(0, begin, count), {}};
  const int64_t T = tokens_NT.size(1);
  for (const auto& r : routes) out.routes.push_back(r.narrow(0, begin * T, count * T));
  return out;
}

TrainBatch make_train_batch(const rollout::RolloutResult& rollout, const torch::Tensor& advantages_N,
                            int64_t pad_token_id, bool with_routes, const torch::Device& device) {
  const int64_t N = static_cast<int64_t>(rollout.completions.size());
  int64_t T = 1;
  for (const auto& c : rollout.completions)
    T = std::max<int64_t>(T, rollout.prompt_ids[c.prompt_index].size() + c.token_ids.size() - 1);
  auto tokens = torch::full({N, T}, pad_token_id, torch::kLong);
  auto targets = torch::zeros({N, T}, torch::kLong);
  auto mask = torch::zeros({N, T}, torch::kFloat);
  auto valid = torch::zeros({N, T}, torch::kBool);
  auto old_logp = torch::zeros({N, T}, torch::kFloat);
  std::vector<torch::Tensor> routes;
  for (int64_t i = 0; i < N; ++i) {
    const auto& c = rollout.completions[i];
    std::vector<int64_t> seq = rollout.prompt_ids[c.prompt_index];
    const int64_t prompt_len = static_cast<int64_t>(seq.size());
    seq.insert(seq.end(), c.token_ids.begin(), c.token_ids.end());
    const int64_t L = static_cast<int64_t>(seq.size()) - 1;  // input positions
    auto seq_t = torch::tensor(seq, torch::kLong);
    tokens[i].narrow(0, 0, L).copy_(seq_t.narrow(0, 0, L));
    targets[i].narrow(0, 0, L).copy_(seq_t.narrow(0, 1, L));
    valid[i].narrow(0, 0, L).fill_(true);
    const int64_t n_gen = static_cast<int64_t>(c.token_ids.size());
    mask[i].narrow(0, prompt_len - 1, n_gen).fill_(1.0f);  // target t is generated token t-(prompt_len-1)
    old_logp[i].narrow(0, prompt_len - 1, n_gen).copy_(torch::tensor(c.logprobs, torch::kFloat));
    if (with_routes) {
      if (c.routes.empty()) throw std::runtime_error("router replay: the rollout recorded no routes");
      if (routes.empty())
        for (const auto& r : c.routes) routes.push_back(torch::zeros({N, T, r.size(1)}, torch::kLong));
      for (size_t m = 0; m < c.routes.size(); ++m) routes[m][i].narrow(0, 0, L).copy_(c.routes[m]);
    }
  }
  TrainBatch batch;
  batch.tokens_NT = tokens.to(device);
  batch.positions_NT = torch::arange(T, torch::kLong).expand({N, T}).contiguous().to(device);
  batch.targets_NT = targets.to(device);
  batch.mask_NT = mask.to(device);
  batch.valid_NT = valid.to(device);
  batch.old_logp_NT = old_logp.to(device);
  batch.advantages_N = advantages_N.to(device);
  for (auto& r : routes) batch.routes.push_back(r.view({N * T, r.size(2)}).to(device));
  return batch;
}

Trainer::Trainer(RunConfig config) : config_(std::move(config)) {
  if (config_.train.threads > 0) torch::set_num_threads(static_cast<int>(config_.train.threads));
  task_ = datasets::make_task(config_.data.task, config_.data.options);
  template_text_ = datasets::resolve_template(config_.data.template_name);
  rubric_ = std::make_unique<rewards::Rubric>(config_.rewards);
  policy_ = policy::load_policy(config_.model.path);
  torch::Device device(config_.model.device == "cuda" ? torch::kCUDA : torch::kCPU);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("model.device is \"cuda\" but no CUDA device is available");
  policy_.model->to(device);
  eos_token_id_ = resolve_eos_token(policy_);
  if (config_.grpo.loss.beta > 0) {  // frozen copy of the start checkpoint; none is kept when beta == 0
    reference_ = policy::load_policy(config_.model.path).model;
    reference_->to(device);
    reference_->eval();
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  engine_ = std::make_unique<rollout::Engine>(policy_.model, policy_.tokenizer, eos_token_id_);
  torch::optim::AdamWOptions options(config_.train.lr);
  options.betas({config_.train.adam_beta1, config_.train.adam_beta2}).weight_decay(config_.train.weight_decay);
  optimizer_ = std::make_unique<torch::optim::AdamW>(policy_.model->parameters(), options);
  train_problems_ = task_->problems(datasets::Split::Train,
                                    static_cast<size_t>(config_.train.steps * config_.rollout.prompts_per_step),
                                    config_.data.seed);
}

void Trainer::optimize(const TrainBatch& batch, nlohmann::json& metrics) {
  const int64_t N = batch.tokens_NT.size(0), per_mb = N / config_.grpo.minibatches;
  const double temperature = config_.rollout.temperature;
  torch::Tensor ref_logp;
  if (reference_) {
    torch::NoGradGuard no_grad;
    auto h = reference_->hidden_states(batch.tokens_NT, batch.positions_NT);
    ref_logp = reference_->token_logprobs(h, batch.targets_NT, temperature);
  }
  double loss_sum = 0, policy_loss_sum = 0, kl_sum = 0, clip_low_sum = 0, clip_high_sum = 0, grad_norm_sum = 0;
  double max_violation = 0, lr = 0;
  int64_t updates = 0;
  for (int64_t pass = 0; pass < config_.grpo.mu; ++pass) {
    for (int64_t mb = 0; mb < config_.grpo.minibatches; ++mb) {
      auto part = batch.slice(mb * per_mb, per_mb);
      policy::RouteTrace replay;
      policy::ForwardOptions options;
      options.count_mask_BT = part.valid_NT;
      if (config_.grpo.router_replay) {
        replay.topk_idx = part.routes;
        options.replay = &replay;
      }
      auto hidden = policy_.model->hidden_states(part.tokens_NT, part.positions_NT, options);
      auto logp = policy_.model->token_logprobs(hidden, part.targets_NT, temperature);
      auto ref = ref_logp.defined() ? ref_logp.narrow(0, mb * per_mb, per_mb) : torch::Tensor();
      auto out = policy_loss(logp, part.old_logp_NT, ref, part.advantages_N, part.mask_NT, config_.grpo.loss);
      lr = learning_rate(optimizer_steps_, config_.train.steps * config_.grpo.mu * config_.grpo.minibatches,
                         config_.train.lr, config_.train.warmup_steps, config_.train.min_lr_ratio);
      set_learning_rate(*optimizer_, lr);
      optimizer_->zero_grad();
      out.loss.backward();
      double grad_norm = config_.train.max_grad_norm > 0
                             ? torch::nn::utils::clip_grad_norm_(policy_.model->parameters(), config_.train.max_grad_norm)
                             : 0.0;
      optimizer_->step();
      ++optimizer_steps_;
      if (config_.grpo.bias_update_gamma > 0) {
        for (double v : policy_.model->update_router_biases(config_.grpo.bias_update_gamma))
          max_violation = std::max(max_violation, v);
      }
      loss_sum += out.loss.item<double>();
      policy_loss_sum += out.policy_loss.item<double>();
      kl_sum += out.kl.item<double>();
      clip_low_sum += out.clip_frac_low.item<double>();
      clip_high_sum += out.clip_frac_high.item<double>();
      grad_norm_sum += grad_norm;
      ++updates;
    }
  }
  metrics["loss"] = loss_sum / updates;
  metrics["policy_loss"] = policy_loss_sum / updates;
  metrics["kl"] = kl_sum / updates;
  metrics["clip_ratio/low_mean"] = clip_low_sum / updates;
  metrics["clip_ratio/high_mean"] = clip_high_sum / updates;
  metrics["grad_norm"] = grad_norm_sum / updates;
  metrics["lr"] = lr;
  metrics["moe/max_violation"] = max_violation;
}

StepLog Trainer::step(int64_t step_index) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t P = config_.rollout.prompts_per_step, G = config_.rollout.group_size;
  std::vector<std::string> prompts;
  std::vector<std::string> answers;
  std::vector<uint64_t> seeds;
  for (int64_t p = 0; p < P; ++p) {
    const auto& problem = train_problems_.at(step_index * P + p);
    prompts.push_back(datasets::render_prompt(template_text_, problem));
    answers.push_back(problem.answer);
    for (int64_t g = 0; g < G; ++g) seeds.push_back(sample_seed(config_.train.seed, step_index * P + p, g));
  }
  auto rollout = engine_->generate(prompts, G, config_.generation(), seeds);
  const double rollout_seconds = seconds_since(start);

  const auto reward_start = std::chrono::steady_clock::now();
  std::vector<rewards::RewardInput> inputs;
  for (const auto& c : rollout.completions) inputs.push_back({prompts[c.prompt_index], c.text, answers[c.prompt_index]});
  // Per-sample rules run on every core; batch rules (plugins, programs) get the batch in one call.
  auto scored = rubric_->score_batch(inputs, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<float> totals;
  std::map<std::string, double> rule_sums;
  double length_sum = 0;
  for (size_t i = 0; i < scored.size(); ++i) {
    totals.push_back(static_cast<float>(scored[i].total));
    for (const auto& [name, score] : scored[i].rules) rule_sums[name] += score;
    length_sum += static_cast<double>(rollout.completions[i].token_ids.size());
  }
  auto rewards_N = torch::tensor(totals, torch::kFloat);
  auto adv = group_advantages(rewards_N, G, config_.grpo.scale_by_std, config_.grpo.advantage_eps);
  const double reward_seconds = seconds_since(reward_start);

  const auto train_start = std::chrono::steady_clock::now();
  auto device = policy_.model->embed_tokens->weight.device();
  auto batch = make_train_batch(rollout, adv.advantages, eos_token_id_, config_.grpo.router_replay, device);
  nlohmann::json m;
  m["step"] = step_index + 1;
  const double n = static_cast<double>(scored.size());
  m["reward"] = rewards_N.mean().item<double>();
  m["reward_std"] = rewards_N.std().item<double>();
  for (const auto& [name, sum] : rule_sums) m["rewards/" + name] = sum / n;
  int64_t reward_errors = 0;
  for (const auto& r : scored) reward_errors += r.error.empty() ? 0 : 1;
  if (reward_errors > 0) m["rewards/errors"] = reward_errors;  // rules that threw (a bad ground truth)
  // Samples that got a rule's fallback score (a crashed plugin, a hung program, a sandbox failure) so far
  for (const auto& f : rubric_->failures()) m["rewards/" + f.rule + "/failures"] = f.stats.failed_samples;
  m["accuracy"] = rule_sums.count("accuracy") ? rule_sums["accuracy"] / n : 0.0;
  m["format_rate"] = rule_sums.count("format") ? rule_sums["format"] / n : 0.0;
  m["completion_length"] = length_sum / n;
  m["frac_reward_zero_std"] = static_cast<double>(adv.zero_spread_groups) / P;
  optimize(batch, m);
  const double train_seconds = seconds_since(train_start);
  const double seconds = seconds_since(start);
  m["tokens_per_second"] = rollout.generated_tokens / seconds;
  m["seconds/rollout"] = rollout_seconds;
  m["seconds/reward"] = reward_seconds;
  m["seconds/train"] = train_seconds;
  m["seconds/step"] = seconds;

  if (!run_dir_.empty()) {
    for (int64_t i = 0; i < std::min<int64_t>(config_.train.samples_per_step, rollout.completions.size()); ++i) {
      const auto& c = rollout.completions[i];
      nlohmann::json rules;
      for (const auto& [name, score] : scored[i].rules) rules[name] = score;
      append_line(run_dir_ / "samples.jsonl", {{"step", step_index + 1}, {"prompt", prompts[c.prompt_index]},
                                               {"completion", c.text}, {"answer", answers[c.prompt_index]},
                                               {"finish_reason", c.finish_reason}, {"reward", scored[i].total},
                                               {"rules", rules}, {"advantage", adv.advantages[i].item<double>()}});
    }
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "step %3lld/%lld  reward %.3f  acc %.3f  format %.3f  len %.1f  kl %.4f  %.0f tok/s",
                static_cast<long long>(step_index + 1), static_cast<long long>(config_.train.steps),
                m["reward"].get<double>(), m["accuracy"].get<double>(), m["format_rate"].get<double>(),
                m["completion_length"].get<double>(), m["kl"].get<double>(), m["tokens_per_second"].get<double>());
  return {m, line};
}

nlohmann::json Trainer::run(bool overwrite) {
  run_dir_ = fs::path(config_.train.output_dir) / config_.train.run_name;
  if (fs::exists(run_dir_)) {
    if (!overwrite)
      throw std::runtime_error(run_dir_.string() + ": run directory exists; choose another train.run_name or pass --overwrite");
    fs::remove_all(run_dir_);
  }
  fs::create_directories(run_dir_);
  write_json(run_dir_ / "config.json", config_.to_json());
  std::cout << "aha train: run " << run_dir_.string() << "\n" << config_.to_json().dump(2) << std::endl;

  auto eval_problems = task_->problems(datasets::Split::Test, config_.train.eval_problems, config_.data.eval_seed);
  EvalOptions eval;
  eval.samples = config_.train.eval_samples;
  eval.generation = config_.generation();
  eval.generation.record_routes = false;
  eval.generation.sampling = {config_.train.eval_temperature, config_.train.eval_top_p, 0};
  eval.seed = config_.data.eval_seed;
  eval.rules = config_.rewards;
  auto before = evaluate(*engine_, eval_problems, template_text_, eval);
  std::cout << "eval before: " << before.summary().dump() << std::endl;

  const auto start = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < config_.train.steps; ++s) {
    auto log = step(s);
    const double elapsed = seconds_since(start);
    log.metrics["elapsed_seconds"] = elapsed;
    append_line(run_dir_ / "metrics.jsonl", log.metrics);
    std::cout << log.console << "  ETA " << format_eta(elapsed / (s + 1) * (config_.train.steps - s - 1)) << std::endl;
  }
  const double train_seconds = seconds_since(start);

  auto after = evaluate(*engine_, eval_problems, template_text_, eval);
  std::cout << "eval after:  " << after.summary().dump() << std::endl;
  policy::save_policy(*policy_.model, policy_.dir / "tokenizer.json", run_dir_ / "final");
  nlohmann::json summary = {{"eval_before", before.summary()},
                            {"eval_after", after.summary()},
                            {"steps", config_.train.steps},
                            {"train_seconds", train_seconds},
                            {"task", config_.data.task},
                            {"eval_split", "test"},
                            {"final_model", (run_dir_ / "final").string()}};
  write_json(run_dir_ / "summary.json", summary);
  return summary;
}

}  // namespace aha::grpo
