// Latent cache allocation and prefix fill; see kv_cache.h.
#include "rollout/kv_cache.h"

#include <torch/torch.h>

namespace aha::rollout {

LatentCache LatentCache::allocate(const policy::ModelConfig& c, int64_t rows, int64_t positions,
                                  const torch::TensorOptions& options) {
  return {torch::zeros({c.num_hidden_layers, rows, positions, c.kv_lora_rank}, options),
          torch::zeros({c.num_hidden_layers, rows, positions, c.qk_rope_head_dim}, options)};
}

void LatentCache::fill_prefix(const std::vector<policy::MlaLatent>& latents, int64_t group_size) {
  for (size_t l = 0; l < latents.size(); ++l) {
    const int64_t T = latents[l].kv_latent.size(1);
    kv.select(0, l).narrow(1, 0, T).copy_(latents[l].kv_latent.repeat_interleave(group_size, /*dim=*/0));
    rope.select(0, l).narrow(1, 0, T).copy_(latents[l].k_rope.repeat_interleave(group_size, /*dim=*/0));
  }
}

}  // namespace aha::rollout
