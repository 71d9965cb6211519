// Tests for the rubric: hand-computed weighted totals, per-rule scores in order, a throwing rule scored
// 0 without stopping the others, and the config errors a user will see (with their place in the file).
#include <catch2/catch.hpp>
#include <cmath>

#include "rewards/rubric.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;

namespace {

const std::vector<RuleSpec> kFormatHalfAccuracyTwo = {{"format", 0.5, nullptr}, {"accuracy", 2.0, nullptr}};

RewardInput input(const std::string& completion, const std::string& truth = "60") {
  return RewardInput{"User: What is 37 + 23?\nAssistant: ", completion, truth};
}

}  // namespace

TEST_CASE("rubric totals are the weighted sum of unweighted rule scores", "[rubric]") {
  const Rubric rubric(kFormatHalfAccuracyTwo);
  struct Row {
    const char* completion;
    double format, accuracy, total;
  };
  const Row rows[] = {
      {"<think>37 + 23 = 60.</think> <answer>60</answer>", 1, 1, 0.5 * 1 + 2.0 * 1},  // 2.5
      {"<think>37 + 23 = 61.</think> <answer>61</answer>", 1, 0, 0.5},
      {"<think>37 + 23 = 60. <answer>60</answer>", 0, 1, 2.0},
      {"sixty", 0, 0, 0.0},
  };
  for (const Row& row : rows) {
    INFO(row.completion);
    const RubricResult r = rubric.score(input(row.completion));
    REQUIRE(r.rules.size() == 2);
    CHECK(r.rules[0] == std::pair<std::string, double>{"format", row.format});
    CHECK(r.rules[1] == std::pair<std::string, double>{"accuracy", row.accuracy});
    CHECK(r.total == row.total);
  }
}

TEST_CASE("rubric order and negative weights are kept", "[rubric]") {
  const Rubric rubric({{"accuracy", 1.0, nullptr}, {"format", -0.25, nullptr}});
  const RubricResult r = rubric.score(input("<think>x</think> <answer>59</answer>"));
  CHECK(r.rules[0].first == "accuracy");
  CHECK(r.rules[1].first == "format");
  CHECK(r.total == -0.25);
  CHECK(rubric.specs().size() == 2);
  CHECK(rubric.specs()[1].weight == -0.25);
}

TEST_CASE("score_batch equals scoring one by one", "[rubric]") {
  const Rubric rubric(kFormatHalfAccuracyTwo);
  const std::vector<RewardInput> batch = {input("<think>a</think> <answer>60</answer>"), input("60"),
                                          input("<answer>60</answer>"), input("")};
  const auto results = rubric.score_batch(batch);
  REQUIRE(results.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    CHECK(results[i].total == rubric.score(batch[i]).total);
    CHECK(results[i].rules == rubric.score(batch[i]).rules);
  }
  CHECK(rubric.score_batch({}).empty());
}

TEST_CASE("a rule that throws scores 0 and the others still count", "[rubric]") {
  // accuracy throws on a non-integer ground truth; the format score must survive it.
  const Rubric rubric(kFormatHalfAccuracyTwo);
  RubricResult r;
  REQUIRE_NOTHROW(r = rubric.score(input("<think>a</think> <answer>60</answer>", "sixty")));
  CHECK(r.rules[0].second == 1.0);
  CHECK(r.rules[1].second == 0.0);
  CHECK(r.total == 0.5);
}

TEST_CASE("rubric construction errors", "[rubric]") {
  CHECK_THROWS_WITH(Rubric({}), Contains("no rules") && Contains("accuracy, aime") && Contains("format"));
  CHECK_THROWS_WITH(Rubric({{"format", 1.0, nullptr}, {"format", 2.0, nullptr}}), Contains("'format' twice"));
  CHECK_THROWS_WITH(Rubric({{"length", 1.0, nullptr}}), Contains("unknown reward rule 'length'"));
  CHECK_THROWS_WITH(Rubric({{"format", std::nan(""), nullptr}}), Contains("finite"));
}

TEST_CASE("parse_rules reads names, weights and options", "[rubric]") {
  const auto specs = parse_rules(nlohmann::json::parse(R"([
      {"name": "format", "weight": 0.5, "options": {"answer_open": "<final>", "answer_close": "</final>"}},
      {"name": "accuracy"}
  ])"),
                                 "rewards.rules");
  REQUIRE(specs.size() == 2);
  CHECK(specs[0].name == "format");
  CHECK(specs[0].weight == 0.5);
  CHECK(specs[0].options["answer_open"] == "<final>");
  CHECK(specs[1].name == "accuracy");
  CHECK(specs[1].weight == 1.0);  // default
  CHECK(specs[1].options.is_null());
  const Rubric rubric(specs);
  CHECK(rubric.score(input("<think>a</think> <final>60</final>")).total == 0.5 * 1 + 1.0 * 0);
}

TEST_CASE("parse_rules errors name the place, the key and the value", "[rubric]") {
  auto parse = [](const char* text) { return parse_rules(nlohmann::json::parse(text), "rewards.rules"); };
  CHECK_THROWS_WITH(parse(R"([{"name": "format"}, {"name": "accuracy", "weight": "x"}])"),
                    Equals("rewards.rules[1].weight: expected a number, got \"x\""));
  CHECK_THROWS_WITH(parse(R"([{"name": "format", "weight": true}])"),
                    Equals("rewards.rules[0].weight: expected a number, got true"));
  CHECK_THROWS_WITH(parse(R"([{"name": "length"}])"),
                    StartsWith("rewards.rules[0]: unknown reward rule 'length'; known rules: accuracy, aime, code,"));
  CHECK_THROWS_WITH(parse(R"([{"name": "format", "wieght": 1}])"),
                    Equals("rewards.rules[0]: unknown key 'wieght'; allowed keys: name, weight, options"));
  CHECK_THROWS_WITH(parse(R"([{"name": "format", "options": {"tag": "<t>"}}])"),
                    Contains("rewards.rules[0]: ") && Contains("unknown option 'tag'"));
  CHECK_THROWS_WITH(parse(R"([{"weight": 1}])"), Contains("rewards.rules[0].name: missing"));
  CHECK_THROWS_WITH(parse(R"([{"name": 3}])"), Equals("rewards.rules[0].name: expected a string, got 3"));
  CHECK_THROWS_WITH(parse(R"([{"name": "format", "options": [1]}])"),
                    Equals("rewards.rules[0].options: expected an object, got [1]"));
  CHECK_THROWS_WITH(parse(R"(["format"])"), Contains("rewards.rules[0]: expected an object"));
  CHECK_THROWS_WITH(parse(R"({"name": "format"})"), Contains("rewards.rules: expected an array"));
  // parse_rules accepts an empty array; the Rubric is where "no rules" is refused.
  CHECK(parse("[]").empty());
}
