// Linear warm-up then cosine decay to a floor; the formula is in schedule.h.
#include "grpo/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace aha::grpo {

double learning_rate(int64_t step, int64_t total_steps, double peak_lr, int64_t warmup_steps,
                     double min_lr_ratio) {
  if (step < 0) throw std::invalid_argument("learning_rate: step must be >= 0; got " + std::to_string(step));
  if (total_steps < 1)
    throw std::invalid_argument("learning_rate: total_steps must be >= 1; got " +
                                std::to_string(total_steps));
  if (warmup_steps < 0)
    throw std::invalid_argument("learning_rate: warmup_steps must be >= 0; got " +
                                std::to_string(warmup_steps));
  if (!(peak_lr >= 0.0))
    throw std::invalid_argument("learning_rate: peak_lr must be >= 0; got " + std::to_string(peak_lr));
  if (!(min_lr_ratio >= 0.0 && min_lr_ratio <= 1.0))
    throw std::invalid_argument("learning_rate: min_lr_ratio must be in [0, 1]; got " +
                                std::to_string(min_lr_ratio));

  if (step < warmup_steps) return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);

  const double min_lr = min_lr_ratio * peak_lr;
  const int64_t decay_steps = total_steps - warmup_steps;
  if (decay_steps <= 0) return min_lr;  // warm-up covers the whole run; only steps past it land here
  const double progress =
      std::min(static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps), 1.0);
  return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace aha::grpo
