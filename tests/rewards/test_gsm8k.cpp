// The GSM8K checker (rewards/gsm8k.h): literal completions, and agreement with the human labels of the
// 5,276 real model solutions in ../shared/data/verifier/gsm8k_model_solutions.jsonl (issue 4 asks >= 99 %).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rewards/gsm8k.h"
#include "tests/common/rule_cases.h"
#include "tests/common/shared_data.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;
using aha::testing::kSharedData;
using aha::testing::shared_data_present;
using aha::testing::check_rule_cases;
using aha::testing::RuleCase;

}  // namespace

TEST_CASE("gsm8k rule: literal completions", "[gsm8k]") {
  const auto rule = make_gsm8k_rule(nullptr);
  const RuleCase rows[] = {
      {"answer tag", "<think>16-3-4=9, 9*2=18</think> <answer>18</answer>", "... #### 18", 1},
      {"dollar sign", "<answer>$18</answer>", "#### 18", 1},
      {"thousands separator in the completion", "<answer>1,000</answer>", "#### 1000", 1},
      {"thousands separator in the truth", "<answer>6250</answer>", "A: 6,250", 1},
      {"trailing zeros", "<answer>18.00</answer>", "#### 18", 1},
      {"unit word", "<answer>18 dollars</answer>", "#### 18", 1},
      {"unit phrase", "<answer>18 dollars per day</answer>", "#### 18", 1},
      {"boxed", "so she makes \\boxed{18} dollars", "#### 18", 1},
      {"hashes in the completion", "9 * 2 = 18\n#### 18", "#### 18", 1},
      {"A: line", "She makes 9 * 2 = $<<9*2=18>>18 every day.\nA: 18", "A: 18", 1},
      {"sentence with one number", "<answer>She makes $18 every day.</answer>", "#### 18", 1},
      {"percent sign ignored", "<answer>50%</answer>", "#### 50", 1},
      {"last number fallback", "so the total is 18", "#### 18", 1},
      {"wrong number", "<answer>17</answer>", "#### 18", 0},
      {"decimal is not rounded", "<answer>18.5</answer>", "#### 18", 0},
      {"sentence with two numbers", "<answer>between 17 and 18</answer>", "#### 18", 0},
      {"expression with a word", "A: 10+John's age", "A: 50", 0},
      {"multiplier word", "A: -1.8 billion", "A: 2", 0},
      {"last answer counts", "<answer>18</answer> <answer>17</answer>", "#### 18", 0},
      {"nothing", "I cannot solve this.", "#### 18", 0},
      {"negative", "<answer>-5</answer>", "#### -5", 1},
  };
  check_rule_cases(*rule, rows);
}

TEST_CASE("gsm8k rule: ground truth and options", "[gsm8k]") {
  CHECK(gsm8k_reference("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72")->to_string() == "72");
  CHECK(gsm8k_reference("A: 1,450,000")->to_string() == "1450000");
  CHECK(gsm8k_reference("72")->to_string() == "72");
  CHECK_FALSE(gsm8k_reference("no number here"));
  const auto rule = make_gsm8k_rule(nullptr);
  CHECK_THROWS_WITH(rule->score(RewardInput{"", "<answer>1</answer>", "#### many"}),
                    Contains("has no number"));
  CHECK_THROWS_WITH(make_gsm8k_rule({{"float_rounding", 2}}), Contains("unknown option 'float_rounding'"));
  const auto strict = make_gsm8k_rule({{"last_number_fallback", false}});
  CHECK(strict->score(RewardInput{"", "so the total is 18", "#### 18"}) == 0);
  CHECK(strict->score(RewardInput{"", "<answer>18</answer>", "#### 18"}) == 1);
}

// The acceptance check of issue 4: the rule agrees with the human is_correct labels on >= 99 % of the 5,276
// solutions (1319 problems x 4 models). Mismatches are printed so a regression is easy to read.
TEST_CASE("gsm8k rule agrees with human labels on the model solutions", "[gsm8k][data]") {
  if (!shared_data_present()) return;
  std::ifstream in(kSharedData / "verifier" / "gsm8k_model_solutions.jsonl");
  REQUIRE(in);
  const auto rule = make_gsm8k_rule(nullptr);
  size_t total = 0, agree = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json row = nlohmann::json::parse(line);
    for (const char* model : {"6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"}) {
      const nlohmann::json& solution = row.at(model);
      const double score =
          rule->score(RewardInput{row.at("question"), solution.at("solution"), row.at("ground_truth")});
      const bool label = solution.at("is_correct");
      ++total;
      if ((score == 1.0) == label) {
        ++agree;
      } else {
        const std::string text = solution.at("solution");
        UNSCOPED_INFO("mismatch (label " << label << "): ..."
                                         << text.substr(text.size() > 120 ? text.size() - 120 : 0));
      }
    }
  }
  const double rate = static_cast<double>(agree) / static_cast<double>(total);
  WARN("gsm8k agreement with human labels: " << agree << "/" << total << " = " << rate * 100
                                             << " %, mismatches " << total - agree);
  CHECK(total == 5276);
  CHECK(rate >= 0.99);
}
