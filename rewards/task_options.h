// JSON options of the task checkers (math, integer, gsm8k, countdown): key checking and typed reads with
// errors that name the rule, the key, what was expected and what was given, e.g.
//   reward rule 'math': option 'float_rounding': expected an integer in [0, 15], got 40
// and the answer-extraction keys the checkers share (see math/math_extract.h):
//   answer_open, answer_close   the answer tags (default <answer>, </answer>)
//   use_answer_tags             look inside the last answer block first (default true)
//   last_number_fallback        without any marker, take the last formula or number (default true)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rewards/math/math_extract.h"

namespace aha::rewards {

inline const std::vector<std::string> kExtractOptionKeys = {"answer_open", "answer_close", "use_answer_tags",
                                                            "last_number_fallback"};

// std::invalid_argument unless `options` is null or an object whose keys are all in `allowed`.
void check_option_keys(const nlohmann::json& options, const std::string& rule,
                       const std::vector<std::string>& allowed);

bool option_bool(const nlohmann::json& options, const std::string& key, bool fallback,
                 const std::string& rule);
std::string option_string(const nlohmann::json& options, const std::string& key, const std::string& fallback,
                          const std::string& rule);  // non-empty
int64_t option_integer(const nlohmann::json& options, const std::string& key, int64_t fallback, int64_t min,
                       int64_t max, const std::string& rule);

// The extraction keys above, read from already-checked options.
math::ExtractOptions extract_options(const nlohmann::json& options, const std::string& rule);

}  // namespace aha::rewards
