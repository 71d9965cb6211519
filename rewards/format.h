// The format reward of DeepSeek-R1-Zero: 1 if the completion is exactly
//   <think> ... </think> [whitespace] <answer> ... </answer>
// (leading/trailing whitespace ignored, each tag exactly once and in that order, the answer non-empty
// after trimming), else 0. The think block may be empty; text outside the tags fails.
// Differs from the common regex form (^<think>.*?</think>\s*<answer>.*?</answer>$) in requiring each tag
// exactly once: a completion that repeats or nests blocks is not well formed.
#pragma once

#include "rewards/rule.h"
#include "rewards/tags.h"

namespace aha::rewards {

class FormatRule final : public Rule {
 public:
  explicit FormatRule(Tags tags = {}) : tags_(std::move(tags)) {}
  std::string name() const override { return "format"; }
  double score(const RewardInput& input) const override;

 private:
  Tags tags_;
};

}  // namespace aha::rewards
