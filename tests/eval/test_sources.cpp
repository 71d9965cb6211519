// Tests for eval/sources.h: the arith source reproduces the trainer's held-out problems and settings (a
// default drifting from the trainer's, or a different draw, would make `aha eval` disagree with a run's
// eval_before), a benchmark source keeps the file's first n problems with R1's sampling, the verifier a
// name picks, and completions made elsewhere read with their length unit.
#include <catch2/catch.hpp>

#include "datasets/task.h"
#include "eval/sources.h"
#include "tests/common/temp_dir.h"

using namespace aha::eval;
using Catch::Matchers::Contains;

TEST_CASE("task_source draws the trainer's held-out test problems with the held-out settings", "[eval]") {
  const ProblemSource source = task_source("arith", "test", std::nullopt, HeldOutDefaults::seed);
  const auto expected =
      aha::datasets::make_task("arith", nlohmann::json::object())
          ->problems(aha::datasets::Split::Test, HeldOutDefaults::problems, HeldOutDefaults::seed);
  REQUIRE(source.problems.size() == static_cast<size_t>(HeldOutDefaults::problems));
  for (size_t i = 0; i < expected.size(); ++i) CHECK(source.problems[i].id == expected[i].id);
  CHECK(source.verifier == "accuracy");
  CHECK(source.template_name == "compact");
  CHECK(source.temperature == 1.0);
  CHECK(source.top_p == 1.0);
  CHECK(source.max_new_tokens == 48);
  CHECK(source.description == nlohmann::json{{"task", "arith"}, {"split", "test"}});
  CHECK(task_source("arith", "train", 3, 7).problems.size() == 3);
  CHECK_THROWS_WITH(task_source("arith", "dev", 3, 7), Contains("train") && Contains("test"));
}

TEST_CASE("benchmark_source keeps the first n problems of the file with DeepSeek-R1's sampling", "[eval]") {
  aha::testing::TempDir tmp("eval-benchmark");
  const std::string file = tmp.write("gsm.jsonl",
                                     "{\"question\": \"What is 2 + 2?\", \"answer\": \"#### 4\"}\n"
                                     "{\"question\": \"What is 3 + 3?\", \"answer\": \"#### 6\"}\n"
                                     "{\"question\": \"What is 1 + 1?\", \"answer\": \"#### 2\"}\n");
  const ProblemSource two = benchmark_source("gsm8k", file, 2);
  REQUIRE(two.problems.size() == 2);
  CHECK(two.problems[1].answer == "6");
  CHECK(two.verifier == "gsm8k");
  CHECK(two.template_name == "r1zero");
  CHECK(two.temperature == Approx(0.6));
  CHECK(two.top_p == Approx(0.95));
  CHECK(two.max_new_tokens == 4096);
  CHECK(two.description == nlohmann::json{{"benchmark", "gsm8k"}, {"data", file}});
  CHECK(benchmark_source("gsm8k", file, 0).problems.size() == 3);   // 0: all
  CHECK(benchmark_source("gsm8k", file, 10).problems.size() == 3);  // more than the file: all
  CHECK_THROWS_WITH(benchmark_source("gsm8k", file, -1), Contains("expected >= 0"));
  CHECK_THROWS_WITH(benchmark_source("nope", file, 0), Contains("gsm8k"));
}

TEST_CASE("verifier_for: a benchmark grades as its rule, arith as accuracy, anything else is a rule name",
          "[eval]") {
  CHECK(verifier_for("aime24") == "integer");
  CHECK(verifier_for("humaneval") == "code");
  CHECK(verifier_for("arith") == "accuracy");
  CHECK(verifier_for("math") == "math");
}

TEST_CASE("read_responses: lengths are tokens only when every response gives them", "[eval]") {
  aha::testing::TempDir tmp("eval-responses");
  const std::string tokens =
      tmp.write("tokens.jsonl",
                "{\"id\": 5, \"answer\": 12, \"responses\": [{\"text\": \"abc\", \"tokens\": 2, "
                "\"finish_reason\": \"length\"}]}\n"
                "{\"answer\": {\"tests\": []}, \"responses\": [{\"text\": \"x\", \"tokens\": 9}]}\n");
  const Responses all = read_responses(tokens);
  CHECK(all.length_unit == "tokens");
  REQUIRE(all.cases.size() == 2);
  CHECK(all.cases[0].id == "5");       // a numeric id as written
  CHECK(all.cases[1].id == "2");       // no id: the line number
  CHECK(all.cases[0].answer == "12");  // a number as written
  CHECK(all.cases[1].answer == "{\"tests\":[]}");
  CHECK(all.cases[0].samples[0].length == 2);
  CHECK(all.cases[0].samples[0].finish_reason == "length");

  // one response without "tokens": every length falls back to bytes, or the units would mix
  const std::string mixed = tmp.write(
      "mixed.jsonl", "{\"answer\": \"1\", \"responses\": [{\"text\": \"abcd\", \"tokens\": 1}, \"xy\"]}\n");
  const Responses bytes = read_responses(mixed);
  CHECK(bytes.length_unit == "bytes");
  CHECK(bytes.cases[0].samples[0].length == 4);
  CHECK(bytes.cases[0].samples[1].length == 2);
  CHECK(bytes.cases[0].samples[1].finish_reason.empty());

  const std::string uneven = tmp.write("uneven.jsonl",
                                       "{\"answer\": \"1\", \"responses\": [\"a\", \"b\"]}\n"
                                       "{\"answer\": \"2\", \"responses\": [\"a\"]}\n");
  CHECK_THROWS_WITH(read_responses(uneven),
                    Contains("uneven.jsonl:2: field 'responses': 1 responses, but the first problem has 2"));
  CHECK_THROWS_WITH(read_responses(tmp.write("empty.jsonl", "\n")), Contains("no problems"));
  CHECK_THROWS_WITH(read_responses((tmp / "missing.jsonl").string()), Contains("cannot open"));
}
