// policy/weight_shapes.h restates the module layout so load_policy can check a checkpoint's headers before
// it builds the model. This holds the restatement equal to the built modules (every parameter and buffer,
// name and shape) for each model_type and each optional part: q_lora or plain q_proj, shared experts or
// none, router bias or none, dense first layers, mlp_only_layers, q/k/v/o biases, q/k norms, tied
// embeddings. A module that gains, loses or renames a tensor without weight_shapes.cpp fails here.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "policy/transformer.h"
#include "policy/weight_shapes.h"
#include "tests/common/tiny_model.h"

using namespace aha;

namespace {

using Shapes = std::map<std::string, std::vector<int64_t>>;

Shapes built(const policy::ModelConfig& config) {
  policy::Transformer model(config);
  Shapes out;
  for (const auto& p : model->named_parameters()) out[p.key()] = p.value().sizes().vec();
  for (const auto& b : model->named_buffers()) out[b.key()] = b.value().sizes().vec();
  return out;
}

Shapes implied(const policy::ModelConfig& config, size_t& visits) {
  Shapes out;
  visits = 0;
  policy::for_each_weight_shape(config, [&](const std::string& name, const std::vector<int64_t>& shape) {
    out[name] = shape;
    ++visits;
  });
  return out;
}

policy::ModelConfig fixture_config(const std::string& name) {
  const auto file = std::filesystem::path(AHA_SOURCE_DIR) / "tests/fixtures" / ("hf_" + name) / "config.json";
  return policy::model_config_from_json(nlohmann::json::parse(std::ifstream(file)), file.string());
}

}  // namespace

TEST_CASE("the shapes a config implies equal the built model's parameters and buffers") {
  std::vector<std::pair<std::string, policy::ModelConfig>> configs;
  configs.emplace_back("tiny deepseek_v3", testing::tiny_config());
  {
    policy::ModelConfig c = testing::tiny_config();  // plain q_proj, no shared expert, tied, softmax router
    c.model_type = "deepseek_v2";
    c.q_lora_rank = 0;
    c.n_shared_experts = 0;
    c.tie_word_embeddings = true;
    c.scoring_func = policy::ScoringFunc::Softmax;
    c.topk_method = policy::TopkMethod::Greedy;
    configs.emplace_back("tiny deepseek_v2 variant", c);
  }
  for (const char* name : {"deepseek_v3", "deepseek_v2", "qwen2", "llama", "qwen3", "qwen3_moe"})
    configs.emplace_back(name, fixture_config(name));
  for (const auto& [name, config] : configs) {
    INFO(name);
    size_t visits = 0;
    const Shapes expected = built(config);
    CHECK(implied(config, visits) == expected);
    CHECK(visits == expected.size());  // no name visited twice
  }
}
