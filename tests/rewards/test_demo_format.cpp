// Ties the demonstration generator's layouts (datasets/demo_format.h, header-only so this test needs no
// link to aha_datasets) to the format rule: the clean layout must score 1 and every broken variant 0,
// or the pretraining corpus would teach the base a "broken" format the reward actually accepts.
#include <catch2/catch.hpp>

#include "datasets/demo_format.h"
#include "rewards/format.h"

using aha::datasets::DemoFormat;
using aha::datasets::kBrokenDemoFormats;
using aha::datasets::render_demonstration;

TEST_CASE("clean demonstrations score format 1 and every broken variant scores 0", "[format][demo]") {
  const aha::rewards::FormatRule rule;
  for (const char* reasoning : {"37 + 48 = 85. 85 - 25 = 60.", "5 - 5 = 0.", ""}) {
    auto score = [&](DemoFormat f) {
      return rule.score(aha::rewards::RewardInput{"p", render_demonstration(reasoning, "60", f), "60"});
    };
    INFO("reasoning: " << reasoning);
    CHECK(score(DemoFormat::Clean) == 1.0);
    for (DemoFormat f : kBrokenDemoFormats) {
      INFO("variant " << aha::datasets::demo_format_name(f) << ": "
                      << render_demonstration(reasoning, "60", f));
      CHECK(score(f) == 0.0);
    }
  }
}
