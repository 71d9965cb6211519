// Tests for datasets/task.h: task registry, option errors, split names and DemoNoise checks. Each error
// test pins the part of the message a user needs (the bad key or value and what is allowed).
#include <catch2/catch.hpp>

#include "datasets/arithmetic.h"
#include "datasets/task.h"

using namespace aha::datasets;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

TEST_CASE("parse_split accepts train/test and names the allowed values otherwise", "[task]") {
  CHECK(parse_split("train") == Split::Train);
  CHECK(parse_split("test") == Split::Test);
  CHECK(split_name(Split::Train) == "train");
  CHECK(split_name(Split::Test) == "test");
  CHECK_THROWS_WITH(parse_split("Train"), Contains("'Train'") && Contains("train, test"));
  CHECK_THROWS_AS(parse_split("validation"), std::invalid_argument);
}

TEST_CASE("make_task builds arith with defaults and with options", "[task]") {
  auto task = make_task("arith", nullptr);
  CHECK(task->name() == "arith");
  auto* arith = dynamic_cast<ArithmeticTask*>(task.get());
  REQUIRE(arith != nullptr);
  CHECK(arith->config().min_terms == 2);
  CHECK(arith->config().max_terms == 3);
  CHECK(arith->config().max_operand == 99);

  auto custom = make_task("arith", {{"min_terms", 4}, {"max_terms", 5}, {"max_operand", 9}});
  const auto& config = dynamic_cast<ArithmeticTask&>(*custom).config();
  CHECK(config.min_terms == 4);
  CHECK(config.max_terms == 5);
  CHECK(config.max_operand == 9);
  CHECK(to_json(config) == nlohmann::json{{"min_terms", 4}, {"max_terms", 5}, {"max_operand", 9}});
  CHECK(make_task("arith", nlohmann::json::object())->name() == "arith");
}

TEST_CASE("make_task errors name the task, the key and the allowed values", "[task]") {
  CHECK_THROWS_WITH(make_task("gsm8k", nullptr), Equals("unknown task 'gsm8k'; known tasks: arith, countdown"));
  CHECK_THROWS_WITH(make_task("arith", {{"max_operands", 9}}),
                    Contains("'max_operands'") && Contains("min_terms, max_terms, max_operand"));
  CHECK_THROWS_WITH(make_task("arith", {{"max_operand", "99"}}),
                    Contains("'max_operand'") && Contains("integer") && Contains("\"99\""));
  CHECK_THROWS_WITH(make_task("arith", {{"max_terms", 3.5}}), Contains("'max_terms'"));
  CHECK_THROWS_WITH(make_task("arith", {{"max_terms", true}}), Contains("'max_terms'"));
  CHECK_THROWS_WITH(make_task("arith", {{"max_operand", 5000000000LL}}), Contains("'max_operand'"));
  CHECK_THROWS_WITH(make_task("arith", nlohmann::json::array({1, 2})), Contains("options must be an object"));
}

TEST_CASE("ArithmeticConfig::validate rejects configs that cannot make a one-step problem", "[task]") {
  CHECK_THROWS_WITH(make_task("arith", {{"min_terms", 1}}), Contains("min_terms must be >= 2"));
  CHECK_THROWS_WITH(make_task("arith", {{"min_terms", 4}, {"max_terms", 3}}), Contains("max_terms (3)"));
  CHECK_THROWS_WITH(make_task("arith", {{"max_operand", 0}}), Contains("max_operand must be >= 1"));
  CHECK_THROWS_AS(ArithmeticTask(ArithmeticConfig{3, 2, 9}), std::invalid_argument);
}

TEST_CASE("DemoNoise::validate rejects bad probabilities and a zero error with wrong steps on", "[task]") {
  CHECK_NOTHROW(DemoNoise{}.validate());
  CHECK_NOTHROW(DemoNoise{0.0, 0.0, 0}.validate());
  CHECK_THROWS_WITH((DemoNoise{1.5, 0.2, 10}.validate()), Contains("wrong_step_prob"));
  CHECK_THROWS_WITH((DemoNoise{0.4, -0.1, 10}.validate()), Contains("broken_format_prob"));
  CHECK_THROWS_WITH((DemoNoise{0.4, 0.2, -1}.validate()), Contains("max_error"));
  CHECK_THROWS_WITH((DemoNoise{0.4, 0.2, 0}.validate()), Contains("max_error >= 1"));
  CHECK_THROWS_WITH((DemoNoise{0.4, 0.2, 10, -0.5}.validate()), Contains("give_up_prob"));
  // Only countdown demonstrations search; arith says so rather than ignoring the setting.
  const Problem p = ArithmeticTask(ArithmeticConfig{}).problems(Split::Train, 1, 0)[0];
  CHECK_THROWS_WITH(ArithmeticTask(ArithmeticConfig{}).demonstration(p, DemoNoise{0.4, 0.2, 10, 0.5}, 0),
                    Contains("give_up_prob must be 0"));
}
