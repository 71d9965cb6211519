// The code presets of datasets/sources.h graded by the real code rule: an MBPP row (the shape of
// google-research's mbpp.jsonl, task 2 as published) becomes a HumanEval-form ground truth that its
// reference solution passes and a wrong solution fails; a HumanEval-style row read through the humaneval
// preset grades the same way; a countdown row's ground truth is what the countdown rule reads.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "datasets/sources.h"
#include "rewards/code/code_reward.h"
#include "rewards/countdown.h"

using namespace aha;
using nlohmann::json;

namespace {

datasets::Problem through_preset(const json& row, const std::string& preset) {
  const datasets::SourceSpec spec = datasets::parse_source(json{{"path", "rows.jsonl"}, {"preset", preset}}, "test");
  return datasets::map_row(row, spec.mapping, spec.name, 0, "rows.jsonl:1");
}

rewards::CodeOptions quick() {
  rewards::CodeOptions o;
  o.sandbox.wall_seconds = 5;
  o.sandbox.cpu_seconds = 2;
  return o;
}

}  // namespace

TEST_CASE("an MBPP row graded by the code rule: the reference passes, a wrong solution fails", "[presets]") {
  const json row = {
      {"task_id", 2},
      {"text", "Write a function to find the similar elements from the given two tuple lists."},
      {"code", "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) "},
      {"test_list",
       {"assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
        "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
        "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)"}},
      {"test_setup_code", ""}};
  const datasets::Problem p = through_preset(row, "mbpp");
  CHECK(p.id == "mbpp/2");
  CHECK(p.question.rfind("Write a function to find the similar elements", 0) == 0);
  CHECK(p.question.find("Your code should pass these tests:\n\nassert similar_elements((3, 4, 5, 6)") !=
        std::string::npos);
  const json truth = json::parse(p.answer);
  CHECK(truth["entry_point"] == "similar_elements");
  const rewards::CodeRule rule(quick());
  const std::string reference = "```python\n" + row["code"].get<std::string>() + "\n```";
  CHECK(rule.score({p.question, reference, p.answer, p.row.get()}) == 1.0);
  const std::string wrong = "```python\ndef similar_elements(a, b):\n    return tuple(a)\n```";
  CHECK(rule.score({p.question, wrong, p.answer, p.row.get()}) == 0.0);
  rule.check_ground_truth({"", "", p.answer, nullptr});
  CHECK_THROWS_AS(through_preset(json{{"task_id", 3}, {"text", "t"}, {"test_list", {"print(1)"}}}, "mbpp"),
                  std::invalid_argument);
}

TEST_CASE("a HumanEval-style row and a Countdown row through their presets grade as their rules expect",
          "[presets]") {
  const json row = {{"task_id", "HumanEval/0"},
                    {"prompt", "def add(x: int, y: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n"},
                    {"canonical_solution", "    return x + y\n"},
                    {"test", "def check(candidate):\n    assert candidate(2, 3) == 5\n"},
                    {"entry_point", "add"}};
  const datasets::Problem p = through_preset(row, "humaneval");
  const rewards::CodeRule rule(quick());
  CHECK(rule.score({p.question, "    return x + y\n", p.answer, p.row.get()}) == 1.0);
  CHECK(rule.score({p.question, "    return x - y\n", p.answer, p.row.get()}) == 0.0);

  const datasets::Problem cd = through_preset(json{{"target", 22}, {"nums", {3, 5, 7}}}, "countdown");
  const rewards::CountdownRule countdown;
  CHECK(countdown.score({cd.question, "<answer>(5 * 3) + 7</answer>", cd.answer, cd.row.get()}) == 1.0);
  CHECK(countdown.score({cd.question, "<answer>5 * 3 * 7</answer>", cd.answer, cd.row.get()}) == 0.0);
}
