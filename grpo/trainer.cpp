// The GRPO trainer; see trainer.h.
#include "grpo/trainer.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "datasets/template.h"
#include "grpo/advantage.h"
#include "grpo/curves.h"
#include "grpo/json_fields.h"
#include "grpo/loss.h"
#include "grpo/run_dir.h"
#include "grpo/schedule.h"
#include "policy/eos.h"
#include "rollout/seeds.h"

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

void write_json(const fs::path& file, const nlohmann::json& j) { write_file_atomically(file, j.dump(2) + "\n"); }

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signal) {
  g_stop_signal.store(signal);
  std::signal(signal, SIG_DFL);  // a second Ctrl-C kills the process the default way
}

// Test hooks (tests/grpo/test_resume.cpp), read once from AHA_FAULT: a comma-separated list of
// "<point>@<step>". Kill points raise SIGKILL when step <step> (1-based) reaches them: after-rollout,
// after-metrics, checkpoint-write (all files written, before the rename), checkpoint-published (renamed,
// before `latest` moves). "nan@<step>" makes every loss of that step NaN (the non-finite guard's test).
class FaultPlan {
 public:
  FaultPlan() {
    const char* env = std::getenv("AHA_FAULT");
    if (!env) return;
    std::stringstream list(env);
    std::string item;
    while (std::getline(list, item, ',')) {
      const auto at = item.find('@');
      const std::string step = at == std::string::npos ? "" : item.substr(at + 1);
      if (step.empty() || step.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("AHA_FAULT: \"" + item + "\": expected point@step");
      points_.emplace(item.substr(0, at), std::stoll(step));
    }
  }
  bool has(const std::string& point, int64_t step) const {
    auto [begin, end] = points_.equal_range(point);
    for (auto it = begin; it != end; ++it)
      if (it->second == step) return true;
    return false;
  }
  void maybe_kill(const std::string& point, int64_t step) const {
    if (!has(point, step)) return;
    std::cout << std::flush;
    std::raise(SIGKILL);
  }

 private:
  std::multimap<std::string, int64_t> points_;
};

const FaultPlan& faults() {
  static const FaultPlan plan;
  return plan;
}

std::string format_eta(double seconds) {
  char buf[32];
  int s = static_cast<int>(seconds + 0.5);
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

// {"step": step, "eval/<key>": value} for the numeric accuracy-like keys of an eval summary; the timing
// keys go under timing/eval_*.
nlohmann::json eval_row(int64_t step, const nlohmann::json& summary) {
  nlohmann::json row = {{"step", step}};
  for (auto it = summary.begin(); it != summary.end(); ++it) {
    if (!it->is_number()) continue;
    const bool timing = it.key() == "seconds" || it.key() == "tokens_per_second";
    row[(timing ? "timing/eval_" : "eval/") + it.key()] = *it;
  }
  return row;
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() { return g_stop_signal.load() != 0; }

int stop_signal() { return g_stop_signal.load(); }

nlohmann::json TrainerState::to_json() const {
  return {{"step", step},
          {"optimizer_steps", optimizer_steps},
          {"prompts_drawn", prompts_drawn},
          {"bad_steps_in_row", bad_steps_in_row},
          {"skipped_updates", skipped_updates},
          {"num_tokens", num_tokens},
          {"reference_step", reference_step}};
}

TrainerState TrainerState::from_json(const nlohmann::json& j, const std::string& where) {
  TrainerState s;
  JsonFields(j, where)
      .field("step", s.step)
      .field("optimizer_steps", s.optimizer_steps)
      .field("prompts_drawn", s.prompts_drawn)
      .field("bad_steps_in_row", s.bad_steps_in_row)
      .field("skipped_updates", s.skipped_updates)
      .field("num_tokens", s.num_tokens)
      .field("reference_step", s.reference_step)
      .finish();
  return s;
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
  stream_ = std::make_unique<datasets::ProblemStream>(*task_, config_.data.seed, config_.data.train_size);
  template_text_ = datasets::resolve_template(config_.data.template_name);
  rubric_ = std::make_unique<rewards::Rubric>(config_.rewards);
  policy_ = policy::load_policy(config_.model.path);
  torch::Device device(config_.model.device == "cuda" ? torch::kCUDA : torch::kCPU);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("model.device is \"cuda\" but no CUDA device is available");
  policy_.model->to(device);
  eos_token_id_ = policy::resolve_eos_token(policy_);
  if (config_.grpo.loss.needs_reference()) {  // frozen copy of the start checkpoint; none is kept when beta == 0
    reference_ = policy::load_policy(config_.model.path).model;
    reference_->to(device);
    reference_->eval();
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  engine_ = std::make_unique<rollout::Engine>(policy_.model, policy_.tokenizer, eos_token_id_);
  torch::optim::AdamWOptions options(config_.train.lr);
  options.betas({config_.train.adam_beta1, config_.train.adam_beta2}).weight_decay(config_.train.weight_decay);
  optimizer_ = std::make_unique<torch::optim::AdamW>(policy_.model->parameters(), options);
  eval_problems_ = task_->problems(datasets::Split::Test, config_.train.eval_problems, config_.data.eval_seed);
}

EvalOptions Trainer::eval_options() const {
  EvalOptions eval;
  eval.samples = config_.train.eval_samples;
  eval.generation = config_.generation();
  eval.generation.record_routes = false;
  eval.generation.sampling = {config_.train.eval_temperature, config_.train.eval_top_p, 0};
  eval.seed = config_.data.eval_seed;
  eval.rules = config_.rewards;
  return eval;
}

torch::Tensor Trainer::logprobs(const TrainBatch& part, bool count_load, torch::Tensor* entropy_NT) {
  policy::RouteTrace replay;
  policy::ForwardOptions options;
  if (count_load) options.count_mask_BT = part.valid_NT;  // expert load for the router-bias update
  if (config_.grpo.router_replay) {
    replay.topk_idx = part.routes;
    options.replay = &replay;
  }
  auto hidden = policy_.model->hidden_states(part.tokens_NT, part.positions_NT, options);
  return policy_.model->token_logprobs(hidden, part.targets_NT, config_.rollout.temperature, 2048, entropy_NT,
                                       /*entropy_grad=*/config_.grpo.loss.entropy_coef > 0);
}

Trainer::UpdateSums& Trainer::UpdateSums::operator+=(const UpdateSums& o) {
  loss += o.loss;
  policy_loss += o.policy_loss;
  kl += o.kl;
  entropy += o.entropy;
  clip_low += o.clip_low;
  clip_high += o.clip_high;
  dual_clip += o.dual_clip;
  ratio += o.ratio;
  tis_weight += o.tis_weight;
  tis_capped += o.tis_capped;
  return *this;
}

Trainer::UpdateSums Trainer::accumulate(const TrainBatch& batch, const torch::Tensor& ref_logp_NT,
                                        const torch::Tensor& old_logp_NT, int64_t begin, int64_t count,
                                        LogprobDiff* first_forward) {
  LossNormalizer normalizer;
  normalizer.sequences = static_cast<double>(count);
  normalizer.tokens = batch.mask_NT.narrow(0, begin, count).sum().item<double>();
  const int64_t micro = config_.grpo.micro_batch_size > 0 ? config_.grpo.micro_batch_size : count;
  const bool poison = faults().has("nan", state_.step + 1);
  UpdateSums sums;
  for (int64_t m = begin; m < begin + count; m += micro) {
    const int64_t rows = std::min(micro, begin + count - m);
    auto part = batch.slice(m, rows);
    LossInputs in;
    in.logp_NT = logprobs(part, /*count_load=*/true, &in.entropy_NT);
    in.old_logp_NT = old_logp_NT.defined() ? old_logp_NT.narrow(0, m, rows) : part.old_logp_NT;
    in.behaviour_logp_NT = part.old_logp_NT;
    if (ref_logp_NT.defined()) in.ref_logp_NT = ref_logp_NT.narrow(0, m, rows);
    in.advantages_N = part.advantages_N;
    in.mask_NT = part.mask_NT;
    if (first_forward) {  // the step's first forward runs before any update: trainer vs rollout log-probs
      torch::NoGradGuard no_grad;
      const auto diff = (in.logp_NT.detach() - part.old_logp_NT).abs() * part.mask_NT;
      first_forward->mean = (diff.sum() / part.mask_NT.sum().clamp_min(1.0)).item<double>();
      first_forward->max = diff.max().item<double>();
      first_forward = nullptr;
    }
    auto out = policy_loss(in, config_.grpo.loss, normalizer);
    auto loss = poison ? out.loss * std::numeric_limits<double>::quiet_NaN() : out.loss;
    loss.backward();
    const double share = out.tokens / std::max(normalizer.tokens, 1.0);  // token-weighted means
    sums += {loss.item<double>(),
             out.policy_loss.item<double>(),
             out.kl.item<double>(),
             out.entropy.item<double>(),
             share * out.clip_frac_low.item<double>(),
             share * out.clip_frac_high.item<double>(),
             share * out.dual_clip_frac.item<double>(),
             share * out.ratio_mean.item<double>(),
             share * out.tis_weight_mean.item<double>(),
             share * out.tis_capped_frac.item<double>()};
  }
  return sums;
}

void Trainer::optimize(const TrainBatch& batch, const torch::Tensor& ref_logp_NT, nlohmann::json& metrics) {
  const int64_t N = batch.tokens_NT.size(0);
  const int64_t minibatches = std::min(config_.grpo.minibatches, N);
  const int64_t total_updates = config_.train.steps * config_.grpo.mu * config_.grpo.minibatches;
  torch::Tensor old_logp;  // π_old from the trainer's own forward, before any update of this step
  if (config_.grpo.recompute_old_logprobs) {
    torch::NoGradGuard no_grad;
    const int64_t micro = config_.grpo.micro_batch_size > 0 ? config_.grpo.micro_batch_size : N;
    std::vector<torch::Tensor> parts;
    for (int64_t m = 0; m < N; m += micro)
      parts.push_back(logprobs(batch.slice(m, std::min(micro, N - m)), /*count_load=*/false));
    old_logp = torch::cat(parts);
  }
  UpdateSums totals;
  LogprobDiff logprob_diff;
  std::vector<double> max_violation;
  double grad_norm_sum = 0, lr = 0;
  int64_t updates = 0, skipped = 0;
  std::string nonfinite_where;
  for (int64_t pass = 0; pass < config_.grpo.mu; ++pass) {
    for (int64_t mb = 0; mb < minibatches; ++mb) {
      // rows [begin, end): the minibatches split N as evenly as possible (they differ by at most one row
      // when dynamic sampling kept fewer groups than minibatches divides)
      const int64_t begin = N * mb / minibatches, end = N * (mb + 1) / minibatches;
      lr = learning_rate(state_.optimizer_steps, total_updates, config_.train.lr, config_.train.warmup_steps,
                         config_.train.min_lr_ratio);
      set_learning_rate(*optimizer_, lr);
      optimizer_->zero_grad();
      const UpdateSums sums = accumulate(batch, ref_logp_NT, old_logp, begin, end - begin,
                                         pass == 0 && mb == 0 ? &logprob_diff : nullptr);
      const double grad_norm =
          torch::nn::utils::clip_grad_norm_(policy_.model->parameters(),
                                            config_.train.max_grad_norm > 0 ? config_.train.max_grad_norm
                                                                            : std::numeric_limits<double>::infinity());
      // Guard: a non-finite loss or gradient skips this update (the weights, moments and schedule stay as
      // they were) and says where it arose.
      if (!std::isfinite(sums.loss) || !std::isfinite(grad_norm)) {
        if (nonfinite_where.empty()) {
          nonfinite_where = std::isfinite(sums.loss) ? "gradient" : "loss";
          for (const auto& p : policy_.model->named_parameters())
            if (p.value().grad().defined() && !torch::isfinite(p.value().grad()).all().item<bool>()) {
              nonfinite_where += " (first non-finite gradient: " + p.key() + ")";
              break;
            }
          nonfinite_where += " at pass " + std::to_string(pass) + " minibatch " + std::to_string(mb);
        }
        optimizer_->zero_grad();
        ++skipped;
        continue;
      }
      optimizer_->step();
      ++state_.optimizer_steps;
      // MaxVio per MoE layer from this update's routed tokens (gamma 0 measures without moving the biases)
      const auto violations = policy_.model->update_router_biases(config_.grpo.bias_update_gamma);
      max_violation.resize(std::max(max_violation.size(), violations.size()), 0.0);
      for (size_t l = 0; l < violations.size(); ++l) max_violation[l] = std::max(max_violation[l], violations[l]);
      totals += sums;
      grad_norm_sum += grad_norm;
      ++updates;
    }
  }
  const double n = std::max<int64_t>(updates, 1);
  metrics["loss"] = totals.loss / n;
  metrics["policy_loss"] = totals.policy_loss / n;
  metrics["kl"] = totals.kl / n;
  metrics["entropy"] = totals.entropy / n;
  metrics["clip_ratio/low_mean"] = totals.clip_low / n;
  metrics["clip_ratio/high_mean"] = totals.clip_high / n;
  metrics["clip_ratio/region_mean"] = (totals.clip_low + totals.clip_high) / n;
  if (config_.grpo.loss.dual_clip > 0) metrics["clip_ratio/dual_mean"] = totals.dual_clip / n;
  metrics["importance_ratio/mean"] = totals.ratio / n;
  if (config_.grpo.loss.tis_cap > 0) {
    metrics["sampling/tis_weight_mean"] = totals.tis_weight / n;
    metrics["sampling/tis_capped_frac"] = totals.tis_capped / n;
  }
  metrics["sampling/logprob_diff_mean"] = logprob_diff.mean;
  metrics["sampling/logprob_diff_max"] = logprob_diff.max;
  metrics["grad_norm"] = grad_norm_sum / n;
  metrics["learning_rate"] = lr;
  metrics["optimizer_steps"] = state_.optimizer_steps;
  double worst = 0;
  for (size_t l = 0; l < max_violation.size(); ++l) {
    metrics["moe/max_violation/layer_" + std::to_string(l)] = max_violation[l];
    worst = std::max(worst, max_violation[l]);
  }
  metrics["moe/max_violation"] = worst;
  metrics["nonfinite/skipped_updates"] = skipped;
  if (skipped > 0) {
    state_.skipped_updates += skipped;
    metrics["nonfinite/where"] = nonfinite_where;
  }
  metrics["nonfinite/skipped_total"] = state_.skipped_updates;
  state_.bad_steps_in_row = skipped > 0 ? state_.bad_steps_in_row + 1 : 0;
}

// One rollout's completions with their scores; groups of G consecutive completions share a prompt.
struct Trainer::Scored {
  rollout::RolloutResult rollout;
  std::vector<std::string> prompts, answers;
  std::vector<rewards::RubricResult> scored;
  std::vector<double> rewards;  // rubric total + overlong penalty
  std::vector<double> overlong;
  int64_t rounds = 0, kept_groups = 0;
};

StepLog Trainer::step(int64_t step_index) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t P = config_.rollout.prompts_per_step, G = config_.rollout.group_size;
  const auto& grpo = config_.grpo;
  Scored kept;
  double rollout_seconds = 0, reward_seconds = 0;
  int64_t generated_tokens = 0;
  // Rollout statistics over every sampled completion, kept or not (what the policy earned)
  std::vector<double> all_rewards;
  std::map<std::string, std::vector<double>> per_rule;
  int64_t reward_errors = 0, zero_spread = 0, clipped = 0, terminated = 0;
  double len_sum = 0, len_min = 1e300, len_max = 0, terminated_len_sum = 0;
  while (kept.kept_groups < P && kept.rounds < (grpo.dynamic_sampling ? grpo.max_sampling_rounds : 1)) {
    const auto round_start = std::chrono::steady_clock::now();
    std::vector<std::string> prompts, answers;
    std::vector<uint64_t> seeds;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t k = state_.prompts_drawn + p;
      const auto& problem = stream_->at(k);
      prompts.push_back(datasets::render_prompt(template_text_, problem));
      answers.push_back(problem.answer);
      for (int64_t g = 0; g < G; ++g) seeds.push_back(rollout::sample_seed(config_.train.seed, k, g));
    }
    state_.prompts_drawn += P;
    const auto rollout = engine_->generate(prompts, G, config_.generation(), seeds);
    generated_tokens += rollout.generated_tokens;
    rollout_seconds += seconds_since(round_start);
    ++kept.rounds;

    const auto reward_start = std::chrono::steady_clock::now();
    std::vector<rewards::RewardInput> inputs;
    for (const auto& c : rollout.completions) inputs.push_back({prompts[c.prompt_index], c.text, answers[c.prompt_index]});
    // Per-sample rules run on every core; batch rules (plugins, programs) get the batch in one call.
    auto scored = rubric_->score_batch(inputs, std::max(1u, std::thread::hardware_concurrency()));
    std::vector<double> totals, overlong;
    for (size_t i = 0; i < scored.size(); ++i) {
      const auto& c = rollout.completions[i];
      const double len = static_cast<double>(c.token_ids.size());
      // DAPO's soft overlong punishment: 0 up to max − buffer tokens, then linear down to −penalty at max
      double penalty = 0;
      const double limit = static_cast<double>(config_.rollout.max_new_tokens);
      if (grpo.overlong_buffer > 0 && len > limit - grpo.overlong_buffer)
        penalty = -std::min(1.0, (len - (limit - grpo.overlong_buffer)) / grpo.overlong_buffer) * grpo.overlong_penalty;
      overlong.push_back(penalty);
      totals.push_back(scored[i].total + penalty);
      all_rewards.push_back(totals.back());
      for (const auto& [name, score] : scored[i].rules) per_rule[name].push_back(score);
      reward_errors += scored[i].error.empty() ? 0 : 1;
      len_sum += len;
      len_min = std::min(len_min, len);
      len_max = std::max(len_max, len);
      if (c.finish_reason == rollout::FinishReason::Length) {
        ++clipped;
      } else {
        terminated_len_sum += len;
        ++terminated;
      }
    }
    // Keep groups (all of them, or with dynamic sampling those whose rewards differ) until P are kept
    for (int64_t p = 0; p < P; ++p) {
      const auto first = totals.begin() + p * G;
      const bool spread = *std::max_element(first, first + G) != *std::min_element(first, first + G);
      zero_spread += spread ? 0 : 1;
      if (kept.kept_groups == P || (grpo.dynamic_sampling && !spread)) continue;
      const int64_t new_index = static_cast<int64_t>(kept.prompts.size());
      kept.prompts.push_back(prompts[p]);
      kept.answers.push_back(answers[p]);
      kept.rollout.prompt_ids.push_back(rollout.prompt_ids[p]);
      for (int64_t g = 0; g < G; ++g) {
        const size_t i = static_cast<size_t>(p * G + g);
        kept.rollout.completions.push_back(rollout.completions[i]);
        kept.rollout.completions.back().prompt_index = new_index;
        kept.scored.push_back(scored[i]);
        kept.rewards.push_back(totals[i]);
        kept.overlong.push_back(overlong[i]);
      }
      ++kept.kept_groups;
    }
    reward_seconds += seconds_since(reward_start);
  }
  state_.num_tokens += generated_tokens;
  faults().maybe_kill("after-rollout", step_index + 1);

  nlohmann::json m;
  m["step"] = step_index + 1;
  m["epoch"] = stream_->epoch_of(state_.prompts_drawn - 1);
  const double n_all = static_cast<double>(all_rewards.size());
  auto all_N = torch::tensor(all_rewards, torch::kFloat64);
  m["reward"] = all_N.mean().item<double>();
  m["reward_std"] = all_N.numel() > 1 ? all_N.std().item<double>() : 0.0;
  for (const auto& [name, values] : per_rule) {
    auto v = torch::tensor(values, torch::kFloat64);
    m["rewards/" + name + "/mean"] = v.mean().item<double>();
    m["rewards/" + name + "/std"] = v.numel() > 1 ? v.std().item<double>() : 0.0;
  }
  if (reward_errors > 0) m["rewards/errors"] = reward_errors;  // rules that threw (a bad ground truth)
  // Samples that got a rule's fallback score (a crashed plugin, a hung program, a sandbox failure) so far
  for (const auto& f : rubric_->failures()) m["rewards/" + f.rule + "/failures"] = f.stats.failed_samples;
  m["accuracy"] = per_rule.count("accuracy") ? m["rewards/accuracy/mean"].get<double>() : 0.0;
  m["format_rate"] = per_rule.count("format") ? m["rewards/format/mean"].get<double>() : 0.0;
  m["completions/mean_length"] = len_sum / n_all;
  m["completions/min_length"] = len_min;
  m["completions/max_length"] = len_max;
  m["completions/clipped_ratio"] = static_cast<double>(clipped) / n_all;
  m["completions/mean_terminated_length"] = terminated > 0 ? terminated_len_sum / static_cast<double>(terminated) : 0.0;
  if (grpo.overlong_buffer > 0) {
    double sum = 0;
    for (double v : kept.overlong) sum += v;
    m["rewards/overlong_penalty/mean"] = kept.overlong.empty() ? 0.0 : sum / kept.overlong.size();
  }
  m["frac_reward_zero_std"] = static_cast<double>(zero_spread) / static_cast<double>(all_rewards.size() / G);
  if (grpo.dynamic_sampling) {
    m["sampling/rounds"] = kept.rounds;
    m["sampling/kept_groups"] = kept.kept_groups;
  }
  m["num_tokens"] = state_.num_tokens;

  const auto train_start = std::chrono::steady_clock::now();
  if (kept.kept_groups == 0) {  // every group of every round was zero-spread: nothing to learn from
    m["nonfinite/skipped_updates"] = 0;
    m["sampling/no_signal"] = 1;
    state_.bad_steps_in_row = 0;
  } else {
    auto device = policy_.model->embed_tokens->weight.device();
    const int64_t N = static_cast<int64_t>(kept.rewards.size());
    auto batch = make_train_batch(kept.rollout, torch::zeros({N}), eos_token_id_, grpo.router_replay, device);
    torch::Tensor ref_logp;
    if (reference_) {
      torch::NoGradGuard no_grad;
      auto h = reference_->hidden_states(batch.tokens_NT, batch.positions_NT);
      ref_logp = reference_->token_logprobs(h, batch.targets_NT, config_.rollout.temperature);
    }
    auto rewards_N = torch::tensor(kept.rewards, torch::kFloat64);
    if (ref_logp.defined() && !grpo.loss.kl_in_loss) {  // KL in the reward: r_i − beta·Σ_t kl_t(π_old ‖ π_ref)
      const auto x = torch::clamp(ref_logp - batch.old_logp_NT, -grpo.loss.max_log_ratio, grpo.loss.max_log_ratio);
      const auto kl_N = (kl_estimate(x, grpo.loss.kl_estimator) * batch.mask_NT).sum(1).to(torch::kFloat64).cpu();
      m["kl_penalty/mean"] = (grpo.loss.beta * kl_N).mean().item<double>();
      rewards_N = rewards_N - grpo.loss.beta * kl_N;
    }
    auto adv = group_advantages(rewards_N, G, grpo.scale_rewards, grpo.advantage_eps);
    batch.advantages_N = adv.advantages.to(device);
    optimize(batch, ref_logp, m);

    if (!run_dir_.empty()) {
      for (int64_t i = 0; i < std::min<int64_t>(config_.train.samples_per_step, N); ++i) {
        const auto& c = kept.rollout.completions[i];
        nlohmann::json rules;
        for (const auto& [name, score] : kept.scored[i].rules) rules[name] = score;
        append_line(run_dir_ / "samples.jsonl",
                    {{"step", step_index + 1}, {"prompt", kept.prompts[c.prompt_index]}, {"completion", c.text},
                     {"answer", kept.answers[c.prompt_index]}, {"finish_reason", rollout::to_string(c.finish_reason)},
                     {"reward", kept.rewards[i]}, {"rules", rules}, {"advantage", adv.advantages[i].item<double>()}});
      }
    }
  }
  state_.step = step_index + 1;
  if (reference_ && grpo.ref_refresh_steps > 0 && state_.step % grpo.ref_refresh_steps == 0) {
    torch::NoGradGuard no_grad;  // the reference becomes the current policy (veRL/TRL sync_ref_model)
    auto ref_params = reference_->named_parameters();
    for (const auto& p : policy_.model->named_parameters()) ref_params[p.key()].copy_(p.value());
    auto ref_buffers = reference_->named_buffers();
    for (const auto& b : policy_.model->named_buffers()) ref_buffers[b.key()].copy_(b.value());
    state_.reference_step = state_.step;
    m["reference_refreshed"] = 1;
  }
  const double train_seconds = seconds_since(train_start);
  const double seconds = seconds_since(start);
  m["perf/tokens_per_second"] = generated_tokens / seconds;
  m["timing/rollout"] = rollout_seconds;
  m["timing/reward"] = reward_seconds;
  m["timing/train"] = train_seconds;
  m["timing/step"] = seconds;

  char line[256];
  std::snprintf(line, sizeof line,
                "step %3lld/%lld  reward %.3f  acc %.3f  format %.3f  len %.1f  kl %.4f  ent %.3f  %.0f tok/s",
                static_cast<long long>(step_index + 1), static_cast<long long>(config_.train.steps),
                m["reward"].get<double>(), m["accuracy"].get<double>(), m["format_rate"].get<double>(),
                m["completions/mean_length"].get<double>(), m.value("kl", 0.0), m.value("entropy", 0.0),
                m["perf/tokens_per_second"].get<double>());
  return {m, line};
}

void Trainer::save_checkpoint() {
  const int64_t step = state_.step;
  // trainer_state.pt: AdamW moments and step counts, torch's CPU RNG state, and the reference policy when
  // it has been refreshed (otherwise it is the start checkpoint, config model.path)
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive optimizer_archive;
  optimizer_->save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("rng/cpu", at::detail::getDefaultCPUGenerator().get_state());
  if (reference_ && state_.reference_step > 0) {
    torch::serialize::OutputArchive reference_archive;
    for (const auto& [name, tensor] : policy::state_tensors(*reference_)) reference_archive.write(name, tensor);
    archive.write("reference", reference_archive);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  nlohmann::json state = state_.to_json();
  state["epoch"] = stream_->epoch_of(std::max<int64_t>(state_.prompts_drawn - 1, 0));
  state["config"] = config_.to_json();
  const fs::path dir = checkpoint_path(run_dir_, step);
  fs::create_directories(dir.parent_path());
  policy::save_policy(*policy_.model, policy_.dir / "tokenizer.json", dir,
                      {{"trainer_state.json", state.dump(2) + "\n"}, {"trainer_state.pt", bytes.str()}},
                      policy::kDefaultMaxShardBytes,
                      [&](const fs::path&) { faults().maybe_kill("checkpoint-write", step); });
  faults().maybe_kill("checkpoint-published", step);
  set_latest_checkpoint(run_dir_, step);
  prune_checkpoints(run_dir_, config_.train.keep_checkpoints);
}

void Trainer::load_checkpoint(const fs::path& dir) {
  const std::string where = dir.string();
  auto counters = read_json_file(dir / "trainer_state.json");
  counters.erase("config");  // written for people; the run's config.json is what resume reads
  counters.erase("epoch");
  state_ = TrainerState::from_json(counters, (dir / "trainer_state.json").string());
  policy::load_state(*policy_.model, policy::load_checkpoint_tensors(dir), where);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from((dir / "trainer_state.pt").string());
  } catch (const c10::Error& e) {
    throw std::runtime_error((dir / "trainer_state.pt").string() + ": cannot read the trainer state: " +
                             e.what_without_backtrace());
  }
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer_->load(optimizer_archive);
  torch::Tensor rng_state;
  archive.read("rng/cpu", rng_state);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng_state);
  if (reference_ && state_.reference_step > 0) {
    torch::serialize::InputArchive reference_archive;
    archive.read("reference", reference_archive);
    policy::TensorMap tensors;
    for (const auto& name : reference_archive.keys()) reference_archive.read(name, tensors[name]);
    policy::load_state(*reference_, tensors, (dir / "trainer_state.pt").string() + ": reference");
  }
}

void Trainer::log_metrics(const nlohmann::json& row, bool to_jsonl) {
  if (to_jsonl) append_line(run_dir_ / "metrics.jsonl", row);
  add_to_plots(row);
  write_curves_svg(run_dir_ / "curves.svg", curve_rows_, config_.train.run_name);
}

void Trainer::add_to_plots(const nlohmann::json& row) {
  if (!events_) events_ = std::make_unique<EventWriter>(run_dir_);
  events_->add_metrics(row.at("step").get<int64_t>(), row);
  curve_rows_.push_back(row);
}

void Trainer::reopen_logs() {
  for (const auto& entry : fs::directory_iterator(run_dir_))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) fs::remove(entry.path());
  events_.reset();
  curve_rows_.clear();
  std::ifstream in(run_dir_ / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) add_to_plots(nlohmann::json::parse(line));
  write_curves_svg(run_dir_ / "curves.svg", curve_rows_, config_.train.run_name);
}

void Trainer::evaluate_before() {
  const nlohmann::json before = evaluate(*engine_, eval_problems_, template_text_, eval_options()).summary();
  std::cout << "eval before: " << before.dump() << std::endl;
  write_json(run_dir_ / "eval_before.json", before);
  log_metrics(eval_row(0, before));
}

nlohmann::json Trainer::train_loop(int64_t first_step) {
  install_stop_handlers();
  const auto eval = eval_options();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t s = first_step; s < config_.train.steps; ++s) {
    auto log = step(s);
    if (config_.train.eval_every > 0 && (s + 1) % config_.train.eval_every == 0 && s + 1 < config_.train.steps) {
      const nlohmann::json row = eval_row(s + 1, evaluate(*engine_, eval_problems_, template_text_, eval).summary());
      for (auto it = row.begin(); it != row.end(); ++it) log.metrics[it.key()] = *it;
    }
    const double elapsed = seconds_since(start);
    log.metrics["timing/elapsed"] = elapsed;
    log_metrics(log.metrics);
    std::cout << log.console << "  ETA " << format_eta(elapsed / (s + 1 - first_step) * (config_.train.steps - s - 1))
              << std::endl;
    faults().maybe_kill("after-metrics", s + 1);
    if (state_.bad_steps_in_row >= config_.train.max_bad_steps) {
      save_checkpoint();
      throw std::runtime_error("aha train: " + std::to_string(state_.bad_steps_in_row) +
                               " steps in a row skipped a non-finite update (last: " +
                               log.metrics.value("nonfinite/where", std::string("?")) + "); stopped at step " +
                               std::to_string(state_.step) + " with a checkpoint of the last good state in " +
                               checkpoint_path(run_dir_, state_.step).string() +
                               ". Lower train.lr or check the rewards, then resume with aha train --resume " +
                               run_dir_.string());
    }
    const bool interrupted = stop_requested();
    if (interrupted || (config_.train.save_every > 0 && state_.step % config_.train.save_every == 0)) save_checkpoint();
    if (interrupted) {
      std::cout << "aha train: stopped by signal after step " << state_.step << "; checkpoint "
                << checkpoint_path(run_dir_, state_.step).string() << "; continue with: aha train --resume "
                << run_dir_.string() << std::endl;
      return {{"interrupted", true}, {"step", state_.step}};
    }
  }
  const double train_seconds = seconds_since(start);

  const nlohmann::json after = evaluate(*engine_, eval_problems_, template_text_, eval).summary();
  std::cout << "eval after:  " << after.dump() << std::endl;
  log_metrics(eval_row(config_.train.steps, after), /*to_jsonl=*/false);
  policy::save_policy(*policy_.model, policy_.dir / "tokenizer.json", run_dir_ / "final");
  nlohmann::json summary = {{"eval_before", read_json_file(run_dir_ / "eval_before.json")},
                            {"eval_after", after},
                            {"steps", config_.train.steps},
                            {"train_seconds", train_seconds},
                            {"task", config_.data.task},
                            {"eval_split", "test"},
                            {"final_model", (run_dir_ / "final").string()}};
  write_json(run_dir_ / "summary.json", summary);
  return summary;
}

nlohmann::json Trainer::run(bool overwrite) {
  run_dir_ = fs::path(config_.train.output_dir) / config_.train.run_name;
  if (fs::exists(run_dir_)) {
    if (!overwrite)
      throw std::runtime_error(run_dir_.string() + ": run directory exists; choose another train.run_name, pass "
                               "--overwrite, or continue it with aha train --resume " + run_dir_.string());
    fs::remove_all(run_dir_);
  }
  fs::create_directories(run_dir_);
  write_json(run_dir_ / "config.json", config_.to_json());
  std::cout << "aha train: run " << run_dir_.string() << "\n" << config_.to_json().dump(2) << std::endl;
  evaluate_before();
  return train_loop(0);
}

nlohmann::json Trainer::resume(const fs::path& run_dir) {
  run_dir_ = run_dir;
  int64_t step = 0;
  if (auto latest = latest_checkpoint(run_dir_)) {
    load_checkpoint(*latest);
    step = state_.step;
    std::cout << "aha train: resuming " << run_dir_.string() << " from " << latest->string() << std::endl;
  } else {
    std::cout << "aha train: " << run_dir_.string() << " has no checkpoint yet; restarting it from step 0" << std::endl;
  }
  prune_checkpoints(run_dir_, config_.train.keep_checkpoints, /*remove_newer_than_latest=*/true);
  truncate_jsonl_to_step(run_dir_ / "metrics.jsonl", step);
  truncate_jsonl_to_step(run_dir_ / "samples.jsonl", step);
  reopen_logs();
  if (!fs::exists(run_dir_ / "eval_before.json")) evaluate_before();  // killed before the first eval finished
  return train_loop(step);
}

}  // namespace aha::grpo
