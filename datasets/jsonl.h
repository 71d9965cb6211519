// Reading JSON Lines input (benchmark files, `aha eval --responses`, `aha score --in`): one JSON value
// per line, blank lines skipped, and every error named by file and line.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

namespace aha::datasets {

// Calls visit(row, line_no, where) for each non-blank line of `in`, where = "<file>:<line_no>" (1-based).
// A line that is not valid JSON throws std::invalid_argument "<where>: invalid JSON: ...".
void for_each_jsonl(std::istream& in, const std::string& file,
                    const std::function<void(const nlohmann::json& row, int64_t line_no, const std::string& where)>& visit);

}  // namespace aha::datasets
