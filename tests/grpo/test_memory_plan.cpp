// `aha info --plan` (grpo/memory_plan.h) against what a training micro-batch really allocates: the demo
// config's forward + backward over one micro-batch at the plan's shapes, counted by the counting CPU
// allocator, lands within 20% of the plan's activations + logits chunk, with and without gradient
// checkpointing (the per-layer probe scaled by rows and layers is the thing under test). The static parts
// follow the parameter count: bf16 adds fp32 masters, beta 0 drops the reference.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "grpo/memory_plan.h"
#include "grpo/run_config.h"
#include "kernels/counting_allocator.h"
#include "policy/checkpoint.h"

using namespace aha;

namespace {

grpo::RunConfig demo_config(const std::vector<std::string>& sets) {
  return grpo::load_run_config(AHA_SOURCE_DIR "/examples/tiny/grpo.json", sets);
}

int64_t bytes(const nlohmann::json& plan, const char* key) { return plan.at("bytes").at(key).get<int64_t>(); }

// Bytes a forward + backward of `rows` rows of `length` tokens allocates beyond the parameters' gradients.
int64_t measured_training_bytes(const grpo::RunConfig& config, int64_t rows, int64_t length) {
  auto policy = policy::load_policy(config.model.path);
  auto& model = *policy.model;
  for (auto& p : model.parameters()) p.mutable_grad() = torch::zeros_like(p);
  torch::manual_seed(1);
  const auto tokens = torch::randint(1, model.config().vocab_size, {rows, length}, torch::kLong);
  const auto positions = torch::arange(length, torch::kLong).expand({rows, length});
  kernels::CountingScope scope;
  auto& counter = kernels::CountingScope::counter();
  const int64_t before = counter.live();
  counter.reset_peak();
  {
    policy::ForwardOptions options;
    options.recompute = config.train.gradient_checkpointing;
    const auto hidden = model.hidden_states(tokens, positions, options);
    torch::Tensor entropy;
    const auto logp = model.token_logprobs(hidden, tokens, 1.0, 0, &entropy);
    logp.sum().backward();
  }
  return counter.peak() - before;
}

}  // namespace

TEST_CASE("the plan's training micro-batch is within 20% of a counted one, with and without checkpointing") {
  for (const bool checkpointing : {false, true}) {
    INFO("gradient_checkpointing " << checkpointing);
    const auto config = demo_config({std::string("train.gradient_checkpointing=") + (checkpointing ? "true" : "false"),
                                     "grpo.micro_batch_size=16"});
    const nlohmann::json plan = grpo::plan_memory(config);
    const int64_t rows = plan["shapes"]["micro_batch_rows"], length = plan["shapes"]["sequence_tokens"];
    CHECK(rows == 16);
    const double planned = static_cast<double>(bytes(plan, "training_micro_batch"));
    const double measured = static_cast<double>(measured_training_bytes(config, rows, length));
    INFO("planned " << planned << " measured " << measured << " plan " << plan["bytes"].dump());
    CHECK(planned == Approx(measured).epsilon(0.2));
  }
}

TEST_CASE("the plan's static parts: weights, fp32 masters for bf16, moments, gradients, the reference only with beta") {
  const auto fp32 = grpo::plan_memory(demo_config({}));
  const int64_t P = fp32["parameters"];
  auto policy = policy::load_policy(AHA_SOURCE_DIR "/examples/tiny/base");
  CHECK(P == policy.model->parameter_counts().total + policy.config.n_routed_experts *
                                                          static_cast<int64_t>(policy.model->moe_layers().size()));
  CHECK(bytes(fp32, "weights") == 4 * P);
  CHECK(bytes(fp32, "master_weights") == 0);
  CHECK(bytes(fp32, "optimizer_moments") == 8 * P);
  CHECK(bytes(fp32, "reference") == 4 * P);
  const auto bf16 = grpo::plan_memory(demo_config({"model.dtype=bfloat16", "grpo.beta=0"}));
  CHECK(bf16["dtype"] == "bfloat16");
  CHECK(bytes(bf16, "weights") == 2 * P);
  CHECK(bytes(bf16, "master_weights") == 4 * P);
  CHECK(bytes(bf16, "gradients") == 6 * P);
  CHECK(bytes(bf16, "reference") == 0);
  CHECK(bytes(bf16, "kv_cache") * 2 == bytes(fp32, "kv_cache"));
  const auto checkpointed = grpo::plan_memory(demo_config({"train.gradient_checkpointing=true"}));
  CHECK(bytes(checkpointed, "activations") < bytes(fp32, "activations") / 2);
  CHECK(fp32["peak_bytes"]["total"].get<int64_t>() >= bytes(fp32, "weights") + bytes(fp32, "activations"));
}
