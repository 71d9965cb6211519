// Table-driven checks of a reward rule on literal completions: each row names its case, and a failure
// prints the case, the completion and the ground truth.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>

#include "rewards/rule.h"

namespace aha::testing {

struct RuleCase {
  const char* why;
  const char* completion;
  const char* truth;
  double expected;
};

template <std::size_t N>
void check_rule_cases(const rewards::Rule& rule, const RuleCase (&cases)[N]) {
  for (const RuleCase& row : cases) {
    INFO(row.why << ": " << row.completion << " vs " << row.truth);
    CHECK(rule.score(rewards::RewardInput{"", row.completion, row.truth}) == row.expected);
  }
}

}  // namespace aha::testing
