// Batch assembly for the trainer; see train_batch.h.
#include "grpo/train_batch.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

namespace aha::grpo {

TrainBatch TrainBatch::slice(int64_t begin, int64_t count) const {
  TrainBatch out{tokens_NT.narrow(0, begin, count),
                 positions_NT.narrow(0, begin, count),
                 targets_NT.narrow(0, begin, count),
                 mask_NT.narrow(0, begin, count),
                 valid_NT.narrow(0, begin, count),
                 old_logp_NT.narrow(0, begin, count),
                 advantages_N.narrow(0, begin, count),
                 tokens_N.narrow(0, begin, count),
                 lengths_N.narrow(0, begin, count),
                 {}};
  const int64_t T = tokens_NT.size(1);
  for (const auto& r : routes) out.routes.push_back(r.narrow(0, begin * T, count * T));
  return out;
}

TrainBatch TrainBatch::select(const std::vector<int64_t>& rows, int64_t length) const {
  const auto index_cpu = torch::tensor(rows, torch::kLong);
  const auto index = index_cpu.to(tokens_NT.device());
  auto pick = [&](const torch::Tensor& x_NT) { return x_NT.index_select(0, index).narrow(1, 0, length); };
  TrainBatch out{pick(tokens_NT),
                 pick(positions_NT),
                 pick(targets_NT),
                 pick(mask_NT),
                 pick(valid_NT),
                 pick(old_logp_NT),
                 advantages_N.index_select(0, index),
                 tokens_N.index_select(0, index_cpu),
                 lengths_N.index_select(0, index_cpu),
                 {}};
  const int64_t N = tokens_NT.size(0), T = tokens_NT.size(1);
  for (const auto& r : routes)  // [N*T, K] -> [rows*length, K]
    out.routes.push_back(
        r.view({N, T, r.size(1)}).index_select(0, index).narrow(1, 0, length).reshape({-1, r.size(1)}));
  return out;
}

std::vector<MicroBatch> plan_micro_batches(const TrainBatch& batch, int64_t begin, int64_t count, int64_t max_rows,
                                           int64_t tokens_budget) {
  std::vector<MicroBatch> plan;
  if (tokens_budget <= 0) {
    const int64_t step = max_rows > 0 ? max_rows : count;
    for (int64_t m = begin; m < begin + count; m += step) {
      MicroBatch part{{}, batch.tokens_NT.size(1)};
      for (int64_t i = m; i < std::min(m + step, begin + count); ++i) part.rows.push_back(i);
      plan.push_back(std::move(part));
    }
    return plan;
  }
  const auto lengths = batch.lengths_N.accessor<int64_t, 1>();
  std::vector<int64_t> order(count);
  for (int64_t i = 0; i < count; ++i) order[i] = begin + i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  for (const int64_t row : order) {
    // sorted longest first: a micro-batch's first row is its longest
    const bool fits = !plan.empty() && (max_rows <= 0 || static_cast<int64_t>(plan.back().rows.size()) < max_rows) &&
                      (static_cast<int64_t>(plan.back().rows.size()) + 1) * plan.back().length <= tokens_budget;
    if (fits)
      plan.back().rows.push_back(row);
    else
      plan.push_back({{row}, std::max<int64_t>(lengths[row], 1)});
  }
  return plan;
}

torch::Tensor gather_micro_batches(const TrainBatch& batch, const std::vector<MicroBatch>& plan,
                                   const std::function<torch::Tensor(const TrainBatch& part)>& forward) {
  const int64_t T = batch.tokens_NT.size(1);
  auto out_NT = torch::zeros(batch.tokens_NT.sizes(), batch.mask_NT.options().dtype(torch::kFloat));
  for (const MicroBatch& part : plan) {
    const auto values = forward(batch.select(part.rows, part.length)).to(torch::kFloat);  // [rows, length]
    const auto index = torch::tensor(part.rows, torch::kLong).to(out_NT.device());
    out_NT.index_copy_(0, index, torch::constant_pad_nd(values, {0, T - part.length}));
  }
  return out_NT;
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
  batch.tokens_N = mask.sum(/*dim=*/1).to(torch::kFloat64);  // stays on the CPU
  batch.lengths_N = valid.sum(/*dim=*/1).to(torch::kLong);     // stays on the CPU
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

}  // namespace aha::grpo
