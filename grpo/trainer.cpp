// The GRPO trainer; see trainer.h.
#include "grpo/trainer.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "grpo/advantage.h"
#include "grpo/faults.h"
#include "grpo/loss.h"
#include "grpo/step_metrics.h"
#include "grpo/stop_signal.h"
#include "policy/eos.h"
#include "runlog/run_dir.h"

namespace aha::grpo {
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Trainer::Trainer(RunConfig config) : config_(std::move(config)) {
  if (config_.train.threads > 0) torch::set_num_threads(static_cast<int>(config_.train.threads));
  rubrics_ = std::make_unique<rewards::SourceRubrics>(config_.rewards, config_.rewards_by_source);
  policy::LoadOptions load;
  if (!config_.model.dtype.empty()) load.dtype = policy::parse_dtype(config_.model.dtype, "model.dtype");
  load.attn_implementation = config_.model.attention;
  policy_ = policy::load_policy(config_.model.path, load);
  renderer_ = std::make_unique<policy::PromptRenderer>(policy_.dir, policy_.tokenizer, config_.data.template_name,
                                                       "data.template");
  data_ = std::make_unique<RunData>(config_, *renderer_, *rubrics_);
  torch::Device device(config_.model.device == "cuda" ? torch::kCUDA : torch::kCPU);
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error("model.device is \"cuda\" but no CUDA device is available");
  policy_.model->to(device);
  if (device.is_cuda()) {  // fp32 matmuls on tensor cores (TF32), as torch's and TRL's GPU defaults allow
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
  }
  eos_token_id_ = policy::resolve_eos_token(policy_);
  if (config_.grpo.loss
          .needs_reference()) {  // frozen copy of the start checkpoint; none is kept when beta == 0
    load.dtype = policy_.model->embed_tokens->weight.scalar_type();
    reference_ = policy::load_policy(config_.model.path, load).model;
    reference_->to(device);
    reference_->eval();
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  engine_ = std::make_unique<rollout::Engine>(policy_.model, policy_.tokenizer, eos_token_id_);
  engine_->set_prompt_encoder([this](const std::string& text) { return renderer_->encode(text); });
  sampler_ = std::make_unique<GroupSampler>(config_, *engine_, data_->stream(), *renderer_, *rubrics_);
  updater_ = std::make_unique<PolicyUpdater>(config_, policy_.model);
  check_sizes_against_model();
}

// The config's sizes against the model's context and this machine's memory, before anything is written:
// the KV cache of one rollout is the largest allocation a step makes.
void Trainer::check_sizes_against_model() const {
  const policy::ModelConfig& model = policy_.config;
  const std::string where = (policy_.dir / "config.json").string();
  if (config_.rollout.max_new_tokens >= model.max_position_embeddings)
    throw std::invalid_argument("rollout.max_new_tokens: " + std::to_string(config_.rollout.max_new_tokens) +
                                " leaves no room for the prompt in the model's context of " +
                                std::to_string(model.max_position_embeddings) + " positions (" + where +
                                ": max_position_embeddings)");
  if (config_.model.device != "cpu") return;
  const auto [width_a, width_b] = model.cache_widths();
  const double rows = static_cast<double>(config_.rollout.prompts_per_step * config_.rollout.group_size);
  const double positions = static_cast<double>(config_.rollout.max_new_tokens) + 512;  // + a prompt's room
  const double cache_bytes = rows * positions * static_cast<double>(model.num_hidden_layers) *
                             static_cast<double>(width_a + width_b) * sizeof(float);
  const double memory_bytes = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGE_SIZE);
  if (memory_bytes > 0 && cache_bytes > memory_bytes)
    throw std::invalid_argument(
        "rollout.prompts_per_step × group_size × max_new_tokens: the rollout's KV cache would need " +
        std::to_string(static_cast<int64_t>(cache_bytes / (1 << 30))) + " GiB, more than this machine's " +
        std::to_string(static_cast<int64_t>(memory_bytes / (1 << 30))) + " GiB");
}

StepLog Trainer::step(int64_t step_index) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t step = step_index + 1;
  const SampledGroups groups = sampler_->sample(state_.prompts_drawn);  // sample groups, score, filter
  state_.num_tokens += groups.stats.generated_tokens;
  faults().maybe_kill("after-rollout", step);
  faults().maybe_throw("error", step);
  nlohmann::json m = {{"step", step},
                      {"epoch", data_->stream().epoch_of(state_.prompts_drawn - 1)},
                      {"num_tokens", state_.num_tokens}};
  add_rollout_metrics(groups, config_, *rubrics_, m);

  const auto train_start = std::chrono::steady_clock::now();
  if (groups.kept_groups == 0) {  // every group of every round was zero-spread: nothing to learn from
    m["nonfinite/skipped_updates"] = 0;
    m["sampling/no_signal"] = 1;
    state_.bad_steps_in_row = 0;
  } else {
    const auto device = policy_.model->embed_tokens->weight.device();
    const int64_t N = static_cast<int64_t>(groups.rewards.size());
    TrainBatch batch = make_train_batch(groups.rollout, torch::zeros({N}), eos_token_id_,
                                        config_.grpo.router_replay, device);
    const torch::Tensor ref_logp_NT = reference_logprobs(batch);
    const torch::Tensor advantages_N =
        group_advantages(rewards_for_advantages(groups, batch, ref_logp_NT, m), config_.rollout.group_size,
                         config_.grpo.scale_rewards, config_.grpo.advantage_eps)
            .advantages;
    batch.advantages_N = advantages_N.to(device);
    const UpdateStats update =
        updater_->optimize(batch, ref_logp_NT, state_.optimizer_steps, faults().has("nan", step));
    add_update_metrics(update, config_, m);
    state_.skipped_updates += update.skipped;
    state_.bad_steps_in_row = update.skipped > 0 ? state_.bad_steps_in_row + 1 : 0;
    log_samples(groups, advantages_N, step);
  }
  m["optimizer_steps"] = state_.optimizer_steps;
  m["nonfinite/skipped_total"] = state_.skipped_updates;
  state_.step = step;
  refresh_reference(m);

  const double seconds = seconds_since(start);
  m["perf/tokens_per_second"] = groups.stats.generated_tokens / seconds;
  m["timing/rollout"] = groups.stats.rollout_seconds;
  m["timing/reward"] = groups.stats.reward_seconds;
  m["timing/train"] = seconds_since(train_start);
  m["timing/step"] = seconds;
  return {m, console_line(m, config_.train.steps)};
}

torch::Tensor Trainer::reference_logprobs(const TrainBatch& batch) {
  if (!reference_) return {};
  torch::NoGradGuard no_grad;  // micro-batched like the policy's forwards
  return gather_micro_batches(batch, updater_->plan(batch, 0, batch.tokens_NT.size(0)), [&](const TrainBatch& part) {
    auto h = reference_->hidden_states(part.tokens_NT, part.positions_NT);
    return reference_->token_logprobs(h, part.targets_NT, config_.rollout.temperature, /*chunk_rows=*/0,
                                      /*entropy_BT=*/nullptr, /*entropy_grad=*/false, /*needed_BT=*/part.mask_NT);
  });
}

torch::Tensor Trainer::rewards_for_advantages(const SampledGroups& groups, const TrainBatch& batch,
                                              const torch::Tensor& ref_logp_NT, nlohmann::json& m) {
  torch::Tensor rewards_N = torch::tensor(groups.rewards, torch::kFloat64);
  const PolicyLossConfig& loss = config_.grpo.loss;
  if (!ref_logp_NT.defined() || loss.kl_in_loss) return rewards_N;
  // KL in the reward: r_i − beta·Σ_t kl_t(π_old ‖ π_ref)
  const auto x = torch::clamp(ref_logp_NT - batch.old_logp_NT, -loss.max_log_ratio, loss.max_log_ratio);
  const auto kl_N = (kl_estimate(x, loss.kl_estimator) * batch.mask_NT).sum(1).to(torch::kFloat64).cpu();
  m["kl_penalty/mean"] = (loss.beta * kl_N).mean().item<double>();
  return rewards_N - loss.beta * kl_N;
}

void Trainer::log_samples(const SampledGroups& groups, const torch::Tensor& advantages_N, int64_t step) {
  if (!log_) return;
  const int64_t n =
      std::min<int64_t>(config_.train.samples_per_step, static_cast<int64_t>(groups.rewards.size()));
  const auto advantages = advantages_N.to(torch::kFloat64).cpu();
  for (int64_t i = 0; i < n; ++i) {
    const auto& c = groups.rollout.completions[i];
    nlohmann::json rules;
    for (const auto& [name, score] : groups.scored[i].rules) rules[name] = score;
    log_->append_sample({{"step", step},
                         {"data_source", groups.sources[c.prompt_index]},
                         {"prompt", groups.prompts[c.prompt_index]},
                         {"completion", c.text},
                         {"answer", groups.answers[c.prompt_index]},
                         {"finish_reason", rollout::to_string(c.finish_reason)},
                         {"reward", groups.rewards[i]},
                         {"rules", rules},
                         {"advantage", advantages[i].item<double>()}});
  }
}

void Trainer::refresh_reference(nlohmann::json& m) {
  const int64_t every = config_.grpo.ref_refresh_steps;
  if (!reference_ || every <= 0 || state_.step % every != 0) return;
  torch::NoGradGuard no_grad;  // the reference becomes the current policy (veRL/TRL sync_ref_model)
  auto ref_params = reference_->named_parameters();  // copies: load_state would share the policy's memory
  for (const auto& p : policy_.model->named_parameters()) ref_params[p.key()].copy_(p.value());
  auto ref_buffers = reference_->named_buffers();
  for (const auto& b : policy_.model->named_buffers()) ref_buffers[b.key()].copy_(b.value());
  state_.reference_step = state_.step;
  m["reference_refreshed"] = 1;
}

CheckpointParts Trainer::checkpoint_parts() {
  return {policy_.model, updater_->optimizer(), reference_, policy_.dir / "tokenizer.json",
          updater_->master_weights(),
          [this](const std::map<std::string, torch::Tensor>& masters, const std::string& where) {
            updater_->restore_master_weights(masters, where);
          }};
}

void Trainer::save_checkpoint() {
  const int64_t step = state_.step;
  const nlohmann::json extra = {{"epoch", data_->stream().epoch_of(std::max<int64_t>(state_.prompts_drawn - 1, 0))},
                                {"config", config_.to_json()}};
  save_trainer_checkpoint(
      run_dir_, state_, extra, checkpoint_parts(), config_.train.keep_checkpoints,
      [&] { faults().maybe_kill("checkpoint-write", step); },
      [&] { faults().maybe_kill("checkpoint-published", step); });
}

eval::EvalOptions Trainer::eval_options(const EvalSet& set) const {
  eval::EvalOptions eval;
  eval.samples = config_.train.eval_samples;
  eval.generation = config_.generation();
  eval.generation.record_routes = false;
  eval.generation.sampling = {config_.train.eval_temperature, config_.train.eval_top_p, 0};
  eval.seed = config_.data.eval_seed;
  eval.verifier = set.verifier;
  eval.rules = set.rules;
  return eval;
}

nlohmann::json Trainer::evaluate() {
  nlohmann::json summaries = nlohmann::json::object();
  for (const EvalSet& set : data_->evals())
    summaries[set.name] = eval::evaluate_prompts(*engine_, set.problems, set.prompts, eval_options(set)).summary();
  return summaries;
}

void Trainer::evaluate_before() {
  const nlohmann::json before = evaluate();
  std::cout << "eval before: " << before.dump() << std::endl;
  runlog::write_json_atomically(run_dir_ / "eval_before.json", before);
  log_->log(eval_row(0, before));
}

nlohmann::json Trainer::train_loop(int64_t first_step) {
  install_stop_handlers();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t s = first_step; s < config_.train.steps; ++s) {
    auto log = step(s);
    if (config_.train.eval_every > 0 && (s + 1) % config_.train.eval_every == 0 &&
        s + 1 < config_.train.steps)
      log.metrics.update(eval_row(s + 1, evaluate()));
    const double elapsed = seconds_since(start);
    log.metrics["timing/elapsed"] = elapsed;
    log_->log(log.metrics);
    discard_replaced_run();
    std::cout << log.console << "  ETA "
              << format_eta(elapsed / (s + 1 - first_step) * (config_.train.steps - s - 1)) << std::endl;
    faults().maybe_kill("after-metrics", s + 1);
    if (state_.bad_steps_in_row >= config_.train.max_bad_steps) {
      save_checkpoint();
      throw std::runtime_error(
          "aha train: " + std::to_string(state_.bad_steps_in_row) +
          " steps in a row skipped a non-finite update (last: " +
          log.metrics.value("nonfinite/where", std::string("?")) + "); stopped at step " +
          std::to_string(state_.step) + " with a checkpoint of the last good state in " +
          runlog::checkpoint_path(run_dir_, state_.step).string() +
          ". Lower train.lr or check the rewards, then resume with aha train --resume " + run_dir_.string());
    }
    const bool interrupted = stop_requested();
    if (interrupted || (config_.train.save_every > 0 && state_.step % config_.train.save_every == 0))
      save_checkpoint();
    if (interrupted) {
      std::cout << "aha train: stopped by signal after step " << state_.step << "; checkpoint "
                << runlog::checkpoint_path(run_dir_, state_.step).string()
                << "; continue with: aha train --resume " << run_dir_.string() << std::endl;
      return {{"interrupted", true}, {"step", state_.step}};
    }
  }
  const double train_seconds = seconds_since(start);

  const nlohmann::json after = evaluate();
  std::cout << "eval after:  " << after.dump() << std::endl;
  log_->log(eval_row(config_.train.steps, after), /*to_jsonl=*/false);
  policy::save_policy(*policy_.model, policy_.dir / "tokenizer.json", run_dir_ / "final");
  nlohmann::json summary = {{"eval_before", read_json_file(run_dir_ / "eval_before.json")},
                            {"eval_after", after},
                            {"steps", config_.train.steps},
                            {"train_seconds", train_seconds},
                            {"data", data_->report()},
                            {"final_model", (run_dir_ / "final").string()}};
  runlog::write_json_atomically(run_dir_ / "summary.json", summary);
  return summary;
}

nlohmann::json Trainer::run(bool overwrite) {
  const fs::path output_dir = config_.train.output_dir;
  run_dir_ = output_dir / config_.train.run_name;  // run_name is one plain name: a child of output_dir
  std::error_code ec;
  if (fs::exists(fs::symlink_status(run_dir_, ec))) {
    if (!overwrite)
      throw std::runtime_error(run_dir_.string() +
                               ": run directory exists; choose another train.run_name, pass "
                               "--overwrite, or continue it with aha train --resume " +
                               run_dir_.string());
    if (!runlog::is_run_directory(run_dir_))
      throw std::runtime_error(run_dir_.string() +
                               ": exists but is not an aha run directory (no config.json of a "
                               "run named \"" +
                               config_.train.run_name +
                               "\"); --overwrite replaces only runs aha "
                               "made. Move it yourself or choose another train.run_name");
    { runlog::RunLock in_use(run_dir_); }  // nobody is training in it
    replaced_run_ = output_dir / ("." + config_.train.run_name + ".replaced-" + std::to_string(::getpid()));
    fs::rename(run_dir_, replaced_run_);
  }
  try {
    fs::create_directories(run_dir_);
    lock_ = std::make_unique<runlog::RunLock>(run_dir_);
    runlog::write_json_atomically(run_dir_ / "config.json", config_.to_json());
    log_ = std::make_unique<runlog::MetricsLog>(run_dir_, config_.train.run_name);
    std::cout << "aha train: run " << run_dir_.string() << "\n" << config_.to_json().dump(2) << std::endl;
    evaluate_before();
    return train_loop(0);
  } catch (...) {
    restore_replaced_run();
    throw;
  }
}

void Trainer::restore_replaced_run() {
  if (replaced_run_.empty()) return;
  log_.reset();
  lock_.reset();
  std::error_code ec;
  fs::remove_all(run_dir_, ec);  // the new run's own directory: made by this process
  fs::rename(replaced_run_, run_dir_, ec);
  std::cerr << "aha train: the new run failed before its first step; " << run_dir_.string()
            << (ec ? " could not be restored, the previous run is in " + replaced_run_.string() + ": " +
                         ec.message()
                   : " is the previous run again")
            << std::endl;
  replaced_run_.clear();
}

void Trainer::discard_replaced_run() {
  if (replaced_run_.empty()) return;
  std::error_code ec;
  fs::remove_all(replaced_run_, ec);
  if (ec)
    std::cerr << "aha train: could not delete the replaced run " << replaced_run_.string() << ": "
              << ec.message() << std::endl;
  replaced_run_.clear();
}

nlohmann::json Trainer::resume(const fs::path& run_dir, const std::vector<std::string>& overrides) {
  run_dir_ = run_dir;
  lock_ = std::make_unique<runlog::RunLock>(run_dir_);
  int64_t step = 0;
  if (auto latest = runlog::latest_checkpoint(run_dir_)) {
    state_ = load_trainer_checkpoint(*latest, checkpoint_parts());
    step = state_.step;
    std::cout << "aha train: resuming " << run_dir_.string() << " from " << latest->string() << std::endl;
  } else {
    std::cout << "aha train: " << run_dir_.string() << " has no checkpoint yet; restarting it from step 0"
              << std::endl;
  }
  if (!overrides.empty()) {  // kept in the run's config: a later plain resume trains with them too
    config_.overrides.push_back({{"from_step", step + 1}, {"set", overrides}});
    runlog::write_json_atomically(run_dir_ / "config.json", config_.to_json());
  }
  runlog::prune_checkpoints(run_dir_, config_.train.keep_checkpoints, /*remove_newer_than_latest=*/true);
  runlog::truncate_jsonl_to_step(run_dir_ / "metrics.jsonl", step);
  runlog::truncate_jsonl_to_step(run_dir_ / "samples.jsonl", step);
  log_ = std::make_unique<runlog::MetricsLog>(run_dir_, config_.train.run_name);
  log_->reopen();
  if (!fs::exists(run_dir_ / "eval_before.json")) evaluate_before();  // killed before the first eval finished
  return train_loop(step);
}

}  // namespace aha::grpo
