// Tests for datasets/benchmarks.h on the real files in ../shared/data (skipped loudly without them): row
// counts, ids and one hand-checked answer per benchmark (a loader that read the wrong field, kept the
// worked solution, or left amc23's "27.0" would fail), and errors for bad rows that name file:line and
// the field.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "datasets/benchmarks.h"
#include "tests/common/shared_data.h"
#include "tests/common/temp_dir.h"

using namespace aha::datasets;
using aha::testing::kSharedData;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::vector<Problem> load(const std::string& name) {
  const Benchmark& b = find_benchmark(name);
  return load_benchmark(b, kSharedData / b.default_file);
}

}  // namespace

TEST_CASE("benchmarks name the rule that grades them", "[benchmarks]") {
  CHECK(benchmark_names() == std::vector<std::string>{"gsm8k", "math500", "aime24", "amc23", "humaneval"});
  CHECK(find_benchmark("gsm8k").rule == "gsm8k");
  CHECK(find_benchmark("math500").rule == "math");
  CHECK(find_benchmark("aime24").rule == "integer");
  CHECK(find_benchmark("amc23").rule == "integer");
  CHECK(find_benchmark("humaneval").rule == "code");
  CHECK_THROWS_WITH(find_benchmark("mmlu"), Contains("unknown benchmark 'mmlu'") && Contains("math500"));
}

TEST_CASE("gsm8k loads 1319 test problems with the number after ####", "[benchmarks][data]") {
  if (!aha::testing::shared_data_present()) return;
  const auto problems = load("gsm8k");
  REQUIRE(problems.size() == 1319);
  CHECK(problems[0].id == "gsm8k/0");
  CHECK_THAT(problems[0].question, StartsWith("Janet\xE2\x80\x99s ducks lay 16 eggs per day."));
  CHECK(problems[0].answer == "18");
  CHECK(problems[1318].id == "gsm8k/1318");
  CHECK(problems[1318].answer == "14");
}

TEST_CASE("math500 loads 500 problems with the final answer and not the solution", "[benchmarks][data]") {
  if (!aha::testing::shared_data_present()) return;
  const auto problems = load("math500");
  REQUIRE(problems.size() == 500);
  CHECK_THAT(problems[0].question, StartsWith("Convert the point $(0,3)$ in rectangular coordinates"));
  CHECK(problems[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)");
  CHECK(problems[499].answer == "106^\\circ");
}

TEST_CASE("aime24 and amc23 load with their ids and integer answers", "[benchmarks][data]") {
  if (!aha::testing::shared_data_present()) return;
  const auto aime = load("aime24");
  REQUIRE(aime.size() == 30);
  CHECK(aime[0].id == "aime24/60");
  CHECK(aime[0].answer == "204");
  CHECK(aime[29].id == "aime24/89");
  CHECK(aime[29].answer == "902");
  const auto amc = load("amc23");
  REQUIRE(amc.size() == 40);
  CHECK(amc[0].id == "amc23/0");
  CHECK(amc[0].answer == "27");  // stored as 27.0
  CHECK(amc[39].answer == "8");
  for (const auto& p : amc) CHECK(p.answer.find('.') == std::string::npos);
}

TEST_CASE("humaneval loads 164 gzip rows with the code rule's ground truth", "[benchmarks][data]") {
  if (!aha::testing::shared_data_present()) return;
  const auto problems = load("humaneval");
  REQUIRE(problems.size() == 164);
  CHECK(problems[0].id == "HumanEval/0");
  CHECK_THAT(problems[0].question, Contains("def has_close_elements("));
  const auto truth = nlohmann::json::parse(problems[0].answer);
  CHECK(truth["entry_point"] == "has_close_elements");
  CHECK(truth["prompt"] == problems[0].question);
  CHECK_THAT(truth["test"].get<std::string>(), Contains("def check(candidate)"));
  CHECK(nlohmann::json::parse(problems[163].answer)["entry_point"] == "generate_integers");
}

TEST_CASE("bad benchmark rows name the file line and field", "[benchmarks]") {
  aha::testing::TempDir dir("benchmarks");
  const auto file = dir.path / "rows.jsonl";
  auto expect_error = [&](const std::string& name, const std::string& text, const std::string& message) {
    std::ofstream(file) << text;
    INFO(name << ": " << text);
    CHECK_THROWS_WITH(load_benchmark(find_benchmark(name), file), Contains(message));
  };
  expect_error("gsm8k", "{\"question\": \"q\", \"answer\": \"18\"}\n",
               "rows.jsonl:1: field 'answer': expected a text containing '####'");
  expect_error("gsm8k", "{\"question\": \"q\", \"answer\": \"#### 1\"}\n\n{\"answer\": \"#### 2\"}\n",
               "rows.jsonl:3: field 'question': expected a non-empty string or a list of chat messages");
  expect_error("aime24", "{\"id\": 1, \"problem\": \"p\", \"answer\": null}\n",
               "rows.jsonl:1: field 'answer': expected a non-empty string or a number, got null");
  expect_error("math500", "{\"question\": \"q\", \"answer\": \"x\"}\nnot json\n", "rows.jsonl:1: field 'answer'");
  expect_error("math500", "{\"question\": \"q\", \"answer\": \"The answer is: 5\"}\nnot json\n",
               "rows.jsonl:2: invalid JSON");
  expect_error("humaneval", "{\"task_id\": \"T/0\", \"prompt\": \"def f():\", \"test\": \"t\"}\n",
               "rows.jsonl:1: field 'entry_point'");
  expect_error("amc23", "\n", "no problems");
  CHECK_THROWS_WITH(load_benchmark(find_benchmark("gsm8k"), dir.path / "absent.jsonl"),
                    Contains("absent.jsonl: no such data file"));
}
