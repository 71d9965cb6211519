// The optimizer side of a training step; see policy_update.h.
#include "grpo/policy_update.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "grpo/loss.h"
#include "grpo/schedule.h"

namespace aha::grpo {

UpdateSums& UpdateSums::operator+=(const UpdateSums& o) {
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

PolicyUpdater::PolicyUpdater(const RunConfig& config, policy::Transformer model)
    : config_(config), model_(std::move(model)) {
  for (const auto& p : model_->named_parameters()) {
    names_.push_back(p.key());
    weights_.push_back(p.value());
    separate_masters_ = separate_masters_ || p.value().scalar_type() != torch::kFloat;
  }
  if (separate_masters_) {
    torch::NoGradGuard no_grad;
    for (const auto& w : weights_) masters_.push_back(w.detach().to(torch::kFloat).clone().requires_grad_(true));
  } else {
    masters_ = weights_;
  }
  torch::optim::AdamWOptions options(config_.train.lr);
  options.betas({config_.train.adam_beta1, config_.train.adam_beta2})
      .weight_decay(config_.train.weight_decay);
  optimizer_ = std::make_unique<torch::optim::AdamW>(masters_, options);
}

std::map<std::string, torch::Tensor> PolicyUpdater::master_weights() const {
  std::map<std::string, torch::Tensor> out;
  if (separate_masters_)
    for (size_t i = 0; i < names_.size(); ++i) out[names_[i]] = masters_[i].detach();
  return out;
}

void PolicyUpdater::restore_master_weights(const std::map<std::string, torch::Tensor>& masters,
                                           const std::string& where) {
  if (!separate_masters_) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < names_.size(); ++i) {
    const auto it = masters.find(names_[i]);
    if (it == masters.end() || it->second.sizes() != masters_[i].sizes())
      throw std::runtime_error(where + ": master weight '" + names_[i] + "' is " +
                               (it == masters.end() ? "missing" : "of another shape") +
                               "; the checkpoint was not written by a run with this model.dtype");
    masters_[i].copy_(it->second);
  }
  copy_masters_to_weights();
}

void PolicyUpdater::move_gradients_to_masters() {
  if (!separate_masters_) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) {
    auto& grad = weights_[i].mutable_grad();
    if (!grad.defined()) continue;
    auto& master_grad = masters_[i].mutable_grad();
    if (master_grad.defined())
      master_grad.add_(grad.to(torch::kFloat));
    else
      master_grad = grad.to(torch::kFloat);
    grad = torch::Tensor();
  }
}

void PolicyUpdater::copy_masters_to_weights() {
  if (!separate_masters_) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) weights_[i].copy_(masters_[i]);
}

std::vector<MicroBatch> PolicyUpdater::plan(const TrainBatch& batch, int64_t begin, int64_t count) const {
  return plan_micro_batches(batch, begin, count, config_.grpo.micro_batch_size, config_.train.micro_batch_tokens);
}

torch::Tensor PolicyUpdater::logprobs(const TrainBatch& part, bool count_load, torch::Tensor* entropy_NT) {
  policy::RouteTrace replay;
  policy::ForwardOptions options;
  if (count_load) options.count_mask_BT = part.valid_NT;  // expert load for the router-bias update
  if (config_.grpo.router_replay) {
    replay.topk_idx = part.routes;
    options.replay = &replay;
  }
  options.recompute = config_.train.gradient_checkpointing;
  auto hidden = model_->hidden_states(part.tokens_NT, part.positions_NT, options);
  return model_->token_logprobs(hidden, part.targets_NT, config_.rollout.temperature, /*chunk_rows=*/0, entropy_NT,
                                /*entropy_grad=*/config_.grpo.loss.entropy_coef > 0, /*needed_BT=*/part.mask_NT);
}

torch::Tensor PolicyUpdater::recompute_old_logprobs(const TrainBatch& batch) {
  torch::NoGradGuard no_grad;
  return gather_micro_batches(batch, plan(batch, 0, batch.tokens_NT.size(0)),
                              [&](const TrainBatch& part) { return logprobs(part, /*count_load=*/false); });
}

UpdateSums PolicyUpdater::accumulate(const TrainBatch& batch, const torch::Tensor& ref_logp_NT,
                                     const torch::Tensor& old_logp_NT, int64_t begin, int64_t count,
                                     bool poison, UpdateStats* first_forward) {
  LossNormalizer normalizer;
  normalizer.sequences = static_cast<double>(count);
  normalizer.tokens = batch.tokens_N.narrow(0, begin, count).sum().item<double>();  // a CPU tensor: no sync
  UpdateSums sums;
  double diff_sum = 0, diff_tokens = 0;  // |trainer − rollout| log-prob over the first update's tokens
  for (const MicroBatch& micro : plan(batch, begin, count)) {
    // without a token budget a micro-batch is consecutive rows at the full length: views; else it is gathered
    const int64_t first = micro.rows.front(), rows = static_cast<int64_t>(micro.rows.size());
    const bool view = config_.train.micro_batch_tokens <= 0;
    const TrainBatch part = view ? batch.slice(first, rows) : batch.select(micro.rows, micro.length);
    const auto index = torch::tensor(micro.rows, torch::kLong).to(batch.tokens_NT.device());
    auto rows_of = [&](const torch::Tensor& x_NT) {  // the step's [N, T] tensors, cut like `part`
      return view ? x_NT.narrow(0, first, rows) : x_NT.index_select(0, index).narrow(1, 0, micro.length);
    };
    LossInputs in;
    in.logp_NT = logprobs(part, /*count_load=*/true, &in.entropy_NT);
    in.old_logp_NT = old_logp_NT.defined() ? rows_of(old_logp_NT) : part.old_logp_NT;
    in.behaviour_logp_NT = part.old_logp_NT;
    if (ref_logp_NT.defined()) in.ref_logp_NT = rows_of(ref_logp_NT);
    in.advantages_N = part.advantages_N;
    in.mask_NT = part.mask_NT;
    auto out = policy_loss(in, config_.grpo.loss, normalizer);
    auto loss = poison ? out.loss * std::numeric_limits<double>::quiet_NaN() : out.loss;
    loss.backward();
    move_gradients_to_masters();
    // Every metric of this micro-batch in one tensor, read back in one host sync
    std::vector<torch::Tensor> scalars{
        loss.detach(),      out.policy_loss,    out.kl,         out.entropy,         out.clip_frac_low,
        out.clip_frac_high, out.dual_clip_frac, out.ratio_mean, out.tis_weight_mean, out.tis_capped_frac};
    if (first_forward) {  // the step's first update runs before any change: trainer vs rollout log-probs
      torch::NoGradGuard no_grad;
      const auto diff = (in.logp_NT.detach() - part.old_logp_NT).abs() * part.mask_NT;
      scalars.push_back(diff.sum());
      scalars.push_back(part.mask_NT.sum());
      scalars.push_back(diff.max());
    }
    for (auto& s : scalars) s = s.to(torch::kFloat64).reshape({});
    const auto host = torch::stack(scalars).cpu();
    const auto v = host.accessor<double, 1>();
    if (first_forward) {  // over every micro-batch of the first update: the same rows however it is split
      diff_sum += v[10];
      diff_tokens += v[11];
      first_forward->logprob_diff_max = std::max(first_forward->logprob_diff_max, v[12]);
      first_forward->logprob_diff_mean = diff_sum / std::max(diff_tokens, 1.0);
    }
    const double share =
        part.tokens_N.sum().item<double>() / std::max(normalizer.tokens, 1.0);  // token-weighted
    sums += {v[0],         v[1],         v[2],         v[3],         share * v[4],
             share * v[5], share * v[6], share * v[7], share * v[8], share * v[9]};
  }
  return sums;
}

UpdateStats PolicyUpdater::optimize(const TrainBatch& batch, const torch::Tensor& ref_logp_NT,
                                    int64_t& optimizer_steps, bool poison) {
  const int64_t N = batch.tokens_NT.size(0);
  const int64_t minibatches = std::min(config_.grpo.minibatches, N);
  const int64_t total_updates = config_.train.steps * config_.grpo.mu * config_.grpo.minibatches;
  // π_old from the trainer's own forward, before any update of this step
  const torch::Tensor old_logp =
      config_.grpo.recompute_old_logprobs ? recompute_old_logprobs(batch) : torch::Tensor();
  const double max_norm =
      config_.train.max_grad_norm > 0 ? config_.train.max_grad_norm : std::numeric_limits<double>::infinity();
  UpdateStats stats;
  for (int64_t pass = 0; pass < config_.grpo.mu; ++pass) {
    for (int64_t mb = 0; mb < minibatches; ++mb) {
      // rows [begin, end): the minibatches split N as evenly as possible (they differ by at most one row
      // when dynamic sampling kept fewer groups than minibatches divides)
      const int64_t begin = N * mb / minibatches, end = N * (mb + 1) / minibatches;
      stats.learning_rate = learning_rate(optimizer_steps, total_updates, config_.train.lr,
                                          config_.train.warmup_steps, config_.train.min_lr_ratio);
      set_learning_rate(*optimizer_, stats.learning_rate);
      optimizer_->zero_grad();  // the masters'; separate weights' gradients never outlive their micro-batch
      const UpdateSums sums = accumulate(batch, ref_logp_NT, old_logp, begin, end - begin, poison,
                                         pass == 0 && mb == 0 ? &stats : nullptr);
      const double grad_norm = torch::nn::utils::clip_grad_norm_(masters_, max_norm);
      if (!std::isfinite(sums.loss) || !std::isfinite(grad_norm)) {  // the guard: this update is skipped
        if (stats.nonfinite_where.empty()) {
          stats.nonfinite_where = std::isfinite(sums.loss) ? "gradient" : "loss";
          for (size_t i = 0; i < masters_.size(); ++i)
            if (masters_[i].grad().defined() && !torch::isfinite(masters_[i].grad()).all().item<bool>()) {
              stats.nonfinite_where += " (first non-finite gradient: " + names_[i] + ")";
              break;
            }
          stats.nonfinite_where += " at pass " + std::to_string(pass) + " minibatch " + std::to_string(mb);
        }
        optimizer_->zero_grad();
        ++stats.skipped;
        continue;
      }
      optimizer_->step();
      copy_masters_to_weights();
      ++optimizer_steps;
      // MaxVio per MoE layer from this update's routed tokens (gamma 0 measures without moving the biases)
      const auto violations = model_->update_router_biases(config_.grpo.bias_update_gamma);
      stats.max_violation.resize(std::max(stats.max_violation.size(), violations.size()), 0.0);
      for (size_t l = 0; l < violations.size(); ++l)
        stats.max_violation[l] = std::max(stats.max_violation[l], violations[l]);
      stats.sums += sums;
      stats.grad_norm_sum += grad_norm;
      ++stats.updates;
    }
  }
  return stats;
}

}  // namespace aha::grpo
