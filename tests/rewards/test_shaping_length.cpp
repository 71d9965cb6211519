// Tests for the length shaping rules on literal, hand-computed cases: DAPO's soft overlong penalty at
// every piece of its formula (flat, ramp, beyond L_max), the length range with and without a ramp, each
// length unit, and the option errors a user will see.
#include <catch2/catch.hpp>
#include <limits>

#include "rewards/shaping/length.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

double score(const Rule& rule, const std::string& completion) {
  return rule.score(RewardInput{"prompt", completion, "answer"});
}

}  // namespace

TEST_CASE("soft overlong penalty follows DAPO piece by piece", "[shaping][overlong]") {
  // L_max = 10, L_cache = 4: free up to 6, then -1/4 per unit, -1 from 10 on.
  const struct {
    double length, expected;
  } rows[] = {{0, 0}, {6, 0}, {7, -0.25}, {8, -0.5}, {9, -0.75}, {10, -1}, {11, -1}, {1000, -1}};
  for (const auto& row : rows) {
    INFO("length " << row.length);
    CHECK(soft_overlong_penalty(row.length, 10, 4) == row.expected);
  }
  // DAPO's veRL recipe: 20,480 = 16,384 + a 4,096-token buffer; halfway into the buffer is -0.5.
  CHECK(soft_overlong_penalty(16384 + 2048, 20480, 4096) == -0.5);
  CHECK(soft_overlong_penalty(16384, 20480, 4096) == 0);
  // cache = max: the ramp starts at length 0.
  CHECK(soft_overlong_penalty(5, 10, 10) == -0.5);
}

TEST_CASE("overlong rule measures the completion in the configured unit", "[shaping][overlong]") {
  const auto bytes =
      make_overlong_rule({{"max_length", 10}, {"cache_length", 4}, {"unit", "bytes"}}, "overlong");
  CHECK(bytes->name() == "overlong");
  CHECK(score(*bytes, "") == 0);
  CHECK(score(*bytes, "aaaaaa") == 0);
  CHECK(score(*bytes, "aaaaaaa") == -0.25);
  CHECK(score(*bytes, "ééééééé") == -1);  // 14 bytes

  // chars is the default: 7 code points, whatever their byte length.
  const auto chars = make_overlong_rule({{"max_length", 10}, {"cache_length", 4}}, "overlong");
  CHECK(score(*chars, "ééééééé") == -0.25);
  CHECK(score(*chars, "七个汉字七个字") == -0.25);
  CHECK(score(*chars, "\xff\xff\xff\xff\xff\xff\xff") == -0.25);  // each invalid byte is one char

  const auto words =
      make_overlong_rule({{"max_length", 10}, {"cache_length", 4}, {"unit", "words"}}, "overlong");
  CHECK(score(*words, "a b c d e f g") == -0.25);
  CHECK(score(*words, "  a\tb\nc  d e\r\nf g  ") == -0.25);
  CHECK(score(*words, "abcdefghijklmnopqrstuvwxyz") == 0);  // one word
}

TEST_CASE("length range scores 1 inside, 0 or a ramp outside", "[shaping][length_range]") {
  const auto step = make_length_range_rule({{"min", 3}, {"max", 5}, {"unit", "bytes"}}, "length_range");
  CHECK(step->name() == "length_range");
  CHECK(score(*step, "aa") == 0);
  CHECK(score(*step, "aaa") == 1);
  CHECK(score(*step, "aaaaa") == 1);
  CHECK(score(*step, "aaaaaa") == 0);

  const auto ramp =
      make_length_range_rule({{"min", 3}, {"max", 5}, {"ramp", 2}, {"unit", "bytes"}}, "length_range");
  CHECK(score(*ramp, "") == 0);
  CHECK(score(*ramp, "a") == 0);
  CHECK(score(*ramp, "aa") == 0.5);
  CHECK(score(*ramp, "aaaa") == 1);
  CHECK(score(*ramp, "aaaaaa") == 0.5);
  CHECK(score(*ramp, "aaaaaaa") == 0);
  CHECK(score(*ramp, "aaaaaaaaaaaa") == 0);  // clamped at 0, never negative

  const auto at_most = make_length_range_rule({{"max", 2}, {"unit", "words"}}, "length_range");
  CHECK(score(*at_most, "") == 1);  // min defaults to 0
  CHECK(score(*at_most, "one two three") == 0);
  const auto at_least = make_length_range_rule({{"min", 2}, {"unit", "words"}}, "length_range");
  CHECK(score(*at_least, std::string(100000, 'a') + " b") == 1);  // no max: unbounded

  CHECK(length_range_score(10, 0, std::numeric_limits<double>::infinity(), 0) == 1);
}

TEST_CASE("length option errors name the rule, the option and the value",
          "[shaping][overlong][length_range]") {
  CHECK_THROWS_WITH(make_overlong_rule(nullptr, "overlong"),
                    Contains("reward rule 'overlong': option 'max_length': missing"));
  CHECK_THROWS_WITH(make_overlong_rule({{"max_length", 10}}, "overlong"),
                    Contains("option 'cache_length': missing"));
  CHECK_THROWS_WITH(make_overlong_rule({{"max_length", 10}, {"cache_length", 11}}, "overlong"),
                    Contains("option 'cache_length': must be <= max_length (10), got 11"));
  CHECK_THROWS_WITH(make_overlong_rule({{"max_length", 10}, {"cache_length", 0}}, "overlong"),
                    Contains("option 'cache_length': expected an integer >= 1, got 0"));
  CHECK_THROWS_WITH(make_overlong_rule({{"max_length", 1.5}, {"cache_length", 1}}, "overlong"),
                    Contains("option 'max_length': expected an integer >= 1, got 1.5"));
  CHECK_THROWS_WITH(
      make_overlong_rule({{"max_length", 10}, {"cache_length", 4}, {"unit", "tokens"}}, "overlong"),
      Contains("option 'unit': expected one of chars, words, bytes, got \"tokens\""));
  CHECK_THROWS_WITH(make_overlong_rule({{"max_len", 10}}, "overlong"),
                    Contains("unknown option 'max_len'; allowed options: max_length, cache_length, unit"));
  CHECK_THROWS_WITH(make_overlong_rule(nlohmann::json::array(), "overlong"),
                    Contains("options must be an object"));

  CHECK_THROWS_WITH(make_length_range_rule(nullptr, "length_range"), Contains("give min, max or both"));
  CHECK_THROWS_WITH(make_length_range_rule({{"min", 5}, {"max", 4}}, "length_range"),
                    Contains("option 'max': expected an integer >= 5, got 4"));
  CHECK_THROWS_WITH(make_length_range_rule({{"max", 4}, {"ramp", -1}}, "length_range"),
                    Contains("option 'ramp': expected an integer >= 0, got -1"));
}
