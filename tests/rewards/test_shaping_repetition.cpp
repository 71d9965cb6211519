// Tests for the n-gram repetition penalty on literal texts whose n-grams are counted by hand, the
// threshold extension, and that case and whitespace do not hide a repeat (as in open-r1).
#include <catch2/catch.hpp>
#include <cmath>

#include "rewards/shaping/repetition.h"

using namespace aha::rewards;
using Catch::Matchers::Contains;

namespace {

double repetition(const nlohmann::json& options, const std::string& completion) {
  return make_repetition_rule(options, "repetition")->score(RewardInput{"prompt", completion, "answer"});
}

}  // namespace

TEST_CASE("repeated n-gram fraction on hand-counted texts", "[shaping][repetition]") {
  const struct {
    const char* why;
    const char* text;
    size_t n;
    double expected;
  } rows[] = {
      // 6 words, 4 trigrams (abc, bca, cab, abc): 3 distinct, r = 1 - 3/4.
      {"one trigram repeats", "a b c a b c", 3, 0.25},
      {"no repeats", "the cat sat on the mat", 3, 0},
      {"exactly n words: one window", "the cat sat", 3, 0},
      {"fewer than n words", "the cat", 3, 0},
      {"empty", "", 3, 0},
      {"case is folded", "A B C a b c", 3, 0.25},
      {"whitespace runs are one separator", "a  b\nc\ta b  c", 3, 0.25},
      // n = 1: 4 unigrams, 1 distinct.
      {"one word looped", "x x x x", 1, 0.75},
      // 5 bigrams (ab, bc, ca, ab, bc): 3 distinct.
      {"bigrams", "a b c a b c", 2, 0.4},
      {"punctuation stays part of the word", "stop. stop stop. stop", 1, 0.5},
  };
  for (const auto& row : rows) {
    INFO(row.why << ": '" << row.text << "' n=" << row.n);
    CHECK(repeated_ngram_fraction(row.text, row.n) == Approx(row.expected).epsilon(1e-12));
  }
}

TEST_CASE("repetition rule: max_penalty times r, with an optional free threshold", "[shaping][repetition]") {
  CHECK(repetition(nullptr, "a b c a b c") == -0.25);  // defaults: n = 3, max_penalty = -1
  CHECK(repetition(nullptr, "the cat sat on the mat") == 0);
  CHECK_FALSE(std::signbit(repetition(nullptr, "the cat sat on the mat")));  // +0, not -0
  CHECK(repetition({{"n", 1}}, "x x x x") == -0.75);
  CHECK(repetition({{"n", 1}, {"max_penalty", -0.5}}, "x x x x") == -0.375);
  // threshold 0.5: r = 0.75 is half way from 0.5 to 1.
  CHECK(repetition({{"n", 1}, {"threshold", 0.5}}, "x x x x") == -0.5);
  CHECK(repetition({{"n", 1}, {"threshold", 0.8}}, "x x x x") == 0);
  // A long looped phrase approaches the full penalty: 100 copies of a 3-word phrase, 298 trigrams, 3
  // distinct.
  std::string looped;
  for (int i = 0; i < 100; ++i) looped += "I will check ";
  CHECK(repetition(nullptr, looped) == Approx(-(1.0 - 3.0 / 298)));
}

TEST_CASE("repetition option errors", "[shaping][repetition]") {
  CHECK_THROWS_WITH(make_repetition_rule({{"max_penalty", 1}}, "repetition"),
                    Contains("option 'max_penalty': must be <= 0"));
  CHECK_THROWS_WITH(make_repetition_rule({{"threshold", 1}}, "repetition"),
                    Contains("option 'threshold': must be in [0, 1)"));
  CHECK_THROWS_WITH(make_repetition_rule({{"n", 0}}, "repetition"),
                    Contains("option 'n': expected an integer >= 1, got 0"));
  CHECK_THROWS_WITH(make_repetition_rule({{"ngram", 2}}, "repetition"),
                    Contains("unknown option 'ngram'; allowed options: n, max_penalty, threshold"));
}
