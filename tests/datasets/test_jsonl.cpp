// for_each_jsonl: blank lines are skipped but still counted, so `where` names the real line; a bad line
// is an error naming file:line.
#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

#include "datasets/jsonl.h"

TEST_CASE("for_each_jsonl visits each non-blank line with its file and line number", "[jsonl]") {
  std::istringstream in("{\"a\": 1}\n\n  \t\r\n[2]\n");
  std::vector<std::string> seen;
  aha::datasets::for_each_jsonl(in, "x.jsonl", [&](const nlohmann::json& row, int64_t line_no, const std::string& where) {
    seen.push_back(row.dump() + " " + std::to_string(line_no) + " " + where);
  });
  CHECK(seen == std::vector<std::string>{"{\"a\":1} 1 x.jsonl:1", "[2] 4 x.jsonl:4"});

  std::istringstream bad("{}\n{\"a\": \n");
  CHECK_THROWS_WITH(aha::datasets::for_each_jsonl(bad, "y.jsonl", [](const nlohmann::json&, int64_t, const std::string&) {}),
                    Catch::StartsWith("y.jsonl:2: invalid JSON"));
}
