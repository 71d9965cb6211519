// Tests for datasets/rng.h: the PRNG and hash are pinned to published reference values, because the
// synthetic data sets (and so every demo result) must be the same bytes on every compiler and library.
#include <catch2/catch.hpp>
#include <set>

#include "datasets/rng.h"

using namespace aha::datasets;

TEST_CASE("fnv1a64 matches the published FNV-1a test vectors", "[rng]") {
  // From the FNV reference (draft-eastlake-fnv): a wrong constant would silently reshuffle the split.
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("splitmix64 matches its reference output for state 0", "[rng]") {
  uint64_t state = 0;
  CHECK(splitmix64(state) == 0xe220a8397b1dcdafULL);
  CHECK(splitmix64(state) == 0x6e789e6aa1b965f4ULL);
}

TEST_CASE("Rng is deterministic in its seed and differs across seeds", "[rng]") {
  Rng a(123), b(123), c(124);
  bool any_difference = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    CHECK(x == b.next());
    any_difference |= x != c.next();
  }
  CHECK(any_difference);
}

TEST_CASE("uniform_int stays in range, hits every value, and handles the full 64-bit span", "[rng]") {
  Rng rng(7);
  std::set<int64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    const int64_t v = rng.uniform_int(-3, 3);
    REQUIRE(v >= -3);
    REQUIRE(v <= 3);
    seen.insert(v);
  }
  CHECK(seen.size() == 7);
  CHECK(rng.uniform_int(5, 5) == 5);
  // span 2^64 wraps to 0 in the implementation; it must not divide by zero.
  (void)rng.uniform_int(INT64_MIN, INT64_MAX);
}

TEST_CASE("bernoulli respects the edge probabilities and the mean", "[rng]") {
  Rng rng(9);
  int hits = 0;
  for (int i = 0; i < 20000; ++i) {
    REQUIRE_FALSE(rng.bernoulli(0.0));
    REQUIRE(rng.bernoulli(1.0));
    hits += rng.bernoulli(0.3);
  }
  CHECK(hits / 20000.0 == Approx(0.3).margin(0.02));  // sd ~0.0032
}
