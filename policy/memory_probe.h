// What one decoder layer's training forward keeps for its backward, measured rather than modelled: the
// layer is built from the config with random weights in the asked dtype and run forward and backward on
// one row of T random hidden states while the counting CPU allocator (kernels/counting_allocator.h)
// watches. Whatever path the layer takes (MLA or GQA, eager or SDPA attention, dense or MoE FFN) is the
// path measured. `aha info --plan` scales these per-row figures by the rows of a micro-batch.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "policy/config.h"

namespace aha::policy {

struct LayerMemory {
  int64_t kept = 0;  // bytes alive after the forward for the backward (beyond the input and the output)
  int64_t peak = 0;  // the most bytes alive during forward + backward beyond the input, the output and the
                     // parameters' gradients (those are allocated before the probe starts)
};

// Layer `layer_index` of `config` (its dense or MoE FFN as config says), one row of `tokens` tokens.
LayerMemory probe_layer_memory(const ModelConfig& config, int64_t layer_index, int64_t tokens,
                               torch::ScalarType dtype);

}  // namespace aha::policy
