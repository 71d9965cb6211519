// The HF name and shape of every tensor a ModelConfig implies: what TransformerImpl's named_parameters()
// and named_buffers() hold once it is built, worked out from the config alone, without allocating.
// load_policy checks a checkpoint's safetensors headers against it before it builds the model, so a
// config.json that disagrees with its weights is an error naming the file and tensor rather than an
// allocation of whatever sizes the config asks for. It restates the module layout of transformer.cpp,
// block.cpp, mla.cpp, gqa.cpp, moe.cpp, moe_gate.cpp and mlp.h (names are the HF checkpoint names, as there);
// tests/policy/test_weight_shapes.cpp holds the two equal for every supported model_type.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "policy/config.h"

namespace aha::policy {

using WeightShapeVisitor = std::function<void(const std::string& name, const std::vector<int64_t>& shape)>;

// Calls visit(name, shape) once per parameter and persistent buffer, in module order: the embedding, each
// layer, the final norm, lm_head (absent when tie_word_embeddings). A visitor that throws stops the walk,
// so a caller can stop at the first tensor a checkpoint lacks. The config must have passed validate().
void for_each_weight_shape(const ModelConfig& config, const WeightShapeVisitor& visit);

}  // namespace aha::policy
