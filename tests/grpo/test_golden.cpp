// Golden trajectory (in the manner of llm.c's test_gpt2 and torchtitan's loss-curve checks): the first 5
// GRPO steps of the demo config (examples/tiny/grpo.json from examples/tiny/base, 2 torch threads) must
// reproduce the stored per-step reward, accuracy, loss, KL, entropy and grad norm.
//
// Tolerance: reward and accuracy exactly (they count sampled completions; one changed token shows), the
// continuous metrics to a relative 1e-5 (float summation order on another CPU). A change that moves
// learning must change the fixture on purpose: regenerate it with
//   AHA_UPDATE_GOLDEN=1 build/tests/test_grpo "golden trajectory*"
// and say in the commit why the trajectory moved.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "grpo/run_config.h"
#include "grpo/trainer.h"

using namespace aha;

namespace {
const char* const kFixture = AHA_SOURCE_DIR "/tests/fixtures/golden/tiny_grpo_5_steps.json";
const char* const kExact[] = {"reward", "accuracy"};
const char* const kClose[] = {"loss", "kl", "entropy", "grad_norm", "policy_loss"};
}  // namespace

TEST_CASE("golden trajectory: 5 GRPO steps of the demo config") {
  auto config = grpo::load_run_config(AHA_SOURCE_DIR "/examples/tiny/grpo.json", {"train.threads=2"});
  config.model.path = AHA_SOURCE_DIR "/examples/tiny/base";
  grpo::Trainer trainer(config);
  nlohmann::json steps = nlohmann::json::array();
  for (int64_t s = 0; s < 5; ++s) {
    const auto metrics = trainer.step(s).metrics;
    nlohmann::json row = {{"step", s + 1}};
    for (const char* key : kExact) row[key] = metrics.at(key);
    for (const char* key : kClose) row[key] = metrics.at(key);
    steps.push_back(row);
  }
  if (std::getenv("AHA_UPDATE_GOLDEN")) {
    std::ofstream(kFixture)
        << nlohmann::json{{"config", "examples/tiny/grpo.json"}, {"threads", 2}, {"steps", steps}}.dump(2)
        << "\n";
    WARN("wrote " << kFixture);
  }
  std::ifstream in(kFixture);
  REQUIRE(in);
  const auto expected = nlohmann::json::parse(in).at("steps");
  REQUIRE(expected.size() == steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    for (const char* key : kExact) {
      INFO("step " << s + 1 << " " << key);
      CHECK(steps[s][key].get<double>() == expected[s][key].get<double>());
    }
    for (const char* key : kClose) {
      INFO("step " << s + 1 << " " << key);
      CHECK(steps[s][key].get<double>() ==
            Approx(expected[s][key].get<double>()).epsilon(1e-5).margin(1e-12));
    }
  }
}
