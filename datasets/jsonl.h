// Reading JSON Lines input (benchmark files, `aha eval --responses`, `aha score --in`): one JSON value
// per line, blank lines skipped, and every error named by file and line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

namespace aha::datasets {

// Calls visit(row, line_no, where) for each non-blank line of `in`, where = "<file>:<line_no>" (1-based).
// A line that is not valid JSON throws std::invalid_argument "<where>: invalid JSON: ...".
void for_each_jsonl(std::istream& in, const std::string& file,
                    const std::function<void(const nlohmann::json& row, int64_t line_no, const std::string& where)>& visit);

// The whole file, inflated when it is gzip-compressed (any other file passes through unchanged).
// std::runtime_error naming the file when it cannot be opened or inflated.
std::string read_text_maybe_gzip(const std::filesystem::path& file);

}  // namespace aha::datasets
