// Tests for grpo/schedule: linear warm-up then cosine decay to min_lr_ratio · peak, values worked by hand.
#include <catch2/catch.hpp>
#include <stdexcept>

#include "grpo/schedule.h"

using aha::grpo::learning_rate;

// total 10, warm-up 2, peak 1, floor 0.1: warm-up (step + 1) / 2, then with p = (step − 2) / 8
// lr = 0.1 + 0.9 · ½ (1 + cos(π p)).
// Catches: a warm-up that starts at 0 (wasting step 0), decay measured from step 0 instead of the end of
// warm-up, a floor that is not reached, and the cosine run backwards.
TEST_CASE("learning_rate warms up linearly then follows a cosine to the floor", "[grpo][schedule]") {
  auto lr = [](int64_t step) {
    return learning_rate(step, /*total_steps=*/10, /*peak_lr=*/1.0, /*warmup=*/2, 0.1);
  };
  CHECK(lr(0) == Approx(0.5));  // 1 · 1/2
  CHECK(lr(1) == Approx(1.0));  // 1 · 2/2
  CHECK(lr(2) == Approx(1.0));  // p = 0: 0.1 + 0.9 · ½ · 2
  CHECK(lr(4) ==
        Approx(0.1 + 0.9 * 0.5 * (1 + 0.70710678)).epsilon(1e-8));  // p = 1/4, cos = √2/2: 0.86819805
  CHECK(lr(6) == Approx(0.55));                                     // p = 1/2, cos = 0: 0.1 + 0.45
  CHECK(lr(9) == Approx(0.1 + 0.9 * 0.5 * (1 - 0.92387953)).epsilon(1e-8));  // p = 7/8: 0.13425421
  CHECK(lr(10) == Approx(0.1));                                              // p = 1: the floor
  CHECK(lr(1000) == Approx(0.1));                                            // past the end stays there
}

TEST_CASE("learning_rate without warm-up starts at the peak and scales with it", "[grpo][schedule]") {
  CHECK(learning_rate(0, 100, 3e-6, 0, 0.0) == Approx(3e-6));
  // p = 50/100: 3e-6 · ½ (1 + 0) = 1.5e-6
  CHECK(learning_rate(50, 100, 3e-6, 0, 0.0) == Approx(1.5e-6));
  // min_lr_ratio = 1 is a constant schedule after warm-up
  CHECK(learning_rate(70, 100, 3e-6, 10, 1.0) == Approx(3e-6));
}

TEST_CASE("learning_rate rejects out-of-range arguments", "[grpo][schedule]") {
  CHECK_THROWS_AS(learning_rate(-1, 10, 1.0, 0, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(learning_rate(0, 0, 1.0, 0, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(learning_rate(0, 10, 1.0, -1, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(learning_rate(0, 10, 1.0, 0, 1.5), std::invalid_argument);
}
