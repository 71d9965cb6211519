// Tests for eval/report.h: the before/after table byte for byte (the CLI test only looks for a few
// cells), the per-problem lines' "model" field, and the run summary's fields.
#include <catch2/catch.hpp>
#include <sstream>

#include "eval/report.h"

using namespace aha::eval;

namespace {

EvalResult graded() {
  EvalSample s;
  s.text = "<answer>1</answer>";
  s.finish_reason = "eos";
  s.length = 3;
  return score_cases({{"p", "", "1", {s, s}}}, EvalOptions{});
}

}  // namespace

TEST_CASE("comparison_table: fixed-width rows, signed change, '-' for null and no row for a missing metric",
          "[eval]") {
  EvalResult first;
  first.k = 2;
  first.pass_at = {{1, 0.5}, {2, 0.75}};
  const nlohmann::json before = {{"pass@1", 0.25},
                                 {"pass@2", 0.5},
                                 {"maj@2", 0.5},
                                 {"format_rate", 1.0},
                                 {"truncation_rate", nullptr},
                                 {"mean_length", 10.0},
                                 {"min_length", 2},
                                 {"max_length", 20}};
  nlohmann::json after = before;
  after["pass@1"] = 0.5;
  after["mean_length"] = 7.5;
  after.erase("maj@2");  // e.g. a verifier without an answer key
  const std::string expected =
      "metric               before      after     change\n"
      "pass@1                0.250      0.500     +0.250\n"
      "pass@2                0.500      0.500     +0.000\n"
      "format_rate           1.000      1.000     +0.000\n"
      "truncation_rate           -          -          -\n"
      "mean_length          10.000      7.500     -2.500\n"
      "min_length            2.000      2.000     +0.000\n"
      "max_length           20.000     20.000     +0.000\n";
  CHECK(comparison_table(first, before, after) == expected);
}

TEST_CASE("write_per_problem adds the model only when it is named", "[eval]") {
  const EvalResult result = graded();
  std::ostringstream plain, named;
  write_per_problem(plain, result, "");
  write_per_problem(named, result, "after-rl");
  const nlohmann::json a = nlohmann::json::parse(plain.str());
  nlohmann::json b = nlohmann::json::parse(named.str());
  CHECK_FALSE(a.contains("model"));
  CHECK(b["model"] == "after-rl");
  b.erase("model");
  CHECK(a == b);
}

TEST_CASE("describe_run: the summary plus the model, the source's fields and the sampling settings",
          "[eval]") {
  const EvalResult result = graded();
  EvalOptions options;
  options.seed = 9;
  options.generation.max_new_tokens = 17;
  options.generation.sampling = {0.6, 0.95, 0};
  const nlohmann::json j =
      describe_run(result, "m", {{"benchmark", "gsm8k"}, {"data", "f.jsonl"}}, "r1zero", options);
  CHECK(j["model"] == "m");
  CHECK(j["benchmark"] == "gsm8k");
  CHECK(j["data"] == "f.jsonl");
  CHECK(j["template"] == "r1zero");
  CHECK(j["temperature"] == Approx(0.6));
  CHECK(j["top_p"] == Approx(0.95));
  CHECK(j["max_new_tokens"] == 17);
  CHECK(j["seed"] == 9);
  CHECK(j["pass@1"] == Approx(1.0));
  CHECK(j["verifier"] == "accuracy");
}
