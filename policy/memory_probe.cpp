// The activation probe; see memory_probe.h.
#include "policy/memory_probe.h"

#include <torch/torch.h>

#include "kernels/counting_allocator.h"
#include "policy/block.h"
#include "policy/rope.h"

namespace aha::policy {

LayerMemory probe_layer_memory(const ModelConfig& config, int64_t layer_index, int64_t tokens,
                               torch::ScalarType dtype) {
  torch::manual_seed(0);
  Block block(config, layer_index);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : block->parameters()) {
      p.set_data(torch::empty(p.sizes(), p.options().dtype(dtype)));
      if (p.dim() == 1) p.fill_(1.0);  // norms
      else p.normal_(0.0, config.initializer_range);
      p.mutable_grad() = torch::zeros_like(p);  // the backward accumulates into these: no new allocation
    }
  }
  const auto positions = torch::arange(tokens, torch::kLong).unsqueeze(0);  // [1, T]
  const auto [cos, sin] = Rope::make(config).angles(positions);
  const auto h = torch::randn({1, tokens, config.hidden_size}).to(dtype).requires_grad_(true);
  const auto grad_out = torch::randn({1, tokens, config.hidden_size}).to(dtype);
  kernels::CountingScope scope;
  kernels::CountingCpuAllocator& counter = kernels::CountingScope::counter();
  const int64_t before = counter.live();
  counter.reset_peak();
  LayerMemory use;
  {
    const auto out = block->forward(h, cos, sin, nullptr, {});
    const int64_t out_bytes = out.numel() * static_cast<int64_t>(out.element_size());
    use.kept = counter.live() - before - out_bytes;
    out.backward(grad_out);
    use.peak = counter.peak() - before - out_bytes;
  }
  return use;
}

}  // namespace aha::policy
