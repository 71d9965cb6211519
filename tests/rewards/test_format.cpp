// Table-driven tests for the format rule on literal completions. Each row names the mistake it guards.
#include <catch2/catch.hpp>

#include "rewards/format.h"
#include "rewards/registry.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

struct Row {
  const char* why;
  const char* completion;
  double expected;
};

double format_score(const std::string& completion, const Tags& tags = {}) {
  return FormatRule(tags).score(RewardInput{"prompt", completion, "60"});
}

}  // namespace

TEST_CASE("format rule: literal completions", "[format]") {
  const Row rows[] = {
      {"canonical", "<think>37 + 23 = 60.</think> <answer>60</answer>", 1},
      {"no whitespace between blocks", "<think>a</think><answer>60</answer>", 1},
      {"newlines between blocks", "<think>a</think>\n\n<answer>60</answer>", 1},
      {"surrounding whitespace ignored", " \n\t<think>a</think> <answer>60</answer>\n  ", 1},
      {"empty think block is allowed", "<think></think> <answer>60</answer>", 1},
      {"answer padded with spaces", "<think>a</think> <answer> 60 </answer>", 1},
      {"format does not judge correctness", "<think>a</think> <answer>sixty</answer>", 1},
      {"multi-line think", "<think>line 1\nline 2\n</think>\n<answer>60</answer>", 1},

      {"empty completion", "", 0},
      {"only whitespace", "  \n ", 0},
      {"empty answer", "<think>a</think> <answer></answer>", 0},
      {"whitespace-only answer", "<think>a</think> <answer> \n </answer>", 0},
      {"think block twice", "<think>a</think> <think>b</think> <answer>60</answer>", 0},
      {"think open twice", "<think>a <think>b</think> <answer>60</answer>", 0},
      {"answer block twice", "<think>a</think> <answer>59</answer> <answer>60</answer>", 0},
      {"answer before think", "<answer>60</answer> <think>a</think>", 0},
      {"close before open", "</think>a<think> <answer>60</answer>", 0},
      {"answer inside think", "<think>a <answer>60</answer></think>", 0},
      {"missing </think>", "<think>a <answer>60</answer>", 0},
      {"missing <think>", "a</think> <answer>60</answer>", 0},
      {"missing </answer>", "<think>a</think> <answer>60", 0},
      {"missing <answer>", "<think>a</think> 60</answer>", 0},
      {"misspelt closing tag", "<think>a</thnk> <answer>60</answer>", 0},
      {"bare number after think", "<think>a</think> 60", 0},
      {"bare number", "60", 0},
      {"extra text after answer", "<think>a</think> <answer>60</answer> Done.", 0},
      {"end-of-text token left in", "<think>a</think> <answer>60</answer><|endoftext|>", 0},
      {"stray </think> after answer", "<think>a</think> <answer>60</answer></think>", 0},
      {"text before think", "Sure! <think>a</think> <answer>60</answer>", 0},
      {"text between blocks", "<think>a</think> so <answer>60</answer>", 0},
      {"tags are case-sensitive", "<THINK>a</THINK> <answer>60</answer>", 0},
  };
  for (const Row& row : rows) {
    INFO(row.why << ": " << row.completion);
    CHECK(format_score(row.completion) == row.expected);
  }
}

TEST_CASE("format rule: custom tags replace the defaults", "[format]") {
  const Tags tags{"<reasoning>", "</reasoning>", "<final>", "</final>"};
  CHECK(format_score("<reasoning>x</reasoning>\n<final>60</final>", tags) == 1);
  CHECK(format_score("<think>x</think> <answer>60</answer>", tags) == 0);

  auto rule = make_rule(RuleSpec{"format", 1.0, {{"answer_open", "<final>"}, {"answer_close", "</final>"}}});
  CHECK(rule->name() == "format");
  CHECK(rule->score(RewardInput{"", "<think>x</think> <final>60</final>", "60"}) == 1);
  CHECK(rule->score(RewardInput{"", "<think>x</think> <answer>60</answer>", "60"}) == 0);
}

TEST_CASE("rule options: unknown keys, bad values and clashing tags are errors", "[format]") {
  CHECK_THROWS_WITH(make_rule(RuleSpec{"format", 1.0, {{"think", "<t>"}}}),
                    Contains("'think'") && Contains("think_open, think_close, answer_open, answer_close"));
  CHECK_THROWS_WITH(make_rule(RuleSpec{"format", 1.0, {{"think_open", 3}}}),
                    Contains("'think_open'") && Contains("non-empty string"));
  CHECK_THROWS_WITH(make_rule(RuleSpec{"accuracy", 1.0, {{"answer_open", ""}}}), Contains("'answer_open'"));
  CHECK_THROWS_WITH(make_rule(RuleSpec{"format", 1.0, {{"answer_open", "<think>"}}}),
                    Contains("must differ"));
  CHECK_THROWS_WITH(make_rule(RuleSpec{"format", 1.0, "<think>"}), Contains("options must be an object"));
  CHECK_THROWS_WITH(make_rule(RuleSpec{"length", 1.0, nullptr}),
                    Contains("'length'") && Contains("known rules: accuracy, aime, code") && Contains("length_range"));
}
