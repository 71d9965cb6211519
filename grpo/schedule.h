// Learning-rate schedule: linear warm-up, then cosine decay to min_lr_ratio · peak_lr
// (the GPT-3 / llm.c / nanochat shape; TRL's "cosine" with a floor):
//   step <  warmup:  lr = peak · (step + 1) / warmup                    (step 0 already trains)
//   step >= warmup:  p  = min((step − warmup) / (total − warmup), 1)
//                    lr = min + (peak − min) · ½ (1 + cos(π p)),   min = min_lr_ratio · peak
// The decay reaches its floor at step == total_steps, one past the last optimizer step (as HF's
// get_cosine_schedule_with_warmup), so the final step still moves the weights when min_lr_ratio is 0.
// Steps past total_steps stay at the floor.
#pragma once

#include <cstdint>

#include <torch/optim/optimizer.h>

namespace aha::grpo {

// step: 0-based optimizer step. Throws std::invalid_argument on step < 0, total_steps < 1,
// warmup_steps < 0, peak_lr < 0 or min_lr_ratio outside [0, 1].
double learning_rate(int64_t step, int64_t total_steps, double peak_lr, int64_t warmup_steps,
                     double min_lr_ratio);

// Sets lr on every parameter group of an optimizer (AdamW or any other with a settable lr).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace aha::grpo
