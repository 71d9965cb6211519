// The math verifier against real data in ../shared/data (skipped loudly when it is absent, a failure under
// AHA_REQUIRE_SHARED_DATA=1):
//   - verifier/math_equiv_public.jsonl: 84 graded (gold, pred) pairs from three graders' test suites. We
//     adopt the policy of the NeMo-Skills cases (Math-Verify based, like ours) and agree with all 60.
//     hendrycks MATH's string-matching grader treats bare lists as ordered, and simple-evals' judge
//     refuses unsimplified fractions (3245/5 vs 649); we document the other choice in
//     rewards/math/math_equiv.h. The exact disagreements are pinned (14/16 hendrycks, 7/8 simple-evals),
//     so a verifier change that gains or loses one shows up here.
//   - math500/test.jsonl: every reference solution, scored by the "math" rule against the answer after
//     its "The answer is:", scores 1 (500/500); and the other way round, the full solution as the ground
//     truth (its last \boxed{}) against a completion that only states that answer as a phrase.
//   - aime24 and amc23: every answer parses as an integer for the "integer" rule ("025", "27.0").
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "rewards/math/math_equiv.h"
#include "rewards/math/math_rule.h"
#include "tests/common/shared_data.h"

using namespace aha::rewards;

namespace {

namespace fs = std::filesystem;
using aha::testing::kSharedData;
using aha::testing::shared_data_present;


std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

}  // namespace

TEST_CASE("math equivalence agrees with the public graded cases", "[math][data]") {
  if (!shared_data_present()) return;
  const std::vector<nlohmann::json> rows = read_jsonl(kSharedData / "verifier" / "math_equiv_public.jsonl");
  REQUIRE(rows.size() == 84);
  std::map<std::string, std::pair<int, int>> by_source;  // semantics prefix -> (agree, total)
  std::set<std::string> disagreements;                   // "source: gold | pred"
  for (const nlohmann::json& row : rows) {
    const std::string semantics = row.at("semantics").get<std::string>();
    const std::string source = semantics.substr(0, semantics.find(' '));
    const bool expected = row.at("expected").get<int>() == 1;
    bool got = false;
    if (row.at("gold").is_string() && row.at("pred").is_string())
      got = math::equivalent(row.at("gold").get<std::string>(), row.at("pred").get<std::string>());
    auto& [agree, total] = by_source[source];
    ++total;
    if (got == expected) {
      ++agree;
    } else {
      disagreements.insert(source + ": " + row.at("gold").dump() + " | " + row.at("pred").dump());
    }
  }
  // Our policy (rewards/math/math_equiv.h): a bare list is a set, and 3245/5 equals 649 — both graders
  // that say otherwise encode a different policy. Any other disagreement is a regression (or a fix that
  // should be pinned here).
  const std::set<std::string> documented = {
      R"(hendrycks_is_equiv: "10, 4, -2" | "4, 10, -2")",
      R"(hendrycks_is_equiv: "0.1, 4, 2" | "4, .1, 2")",
      R"(simple-evals: "3245/5" | "649")",
  };
  const auto agreement = [&](const std::string& source) {
    const auto [agree, total] = by_source.at(source);
    return std::to_string(agree) + "/" + std::to_string(total);
  };
  CHECK(disagreements == documented);
  CHECK(by_source.size() == 3);
  CHECK(agreement("nemo_skills") == "60/60");
  CHECK(agreement("hendrycks_is_equiv") == "14/16");
  CHECK(agreement("simple-evals") == "7/8");
}

TEST_CASE("every MATH-500 reference solution scores 1 against its own answer", "[math][data]") {
  if (!shared_data_present()) return;
  const std::vector<nlohmann::json> rows = read_jsonl(kSharedData / "math500" / "test.jsonl");
  REQUIRE(rows.size() == 500);
  const auto rule = make_math_rule(nullptr);
  int scored = 0, scored_reversed = 0;
  for (const nlohmann::json& row : rows) {
    const std::string solution = row.at("answer");
    const size_t tail = solution.rfind("The answer is:");
    REQUIRE(tail != std::string::npos);
    const std::string answer = solution.substr(tail + 14);
    // The completion is the solution without its trailing "The answer is:", so the boxed answer inside it
    // is what gets compared with the stated one (the loader's ground truth, datasets/benchmarks.cpp).
    if (rule->score(RewardInput{row.at("question"), solution.substr(0, tail), answer}) == 1.0) {
      ++scored;
    } else {
      WARN("MATH-500 reference not matched: answer " << answer);
    }
    // Reversed roles and other extraction paths: the whole solution (last \boxed{}) is the ground truth,
    // and the completion states the answer only as a phrase.
    if (rule->score(RewardInput{"", "So the final answer is " + answer, solution}) == 1.0) {
      ++scored_reversed;
    } else {
      WARN("MATH-500 solution as ground truth not matched by its stated answer " << answer);
    }
  }
  CHECK(scored == 500);
  CHECK(scored_reversed == 500);
}

TEST_CASE("AIME 2024 and AMC 2023 answers are integers the integer rule accepts", "[math][data]") {
  if (!shared_data_present()) return;
  const auto rule = make_integer_rule(nullptr, "aime");
  for (const char* file : {"aime24/test.jsonl", "amc23/test.jsonl"}) {
    const std::vector<nlohmann::json> rows = read_jsonl(kSharedData / file);
    CHECK(rows.size() == (std::string(file).rfind("aime", 0) == 0 ? 30u : 40u));
    for (const nlohmann::json& row : rows) {
      const nlohmann::json& answer = row.at("answer");
      const std::string truth = answer.is_string() ? answer.get<std::string>() : answer.dump();
      // "025" and 25, "27.0" and 27: the same integer either way.
      const long long value = std::llround(std::stod(truth));
      INFO(file << ": " << truth);
      CHECK(rule->score(RewardInput{"", "so \\boxed{" + std::to_string(value) + "}", truth}) == 1.0);
      CHECK(rule->score(RewardInput{"", "<answer>" + std::to_string(value + 1) + "</answer>", truth}) == 0.0);
    }
  }
}
