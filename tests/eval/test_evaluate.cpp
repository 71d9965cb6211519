// Tests for the evaluation metrics (eval/metrics.h) and grading (eval/evaluate.h score_cases) on
// hand-computed cases: the unbiased pass@k estimator (a biased c/n-style or off-by-one product fails),
// majority voting's tie rule and abstentions, and every summary metric of a small graded set; and
// evaluate_model on a tiny random policy (the same model and seed twice give the same completions, the
// property `aha eval --compare` and a run's eval_before/eval_after rest on).
#include <catch2/catch.hpp>

#include "datasets/task.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "tests/common/tiny_model.h"

using namespace aha::eval;
using Catch::Matchers::Contains;

TEST_CASE("pass@k matches hand-computed binomial ratios", "[eval]") {
  // 1 - C(n-c, k) / C(n, k)
  CHECK(pass_at_k(4, 1, 2) == Approx(0.5));         // 1 - C(3,2)/C(4,2) = 1 - 3/6
  CHECK(pass_at_k(5, 2, 3) == Approx(0.9));         // 1 - C(3,3)/C(5,3) = 1 - 1/10
  CHECK(pass_at_k(6, 2, 2) == Approx(0.6));         // 1 - C(4,2)/C(6,2) = 1 - 6/15
  CHECK(pass_at_k(4, 2, 2) == Approx(5.0 / 6.0));   // 1 - C(2,2)/C(4,2) = 1 - 1/6
  CHECK(pass_at_k(10, 3, 1) == Approx(0.3));        // pass@1 = c / n
  CHECK(pass_at_k(4, 0, 4) == 0.0);
  CHECK(pass_at_k(3, 1, 3) == 1.0);  // n - c < k: every 3-subset of 3 holds the correct one
  CHECK(pass_at_k(3, 2, 2) == 1.0);
  // Large n: the product form stays exact where C(2000, 1000) would overflow a double.
  CHECK(pass_at_k(2000, 1, 1) == Approx(0.0005));
  CHECK(pass_at_k(2000, 1, 1000) == Approx(0.5));  // 1 - C(1999,1000)/C(2000,1000) = 1 - 1000/2000
  CHECK_THROWS_WITH(pass_at_k(4, 1, 5), Contains("1 <= k <= n"));
  CHECK_THROWS(pass_at_k(4, 5, 1));
}

TEST_CASE("pass@k ladder is the powers of two up to n and then n", "[eval]") {
  CHECK(pass_at_k_ladder(1) == std::vector<int64_t>{1});
  CHECK(pass_at_k_ladder(4) == std::vector<int64_t>{1, 2, 4});
  CHECK(pass_at_k_ladder(6) == std::vector<int64_t>{1, 2, 4, 6});
  CHECK(pass_at_k_ladder(0).empty());
}

TEST_CASE("majority vote: most votes wins and a tie goes to the earliest first answer", "[eval]") {
  auto exact = [](const std::string& a, const std::string& b) { return a == b; };
  using Answers = std::vector<std::optional<std::string>>;
  MajorityVote tie = majority_vote(Answers{std::nullopt, "5", "7", "7", "5"}, exact);
  REQUIRE(tie.winner);
  CHECK(*tie.winner == 1);  // "5" first appeared before "7"
  CHECK(tie.votes == 2);
  CHECK(tie.voters == 4);  // the sample without an answer abstains

  MajorityVote later = majority_vote(Answers{"a", "b", "b"}, exact);
  CHECK(*later.winner == 1);
  CHECK(later.votes == 2);

  CHECK_FALSE(majority_vote(Answers{std::nullopt, std::nullopt}, exact).winner);

  // Grouping uses `same`: "X" and "x" vote together and outvote "y".
  auto caseless = [](const std::string& a, const std::string& b) { return std::tolower(a[0]) == std::tolower(b[0]); };
  MajorityVote grouped = majority_vote(Answers{"y", "X", "x"}, caseless);
  CHECK(*grouped.winner == 1);
  CHECK(grouped.votes == 2);
}

namespace {

EvalSample sample(const std::string& text, const std::string& finish_reason, int64_t length) {
  EvalSample s;
  s.text = text;
  s.finish_reason = finish_reason;
  s.length = length;
  return s;
}

}  // namespace

TEST_CASE("score_cases grades and summarises a hand-computed arith set", "[eval]") {
  std::vector<EvalCase> cases = {
      {"a", "", "60",
       {sample("<think>x</think> <answer>60</answer>", "eos", 10),  // correct, formatted
        sample("<answer>+060</answer>", "length", 4),              // correct (canonical 60), no think
        sample("<think></think> <answer>61</answer>", "eos", 7)}},  // wrong, formatted
      {"b", "", "3",
       {sample("<answer>4</answer>", "stop", 2),                 // wrong
        sample("no answer", "length", 1),                        // wrong, does not vote
        sample("<think>a</think> <answer>3</answer>", "eos", 12)}},  // correct, formatted
  };
  EvalOptions options;  // verifier: accuracy (the arith task's)
  const EvalResult r = score_cases(cases, options);
  CHECK(r.problems == 2);
  CHECK(r.k == 3);
  CHECK(r.samples == 6);
  CHECK(r.pass_at_1 == Approx(0.5));  // (2/3 + 1/3) / 2
  REQUIRE(r.pass_at.size() == 3);
  CHECK(r.pass_at[1].first == 2);
  CHECK(r.pass_at[1].second == Approx(5.0 / 6.0));  // (1 + (1 - C(2,2)/C(3,2))) / 2
  CHECK(r.pass_at[2].second == Approx(1.0));
  REQUIRE(r.maj_at_k);
  CHECK(*r.maj_at_k == Approx(0.5));  // a: "60" x2 wins; b: "4" and "3" tie, "4" came first
  CHECK(r.format_rate == Approx(0.5));
  REQUIRE(r.truncation_rate);
  CHECK(*r.truncation_rate == Approx(1.0 / 3.0));
  CHECK(r.mean_length == Approx(6.0));
  CHECK(r.min_length == 1);
  CHECK(r.max_length == 12);

  const EvalProblemResult& a = r.per_problem[0];
  CHECK(a.correct == 2);
  CHECK(a.samples[1].answer == std::optional<std::string>("60"));
  CHECK(a.majority_answer == std::optional<std::string>("60"));
  CHECK(a.majority_votes == 2);
  CHECK(a.majority_correct);
  const EvalProblemResult& b = r.per_problem[1];
  CHECK_FALSE(b.samples[1].answer);
  CHECK(b.majority_answer == std::optional<std::string>("4"));
  CHECK_FALSE(b.majority_correct);

  const nlohmann::json summary = r.summary();
  CHECK(summary["pass@1"] == Approx(0.5));
  CHECK(summary["pass@3"] == Approx(1.0));
  CHECK(summary["maj@3"] == Approx(0.5));
  CHECK(summary["length_unit"] == "tokens");
  CHECK(summary["verifier"] == "accuracy");
  const nlohmann::json line = b.to_json();
  CHECK(line["canonical"] == nlohmann::json::array({"4", nullptr, "3"}));
  CHECK(line["correct"] == nlohmann::json::array({false, false, true}));
  CHECK(line["finish_reason"] == nlohmann::json::array({"stop", "length", "eos"}));
  CHECK(line["pass@2"] == Approx(2.0 / 3.0));
  CHECK(line["majority_answer"] == "4");
}

TEST_CASE("score_cases: unknown finish reasons give no truncation rate and a bad ground truth is kept", "[eval]") {
  std::vector<EvalCase> cases = {{"x", "", "not a number", {sample("<answer>1</answer>", "", 3)}}};
  const EvalResult r = score_cases(cases, EvalOptions{});
  CHECK_FALSE(r.truncation_rate);
  CHECK(r.summary()["truncation_rate"].is_null());
  CHECK(r.pass_at_1 == 0.0);
  CHECK_THAT(r.per_problem[0].error, Contains("accuracy"));
}

TEST_CASE("score_cases refuses problems with different numbers of samples", "[eval]") {
  std::vector<EvalCase> cases = {{"p1", "", "1", {sample("a", "", 1), sample("b", "", 1)}},
                                 {"p2", "", "1", {sample("a", "", 1)}}};
  CHECK_THROWS_WITH(score_cases(cases, EvalOptions{}), Contains("problem 'p2' has 1 completions; expected 2"));
}

TEST_CASE("evaluate_model: the same model, problems and seed give the same completions", "[eval]") {
  aha::testing::TempDir tmp("eval-model");
  aha::testing::make_tiny_policy(tmp / "model");
  const auto problems =
      aha::datasets::make_task("arith", nlohmann::json::object())->problems(aha::datasets::Split::Test, 3, 2);
  EvalOptions options;
  options.samples = 2;
  options.seed = 2;
  options.prompts_per_batch = 2;  // two batches: the seeds follow the problem, not the batch
  options.generation.max_new_tokens = 5;
  const std::string model = (tmp / "model").string();
  const EvalResult a = evaluate_model(model, problems, "compact", options);
  const EvalResult b = evaluate_model(model, problems, "compact", options);
  REQUIRE(a.per_problem.size() == 3);
  CHECK(a.samples == 6);
  CHECK(a.length_unit == "tokens");
  CHECK(a.max_length <= 5);
  for (size_t i = 0; i < a.per_problem.size(); ++i) {
    CHECK(a.per_problem[i].id == problems[i].id);
    for (size_t s = 0; s < a.per_problem[i].samples.size(); ++s) {
      CHECK(a.per_problem[i].samples[s].text == b.per_problem[i].samples[s].text);
      CHECK_FALSE(a.per_problem[i].samples[s].finish_reason.empty());
    }
  }
  // the tiny model directory has no tokenizer_config.json, so no chat template; the error names the flag
  CHECK_THROWS_WITH(evaluate_model(model, problems, "chat", options),
                    Contains("tokenizer_config.json: not found; --template chat needs"));
}
