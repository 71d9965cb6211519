// Rollout cache allocation and prefix fill; see kv_cache.h.
#include "rollout/kv_cache.h"

#include <torch/torch.h>

namespace aha::rollout {

KvCache KvCache::allocate(const policy::ModelConfig& c, int64_t rows, int64_t positions,
                          const torch::TensorOptions& options) {
  auto [first_width, second_width] = c.cache_widths();
  return {torch::zeros({c.num_hidden_layers, rows, positions, first_width}, options),
          torch::zeros({c.num_hidden_layers, rows, positions, second_width}, options)};
}

void KvCache::fill_prefix(const std::vector<policy::CacheEntry>& entries, int64_t group_size) {
  for (size_t l = 0; l < entries.size(); ++l) {
    const int64_t T = entries[l].first.size(1);
    first.select(0, l).narrow(1, 0, T).copy_(entries[l].first.repeat_interleave(group_size, /*dim=*/0));
    second.select(0, l).narrow(1, 0, T).copy_(entries[l].second.repeat_interleave(group_size, /*dim=*/0));
  }
}

}  // namespace aha::rollout
