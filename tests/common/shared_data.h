// Test helper: ../shared/data next to the checkout (the project's real data, never copied in). A checkout
// without it cannot run the tests that read it; they say so loudly instead of failing on a missing file,
// and AHA_REQUIRE_SHARED_DATA=1 turns the skip into a failure. Include after catch2/catch.hpp.
#pragma once

#include <cstdlib>
#include <filesystem>

namespace aha::testing {

inline const std::filesystem::path kSharedData = std::filesystem::path(AHA_SHARED_DATA);

inline bool shared_data_present() {
  if (std::filesystem::is_directory(kSharedData)) return true;
  if (std::getenv("AHA_REQUIRE_SHARED_DATA")) FAIL("shared data missing: " << kSharedData);
  WARN("SKIPPED: " << kSharedData << " is not there (clone next to shared/ to run this test)");
  return false;
}

}  // namespace aha::testing
